package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// TaskTrigger is the header of a delivery task that the control plane
// published to deliver a message again (ResendMessage: manual,
// RecoverEndpoint: recover). Tasks of the engine's own carry none.
const TaskTrigger = "Hookgate-Trigger"

// Reasons a delivery sent again ended failed: the one attempt it was given
// failed (docs/design.md "Replay, recovery and test sends").
const (
	ReasonManualFailed  = "manual_failed"
	ReasonRecoverFailed = "recover_failed"
)

// taskTrigger reads a task's trigger; anything but manual or recover is a
// scheduled task.
func taskTrigger(m jetstream.Msg) Trigger {
	switch t := Trigger(m.Headers().Get(TaskTrigger)); t {
	case TriggerManual, TriggerRecover:
		return t
	}
	return TriggerScheduled
}

// deliverAgain handles a task sent by the control plane: one attempt now,
// whatever the delivery's state, numbered after the attempts made, and no
// retries of its own. A terminal delivery becomes succeeded or failed
// (reason manual_failed / recover_failed); a pending one keeps waiting for
// its scheduled retry when the attempt fails, and a success ends it (the
// retry then finds it terminal). A disabled or unknown endpoint drops the
// task and leaves the delivery as it was.
func (e *Engine) deliverAgain(ctx context.Context, log *slog.Logger, m jetstream.Msg, tenant, endpointID, msgID string, trigger Trigger) {
	log = log.With("trigger", string(trigger))
	kv, err := e.deliveries(ctx)
	if err != nil {
		log.Warn("deliver again", "err", err)
		_ = m.NakWithDelay(time.Second)
		return
	}
	d, rev, found, err := e.stateOrRecord(ctx, kv, tenant, msgID, endpointID)
	if err != nil {
		if ctx.Err() == nil {
			log.Warn("deliver again", "err", err)
			_ = m.NakWithDelay(time.Second)
		}
		return
	}
	if !found {
		d = Delivery{Tenant: tenant, MessageID: msgID, EndpointID: endpointID, AppID: m.Headers().Get(TaskAppID),
			EventType: m.Headers().Get(TaskEventType), State: StatePending, CreatedAt: e.now().UTC()}
	}
	ep, ok := e.endpoints.Endpoint(tenant, endpointID)
	if !ok {
		log.Info("task dropped: endpoint disabled or unknown")
		e.ack(m)
		return
	}
	// A wait is always a NakWithDelay, never a scheduled message: the
	// delivery's retry subject holds at most one schedule, and this task's
	// would replace a pending delivery's own retry.
	busyKey := tenant + "/" + endpointID
	if !e.enter(busyKey) {
		_ = m.NakWithDelay(e.cfg.BusyDelay)
		return
	}
	defer e.leave(busyKey)
	limits, err := e.limitsBucket(ctx)
	if err != nil {
		_ = m.NakWithDelay(e.cfg.BusyDelay)
		return
	}
	release, ok, err := limits.Acquire(ctx, ep, ep.Timeout()+slotMargin)
	if err != nil || !ok {
		_ = m.NakWithDelay(e.cfg.BusyDelay)
		return
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	defer release(rctx)
	wait, err := limits.Take(ctx, ep)
	if err != nil || wait > 0 {
		if err != nil {
			wait = e.cfg.BusyDelay
		}
		_ = m.NakWithDelay(wait)
		return
	}
	msg := &Message{ID: msgID, Tenant: tenant, AppID: d.AppID, EventType: d.EventType, Payload: m.Data()}
	e.watch(m)
	defer e.unwatch(m)
	a := e.deliverer.Deliver(ctx, ep, msg, d.Attempts+1, trigger)
	if a.ErrorClass == ClassCancelled {
		return // handed out again after AckWait, like a scheduled task
	}
	if err := e.concludeAgain(rctx, log, kv, &d, rev, &a, busyKey); err != nil {
		log.Warn("write delivery state", "err", err)
		_ = m.NakWithDelay(time.Second)
		return
	}
	e.ack(m)
}

// concludeAgain records attempt a of a delivery sent again and writes the
// delivery's new state (compare-and-set, re-read on conflict).
func (e *Engine) concludeAgain(ctx context.Context, log *slog.Logger, kv jetstream.KeyValue, d *Delivery, rev uint64, a *Attempt, busyKey string) error {
	e.noteOutcome(busyKey, a.Succeeded())
	outcome := func(cur *Delivery) (State, string) {
		switch {
		case a.Succeeded():
			return StateSucceeded, ""
		case a.Disable != "":
			return StateFailed, ReasonEndpointGone
		case cur.State == StatePending && cur.Attempts > 0:
			// Its own retry is still scheduled.
			return StatePending, ""
		case a.Trigger == TriggerRecover:
			return StateFailed, ReasonRecoverFailed
		default:
			return StateFailed, ReasonManualFailed
		}
	}
	state, reason := outcome(d)
	if state == StatePending {
		a.NextRetry = d.NextRetry
	}
	if err := e.recordAttempt(ctx, d, a, state); err != nil {
		log.Warn("record attempt", "err", err)
	}
	if e.health != nil {
		e.health.Observe(ctx, d.Tenant, a)
	}
	for range casAttempts {
		state, reason = outcome(d)
		d.Attempts, d.State, d.Reason = max(d.Attempts, a.Number), state, reason
		d.LastStatusCode, d.LastErrorClass = a.StatusCode, a.ErrorClass
		if state != StatePending {
			d.NextRetry = time.Time{}
		}
		err := e.putState(ctx, kv, d, rev)
		if err == nil {
			break
		}
		if !errors.Is(err, errStale) {
			return err
		}
		cur, curRev, found, err := getState(ctx, kv, stateKey(d.Tenant, d.MessageID, d.EndpointID))
		if err != nil {
			return err
		}
		if !found {
			curRev = 0
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
	return nil
}

// Test sends (SendTestPing, SendExample) are answered with these errors.
var (
	// ErrEndpointUnknown: the endpoint is disabled, deleted or not in this
	// dispatcher's configuration yet.
	ErrEndpointUnknown = errors.New("endpoint disabled or unknown to the dispatcher")
	// ErrRateLimited: no rate token or in-flight slot came free in time.
	ErrRateLimited = errors.New("endpoint rate limit or in-flight cap: no slot within the wait")
)

// SendTest makes one signed attempt of msg to an endpoint with trigger
// test, now, respecting the endpoint's shared rate limit and in-flight cap
// (waiting at most wait for them), and records it like any attempt (state
// succeeded or failed; no delivery state: a test is no delivery). It
// returns the record and its stream sequence (the attempt id's number).
func (e *Engine) SendTest(ctx context.Context, tenant, endpointID string, msg *Message, wait time.Duration) (AttemptRecord, uint64, error) {
	ep, ok := e.endpoints.Endpoint(tenant, endpointID)
	if !ok {
		return AttemptRecord{}, 0, ErrEndpointUnknown
	}
	limits, err := e.limitsBucket(ctx)
	if err != nil {
		return AttemptRecord{}, 0, err
	}
	if !e.acquire(ctx) {
		return AttemptRecord{}, 0, ctx.Err()
	}
	defer e.release()
	deadline := e.now().Add(wait)
	var release func(context.Context)
	for {
		rel, ok, err := limits.Acquire(ctx, ep, ep.Timeout()+slotMargin)
		if err != nil {
			return AttemptRecord{}, 0, err
		}
		pause := e.cfg.BusyDelay
		if ok {
			w, err := limits.Take(ctx, ep)
			if err != nil {
				rel(ctx)
				return AttemptRecord{}, 0, err
			}
			if w == 0 {
				release = rel
				break
			}
			rel(ctx)
			pause = w
		}
		if e.now().Add(pause).After(deadline) {
			return AttemptRecord{}, 0, ErrRateLimited
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return AttemptRecord{}, 0, ctx.Err()
		case <-t.C:
		}
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	defer release(rctx)
	msg.Tenant = tenant
	a := e.deliverer.Deliver(ctx, ep, msg, 1, TriggerTest)
	if a.ErrorClass == ClassCancelled {
		return AttemptRecord{}, 0, ctx.Err()
	}
	state := StateFailed
	if a.Succeeded() {
		state = StateSucceeded
	}
	rec := newAttemptRecord(tenant, &a, state)
	rec.NextRetry = time.Time{}
	// On its own: a test send may come while the engine is not running.
	seq, err := e.storeRecord(rctx, rec, msg.EventType, nil)
	if err != nil {
		return rec, 0, err
	}
	return rec, seq, nil
}

// Test sends travel as NATS requests from the control plane to any
// dispatcher (docs/design.md "Replay, recovery and test sends").
const (
	// TestSubjectPrefix + tenant is the subject of a test-send request.
	TestSubjectPrefix = "hookgate.dispatch.test."
	// TestQueue is the dispatchers' queue group: one of them answers.
	TestQueue = "hookgate-dispatch-test"
	// TestWait bounds how long a test send waits for the endpoint's rate
	// token or in-flight slot.
	TestWait = 5 * time.Second
)

// TestRequest is the JSON body of a test-send request.
type TestRequest struct {
	Tenant     string          `json:"tenant"`
	EndpointID string          `json:"endpointId"`
	MessageID  string          `json:"messageId"`
	EventType  string          `json:"eventType"`
	Payload    json.RawMessage `json:"payload"`
}

// Codes of a refused test send (TestReply.Code).
const (
	TestCodeEndpointUnknown = "endpoint_unknown"
	TestCodeRateLimited     = "rate_limited"
	TestCodeBadRequest      = "bad_request"
	TestCodeInternal        = "internal"
)

// TestReply answers a test send: the attempt's record and its sequence, or
// a code and a message (no secrets) when no attempt was recorded.
type TestReply struct {
	Sequence uint64         `json:"sequence,omitempty"`
	Record   *AttemptRecord `json:"record,omitempty"`
	Code     string         `json:"code,omitempty"`
	Error    string         `json:"error,omitempty"`
}
