package dispatch_test

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookgate/hookgate/dataplane/dispatch"
	"github.com/hookgate/hookgate/dataplane/streams"
	"github.com/hookgate/hookgate/testkit/poll"
	"github.com/nats-io/nats.go"
)

// publishAgain writes a task as the control plane's ResendMessage and
// RecoverEndpoint do.
func (r *rig) publishAgain(t *testing.T, epID, app, msgID, trigger, payload string) {
	t.Helper()
	m := nats.NewMsg(streams.DeliverSubject(testTenant, epID))
	m.Header.Set(dispatch.TaskMessageID, msgID)
	m.Header.Set(dispatch.TaskAppID, app)
	m.Header.Set(dispatch.TaskEventType, "order.created")
	m.Header.Set(dispatch.TaskTrigger, trigger)
	m.Data = []byte(payload)
	if _, err := r.js.PublishMsg(context.Background(), m); err != nil {
		t.Fatal(err)
	}
}

// TestEngineDeliverAgain: a manual or recover task makes one attempt of a
// delivery whatever its state, numbered after the others, with its
// trigger, and no retries of its own.
func TestEngineDeliverAgain(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	tb := newTable()
	eng := r.start(t, testConfig(), tb, nil)
	tests := []struct {
		name      string
		trigger   string
		again     int // the answer to the attempt sent again
		disable   bool
		want      dispatch.State
		reason    string
		requests  int // in all, the 4 scheduled ones included
		recTrig   dispatch.Trigger
		lastState dispatch.State
	}{
		{"manual after exhaustion succeeds", "manual", 200, false, dispatch.StateSucceeded, "", 5, dispatch.TriggerManual, dispatch.StateSucceeded},
		{"manual fails once, no retries", "manual", 500, false, dispatch.StateFailed, dispatch.ReasonManualFailed, 5, dispatch.TriggerManual, dispatch.StateFailed},
		{"recover succeeds", "recover", 204, false, dispatch.StateSucceeded, "", 5, dispatch.TriggerRecover, dispatch.StateSucceeded},
		{"recover fails", "recover", 503, false, dispatch.StateFailed, dispatch.ReasonRecoverFailed, 5, dispatch.TriggerRecover, dispatch.StateFailed},
		{"disabled endpoint: dropped, state kept", "manual", 200, true, dispatch.StateFailed, dispatch.ReasonExhausted, 4, dispatch.TriggerScheduled, dispatch.StateFailed},
		{"unknown trigger is a scheduled task: dropped", "bogus", 200, false, dispatch.StateFailed, dispatch.ReasonExhausted, 4, dispatch.TriggerScheduled, dispatch.StateFailed},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep, app, msg := "ep_a"+string(rune('0'+i)), "app_a"+string(rune('0'+i)), "msg_a"+string(rune('0'+i))
			s := newSink(t, func(n int, w http.ResponseWriter, _ *http.Request) {
				if n <= 4 {
					w.WriteHeader(500)
					return
				}
				w.WriteHeader(tt.again)
			})
			tb.add(s.endpoint(t, ep), app, "order.created")
			r.publish(t, app, "order.created", msg, `{"n": 1}`)
			waitState(t, eng, msg, ep, dispatch.StateFailed)
			if tt.disable {
				tb.remove(testTenant, ep)
			}
			r.publishAgain(t, ep, app, msg, tt.trigger, `{"n": 1}`)
			// The task is consumed either way; poll for the outcome, then
			// for the records (written before the state).
			poll.NoError(t, waitLong, func() error {
				if n := len(r.attempts(t, ep, msg)); n != tt.requests {
					return errors.New("records not there yet")
				}
				return nil
			})
			if tt.requests == 4 {
				// Nothing to wait for: prove the task left the stream.
				poll.NoError(t, waitLong, func() error { return deliverEmpty(r, ep) })
			}
			d := waitState(t, eng, msg, ep, tt.want)
			if d.Reason != tt.reason || d.Attempts != tt.requests || !d.NextRetry.IsZero() {
				t.Fatalf("delivery %+v, want reason %q, %d attempts", d, tt.reason, tt.requests)
			}
			if got := s.count(); got != tt.requests {
				t.Fatalf("%d requests, want %d", got, tt.requests)
			}
			for _, h := range s.all() {
				if h.verified != nil || string(h.body) != `{"n": 1}` {
					t.Fatalf("request body %q verified %v", h.body, h.verified)
				}
			}
			recs := r.attempts(t, ep, msg)
			last := recs[len(recs)-1]
			if last.Number != tt.requests || last.Trigger != tt.recTrig || last.State != tt.lastState {
				t.Fatalf("last record %+v", last)
			}
		})
	}
}

// deliverEmpty reports whether the endpoint's deliver subject holds no task.
func deliverEmpty(r *rig, ep string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := r.js.Stream(ctx, streams.Deliver)
	if err != nil {
		return err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return err
	}
	c, err := s.Consumer(ctx, dispatch.DefaultDeliverConsumer)
	if err != nil {
		return err
	}
	ci, err := c.Info(ctx)
	if err != nil {
		return err
	}
	if info.State.Msgs != 0 || ci.NumAckPending != 0 {
		return errors.New("tasks remain in " + streams.Deliver + " for " + ep)
	}
	return nil
}

// TestEngineSendTest: a test send is one signed attempt with trigger test,
// recorded, within the rate limit.
func TestEngineSendTest(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	tb := newTable()
	eng := r.start(t, testConfig(), tb, nil)
	good := newSink(t, status(200))
	bad := newSink(t, status(500))
	tb.add(good.endpoint(t, "ep_good"), "app_t")
	tb.add(bad.endpoint(t, "ep_bad"), "app_t")
	limited := good.endpoint(t, "ep_limited")
	limited.RatePerSecond, limited.Burst = 0.01, 1
	tb.add(limited, "app_t")
	tests := []struct {
		name    string
		ep      string
		wantErr error
		class   dispatch.ErrorClass
		code    int
	}{
		{"good receiver", "ep_good", nil, "", 200},
		{"failing receiver", "ep_bad", nil, dispatch.ClassHTTPStatus, 500},
		{"unknown endpoint", "ep_nope", dispatch.ErrEndpointUnknown, "", 0},
		{"first of the rate limit passes", "ep_limited", nil, "", 200},
		{"second waits past the bound", "ep_limited", dispatch.ErrRateLimited, "", 0},
	}
	var n atomic.Int32
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := "msg_test" + string(rune('0'+n.Add(1)))
			msg := &dispatch.Message{ID: id, EventType: "webhook.test", Payload: []byte(`{"type":"webhook.test"}`)}
			rec, seq, err := eng.SendTest(context.Background(), testTenant, tt.ep, msg, 50*time.Millisecond)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil {
				return
			}
			if seq == 0 || rec.Trigger != dispatch.TriggerTest || rec.StatusCode != tt.code || rec.ErrorClass != tt.class || rec.Number != 1 {
				t.Fatalf("record %+v seq %d", rec, seq)
			}
			recs := r.attempts(t, tt.ep, id)
			if len(recs) != 1 || recs[0].Trigger != dispatch.TriggerTest {
				t.Fatalf("stored records %+v", recs)
			}
			if len(deliveries(t, eng, id)) != 0 {
				t.Fatal("a test send wrote a delivery state")
			}
		})
	}
	if hs := good.all(); len(hs) != 2 || hs[0].verified != nil || string(hs[0].body) != `{"type":"webhook.test"}` {
		t.Fatalf("good receiver got %d requests", len(hs))
	}
}
