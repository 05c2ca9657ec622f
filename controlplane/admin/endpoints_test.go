package admin_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// outboundSetup makes tenant acme with an application and two event types.
func outboundSetup(t *testing.T, e *env) string {
	t.Helper()
	createTenant(t, e, "acme")
	app, err := e.apps(e.platform).CreateApplication(context.Background(), connect.NewRequest(&hookgatev1.CreateApplicationRequest{Application: &hookgatev1.Application{Tenant: "acme", Name: "Globex"}}))
	if err != nil {
		t.Fatal(err)
	}
	createEventType(t, e, "acme", "order.created")
	createEventType(t, e, "acme", "order.paid")
	return app.Msg.Application.Id
}

func TestEndpointLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	appID := outboundSetup(t, e)
	eps := e.endpoints(e.platform)

	created, err := eps.CreateEndpoint(ctx, connect.NewRequest(&hookgatev1.CreateEndpointRequest{Endpoint: &hookgatev1.Endpoint{
		Tenant: "acme", ApplicationId: appID, Url: "https://example.com/hooks", Name: "prod",
		EventTypes: []string{"order.created"}, RateLimitPerSecond: 50, Burst: 100, MaxInFlight: 10,
		Headers: map[string]string{"x-team": "orders", "authorization": "Bearer s3cr3t-value"},
	}}))
	if err != nil {
		t.Fatal(err)
	}
	ep, secret := created.Msg.Endpoint, created.Msg.Secret
	if !strings.HasPrefix(secret, "whsec_") || !strings.HasPrefix(ep.Id, "ep_") || ep.TimeoutMs != 5000 ||
		ep.Status != hookgatev1.EndpointStatus_ENDPOINT_STATUS_ENABLED || ep.Headers["Authorization"] != "REDACTED" || ep.Headers["X-Team"] != "orders" {
		t.Fatalf("created %v", ep)
	}
	got, err := eps.GetEndpoint(ctx, connect.NewRequest(&hookgatev1.GetEndpointRequest{Tenant: "acme", EndpointId: ep.Id}))
	if err != nil {
		t.Fatal(err)
	}
	list, err := eps.ListEndpoints(ctx, connect.NewRequest(&hookgatev1.ListEndpointsRequest{Tenant: "acme", ApplicationId: appID}))
	if err != nil || len(list.Msg.Endpoints) != 1 {
		t.Fatalf("list %v %v", list, err)
	}
	for _, s := range []string{got.Msg.Endpoint.String(), list.Msg.Endpoints[0].String()} {
		if strings.Contains(s, secret[6:]) || strings.Contains(s, "s3cr3t") {
			t.Fatalf("a read leaks a secret: %s", s)
		}
	}
	read, err := eps.GetEndpointSecret(ctx, connect.NewRequest(&hookgatev1.GetEndpointSecretRequest{Tenant: "acme", EndpointId: ep.Id}))
	if err != nil || read.Msg.Secret != secret {
		t.Fatalf("secret read %v", err)
	}

	// Writing back what a read returned keeps the Authorization value.
	upd, err := eps.UpdateEndpoint(ctx, connect.NewRequest(&hookgatev1.UpdateEndpointRequest{
		Endpoint:   &hookgatev1.Endpoint{Tenant: "acme", Id: ep.Id, Headers: got.Msg.Endpoint.Headers, EventTypes: []string{"order.created", "order.paid"}, Etag: got.Msg.Endpoint.Etag},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"headers", "event_types"}},
	}))
	if err != nil || upd.Msg.Endpoint.Headers["Authorization"] != "REDACTED" || len(upd.Msg.Endpoint.EventTypes) != 2 {
		t.Fatalf("update %v %v", upd, err)
	}
	rec, _, err := e.store.Endpoint(ctx, "acme", ep.Id)
	if err != nil || len(rec.SealedHeaders) != 1 {
		t.Fatalf("sealed headers after update: %v %v", rec, err)
	}

	dis, err := eps.DisableEndpoint(ctx, connect.NewRequest(&hookgatev1.DisableEndpointRequest{Tenant: "acme", EndpointId: ep.Id}))
	if err != nil || dis.Msg.Endpoint.Status != hookgatev1.EndpointStatus_ENDPOINT_STATUS_DISABLED ||
		dis.Msg.Endpoint.DisabledReason != hookgatev1.EndpointDisabledReason_ENDPOINT_DISABLED_REASON_MANUAL {
		t.Fatalf("disable %v %v", dis, err)
	}
	en, err := eps.EnableEndpoint(ctx, connect.NewRequest(&hookgatev1.EnableEndpointRequest{Tenant: "acme", EndpointId: ep.Id}))
	if err != nil || en.Msg.Endpoint.Status != hookgatev1.EndpointStatus_ENDPOINT_STATUS_ENABLED || en.Msg.Endpoint.DisableTime != nil {
		t.Fatalf("enable %v %v", en, err)
	}
	_, err = eps.EnableEndpoint(ctx, connect.NewRequest(&hookgatev1.EnableEndpointRequest{Tenant: "acme", EndpointId: ep.Id, Etag: ep.Etag}))
	wantCode(t, err, connect.CodeAborted)

	// Rotation without grace ends the old secret now; with grace it stays
	// until the grace ends.
	rot, err := eps.RotateEndpointSecret(ctx, connect.NewRequest(&hookgatev1.RotateEndpointSecretRequest{Tenant: "acme", EndpointId: ep.Id}))
	if err != nil || rot.Msg.Secret == secret || rot.Msg.Endpoint.PreviousSecretExpireTime != nil {
		t.Fatalf("rotate %v", err)
	}
	rot2, err := eps.RotateEndpointSecret(ctx, connect.NewRequest(&hookgatev1.RotateEndpointSecretRequest{Tenant: "acme", EndpointId: ep.Id, GracePeriod: durationpb.New(time.Hour)}))
	if err != nil || !rot2.Msg.Endpoint.PreviousSecretExpireTime.AsTime().Equal(e.clock.Now().Add(time.Hour)) {
		t.Fatalf("rotate with grace %v %v", rot2, err)
	}
	if n, err := e.store.ExpirePreviousKeys(ctx, e.clock.Now().Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("sweep %d %v", n, err)
	}
	_, err = eps.RotateEndpointSecret(ctx, connect.NewRequest(&hookgatev1.RotateEndpointSecretRequest{Tenant: "acme", EndpointId: ep.Id, GracePeriod: durationpb.New(31 * 24 * time.Hour)}))
	wantCode(t, err, connect.CodeInvalidArgument)

	// A tenant that does not allow reading secrets.
	if _, err := e.tenants(e.platform).UpdateTenant(ctx, connect.NewRequest(&hookgatev1.UpdateTenantRequest{
		Tenant: &hookgatev1.Tenant{Id: "acme", AllowEndpointSecretRead: new(false)}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"allow_endpoint_secret_read"}},
	})); err != nil {
		t.Fatal(err)
	}
	_, err = eps.GetEndpointSecret(ctx, connect.NewRequest(&hookgatev1.GetEndpointSecretRequest{Tenant: "acme", EndpointId: ep.Id}))
	wantCode(t, err, connect.CodePermissionDenied)

	// An archived type stays subscribed but cannot be newly subscribed.
	if _, err := e.eventTypes(e.platform).ArchiveEventType(ctx, connect.NewRequest(&hookgatev1.ArchiveEventTypeRequest{Tenant: "acme", Name: "order.paid"})); err != nil {
		t.Fatal(err)
	}
	if _, err := eps.UpdateEndpoint(ctx, connect.NewRequest(&hookgatev1.UpdateEndpointRequest{
		Endpoint: &hookgatev1.Endpoint{Tenant: "acme", Id: ep.Id, Name: "renamed"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"name"}},
	})); err != nil {
		t.Fatalf("update with an archived subscription: %v", err)
	}

	// Deleting the application deletes its endpoints.
	if _, err := e.apps(e.platform).DeleteApplication(ctx, connect.NewRequest(&hookgatev1.DeleteApplicationRequest{Tenant: "acme", ApplicationId: appID})); err != nil {
		t.Fatal(err)
	}
	_, err = eps.GetEndpoint(ctx, connect.NewRequest(&hookgatev1.GetEndpointRequest{Tenant: "acme", EndpointId: ep.Id}))
	wantCode(t, err, connect.CodeNotFound)
}

func TestEndpointValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	appID := outboundSetup(t, e)
	if _, err := e.eventTypes(e.platform).ArchiveEventType(ctx, connect.NewRequest(&hookgatev1.ArchiveEventTypeRequest{Tenant: "acme", Name: "order.paid"})); err != nil {
		t.Fatal(err)
	}
	eps := e.endpoints(e.platform)
	ok := func(mod func(*hookgatev1.Endpoint)) *hookgatev1.Endpoint {
		ep := &hookgatev1.Endpoint{Tenant: "acme", ApplicationId: appID, Url: "https://example.com/h", EventTypes: []string{"order.created"}}
		mod(ep)
		return ep
	}
	tests := []struct {
		name   string
		ep     *hookgatev1.Endpoint
		secret string
		code   connect.Code
		field  string
	}{
		{"bad tenant", ok(func(ep *hookgatev1.Endpoint) { ep.Tenant = "A" }), "", connect.CodeInvalidArgument, "endpoint.tenant"},
		{"bad app id", ok(func(ep *hookgatev1.Endpoint) { ep.ApplicationId = "wh_1" }), "", connect.CodeInvalidArgument, "endpoint.application_id"},
		{"unknown app", ok(func(ep *hookgatev1.Endpoint) { ep.ApplicationId = "app_nope" }), "", connect.CodeNotFound, "application"},
		{"http refused", ok(func(ep *hookgatev1.Endpoint) { ep.Url = "http://example.com/h" }), "", connect.CodeInvalidArgument, "allow_http_endpoints"},
		{"ftp", ok(func(ep *hookgatev1.Endpoint) { ep.Url = "ftp://example.com/h" }), "", connect.CodeInvalidArgument, "endpoint.url"},
		{"relative", ok(func(ep *hookgatev1.Endpoint) { ep.Url = "/h" }), "", connect.CodeInvalidArgument, "endpoint.url"},
		{"credentials", ok(func(ep *hookgatev1.Endpoint) { ep.Url = "https://u:p@example.com/h" }), "", connect.CodeInvalidArgument, "endpoint.url"},
		{"long url", ok(func(ep *hookgatev1.Endpoint) { ep.Url = "https://example.com/" + strings.Repeat("a", 2048) }), "", connect.CodeInvalidArgument, "endpoint.url"},
		{"no event types", ok(func(ep *hookgatev1.Endpoint) { ep.EventTypes = nil }), "", connect.CodeInvalidArgument, "endpoint.event_types"},
		{"bad event type", ok(func(ep *hookgatev1.Endpoint) { ep.EventTypes = []string{"Order"} }), "", connect.CodeInvalidArgument, "endpoint.event_types[0]"},
		{"twice", ok(func(ep *hookgatev1.Endpoint) { ep.EventTypes = []string{"order.created", "order.created"} }), "", connect.CodeInvalidArgument, "twice"},
		{"unknown event type", ok(func(ep *hookgatev1.Endpoint) { ep.EventTypes = []string{"order.none"} }), "", connect.CodeInvalidArgument, "does not exist"},
		{"archived event type", ok(func(ep *hookgatev1.Endpoint) { ep.EventTypes = []string{"order.paid"} }), "", connect.CodeInvalidArgument, "archived"},
		{"negative rate", ok(func(ep *hookgatev1.Endpoint) { ep.RateLimitPerSecond = -1 }), "", connect.CodeInvalidArgument, "endpoint.rate_limit_per_second"},
		{"negative burst", ok(func(ep *hookgatev1.Endpoint) { ep.Burst = -1 }), "", connect.CodeInvalidArgument, "endpoint.burst"},
		{"in flight", ok(func(ep *hookgatev1.Endpoint) { ep.MaxInFlight = 10_001 }), "", connect.CodeInvalidArgument, "endpoint.max_in_flight"},
		{"timeout high", ok(func(ep *hookgatev1.Endpoint) { ep.TimeoutMs = 30_001 }), "", connect.CodeInvalidArgument, "endpoint.timeout_ms"},
		{"timeout low", ok(func(ep *hookgatev1.Endpoint) { ep.TimeoutMs = 10 }), "", connect.CodeInvalidArgument, "endpoint.timeout_ms"},
		{"long name", ok(func(ep *hookgatev1.Endpoint) { ep.Name = strings.Repeat("n", 129) }), "", connect.CodeInvalidArgument, "endpoint.name"},
		{"header name", ok(func(ep *hookgatev1.Endpoint) { ep.Headers = map[string]string{"X Bad": "v"} }), "", connect.CodeInvalidArgument, "endpoint.headers"},
		{"header CRLF", ok(func(ep *hookgatev1.Endpoint) { ep.Headers = map[string]string{"X-A": "v\r\nX-Injected: 1"} }), "", connect.CodeInvalidArgument, "CR, LF"},
		// net/http refuses every control character but a tab: such a
		// value would fail each delivery instead of the registration.
		{"header control character", ok(func(ep *hookgatev1.Endpoint) { ep.Headers = map[string]string{"X-A": "v\x01"} }), "", connect.CodeInvalidArgument, "control character"},
		{"header DEL", ok(func(ep *hookgatev1.Endpoint) { ep.Headers = map[string]string{"X-A": "v\x7f"} }), "", connect.CodeInvalidArgument, "control character"},
		{"header host", ok(func(ep *hookgatev1.Endpoint) { ep.Headers = map[string]string{"host": "x"} }), "", connect.CodeInvalidArgument, "Host"},
		{"header content-length", ok(func(ep *hookgatev1.Endpoint) { ep.Headers = map[string]string{"Content-Length": "1"} }), "", connect.CodeInvalidArgument, "Content-Length"},
		{"header content-type", ok(func(ep *hookgatev1.Endpoint) { ep.Headers = map[string]string{"Content-Type": "x"} }), "", connect.CodeInvalidArgument, "Content-Type"},
		{"header user-agent", ok(func(ep *hookgatev1.Endpoint) { ep.Headers = map[string]string{"User-Agent": "x"} }), "", connect.CodeInvalidArgument, "User-Agent"},
		{"header hop-by-hop", ok(func(ep *hookgatev1.Endpoint) { ep.Headers = map[string]string{"Transfer-Encoding": "x"} }), "", connect.CodeInvalidArgument, "Transfer-Encoding"},
		{"header webhook-*", ok(func(ep *hookgatev1.Endpoint) { ep.Headers = map[string]string{"webhook-signature": "x"} }), "", connect.CodeInvalidArgument, "Webhook-Signature"},
		{"header twice", ok(func(ep *hookgatev1.Endpoint) { ep.Headers = map[string]string{"x-a": "1", "X-A": "2"} }), "", connect.CodeInvalidArgument, "twice"},
		{"secret prefix", ok(func(*hookgatev1.Endpoint) {}), "abc", connect.CodeInvalidArgument, "secret"},
		{"secret short", ok(func(*hookgatev1.Endpoint) {}), "whsec_" + "c2hvcnQ=", connect.CodeInvalidArgument, "24 to 64"},
		{"secret not base64", ok(func(*hookgatev1.Endpoint) {}), "whsec_!!!", connect.CodeInvalidArgument, "base64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := eps.CreateEndpoint(ctx, connect.NewRequest(&hookgatev1.CreateEndpointRequest{Endpoint: tt.ep, Secret: tt.secret}))
			wantCode(t, err, tt.code)
			if !strings.Contains(err.Error(), tt.field) {
				t.Fatalf("error %q does not name %s", err, tt.field)
			}
			if strings.Contains(err.Error(), "X-Injected") {
				t.Fatalf("error echoes a header value: %q", err)
			}
		})
	}
	// http is fine once the tenant allows it; a given secret is kept.
	if _, err := e.tenants(e.platform).UpdateTenant(ctx, connect.NewRequest(&hookgatev1.UpdateTenantRequest{
		Tenant: &hookgatev1.Tenant{Id: "acme", AllowHttpEndpoints: true}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"allow_http_endpoints"}},
	})); err != nil {
		t.Fatal(err)
	}
	given := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	created, err := eps.CreateEndpoint(ctx, connect.NewRequest(&hookgatev1.CreateEndpointRequest{Endpoint: ok(func(ep *hookgatev1.Endpoint) { ep.Url = "http://127.0.0.1:9/h" }), Secret: given}))
	if err != nil || created.Msg.Secret != given {
		t.Fatalf("http endpoint with a given secret: %v", err)
	}
	_, err = eps.GetEndpoint(ctx, connect.NewRequest(&hookgatev1.GetEndpointRequest{Tenant: "acme", EndpointId: "app_1"}))
	wantCode(t, err, connect.CodeInvalidArgument)
	_, err = eps.UpdateEndpoint(ctx, connect.NewRequest(&hookgatev1.UpdateEndpointRequest{Endpoint: &hookgatev1.Endpoint{Tenant: "acme", Id: created.Msg.Endpoint.Id}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"status"}}}))
	wantCode(t, err, connect.CodeInvalidArgument)
}
