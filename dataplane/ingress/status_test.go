package ingress_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/dataplane/streams"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/testkit/poll"
)

// TestStatusTable walks every row of DESIGN.md's status table but 503,
// which TestJetStreamDown covers.
func TestStatusTable(t *testing.T) {
	t.Parallel()
	e := newEdgeEnv(t)
	e.hook("wh_live")
	gone := e.hook("wh_gone")
	gone.Active = false
	e.routes.put(gone)
	limited := e.hook("wh_limited")
	limited.RateLimit = &hookgatev1.RateLimit{RequestsPerSecond: 1, Burst: 1}
	e.routes.put(limited)
	e.hook("wh_resume", &hookgatev1.Binding{ProcessId: "chat", ThreadId: "main",
		Trigger: hookgatev1.Trigger_TRIGGER_RESUME_PROCESS, CorrelationPath: "entry[0].id"})

	bearer := map[string]string{"Authorization": "Bearer " + key1}
	tests := []struct {
		name   string
		call   call
		status int
		reason string
	}{
		{"accepted with query key", call{path: "/in/acme/wh_live?key=" + key1, body: `{"a":1}`}, 200, ""},
		{"accepted with bearer", call{path: "/in/acme/wh_live", body: `{"a":2}`, headers: bearer}, 200, ""},
		{"accepted with header key", call{path: "/in/acme/wh_live", body: `{}`, headers: map[string]string{"X-Hookgate-Key": key1}}, 200, ""},
		{"previous key in grace", call{path: "/in/acme/wh_live?key=" + key0, body: `{}`}, 200, ""},
		{"bad JSON", call{path: "/in/acme/wh_live?key=" + key1, body: `{"a":`}, 400, "invalid_json"},
		{"empty JSON", call{path: "/in/acme/wh_live?key=" + key1, body: ``}, 400, "invalid_json"},
		{"uncorrelated", call{path: "/in/acme/wh_resume?key=" + key1, body: `{"entry":[]}`}, 400, "uncorrelated"},
		{"null correlation", call{path: "/in/acme/wh_resume?key=" + key1, body: `{"entry":[{"id":null}]}`}, 400, "uncorrelated"},
		{"no key", call{path: "/in/acme/wh_live", body: `{}`}, 401, "bad_key"},
		{"wrong key", call{path: "/in/acme/wh_live?key=hgk_wrong", body: `{}`}, 401, "bad_key"},
		{"key of another webhook's form", call{path: "/in/acme/wh_live", body: `{}`, headers: map[string]string{"Authorization": "Basic " + key1}}, 401, "bad_key"},
		{"unknown webhook", call{path: "/in/acme/wh_nope?key=" + key1, body: `{}`}, 404, ""},
		{"unknown tenant", call{path: "/in/globex/wh_live?key=" + key1, body: `{}`}, 404, ""},
		{"bad path", call{path: "/in/acme/wh_live/extra", body: `{}`}, 404, ""},
		{"deactivated", call{path: "/in/acme/wh_gone?key=" + key1, body: `{}`}, 410, ""},
		{"declared too large", call{path: "/in/acme/wh_live?key=" + key1, body: `"` + strings.Repeat("x", 2000) + `"`}, 413, "too_large"},
		{"wrong method", call{method: "PUT", path: "/in/acme/wh_live?key=" + key1}, 405, ""},
		{"rate limit first", call{path: "/in/acme/wh_limited?key=" + key1, body: `{}`}, 200, ""},
		{"rate limit exceeded", call{path: "/in/acme/wh_limited?key=" + key1, body: `{}`}, 429, "rate_limited"},
	}
	for _, tt := range tests {
		status, hdr, body := e.do(t, tt.call)
		if status != tt.status {
			t.Errorf("%s: status %d %v, want %d", tt.name, status, body, tt.status)
			continue
		}
		if status == 200 && !strings.HasPrefix(body["eventId"], "evt_") {
			t.Errorf("%s: answer %v has no eventId", tt.name, body)
		}
		if status != 200 && body["error"] == "" {
			t.Errorf("%s: answer %v has no error text", tt.name, body)
		}
		if status == 429 && hdr.Get("Retry-After") != "1" {
			t.Errorf("%s: Retry-After %q", tt.name, hdr.Get("Retry-After"))
		}
	}

	// The expired previous key stops working once the clock passes it.
	e.advance(2 * time.Hour)
	if status, _, _ := e.do(t, call{path: "/in/acme/wh_live?key=" + key0, body: `{}`}); status != 401 {
		t.Fatalf("expired previous key: %d, want 401", status)
	}

	// Failed triggers were recorded for the rejections after routing, with
	// no key anywhere in them.
	var fts []*hookgatev1.FailedTrigger
	poll.Until(t, 5*time.Second, "failed triggers", func() bool {
		fts = e.failures(t, "wh_live")
		return len(fts) >= 7
	})
	got := map[string]int{}
	for _, ft := range fts {
		got[ft.Reason]++
		raw, _ := json.Marshal(ft)
		if strings.Contains(string(raw), key1[4:]) || strings.Contains(string(raw), key0[4:]) {
			t.Fatalf("failed trigger holds a key: %s", raw)
		}
		if ft.Time == nil || ft.RemoteAddress == "" || ft.StatusCode == 0 {
			t.Fatalf("failed trigger lacks fields: %v", ft)
		}
		if v := ft.Headers["Authorization"]; v != nil && v.Values[0].GetStringValue() != "REDACTED" {
			t.Fatalf("Authorization not redacted: %v", v)
		}
	}
	for _, ft := range fts {
		// An unauthenticated call's body was never read for processing; its
		// start is still kept.
		if ft.Reason == "bad_key" && (string(ft.Body) != "{}" || ft.BodySize != 2) {
			t.Fatalf("bad_key record body %q size %d, want {} and 2", ft.Body, ft.BodySize)
		}
	}
	for reason, n := range map[string]int{"invalid_json": 2, "bad_key": 4, "too_large": 1} {
		if got[reason] != n {
			t.Errorf("failed triggers %v, want %d %s", got, n, reason)
		}
	}
	if len(e.messages(t, streams.Inbound, "hookgate.in.acme.chat.resume")) != 0 {
		t.Fatal("an uncorrelated call published something")
	}
	if n := len(e.messages(t, streams.Inbound, "hookgate.in.acme.orders.start")); n != 5 {
		t.Fatalf("%d events on orders.start, want 5 (4 accepted on wh_live, 1 on wh_limited)", n)
	}
}
