package admin_test

import (
	"context"
	"fmt"
	"google.golang.org/protobuf/types/known/timestamppb"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"github.com/hookgate/hookgate/controlplane/admin"
	"github.com/hookgate/hookgate/controlplane/outbound"
	"github.com/hookgate/hookgate/controlplane/store"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/gen/hookgate/v1/hookgatev1connect"
	"github.com/hookgate/hookgate/testkit/etcdtest"
	"github.com/hookgate/hookgate/testkit/natstest"
	"github.com/nats-io/nats.go/jetstream"
)

// outboundEnv is the admin API reading messages, deliveries and attempts
// from real JetStream, with a platform token and a token of tenant other.
type outboundEnv struct {
	url, platform, other string
	js                   jetstream.JetStream
	kv                   jetstream.KeyValue
}

func newOutboundEnv(t *testing.T) *outboundEnv {
	t.Helper()
	ctx := context.Background()
	st := store.New(etcdtest.Start(t).Client(t))
	js := natstest.Start(t).JetStream(t)
	log := slog.New(slog.DiscardHandler)
	clock := &fakeClock{now: time.Date(2026, 3, 23, 15, 30, 0, 0, time.UTC)}
	token, _, err := admin.BootstrapToken(ctx, st, filepath.Join(t.TempDir(), "token"), clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	r := outbound.NewReader(js)
	tenants := admin.NewTenantService(st, clock, log)
	mux := admin.NewHandler(admin.Services{
		Tenants:  tenants,
		Messages: admin.NewMessageService(r, log),
		Attempts: admin.NewAttemptService(r, log),
	}, admin.NewAuthenticator(st, log).Wrap, grpchealth.NewStaticChecker())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	e := &outboundEnv{url: srv.URL, platform: token, js: js}
	tc := hookgatev1connect.NewTenantServiceClient(&http.Client{}, srv.URL, connect.WithInterceptors(bearer(token)))
	for _, id := range []string{"acme", "other"} {
		if _, err := tc.CreateTenant(ctx, connect.NewRequest(&hookgatev1.CreateTenantRequest{Tenant: &hookgatev1.Tenant{Id: id}})); err != nil {
			t.Fatal(err)
		}
	}
	tok, err := tc.CreateAdminToken(ctx, connect.NewRequest(&hookgatev1.CreateAdminTokenRequest{Tenant: "other"}))
	if err != nil {
		t.Fatal(err)
	}
	e.other = tok.Msg.Token
	// The streams and bucket as dataplane/streams makes them.
	for _, sc := range []jetstream.StreamConfig{
		{Name: outbound.OutboundStream, Subjects: []string{"hookgate.out.>"}},
		{Name: outbound.AttemptsStream, Subjects: []string{"hookgate.attempts.>", "hookgate.rejected.>"}},
	} {
		if _, err := js.CreateStream(ctx, sc); err != nil {
			t.Fatal(err)
		}
	}
	if e.kv, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: outbound.DeliveriesKV}); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *outboundEnv) messages(token string) hookgatev1connect.MessageServiceClient {
	return hookgatev1connect.NewMessageServiceClient(&http.Client{}, e.url, connect.WithInterceptors(bearer(token)))
}

func (e *outboundEnv) attempts(token string) hookgatev1connect.AttemptServiceClient {
	return hookgatev1connect.NewAttemptServiceClient(&http.Client{}, e.url, connect.WithInterceptors(bearer(token)))
}

// publish stores raw data on a subject, with a Nats-Msg-Id when id is set.
func (e *outboundEnv) publish(t *testing.T, subject, id, data string) {
	t.Helper()
	var opts []jetstream.PublishOpt
	if id != "" {
		opts = append(opts, jetstream.WithMsgID(id))
	}
	if _, err := e.js.Publish(context.Background(), subject, []byte(data), opts...); err != nil {
		t.Fatal(err)
	}
}

// sendMessage publishes an outbound message in the documented format.
func (e *outboundEnv) sendMessage(t *testing.T, tenant, app, eventType, id, payload, timestamp string) {
	t.Helper()
	ts := ""
	if timestamp != "" {
		ts = fmt.Sprintf(`,"timestamp":%q`, timestamp)
	}
	e.publish(t, "hookgate.out."+tenant+"."+app+"."+eventType, id,
		fmt.Sprintf(`{"id":%q,"eventType":%q,"payload":%s%s}`, id, eventType, payload, ts))
}

func messageIDs(ms []*hookgatev1.Message) []string {
	ids := make([]string, 0, len(ms))
	for _, m := range ms {
		ids = append(ids, m.Id)
	}
	return ids
}

func codeOf(err error) connect.Code {
	if err == nil {
		return 0
	}
	return connect.CodeOf(err)
}

// seedMessages stores acme's m1..m6 (and a refused one), and other's o1.
func seedMessages(t *testing.T, e *outboundEnv) {
	t.Helper()
	e.sendMessage(t, "acme", "app_a", "order.created", "m1", `{"orderId":"ORD-1"}`, "2026-03-23T15:30:00Z")
	e.sendMessage(t, "acme", "app_a", "order.paid", "m2", `{"orderId":"ORD-1","paid":true}`, "")
	e.sendMessage(t, "acme", "app_a", "order.created", "m3", `[1,2]`, "")
	e.publish(t, "hookgate.out.acme.app_a.order.created", "bad", `{"id":"bad",`)
	e.sendMessage(t, "other", "app_a", "order.created", "o1", `{}`, "")
	e.sendMessage(t, "acme", "app_b", "order.created", "m4", `"text"`, "")
	e.sendMessage(t, "acme", "app_a", "order.created", "m5", `{}`, "")
	e.sendMessage(t, "acme", "app_b", "order.created", "m6", `42`, "")
}

func TestListMessages(t *testing.T) {
	t.Parallel()
	e := newOutboundEnv(t)
	ctx := context.Background()
	seedMessages(t, e)
	mc := e.messages(e.platform)

	tests := []struct {
		name string
		req  *hookgatev1.ListMessagesRequest
		want []string
		code connect.Code
	}{
		{"all, newest first, the refused one left out", &hookgatev1.ListMessagesRequest{Tenant: "acme"}, []string{"m6", "m5", "m4", "m3", "m2", "m1"}, 0},
		{"one application", &hookgatev1.ListMessagesRequest{Tenant: "acme", ApplicationId: "app_a"}, []string{"m5", "m3", "m2", "m1"}, 0},
		{"one event type", &hookgatev1.ListMessagesRequest{Tenant: "acme", EventType: "order.created"}, []string{"m6", "m5", "m4", "m3", "m1"}, 0},
		{"application and event type", &hookgatev1.ListMessagesRequest{Tenant: "acme", ApplicationId: "app_a", EventType: "order.paid"}, []string{"m2"}, 0},
		{"a type nobody sent", &hookgatev1.ListMessagesRequest{Tenant: "acme", EventType: "order"}, nil, 0},
		{"a tenant with nothing", &hookgatev1.ListMessagesRequest{Tenant: "nobody"}, nil, 0},
		{"bad page token", &hookgatev1.ListMessagesRequest{Tenant: "acme", PageToken: "x"}, nil, connect.CodeInvalidArgument},
		{"zero page token", &hookgatev1.ListMessagesRequest{Tenant: "acme", PageToken: "0"}, nil, connect.CodeInvalidArgument},
		{"bad application id", &hookgatev1.ListMessagesRequest{Tenant: "acme", ApplicationId: "a.*"}, nil, connect.CodeInvalidArgument},
		{"bad event type", &hookgatev1.ListMessagesRequest{Tenant: "acme", EventType: "order.>"}, nil, connect.CodeInvalidArgument},
		{"negative page size", &hookgatev1.ListMessagesRequest{Tenant: "acme", PageSize: -1}, nil, connect.CodeInvalidArgument},
		{"bad tenant", &hookgatev1.ListMessagesRequest{Tenant: "a.>"}, nil, connect.CodeInvalidArgument},
		{"stored since an hour ago", &hookgatev1.ListMessagesRequest{Tenant: "acme", Since: timestamppb.New(time.Now().Add(-time.Hour))}, []string{"m6", "m5", "m4", "m3", "m2", "m1"}, 0},
		{"stored since in an hour", &hookgatev1.ListMessagesRequest{Tenant: "acme", Since: timestamppb.New(time.Now().Add(time.Hour))}, nil, 0},
		{"stored until an hour ago", &hookgatev1.ListMessagesRequest{Tenant: "acme", Until: timestamppb.New(time.Now().Add(-time.Hour))}, nil, 0},
		{"until before since", &hookgatev1.ListMessagesRequest{Tenant: "acme", Since: timestamppb.New(time.Now()), Until: timestamppb.New(time.Now().Add(-time.Hour))}, nil, connect.CodeInvalidArgument},
		{"bad since", &hookgatev1.ListMessagesRequest{Tenant: "acme", Since: &timestamppb.Timestamp{Nanos: -1}}, nil, connect.CodeInvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := mc.ListMessages(ctx, connect.NewRequest(tt.req))
			if codeOf(err) != tt.code {
				t.Fatalf("code %v (%v), want %v", codeOf(err), err, tt.code)
			}
			if err != nil {
				return
			}
			if got := messageIDs(resp.Msg.Messages); !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			if resp.Msg.NextPageToken != "" {
				t.Fatalf("one page holds everything, next %q", resp.Msg.NextPageToken)
			}
		})
	}

	// Pages of two walk back through all six, then stop.
	var ids []string
	pages := 0
	for token := ""; ; pages++ {
		resp, err := mc.ListMessages(ctx, connect.NewRequest(&hookgatev1.ListMessagesRequest{Tenant: "acme", PageSize: 2, PageToken: token}))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, messageIDs(resp.Msg.Messages)...)
		if token = resp.Msg.NextPageToken; token == "" {
			break
		}
	}
	if want := []string{"m6", "m5", "m4", "m3", "m2", "m1"}; !slices.Equal(ids, want) || pages != 2 {
		t.Fatalf("paged: %v in %d+1 pages, want %v in 3", ids, pages, want)
	}

	// A page carries its messages' deliveries.
	e.putDelivery(t, "acme", "m5", "ep_b", `{"tenant":"acme","messageId":"m5","endpointId":"ep_b","state":"failed","reason":"exhausted","attempts":3}`)
	e.putDelivery(t, "acme", "m5", "ep_a", `{"tenant":"acme","messageId":"m5","endpointId":"ep_a","state":"succeeded","attempts":1}`)
	e.putDelivery(t, "acme", "m1", "ep_a", `{"tenant":"acme","messageId":"m1","endpointId":"ep_a","state":"pending","attempts":0}`)
	resp, err := mc.ListMessages(ctx, connect.NewRequest(&hookgatev1.ListMessagesRequest{Tenant: "acme", PageSize: 2}))
	if err != nil {
		t.Fatal(err)
	}
	var ds []string
	for _, d := range resp.Msg.Deliveries {
		ds = append(ds, d.MessageId+"/"+d.EndpointId+"="+d.State.String())
	}
	if want := []string{"m5/ep_a=DELIVERY_STATE_SUCCEEDED", "m5/ep_b=DELIVERY_STATE_FAILED"}; !slices.Equal(ds, want) {
		t.Fatalf("deliveries of the page m6, m5: %v, want %v", ds, want)
	}

	// Fields: subject tokens, payload, the producer's timestamp.
	resp, err = mc.ListMessages(ctx, connect.NewRequest(&hookgatev1.ListMessagesRequest{Tenant: "acme", ApplicationId: "app_a", EventType: "order.created", PageSize: 1, PageToken: "2"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Msg.Messages) != 1 {
		t.Fatalf("below sequence 2: %v", messageIDs(resp.Msg.Messages))
	}
	m := resp.Msg.Messages[0]
	if m.Id != "m1" || m.Tenant != "acme" || m.ApplicationId != "app_a" || m.EventType != "order.created" ||
		m.Payload.GetStructValue().GetFields()["orderId"].GetStringValue() != "ORD-1" ||
		!m.CreateTime.AsTime().Equal(time.Date(2026, 3, 23, 15, 30, 0, 0, time.UTC)) {
		t.Fatalf("m1: %v", m)
	}

	// Another tenant's token may not list acme's messages.
	if _, err := e.messages(e.other).ListMessages(ctx, connect.NewRequest(&hookgatev1.ListMessagesRequest{Tenant: "acme"})); codeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("other tenant: %v", err)
	}
	// other's own list holds only o1.
	resp, err = e.messages(e.other).ListMessages(ctx, connect.NewRequest(&hookgatev1.ListMessagesRequest{Tenant: "other"}))
	if err != nil || !slices.Equal(messageIDs(resp.Msg.Messages), []string{"o1"}) {
		t.Fatalf("other's own: %v %v", resp, err)
	}
}

// putDelivery stores a delivery state in the documented format.
func (e *outboundEnv) putDelivery(t *testing.T, tenant, messageID, endpointID, data string) {
	t.Helper()
	if _, err := e.kv.Put(context.Background(), tenant+"."+messageID+"."+endpointID, []byte(data)); err != nil {
		t.Fatal(err)
	}
}

// attempt stores an attempt record in the documented format.
func (e *outboundEnv) attempt(t *testing.T, tenant, endpointID, messageID string, n, status int, class, state, at string) {
	t.Helper()
	e.publish(t, "hookgate.attempts."+tenant+"."+endpointID+"."+messageID, "", fmt.Sprintf(
		`{"tenant":%q,"messageId":%q,"endpointId":%q,"attempt":%d,"trigger":"scheduled","time":%q,"durationMs":12.5,"url":"https://example.com/hook","statusCode":%d,"errorClass":%q,"response":"nope","state":%q}`,
		tenant, messageID, endpointID, n, at, status, class, state))
}

func TestGetMessage(t *testing.T) {
	t.Parallel()
	e := newOutboundEnv(t)
	ctx := context.Background()
	seedMessages(t, e)
	e.putDelivery(t, "acme", "m1", "ep_b", `{"tenant":"acme","messageId":"m1","endpointId":"ep_b","appId":"app_a","eventType":"order.created","state":"pending","attempts":1,"lastStatusCode":503,"lastErrorClass":"http_status","nextRetry":"2026-03-23T15:35:00Z","createdAt":"2026-03-23T15:30:00Z","updatedAt":"2026-03-23T15:30:01Z"}`)
	e.putDelivery(t, "acme", "m1", "ep_a", `{"tenant":"acme","messageId":"m1","endpointId":"ep_a","appId":"app_a","eventType":"order.created","state":"failed","reason":"exhausted","attempts":3,"lastStatusCode":500,"lastErrorClass":"http_status","createdAt":"2026-03-23T15:30:00Z","updatedAt":"2026-03-23T16:00:00Z"}`)
	// A wrong hint (the delivery says app_a, the message is app_b's) still finds it.
	e.putDelivery(t, "acme", "m4", "ep_a", `{"tenant":"acme","messageId":"m4","endpointId":"ep_a","appId":"app_a","eventType":"order.created","state":"succeeded","attempts":1,"lastStatusCode":200,"createdAt":"2026-03-23T15:30:00Z","updatedAt":"2026-03-23T15:30:00Z"}`)
	e.putDelivery(t, "other", "m1", "ep_x", `{"tenant":"other","messageId":"m1","endpointId":"ep_x","state":"pending","attempts":0,"createdAt":"2026-03-23T15:30:00Z","updatedAt":"2026-03-23T15:30:00Z"}`)
	e.attempt(t, "acme", "ep_a", "m1", 1, 500, "http_status", "pending", "2026-03-23T15:30:00Z")
	e.attempt(t, "acme", "ep_b", "m1", 1, 503, "http_status", "pending", "2026-03-23T15:30:01Z")
	e.attempt(t, "acme", "ep_a", "m1", 2, 500, "http_status", "pending", "2026-03-23T15:30:05Z")
	e.attempt(t, "acme", "ep_a", "m1", 3, 500, "http_status", "failed", "2026-03-23T15:59:59Z")
	mc := e.messages(e.platform)

	resp, err := mc.GetMessage(ctx, connect.NewRequest(&hookgatev1.GetMessageRequest{Tenant: "acme", MessageId: "m1"}))
	if err != nil {
		t.Fatal(err)
	}
	if m := resp.Msg.Message; m.Id != "m1" || m.ApplicationId != "app_a" || m.Payload.GetStructValue().GetFields()["orderId"].GetStringValue() != "ORD-1" {
		t.Fatalf("message: %v", m)
	}
	ds := resp.Msg.Deliveries
	if len(ds) != 2 {
		t.Fatalf("deliveries: %v", ds)
	}
	a, b := ds[0], ds[1]
	if a.EndpointId != "ep_a" || a.State != hookgatev1.DeliveryState_DELIVERY_STATE_FAILED || a.AttemptCount != 3 ||
		a.LastStatusCode != 500 || a.Reason != "exhausted" || a.LastErrorClass != "http_status" || a.NextAttemptTime != nil ||
		!a.LastAttemptTime.AsTime().Equal(time.Date(2026, 3, 23, 15, 59, 59, 0, time.UTC)) {
		t.Fatalf("ep_a: %v", a)
	}
	if b.EndpointId != "ep_b" || b.State != hookgatev1.DeliveryState_DELIVERY_STATE_PENDING || b.AttemptCount != 1 || b.LastStatusCode != 503 ||
		!b.NextAttemptTime.AsTime().Equal(time.Date(2026, 3, 23, 15, 35, 0, 0, time.UTC)) ||
		!b.LastAttemptTime.AsTime().Equal(time.Date(2026, 3, 23, 15, 30, 1, 0, time.UTC)) {
		t.Fatalf("ep_b: %v", b)
	}

	tests := []struct {
		name, tenant, id, token string
		deliveries              int
		code                    connect.Code
	}{
		{"no deliveries yet", "acme", "m2", e.platform, 0, 0},
		{"a wrong hint falls back to the tenant", "acme", "m4", e.platform, 1, 0},
		{"unknown message", "acme", "m9", e.platform, 0, connect.CodeNotFound},
		{"refused message is not a message", "acme", "bad", e.platform, 0, connect.CodeNotFound},
		{"another tenant's id", "other", "m1", e.platform, 0, connect.CodeNotFound},
		{"bad id", "acme", "m.*", e.platform, 0, connect.CodeInvalidArgument},
		{"empty id", "acme", "", e.platform, 0, connect.CodeInvalidArgument},
		{"another tenant's token", "acme", "m1", e.other, 0, connect.CodePermissionDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := e.messages(tt.token).GetMessage(ctx, connect.NewRequest(&hookgatev1.GetMessageRequest{Tenant: tt.tenant, MessageId: tt.id}))
			if codeOf(err) != tt.code {
				t.Fatalf("code %v (%v), want %v", codeOf(err), err, tt.code)
			}
			if err == nil && (resp.Msg.Message.Id != tt.id || len(resp.Msg.Deliveries) != tt.deliveries) {
				t.Fatalf("got %v", resp.Msg)
			}
		})
	}
}
