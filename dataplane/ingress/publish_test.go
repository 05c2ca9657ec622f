package ingress_test

import (
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/dataplane/streams"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

func decode(t *testing.T, data []byte) *hookgatev1.InboundEnvelope {
	t.Helper()
	env := &hookgatev1.InboundEnvelope{}
	if err := protojson.Unmarshal(data, env); err != nil {
		t.Fatalf("envelope is not the proto's JSON: %v\n%s", err, data)
	}
	return env
}

func TestFanOutAndNestedCorrelation(t *testing.T) {
	t.Parallel()
	e := newEdgeEnv(t)
	e.hook("wh_fan",
		&hookgatev1.Binding{ProcessId: "orders", ThreadId: "main", Trigger: hookgatev1.Trigger_TRIGGER_START_PROCESS},
		&hookgatev1.Binding{ProcessId: "chat", ThreadId: "t2", Trigger: hookgatev1.Trigger_TRIGGER_RESUME_PROCESS,
			CorrelationPath: "entry[0].changes[0].value.messages[0].text.body"},
	)
	body := `{"entry":[{"changes":[{"value":{"messages":[{"text":{"body":"ORD-12345"}}]}}]}],"n":1.50}`
	status, _, ans := e.do(t, call{path: "/in/acme/wh_fan", body: body, headers: map[string]string{
		"X-Hookgate-Key": key1, "X-Request-Id": "req-1", "X-Custom": "a"}})
	if status != 200 {
		t.Fatalf("status %d %v", status, ans)
	}
	start := e.messages(t, streams.Inbound, "hookgate.in.acme.orders.start")
	resume := e.messages(t, streams.Inbound, "hookgate.in.acme.chat.resume")
	if len(start) != 1 || len(resume) != 1 {
		t.Fatalf("published %d start, %d resume; want 1 each", len(start), len(resume))
	}
	for _, m := range append(start, resume...) {
		if strings.Contains(string(m.Data()), key1) || strings.Contains(m.Headers().Get("X-Hookgate-Key"), key1) {
			t.Fatal("the API key reached a published message")
		}
		h := m.Headers()
		if h.Get("Hookgate-Tenant") != "acme" || h.Get("Hookgate-Webhook-Id") != "wh_fan" || h.Get("Hookgate-Event-Id") != ans["eventId"] || h.Get("Nats-Msg-Id") == "" {
			t.Fatalf("NATS headers %v", h)
		}
	}
	if resume[0].Headers().Get("Hookgate-Correlation-Key") != "ORD-12345" {
		t.Fatalf("correlation header %q", resume[0].Headers().Get("Hookgate-Correlation-Key"))
	}
	s, r := decode(t, start[0].Data()), decode(t, resume[0].Data())
	if s.Id != ans["eventId"] || s.Tenant != "acme" || s.WebhookId != "wh_fan" || s.Provider != "GENERIC" ||
		s.ProcessId != "orders" || s.ThreadId != "main" || s.Trigger != "START_PROCESS" || s.CorrelationKey != nil || s.ConfigVersion == 0 {
		t.Fatalf("start envelope %v", s)
	}
	if r.ProcessId != "chat" || r.ThreadId != "t2" || r.Trigger != "RESUME_PROCESS" || r.GetCorrelationKey() != "ORD-12345" {
		t.Fatalf("resume envelope %v", r)
	}
	// The payload is the body verbatim: 1.50 stays 1.50.
	if !strings.Contains(string(start[0].Data()), `"payload":`+body) {
		t.Fatalf("payload not verbatim in %s", start[0].Data())
	}
	hdr := s.WebhookMessage.Headers
	if hdr["X-Request-Id"].Values[0].GetStringValue() != "req-1" || hdr["X-Custom"].Values[0].GetStringValue() != "a" || hdr["X-Forwarded-For"] == nil {
		t.Fatalf("envelope headers %v", hdr)
	}
	if !s.WebhookMessage.DateTime.AsTime().Equal(e.now) {
		t.Fatalf("dateTime %v", s.WebhookMessage.DateTime.AsTime())
	}
}

func TestBodies(t *testing.T) {
	t.Parallel()
	e := newEdgeEnv(t)
	w := e.hook("wh_body")
	w.RawBody = true
	e.routes.put(w)
	tests := []struct {
		name, ctype, body, payload string
	}{
		{"form", "application/x-www-form-urlencoded", "a=1&b=x+y&a=2", `{"a":["1","2"],"b":["x y"]}`},
		{"text", "text/plain", "hello \"world\"", `"hello \"world\""`},
		{"no content type", "", "raw", `"raw"`},
		{"json with charset", "application/json; charset=utf-8", `[1,2]`, `[1,2]`},
	}
	for i, tt := range tests {
		status, _, ans := e.do(t, call{path: "/in/acme/wh_body?key=" + key1, body: tt.body, headers: map[string]string{"Content-Type": tt.ctype}})
		if status != 200 {
			t.Fatalf("%s: %d %v", tt.name, status, ans)
		}
		msgs := e.messages(t, streams.Inbound, "hookgate.in.acme.orders.start")
		if len(msgs) != i+1 {
			t.Fatalf("%s: %d messages", tt.name, len(msgs))
		}
		data := string(msgs[i].Data())
		if !strings.Contains(data, `"payload":`+tt.payload+`,`) {
			t.Fatalf("%s: payload not %s in %s", tt.name, tt.payload, data)
		}
		env := decode(t, msgs[i].Data())
		if string(env.WebhookMessage.RawBody) != tt.body || !strings.Contains(data, base64.StdEncoding.EncodeToString([]byte(tt.body))) {
			t.Fatalf("%s: rawBody %q", tt.name, env.WebhookMessage.RawBody)
		}
	}
	status, _, _ := e.do(t, call{path: "/in/acme/wh_body?key=" + key1, body: "a=%zz", headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}})
	if status != 400 {
		t.Fatalf("bad form: %d", status)
	}
}

// TestChunkedBodyOverLimit sends a body with no Content-Length: the edge
// stops reading at the limit and answers 413.
func TestChunkedBodyOverLimit(t *testing.T) {
	t.Parallel()
	e := newEdgeEnv(t)
	e.hook("wh_chunk")
	pr, pw := io.Pipe()
	go func() {
		chunk := []byte(strings.Repeat("x", 512))
		for range 1000 { // 512 KB offered against a 1 KiB limit
			if _, err := pw.Write(chunk); err != nil {
				return
			}
		}
		pw.Close()
	}()
	req, _ := http.NewRequest(http.MethodPost, e.url+"/in/acme/wh_chunk?key="+key1, pr)
	req.Header.Set("Content-Type", "text/plain")
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	pr.Close()
	if resp.StatusCode != 413 {
		t.Fatalf("chunked oversize body: %d, want 413", resp.StatusCode)
	}
}

func TestDedupOfProviderDeliveryID(t *testing.T) {
	t.Parallel()
	e := newEdgeEnv(t)
	e.hook("wh_dedup")
	first, second := map[string]string{}, map[string]string{}
	for _, ans := range []map[string]string{first, second} {
		status, _, got := e.do(t, call{path: "/in/acme/wh_dedup?key=" + key1, body: `{"x":1}`, headers: map[string]string{"X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958"}})
		if status != 200 {
			t.Fatalf("status %d", status)
		}
		for k, v := range got {
			ans[k] = v
		}
	}
	if first["eventId"] != second["eventId"] {
		t.Fatalf("a retried delivery got event %s then %s", first["eventId"], second["eventId"])
	}
	if n := len(e.messages(t, streams.Inbound, "hookgate.in.acme.orders.start")); n != 1 {
		t.Fatalf("%d messages stored for one delivery id, want 1", n)
	}
	// Without a delivery id, calls with different bodies are different
	// events (identical ones: TestDedupWithoutDeliveryID).
	for _, body := range []string{`{"x":2}`, `{"x":3}`} {
		e.do(t, call{path: "/in/acme/wh_dedup?key=" + key1, body: body})
	}
	if n := len(e.messages(t, streams.Inbound, "hookgate.in.acme.orders.start")); n != 3 {
		t.Fatalf("%d messages, want 3", n)
	}
}

func TestNoConfigAndJetStreamDown(t *testing.T) {
	t.Parallel()
	e := newEdgeEnv(t)
	e.hook("wh_js")
	e.routes.mu.Lock()
	e.routes.ready = false
	e.routes.mu.Unlock()
	status, hdr, _ := e.do(t, call{path: "/in/acme/wh_js?key=" + key1, body: `{}`})
	if status != 503 || hdr.Get("Retry-After") == "" {
		t.Fatalf("no config: %d Retry-After %q", status, hdr.Get("Retry-After"))
	}
	e.routes.mu.Lock()
	e.routes.ready = true
	e.routes.mu.Unlock()
	if status, _, _ := e.do(t, call{path: "/in/acme/wh_js?key=" + key1, body: `{}`}); status != 200 {
		t.Fatalf("with config: %d", status)
	}
	// JetStream goes away: never 200, always 503 with Retry-After.
	e.ns.Shutdown()
	e.ns.WaitForShutdown()
	for range 3 {
		status, hdr, ans := e.do(t, call{path: "/in/acme/wh_js?key=" + key1, body: `{}`})
		if status != 503 || hdr.Get("Retry-After") == "" {
			t.Fatalf("JetStream down: %d %v Retry-After %q", status, ans, hdr.Get("Retry-After"))
		}
	}
}
