package admin_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"github.com/hookgate/hookgate/controlplane/admin"
	"github.com/hookgate/hookgate/controlplane/secrets"
	"github.com/hookgate/hookgate/controlplane/store"
	"github.com/hookgate/hookgate/gen/hookgate/v1/hookgatev1connect"
	"github.com/hookgate/hookgate/testkit/etcdtest"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// fakeClock is a clock the test advances.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// env is an admin API on real etcd behind a real HTTP server.
type env struct {
	etcd    *clientv3.Client
	store   *store.Store
	clock   *fakeClock
	url     string
	mux     http.Handler
	keyring *secrets.Keyring
	// platform is a platform admin token.
	platform string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t)
}

// newEnvWith is newEnv with options for the webhook service.
func newEnvWith(t *testing.T, opts ...admin.WebhookOption) *env {
	t.Helper()
	etcd := etcdtest.Start(t).Client(t)
	st := store.New(etcd)
	kr, err := secrets.LoadOrCreateKeyring(filepath.Join(t.TempDir(), "keyring.json"))
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{now: time.Date(2026, 3, 23, 15, 30, 0, 0, time.UTC)}
	log := slog.New(slog.DiscardHandler)
	token, _, err := admin.BootstrapToken(context.Background(), st, filepath.Join(t.TempDir(), "token"), clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	mux := admin.NewHandler(admin.Services{
		Tenants:    admin.NewTenantService(st, clock, log),
		Webhooks:   admin.NewWebhookService(st, kr, clock, log, "https://hooks.example.com", nil, opts...),
		Params:     admin.NewConfigParamService(st, kr, clock, log),
		Apps:       admin.NewAppService(st, clock, log),
		EventTypes: admin.NewEventTypeService(st, clock, log),
		Endpoints:  admin.NewEndpointService(st, kr, clock, log),
	}, admin.NewAuthenticator(st, log).Wrap, grpchealth.NewStaticChecker())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &env{etcd: etcd, store: st, clock: clock, url: srv.URL, mux: mux, keyring: kr, platform: token}
}

// bearer adds a token to every call of a client.
type bearer string

func (b bearer) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if b != "" {
			req.Header().Set("Authorization", "Bearer "+string(b))
		}
		return next(ctx, req)
	}
}

func (b bearer) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return func(ctx context.Context, spec connect.Spec) connect.StreamingClientConn {
		conn := next(ctx, spec)
		if b != "" {
			conn.RequestHeader().Set("Authorization", "Bearer "+string(b))
		}
		return conn
	}
}

func (b bearer) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}

func (e *env) tenants(token string) hookgatev1connect.TenantServiceClient {
	return hookgatev1connect.NewTenantServiceClient(&http.Client{}, e.url, connect.WithInterceptors(bearer(token)))
}

func (e *env) webhooks(token string) hookgatev1connect.InboundWebhookServiceClient {
	return hookgatev1connect.NewInboundWebhookServiceClient(&http.Client{}, e.url, connect.WithInterceptors(bearer(token)))
}

func (e *env) params(token string) hookgatev1connect.ConfigParamServiceClient {
	return hookgatev1connect.NewConfigParamServiceClient(&http.Client{}, e.url, connect.WithInterceptors(bearer(token)))
}

func (e *env) apps(token string) hookgatev1connect.ApplicationServiceClient {
	return hookgatev1connect.NewApplicationServiceClient(&http.Client{}, e.url, connect.WithInterceptors(bearer(token)))
}

func (e *env) eventTypes(token string) hookgatev1connect.EventTypeServiceClient {
	return hookgatev1connect.NewEventTypeServiceClient(&http.Client{}, e.url, connect.WithInterceptors(bearer(token)))
}

func (e *env) endpoints(token string) hookgatev1connect.EndpointServiceClient {
	return hookgatev1connect.NewEndpointServiceClient(&http.Client{}, e.url, connect.WithInterceptors(bearer(token)))
}

// wantCode fails unless err is a Connect error with code.
func wantCode(t *testing.T, err error, code connect.Code) {
	t.Helper()
	if err == nil {
		t.Fatalf("call succeeded, want %v", code)
	}
	if got := connect.CodeOf(err); got != code {
		t.Fatalf("code %v (%v), want %v", got, err, code)
	}
}
