package controlplane_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/hookgate/hookgate/cmd/hookgate/app/controlplane"
	"github.com/hookgate/hookgate/cmd/hookgate/app/natsconn"
	"github.com/hookgate/hookgate/cmd/hookgate/app/serve"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/gen/hookgate/v1/hookgatev1connect"
	"github.com/hookgate/hookgate/testkit/etcdtest"
	"github.com/hookgate/hookgate/testkit/natstest"
)

const testKeyring = `{"primary":"k1","keys":{"k1":"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}}`

// start runs the production wiring of a control plane against real etcd
// and NATS, with per-role node tokens.
func start(t *testing.T, mutate func(*controlplane.Config)) *controlplane.ControlPlane {
	t.Helper()
	return startOn(t, etcdtest.Start(t), natstest.Start(t), mutate)
}

// startOn is start on servers the test keeps, e.g. to run an edge beside.
func startOn(t *testing.T, etcd *etcdtest.Server, ns *natstest.Server, mutate func(*controlplane.Config)) *controlplane.ControlPlane {
	t.Helper()
	cfg := controlplane.Config{
		ListenAddr:         "127.0.0.1:0",
		ListenFlag:         "listen-addr",
		EtcdEndpoints:      []string{etcd.Endpoint},
		EtcdDialTimeout:    5 * time.Second,
		NATS:               natsconn.Config{URL: ns.ClientURL()},
		KeyringJSON:        testKeyring,
		PublicURL:          "http://edge.example",
		KeySweepInterval:   time.Minute,
		EdgeToken:          "hgn_edge",
		DispatcherToken:    "hgn_dispatcher",
		BootstrapTokenFile: filepath.Join(t.TempDir(), "admin-token"),
		CallTimeout:        controlplane.DefaultCallTimeout,
		ReadTimeout:        controlplane.DefaultReadTimeout,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	log := slog.New(slog.DiscardHandler)
	cp, err := controlplane.Start(context.Background(), cfg, log, serve.NewRegistry())
	if err != nil {
		t.Fatalf("start control plane: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cp.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("control plane Run: %v", err)
		}
	})
	return cp
}

func h2c() *http.Client {
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: &http.Transport{Protocols: p}}
}

// firstResponse opens the config stream with token and asks for role; it
// returns the first update or the stream's error.
func firstResponse(t *testing.T, url, token string, role hookgatev1.NodeRole) (*hookgatev1.StreamConfigResponse, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rpc := hookgatev1connect.NewConfigDiscoveryServiceClient(h2c(), url, connect.WithGRPC())
	stream := rpc.StreamConfig(ctx)
	if token != "" {
		stream.RequestHeader().Set("Authorization", "Bearer "+token)
	}
	hello := &hookgatev1.ConfigHello{NodeId: "probe", Role: role}
	if err := stream.Send(&hookgatev1.StreamConfigRequest{Kind: &hookgatev1.StreamConfigRequest_Hello{Hello: hello}}); err != nil && !errors.Is(err, io.EOF) {
		t.Fatalf("send hello: %v", err)
	}
	defer stream.CloseRequest()
	return stream.Receive()
}

// TestConfigStreamNeedsTheRoleCredential drives the wiring hookgate
// controlplane and hookgate dev run: no credential, a wrong one, or one of
// another role gets nothing; the role's own token gets its snapshot.
func TestConfigStreamNeedsTheRoleCredential(t *testing.T) {
	cp := start(t, nil)
	tests := []struct {
		name  string
		token string
		role  hookgatev1.NodeRole
		code  connect.Code
	}{
		{"no credential", "", hookgatev1.NodeRole_NODE_ROLE_EDGE, connect.CodeUnauthenticated},
		{"wrong token", "hgn_guess", hookgatev1.NodeRole_NODE_ROLE_EDGE, connect.CodeUnauthenticated},
		{"admin token is no node credential", cp.Token(), hookgatev1.NodeRole_NODE_ROLE_EDGE, connect.CodePermissionDenied},
		{"edge token asking for dispatcher", "hgn_edge", hookgatev1.NodeRole_NODE_ROLE_DISPATCHER, connect.CodePermissionDenied},
		{"dispatcher token asking for edge", "hgn_dispatcher", hookgatev1.NodeRole_NODE_ROLE_EDGE, connect.CodePermissionDenied},
		{"edge token", "hgn_edge", hookgatev1.NodeRole_NODE_ROLE_EDGE, 0},
		{"dispatcher token", "hgn_dispatcher", hookgatev1.NodeRole_NODE_ROLE_DISPATCHER, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := firstResponse(t, cp.URL(), tt.token, tt.role)
			if tt.code == 0 {
				if err != nil || resp.GetRevision() == 0 {
					t.Fatalf("first update: %v, %v; want a snapshot", resp, err)
				}
				return
			}
			if connect.CodeOf(err) != tt.code {
				t.Fatalf("stream: update %v, err %v; want %v and nothing sent", resp, err, tt.code)
			}
		})
	}
}

// TestStartRefusesNodesWithoutCredentials: the stream carries decrypted
// secrets, so there is no open mode, loopback included.
func TestStartRefusesNodesWithoutCredentials(t *testing.T) {
	cfg := controlplane.Config{
		ListenAddr: "127.0.0.1:0", ListenFlag: "listen-addr", EtcdEndpoints: []string{"http://127.0.0.1:1"},
		EtcdDialTimeout: time.Second, NATS: natsconn.Config{URL: "nats://127.0.0.1:1"}, KeyringJSON: testKeyring,
		PublicURL: "http://edge.example", KeySweepInterval: time.Minute,
		CallTimeout: time.Second, ReadTimeout: time.Second,
	}
	_, err := controlplane.Start(context.Background(), cfg, slog.New(slog.DiscardHandler), serve.NewRegistry())
	if err == nil || !strings.Contains(err.Error(), "--edge-token") {
		t.Fatalf("start without node credentials: %v, want a refusal naming --edge-token", err)
	}
}

// TestSlowBodyIsCut: an admin request whose body never completes is cut at
// the read timeout instead of holding its connection (the config stream on
// the same port has no such limit).
func TestSlowBodyIsCut(t *testing.T) {
	cp := start(t, func(c *controlplane.Config) { c.ReadTimeout = 300 * time.Millisecond })
	conn, err := net.Dial("tcp", strings.TrimPrefix(cp.URL(), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Headers complete, body promised but never sent, and no token.
	_, err = io.WriteString(conn, "POST /"+hookgatev1connect.TenantServiceName+"/ListTenants HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
	if err != nil {
		t.Fatal(err)
	}
	// The server answers (401, no token) and then closes the connection at
	// the read deadline: reading reaches EOF well before the test's own
	// guard of 20 s.
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	_, err = io.ReadAll(conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection with a slow body still open after 20 s")
	}
}

// TestConsoleNeedsNoToken: the console's files are served on the admin
// port without a token, with its security headers, while the API beside
// them still refuses a call without one.
func TestConsoleNeedsNoToken(t *testing.T) {
	cp := start(t, nil)
	if !strings.HasSuffix(cp.ConsoleURL(), "/console/") {
		t.Fatalf("console URL %q", cp.ConsoleURL())
	}
	resp, err := http.Get(cp.ConsoleURL())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET %s: %d %s", cp.ConsoleURL(), resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if !strings.Contains(strings.ToLower(string(body)), "<!doctype html>") || resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Fatalf("console index: %q, headers %v", body, resp.Header)
	}
	_, err = hookgatev1connect.NewTenantServiceClient(http.DefaultClient, cp.URL()).ListTenants(context.Background(), connect.NewRequest(&hookgatev1.ListTenantsRequest{}))
	if connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Fatalf("ListTenants without a token beside the console: %v", err)
	}
}
