package distribute_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/hookgate/hookgate/controlplane/admin"
	"github.com/hookgate/hookgate/controlplane/distribute"
	"github.com/hookgate/hookgate/controlplane/secrets"
	"github.com/hookgate/hookgate/controlplane/store"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/gen/hookgate/v1/hookgatev1connect"
	"github.com/hookgate/hookgate/testkit/etcdtest"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
)

func openNode(t *testing.T, ctx context.Context, url string, client *http.Client, role hookgatev1.NodeRole) *edgeStream {
	t.Helper()
	stream := hookgatev1connect.NewConfigDiscoveryServiceClient(client, url, connect.WithGRPC()).StreamConfig(ctx)
	stream.RequestHeader().Set("Authorization", "Bearer node-token")
	if err := stream.Send(&hookgatev1.StreamConfigRequest{Kind: &hookgatev1.StreamConfigRequest_Hello{Hello: &hookgatev1.ConfigHello{
		NodeId: role.String(), Role: role}}}); err != nil {
		t.Fatalf("hello: %v", err)
	}
	t.Cleanup(func() { _ = stream.CloseRequest(); _ = stream.CloseResponse() })
	return &edgeStream{t: t, stream: stream}
}

// TestEachRoleGetsItsOutboundPart: dispatchers get endpoints with their
// decrypted signing secrets (current and rotated) and Authorization
// header, applications and tenants' retry schedules, never webhooks, key
// digests or provider secrets; edges get event types with their schemas
// and applications, never endpoints or signing secrets.
func TestEachRoleGetsItsOutboundPart(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	etcd := etcdtest.Start(t).Client(t)
	st := store.New(etcd)
	kr, err := secrets.LoadOrCreateKeyring(filepath.Join(t.TempDir(), "keyring.json"))
	if err != nil {
		t.Fatal(err)
	}
	clk := fixedClock{time.Date(2026, 3, 23, 15, 30, 0, 0, time.UTC)}
	log := slog.New(slog.DiscardHandler)
	if _, err := st.CreateTenant(ctx, &hookgatev1.Tenant{Id: "acme"}); err != nil {
		t.Fatal(err)
	}
	schedule := &hookgatev1.RetrySchedule{Delays: []*durationpb.Duration{durationpb.New(0), durationpb.New(time.Second)}}
	if _, err := st.UpdateTenant(ctx, "acme", 0, func(tn *hookgatev1.Tenant) error { tn.RetrySchedule = schedule; return nil }); err != nil {
		t.Fatal(err)
	}
	wh, err := admin.NewWebhookService(st, kr, clk, log, "https://hooks.example.com", nil).CreateWebhook(ctx, connect.NewRequest(&hookgatev1.CreateWebhookRequest{Webhook: &hookgatev1.Webhook{
		Tenant: "acme", Name: "stripe", Provider: hookgatev1.Provider_PROVIDER_STRIPE,
		Bindings:        []*hookgatev1.Binding{{ProcessId: "orders", Trigger: hookgatev1.Trigger_TRIGGER_START_PROCESS}},
		ProviderSecrets: map[string]string{"signing_secret": "whsec_providerSecretValue"},
	}}))
	if err != nil {
		t.Fatal(err)
	}
	app, err := admin.NewAppService(st, clk, log).CreateApplication(ctx, connect.NewRequest(&hookgatev1.CreateApplicationRequest{Application: &hookgatev1.Application{Tenant: "acme", Name: "Globex", Uid: "globex"}}))
	if err != nil {
		t.Fatal(err)
	}
	schema, _ := structpb.NewStruct(map[string]any{"type": "object"})
	if _, err := admin.NewEventTypeService(st, clk, log).CreateEventType(ctx, connect.NewRequest(&hookgatev1.CreateEventTypeRequest{EventType: &hookgatev1.EventType{Tenant: "acme", Name: "order.created", Schema: schema}})); err != nil {
		t.Fatal(err)
	}
	eps := admin.NewEndpointService(st, kr, clk, log)
	created, err := eps.CreateEndpoint(ctx, connect.NewRequest(&hookgatev1.CreateEndpointRequest{Endpoint: &hookgatev1.Endpoint{
		Tenant: "acme", ApplicationId: app.Msg.Application.Id, Url: "https://example.com/h", EventTypes: []string{"order.created"},
		RateLimitPerSecond: 5, Headers: map[string]string{"Authorization": "Bearer outbound-auth-value", "X-Team": "orders"},
	}}))
	if err != nil {
		t.Fatal(err)
	}
	epID, oldSecret := created.Msg.Endpoint.Id, created.Msg.Secret
	rot, err := eps.RotateEndpointSecret(ctx, connect.NewRequest(&hookgatev1.RotateEndpointSecretRequest{Tenant: "acme", EndpointId: epID, GracePeriod: durationpb.New(time.Hour)}))
	if err != nil {
		t.Fatal(err)
	}
	newSecret := rot.Msg.Secret

	d, err := distribute.New(distribute.Config{NodeToken: "node-token"}, etcd, kr, log, nil, clk)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- d.Run(runCtx) }()
	t.Cleanup(func() { stop(); <-done })
	mux := http.NewServeMux()
	mux.Handle(hookgatev1connect.NewConfigDiscoveryServiceHandler(d))
	srv := httptest.NewUnstartedServer(mux)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)

	keysOf := func(u *hookgatev1.StreamConfigResponse) map[string]*hookgatev1.ConfigResource {
		out := map[string]*hookgatev1.ConfigResource{}
		for _, r := range u.GetUpserts() {
			out[r.GetKey()] = r
		}
		return out
	}
	appKey := distribute.ApplicationResourceKey("acme", app.Msg.Application.Id)

	edge := openNode(t, ctx, srv.URL, srv.Client(), hookgatev1.NodeRole_NODE_ROLE_EDGE)
	eu := edge.next()
	ek := keysOf(eu)
	if len(ek) != 3 || ek[distribute.WebhookResourceKey("acme", wh.Msg.Webhook.Id)] == nil || ek[appKey].GetApplication().GetUid() != "globex" ||
		ek[distribute.EventTypeResourceKey("acme", "order.created")].GetEventType().GetSchema() == nil {
		t.Fatalf("edge snapshot: %v", eu)
	}
	eb, _ := proto.Marshal(eu)
	for _, secret := range []string{oldSecret, newSecret, "outbound-auth-value"} {
		if bytes.Contains(eb, []byte(secret)) {
			t.Fatalf("the edge snapshot holds an outbound secret")
		}
	}

	disp := openNode(t, ctx, srv.URL, srv.Client(), hookgatev1.NodeRole_NODE_ROLE_DISPATCHER)
	du := disp.next()
	dk := keysOf(du)
	ep := dk[distribute.EndpointResourceKey("acme", epID)].GetEndpoint()
	if len(dk) != 3 || dk[appKey] == nil || len(dk[distribute.TenantResourceKey("acme")].GetTenant().GetRetrySchedule().GetDelays()) != 2 || ep == nil {
		t.Fatalf("dispatcher snapshot: %v", du)
	}
	if len(ep.Secrets) != 2 || ep.Secrets[0].Secret != newSecret || ep.Secrets[0].ExpireTime != nil ||
		ep.Secrets[1].Secret != oldSecret || !ep.Secrets[1].ExpireTime.AsTime().Equal(clk.now.Add(time.Hour)) {
		t.Fatalf("dispatcher secrets: %d", len(ep.Secrets))
	}
	if ep.Headers["Authorization"] != "Bearer outbound-auth-value" || ep.Headers["X-Team"] != "orders" || !ep.Enabled ||
		ep.TimeoutMs != 5000 || ep.Burst != 5 || ep.EventTypes[0] != "order.created" {
		t.Fatalf("dispatcher endpoint: url %s enabled %v timeout %d burst %d", ep.Url, ep.Enabled, ep.TimeoutMs, ep.Burst)
	}
	db, _ := proto.Marshal(du)
	if bytes.Contains(db, []byte("whsec_providerSecretValue")) || bytes.Contains(db, []byte("/in/acme/")) {
		t.Fatalf("the dispatcher snapshot holds inbound configuration")
	}

	// Disabling reaches dispatchers as a delta, and edges not at all.
	if _, err := eps.DisableEndpoint(ctx, connect.NewRequest(&hookgatev1.DisableEndpointRequest{Tenant: "acme", EndpointId: epID})); err != nil {
		t.Fatal(err)
	}
	delta := disp.next()
	if delta.Snapshot || len(delta.Upserts) != 1 || delta.Upserts[0].GetEndpoint().GetEnabled() {
		t.Fatalf("dispatcher delta: %v", delta)
	}
	// Deleting the application deletes its endpoint for dispatchers.
	if _, err := admin.NewAppService(st, clk, log).DeleteApplication(ctx, connect.NewRequest(&hookgatev1.DeleteApplicationRequest{Tenant: "acme", ApplicationId: app.Msg.Application.Id})); err != nil {
		t.Fatal(err)
	}
	del := disp.next()
	if len(del.Deletes) != 2 {
		t.Fatalf("dispatcher deletes after the application went: %v", del.Deletes)
	}
	edel := edge.next()
	if len(edel.Deletes) != 1 || edel.Deletes[0] != appKey {
		t.Fatalf("edge deletes: %v", edel.Deletes)
	}
}
