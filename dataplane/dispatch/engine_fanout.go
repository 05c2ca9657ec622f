package dispatch

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hookgate/hookgate/dataplane/streams"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/trace"
)

// Headers of a delivery task on hookgate.deliver.{tenant}.{endpoint_id};
// its body is the message payload, byte for byte.
const (
	TaskMessageID = "Hookgate-Message-Id"
	TaskAppID     = "Hookgate-App-Id"
	TaskEventType = "Hookgate-Event-Type"
	TaskTimestamp = "Hookgate-Timestamp"
)

// OutboundMessage is the JSON body of a message on
// hookgate.out.{tenant}.{app_id}.{event_type} (docs/design.md "Outbound
// message format"). Payload is kept as sent and becomes the delivered body.
type OutboundMessage struct {
	ID        string          `json:"id"`
	EventType string          `json:"eventType"`
	Payload   json.RawMessage `json:"payload"`
	Timestamp time.Time       `json:"timestamp,omitzero"`
}

// Reasons an outbound message is refused.
const (
	RejectSubject   = "bad_subject"
	RejectJSON      = "bad_json"
	RejectID        = "bad_id"
	RejectEventType = "event_type_mismatch"
	RejectPayload   = "bad_payload"
)

// Rejected is the record of a refused outbound message, on
// hookgate.rejected.{tenant}.{app_id} ("_" for a token the subject lacks).
type Rejected struct {
	Tenant    string    `json:"tenant"`
	AppID     string    `json:"appId"`
	Subject   string    `json:"subject"`
	Sequence  uint64    `json:"sequence"`
	MessageID string    `json:"messageId,omitempty"`
	Reason    string    `json:"reason"`
	Time      time.Time `json:"time"`
	// Data is the first MaxResponse bytes of the refused body.
	Data []byte `json:"data,omitempty"`
	Size int    `json:"size"`
}

// maxIDLen bounds ids used as subject tokens and KV keys.
const maxIDLen = 128

// validToken reports whether s can be one subject token and one KV key
// segment: letters, digits, '_' and '-'.
func validToken(s string) bool {
	if s == "" || len(s) > maxIDLen {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// ParseOutbound reads a message published on subject. It returns the
// message, or a refusal reason.
func ParseOutbound(subject string, data []byte) (*Message, time.Time, string) {
	parts := strings.SplitN(subject, ".", 5)
	if len(parts) != 5 || parts[0] != "hookgate" || parts[1] != "out" || !validToken(parts[2]) || !validToken(parts[3]) || parts[4] == "" {
		return nil, time.Time{}, RejectSubject
	}
	om, ok := decodeOutbound(data)
	if !ok {
		return nil, time.Time{}, RejectJSON
	}
	if !validToken(om.ID) {
		return nil, time.Time{}, RejectID
	}
	if om.EventType != parts[4] {
		return nil, time.Time{}, RejectEventType
	}
	if len(om.Payload) == 0 || string(om.Payload) == "null" {
		return nil, time.Time{}, RejectPayload
	}
	return &Message{ID: om.ID, Tenant: parts[2], AppID: parts[3], EventType: om.EventType, Payload: om.Payload}, om.Timestamp, ""
}

// fanout turns one outbound message into a delivery per subscribed
// endpoint, then acknowledges it. On its first delivery each endpoint's
// first attempt is made at once (fanoutFirst); a message handed out again
// (a replica died, or something failed) takes the durable way: a task per
// endpoint (fanoutMessage), whose ids ({message}.{endpoint}) make a second
// fan-out add nothing within the duplicate window, with states created
// only when absent.
func (e *Engine) fanout(ctx context.Context, m jetstream.Msg) {
	msg, ts, reason := ParseOutbound(m.Subject(), m.Data())
	if reason != "" {
		if err := e.reject(ctx, m, reason); err != nil {
			e.log.Warn("record rejected message", "err", err)
			_ = m.NakWithDelay(time.Second)
			return
		}
		e.ack(m)
		return
	}
	if e.tracer != nil {
		var span trace.Span
		ctx, span = e.tracer.StartFanout(ctx, m.Headers(), m.Subject(), msg, len(e.subscribed(msg)))
		defer span.End()
	}
	md, mdErr := m.Metadata()
	if ts.IsZero() && mdErr == nil {
		ts = md.Timestamp
	}
	if mdErr == nil && md.NumDelivered == 1 {
		e.fanoutFirst(ctx, m, msg, ts)
		return
	}
	if err := e.fanoutMessage(ctx, msg, ts); err != nil {
		if ctx.Err() == nil {
			e.log.Warn("fan out message", "tenant", msg.Tenant, "message_id", msg.ID, "err", err)
			_ = m.NakWithDelay(time.Second)
		}
		return
	}
	e.ack(m)
}

// subscribed is the message's endpoints that can be delivered to.
func (e *Engine) subscribed(msg *Message) []*Endpoint {
	eps := e.endpoints.Subscribed(msg.Tenant, msg.AppID, msg.EventType)
	out := eps[:0:0]
	for _, ep := range eps {
		if validToken(ep.ID) {
			out = append(out, ep)
		}
	}
	return out
}

func (e *Engine) fanoutMessage(ctx context.Context, msg *Message, ts time.Time) error {
	kv, err := e.deliveries(ctx)
	if err != nil {
		return err
	}
	eps := e.subscribed(msg)
	futures := make([]jetstream.PubAckFuture, 0, len(eps))
	for _, ep := range eps {
		// A delivery whose first attempt succeeded before the message was
		// handed out again is only a record: not sent again.
		d, rev, found, err := e.stateOrRecord(ctx, kv, msg.Tenant, msg.ID, ep.ID)
		if err != nil {
			return err
		}
		if found && rev == 0 && d.Terminal() {
			continue
		}
		if err := e.createState(ctx, kv, msg, ep.ID); err != nil {
			return err
		}
		f, err := e.js.PublishMsgAsync(e.taskMsg(ctx, streams.DeliverSubject(msg.Tenant, ep.ID), msg, ep.ID, ts))
		if err != nil {
			return fmt.Errorf("publish task for endpoint %s: %w", ep.ID, err)
		}
		futures = append(futures, f)
	}
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return fmt.Errorf("publish task: %w", err)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// taskMsg is the delivery task of msg for an endpoint, on subject,
// carrying the trace context of ctx (the fan-out span's).
func (e *Engine) taskMsg(ctx context.Context, subject string, msg *Message, endpointID string, ts time.Time) *nats.Msg {
	t := nats.NewMsg(subject)
	t.Header.Set(jetstream.MsgIDHeader, msg.ID+"."+endpointID)
	t.Header.Set(TaskMessageID, msg.ID)
	t.Header.Set(TaskAppID, msg.AppID)
	t.Header.Set(TaskEventType, msg.EventType)
	t.Header.Set(TaskTimestamp, ts.UTC().Format(time.RFC3339Nano))
	t.Data = msg.Payload
	e.tracer.InjectTask(ctx, t.Header)
	return t
}

// fanTrack acknowledges an outbound message once the first attempt of
// each of its endpoints was concluded or handed to a task; if any could not
// be, the message is handed out again and takes the durable way.
type fanTrack struct {
	m      jetstream.Msg
	left   atomic.Int64
	failed atomic.Bool
}

func (e *Engine) fanDone(t *fanTrack, n int64, ok bool) {
	if !ok {
		t.failed.Store(true)
	}
	if t.left.Add(-n) != 0 {
		return
	}
	e.unwatch(t.m)
	if t.failed.Load() {
		_ = t.m.NakWithDelay(time.Second)
		return
	}
	e.ack(t.m)
}

// fanoutFirst makes the first attempt of every endpoint of msg, each in a
// worker slot of its own, without writing a task or a pending state first:
// a delivery's state is first written when its first attempt ends (or when
// it is handed to a task because its endpoint is busy, limited or failing
// here). This spares a healthy delivery four JetStream writes and reads.
func (e *Engine) fanoutFirst(ctx context.Context, m jetstream.Msg, msg *Message, ts time.Time) {
	eps := e.subscribed(msg)
	if len(eps) == 0 {
		e.ack(m)
		return
	}
	kv, err := e.deliveries(ctx)
	if err != nil {
		e.log.Warn("fan out message", "tenant", msg.Tenant, "message_id", msg.ID, "err", err)
		_ = m.NakWithDelay(time.Second)
		return
	}
	t := &fanTrack{m: m}
	t.left.Store(int64(len(eps)))
	e.watch(m)
	for i, ep := range eps {
		if !e.acquire(ctx) {
			// Stopping: the message is handed out again.
			e.fanDone(t, int64(len(eps)-i), false)
			return
		}
		e.work(func() { e.fanDone(t, 1, e.firstAttempt(ctx, kv, msg, ts, ep)) })
	}
}

// firstAttempt makes attempt 1 of msg to ep, or hands it to a task when
// the endpoint cannot take it now. False when neither could be concluded.
func (e *Engine) firstAttempt(ctx context.Context, kv jetstream.KeyValue, msg *Message, ts time.Time, ep *Endpoint) bool {
	log := e.log.With("tenant", msg.Tenant, "endpoint_id", ep.ID, "message_id", msg.ID)
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	// queue hands the delivery to a task: at once, or scheduled for at.
	queue := func(at time.Time) error {
		if at.IsZero() {
			_, err := e.js.PublishMsg(rctx, e.taskMsg(ctx, streams.DeliverSubject(msg.Tenant, ep.ID), msg, ep.ID, ts))
			return err
		}
		return e.publishRetry(rctx, e.taskMsg(ctx, streams.RetrySubject(msg.Tenant, ep.ID, msg.ID), msg, ep.ID, ts), msg.Tenant, ep.ID, msg.ID, at)
	}
	handoffAt := func(at time.Time) bool {
		if err := e.createState(rctx, kv, msg, ep.ID); err != nil {
			log.Warn("hand delivery to a task", "err", err)
			return false
		}
		if err := queue(at); err != nil {
			log.Warn("hand delivery to a task", "err", err)
			return false
		}
		return true
	}
	handoff := func() bool { return handoffAt(time.Time{}) }
	busyKey := msg.Tenant + "/" + ep.ID
	if !e.enter(busyKey) {
		if wait := e.busyWait(busyKey); wait >= scheduleThreshold {
			// A failing endpoint's place is taken: the task would only
			// come up to be put off for wait. Scheduled for then at once,
			// it costs one write and one delivery less.
			return handoffAt(e.now().Add(wait))
		}
		return handoff()
	}
	defer e.leave(busyKey)
	limits, err := e.limitsBucket(ctx)
	if err != nil {
		return handoff()
	}
	release, ok, err := limits.Acquire(ctx, ep, ep.Timeout()+slotMargin)
	if err != nil || !ok {
		return handoff()
	}
	defer release(rctx)
	if wait, err := limits.Take(ctx, ep); err != nil || wait > 0 {
		return handoff()
	}
	actx := ctx
	var span trace.Span
	if e.tracer != nil {
		actx, span = e.tracer.StartAttempt(ctx, ep, msg, 1, TriggerScheduled)
	}
	a := e.deliverer.Deliver(actx, ep, msg, 1, TriggerScheduled)
	if span != nil {
		EndAttempt(span, &a)
	}
	if a.ErrorClass == ClassCancelled {
		return false
	}
	d := Delivery{Tenant: msg.Tenant, MessageID: msg.ID, EndpointID: ep.ID, AppID: msg.AppID,
		EventType: msg.EventType, State: StatePending, CreatedAt: a.Time.UTC()}
	c, err := e.conclude(rctx, log, kv, &d, 0, &a, busyKey)
	if err != nil {
		log.Warn("write delivery state", "err", err)
		return false
	}
	if !c.pending {
		return true
	}
	var at time.Time // no delay: a task at once
	if c.delay > 0 {
		at = c.next
	}
	if err := queue(at); err != nil {
		log.Warn("schedule retry", "err", err)
		return false
	}
	return true
}

// reject records a refused outbound message; it is acknowledged only once
// the record is stored, so nothing is dropped silently.
func (e *Engine) reject(ctx context.Context, m jetstream.Msg, reason string) error {
	r := Rejected{Tenant: "_", AppID: "_", Subject: m.Subject(), Reason: reason, Time: e.now().UTC(), Size: len(m.Data())}
	if parts := strings.SplitN(m.Subject(), ".", 5); len(parts) >= 4 {
		if validToken(parts[2]) {
			r.Tenant = parts[2]
		}
		if validToken(parts[3]) {
			r.AppID = parts[3]
		}
	}
	var idOnly struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(m.Data(), &idOnly) == nil && validToken(idOnly.ID) {
		r.MessageID = idOnly.ID
	}
	if md, err := m.Metadata(); err == nil {
		r.Sequence = md.Sequence.Stream
	}
	r.Data = m.Data()[:min(len(m.Data()), MaxResponse)]
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode rejected record: %w", err)
	}
	if _, err := e.js.Publish(ctx, streams.RejectedSubject(r.Tenant, r.AppID), b); err != nil {
		return fmt.Errorf("publish rejected record: %w", err)
	}
	e.log.Debug("outbound message rejected", "tenant", r.Tenant, "reason", reason)
	return nil
}

func (e *Engine) ack(m jetstream.Msg) {
	if err := m.Ack(); err != nil {
		e.log.Debug("ack", "err", err)
	}
}
