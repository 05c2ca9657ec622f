package dispatch_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/hookgate/hookgate/dataplane/dispatch"
	"github.com/hookgate/hookgate/dataplane/streams"
	"github.com/hookgate/hookgate/testkit/poll"
	"github.com/nats-io/nats.go/jetstream"
)

// TestEngineFirstSuccessIsARecord: a delivery whose first attempt succeeds
// writes its attempt record and no state; the record stands for the state
// wherever one is read (Deliveries, a manual resend's numbering).
func TestEngineFirstSuccessIsARecord(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	tb := newTable()
	s := newSink(t, status(200))
	tb.add(s.endpoint(t, "ep_r"), "app_r", "order.created")
	eng := r.start(t, testConfig(), tb, nil)

	r.publish(t, "app_r", "order.created", "msg_r", `{"r":1}`)
	d := waitState(t, eng, "msg_r", "ep_r", dispatch.StateSucceeded)
	if d.Attempts != 1 || d.AppID != "app_r" || d.EventType != "order.created" || d.LastStatusCode != 200 {
		t.Fatalf("delivery %+v, want 1 attempt of app_r's order.created answered 200", d)
	}
	kv, err := r.js.KeyValue(context.Background(), streams.Deliveries)
	if err != nil {
		t.Fatal(err)
	}
	if e, err := kv.Get(context.Background(), testTenant+".msg_r.ep_r"); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Fatalf("state in the bucket (%v, %v), want none: the record is the state", e, err)
	}
	recs := r.attempts(t, "ep_r", "msg_r")
	if len(recs) != 1 || recs[0].State != dispatch.StateSucceeded || recs[0].AppID != "app_r" || recs[0].EventType != "order.created" {
		t.Fatalf("records %+v, want one succeeded record naming app and type", recs)
	}

	// Sent again by hand: numbered after the record's attempt, and the
	// delivery is in the bucket from then on.
	r.publishAgain(t, "ep_r", "app_r", "msg_r", "manual", `{"r":1}`)
	poll.Until(t, waitLong, "the manual attempt's record", func() bool { return len(r.attempts(t, "ep_r", "msg_r")) == 2 })
	if last := r.attempts(t, "ep_r", "msg_r")[1]; last.Number != 2 || last.Trigger != dispatch.TriggerManual {
		t.Fatalf("manual record %+v, want attempt 2", last)
	}
	d = waitState(t, eng, "msg_r", "ep_r", dispatch.StateSucceeded)
	if d.Attempts != 2 {
		t.Fatalf("delivery %+v, want 2 attempts", d)
	}
	if _, err := kv.Get(context.Background(), testTenant+".msg_r.ep_r"); err != nil {
		t.Fatalf("state after the manual attempt: %v", err)
	}
}

// TestEngineRedeliveredMessageSkipsRecordedSuccess: a message handed out
// again after one endpoint's first attempt succeeded (and another's was
// cut) is not sent again to the first: its record says it succeeded.
func TestEngineRedeliveredMessageSkipsRecordedSuccess(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	tb := newTable()
	ok := newSink(t, status(200))
	first := make(chan struct{})
	hang := newSink(t, func(n int, w http.ResponseWriter, req *http.Request) {
		if n == 1 {
			close(first)
			<-req.Context().Done()
			return
		}
		w.WriteHeader(200)
	})
	tb.add(ok.endpoint(t, "ep_ok"), "app_s", "order.created")
	slow := hang.endpoint(t, "ep_hang")
	slow.TimeoutMS = 30000
	tb.add(slow, "app_s", "order.created")
	cfg := testConfig()
	cfg.AckWait = 2 * time.Second
	a := r.start(t, cfg, tb, nil)
	r.publish(t, "app_s", "order.created", "msg_s", `{"s":1}`)
	select {
	case <-first:
	case <-time.After(waitLong):
		t.Fatal("no request to ep_hang")
	}
	poll.Until(t, waitLong, "ep_ok's record", func() bool { return len(r.attempts(t, "ep_ok", "msg_s")) == 1 })
	a.stop()

	b := r.start(t, cfg, tb, nil)
	waitState(t, b, "msg_s", "ep_hang", dispatch.StateSucceeded)
	if d := deliveries(t, b, "msg_s")["ep_ok"]; d.State != dispatch.StateSucceeded || d.Attempts != 1 {
		t.Fatalf("ep_ok's delivery %+v, want succeeded at its first attempt", d)
	}
	if n := ok.count(); n != 1 {
		t.Fatalf("ep_ok got %d requests, want 1", n)
	}
	if n := hang.count(); n != 2 {
		t.Fatalf("ep_hang got %d requests, want 2", n)
	}
}
