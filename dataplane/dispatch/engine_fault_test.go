package dispatch_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookgate/hookgate/dataplane/dispatch"
	"github.com/hookgate/hookgate/dataplane/streams"
	"github.com/hookgate/hookgate/testkit/poll"
	"github.com/nats-io/nats.go/jetstream"
)

// TestEngineSlowEndpointDoesNotDelayOthers: an endpoint that never
// answers holds at most EndpointWorkers workers; every message still
// reaches the healthy endpoint.
func TestEngineSlowEndpointDoesNotDelayOthers(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	tb := newTable()
	unblock := make(chan struct{})
	slow := newSink(t, func(_ int, w http.ResponseWriter, req *http.Request) {
		select {
		case <-unblock:
		case <-req.Context().Done():
		}
		w.WriteHeader(200)
	})
	t.Cleanup(func() { close(unblock) }) // runs before the sink closes
	fast := newSink(t, status(200))
	slowEp := slow.endpoint(t, "ep_slow")
	slowEp.TimeoutMS = 30000
	tb.add(slowEp, "app_s", "order.created")
	tb.add(fast.endpoint(t, "ep_fast"), "app_s", "order.created")
	cfg := testConfig()
	cfg.Workers, cfg.EndpointWorkers = 2, 1
	eng := r.start(t, cfg, tb, nil)
	const n = 10
	for i := range n {
		r.publish(t, "app_s", "order.created", "msg_s"+strconv.Itoa(i), `{}`)
	}
	for i := range n {
		waitState(t, eng, "msg_s"+strconv.Itoa(i), "ep_fast", dispatch.StateSucceeded)
	}
	if got := slow.count(); got != 1 {
		t.Fatalf("slow endpoint has %d requests in flight, want 1 (EndpointWorkers)", got)
	}
	if d := deliveries(t, eng, "msg_s9")["ep_slow"]; d.State != dispatch.StatePending || d.Attempts != 0 {
		t.Fatalf("slow delivery %+v, want pending without attempts", d)
	}
}

// TestEngineCancelEndpoint: cancelling an endpoint purges its waiting
// retry and cancels its pending deliveries; a task whose endpoint is gone
// is cancelled when it comes up; other endpoints carry on.
func TestEngineCancelEndpoint(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	tb := newTable()
	failing := newSink(t, status(500))
	other := newSink(t, status(200))
	ep := failing.endpoint(t, "ep_c")
	tb.add(ep, "app_c", "order.created")
	cfg := testConfig()
	// The 2nd attempt waits 2 s in the stream (a scheduled message).
	cfg.Delays = []time.Duration{0, 2000 * time.Second, time.Second}
	eng := r.start(t, cfg, &goneAtDelivery{table: tb, gone: "ep_gone"}, nil)

	r.publish(t, "app_c", "order.created", "msg_c1", `{}`)
	poll.Until(t, waitLong, "first attempt", func() bool {
		return deliveries(t, eng, "msg_c1")["ep_c"].Attempts == 1
	})
	ctx := context.Background()
	stream, err := r.js.Stream(ctx, streams.Deliver)
	if err != nil {
		t.Fatal(err)
	}
	retry := streams.RetrySubject(testTenant, "ep_c", "msg_c1")
	poll.NoError(t, waitLong, func() error {
		_, err := stream.GetLastMsgForSubject(ctx, retry)
		return err
	})

	if err := eng.CancelEndpoint(ctx, testTenant, "ep_c"); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.GetLastMsgForSubject(ctx, retry); !errors.Is(err, jetstream.ErrMsgNotFound) {
		t.Fatalf("waiting retry after cancel: %v, want purged", err)
	}
	d := deliveries(t, eng, "msg_c1")["ep_c"]
	if d.State != dispatch.StateCancelled || d.Reason != dispatch.ReasonEndpointCancelled || d.Attempts != 1 {
		t.Fatalf("delivery %+v, want cancelled after 1 attempt", d)
	}
	if err := eng.CancelEndpoint(ctx, testTenant, "ep.bad"); err == nil {
		t.Fatal("cancel of an invalid endpoint id accepted")
	}

	// An endpoint subscribed at fan-out but disabled or deleted by the
	// time its retry comes up: the delivery is cancelled after the one
	// attempt made at fan-out, the other endpoint is served.
	tb.add(failing.endpoint(t, "ep_gone"), "app_c2", "order.created")
	tb.add(other.endpoint(t, "ep_ok"), "app_c2", "order.created")
	r.publish(t, "app_c2", "order.created", "msg_c2", `{}`)
	waitState(t, eng, "msg_c2", "ep_ok", dispatch.StateSucceeded)
	d = waitState(t, eng, "msg_c2", "ep_gone", dispatch.StateCancelled)
	if d.Reason != dispatch.ReasonEndpointUnknown || d.Attempts != 1 {
		t.Fatalf("delivery %+v, want cancelled as unknown after the first attempt", d)
	}
	// ep_c's one attempt and ep_gone's first.
	if failing.count() != 2 {
		t.Fatalf("failing receiver got %d requests, want 2", failing.count())
	}
}

// goneAtDelivery subscribes an endpoint that Endpoint no longer knows:
// the configuration changed between fan-out and delivery.
type goneAtDelivery struct {
	*table
	gone string
}

func (g *goneAtDelivery) Endpoint(tenant, id string) (*dispatch.Endpoint, bool) {
	if id == g.gone {
		return nil, false
	}
	return g.table.Endpoint(tenant, id)
}

// TestEngineRedeliveryAfterStop: an engine stopped mid-attempt does not
// acknowledge; after AckWait another engine delivers the same copy with
// the same webhook-id.
func TestEngineRedeliveryAfterStop(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	tb := newTable()
	first := make(chan struct{})
	s := newSink(t, func(n int, w http.ResponseWriter, req *http.Request) {
		if n == 1 {
			close(first)
			<-req.Context().Done() // hangs until the dispatcher gives up
			return
		}
		w.WriteHeader(200)
	})
	ep := s.endpoint(t, "ep_k")
	ep.TimeoutMS = 30000
	tb.add(ep, "app_k", "order.created")
	cfg := testConfig()
	cfg.AckWait = 2 * time.Second
	a := r.start(t, cfg, tb, nil)
	r.publish(t, "app_k", "order.created", "msg_k", `{"k":1}`)
	select {
	case <-first:
	case <-time.After(waitLong):
		t.Fatal("no first request")
	}
	a.stop()
	// The first attempt is made at fan-out, before any state is written:
	// the cut attempt leaves none, so nothing counts it.
	if d, ok := deliveries(t, a, "msg_k")["ep_k"]; ok {
		t.Fatalf("delivery after the stop %+v, want none: the cut attempt not counted", d)
	}
	b := r.start(t, cfg, tb, nil)
	d := waitState(t, b, "msg_k", "ep_k", dispatch.StateSucceeded)
	if d.Attempts != 1 {
		t.Fatalf("delivery %+v, want 1 counted attempt", d)
	}
	hs := s.all()
	if len(hs) != 2 || hs[0].header.Get("Webhook-Id") != "msg_k" || hs[1].header.Get("Webhook-Id") != "msg_k" ||
		string(hs[1].body) != `{"k":1}` || hs[1].verified != nil {
		t.Fatalf("requests %d, ids %q %q", len(hs), hs[0].header.Get("Webhook-Id"), hs[len(hs)-1].header.Get("Webhook-Id"))
	}
}

// TestEngineFailingEndpointBacklogWaits: while an endpoint fails, its one
// place is taken by an attempt, and its other tasks wait as long as it has
// been failing (up to ten seconds) as scheduled messages, instead of
// coming round every BusyDelay and taking the cores from the healthy
// endpoints (make soak found it).
func TestEngineFailingEndpointBacklogWaits(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	tb := newTable()
	release := make(chan struct{})
	failing := newSink(t, func(n int, w http.ResponseWriter, req *http.Request) {
		if n == 1 {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		select {
		case <-release:
		case <-req.Context().Done():
		}
		w.WriteHeader(http.StatusInternalServerError)
	})
	t.Cleanup(func() { close(release) }) // runs before the sink closes
	ep := failing.endpoint(t, "ep_failing")
	ep.TimeoutMS = 30000
	tb.add(ep, "app_f", "order.created")

	var offset atomic.Int64 // the engine's clock, ahead of the real one
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	cfg := testConfig()
	cfg.TimeScale, cfg.Delays = 1, []time.Duration{0, 0, time.Hour}
	eng := r.startDeps(t, cfg, dispatch.EngineDeps{Endpoints: tb, Now: now})

	// msg_a fails once (the endpoint is failing from then on), and its retry
	// holds the endpoint's one place.
	r.publish(t, "app_f", "order.created", "msg_a", `{}`)
	poll.Until(t, waitLong, "the retry of msg_a to hold the endpoint's place", func() bool { return failing.count() == 2 })
	// A minute later msg_b comes: its first attempt finds the place taken,
	// and is scheduled for the wait at once, without a task first.
	offset.Store(int64(time.Minute))
	ds, err := r.js.Stream(context.Background(), streams.Deliver)
	if err != nil {
		t.Fatal(err)
	}
	info, err := ds.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	before := info.State.LastSeq
	r.publish(t, "app_f", "order.created", "msg_b", `{}`)

	subject := streams.RetrySubject(testTenant, "ep_failing", "msg_b")
	var m *jetstream.RawStreamMsg
	poll.NoError(t, waitLong, func() error {
		s, err := r.js.Stream(context.Background(), streams.Deliver)
		if err != nil {
			return err
		}
		m, err = s.GetLastMsgForSubject(context.Background(), subject)
		return err
	})
	if m.Sequence != before+1 {
		t.Errorf("msg_b's schedule at sequence %d, want %d: nothing written before it", m.Sequence, before+1)
	}
	at, err := time.Parse(time.RFC3339Nano, strings.TrimPrefix(m.Header.Get("Nats-Schedule"), "@at "))
	if err != nil {
		t.Fatalf("schedule %q: %v", m.Header.Get("Nats-Schedule"), err)
	}
	// The wait is counted on the engine's clock: failing for a minute
	// means the ten-second cap.
	if wait := at.Sub(now()); wait < 8*time.Second || wait > 10*time.Second {
		t.Errorf("msg_b's task waits %s, want about 10s", wait)
	}
	if d := deliveries(t, eng, "msg_b")["ep_failing"]; d.State != dispatch.StatePending || d.Attempts != 0 {
		t.Errorf("msg_b's delivery %+v, want pending without attempts", d)
	}
}
