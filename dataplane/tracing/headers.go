package tracing

import (
	"context"
	"net/http"
	"strings"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// W3C Trace Context header names, written in lower case as the
// recommendation spells them, on NATS messages and HTTP requests alike.
const (
	TraceParent = "traceparent"
	TraceState  = "tracestate"
)

// HeaderCarrier adapts NATS message headers to the propagator. NATS
// headers are case-sensitive: Set writes the key as the propagator gives
// it (traceparent), and Get falls back to a case-insensitive match so a
// producer that publishes straight to a stream with "Traceparent" is read
// too.
type HeaderCarrier nats.Header

var _ propagation.TextMapCarrier = HeaderCarrier(nil)

// Get returns the first value of key.
func (c HeaderCarrier) Get(key string) string {
	if v := c[key]; len(v) > 0 {
		return v[0]
	}
	for k, v := range c {
		if len(v) > 0 && strings.EqualFold(k, key) {
			return v[0]
		}
	}
	return ""
}

// Set replaces the values of key, and of any spelling of it in another
// case, with value.
func (c HeaderCarrier) Set(key, value string) {
	for k := range c {
		if k != key && strings.EqualFold(k, key) {
			delete(c, k)
		}
	}
	c[key] = []string{value}
}

// Keys lists the header names.
func (c HeaderCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}

// Inject writes the trace context of ctx's span (traceparent, and
// tracestate when it has one) into h. It writes nothing when tracing is
// off or ctx has no valid span context.
func (t *Tracing) Inject(ctx context.Context, h nats.Header) {
	if !t.Enabled() || h == nil {
		return
	}
	t.propagator.Inject(ctx, HeaderCarrier(h))
}

// InjectHTTP writes the trace context of ctx's span into an HTTP request's
// headers (canonical names, as net/http sends them).
func (t *Tracing) InjectHTTP(ctx context.Context, h http.Header) {
	if !t.Enabled() || h == nil {
		return
	}
	t.propagator.Inject(ctx, propagation.HeaderCarrier(h))
}

// Extract returns ctx with the remote span context that h carries, for
// spans that continue it; ctx unchanged when tracing is off or h carries
// none (or a malformed one).
func (t *Tracing) Extract(ctx context.Context, h nats.Header) context.Context {
	if !t.Enabled() || len(h) == 0 {
		return ctx
	}
	return t.propagator.Extract(ctx, HeaderCarrier(h))
}

// ExtractHTTP is Extract for an HTTP request's headers.
func (t *Tracing) ExtractHTTP(ctx context.Context, h http.Header) context.Context {
	if !t.Enabled() || len(h) == 0 {
		return ctx
	}
	return t.propagator.Extract(ctx, propagation.HeaderCarrier(h))
}

// Headered is a message with NATS headers, such as a jetstream.Msg.
type Headered interface {
	Headers() nats.Header
}

// ContextFromMsg is what a consumer of Hookgate's streams (a process engine
// reading HOOKGATE_INBOUND, a reader of HOOKGATE_OUTBOUND) calls on each
// message: ctx with the remote span context of the span that published m,
// read with the W3C Trace Context propagator whatever the consumer's own
// tracing set-up. Spans the consumer starts from the returned context are
// part of the caller's trace:
//
//	ctx := tracing.ContextFromMsg(ctx, msg)
//	ctx, span := tracer.Start(ctx, "process event", trace.WithSpanKind(trace.SpanKindConsumer))
//	defer span.End()
//
// Without a traceparent header (tracing off at the edge) ctx is returned
// as it was.
func ContextFromMsg(ctx context.Context, m Headered) context.Context {
	return ContextFromHeader(ctx, m.Headers())
}

// ContextFromHeader is ContextFromMsg for the headers alone.
func ContextFromHeader(ctx context.Context, h nats.Header) context.Context {
	if len(h) == 0 {
		return ctx
	}
	return Propagator().Extract(ctx, HeaderCarrier(h))
}

// SpanContextFromMsg is the span context m carries; not valid when it
// carries none.
func SpanContextFromMsg(m Headered) trace.SpanContext {
	return trace.SpanContextFromContext(ContextFromMsg(context.Background(), m))
}
