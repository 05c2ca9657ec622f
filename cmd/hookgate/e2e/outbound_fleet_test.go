package e2e

import (
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/testkit/dnstest"
	"github.com/hookgate/hookgate/testkit/etcdtest"
	"github.com/hookgate/hookgate/testkit/natstest"
	"github.com/hookgate/hookgate/testkit/poll"
	"github.com/nats-io/nats.go/jetstream"
)

// outboundFleet is a control plane and dispatchers as separate processes
// against one etcd and one NATS, as production runs them.
type outboundFleet struct {
	dir  string
	env  []string
	nats string
	js   jetstream.JetStream
}

// startOutboundFleet starts the control plane and returns the fleet; the
// dispatchers are started with startDispatcher.
func startOutboundFleet(t *testing.T) *outboundFleet {
	t.Helper()
	etcd := etcdtest.Start(t)
	ns := natstest.Start(t)
	dir := t.TempDir()
	keyring := filepath.Join(dir, "keyring.json")
	if err := os.WriteFile(keyring, []byte(`{"primary":"k1","keys":{"k1":"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(dir, "token")
	cp := start(t, dir, []string{"HOOKGATE_EDGE_TOKEN=hgn_edge-secret", "HOOKGATE_DISPATCHER_TOKEN=hgn_dispatcher-secret"},
		"controlplane", "--etcd-endpoints", etcd.Endpoint, "--nats-url", ns.ClientURL(),
		"--listen-addr", "127.0.0.1:0", "--keyring-file", keyring, "--bootstrap-token-file", tokenFile,
		"--public-url", "http://edge.example")
	admin := addrFromLog(t, cp, "admin")
	token, err := os.ReadFile(tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	return &outboundFleet{
		dir:  dir,
		env:  []string{"HOOKGATE_SERVER=" + admin, "HOOKGATE_TOKEN=" + strings.TrimSpace(string(token))},
		nats: ns.ClientURL(),
		js:   ns.JetStream(t),
	}
}

// startDispatcher runs `hookgate dispatcher` named id, with 127.0.0.1/32
// allowed and the retry schedule compressed, and waits until it is ready.
func (f *outboundFleet) startDispatcher(t *testing.T, id string, extra ...string) *proc {
	t.Helper()
	p, _ := f.startOpsDispatcher(t, id, extra...)
	return p
}

// startOpsDispatcher starts a dispatcher on a free ops port, returned for
// /metrics; it does not log that address.
func (f *outboundFleet) startOpsDispatcher(t *testing.T, id string, extra ...string) (*proc, string) {
	t.Helper()
	server := strings.TrimPrefix(f.env[0], "HOOKGATE_SERVER=")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ops := ln.Addr().String()
	ln.Close()
	p := start(t, f.dir, []string{"HOOKGATE_NODE_TOKEN=hgn_dispatcher-secret"}, append([]string{"dispatcher",
		"--control-plane", server, "--nats-url", f.nats, "--ops-addr", ops, "--node-id", id,
		"--allow-private-cidrs", "127.0.0.1/32", "--retry-time-scale", "0.001"}, extra...)...)
	poll.Until(t, 30*time.Second, id+" ready", func() bool {
		select {
		case <-p.done:
			t.Fatalf("%s exited early: %v\n%s", id, p.err, p.stderr)
		default:
		}
		resp, err := http.Get("http://" + ops + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return p, ops
}

// outboundSetup makes tenant acme (HTTP endpoints allowed), an application
// and the event type order.created, and returns the application id.
func outboundSetup(t *testing.T, dir string, env []string) string {
	t.Helper()
	mustRun(t, dir, env, "tenants", "create", "acme", "--allow-http-endpoints")
	var app hookgatev1.CreateApplicationResponse
	protoOut(t, dir, env, &app, "apps", "create", "--tenant", "acme", "--name", "Shop")
	mustRun(t, dir, env, "event-types", "create", "order.created", "--tenant", "acme")
	return app.GetApplication().GetId()
}

// createEndpoint makes an order.created endpoint of app at url and returns
// its id, its signing secret and its revision (etag).
func createEndpoint(t *testing.T, dir string, env []string, app, url string, extra ...string) (id, secret string, rev int64) {
	t.Helper()
	out := mustRun(t, dir, env, append([]string{"endpoints", "create", "--tenant", "acme", "--app", app, "--url", url, "--event-types", "order.created"}, extra...)...)
	idm, sec := endpointLine.FindStringSubmatch(out), whsecLine.FindStringSubmatch(out)
	if idm == nil || sec == nil {
		t.Fatalf("endpoints create printed no id or secret:\n%s", out)
	}
	return idm[1], sec[1], endpointRev(t, dir, env, idm[1])
}

func endpointRev(t *testing.T, dir string, env []string, id string) int64 {
	t.Helper()
	var ep hookgatev1.GetEndpointResponse
	protoOut(t, dir, env, &ep, "endpoints", "get", id, "--tenant", "acme")
	rev, err := strconv.ParseInt(ep.GetEndpoint().GetEtag(), 10, 64)
	if err != nil {
		t.Fatalf("endpoint etag %q: %v", ep.GetEndpoint().GetEtag(), err)
	}
	return rev
}

// waitDispatchers polls until n dispatchers acknowledged revision rev of
// the configuration.
func waitDispatchers(t *testing.T, dir string, env []string, n int, rev int64) {
	t.Helper()
	poll.Until(t, 30*time.Second, "the dispatchers to hold the configuration", func() bool {
		var nodes hookgatev1.ListNodesResponse
		protoOut(t, dir, env, &nodes, "nodes", "--role", "dispatcher")
		held := 0
		for _, nd := range nodes.Nodes {
			if nd.ConfigRevision >= rev {
				held++
			}
		}
		return held >= n
	})
}

func deliveriesKV(t *testing.T, js jetstream.JetStream) deliveryStore {
	t.Helper()
	var kv jetstream.KeyValue
	poll.Until(t, 30*time.Second, "HOOKGATE_DELIVERIES", func() bool {
		var err error
		kv, err = js.KeyValue(t.Context(), "HOOKGATE_DELIVERIES")
		return err == nil
	})
	return deliveryStore{kv: kv, js: js}
}

// serveDNS answers every A query on a local UDP port with ip and every
// other query (AAAA) with no record; it returns host:port for --resolver.
func serveDNS(t *testing.T, ip [4]byte) string {
	t.Helper()
	return dnstest.Serve(t, map[string]netip.Addr{"*": netip.AddrFrom4(ip)})
}

// attemptsJSON is `hookgate attempts list -o json`, the fields the tests read.
type attemptsJSON = hookgatev1.ListAttemptsResponse

func listAttempts(t *testing.T, dir string, env []string, endpoint string) *attemptsJSON {
	t.Helper()
	var out hookgatev1.ListAttemptsResponse
	protoOut(t, dir, env, &out, "attempts", "list", "--tenant", "acme", "--endpoint", endpoint)
	return &out
}

// connOwners maps the client ports of TCP connections on loopback to the
// process among pids that holds each (Linux /proc): which dispatcher made
// a request. Ports of connections already closed are left out.
func connOwners(t *testing.T, pids []int, ports []int) map[int]int {
	t.Helper()
	inodes := map[int]string{} // client port -> socket inode
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			fs := strings.Fields(line)
			if len(fs) < 10 {
				continue
			}
			local := fs[1]
			i := strings.LastIndexByte(local, ':')
			port, err := strconv.ParseInt(local[i+1:], 16, 32)
			if err != nil {
				continue
			}
			if slices.Contains(ports, int(port)) && fs[9] != "0" {
				inodes[int(port)] = fs[9]
			}
		}
	}
	owners := map[int]int{}
	for _, pid := range pids {
		dir := filepath.Join("/proc", strconv.Itoa(pid), "fd")
		fds, err := os.ReadDir(dir)
		if err != nil {
			t.Logf("read %s: %v", dir, err) // the process is gone: it holds nothing
			continue
		}
		held := map[string]bool{}
		for _, fd := range fds {
			if l, err := os.Readlink(filepath.Join(dir, fd.Name())); err == nil {
				held[l] = true
			}
		}
		for port, inode := range inodes {
			if held["socket:["+inode+"]"] {
				owners[port] = pid
			}
		}
	}
	return owners
}
