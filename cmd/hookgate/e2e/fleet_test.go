package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hookgate/hookgate/testkit/etcdtest"
	"github.com/hookgate/hookgate/testkit/natstest"
	"github.com/hookgate/hookgate/testkit/poll"
)

// post calls an edge URL and returns the status code.
func post(t *testing.T, url, body string) int {
	t.Helper()
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// eventually polls until url answers want; changes reach the edge through
// the config stream, in milliseconds but not synchronously.
func eventually(t *testing.T, url string, want int) {
	t.Helper()
	eventuallyWithin(t, url, want, 10*time.Second)
}

// eventuallyWithin is eventually with its own bound.
func eventuallyWithin(t *testing.T, url string, want int, d time.Duration) {
	t.Helper()
	var got int
	poll.Until(t, d, "edge to answer "+http.StatusText(want), func() bool {
		got = post(t, url, `{"n":1}`)
		return got == want
	})
}

var logAddr = regexp.MustCompile(`"(admin|ingress|ops)":"(http://[0-9.:]+)"`)

// addrFromLog waits for a JSON log line naming the address under key.
func addrFromLog(t *testing.T, p *proc, key string) string {
	t.Helper()
	var addr string
	poll.Until(t, 30*time.Second, key+" address in the log", func() bool {
		select {
		case <-p.done:
			t.Fatalf("process exited early: %v\n%s", p.err, p.stderr)
		default:
		}
		for _, m := range logAddr.FindAllStringSubmatch(p.stderr.String(), -1) {
			if m[1] == key {
				addr = m[2]
				return true
			}
		}
		return false
	})
	return addr
}

// TestFleetStaysUpWithoutControlPlane runs the production commands as
// separate processes against real etcd and NATS: changes made through the
// CLI reach the edge without restarts, the edge keeps serving while the
// control plane is killed, and catches up when it returns.
func TestFleetStaysUpWithoutControlPlane(t *testing.T) {
	t.Parallel()
	etcd := etcdtest.Start(t)
	ns := natstest.Start(t)
	dir := t.TempDir()
	keyring := filepath.Join(dir, "keyring.json")
	if err := os.WriteFile(keyring, []byte(`{"primary":"k1","keys":{"k1":"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(dir, "token")
	cpArgs := func(addr string) []string {
		return []string{"controlplane", "--etcd-endpoints", etcd.Endpoint, "--nats-url", ns.ClientURL(),
			"--listen-addr", addr, "--keyring-file", keyring, "--bootstrap-token-file", tokenFile,
			"--public-url", "http://edge.example"}
	}
	// Per-role node tokens, from the environment as operators pass them.
	cpEnv := []string{"HOOKGATE_EDGE_TOKEN=hgn_edge-secret", "HOOKGATE_DISPATCHER_TOKEN=hgn_dispatcher-secret"}
	cp := start(t, dir, cpEnv, cpArgs("127.0.0.1:0")...)
	admin := addrFromLog(t, cp, "admin")
	edge := start(t, dir, []string{"HOOKGATE_NODE_TOKEN=hgn_edge-secret"}, "edge", "--control-plane", admin, "--nats-url", ns.ClientURL(),
		"--listen-addr", "127.0.0.1:0", "--ops-addr", "127.0.0.1:0", "--node-id", "edge-1")
	ingress := addrFromLog(t, edge, "ingress")
	ops := addrFromLog(t, edge, "ops")
	poll.Until(t, 10*time.Second, "edge ready", func() bool { code, _ := get(t, ingress+"/readyz"); return code == 200 })

	token, _ := os.ReadFile(tokenFile)
	env := []string{"HOOKGATE_SERVER=" + admin, "HOOKGATE_TOKEN=" + strings.TrimSpace(string(token))}
	mustRun(t, dir, env, "tenants", "create", "acme")
	out := mustRun(t, dir, env, "webhooks", "create", "--tenant", "acme", "--name", "orders", "--process", "orders")
	id, key := idLine.FindStringSubmatch(out)[1], keyLine.FindStringSubmatch(out)[1]
	url := ingress + "/in/acme/" + id

	// Created: accepted without restarting anything.
	eventually(t, url+"?key="+key, 200)
	if code := post(t, url+"?key=hgk_wrong", `{}`); code != 401 {
		t.Fatalf("wrong key: %d", code)
	}
	// Deactivated: 410; activated again: 200 with the same key.
	mustRun(t, dir, env, "webhooks", "deactivate", id, "--tenant", "acme")
	eventually(t, url+"?key="+key, 410)
	mustRun(t, dir, env, "webhooks", "activate", id, "--tenant", "acme")
	eventually(t, url+"?key="+key, 200)
	// Rotated with no grace: the new key works, the old one stops.
	out = mustRun(t, dir, env, "webhooks", "rotate-key", id, "--tenant", "acme", "--grace", "0")
	newKey := keyLine.FindStringSubmatch(out)[1]
	eventually(t, url+"?key="+newKey, 200)
	if code := post(t, url+"?key="+key, `{}`); code != 401 {
		t.Fatalf("old key after rotation without grace: %d, want 401", code)
	}

	// The fleet view lists the edge.
	out = mustRun(t, dir, env, "nodes")
	if !strings.Contains(out, "edge-1") || !strings.Contains(out, "EDGE") {
		t.Fatalf("hookgate nodes:\n%s", out)
	}

	// Kill the control plane: the edge keeps serving its last configuration
	// and stays ready; its ops port says the configuration is stale.
	_ = cp.cmd.Process.Signal(syscall.SIGKILL)
	_ = cp.wait(t, 10*time.Second)
	poll.Until(t, 10*time.Second, "stale config on the ops /readyz", func() bool {
		code, body := get(t, ops+"/readyz")
		return code == 200 && strings.Contains(body, "stale config")
	})
	if code, body := get(t, ingress+"/readyz"); code != 200 {
		t.Fatalf("public /readyz without control plane = %d %q, want 200", code, body)
	}
	for range 5 {
		if code := post(t, url+"?key="+newKey, `{"during":"outage"}`); code != 200 {
			t.Fatalf("edge without control plane: %d, want 200", code)
		}
	}

	// The control plane returns on the same address; the edge reconnects
	// and sees changes made since.
	cp2 := start(t, dir, cpEnv, cpArgs(strings.TrimPrefix(admin, "http://"))...)
	addrFromLog(t, cp2, "admin")
	mustRun(t, dir, env, "webhooks", "delete", id, "--tenant", "acme")
	eventually(t, url+"?key="+newKey, 404)
	poll.Until(t, 15*time.Second, "fresh config on /readyz", func() bool {
		_, body := get(t, ingress+"/readyz")
		return !strings.Contains(body, "stale config")
	})
	if err := edge.stop(t); err != nil {
		t.Fatalf("edge exit after SIGTERM: %v", err)
	}
	if err := cp2.stop(t); err != nil {
		t.Fatalf("control plane exit after SIGTERM: %v", err)
	}
}
