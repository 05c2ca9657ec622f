package dispatch_test

import (
	"context"
	"crypto/sha256"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/hookgate/hookgate/dataplane/configsync"
	"github.com/hookgate/hookgate/dataplane/dispatch"
	"github.com/hookgate/hookgate/dataplane/ingress"
	"github.com/hookgate/hookgate/dataplane/tracing"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/gen/hookgate/v1/hookgatev1connect"
	"github.com/hookgate/hookgate/testkit/poll"
	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
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

func inMemoryTracing(t *testing.T) (*tracing.Tracing, *tracetest.InMemoryExporter) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tr := tracing.WithProvider(sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp)))
	t.Cleanup(func() { _ = tr.Shutdown(context.Background()) })
	return tr, exp
}

func spanAttr(s tracetest.SpanStub, key attribute.Key) (attribute.Value, bool) {
	for _, a := range s.Attributes {
		if a.Key == key {
			return a.Value, true
		}
	}
	return attribute.Value{}, false
}

func spanNamed(t *testing.T, exp *tracetest.InMemoryExporter, name string) tracetest.SpanStub {
	t.Helper()
	var out []tracetest.SpanStub
	for _, s := range exp.GetSpans() {
		if s.Name == name {
			out = append(out, s)
		}
	}
	if len(out) != 1 {
		t.Fatalf("%d spans named %q, want 1", len(out), name)
	}
	return out[0]
}

// TestTraceSendMessageToReceiver follows one trace from SendMessage on the
// edge (real handler, real JetStream) through a running engine to the
// receiver's requests: the fan-out span under the publish span, attempt 1
// made inline and attempt 2 from its scheduled retry (which carries the
// context in its headers), each an attempt span under the fan-out span
// whose id the receiver's traceparent names. The receiver is a real HTTP
// server.
func TestTraceSendMessageToReceiver(t *testing.T) {
	t.Parallel()
	tr, exp := inMemoryTracing(t)
	rg := newRig(t)
	ctx := context.Background()
	msgs := newSendMessage(t, rg.js.Conn(), tr)

	// SendMessage, continuing the producer's trace.
	client := hookgatev1connect.NewMessageServiceClient(&http.Client{Timeout: 10 * time.Second}, msgs)
	req := connect.NewRequest(&hookgatev1.SendMessageRequest{Message: &hookgatev1.Message{
		Tenant: "acme", ApplicationId: "app_acme", EventType: "order.created",
		Payload: structpb.NewStructValue(&structpb.Struct{Fields: map[string]*structpb.Value{"orderId": structpb.NewStringValue("ORD-1")}}),
	}})
	req.Header().Set("Authorization", "Bearer "+producerToken)
	req.Header().Set("traceparent", callerParent)
	resp, err := client.SendMessage(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	// The server span ends as the handler returns, which the client may
	// see after the answer.
	poll.Until(t, 5*time.Second, "the SendMessage span", func() bool {
		for _, s := range exp.GetSpans() {
			if s.Name == "hookgate.v1.MessageService/SendMessage" {
				return true
			}
		}
		return false
	})
	send := spanNamed(t, exp, "hookgate.v1.MessageService/SendMessage")
	if send.SpanContext.TraceID().String() != callerTraceID {
		t.Fatalf("SendMessage span in trace %s, want the producer's %s", send.SpanContext.TraceID(), callerTraceID)
	}

	// The engine fans it out: attempt 1 inline (503), attempt 2 from the
	// retry it scheduled (503), attempt 3 from the retry the task scheduled
	// (204).
	var calls atomic.Int32
	got := make(chan http.Header, 4)
	rc := newSink(t, func(n int, w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Clone()
		if calls.Add(1) <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	ep := rc.endpoint(t, "ep_1")
	ep.URL = strings.Replace(rc.URL, "http://", "http://user:pw@", 1) + "/hook/sk_secret?token=abc"
	tb := newTable()
	tb.add(ep, "app_acme", "order.created")
	d := dispatch.NewDeliverer(dispatch.DelivererConfig{
		Dialer:  dispatch.DialerConfig{Policy: dispatch.NewAddressPolicy([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")})},
		Tracing: tr,
	})
	t.Cleanup(d.CloseIdle)
	eng := rg.startDeps(t, testConfig(), dispatch.EngineDeps{Endpoints: tb, Deliverer: d, Tracer: dispatch.NewTracer(tr)})
	waitState(t, eng, resp.Msg.GetMessage().GetId(), ep.ID, dispatch.StateSucceeded)
	poll.Until(t, 5*time.Second, "three attempt spans", func() bool {
		n := 0
		for _, s := range exp.GetSpans() {
			if s.Name == "deliver" {
				n++
			}
		}
		return n == 3
	})

	fanSpan := spanNamed(t, exp, "fanout hookgate.out")
	publish := spanNamed(t, exp, "publish hookgate.out")
	if fanSpan.Parent.SpanID() != publish.SpanContext.SpanID() || fanSpan.SpanContext.TraceID().String() != callerTraceID {
		t.Errorf("fan-out span under %s in trace %s, want under the publish span %s in %s",
			fanSpan.Parent.SpanID(), fanSpan.SpanContext.TraceID(), publish.SpanContext.SpanID(), callerTraceID)
	}
	var attempts []tracetest.SpanStub
	for _, s := range exp.GetSpans() {
		if s.Name == "deliver" {
			attempts = append(attempts, s)
		}
	}
	if len(attempts) != 3 {
		t.Fatalf("%d attempt spans, want 3", len(attempts))
	}
	for i, s := range attempts {
		header := <-got
		sc := trace.SpanContextFromContext(tracing.Propagator().Extract(ctx, propagation.HeaderCarrier(header)))
		if sc.TraceID().String() != callerTraceID {
			t.Errorf("receiver saw traceparent %q (trace %s), want the SendMessage trace %s", header.Get("traceparent"), sc.TraceID(), callerTraceID)
		}
		if sc.SpanID() != s.SpanContext.SpanID() {
			t.Errorf("receiver's request %d carries span %s, want attempt span %s", i+1, sc.SpanID(), s.SpanContext.SpanID())
		}
		if s.Parent.SpanID() != fanSpan.SpanContext.SpanID() {
			t.Errorf("attempt %d under %s, want the fan-out span %s", i+1, s.Parent.SpanID(), fanSpan.SpanContext.SpanID())
		}
		if v, _ := spanAttr(s, "hookgate.attempt"); v.AsInt64() != int64(i+1) {
			t.Errorf("attempt span %d: attempt attribute %v", i+1, v)
		}
		for _, a := range s.Attributes {
			if v := a.Value.Emit(); strings.Contains(v, "pw") || strings.Contains(v, "sk_secret") || strings.Contains(v, "token=") {
				t.Errorf("attempt span attribute %s = %q holds part of the endpoint URL's credentials", a.Key, v)
			}
		}
	}
}

const producerToken = "hgp_acme-producer-0123456789abcdefghijklmnopqrst"

// newSendMessage serves SendMessage for tenant acme (application app_acme,
// event type order.created) on a real HTTP server and returns its URL.
func newSendMessage(t *testing.T, nc *nats.Conn, tr *tracing.Tracing) string {
	t.Helper()
	sum := sha256.Sum256([]byte(producerToken))
	table := configsync.NewTable()
	if _, err := table.Apply(&hookgatev1.StreamConfigResponse{Revision: 3, Snapshot: true, Upserts: []*hookgatev1.ConfigResource{
		{Key: "token/acme/tok_p", Resource: &hookgatev1.ConfigResource_Token{Token: &hookgatev1.EdgeToken{
			Id: "tok_p", Tenant: "acme", Kind: hookgatev1.AdminTokenKind_ADMIN_TOKEN_KIND_PRODUCER, Sha256: sum[:]}}},
		{Key: "application/acme/app_acme", Resource: &hookgatev1.ConfigResource_Application{Application: &hookgatev1.OutboundApplication{Tenant: "acme", Id: "app_acme"}}},
		{Key: "event-type/acme/order.created", Resource: &hookgatev1.ConfigResource_EventType{EventType: &hookgatev1.EdgeEventType{Tenant: "acme", Name: "order.created"}}},
	}}); err != nil {
		t.Fatal(err)
	}
	m, err := ingress.NewMessages(ingress.DefaultMessagesConfig(), ingress.MessagesDeps{
		Source: tableCatalog{table}, Conn: nc, Log: slog.New(slog.DiscardHandler), Tracing: tr})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m)
	t.Cleanup(srv.Close)
	return srv.URL
}

type tableCatalog struct{ t *configsync.Table }

func (c tableCatalog) Outbound() (ingress.ResourceSet, bool) {
	s := c.t.Snapshot()
	if s == nil {
		return nil, false
	}
	return s, true
}

func TestEndAttempt(t *testing.T) {
	t.Parallel()
	tr, exp := inMemoryTracing(t)
	dt := dispatch.NewTracer(tr)
	ep := &dispatch.Endpoint{ID: "ep_1", URL: "https://hooks.example.com:8443/services/T0/B0/secretpath?sig=x"}
	msg := &dispatch.Message{ID: "msg_1", Tenant: "acme", EventType: "order.created"}
	tests := []struct {
		name    string
		a       dispatch.Attempt
		outcome string
		status  int64 // 0: no attribute
		class   string
		isError bool
	}{
		{"2xx", dispatch.Attempt{StatusCode: 200}, dispatch.OutcomeSucceeded, 200, "", false},
		{"5xx", dispatch.Attempt{StatusCode: 503, ErrorClass: dispatch.ClassHTTPStatus}, dispatch.OutcomeFailed, 503, "http_status", true},
		{"410", dispatch.Attempt{StatusCode: 410, ErrorClass: dispatch.ClassHTTPStatus, Disable: dispatch.ReasonGone}, dispatch.OutcomeFailed, 410, "http_status", true},
		{"timeout without answer", dispatch.Attempt{ErrorClass: dispatch.ClassTimeout}, dispatch.OutcomeFailed, 0, "timeout", true},
		{"blocked address", dispatch.Attempt{ErrorClass: dispatch.ClassBlockedAddress}, dispatch.OutcomeFailed, 0, "blocked_address", true},
		{"cancelled", dispatch.Attempt{ErrorClass: dispatch.ClassCancelled}, dispatch.OutcomeCancelled, 0, "cancelled", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exp.Reset()
			_, span := dt.StartAttempt(context.Background(), ep, msg, 3, dispatch.TriggerManual)
			dispatch.EndAttempt(span, &tt.a)
			s := spanNamed(t, exp, "deliver")
			want := map[attribute.Key]string{
				"hookgate.outcome": tt.outcome, "hookgate.endpoint_id": "ep_1", "hookgate.attempt": "3",
				"hookgate.trigger": "manual", "server.address": "hooks.example.com", "server.port": "8443",
				"error.type": tt.class,
			}
			for k, w := range want {
				v, ok := spanAttr(s, k)
				if w == "" && ok || w != "" && v.Emit() != w {
					t.Errorf("attribute %s = %q (set %v), want %q", k, v.Emit(), ok, w)
				}
			}
			if v, ok := spanAttr(s, "http.response.status_code"); ok != (tt.status != 0) || v.AsInt64() != tt.status {
				t.Errorf("status attribute %v (set %v), want %d", v, ok, tt.status)
			}
			if (s.Status.Code.String() == "Error") != tt.isError {
				t.Errorf("span status %v, error wanted %v", s.Status, tt.isError)
			}
			if s.SpanKind != trace.SpanKindClient {
				t.Errorf("kind %v, want client", s.SpanKind)
			}
			for _, a := range s.Attributes {
				if v := a.Value.Emit(); strings.Contains(v, "secretpath") || strings.Contains(v, "sig=") {
					t.Errorf("attribute %s = %q holds the URL's path or query", a.Key, v)
				}
			}
		})
	}
}

// TestTracerOff checks that a dispatcher with tracing off neither records
// nor writes trace headers, and still keeps the trace others started
// (CopyTrace), and that its spans are safe to end.
func TestTracerOff(t *testing.T) {
	t.Parallel()
	dt := dispatch.NewTracer(nil)
	if dt != nil {
		t.Fatal("NewTracer(nil) is not nil")
	}
	parent := tracing.ContextFromHeader(context.Background(), nats.Header{tracing.TraceParent: {callerParent}})
	ctx, fan := dt.StartFanout(parent, nats.Header{tracing.TraceParent: {callerParent}}, "hookgate.out.acme.app.x", &dispatch.Message{ID: "m"}, 1)
	if ctx != parent || fan.IsRecording() {
		t.Error("fan-out with tracing off changed ctx or records")
	}
	_, span := dt.StartAttempt(ctx, &dispatch.Endpoint{ID: "ep"}, &dispatch.Message{ID: "m"}, 1, dispatch.TriggerScheduled)
	dispatch.EndAttempt(span, &dispatch.Attempt{StatusCode: 200})
	fan.End()
	// The remote parent in ctx must not have been ended or replaced.
	if sc := trace.SpanContextFromContext(ctx); sc.TraceID().String() != callerTraceID {
		t.Errorf("ctx lost the caller's span context: %v", sc)
	}
	h := nats.Header{}
	dt.InjectTask(ctx, h)
	if len(h) != 0 {
		t.Errorf("InjectTask with tracing off wrote %v", h)
	}
	if got := dt.TaskContext(context.Background(), nats.Header{tracing.TraceParent: {callerParent}}); trace.SpanContextFromContext(got).IsValid() {
		t.Error("TaskContext with tracing off read a span context")
	}
	tests := []struct {
		name string
		src  nats.Header
		want nats.Header
	}{
		{"both", nats.Header{"traceparent": {callerParent}, "tracestate": {"v=1"}, "Other": {"x"}}, nats.Header{"traceparent": {callerParent}, "tracestate": {"v=1"}}},
		{"parent only", nats.Header{"traceparent": {callerParent}}, nats.Header{"traceparent": {callerParent}}},
		{"none", nats.Header{"Other": {"x"}}, nats.Header{}},
		{"nil", nil, nats.Header{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := nats.Header{}
			dispatch.CopyTrace(dst, tt.src)
			if len(dst) != len(tt.want) {
				t.Fatalf("copied %v, want %v", dst, tt.want)
			}
			for k, v := range tt.want {
				if dst.Get(k) != v[0] {
					t.Errorf("%s = %q, want %q", k, dst.Get(k), v[0])
				}
			}
		})
	}
}

// TestDeliverWithoutSpanSendsNoTraceparent checks that the Deliverer puts
// no trace header on a request whose ctx has no span, tracing on or off.
func TestDeliverWithoutSpanSendsNoTraceparent(t *testing.T) {
	t.Parallel()
	tr, _ := inMemoryTracing(t)
	got := make(chan string, 2)
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get("traceparent")
	}))
	t.Cleanup(rc.Close)
	for _, tt := range []*tracing.Tracing{tr, nil} {
		d := dispatch.NewDeliverer(dispatch.DelivererConfig{
			Dialer:  dispatch.DialerConfig{Policy: dispatch.NewAddressPolicy([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")})},
			Tracing: tt,
		})
		a := d.Deliver(context.Background(), &dispatch.Endpoint{ID: "ep", URL: rc.URL}, &dispatch.Message{ID: "m", Payload: []byte(`{}`)}, 1, dispatch.TriggerScheduled)
		if a.StatusCode != 200 {
			t.Fatalf("status %d (%s)", a.StatusCode, a.ErrorClass)
		}
		if tp := <-got; tp != "" {
			t.Errorf("receiver saw traceparent %q without a span", tp)
		}
		d.CloseIdle()
	}
}
