package dispatch

import (
	"context"
	"net/url"

	"github.com/hookgate/hookgate/dataplane/tracing"
	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// TracerName is the instrumentation scope of the dispatcher's spans.
const TracerName = "github.com/hookgate/hookgate/dataplane/dispatch"

// Span attribute keys (docs/design.md "Tracing"). No attribute holds a
// secret, a header value, a body or an endpoint URL: the URL's path and
// query may carry the receiver's token (Slack-style webhook URLs), so
// attempts record the host alone.
const (
	attrTenant     = attribute.Key("hookgate.tenant")
	attrAppID      = attribute.Key("hookgate.application_id")
	attrEventType  = attribute.Key("hookgate.event_type")
	attrMessageID  = attribute.Key("hookgate.message_id")
	attrEndpointID = attribute.Key("hookgate.endpoint_id")
	attrAttempt    = attribute.Key("hookgate.attempt")
	attrTrigger    = attribute.Key("hookgate.trigger")
	attrOutcome    = attribute.Key("hookgate.outcome")
	attrEndpoints  = attribute.Key("hookgate.endpoints")
)

// Outcomes of an attempt span.
const (
	OutcomeSucceeded = "succeeded"
	OutcomeFailed    = "failed"
	OutcomeCancelled = "cancelled"
)

// Tracer makes the dispatcher's spans: one fan-out span per outbound
// message, continuing the trace of the span that published it (the
// edge's SendMessage, or a producer's own), and one attempt span per
// delivery attempt under it; it carries the trace context into delivery
// tasks and retries (NATS headers) and into the request to the receiver
// (traceparent). A nil *Tracer is tracing off: every method does nothing
// and returns ctx unchanged, so the engine calls them without checks.
type Tracer struct {
	t      *tracing.Tracing
	tracer trace.Tracer
}

// NewTracer returns the dispatcher's tracer over t; nil when t is off.
func NewTracer(t *tracing.Tracing) *Tracer {
	if !t.Enabled() {
		return nil
	}
	return &Tracer{t: t, tracer: t.Tracer(TracerName)}
}

// StartFanout starts the span of fanning out msg, a child of the span
// whose context hdr (the outbound message's NATS headers) carries, or a
// new trace when it carries none. subscribed is how many endpoints the
// message goes to. End the span when the fan-out has handed every
// endpoint's first attempt out (attempts may outlive it: they are its
// children either way).
func (t *Tracer) StartFanout(ctx context.Context, hdr nats.Header, subject string, msg *Message, subscribed int) (context.Context, trace.Span) {
	if t == nil {
		return ctx, noop.Span{}
	}
	ctx = t.t.Extract(ctx, hdr)
	return t.tracer.Start(ctx, "fanout hookgate.out", trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(
			attribute.String("messaging.system", "nats"),
			attribute.String("messaging.operation.type", "process"),
			attribute.String("messaging.destination.name", subject),
			attribute.String("messaging.message.id", msg.ID),
			attrTenant.String(msg.Tenant), attrAppID.String(msg.AppID), attrEventType.String(msg.EventType),
			attrMessageID.String(msg.ID), attrEndpoints.Int(subscribed)))
}

// TaskContext is ctx with the trace context a delivery task or a retry
// carries in its headers (written by InjectTask), for the attempt span of
// a task: its parent is the message's fan-out span.
func (t *Tracer) TaskContext(ctx context.Context, hdr nats.Header) context.Context {
	if t == nil {
		return ctx
	}
	return t.t.Extract(ctx, hdr)
}

// InjectTask writes the trace context of ctx (the fan-out span's, so every
// attempt of a delivery is a sibling under it) into a task's or a retry's
// headers.
func (t *Tracer) InjectTask(ctx context.Context, hdr nats.Header) {
	if t == nil {
		return
	}
	t.t.Inject(ctx, hdr)
}

// CopyTrace copies the trace context headers of src to dst (a retry built
// from its task), whether or not tracing is on here: a dispatcher with
// tracing off keeps the trace of the others.
func CopyTrace(dst, src nats.Header) {
	for _, k := range []string{tracing.TraceParent, tracing.TraceState} {
		if v := src.Get(k); v != "" {
			dst.Set(k, v)
		}
	}
}

// StartAttempt starts the span of attempt number of msg to ep, a child of
// ctx's span (the fan-out span, or the one TaskContext read). Pass the
// returned ctx to Deliverer.Deliver, which puts traceparent on the request
// to the receiver, then call EndAttempt with the attempt's record.
func (t *Tracer) StartAttempt(ctx context.Context, ep *Endpoint, msg *Message, number int, trigger Trigger) (context.Context, trace.Span) {
	if t == nil {
		return ctx, noop.Span{}
	}
	attrs := []attribute.KeyValue{
		attrTenant.String(msg.Tenant), attrMessageID.String(msg.ID), attrEventType.String(msg.EventType),
		attrEndpointID.String(ep.ID), attrAttempt.Int(number), attrTrigger.String(string(trigger)),
		attribute.String("http.request.method", "POST"),
	}
	// The host only: user info, path and query may hold credentials.
	if u, err := url.Parse(ep.URL); err == nil && u.Hostname() != "" {
		attrs = append(attrs, attribute.String("server.address", u.Hostname()))
		if p := u.Port(); p != "" {
			attrs = append(attrs, attribute.String("server.port", p))
		}
	}
	return t.tracer.Start(ctx, "deliver", trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
}

// EndAttempt records a's outcome on its span and ends it: the HTTP status
// when an answer came, the outcome and, for a failure, the error class
// (never the answer's body).
func EndAttempt(span trace.Span, a *Attempt) {
	if !span.IsRecording() {
		span.End()
		return
	}
	outcome := OutcomeSucceeded
	switch {
	case a.ErrorClass == ClassCancelled:
		outcome = OutcomeCancelled
	case !a.Succeeded():
		outcome = OutcomeFailed
	}
	span.SetAttributes(attrOutcome.String(outcome))
	if a.StatusCode != 0 {
		span.SetAttributes(attribute.Int("http.response.status_code", a.StatusCode))
	}
	if a.ErrorClass != "" {
		span.SetAttributes(attribute.String("error.type", string(a.ErrorClass)))
		span.SetStatus(codes.Error, string(a.ErrorClass))
	}
	span.End()
}
