package ingress

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"connectrpc.com/connect"
	"github.com/hookgate/hookgate/dataplane/streams"
	"github.com/hookgate/hookgate/dataplane/tracing"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/gen/hookgate/v1/hookgatev1connect"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// MessagesPath is the Connect path of MessageService.SendMessage, the one
// method of MessageService the edge serves (DESIGN.md "Outbound contract").
const MessagesPath = hookgatev1connect.MessageServiceSendMessageProcedure

// MessagesConfig holds the tunables of SendMessage on the edge.
type MessagesConfig struct {
	// MaxRequestBytes bounds a SendMessage request as it travels (the
	// Connect JSON body or the gRPC message); larger ones are refused
	// without reading them whole.
	MaxRequestBytes int64
	// PublishTimeout bounds the wait for the JetStream acknowledgement;
	// past it the call fails with Unavailable and the producer retries.
	PublishTimeout time.Duration
	// Shard is the slice of tenants the edge serves: a message for another
	// tenant is refused as misdirected (HTTP 421 over Connect and REST,
	// FailedPrecondition over gRPC). The zero Shard is every tenant.
	Shard Shard
}

// DefaultMessagesConfig is a 1 MiB request limit and a 5 s publish timeout.
func DefaultMessagesConfig() MessagesConfig {
	return MessagesConfig{MaxRequestBytes: 1 << 20, PublishTimeout: 5 * time.Second}
}

// Validate reports unusable settings.
func (c MessagesConfig) Validate() error {
	switch {
	case c.MaxRequestBytes < 1<<10:
		return fmt.Errorf("message request limit %d: must be at least 1 KiB", c.MaxRequestBytes)
	case c.PublishTimeout <= 0:
		return fmt.Errorf("message publish timeout %s: must be positive", c.PublishTimeout)
	}
	return nil
}

// ResourceSet is one configuration revision's non-webhook resources, e.g.
// a configsync.Snapshot. It must be a pointer to an immutable value: the
// catalog is rebuilt when the pointer changes.
type ResourceSet interface {
	Resources(prefix string, fn func(*hookgatev1.ConfigResource) bool)
}

// CatalogSource returns the edge's current configuration; ok is false
// until it holds one. It is called on every SendMessage and must be cheap.
type CatalogSource interface {
	Outbound() (rs ResourceSet, ok bool)
}

// MessagesDeps are the collaborators of Messages.
type MessagesDeps struct {
	Source CatalogSource
	// Conn publishes to HOOKGATE_OUTBOUND.
	Conn *nats.Conn
	Log  *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Tracing records a span per call and per publish and puts the trace
	// context in the published message's headers; nil is tracing off.
	Tracing *tracing.Tracing
	// Metrics registers hookgate_edge_messages_misdirected_total; nil
	// registers nothing.
	Metrics prometheus.Registerer
}

// Messages serves MessageService.SendMessage on the edge port: it
// authenticates the producer from the Authorization header before the
// body is read, validates the message against the catalog the edge holds
// and answers only after JetStream acknowledged the publish. It is an
// http.Handler for MessagesPath.
type Messages struct {
	cfg     MessagesConfig
	source  CatalogSource
	js      jetstream.JetStream
	log     *slog.Logger
	now     func() time.Time
	catalog catalogCache
	handler http.Handler
	tr      *edgeTracer // nil: tracing off
	// misdirected counts calls refused for a tenant outside the shard; no
	// tenant label (unbounded).
	misdirected prometheus.Counter
}

// NewMessages returns the SendMessage handler.
func NewMessages(cfg MessagesConfig, deps MessagesDeps) (*Messages, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Source == nil || deps.Conn == nil || deps.Log == nil {
		return nil, errors.New("messages: source, NATS connection and logger are required")
	}
	js, err := jetstream.New(deps.Conn)
	if err != nil {
		return nil, fmt.Errorf("messages: jetstream: %w", err)
	}
	m := &Messages{cfg: cfg, source: deps.Source, js: js, log: deps.Log, now: deps.Now, tr: newEdgeTracer(deps.Tracing)}
	if m.now == nil {
		m.now = time.Now
	}
	m.misdirected = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "hookgate_edge_messages_misdirected_total",
		Help: "SendMessage calls refused for a tenant outside the edge's shard (HTTP 421): a load balancer routing mistake.",
	})
	if deps.Metrics != nil {
		if err := deps.Metrics.Register(m.misdirected); err != nil {
			return nil, fmt.Errorf("messages: register metrics: %w", err)
		}
	}
	unary := connect.NewUnaryHandler(MessagesPath, m.tracedSend, connect.WithReadMaxBytes(int(cfg.MaxRequestBytes)))
	m.handler = m.authenticate(unary)
	return m, nil
}

// ServeHTTP implements http.Handler.
func (m *Messages) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if m.tr != nil {
		var span trace.Span
		r, span = m.tr.startSend(r)
		defer span.End()
	}
	m.handler.ServeHTTP(w, r)
}

// outboundMessage is the JSON data of a message on
// hookgate.out.{tenant}.{app_id}.{event_type} (docs/design.md "Outbound
// message format"), the same as dispatchers read and producers that
// publish straight to the stream write.
type outboundMessage struct {
	ID        string          `json:"id"`
	EventType string          `json:"eventType"`
	Payload   json.RawMessage `json:"payload"`
	Timestamp string          `json:"timestamp"`
}

// maxIdempotencyKey bounds message.event_id.
const maxIdempotencyKey = 256

func (m *Messages) send(ctx context.Context, req *connect.Request[hookgatev1.SendMessageRequest]) (*connect.Response[hookgatev1.SendMessageResponse], error) {
	p, _ := ctx.Value(producerKey{}).(producer)
	cat, ok := m.catalog.current(m.source)
	if !ok {
		return nil, errNoCatalog
	}
	msg := req.Msg.GetMessage()
	tenant, appID, eventType, key := msg.GetTenant(), msg.GetApplicationId(), msg.GetEventType(), msg.GetEventId()
	switch {
	case tenant == "":
		return nil, invalidMessage("message.tenant", "is required")
	case !p.covers(tenant):
		return nil, errTokenOtherTenant
	case !m.cfg.Shard.Serves(tenant):
		// A platform token's call: its tenant is known only now.
		if md, ok := ctx.Value(misdirectKey{}).(*misdirect); ok {
			md.set = true
		}
		m.misdirected.Inc()
		return nil, errMisdirected
	case appID == "":
		return nil, invalidMessage("message.application_id", "is required")
	case eventType == "":
		return nil, invalidMessage("message.event_type", "is required")
	case len(key) > maxIdempotencyKey:
		return nil, invalidMessage("message.event_id", "is longer than %d bytes", maxIdempotencyKey)
	case msg.GetPayload() == nil || msg.GetPayload().GetKind() == nil:
		return nil, invalidMessage("message.payload", "is required")
	}
	if _, isNull := msg.GetPayload().GetKind().(*structpb.Value_NullValue); isNull {
		return nil, invalidMessage("message.payload", "must not be null")
	}
	if !cat.hasApp(tenant, appID) {
		return nil, connect.NewError(connect.CodeNotFound, fmt.Errorf("application %s of tenant %s: not found", appID, tenant))
	}
	et, ok := cat.eventType(tenant, eventType)
	if !ok {
		return nil, connect.NewError(connect.CodeNotFound, fmt.Errorf("event type %s of tenant %s: not found", eventType, tenant))
	}
	if et.archived {
		return nil, connect.NewError(connect.CodeFailedPrecondition, fmt.Errorf("event type %s is archived and accepts no new messages", eventType))
	}
	// encoding/json, not protojson: its output is stable (protojson's
	// spacing varies on purpose), so the same payload is the same bytes.
	payload, err := json.Marshal(msg.GetPayload().AsInterface())
	if err != nil {
		return nil, invalidMessage("message.payload", "is not JSON (NaN and infinities are not numbers)")
	}
	if err := et.validate(payload); err != nil {
		return nil, err
	}
	id := newMessageID()
	if key != "" {
		id = idempotentMessageID(tenant, appID, key)
	}
	now := m.now().UTC().Truncate(time.Second)
	data, err := json.Marshal(outboundMessage{ID: id, EventType: eventType, Payload: payload, Timestamp: now.Format(time.RFC3339)})
	if err != nil {
		return nil, connect.NewError(connect.CodeInternal, errors.New("encode message"))
	}
	out := &hookgatev1.Message{
		Id: id, Tenant: tenant, ApplicationId: appID, EventType: eventType, EventId: key,
		Payload: msg.GetPayload(), CreateTime: timestamppb.New(now),
	}
	ack, err := m.publish(ctx, tenant, appID, eventType, id, data)
	if err != nil {
		m.log.WarnContext(ctx, "publish outbound message", "tenant", tenant, "err", err)
		return nil, connect.NewError(connect.CodeUnavailable, errors.New("the message was not stored (JetStream did not acknowledge it); retry with the same idempotency key"))
	}
	if ack.Duplicate {
		// A repeat within the duplicate window: JetStream kept the first
		// message and stored nothing; answer with the first one.
		if first, ok := m.first(ctx, ack.Sequence, id); ok {
			out.Payload, out.CreateTime = first.payload, first.created
		}
	}
	m.log.DebugContext(ctx, "message sent", "tenant", tenant, "message_id", id, "duplicate", ack.Duplicate)
	return connect.NewResponse(&hookgatev1.SendMessageResponse{Message: out}), nil
}

func (m *Messages) publish(ctx context.Context, tenant, appID, eventType, id string, data []byte) (*jetstream.PubAck, error) {
	ctx, cancel := context.WithTimeout(ctx, m.cfg.PublishTimeout)
	defer cancel()
	nm := nats.NewMsg(streams.OutboundMessageSubject(tenant, appID, eventType))
	nm.Data = data
	nm.Header.Set(jetstream.MsgIDHeader, id)
	nm.Header.Set("Hookgate-Tenant", tenant)
	nm.Header.Set("Hookgate-Application-Id", appID)
	nm.Header.Set("Hookgate-Message-Id", id)
	var span trace.Span
	if m.tr != nil {
		span = m.tr.startPublish(ctx, nm, attrMessageID.String(id))
	}
	ack, err := m.js.PublishMsg(ctx, nm, jetstream.WithExpectStream(streams.Outbound))
	if span != nil {
		endPublish(span, err)
	}
	if err != nil {
		return nil, fmt.Errorf("publish message to %s: %w", streams.Outbound, err)
	}
	return ack, nil
}

type firstMessage struct {
	payload *structpb.Value
	created *timestamppb.Timestamp
}

// first reads the message a duplicate publish was folded into, to answer
// with its payload and time; false when it cannot (the answer then echoes
// the request, with the same id).
func (m *Messages) first(ctx context.Context, seq uint64, id string) (firstMessage, bool) {
	ctx, cancel := context.WithTimeout(ctx, m.cfg.PublishTimeout)
	defer cancel()
	st, err := m.js.Stream(ctx, streams.Outbound)
	if err != nil {
		return firstMessage{}, false
	}
	raw, err := st.GetMsg(ctx, seq)
	if err != nil {
		return firstMessage{}, false
	}
	var om outboundMessage
	if json.Unmarshal(raw.Data, &om) != nil || om.ID != id {
		return firstMessage{}, false
	}
	var v structpb.Value
	if protojson.Unmarshal(om.Payload, &v) != nil {
		return firstMessage{}, false
	}
	ts, err := time.Parse(time.RFC3339, om.Timestamp)
	if err != nil {
		return firstMessage{}, false
	}
	return firstMessage{payload: &v, created: timestamppb.New(ts)}, true
}

var errNoCatalog = connect.NewError(connect.CodeUnavailable, errors.New("the edge has no configuration yet; retry shortly"))

func invalidMessage(field, format string, args ...any) error {
	return connect.NewError(connect.CodeInvalidArgument, fmt.Errorf(field+": "+format, args...))
}

// newMessageID returns "msg_" and 20 random characters, like other ids.
func newMessageID() string { return "msg_" + randomID() }

// idempotentMessageID derives the message id of an idempotency key: the
// same tenant, application and key always give the same id, so a repeat is
// the same Nats-Msg-Id and JetStream stores it once within the stream's
// duplicate window. Each field goes in with its length, so no two field
// lists hash the same input.
func idempotentMessageID(tenant, appID, key string) string {
	p := appendField(nil, "message")
	p = appendField(p, tenant)
	p = appendField(p, appID)
	p = appendField(p, key)
	sum := sha256.Sum256(p)
	return "msg_" + encodeID(sum[:20])
}
