package e2e

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/testkit/etcdtest"
	"github.com/hookgate/hookgate/testkit/natstest"
	"github.com/hookgate/hookgate/testkit/poll"
)

// postRead POSTs body to url and returns the status and the answer.
func postRead(t *testing.T, url, body string) (int, string) {
	t.Helper()
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

// TestShardedEdges runs one control plane and two edges with different
// shards as separate processes: each serves only its tenants and answers
// the other's 421 (inbound, SendMessage over REST and Connect), `hookgate
// nodes` shows the shards, and an edge restarted with another shard and
// its old cache file serves the new slice and drops the old.
func TestShardedEdges(t *testing.T) {
	t.Parallel()
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
		"--listen-addr", "127.0.0.1:0", "--keyring-file", keyring, "--bootstrap-token-file", tokenFile)
	admin := addrFromLog(t, cp, "admin")
	cache := filepath.Join(dir, "edge-a.cache")
	edgeArgs := func(id string, shard ...string) []string {
		return append([]string{"edge", "--control-plane", admin, "--nats-url", ns.ClientURL(),
			"--listen-addr", "127.0.0.1:0", "--ops-addr", "127.0.0.1:0", "--node-id", id}, shard...)
	}
	nodeEnv := []string{"HOOKGATE_NODE_TOKEN=hgn_edge-secret"}
	// acme is in shard 3 of 4; globex and hooli in shard 1 (TenantShard).
	edgeA := start(t, dir, nodeEnv, edgeArgs("edge-a", "--shard-tenants", "acme", "--config-cache-file", cache)...)
	edgeB := start(t, dir, nodeEnv, edgeArgs("edge-b", "--shard", "1/4")...)
	a, aOps := addrFromLog(t, edgeA, "ingress"), addrFromLog(t, edgeA, "ops")
	b := addrFromLog(t, edgeB, "ingress")

	token, _ := os.ReadFile(tokenFile)
	env := []string{"HOOKGATE_SERVER=" + admin, "HOOKGATE_TOKEN=" + strings.TrimSpace(string(token))}
	hooks := map[string]string{} // tenant → URL path with key
	for _, tenant := range []string{"acme", "globex"} {
		mustRun(t, dir, env, "tenants", "create", tenant)
		out := mustRun(t, dir, env, "webhooks", "create", "--tenant", tenant, "--name", "orders", "--process", "orders")
		hooks[tenant] = "/in/" + tenant + "/" + idLine.FindStringSubmatch(out)[1] + "?key=" + keyLine.FindStringSubmatch(out)[1]
	}

	// Each edge serves its tenant; the other's is misdirected, with the
	// reason and not the edge's tenants.
	eventually(t, a+hooks["acme"], 200)
	eventually(t, b+hooks["globex"], 200)
	for _, c := range []struct{ edge, tenant string }{{a, "globex"}, {b, "acme"}} {
		code, body := postRead(t, c.edge+hooks[c.tenant], `{"n":1}`)
		if code != http.StatusMisdirectedRequest || !strings.Contains(body, "misdirected request: this edge does not serve the tenant") {
			t.Fatalf("%s on the other shard's edge: %d %s, want 421 misdirected", c.tenant, code, body)
		}
		if strings.Contains(body, "acme") || strings.Contains(body, "globex") {
			t.Errorf("the 421 names tenants: %s", body)
		}
	}
	// SendMessage for another shard's tenant: REST (tenant in the path) and
	// Connect through the CLI (Hookgate-Tenant) are 421 too.
	code, body := postRead(t, a+"/v1/tenants/globex/apps/app_x/messages", `{"eventType":"order.created","payload":{}}`)
	if code != http.StatusMisdirectedRequest || !strings.Contains(body, "misdirected request") {
		t.Fatalf("REST SendMessage for globex on edge-a: %d %s, want 421", code, body)
	}
	mustFail(t, dir, env, []string{"misdirected request"}, "messages", "send", "--tenant", "globex", "--app", "app_x",
		"--event-type", "order.created", "--payload", "{}", "--edge", a)
	poll.Until(t, 10*time.Second, "misdirected calls in edge-a's metrics", func() bool {
		_, m := get(t, aOps+"/metrics")
		return strings.Contains(m, `hookgate_edge_requests_total{code="421",outcome="misdirected"} 1`) &&
			strings.Contains(m, "hookgate_edge_messages_misdirected_total 2")
	})

	// The fleet view shows each edge's shard.
	var out string
	poll.Until(t, 10*time.Second, "both edges with their shards in hookgate nodes", func() bool {
		out = mustRun(t, dir, env, "nodes")
		return regexp.MustCompile(`(?m)^edge-a\s+EDGE\s+\S+\s+acme\s`).MatchString(out) &&
			regexp.MustCompile(`(?m)^edge-b\s+EDGE\s+\S+\s+1/4\s`).MatchString(out)
	})
	t.Logf("hookgate nodes:\n%s", out)

	// edge-a comes back serving globex with the cache file it wrote for
	// acme: the cache is dropped, acme is misdirected, globex served.
	poll.Until(t, 30*time.Second, "edge-a's cache file", func() bool { _, err := os.Stat(cache); return err == nil })
	if err := edgeA.stop(t); err != nil {
		t.Fatalf("edge-a: %v", err)
	}
	edgeA = start(t, dir, nodeEnv, edgeArgs("edge-a", "--shard-tenants", "globex", "--config-cache-file", cache)...)
	a = addrFromLog(t, edgeA, "ingress")
	eventually(t, a+hooks["globex"], 200)
	if code, body := postRead(t, a+hooks["acme"], `{}`); code != http.StatusMisdirectedRequest {
		t.Fatalf("acme after edge-a moved to globex: %d %s, want 421", code, body)
	}
	if !strings.Contains(edgeA.stderr.String(), "config cache was written for another shard") {
		t.Errorf("edge-a did not say it dropped the other shard's cache:\n%s", edgeA.stderr)
	}
	poll.Until(t, 10*time.Second, "edge-a's new shard in hookgate nodes", func() bool {
		return regexp.MustCompile(`(?m)^edge-a\s+EDGE\s+\S+\s+globex\s`).MatchString(mustRun(t, dir, env, "nodes"))
	})

	// Bad flags fail start-up naming the flag.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--shard", "4/4"}, `flag --shard "4/4"`},
		{[]string{"--shard", "x"}, `flag --shard "x"`},
		{[]string{"--shard-tenants", "Acme"}, "flag --shard-tenants"},
		{[]string{"--shard", "0/2", "--shard-tenants", "acme"}, "give one or neither"},
	} {
		p := start(t, dir, nodeEnv, edgeArgs("edge-bad", tc.args...)...)
		if err := p.wait(t, 30*time.Second); err == nil || !strings.Contains(p.stderr.String(), tc.want) {
			t.Errorf("edge %v: exit %v, stderr %q; want a failure naming %q", tc.args, err, p.stderr, tc.want)
		}
	}
}
