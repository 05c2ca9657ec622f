package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
)

func TestDevRunsEverythingAndRestartsOnSameData(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	d := startDev(t, dir)

	for _, base := range []string{d.admin, d.edge, d.ops} {
		if code, body := get(t, base+"/readyz"); code != 200 {
			t.Fatalf("GET %s/readyz = %d %q, want 200", base, code, body)
		}
		if code, _ := get(t, base+"/healthz"); code != 200 {
			t.Fatalf("GET %s/healthz = %d, want 200", base, code)
		}
	}
	if code, body := get(t, d.ops+"/metrics"); code != 200 || !strings.Contains(body, "go_goroutines") {
		t.Fatalf("GET ops /metrics = %d, want Prometheus text", code)
	}
	// Metrics are never served on the public ingress port.
	if code, _ := get(t, d.edge+"/metrics"); code != 404 {
		t.Fatalf("GET edge /metrics = %d, want 404", code)
	}

	// The token is written to the data folder with mode 0600.
	tokenFile := filepath.Join(dir, ".hookgate", "admin-token")
	info, err := os.Stat(tokenFile)
	if err != nil {
		t.Fatalf("admin token file: %v", err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Fatalf("admin token file mode %v, want 0600", info.Mode().Perm())
	}
	saved, _ := os.ReadFile(tokenFile)
	if strings.TrimSpace(string(saved)) != d.token || !strings.HasPrefix(d.token, "hga_") {
		t.Fatalf("admin token file does not hold the printed hga_ token")
	}

	// The credentials between the parts are made in the data folder, each
	// readable by its owner only.
	for _, name := range []string{"edge-token", "dispatcher-token", "nats-user.nk", "keyring.json"} {
		info, err := os.Stat(filepath.Join(dir, ".hookgate", name))
		if err != nil || info.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v, mode %v; want a file of mode 0600", name, err, info)
		}
	}
	// The embedded NATS admits only its user: an open connection could
	// read every envelope or publish forged events.
	if nc, err := nats.Connect(d.nats); err == nil {
		nc.Close()
		t.Fatalf("NATS admitted a connection without credentials")
	} else if !strings.Contains(strings.ToLower(err.Error()), "authorization") {
		t.Fatalf("NATS without credentials: %v, want an authorization error", err)
	}
	checkStreams(t, d, "HOOKGATE_INBOUND", "HOOKGATE_OUTBOUND")
	checkGRPC(t, strings.TrimPrefix(d.admin, "http://"), d.token)

	if err := d.stop(t); err != nil {
		t.Fatalf("hookgate dev exit after SIGTERM: %v, want status 0\n%s", err, d.stderr)
	}

	// A restart on the same data keeps the token and the streams.
	d2 := startDev(t, dir)
	if d2.token != d.token {
		t.Fatalf("restart printed another admin token")
	}
	checkStreams(t, d2, "HOOKGATE_INBOUND", "HOOKGATE_OUTBOUND")
	if code, body := get(t, d2.admin+"/readyz"); code != 200 {
		t.Fatalf("after restart GET /readyz = %d %q", code, body)
	}
	if err := d2.stop(t); err != nil {
		t.Fatalf("second hookgate dev exit: %v", err)
	}
}

func checkStreams(t *testing.T, d *devServer, names ...string) {
	t.Helper()
	nc := d.natsConn(t)
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("jetstream: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, name := range names {
		s, err := js.Stream(ctx, name)
		if err != nil {
			t.Fatalf("stream %s: %v", name, err)
		}
		if s.CachedInfo().Config.Storage != jetstream.FileStorage {
			t.Fatalf("stream %s storage %v, want file", name, s.CachedInfo().Config.Storage)
		}
	}
}

// checkGRPC talks real gRPC (HTTP/2 cleartext) to the admin port: health,
// reflection, and an Unimplemented answer from a method a later issue fills.
func checkGRPC(t *testing.T, addr, token string) {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("grpc dial %s: %v", addr, err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// A method the admin port does not serve answers Unimplemented, after
	// authentication like every admin call: SendMessage is the edges'.
	authed := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	var sent hookgatev1.SendMessageResponse
	if err := conn.Invoke(authed, "/hookgate.v1.MessageService/SendMessage", &hookgatev1.SendMessageRequest{Message: &hookgatev1.Message{Tenant: "acme"}}, &sent); status.Code(err) != codes.Unimplemented {
		t.Fatalf("SendMessage on the admin port: %v, want Unimplemented", err)
	}
	if err := conn.Invoke(ctx, "/hookgate.v1.MessageService/SendMessage", &hookgatev1.SendMessageRequest{Message: &hookgatev1.Message{Tenant: "acme"}}, &sent); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("SendMessage on the admin port without a token: %v, want Unauthenticated", err)
	}
	var apps hookgatev1.ListApplicationsResponse
	if err := conn.Invoke(authed, "/hookgate.v1.ApplicationService/ListApplications", &hookgatev1.ListApplicationsRequest{Tenant: "acme"}, &apps); err != nil {
		t.Fatalf("ListApplications over gRPC: %v", err)
	}

	hr, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil || hr.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("grpc health = %v, %v; want SERVING", hr.GetStatus(), err)
	}
	if _, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: "no.such.Service"}); err == nil {
		t.Fatalf("grpc health of an unknown service succeeded, want NotFound")
	}

	stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatalf("reflection stream: %v", err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{},
	}); err != nil {
		t.Fatalf("reflection send: %v", err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatalf("reflection recv: %v", err)
	}
	var services []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		services = append(services, s.GetName())
	}
	for _, want := range []string{"hookgate.v1.TenantService", "hookgate.v1.InboundWebhookService", "hookgate.v1.ConfigDiscoveryService", "hookgate.v1.EdgeService"} {
		if !slices.Contains(services, want) {
			t.Fatalf("reflection lists %v, missing %s", services, want)
		}
	}
}

// TestDevDataFolderInUse: a second hookgate dev on the same folder says who
// holds it and exits, instead of waiting forever in etcd's file lock.
func TestDevDataFolderInUse(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first := startDev(t, dir)
	second := start(t, dir, nil, "dev",
		"--admin-addr", "127.0.0.1:0", "--edge-addr", "127.0.0.1:0", "--ops-addr", "127.0.0.1:0",
		"--etcd-addr", "127.0.0.1:0", "--etcd-peer-addr", "127.0.0.1:0", "--nats-addr", "127.0.0.1:0")
	if err := second.wait(t, 30*time.Second); err == nil {
		t.Fatalf("second hookgate dev on the same folder exited 0")
	}
	want := fmt.Sprintf("hookgate: data folder .hookgate is in use by pid %d", first.cmd.Process.Pid)
	if got := strings.TrimSpace(second.stderr.String()); got != want {
		t.Fatalf("second hookgate dev said %q, want %q", got, want)
	}
	// The first still serves.
	if code, body := get(t, first.admin+"/readyz"); code != 200 {
		t.Fatalf("first hookgate dev GET /readyz = %d %q", code, body)
	}
}

func TestDevBadStartupInput(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()

	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{
			name: "admin port in use",
			args: []string{"dev", "--data-dir", "data", "--admin-addr", busy.Addr().String(),
				"--edge-addr", "127.0.0.1:0", "--ops-addr", "127.0.0.1:0", "--etcd-addr", "127.0.0.1:0",
				"--etcd-peer-addr", "127.0.0.1:0", "--nats-addr", "127.0.0.1:0"},
			want: "--admin-addr",
		},
		{
			name: "data folder is a file",
			args: []string{"dev", "--data-dir", notDir},
			want: "--data-dir",
		},
		{
			name: "negative attempts retention",
			args: []string{"dev", "--data-dir", "data", "--attempts-max-age", "-1h"},
			want: "--attempts-max-age",
		},
		{
			name: "cluster of two",
			args: []string{"dev", "--data-dir", "data2", "--cluster", "2"},
			want: "want 3, 5 or 7",
		},
		{
			name: "unknown fsync setting",
			args: []string{"dev", "--data-dir", "data3", "--nats-sync", "sometimes"},
			want: "--nats-sync",
		},
		{
			name: "unreachable etcd",
			args: []string{"controlplane", "--etcd-endpoints", "http://" + busy.Addr().String(), "--etcd-dial-timeout", "1s",
				"--listen-addr", "127.0.0.1:0", "--node-token", "hgn_x", "--keyring", `{"primary":"k1","keys":{"k1":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}}`},
			want: "unreachable",
		},
		{
			name: "controlplane without keyring",
			args: []string{"controlplane", "--listen-addr", "127.0.0.1:0"},
			want: "keyring",
		},
		{
			name: "bad log format",
			args: []string{"edge", "--log-format", "yaml"},
			want: "--log-format",
		},
		{
			name: "bad setting from the environment",
			args: []string{"edge"},
			env:  []string{"HOOKGATE_LOG_FORMAT=yaml"},
			want: `--log-format "yaml"`,
		},
		{
			name: "bad duration from the environment",
			args: []string{"edge"},
			env:  []string{"HOOKGATE_PUBLISH_TIMEOUT=soon"},
			want: "HOOKGATE_PUBLISH_TIMEOUT",
		},
		{
			// The config stream carries secrets: no credential, no start,
			// on loopback too.
			name: "control plane without node credentials",
			args: []string{"controlplane", "--listen-addr", "127.0.0.1:0", "--keyring", `{"primary":"k1","keys":{"k1":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}}`},
			want: "--edge-token",
		},
		{
			name: "node tokens beside required client certificates",
			args: []string{"controlplane", "--listen-addr", "127.0.0.1:0", "--node-token", "hgn_x", "--tls-cert", "c.pem", "--tls-key", "k.pem",
				"--tls-client-ca", "ca.pem", "--keyring", `{"primary":"k1","keys":{"k1":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}}`},
			want: "--tls-client-ca",
		},
		{
			name: "two kinds of NATS credential",
			args: []string{"edge", "--listen-addr", "127.0.0.1:0", "--nats-nkey", "seed.nk", "--nats-user", "u", "--nats-password", "p"},
			want: "--nats-creds",
		},
		{
			name: "control plane beyond loopback without TLS",
			args: []string{"controlplane", "--listen-addr", "0.0.0.0:0", "--keyring", `{"primary":"k1","keys":{"k1":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}}`},
			want: "--allow-plaintext",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := start(t, t.TempDir(), tt.env, tt.args...)
			if err := p.wait(t, 30*time.Second); err == nil {
				t.Fatalf("hookgate %v exited 0, want failure", tt.args)
			}
			lines := strings.Split(strings.TrimSpace(p.stderr.String()), "\n")
			last := lines[len(lines)-1]
			if !strings.HasPrefix(last, "hookgate: ") || !strings.Contains(last, tt.want) {
				t.Fatalf("last stderr line %q, want one 'hookgate: ' line naming %q", last, tt.want)
			}
			if strings.Contains(p.stderr.String(), "panic") || strings.Contains(p.stderr.String(), "goroutine ") {
				t.Fatalf("stderr shows a panic:\n%s", p.stderr)
			}
		})
	}
}
