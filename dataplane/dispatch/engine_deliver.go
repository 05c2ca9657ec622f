package dispatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/hookgate/hookgate/dataplane/streams"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/trace"
)

// slotMargin is added to an attempt's timeout for the TTL of its in-flight
// slot, so a killed dispatcher's slot frees itself soon after.
const slotMargin = 5 * time.Second

// deliver handles one delivery task: one attempt, its record, the
// delivery's new state, and the retry or the ack. The delivery state in
// the bucket is the truth: it numbers attempts (a NakWithDelay hands out
// the same task again) and a task whose delivery ended is dropped.
func (e *Engine) deliver(ctx context.Context, m jetstream.Msg) {
	tenant, endpointID, ok := parseDeliverSubject(m.Subject())
	msgID := m.Headers().Get(TaskMessageID)
	if !ok || !validToken(msgID) {
		// Only dispatchers write tasks: this one is corrupt. Keep a record.
		if err := e.reject(ctx, m, RejectSubject); err != nil {
			_ = m.NakWithDelay(time.Second)
			return
		}
		e.ack(m)
		return
	}
	log := e.log.With("tenant", tenant, "endpoint_id", endpointID, "message_id", msgID)
	if md, err := m.Metadata(); err == nil {
		log.Debug("delivery task", "delivered", md.NumDelivered, "sequence", md.Sequence.Stream)
	}
	if t := taskTrigger(m); t != TriggerScheduled {
		// Sent again by the control plane (engine_manual.go).
		e.deliverAgain(ctx, log, m, tenant, endpointID, msgID, t)
		return
	}
	// The endpoint's local place comes before the state read: a task that
	// has to wait for it costs nothing but its hand-back.
	ep, known := e.endpoints.Endpoint(tenant, endpointID)
	busyKey := tenant + "/" + endpointID
	if known {
		if !e.enter(busyKey) {
			e.later(ctx, m, tenant, endpointID, msgID, e.busyWait(busyKey))
			return
		}
		defer e.leave(busyKey)
	}
	kv, err := e.deliveries(ctx)
	if err != nil {
		log.Warn("deliver", "err", err)
		_ = m.NakWithDelay(time.Second)
		return
	}
	key := stateKey(tenant, msgID, endpointID)
	d, rev, found, err := e.stateOrRecord(ctx, kv, tenant, msgID, endpointID)
	if err != nil {
		if ctx.Err() == nil {
			log.Warn("deliver", "err", err)
			_ = m.NakWithDelay(time.Second)
		}
		return
	}
	if !found {
		now := e.now().UTC()
		d = Delivery{Tenant: tenant, MessageID: msgID, EndpointID: endpointID, AppID: m.Headers().Get(TaskAppID),
			EventType: m.Headers().Get(TaskEventType), State: StatePending, CreatedAt: now}
	}
	if d.Terminal() {
		e.ack(m)
		return
	}
	if !known {
		// Disabled, deleted or unknown: the delivery is cancelled.
		if rev != 0 {
			err = e.cancelKey(ctx, kv, key, ReasonEndpointUnknown)
		} else {
			d.State, d.Reason = StateCancelled, ReasonEndpointUnknown
			err = e.putState(ctx, kv, &d, 0)
		}
		if err != nil && !errors.Is(err, errStale) {
			log.Warn("cancel delivery", "err", err)
			_ = m.NakWithDelay(time.Second)
			return
		}
		e.ack(m)
		return
	}
	limits, err := e.limitsBucket(ctx)
	if err != nil {
		e.later(ctx, m, tenant, endpointID, msgID, e.cfg.BusyDelay)
		return
	}
	release, ok, err := limits.Acquire(ctx, ep, ep.Timeout()+slotMargin)
	if err != nil || !ok {
		if err != nil && ctx.Err() == nil {
			log.Warn("take in-flight slot", "err", err)
		}
		e.later(ctx, m, tenant, endpointID, msgID, e.cfg.BusyDelay)
		return
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	defer release(rctx)
	wait, err := limits.Take(ctx, ep)
	if err != nil || wait > 0 {
		if err != nil && ctx.Err() == nil {
			log.Warn("take rate token", "err", err)
			wait = e.cfg.BusyDelay
		}
		e.later(ctx, m, tenant, endpointID, msgID, wait)
		return
	}

	msg := &Message{ID: msgID, Tenant: tenant, AppID: d.AppID, EventType: d.EventType, Payload: m.Data()}
	e.watch(m)
	defer e.unwatch(m)
	actx := ctx
	var span trace.Span
	if e.tracer != nil {
		actx, span = e.tracer.StartAttempt(e.tracer.TaskContext(ctx, m.Headers()), ep, msg, d.Attempts+1, TriggerScheduled)
	}
	a := e.deliverer.Deliver(actx, ep, msg, d.Attempts+1, TriggerScheduled)
	if span != nil {
		EndAttempt(span, &a)
	}
	if a.ErrorClass == ClassCancelled {
		// The engine is stopping: no ack, so the task is handed out again
		// after AckWait and the attempt made again (at least once).
		return
	}
	c, err := e.conclude(rctx, log, kv, &d, rev, &a, busyKey)
	switch {
	case err != nil:
		log.Warn("write delivery state", "err", err)
		_ = m.NakWithDelay(time.Second)
	case c.pending:
		// The scheduled delay, not what is left of it, picks the mechanism.
		e.laterAt(rctx, m, tenant, endpointID, msgID, c.next, c.delay)
	default:
		e.ack(m)
	}
}

// concluded is what follows an attempt.
type concluded struct {
	// pending: another attempt is due at next, delay after the attempt
	// ended (the scheduled delay picks the mechanism).
	pending bool
	next    time.Time
	delay   time.Duration
}

// conclude records attempt a of delivery d (at revision rev; 0: not
// stored yet) and writes the delivery's new state, then acts on what the
// answer asked (410 disables the endpoint; a last failure is published as
// exhausted). A lost compare-and-set means a cancellation got in first:
// it wins and nothing is scheduled. An error means the state could not be
// written (the caller hands the work out again).
func (e *Engine) conclude(ctx context.Context, log *slog.Logger, kv jetstream.KeyValue, d *Delivery, rev uint64, a *Attempt, busyKey string) (concluded, error) {
	e.noteOutcome(busyKey, a.Succeeded())
	end := a.Time.Add(a.Duration)
	next, state := e.scheduleFor(d.Tenant).Next(a, end)
	reason := ""
	switch {
	case state == StatePending:
		a.NextRetry = next
	case a.Disable != "":
		reason = ReasonEndpointGone
	case state == StateFailed:
		reason = ReasonExhausted
	}
	if err := e.recordAttempt(ctx, d, a, state); err != nil {
		log.Warn("record attempt", "err", err)
	}
	if e.health != nil {
		e.health.Observe(ctx, d.Tenant, a)
	}
	// A delivery not in the bucket whose attempt succeeded stays out of it:
	// its record, written above, is its state (docs/design.md "Delivery
	// state"). A healthy delivery costs one write less.
	for rev != 0 || state != StateSucceeded {
		d.Attempts, d.State, d.Reason = a.Number, state, reason
		d.LastStatusCode, d.LastErrorClass, d.NextRetry = a.StatusCode, a.ErrorClass, a.NextRetry
		err := e.putState(ctx, kv, d, rev)
		if err == nil {
			break
		}
		if !errors.Is(err, errStale) {
			return concluded{}, err
		}
		cur, curRev, found, err := getState(ctx, kv, stateKey(d.Tenant, d.MessageID, d.EndpointID))
		if err != nil {
			return concluded{}, err
		}
		if !found || cur.Terminal() {
			return concluded{}, nil
		}
		*d, rev = cur, curRev
	}
	if a.Disable != "" {
		log.Info("endpoint disabled by its answer", "reason", string(a.Disable))
		if e.onDisable != nil {
			e.onDisable(ctx, d.Tenant, d.EndpointID, a.Disable)
		}
		if err := e.CancelEndpoint(ctx, d.Tenant, d.EndpointID); err != nil {
			log.Warn("cancel disabled endpoint", "err", err)
		}
	}
	if reason == ReasonExhausted {
		e.publishExhausted(d.Tenant, d, end)
	}
	if state != StatePending {
		return concluded{}, nil
	}
	return concluded{pending: true, next: next, delay: next.Sub(end)}, nil
}

// later hands the task out again after wait.
func (e *Engine) later(ctx context.Context, m jetstream.Msg, tenant, endpointID, msgID string, wait time.Duration) {
	e.laterAt(ctx, m, tenant, endpointID, msgID, e.now().Add(wait), wait)
}

// laterAt hands the task out again at the given time: a NakWithDelay when
// the delay is below scheduleThreshold, else a scheduled message on the
// delivery's retry subject (holding no worker and no ack-pending slot) and
// an ack. One schedule per subject, so scheduling again replaces a pending
// one.
func (e *Engine) laterAt(ctx context.Context, m jetstream.Msg, tenant, endpointID, msgID string, at time.Time, delay time.Duration) {
	if delay < scheduleThreshold {
		if err := m.NakWithDelay(max(at.Sub(e.now()), 0)); err != nil {
			e.log.Debug("nak", "err", err)
		}
		return
	}
	if err := e.scheduleRetry(ctx, m, tenant, endpointID, msgID, at); err != nil {
		e.log.Warn("schedule retry", "tenant", tenant, "endpoint_id", endpointID, "err", err)
		_ = m.NakWithDelay(scheduleThreshold)
		return
	}
	e.log.Debug("retry scheduled", "tenant", tenant, "endpoint_id", endpointID, "message_id", msgID, "at", at)
	e.ack(m)
}

func (e *Engine) scheduleRetry(ctx context.Context, m jetstream.Msg, tenant, endpointID, msgID string, at time.Time) error {
	r := nats.NewMsg(streams.RetrySubject(tenant, endpointID, msgID))
	for _, h := range []string{TaskMessageID, TaskAppID, TaskEventType, TaskTimestamp} {
		r.Header.Set(h, m.Headers().Get(h))
	}
	r.Data = m.Data()
	CopyTrace(r.Header, m.Headers())
	return e.publishRetry(ctx, r, tenant, endpointID, msgID, at)
}

// publishRetry publishes r, a task on the delivery's retry subject, to be
// delivered at at.
func (e *Engine) publishRetry(ctx context.Context, r *nats.Msg, tenant, endpointID, msgID string, at time.Time) error {
	// A retry is never deduplicated: its delivery's task may carry the
	// same id within the duplicate window.
	r.Header.Del(jetstream.MsgIDHeader)
	// RFC 3339 with nanoseconds: the server parses fractions (nats.go's
	// WithScheduleAt writes whole seconds).
	r.Header.Set("Nats-Schedule", "@at "+at.UTC().Format(time.RFC3339Nano))
	r.Header.Set("Nats-Schedule-Target", streams.DeliverSubject(tenant, endpointID))
	if _, err := e.js.PublishMsg(ctx, r); err != nil {
		return fmt.Errorf("publish retry of %s: %w", msgID, err)
	}
	return nil
}

// parseDeliverSubject reads hookgate.deliver.{tenant}.{endpoint_id}.
func parseDeliverSubject(s string) (tenant, endpointID string, ok bool) {
	parts := strings.Split(s, ".")
	if len(parts) != 4 || parts[0] != "hookgate" || parts[1] != "deliver" || !validToken(parts[2]) || !validToken(parts[3]) {
		return "", "", false
	}
	return parts[2], parts[3], true
}
