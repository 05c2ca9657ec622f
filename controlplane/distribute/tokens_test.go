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
)

// TestEdgesGetTokenDigests: edges get the SHA-256 digest and scope of
// every producer, tenant and platform admin token (for SendMessage), never
// the token; dispatchers get none; a revoked token is a delete.
func TestEdgesGetTokenDigests(t *testing.T) {
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
	ts := admin.NewTenantService(st, clk, log)
	create := func(tenant string, kind hookgatev1.AdminTokenKind) *hookgatev1.CreateAdminTokenResponse {
		t.Helper()
		resp, err := ts.CreateAdminToken(ctx, connect.NewRequest(&hookgatev1.CreateAdminTokenRequest{Tenant: tenant, Kind: kind}))
		if err != nil {
			t.Fatal(err)
		}
		return resp.Msg
	}
	producer := create("acme", hookgatev1.AdminTokenKind_ADMIN_TOKEN_KIND_PRODUCER)
	tenantAdmin := create("acme", hookgatev1.AdminTokenKind_ADMIN_TOKEN_KIND_UNSPECIFIED)
	platform := create("", hookgatev1.AdminTokenKind_ADMIN_TOKEN_KIND_ADMIN)

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

	edge := openNode(t, ctx, srv.URL, srv.Client(), hookgatev1.NodeRole_NODE_ROLE_EDGE)
	snap := edge.next()
	got := map[string]*hookgatev1.EdgeToken{}
	for _, r := range snap.GetUpserts() {
		if tok := r.GetToken(); tok != nil {
			got[r.GetKey()] = tok
		}
	}
	tests := []struct {
		name   string
		tok    *hookgatev1.CreateAdminTokenResponse
		tenant string
		kind   hookgatev1.AdminTokenKind
	}{
		{"producer", producer, "acme", hookgatev1.AdminTokenKind_ADMIN_TOKEN_KIND_PRODUCER},
		{"tenant admin", tenantAdmin, "acme", hookgatev1.AdminTokenKind_ADMIN_TOKEN_KIND_ADMIN},
		{"platform admin", platform, "", hookgatev1.AdminTokenKind_ADMIN_TOKEN_KIND_ADMIN},
	}
	if len(got) != len(tests) {
		t.Fatalf("edge got %d token resources, want %d", len(got), len(tests))
	}
	for _, tt := range tests {
		key := distribute.TokenResourceKey(tt.tenant, tt.tok.AdminToken.Id)
		et := got[key]
		if et == nil || et.Tenant != tt.tenant || et.Kind != tt.kind || !secrets.Equal(et.Sha256, secrets.Digest(tt.tok.Token)) {
			t.Errorf("%s: resource %s = %v", tt.name, key, et)
		}
	}
	raw, _ := proto.Marshal(snap)
	for _, tt := range tests {
		if bytes.Contains(raw, []byte(tt.tok.Token)) {
			t.Fatalf("the edge snapshot holds the %s token itself", tt.name)
		}
	}

	disp := openNode(t, ctx, srv.URL, srv.Client(), hookgatev1.NodeRole_NODE_ROLE_DISPATCHER)
	for _, r := range disp.next().GetUpserts() {
		if r.GetToken() != nil {
			t.Fatalf("dispatcher got token resource %s", r.GetKey())
		}
	}

	if _, err := ts.RevokeAdminToken(ctx, connect.NewRequest(&hookgatev1.RevokeAdminTokenRequest{Id: producer.AdminToken.Id})); err != nil {
		t.Fatal(err)
	}
	del := edge.next()
	if len(del.Deletes) != 1 || del.Deletes[0] != distribute.TokenResourceKey("acme", producer.AdminToken.Id) {
		t.Fatalf("edge deletes after revoke: %v", del.Deletes)
	}
}
