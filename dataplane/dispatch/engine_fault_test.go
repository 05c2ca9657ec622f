package dispatch_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
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
