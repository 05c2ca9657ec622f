package ingress_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/hookgate/hookgate/dataplane/configsync"
	"github.com/hookgate/hookgate/dataplane/ingress"
	"github.com/hookgate/hookgate/dataplane/streams"
	"github.com/hookgate/hookgate/dataplane/tracing"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/gen/hookgate/v1/hookgatev1connect"
	"github.com/hookgate/hookgate/testkit/natstest"
	"github.com/hookgate/hookgate/testkit/poll"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/types/known/structpb"
)

const (
	callerTraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	callerSpanID  = "00f067aa0ba902b7"
	callerParent  = "00-" + callerTraceID + "-" + callerSpanID + "-01"
)

// tracedEnv is an edge (webhooks, SendMessage and its REST path) on a
// real HTTP server in front of real JetStream, recording its spans in
// memory; tr nil runs it with tracing off.
type tracedEnv struct {
	*edgeEnv
	spans    *tracetest.InMemoryExporter
	messages *messagesEnv
}

func newTracedEnv(t *testing.T, on bool) *tracedEnv {
	t.Helper()
	var tr *tracing.Tracing
	exp := tracetest.NewInMemoryExporter()
	if on {
		tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
		tr = tracing.WithProvider(tp)
		t.Cleanup(func() { _ = tr.Shutdown(context.Background()) })
	}
	ns := natstest.Start(t)
	nc := ns.Conn(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	cfg := streams.DefaultConfig()
	for _, sc := range []jetstream.StreamConfig{cfg.InboundConfig(), cfg.FailedConfig(), cfg.OutboundConfig()} {
		if _, err := streams.Ensure(context.Background(), js, sc); err != nil {
			t.Fatal(err)
		}
	}
	env := &edgeEnv{ns: ns, nc: nc, js: js, reg: prometheus.NewRegistry(),
		routes: &routes{hooks: map[string]*configsync.Webhook{}, ready: true, rev: 41},
		now:    time.Date(2026, 3, 23, 15, 30, 0, 0, time.UTC)}
	log := slog.New(slog.DiscardHandler)
	ecfg := ingress.DefaultConfig()
	ecfg.PublishTimeout = 2 * time.Second
	edge, err := ingress.New(ecfg, ingress.Deps{Routes: env.routes, Conn: nc, Log: log, Metrics: env.reg, Now: env.clock, Tracing: tr})
	if err != nil {
		t.Fatal(err)
	}
	env.edge = edge
	table := configsync.NewTable()
	msgs, err := ingress.NewMessages(ingress.DefaultMessagesConfig(), ingress.MessagesDeps{Source: tableSource{table}, Conn: nc, Log: log, Tracing: tr})
	if err != nil {
		t.Fatal(err)
	}
	h, err := ingress.WithREST(edge.PublicHandler(ingress.WithMessages(msgs)), msgs)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	env.url = srv.URL
	me := &messagesEnv{js: js, table: table, url: srv.URL, client: srv.Client()}
	me.load(t, 7, catalogResources(t))
	return &tracedEnv{edgeEnv: env, spans: exp, messages: me}
}

// post sends a webhook call through the real HTTP server with extra headers.
func (e *tracedEnv) post(t *testing.T, path string, hdr map[string]string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.url+path, strings.NewReader(`{"orderId":"ORD-1","n":"`+time.Now().Format(time.RFC3339Nano)+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := e.messages.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// waitSpans waits until n spans called name have ended: a server span
// ends as its handler returns, which the client may see after the answer.
func waitSpans(t *testing.T, e *tracetest.InMemoryExporter, name string, n int) {
	t.Helper()
	poll.Until(t, 5*time.Second, fmt.Sprintf("%d spans %q", n, name), func() bool { return len(spansNamed(e, name)) >= n })
}

// spansNamed returns the ended spans called name.
func spansNamed(e *tracetest.InMemoryExporter, name string) []tracetest.SpanStub {
	var out []tracetest.SpanStub
	for _, s := range e.GetSpans() {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

func attr(s tracetest.SpanStub, key attribute.Key) (attribute.Value, bool) {
	for _, a := range s.Attributes {
		if a.Key == key {
			return a.Value, true
		}
	}
	return attribute.Value{}, false
}

const requestSpan = "POST /in/{tenant}/{webhook_id}"

// TestTraceInbound follows one trace from an inbound POST through each
// JetStream publish to what a consumer reads from the stream.
func TestTraceInbound(t *testing.T) {
	t.Parallel()
	e := newTracedEnv(t, true)
	e.hook("wh_one")
	e.hook("wh_two",
		&hookgatev1.Binding{ProcessId: "orders", ThreadId: "main", Trigger: hookgatev1.Trigger_TRIGGER_START_PROCESS},
		&hookgatev1.Binding{ProcessId: "billing", ThreadId: "main", Trigger: hookgatev1.Trigger_TRIGGER_START_PROCESS})
	e.hook("wh_bad")

	tests := []struct {
		name     string
		hook     string
		headers  map[string]string
		status   int
		bindings []string // processes published to
		// continues: the request span's parent is the caller's span.
		continues  bool
		tracestate string
	}{
		{name: "caller's trace continued", hook: "wh_one", status: 200, bindings: []string{"orders"}, continues: true,
			headers: map[string]string{"traceparent": callerParent, "tracestate": "vendor=v1"}, tracestate: "vendor=v1"},
		{name: "new trace without traceparent", hook: "wh_one", status: 200, bindings: []string{"orders"}},
		{name: "malformed traceparent starts a new trace", hook: "wh_one", status: 200, bindings: []string{"orders"},
			headers: map[string]string{"traceparent": "00-not-a-trace-01"}},
		{name: "one publish span per binding", hook: "wh_two", status: 200, bindings: []string{"orders", "billing"}, continues: true,
			headers: map[string]string{"traceparent": callerParent}},
		{name: "refused call has a span and publishes nothing", hook: "wh_bad", status: 401, continues: true,
			headers: map[string]string{"traceparent": callerParent}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.spans.Reset()
			before := map[string]int{}
			for _, p := range tt.bindings {
				before[p] = len(e.edgeEnv.messages(t, streams.Inbound, streams.InboundSubject("acme", p, false)))
			}
			path := "/in/acme/" + tt.hook + "?key=" + key1
			if tt.hook == "wh_bad" {
				path = "/in/acme/" + tt.hook + "?key=hgk_wrong"
			}
			if got := e.post(t, path, tt.headers); got != tt.status {
				t.Fatalf("status %d, want %d", got, tt.status)
			}
			waitSpans(t, e.spans, requestSpan, 1)
			reqs := spansNamed(e.spans, requestSpan)
			if len(reqs) != 1 {
				t.Fatalf("%d request spans, want 1 (spans: %v)", len(reqs), e.spans.GetSpans())
			}
			req := reqs[0]
			if req.SpanKind != trace.SpanKindServer {
				t.Errorf("request span kind %v, want server", req.SpanKind)
			}
			if v, _ := attr(req, "http.response.status_code"); v.AsInt64() != int64(tt.status) {
				t.Errorf("request span status attribute %v, want %d", v, tt.status)
			}
			if v, _ := attr(req, "hookgate.webhook_id"); v.AsString() != tt.hook {
				t.Errorf("request span webhook_id %q, want %q", v.AsString(), tt.hook)
			}
			for _, a := range req.Attributes {
				if strings.Contains(a.Value.Emit(), "hgk_") {
					t.Errorf("request span attribute %s holds the API key", a.Key)
				}
			}
			traceID := req.SpanContext.TraceID()
			if tt.continues {
				if traceID.String() != callerTraceID || req.Parent.SpanID().String() != callerSpanID || !req.Parent.IsRemote() {
					t.Errorf("request span in trace %s under %s, want the caller's %s under %s", traceID, req.Parent.SpanID(), callerTraceID, callerSpanID)
				}
			} else if req.Parent.IsValid() || traceID.String() == callerTraceID {
				t.Errorf("request span has parent %v in trace %s, want a new root", req.Parent, traceID)
			}
			pubs := spansNamed(e.spans, "publish hookgate.in")
			if len(pubs) != len(tt.bindings) {
				t.Fatalf("%d publish spans, want %d", len(pubs), len(tt.bindings))
			}
			bySpan := map[trace.SpanID]tracetest.SpanStub{}
			for _, p := range pubs {
				if p.SpanContext.TraceID() != traceID || p.Parent.SpanID() != req.SpanContext.SpanID() || p.SpanKind != trace.SpanKindProducer {
					t.Errorf("publish span %s: trace %s parent %s kind %v, want trace %s under the request span %s, producer",
						p.SpanContext.SpanID(), p.SpanContext.TraceID(), p.Parent.SpanID(), p.SpanKind, traceID, req.SpanContext.SpanID())
				}
				bySpan[p.SpanContext.SpanID()] = p
			}
			// The consumer's side: what a process engine reads.
			for _, p := range tt.bindings {
				subject := streams.InboundSubject("acme", p, false)
				msgs := e.edgeEnv.messages(t, streams.Inbound, subject)
				if len(msgs) != before[p]+1 {
					t.Fatalf("%s holds %d messages, want %d", subject, len(msgs), before[p]+1)
				}
				m := msgs[len(msgs)-1]
				if m.Headers().Get(tracing.TraceParent) == "" {
					t.Fatalf("message on %s has no traceparent header: %v", subject, m.Headers())
				}
				if got := m.Headers().Get(tracing.TraceState); got != tt.tracestate {
					t.Errorf("message tracestate %q, want %q", got, tt.tracestate)
				}
				sc := trace.SpanContextFromContext(tracing.ContextFromMsg(context.Background(), m))
				if sc.TraceID() != traceID {
					t.Errorf("consumer context trace %s, want the request's %s", sc.TraceID(), traceID)
				}
				pub, ok := bySpan[sc.SpanID()]
				if !ok {
					t.Errorf("consumer context span %s is no publish span", sc.SpanID())
				} else if v, _ := attr(pub, "messaging.destination.name"); v.AsString() != subject {
					t.Errorf("publish span of %s names %s", subject, v.AsString())
				}
			}
		})
	}
}

// TestTraceOff checks that with tracing off the edge adds no trace
// headers to what it publishes, even when the caller sent a traceparent
// (it stays in the envelope's own copy of the HTTP headers only).
func TestTraceOff(t *testing.T) {
	t.Parallel()
	e := newTracedEnv(t, false)
	e.hook("wh_off")
	if got := e.post(t, "/in/acme/wh_off?key="+key1, map[string]string{"traceparent": callerParent}); got != 200 {
		t.Fatalf("status %d", got)
	}
	msgs := e.edgeEnv.messages(t, streams.Inbound, streams.InboundSubject("acme", "orders", false))
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	for k := range msgs[0].Headers() {
		if strings.EqualFold(k, tracing.TraceParent) || strings.EqualFold(k, tracing.TraceState) {
			t.Errorf("tracing off published header %s", k)
		}
	}
	if n := len(e.spans.GetSpans()); n != 0 {
		t.Errorf("tracing off recorded %d spans", n)
	}
}

// TestTraceSendMessage follows SendMessage (Connect and REST) to the
// traceparent of the outbound message it stores.
func TestTraceSendMessage(t *testing.T) {
	t.Parallel()
	e := newTracedEnv(t, true)
	tests := []struct {
		name string
		send func(t *testing.T, hdr http.Header) int
		code string // rpc.response.status_code on the span; "" when accepted
		n    int    // messages stored
	}{
		{name: "connect", n: 1, send: func(t *testing.T, hdr http.Header) int {
			client := hookgatev1connect.NewMessageServiceClient(e.messages.client, e.url)
			req := connect.NewRequest(&hookgatev1.SendMessageRequest{Message: &hookgatev1.Message{
				Tenant: "acme", ApplicationId: "app_acme", EventType: "ping", Payload: structpb.NewStringValue("hello")}})
			req.Header().Set("Authorization", "Bearer "+acmeProducer)
			for k, v := range hdr {
				req.Header()[k] = v
			}
			if _, err := client.SendMessage(context.Background(), req); err != nil {
				t.Fatal(err)
			}
			return 200
		}},
		{name: "REST", n: 1, send: func(t *testing.T, hdr http.Header) int {
			req, _ := http.NewRequest(http.MethodPost, e.url+"/v1/tenants/acme/apps/app_acme/messages", strings.NewReader(`{"eventType":"ping","payload":{"a":1}}`))
			req.Header = hdr.Clone()
			req.Header.Set("Authorization", "Bearer "+acmeProducer)
			req.Header.Set("Content-Type", "application/json")
			resp, err := e.messages.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}},
		{name: "refused", code: "not_found", send: func(t *testing.T, hdr http.Header) int {
			client := hookgatev1connect.NewMessageServiceClient(e.messages.client, e.url)
			req := connect.NewRequest(&hookgatev1.SendMessageRequest{Message: &hookgatev1.Message{
				Tenant: "acme", ApplicationId: "app_nope", EventType: "ping", Payload: structpb.NewStringValue("x")}})
			req.Header().Set("Authorization", "Bearer "+acmeProducer)
			for k, v := range hdr {
				req.Header()[k] = v
			}
			if _, err := client.SendMessage(context.Background(), req); connect.CodeOf(err) != connect.CodeNotFound {
				t.Fatalf("err %v, want NotFound", err)
			}
			return 404
		}},
	}
	stored := 0
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.spans.Reset()
			tt.send(t, http.Header{"Traceparent": {callerParent}})
			waitSpans(t, e.spans, "hookgate.v1.MessageService/SendMessage", 1)
			calls := spansNamed(e.spans, "hookgate.v1.MessageService/SendMessage")
			if len(calls) != 1 {
				t.Fatalf("%d SendMessage spans, want 1", len(calls))
			}
			call := calls[0]
			if call.SpanContext.TraceID().String() != callerTraceID || call.Parent.SpanID().String() != callerSpanID {
				t.Errorf("SendMessage span in trace %s under %s, want the caller's", call.SpanContext.TraceID(), call.Parent.SpanID())
			}
			if v, _ := attr(call, "rpc.response.status_code"); v.AsString() != tt.code {
				t.Errorf("SendMessage span code %q, want %q", v.AsString(), tt.code)
			}
			pubs := spansNamed(e.spans, "publish hookgate.out")
			if len(pubs) != tt.n {
				t.Fatalf("%d publish spans, want %d", len(pubs), tt.n)
			}
			msgs := e.messages.stored(t)
			if len(msgs) != stored+tt.n {
				t.Fatalf("%d stored, want %d", len(msgs), stored+tt.n)
			}
			stored = len(msgs)
			if tt.n == 0 {
				return
			}
			pub := pubs[0]
			if pub.Parent.SpanID() != call.SpanContext.SpanID() {
				t.Errorf("publish span under %s, want the SendMessage span %s", pub.Parent.SpanID(), call.SpanContext.SpanID())
			}
			m := msgs[len(msgs)-1]
			sc := tracing.SpanContextFromMsg(headersOf(m.Header))
			if sc.TraceID().String() != callerTraceID || sc.SpanID() != pub.SpanContext.SpanID() {
				t.Errorf("stored message carries %v, want trace %s span %s (traceparent %q)", sc, callerTraceID, pub.SpanContext.SpanID(), m.Header.Get(tracing.TraceParent))
			}
			if v, _ := attr(call, "hookgate.message_id"); v.AsString() != m.Header.Get("Hookgate-Message-Id") {
				t.Errorf("SendMessage span message id %q, stored %q", v.AsString(), m.Header.Get("Hookgate-Message-Id"))
			}
		})
	}
}

type headersOf nats.Header

func (h headersOf) Headers() nats.Header { return nats.Header(h) }
