package tracing_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookgate/hookgate/dataplane/tracing"
	"github.com/hookgate/hookgate/testkit/poll"
	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

const (
	callerTraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	callerSpanID  = "00f067aa0ba902b7"
	callerParent  = "00-" + callerTraceID + "-" + callerSpanID + "-01"
)

func inMemory(t *testing.T) (*tracing.Tracing, *tracetest.InMemoryExporter) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tr := tracing.WithProvider(sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp)))
	t.Cleanup(func() { _ = tr.Shutdown(context.Background()) })
	return tr, exp
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		endpoint string
		ok       bool
	}{
		{"off", "", true},
		{"host and port", "collector:4318", true},
		{"loopback", "127.0.0.1:4318", true},
		{"IPv6", "[::1]:4318", true},
		{"http URL", "http://collector:4318", true},
		{"https URL with path", "https://collector:4318/v1/traces", true},
		{"no port", "collector", false},
		{"empty host", ":4318", false},
		{"empty port", "collector:", false},
		{"other scheme", "grpc://collector:4317", false},
		{"credentials in URL", "https://user:secret@collector:4318", false},
		{"garbage", "%%%", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tracing.Config{Endpoint: tt.endpoint}.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Validate(%q) = %v, want ok=%v", tt.endpoint, err, tt.ok)
			}
			if err != nil && !strings.Contains(err.Error(), "--otlp-endpoint") {
				t.Errorf("error %q does not name the flag", err)
			}
			if err != nil && strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q leaks the URL's password", err)
			}
		})
	}
}

func TestOff(t *testing.T) {
	t.Parallel()
	tr, err := tracing.New(context.Background(), tracing.Config{}, "hookgate-edge")
	if err != nil {
		t.Fatal(err)
	}
	if tr.Enabled() {
		t.Fatal("tracing without an endpoint is enabled")
	}
	ctx, span := tr.Tracer("x").Start(context.Background(), "s")
	if span.IsRecording() || span.SpanContext().IsValid() {
		t.Errorf("span of tracing off records (%v) or has a context (%v)", span.IsRecording(), span.SpanContext())
	}
	h := nats.Header{}
	tr.Inject(ctx, h)
	hh := http.Header{}
	tr.InjectHTTP(ctx, hh)
	if len(h) != 0 || len(hh) != 0 {
		t.Errorf("tracing off injected %v and %v", h, hh)
	}
	in := nats.Header{tracing.TraceParent: {callerParent}}
	if got := tr.Extract(context.Background(), in); trace.SpanContextFromContext(got).IsValid() {
		t.Error("tracing off extracted a span context")
	}
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown of tracing off: %v", err)
	}
}

func TestInjectExtractNATS(t *testing.T) {
	t.Parallel()
	tr, exp := inMemory(t)
	parent := tr.Extract(context.Background(), nats.Header{tracing.TraceParent: {callerParent}, tracing.TraceState: {"vendor=v1"}})
	ctx, span := tr.Tracer("test").Start(parent, "publish")
	h := nats.Header{"Nats-Msg-Id": {"m1"}}
	tr.Inject(ctx, h)
	span.End()

	if got := h.Get(tracing.TraceParent); !strings.HasPrefix(got, "00-"+callerTraceID+"-") || strings.Contains(got, callerSpanID) {
		t.Errorf("traceparent %q: want the caller's trace with the new span's id", got)
	}
	if got := h.Get(tracing.TraceState); got != "vendor=v1" {
		t.Errorf("tracestate %q, want vendor=v1", got)
	}
	if h.Get("Nats-Msg-Id") != "m1" {
		t.Error("Inject dropped another header")
	}
	sc := tracing.SpanContextFromMsg(headered(h))
	spans := exp.GetSpans()
	if len(spans) != 1 {
		t.Fatalf("%d spans, want 1", len(spans))
	}
	if sc.TraceID().String() != callerTraceID || sc.SpanID() != spans[0].SpanContext.SpanID() || !sc.IsRemote() {
		t.Errorf("consumer context %v: want trace %s, span %s, remote", sc, callerTraceID, spans[0].SpanContext.SpanID())
	}
	if spans[0].Parent.SpanID().String() != callerSpanID {
		t.Errorf("span parent %s, want the caller's %s", spans[0].Parent.SpanID(), callerSpanID)
	}
}

type headered nats.Header

func (h headered) Headers() nats.Header { return nats.Header(h) }

func TestContextFromMsg(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		h       nats.Header
		valid   bool
		traceID string
	}{
		{"lower case", nats.Header{"traceparent": {callerParent}}, true, callerTraceID},
		{"other case", nats.Header{"Traceparent": {callerParent}}, true, callerTraceID},
		{"none", nats.Header{"Nats-Msg-Id": {"x"}}, false, ""},
		{"nil headers", nil, false, ""},
		{"malformed", nats.Header{"traceparent": {"00-xyz-00f067aa0ba902b7-01"}}, false, ""},
		{"zero trace id", nats.Header{"traceparent": {"00-00000000000000000000000000000000-00f067aa0ba902b7-01"}}, false, ""},
		{"truncated", nats.Header{"traceparent": {callerParent[:30]}}, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := trace.SpanContextFromContext(tracing.ContextFromMsg(context.Background(), headered(tt.h)))
			if sc.IsValid() != tt.valid {
				t.Fatalf("valid = %v, want %v", sc.IsValid(), tt.valid)
			}
			if tt.valid && sc.TraceID().String() != tt.traceID {
				t.Errorf("trace id %s, want %s", sc.TraceID(), tt.traceID)
			}
		})
	}
}

func TestHeaderCarrierSetReplacesOtherCase(t *testing.T) {
	t.Parallel()
	h := nats.Header{"Traceparent": {"stale"}}
	tracing.HeaderCarrier(h).Set("traceparent", "fresh")
	if len(h) != 1 || h.Get("traceparent") != "fresh" {
		t.Errorf("headers %v: want only traceparent=fresh", h)
	}
	var _ propagation.TextMapCarrier = tracing.HeaderCarrier(h)
}

// TestNewExportsOverOTLP runs the OTLP/HTTP exporter against a collector
// stand-in (a real HTTP server decoding the protobuf request).
func TestNewExportsOverOTLP(t *testing.T) {
	t.Parallel()
	var (
		mu    sync.Mutex
		names []string
		paths []string
	)
	got := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req collectortrace.ExportTraceServiceRequest
		if err := proto.Unmarshal(body, &req); err != nil {
			t.Errorf("collector: %v", err)
		}
		mu.Lock()
		paths = append(paths, r.URL.Path)
		for _, rs := range req.GetResourceSpans() {
			for _, a := range rs.GetResource().GetAttributes() {
				if a.GetKey() == "service.name" {
					names = append(names, "service:"+a.GetValue().GetStringValue())
				}
			}
			for _, ss := range rs.GetScopeSpans() {
				for _, s := range ss.GetSpans() {
					names = append(names, s.GetName())
				}
			}
		}
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK)
		select {
		case got <- struct{}{}:
		default:
		}
	}))
	t.Cleanup(srv.Close)
	for _, cfg := range []tracing.Config{
		{Endpoint: strings.TrimPrefix(srv.URL, "http://"), Insecure: true},
		{Endpoint: srv.URL + "/v1/traces"},
		{Endpoint: srv.URL},
	} {
		tr, err := tracing.New(context.Background(), cfg, "hookgate-test")
		if err != nil {
			t.Fatal(err)
		}
		if !tr.Enabled() {
			t.Fatalf("tracing with endpoint %q is off", cfg.Endpoint)
		}
		_, span := tr.Tracer("test").Start(context.Background(), "exported")
		span.End()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := tr.Shutdown(ctx); err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
		cancel()
		select {
		case <-got:
		case <-time.After(10 * time.Second):
			t.Fatalf("the collector received nothing from %q", cfg.Endpoint)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	want := "service:hookgate-test exported service:hookgate-test exported service:hookgate-test exported"
	if strings.Join(names, " ") != want {
		t.Errorf("collector saw %q, want %q", names, want)
	}
	for _, p := range paths {
		if p != "/v1/traces" {
			t.Errorf("export to path %s, want /v1/traces", p)
		}
	}
}

func TestHandler(t *testing.T) {
	t.Parallel()
	tr, exp := inMemory(t)
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !trace.SpanContextFromContext(r.Context()).IsValid() && r.URL.Path != "/stream.v1.S/Watch" {
			t.Errorf("%s: handler's ctx has no span", r.URL.Path)
		}
		if r.URL.Path == "/v1/fail" {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		if f, ok := w.(http.Flusher); !ok {
			t.Error("the wrapped writer lost http.Flusher")
		} else {
			f.Flush()
		}
	})
	srv := httptest.NewServer(tr.Handler("test", func(r *http.Request) bool { return r.URL.Path == "/stream.v1.S/Watch" }, next))
	t.Cleanup(srv.Close)
	tests := []struct {
		name, path, traceparent string
		span                    string // "" for none
		status                  int64
		continues               bool
	}{
		{"rpc path", "/hookgate.v1.WebhookService/GetWebhook", callerParent, "hookgate.v1.WebhookService/GetWebhook", 200, true},
		{"REST path with ids", "/v1/tenants/acme/webhooks/wh_1?key=hgk_x", "", "HTTP POST", 200, false},
		{"server error", "/v1/fail", "", "HTTP POST", 503, false},
		{"malformed traceparent", "/a.b/C", "garbage", "a.b/C", 200, false},
		{"skipped", "/stream.v1.S/Watch", callerParent, "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exp.Reset()
			req, _ := http.NewRequest(http.MethodPost, srv.URL+tt.path, nil)
			if tt.traceparent != "" {
				req.Header.Set("traceparent", tt.traceparent)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if tt.span != "" {
				// The span ends as the handler returns, which the client
				// may see after the answer.
				poll.Until(t, 5*time.Second, "the request's span", func() bool { return len(exp.GetSpans()) > 0 })
			}
			spans := exp.GetSpans()
			if tt.span == "" {
				if len(spans) != 0 {
					t.Fatalf("%d spans for a skipped request", len(spans))
				}
				return
			}
			if len(spans) != 1 || spans[0].Name != tt.span {
				t.Fatalf("spans %v, want one named %q", spans, tt.span)
			}
			s := spans[0]
			var status int64
			for _, a := range s.Attributes {
				if a.Key == "http.response.status_code" {
					status = a.Value.AsInt64()
				}
				if strings.Contains(a.Value.Emit(), "hgk_") {
					t.Errorf("attribute %s holds the query's key", a.Key)
				}
			}
			if status != tt.status {
				t.Errorf("status attribute %d, want %d", status, tt.status)
			}
			if got := s.Parent.SpanID().String() == callerSpanID; got != tt.continues {
				t.Errorf("continues caller = %v, want %v", got, tt.continues)
			}
		})
	}
	if h := tracing.Off().Handler("test", nil, plainHandler{}); h != (plainHandler{}) {
		t.Errorf("Handler of tracing off wraps next (%T)", h)
	}
}

type plainHandler struct{}

func (plainHandler) ServeHTTP(http.ResponseWriter, *http.Request) {}
