package ingress_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/dataplane/ingress"
	"github.com/hookgate/hookgate/dataplane/streams"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/testkit/poll"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// metric reads a gauge or counter of the edge's registry; label selects
// the series with that outcome label ("" for none).
func (e *edgeEnv) metric(t *testing.T, name, outcome string) float64 {
	t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			match := outcome == ""
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" && l.GetValue() == outcome {
					match = true
				}
			}
			if !match {
				continue
			}
			if g := m.GetGauge(); g != nil {
				return g.GetValue()
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

// TestLostAck: the publish reaches a responder that never acknowledges (a
// plain subscriber on a subject no stream captures). The call is 503 and
// the pending publish is dropped once the async timeout passes.
func TestLostAck(t *testing.T) {
	t.Parallel()
	e := newEdgeEnvWith(t, envOptions{inboundSubjects: []string{"hookgate.in.acme.kept.>"}})
	e.hook("wh_lost", &hookgatev1.Binding{ProcessId: "lost", Trigger: hookgatev1.Trigger_TRIGGER_START_PROCESS})
	got := make(chan struct{}, 1)
	sub, err := e.nc.Subscribe("hookgate.in.acme.lost.start", func(*nats.Msg) {
		select {
		case got <- struct{}{}:
		default:
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := e.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	status, hdr, ans := e.do(t, call{path: "/in/acme/wh_lost?key=" + key1, body: `{}`})
	if status != 503 || hdr.Get("Retry-After") == "" {
		t.Fatalf("lost ack: %d %v Retry-After %q, want 503", status, ans, hdr.Get("Retry-After"))
	}
	select {
	case <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("the publish never reached the silent subscriber")
	}
	poll.Until(t, 10*time.Second, "pending publishes back to 0", func() bool {
		return ingress.PendingPublishes(e.edge) == 0
	})
}

// TestInflightBudget: a held call keeps its bytes in the budget; a call
// that would exceed it is 503 with Retry-After; the budget empties after.
func TestInflightBudget(t *testing.T) {
	t.Parallel()
	e := newEdgeEnvWith(t, envOptions{config: func(c *ingress.Config) {
		c.MaxPayload = 64 << 10
		c.MaxInflightBytes = 256 << 10
	}})
	hold := e.hook("wh_hold")
	hold.MaxBodyBytes = 100 << 10
	e.routes.put(hold)
	big := e.hook("wh_big")
	big.MaxBodyBytes = 512 << 10
	e.routes.put(big)

	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, e.url+"/in/acme/wh_hold?key="+key1, pr)
		req.Header.Set("Content-Type", "text/plain")
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	const held = 40000
	if _, err := pw.Write([]byte(strings.Repeat("h", held))); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 5*time.Second, "held body in the budget", func() bool {
		return e.metric(t, "hookgate_edge_inflight_bytes", "") == held
	})
	status, hdr, ans := e.do(t, call{path: "/in/acme/wh_big?key=" + key1, body: strings.Repeat("b", 230000),
		headers: map[string]string{"Content-Type": "text/plain"}})
	if status != 503 || hdr.Get("Retry-After") == "" {
		t.Fatalf("over budget: %d %v Retry-After %q, want 503", status, ans, hdr.Get("Retry-After"))
	}
	if n := e.metric(t, "hookgate_edge_requests_total", "over_budget"); n != 1 {
		t.Fatalf("over_budget counted %v times, want 1", n)
	}
	pw.Close()
	if code := <-done; code != 200 {
		t.Fatalf("held call: %d, want 200", code)
	}
	if n := e.metric(t, "hookgate_edge_inflight_bytes", ""); n != 0 {
		t.Fatalf("%v bytes still in flight", n)
	}
	if n := len(e.messages(t, streams.Inbound, "hookgate.in.acme.orders.start")); n != 1 {
		t.Fatalf("%d events, want 1 (the held call's)", n)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(*ingress.Config)
		ok     bool
	}{
		{"defaults", func(*ingress.Config) {}, true},
		{"budget below max payload", func(c *ingress.Config) { c.MaxInflightBytes = c.MaxPayload - 1 }, false},
		{"no pending publishes", func(c *ingress.Config) { c.MaxPendingPublishes = 0 }, false},
		{"no failures threshold", func(c *ingress.Config) { c.UnreadyAfterFailures = 0 }, false},
		{"no unready time", func(c *ingress.Config) { c.UnreadyFor = 0 }, false},
		{"no publish timeout", func(c *ingress.Config) { c.PublishTimeout = 0 }, false},
	}
	for _, tt := range tests {
		c := ingress.DefaultConfig()
		tt.change(&c)
		if err := c.Validate(); (err == nil) != tt.ok {
			t.Errorf("%s: Validate() = %v", tt.name, err)
		}
	}
}

// TestCorrelationKeyCap: a key over 1 KiB would fail every publish as a
// NATS header; it is a 400, recorded, and nothing is published.
func TestCorrelationKeyCap(t *testing.T) {
	t.Parallel()
	e := newEdgeEnv(t)
	w := e.hook("wh_corr", &hookgatev1.Binding{ProcessId: "chat", Trigger: hookgatev1.Trigger_TRIGGER_RESUME_PROCESS, CorrelationPath: "id"})
	w.MaxBodyBytes = 200000
	e.routes.put(w)
	tests := []struct {
		name   string
		key    string
		status int
	}{
		{"at the cap", strings.Repeat("k", 1024), 200},
		{"one over", strings.Repeat("k", 1025), 400},
		{"100,000 characters", strings.Repeat("k", 100000), 400},
	}
	for _, tt := range tests {
		status, _, ans := e.do(t, call{path: "/in/acme/wh_corr?key=" + key1, body: `{"id":"` + tt.key + `"}`})
		if status != tt.status {
			t.Errorf("%s: %d %v, want %d", tt.name, status, ans, tt.status)
		}
	}
	if n := len(e.messages(t, streams.Inbound, "hookgate.in.acme.chat.resume")); n != 1 {
		t.Fatalf("%d events, want 1", n)
	}
	var fts []*hookgatev1.FailedTrigger
	poll.Until(t, 5*time.Second, "failed triggers", func() bool {
		fts = e.failures(t, "wh_corr")
		return len(fts) == 2
	})
	for _, ft := range fts {
		if ft.Reason != "correlation_too_long" || ft.StatusCode != 400 {
			t.Fatalf("failed trigger %s %d, want correlation_too_long 400", ft.Reason, ft.StatusCode)
		}
	}
}

// TestDedupWithoutDeliveryID: with no provider delivery id, the same call
// within the duplicate window is one event with one id per binding.
func TestDedupWithoutDeliveryID(t *testing.T) {
	t.Parallel()
	e := newEdgeEnv(t)
	e.hook("wh_same")
	var ids []string
	for range 2 {
		status, _, ans := e.do(t, call{path: "/in/acme/wh_same?key=" + key1, body: `{"order":"o-1"}`})
		if status != 200 {
			t.Fatalf("status %d %v", status, ans)
		}
		ids = append(ids, ans["eventId"])
	}
	if ids[0] != ids[1] {
		t.Fatalf("the same call got events %s and %s", ids[0], ids[1])
	}
	if n := len(e.messages(t, streams.Inbound, "hookgate.in.acme.orders.start")); n != 1 {
		t.Fatalf("%d messages for one call sent twice, want 1", n)
	}
	// Another key (the previous one in its grace period) is another sender.
	if _, _, ans := e.do(t, call{path: "/in/acme/wh_same?key=" + key0, body: `{"order":"o-1"}`}); ans["eventId"] == ids[0] {
		t.Fatal("a call with another key got the same event id")
	}
}

// TestPartialPublishRetry: binding 2's subject has no stream, so the call
// is 503 after binding 1 was stored; once fixed, the sender's retry stores
// binding 2 and binding 1 is not stored twice.
func TestPartialPublishRetry(t *testing.T) {
	t.Parallel()
	e := newEdgeEnvWith(t, envOptions{inboundSubjects: []string{"hookgate.in.acme.orders.>"}})
	e.hook("wh_two",
		&hookgatev1.Binding{ProcessId: "orders", Trigger: hookgatev1.Trigger_TRIGGER_START_PROCESS},
		&hookgatev1.Binding{ProcessId: "billing", Trigger: hookgatev1.Trigger_TRIGGER_START_PROCESS})
	c := call{path: "/in/acme/wh_two?key=" + key1, body: `{"order":"o-2"}`}
	if status, _, ans := e.do(t, c); status != 503 {
		t.Fatalf("partial failure: %d %v, want 503", status, ans)
	}
	if n := len(e.messages(t, streams.Inbound, "hookgate.in.acme.orders.start")); n != 1 {
		t.Fatalf("binding 1 stored %d times before the retry, want 1", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cfg := streams.DefaultConfig().InboundConfig()
	if _, err := e.js.UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	status, _, ans := e.do(t, c)
	if status != 200 {
		t.Fatalf("retry: %d %v", status, ans)
	}
	orders := e.messages(t, streams.Inbound, "hookgate.in.acme.orders.start")
	billing := e.messages(t, streams.Inbound, "hookgate.in.acme.billing.start")
	if len(orders) != 1 || len(billing) != 1 {
		t.Fatalf("after the retry: %d orders, %d billing messages, want 1 each", len(orders), len(billing))
	}
	for _, m := range []jetstream.Msg{orders[0], billing[0]} {
		if got := m.Headers().Get("Hookgate-Event-Id"); got != ans["eventId"] {
			t.Fatalf("message of event %s, answer %s", got, ans["eventId"])
		}
	}
}

// TestRetryAfterClamped: whatever the rate limit, Retry-After stays in
// [1, 3600] seconds and the limiter is usable.
func TestRetryAfterClamped(t *testing.T) {
	t.Parallel()
	e := newEdgeEnv(t)
	tests := []struct {
		name       string
		rps        float64
		burst      int32
		calls      int
		retryAfter string
	}{
		{"tiny rate", 1e-300, 0, 2, "3600"},
		{"tiny rate with burst", 1e-300, 2, 3, "3600"},
		{"huge rate", 1e300, 0, 1, ""},
		{"one a second", 1, 1, 2, "1"},
		{"negative rate is no limit", -5, 0, 3, ""},
	}
	for i, tt := range tests {
		id := "wh_rate" + string(rune('a'+i))
		w := e.hook(id)
		w.RateLimit = &hookgatev1.RateLimit{RequestsPerSecond: tt.rps, Burst: tt.burst}
		e.routes.put(w)
		var status int
		var hdr http.Header
		for n := range tt.calls {
			status, hdr, _ = e.do(t, call{path: "/in/acme/" + id + "?key=" + key1, body: `{"n":` + string(rune('1'+n)) + `}`})
		}
		want := 200
		if tt.retryAfter != "" {
			want = 429
		}
		if status != want || hdr.Get("Retry-After") != tt.retryAfter {
			t.Errorf("%s: last call %d Retry-After %q, want %d %q", tt.name, status, hdr.Get("Retry-After"), want, tt.retryAfter)
		}
	}
}

// TestReadiness: /readyz on the public port reflects the configuration and
// recent publish outcomes, read from memory: a probe sends nothing to NATS.
func TestReadiness(t *testing.T) {
	t.Parallel()
	e := newEdgeEnv(t)
	e.hook("wh_ready")
	probe := func() int {
		t.Helper()
		resp, err := http.Get(e.url + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := probe(); got != 200 {
		t.Fatalf("ready edge: %d", got)
	}
	e.routes.mu.Lock()
	e.routes.ready = false
	e.routes.mu.Unlock()
	if got := probe(); got != 503 {
		t.Fatalf("edge without configuration: %d, want 503", got)
	}
	e.routes.mu.Lock()
	e.routes.ready = true
	e.routes.mu.Unlock()

	// Publishes fail (the stream is gone, as on a broken store).
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.js.DeleteStream(ctx, streams.Inbound); err != nil {
		t.Fatal(err)
	}
	for n := range ingress.DefaultConfig().UnreadyAfterFailures {
		if got := probe(); got != 200 {
			t.Fatalf("after %d failures: %d, want 200", n, got)
		}
		if status, _, _ := e.do(t, call{path: "/in/acme/wh_ready?key=" + key1, body: `{"n":` + string(rune('1'+n)) + `}`}); status != 503 {
			t.Fatalf("publish without a stream: %d", status)
		}
	}
	before := e.nc.Stats()
	for range 5 {
		if got := probe(); got != 503 {
			t.Fatalf("after failing publishes: %d, want 503", got)
		}
	}
	if after := e.nc.Stats(); after.OutMsgs != before.OutMsgs || after.OutBytes != before.OutBytes {
		t.Fatalf("probes sent %d NATS messages", after.OutMsgs-before.OutMsgs)
	}
	if ok, why := e.edge.Ready(); ok || why == "" {
		t.Fatalf("Ready() = %v, %q", ok, why)
	}
	// After UnreadyFor the edge offers itself again, and a success clears
	// the failures.
	e.advance(ingress.DefaultConfig().UnreadyFor)
	if got := probe(); got != 200 {
		t.Fatalf("after the unready period: %d, want 200", got)
	}
	if _, err := streams.Ensure(ctx, e.js, streams.DefaultConfig().InboundConfig()); err != nil {
		t.Fatal(err)
	}
	if status, _, ans := e.do(t, call{path: "/in/acme/wh_ready?key=" + key1, body: `{"ok":1}`}); status != 200 {
		t.Fatalf("with the stream back: %d %v", status, ans)
	}
	if ok, _ := e.edge.Ready(); !ok {
		t.Fatal("not ready after a successful publish")
	}
}
