package distribute_test

import (
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
)

type fixedClock struct{ now time.Time }

func (c fixedClock) Now() time.Time { return c.now }

// edgeStream is one edge's config stream against a real distributor.
type edgeStream struct {
	t      *testing.T
	stream *connect.BidiStreamForClient[hookgatev1.StreamConfigRequest, hookgatev1.StreamConfigResponse]
}

func openEdge(t *testing.T, ctx context.Context, url string, client *http.Client, revision int64) *edgeStream {
	t.Helper()
	stream := hookgatev1connect.NewConfigDiscoveryServiceClient(client, url, connect.WithGRPC()).StreamConfig(ctx)
	stream.RequestHeader().Set("Authorization", "Bearer node-token")
	if err := stream.Send(&hookgatev1.StreamConfigRequest{Kind: &hookgatev1.StreamConfigRequest_Hello{Hello: &hookgatev1.ConfigHello{
		NodeId: "edge-1", Role: hookgatev1.NodeRole_NODE_ROLE_EDGE, Revision: revision}}}); err != nil {
		t.Fatalf("hello: %v", err)
	}
	t.Cleanup(func() { _ = stream.CloseRequest(); _ = stream.CloseResponse() })
	return &edgeStream{t: t, stream: stream}
}

// next receives one update and acknowledges it.
func (e *edgeStream) next() *hookgatev1.StreamConfigResponse {
	e.t.Helper()
	u, err := e.stream.Receive()
	if err != nil {
		e.t.Fatalf("receive: %v", err)
	}
	if err := e.stream.Send(&hookgatev1.StreamConfigRequest{Kind: &hookgatev1.StreamConfigRequest_Ack{Ack: &hookgatev1.ConfigAck{Revision: u.GetRevision()}}}); err != nil {
		e.t.Fatalf("ack: %v", err)
	}
	return u
}

func webhookOf(u *hookgatev1.StreamConfigResponse, id string) *hookgatev1.EdgeWebhook {
	for _, r := range u.GetUpserts() {
		if w := r.GetWebhook(); w.GetId() == id {
			return w
		}
	}
	return nil
}

// TestParamChangeReachesTheEdge: a provider secret given as a reference
// reaches the edge as the parameter's value; changing the parameter sends
// the referring webhooks (and only them) as a delta with the new value and
// the old one as previous for 24 h, to a connected edge and to one that
// resumes from an older revision.
func TestParamChangeReachesTheEdge(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	etcd := etcdtest.Start(t).Client(t)
	st := store.New(etcd)
	kr, err := secrets.LoadOrCreateKeyring(filepath.Join(t.TempDir(), "keyring.json"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 23, 15, 30, 0, 0, time.UTC)
	clk := fixedClock{now}
	log := slog.New(slog.DiscardHandler)
	if _, err := st.CreateTenant(ctx, &hookgatev1.Tenant{Id: "acme"}); err != nil {
		t.Fatal(err)
	}
	params := admin.NewConfigParamService(st, kr, clk, log)
	webhooks := admin.NewWebhookService(st, kr, clk, log, "https://hooks.example.com", nil)
	setParam := func(value string) {
		t.Helper()
		if _, err := params.SetConfigParam(ctx, connect.NewRequest(&hookgatev1.SetConfigParamRequest{Tenant: "acme", Name: "stripe_live", Value: value})); err != nil {
			t.Fatal(err)
		}
	}
	create := func(name, secret string, requireKey bool) string {
		t.Helper()
		r, err := webhooks.CreateWebhook(ctx, connect.NewRequest(&hookgatev1.CreateWebhookRequest{Webhook: &hookgatev1.Webhook{
			Tenant: "acme", Name: name, Provider: hookgatev1.Provider_PROVIDER_STRIPE, RequireKey: proto.Bool(requireKey),
			Bindings:        []*hookgatev1.Binding{{ProcessId: "orders", Trigger: hookgatev1.Trigger_TRIGGER_START_PROCESS}},
			ProviderSecrets: map[string]string{"signing_secret": secret},
		}}))
		if err != nil {
			t.Fatal(err)
		}
		return r.Msg.Webhook.Id
	}
	setParam("whsec_one")
	byRef := create("by reference", "${configParam.stripe_live}", false)
	literal := create("literal", "whsec_literal", true)

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

	edge := openEdge(t, ctx, srv.URL, srv.Client(), 0)
	snap := edge.next()
	w := webhookOf(snap, byRef)
	if !snap.GetSnapshot() || w == nil || w.GetProviderSecrets()["signing_secret"] != "whsec_one" || len(w.GetPreviousProviderSecrets()) != 0 {
		t.Fatalf("snapshot: %v", snap)
	}
	if w.RequireKey == nil || w.GetRequireKey() {
		t.Fatalf("require_key false did not reach the edge: %v", w.RequireKey)
	}
	if l := webhookOf(snap, literal); l == nil || l.RequireKey == nil || !l.GetRequireKey() || l.GetProviderSecrets()["signing_secret"] != "whsec_literal" {
		t.Fatalf("literal webhook: %v", l)
	}

	setParam("whsec_two")
	delta := edge.next()
	if delta.GetSnapshot() || len(delta.GetUpserts()) != 1 || len(delta.GetDeletes()) != 0 {
		t.Fatalf("after the change: %v; want a delta of one webhook", delta)
	}
	check := func(what string, w *hookgatev1.EdgeWebhook) {
		t.Helper()
		prev := w.GetPreviousProviderSecrets()["signing_secret"]
		if w.GetId() != byRef || w.GetProviderSecrets()["signing_secret"] != "whsec_two" || prev.GetValue() != "whsec_one" ||
			!prev.GetExpireTime().AsTime().Equal(now.Add(admin.DefaultGracePeriod)) {
			t.Fatalf("%s: %v", what, w)
		}
	}
	check("delta", delta.GetUpserts()[0].GetWebhook())

	// An edge that held the snapshot's revision resumes with the same.
	again := openEdge(t, ctx, srv.URL, srv.Client(), snap.GetRevision())
	resumed := again.next()
	if resumed.GetSnapshot() || len(resumed.GetUpserts()) != 1 {
		t.Fatalf("resumed: %v", resumed)
	}
	check("resumed", resumed.GetUpserts()[0].GetWebhook())
}
