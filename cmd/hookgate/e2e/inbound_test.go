package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/testkit/poll"
)

// TestInboundThroughDev sends webhooks to the edge of `hookgate dev` and
// watches them arrive with `hookgate events tail`; rejected calls show up
// in `hookgate webhooks failures`, outcomes in the edge's metrics.
func TestInboundThroughDev(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	d := startDev(t, dir)
	env := []string{"HOOKGATE_SERVER=" + d.admin}
	mustRun(t, dir, env, "tenants", "create", "acme")
	out := mustRun(t, dir, env, "webhooks", "create", "--tenant", "acme", "--name", "whatsapp", "--process", "orders",
		"--binding", "process=chat,trigger=resume,path=entry[0].changes[0].value.messages[0].from")
	id, key := idLine.FindStringSubmatch(out)[1], keyLine.FindStringSubmatch(out)[1]
	url := d.edge + "/in/acme/" + id + "?key=" + key

	tail := start(t, dir, nil, "events", "tail", "--tenant", "acme", "--nats-url", d.nats)
	poll.Until(t, 10*time.Second, "tail to start", func() bool { return strings.Contains(tail.stderr.String(), "tailing") })

	body := `{"entry":[{"changes":[{"value":{"messages":[{"from":"+4915112345678"}]}}]}]}`
	// The webhook reaches the edge through the config stream.
	poll.Until(t, 10*time.Second, "the edge to accept", func() bool { return post(t, url, body) == 200 })
	var envs []map[string]any
	poll.Until(t, 10*time.Second, "envelopes in the tail", func() bool {
		envs = envs[:0]
		for _, line := range strings.Split(strings.TrimSpace(tail.stdout.String()), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) == nil {
				envs = append(envs, m)
			}
		}
		return len(envs) >= 2 // one per binding
	})
	var resumed bool
	for _, e := range envs {
		if strings.Contains(tail.stdout.String(), key) {
			t.Fatal("the API key reached a published envelope")
		}
		if e["trigger"] == "RESUME_PROCESS" && e["correlationKey"] == "+4915112345678" && e["processId"] == "chat" {
			resumed = true
		}
	}
	if !resumed {
		t.Fatalf("no resume envelope with the correlation key in:\n%s", tail.stdout)
	}

	// HTTP/2 without TLS (h2c) reaches the same edge.
	h2c := &http.Transport{Protocols: new(http.Protocols)}
	h2c.Protocols.SetUnencryptedHTTP2(true)
	resp, err := (&http.Client{Transport: h2c, Timeout: 10 * time.Second}).Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("h2c POST: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.ProtoMajor != 2 {
		t.Fatalf("h2c POST: %d over %s", resp.StatusCode, resp.Proto)
	}
	// Oversized headers are refused before any handler runs.
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("X-Padding", strings.Repeat("p", 64<<10))
	resp, err = (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("big headers: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("64 KiB of headers: %d, want 431", resp.StatusCode)
	}

	// A path the mux would clean is a 404, never a redirect that echoes
	// the key in Location.
	noRedirect := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = noRedirect.Post(d.edge+"/in/acme/../acme/"+id+"?key="+key, "application/json", strings.NewReader(`{"unclean":1}`))
	if err != nil {
		t.Fatalf("POST unclean path: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 || resp.Header.Get("Location") != "" {
		t.Fatalf("unclean path: %d, Location %q; want 404 and no Location", resp.StatusCode, resp.Header.Get("Location"))
	}
	// The key in a second Authorization value authenticates and is
	// stripped, whatever its position; the first (Basic) is forwarded.
	req, _ = http.NewRequest(http.MethodPost, d.edge+"/in/acme/"+id, strings.NewReader(`{"entry":[{"changes":[{"value":{"messages":[{"from":"basic-then-bearer"}]}}]}]}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Add("Authorization", "Basic dXNlcjpwYXNz")
	req.Header.Add("Authorization", "Bearer "+key)
	resp, err = noRedirect.Do(req)
	if err != nil {
		t.Fatalf("POST with two Authorization values: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("Basic then Bearer key: %d, want 200", resp.StatusCode)
	}
	poll.Until(t, 10*time.Second, "the Basic-then-Bearer event in the tail", func() bool {
		return strings.Contains(tail.stdout.String(), "basic-then-bearer")
	})
	if strings.Contains(tail.stdout.String(), key) {
		t.Fatal("the API key from a second Authorization value reached an envelope")
	}

	// Rejected calls are failed triggers.
	if code := post(t, d.edge+"/in/acme/"+id+"?key=hgk_wrong", `{"x":1}`); code != 401 {
		t.Fatalf("wrong key: %d", code)
	}
	if code := post(t, url, `{"not json`); code != 400 {
		t.Fatalf("bad JSON: %d", code)
	}
	poll.Until(t, 10*time.Second, "failed triggers", func() bool {
		out := mustRun(t, dir, env, "webhooks", "failures", id, "--tenant", "acme")
		return strings.Contains(out, "bad_key") && strings.Contains(out, "invalid_json")
	})

	_, metrics := get(t, d.ops+"/metrics")
	if !strings.Contains(metrics, `hookgate_edge_requests_total{code="200",outcome="accepted"}`) ||
		!strings.Contains(metrics, `hookgate_edge_requests_total{code="401",outcome="bad_key"} 1`) {
		t.Fatalf("edge metrics missing outcomes:\n%s", grepLines(metrics, "hookgate_edge_requests_total"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
