package tracing

import (
	"net/http"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Handler returns next with a server span per request under scope (the
// tracer's name), continuing a caller's traceparent. The span is named
// SpanName(r) and records the method and the answer's status, never the
// path's query, headers or body. skip, when set, exempts requests (a
// long-lived stream would hold its span open for hours). With tracing off
// Handler returns next itself.
func (t *Tracing) Handler(scope string, skip func(*http.Request) bool, next http.Handler) http.Handler {
	if !t.Enabled() {
		return next
	}
	tracer := t.Tracer(scope)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if skip != nil && skip(r) {
			next.ServeHTTP(w, r)
			return
		}
		ctx := t.ExtractHTTP(r.Context(), r.Header)
		ctx, span := tracer.Start(ctx, SpanName(r), trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("http.request.method", r.Method)))
		defer span.End()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r.WithContext(ctx))
		span.SetAttributes(attribute.Int("http.response.status_code", sw.status))
		if sw.status >= 500 {
			span.SetStatus(codes.Error, http.StatusText(sw.status))
		}
	})
}

// SpanName names a request's span with few distinct values: an RPC path
// (/package.Service/Method, Connect or gRPC) is its own name, every other
// path (REST paths hold ids) is the method alone.
func SpanName(r *http.Request) string {
	p := r.URL.Path
	if rest, ok := strings.CutPrefix(p, "/"); ok {
		if svc, method, ok := strings.Cut(rest, "/"); ok && strings.Contains(svc, ".") && method != "" && !strings.Contains(method, "/") {
			return rest
		}
	}
	return "HTTP " + r.Method
}

// statusWriter remembers the status of the answer. It keeps Flush (gRPC
// and Connect streaming need it) and Unwrap (http.ResponseController).
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	w.wrote = true
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
