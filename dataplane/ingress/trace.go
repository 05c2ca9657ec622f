package ingress

import (
	"context"
	"net/http"

	"connectrpc.com/connect"
	"github.com/hookgate/hookgate/dataplane/envelope"
	"github.com/hookgate/hookgate/dataplane/tracing"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// TracerName is the instrumentation scope of the edge's spans.
const TracerName = "github.com/hookgate/hookgate/dataplane/ingress"

// Span attribute keys. Values never hold a key, token, secret, query
// string, header value or body (docs/design.md "Tracing").
const (
	attrTenant    = attribute.Key("hookgate.tenant")
	attrWebhookID = attribute.Key("hookgate.webhook_id")
	attrEventID   = attribute.Key("hookgate.event_id")
	attrMessageID = attribute.Key("hookgate.message_id")
	attrAppID     = attribute.Key("hookgate.application_id")
	attrEventType = attribute.Key("hookgate.event_type")
	attrOutcome   = attribute.Key("hookgate.outcome")
)

// edgeTracer holds the edge's tracer; nil when tracing is off, so the hot
// path pays one nil check and nothing else.
type edgeTracer struct {
	t      *tracing.Tracing
	tracer trace.Tracer
}

func newEdgeTracer(t *tracing.Tracing) *edgeTracer {
	if !t.Enabled() {
		return nil
	}
	return &edgeTracer{t: t, tracer: t.Tracer(TracerName)}
}

// startRequest starts the span of an inbound call, continuing the
// caller's trace when it sent a traceparent, and returns the request with
// the span's context. The query string (which may hold ?key=) is never
// recorded; the path holds only the tenant and webhook id.
func (et *edgeTracer) startRequest(r *http.Request) (*http.Request, trace.Span) {
	ctx := et.t.ExtractHTTP(r.Context(), r.Header)
	attrs := []attribute.KeyValue{
		attribute.String("http.request.method", r.Method),
		attribute.String("http.route", "/in/{tenant}/{webhook_id}"),
	}
	if tenant, id, ok := envelope.ParsePath(r.URL.EscapedPath()); ok {
		attrs = append(attrs, attrTenant.String(tenant), attrWebhookID.String(id))
	}
	ctx, span := et.tracer.Start(ctx, r.Method+" /in/{tenant}/{webhook_id}",
		trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attrs...))
	return r.WithContext(ctx), span
}

// endRequest records the answer of a call on its span and ends it: the
// status, the reason's metric label and, once accepted, the event id. 5xx
// answers mark the span as an error (the edge's trouble, not the
// sender's).
func endRequest(span trace.Span, out outcome) {
	info := reasons[out.reason]
	status := info.status
	if out.handshake != nil {
		status = out.handshake.Status
	}
	span.SetAttributes(attribute.Int("http.response.status_code", status), attrOutcome.String(info.label))
	if out.eventID != "" {
		span.SetAttributes(attrEventID.String(out.eventID))
	}
	if status >= 500 {
		span.SetStatus(codes.Error, info.label)
	}
	span.End()
}

// startPublish starts the producer span of one JetStream publish to
// subject and writes its context into the message's headers (traceparent,
// tracestate), so a consumer's work joins the caller's trace.
func (et *edgeTracer) startPublish(ctx context.Context, m *nats.Msg, attrs ...attribute.KeyValue) trace.Span {
	attrs = append(attrs,
		attribute.String("messaging.system", "nats"),
		attribute.String("messaging.operation.type", "send"),
		attribute.String("messaging.destination.name", m.Subject),
		attribute.String("messaging.message.id", m.Header.Get("Nats-Msg-Id")))
	ctx, span := et.tracer.Start(ctx, "publish "+subjectRoot(m.Subject),
		trace.WithSpanKind(trace.SpanKindProducer), trace.WithAttributes(attrs...))
	et.t.Inject(ctx, m.Header)
	return span
}

// endPublish ends a publish span with its outcome.
func endPublish(span trace.Span, err error) {
	if err != nil {
		span.SetStatus(codes.Error, classifyPublish(err).what)
	}
	span.End()
}

// subjectRoot is the fixed start of a Hookgate subject ("hookgate.in",
// "hookgate.out"), a span name of low cardinality; the full subject is an
// attribute.
func subjectRoot(s string) string {
	dots := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			if dots++; dots == 2 {
				return s[:i]
			}
		}
	}
	return s
}

// startSend starts the span of a SendMessage call (Connect, gRPC,
// gRPC-Web or its REST path), continuing the caller's trace.
func (et *edgeTracer) startSend(r *http.Request) (*http.Request, trace.Span) {
	ctx := et.t.ExtractHTTP(r.Context(), r.Header)
	ctx, span := et.tracer.Start(ctx, "hookgate.v1.MessageService/SendMessage", trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(
			attribute.String("rpc.system", "connect_rpc"),
			attribute.String("rpc.service", "hookgate.v1.MessageService"),
			attribute.String("rpc.method", "SendMessage")))
	return r.WithContext(ctx), span
}

// tracedSend is send with its outcome on the call's span: the message's
// tenant, application, event type and id, or the error's Connect code
// (the message text stays out: it may quote the request).
func (m *Messages) tracedSend(ctx context.Context, req *connect.Request[hookgatev1.SendMessageRequest]) (*connect.Response[hookgatev1.SendMessageResponse], error) {
	resp, err := m.send(ctx, req)
	if m.tr == nil {
		return resp, err
	}
	span := trace.SpanFromContext(ctx)
	msg := req.Msg.GetMessage()
	span.SetAttributes(attrTenant.String(msg.GetTenant()), attrAppID.String(msg.GetApplicationId()), attrEventType.String(msg.GetEventType()))
	if err != nil {
		code := connect.CodeOf(err)
		span.SetAttributes(attribute.String("rpc.response.status_code", code.String()))
		if code == connect.CodeInternal || code == connect.CodeUnavailable || code == connect.CodeUnknown {
			span.SetStatus(codes.Error, code.String())
		}
		return resp, err
	}
	span.SetAttributes(attrMessageID.String(resp.Msg.GetMessage().GetId()))
	return resp, err
}
