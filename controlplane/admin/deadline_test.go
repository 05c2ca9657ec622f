package admin_test

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"github.com/hookgate/hookgate/controlplane/admin"
	"github.com/hookgate/hookgate/controlplane/secrets"
	"github.com/hookgate/hookgate/controlplane/store"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/gen/hookgate/v1/hookgatev1connect"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// deadStore is a store whose etcd accepts connections and never answers:
// a listener nobody accepts from, as an etcd without quorum looks to a
// client.
func deadStore(t *testing.T) *store.Store {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{ln.Addr().String()}, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return store.New(c)
}

// TestCallsAgainstSilentEtcdEndWithinTheDeadline: without a per-call
// deadline each call waited for etcd as long as its client did (forever for
// a client without one), holding a goroutine. The client here allows a
// minute; the server's deadline must end the call first, as Unavailable
// (retryable), both in the token lookup and in a handler.
func TestCallsAgainstSilentEtcdEndWithinTheDeadline(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dead := deadStore(t)
	log := slog.New(slog.DiscardHandler)
	cfg := admin.Config{CallTimeout: 200 * time.Millisecond}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	kr, err := secrets.LoadOrCreateKeyring(filepath.Join(t.TempDir(), "keyring.json"))
	if err != nil {
		t.Fatal(err)
	}
	services := admin.Services{
		Tenants:  admin.NewTenantService(dead, e.clock, log),
		Webhooks: admin.NewWebhookService(dead, kr, e.clock, log, "https://hooks.example.com", nil),
	}
	tests := []struct {
		name string
		auth *store.Store // where tokens are looked up
		call func(ctx context.Context, url string) error
	}{
		{"token lookup", dead, func(ctx context.Context, url string) error {
			c := hookgatev1connect.NewTenantServiceClient(&http.Client{}, url, connect.WithInterceptors(bearer(e.platform)))
			_, err := c.ListTenants(ctx, connect.NewRequest(&hookgatev1.ListTenantsRequest{}))
			return err
		}},
		{"tenant handler", e.store, func(ctx context.Context, url string) error {
			c := hookgatev1connect.NewTenantServiceClient(&http.Client{}, url, connect.WithInterceptors(bearer(e.platform)))
			_, err := c.GetTenant(ctx, connect.NewRequest(&hookgatev1.GetTenantRequest{Tenant: "acme"}))
			return err
		}},
		{"webhook handler", e.store, func(ctx context.Context, url string) error {
			c := hookgatev1connect.NewInboundWebhookServiceClient(&http.Client{}, url, connect.WithInterceptors(bearer(e.platform)))
			_, err := c.ListWebhooks(ctx, connect.NewRequest(&hookgatev1.ListWebhooksRequest{Tenant: "acme"}))
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mux := admin.New(cfg, services, admin.NewAuthenticator(tt.auth, log).Wrap, grpchealth.NewStaticChecker())
			srv := httptest.NewServer(mux)
			t.Cleanup(srv.Close)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			err := tt.call(ctx, srv.URL)
			if ctx.Err() != nil {
				t.Fatalf("the call outlived the server's deadline until the client gave up: %v", err)
			}
			wantCode(t, err, connect.CodeUnavailable)
		})
	}
}

func TestConfigRejectsNegativeTimeout(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		d    time.Duration
		okay bool
	}{{0, true}, {time.Second, true}, {-time.Nanosecond, false}} {
		if err := (admin.Config{CallTimeout: tt.d}).Validate(); (err == nil) != tt.okay {
			t.Errorf("CallTimeout %s: Validate() = %v", tt.d, err)
		}
	}
}
