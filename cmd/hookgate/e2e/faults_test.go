package e2e

import (
	"context"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/testkit/poll"
	"github.com/nats-io/nats.go/jetstream"
)

// faultClient is the load generator's HTTP client: a bounded wait, so a
// request cut by a fault ends as a connection error.
func faultClient() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
}

// loadRun is load running until end.
type loadRun struct {
	stop chan struct{}
	wait func()
}

func startLoad(workers int, send func(w int, id string)) *loadRun {
	r := &loadRun{stop: make(chan struct{})}
	r.wait = load(workers, r.stop, send)
	return r
}

func (r *loadRun) end() {
	close(r.stop)
	r.wait()
}

// mixedLoad starts four workers: two post inbound webhooks to path with
// key, two send outbound messages of appID.
func (s *faultSystem) mixedLoad(path, key, appID string) (in, out *tally, run *loadRun) {
	in, out = newTally(), newTally()
	c, mc := faultClient(), s.messageClients()
	run = startLoad(4, func(w int, id string) {
		if w%2 == 0 {
			s.postInbound(in, c, path, key, w, id)
		} else {
			s.sendOutbound(out, mc, appID, w, id)
		}
	})
	return in, out, run
}

// acked is how many ids l acknowledged so far.
func acked(l *tally) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked)
}

// waitAcked waits until l acknowledged more than n ids (the system
// serves) and load has run for a faultPhase.
func waitAcked(t *testing.T, l *tally, n int, what string) {
	t.Helper()
	phase := time.Now().Add(faultPhase())
	poll.Until(t, 60*time.Second+faultPhase(), what, func() bool { return acked(l) > n && !time.Now().Before(phase) })
}

// TestFaultEdgeKilled: SIGKILL one of two edges under load. The other
// keeps serving; a caller of the dead one sees a connection error, never
// a 2xx that is not stored.
func TestFaultEdgeKilled(t *testing.T) {
	s := startFaultSystem(t, faultOpts{etcd: 1, nats: 1, cps: 1, edges: 2})
	path, key := s.inboundWebhook()
	l := newTally()
	c := faultClient()
	run := startLoad(4, func(w int, id string) { s.postInbound(l, c, path, key, w, id) })
	waitAcked(t, l, 50, "load to be acknowledged")
	s.edges[0].kill()
	before := acked(l)
	waitAcked(t, l, before+50, "the surviving edge to keep acknowledging")
	run.end()
	verdict(t, "edge killed (1 of 2)", l, s.storedInbound())
}

// TestFaultControlPlaneKilled: SIGKILL one control plane and then the
// other under load. Edges and dispatchers keep serving their last
// configuration; a change made after a replica returns reaches them.
func TestFaultControlPlaneKilled(t *testing.T) {
	s := startFaultSystem(t, faultOpts{etcd: 1, nats: 1, cps: 2, edges: 1, dispatchers: 1})
	path, key := s.inboundWebhook()
	r := newLoadReceiver(t)
	appID, _ := s.outboundEndpoint(r.URL + "/hooks")
	in, out, run := s.mixedLoad(path, key, appID)
	waitAcked(t, in, 20, "inbound load")
	s.cps[0].kill()
	n := acked(in)
	waitAcked(t, in, n+20, "edges to serve with one control plane")
	s.cps[1].kill()
	n, m := acked(in), acked(out)
	waitAcked(t, in, n+20, "the edge to serve inbound with no control plane")
	waitAcked(t, out, m+20, "the edge to accept messages with no control plane")
	s.cps[0].start()
	s.cps[0].waitReady(s.cpURLs[0] + "/readyz")
	// A webhook created now reaches the edge: the node reconnected.
	created := mustRun(t, s.dir, s.env, "webhooks", "create", "--tenant", "acme", "--name", "after", "--process", "orders")
	id, k := idLine.FindStringSubmatch(created), keyLine.FindStringSubmatch(created)
	if id == nil || k == nil {
		t.Fatalf("webhooks create printed %q", created)
	}
	// The edge tries the control planes again with backoff, which after
	// both were down for a while may be up to its 30 s cap (plus jitter).
	eventuallyWithin(t, s.edgeURLs[0]+"/in/acme/"+id[1]+"?key="+k[1], 200, 45*time.Second)
	run.end()
	verdict(t, "control planes killed (2 of 2)", in, s.storedInbound())
	verdict(t, "  … outbound", out, r.waitDelivered(t, out, 60*time.Second))
}

// TestFaultEtcdKilled: SIGKILL one etcd member of three, then all three,
// then restart them. Admin calls work with two, answer Unavailable (not
// hang) with none; the edge serves throughout; no registration is lost.
func TestFaultEtcdKilled(t *testing.T) {
	s := startFaultSystem(t, faultOpts{etcd: 3, nats: 1, cps: 1, edges: 1})
	path, key := s.inboundWebhook()
	l := newTally()
	c := faultClient()
	run := startLoad(4, func(w int, id string) { s.postInbound(l, c, path, key, w, id) })
	waitAcked(t, l, 20, "inbound load")
	s.etcd[0].kill()
	poll.Until(t, 30*time.Second, "admin calls with two etcd members", func() bool {
		_, _, err := run3(t, s, "webhooks", "list", "--tenant", "acme")
		return err == nil
	})
	s.etcd[1].kill()
	s.etcd[2].kill()
	stdout, stderr, err := run3(t, s, "tenants", "get", "acme")
	if err == nil || !strings.Contains(stderr, "unavailable") {
		t.Fatalf("admin call with etcd down: %v\n%s%s, want an unavailable error", err, stdout, stderr)
	}
	n := acked(l)
	waitAcked(t, l, n+20, "the edge to serve with etcd down")
	for _, m := range s.etcd {
		m.start()
	}
	for _, m := range s.etcd {
		m.waitPrinted()
	}
	poll.Until(t, 60*time.Second, "admin calls after etcd returned", func() bool {
		out, _, err := run3(t, s, "webhooks", "list", "--tenant", "acme")
		return err == nil && strings.Contains(out, "load")
	})
	run.end()
	verdict(t, "etcd killed (1, then 3 of 3)", l, s.storedInbound())
}

// run3 runs the CLI against the first control plane, bounded so a hang
// fails the test instead of stalling it.
func run3(t *testing.T, s *faultSystem, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t), args...)
	cmd.Dir = s.dir
	cmd.Env = append(cmd.Environ(), s.env...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("hookgate %v hung for 30s", args)
	}
	return stdout.String(), stderr.String(), err
}

// TestFaultNATSNodeKilled: SIGKILL the NATS node leading the inbound
// stream, one of three with every stream R3, under load. No acknowledged
// event or message is lost; the node rejoins when restarted.
func TestFaultNATSNodeKilled(t *testing.T) {
	s := startFaultSystem(t, faultOpts{etcd: 1, nats: 3, cps: 1, edges: 1, dispatchers: 1})
	path, key := s.inboundWebhook()
	r := newLoadReceiver(t)
	appID, _ := s.outboundEndpoint(r.URL + "/hooks")
	in, out, run := s.mixedLoad(path, key, appID)
	waitAcked(t, in, 30, "inbound load")
	leader := streamLeader(t, s.js, "HOOKGATE_INBOUND")
	killed := -1
	for i, n := range s.nats {
		if n.name == leader {
			killed = i
		}
	}
	if killed < 0 {
		t.Fatalf("stream leader %q is none of the nodes", leader)
	}
	s.nats[killed].kill()
	n, m := acked(in), acked(out)
	waitAcked(t, in, n+30, "inbound to be acknowledged with two NATS nodes")
	waitAcked(t, out, m+30, "messages to be acknowledged with two NATS nodes")
	s.nats[killed].start()
	s.nats[killed].waitPrinted()
	run.end()
	verdict(t, "NATS node killed (1 of 3, R3)", in, s.storedInbound())
	verdict(t, "  … outbound", out, r.waitDelivered(t, out, 90*time.Second))
}

func streamLeader(t *testing.T, js jetstream.JetStream, name string) string {
	t.Helper()
	var leader string
	poll.Until(t, 30*time.Second, name+" to have a leader", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		st, err := js.Stream(ctx, name)
		if err != nil || st.CachedInfo().Cluster == nil {
			return false
		}
		leader = st.CachedInfo().Cluster.Leader
		return leader != ""
	})
	return leader
}

// TestFaultDispatcherKilled: SIGKILL one of two dispatchers while it is
// delivering. Every acknowledged message reaches the receiver at least
// once.
func TestFaultDispatcherKilled(t *testing.T) {
	s := startFaultSystem(t, faultOpts{etcd: 1, nats: 1, cps: 1, edges: 1, dispatchers: 2})
	r := newLoadReceiver(t)
	// A slow receiver: every dispatcher always has requests in flight, so
	// the kill cuts deliveries mid-request.
	r.delay = 20 * time.Millisecond
	appID, _ := s.outboundEndpoint(r.URL + "/hooks")
	out := newTally()
	mc := s.messageClients()
	run := startLoad(4, func(w int, id string) { s.sendOutbound(out, mc, appID, w, id) })
	waitAcked(t, out, 50, "messages accepted")
	poll.Until(t, 60*time.Second, "deliveries under way", func() bool { return r.inFlight.Load() > 1 })
	s.dispatch[0].kill()
	n, delivered := acked(out), len(r.counts())
	waitAcked(t, out, n+50, "messages accepted after the kill")
	poll.Until(t, 60*time.Second, "the other dispatcher to deliver", func() bool { return len(r.counts()) > delivered+50 })
	run.end()
	verdict(t, "dispatcher killed (1 of 2)", out, r.waitDelivered(t, out, 90*time.Second))
}

// TestFaultReceiverDown: the receiver answers 503 for a while. With a
// short retry schedule some deliveries run out of retries; retries
// deliver the rest once it is back, and endpoints recover delivers the
// exhausted ones.
func TestFaultReceiverDown(t *testing.T) {
	s := startFaultSystem(t, faultOpts{etcd: 1, nats: 1, cps: 1, edges: 1, dispatchers: 1})
	// Scaled by the dispatchers' --retry-time-scale 0.001: 20 ms, 40 ms.
	setRetrySchedule(t, &devServer{admin: s.cpURLs[0], token: s.token}, "acme", 20*time.Second, 40*time.Second)
	r := newLoadReceiver(t)
	appID, ep := s.outboundEndpoint(r.URL + "/hooks")
	out := newTally()
	mc := s.messageClients()
	since := time.Now().UTC().Add(-time.Second)
	r.down.Store(true)
	run := startLoad(2, func(w int, id string) { s.sendOutbound(out, mc, appID, w, id) })
	waitAcked(t, out, 50, "messages accepted while the receiver is down")
	// Wait until some delivery has failed for good.
	poll.Until(t, 60*time.Second, "a delivery to exhaust its retries", func() bool {
		a := listAttempts(t, s.dir, s.env, ep)
		for _, at := range a.Attempts {
			if at.GetDeliveryState() == hookgatev1.DeliveryState_DELIVERY_STATE_FAILED {
				return true
			}
		}
		return false
	})
	r.down.Store(false)
	n := acked(out)
	waitAcked(t, out, n+50, "messages after the receiver is back")
	run.end()
	mustRun(t, s.dir, s.env, "endpoints", "recover", ep, "--tenant", "acme", "--since", since.Format(time.RFC3339))
	verdict(t, "receiver down, then back", out, r.waitDelivered(t, out, 90*time.Second))
}

// TestFaultEdgeNATSPartition: the network between the edge and NATS is
// cut (a TCP proxy the test controls) under load, then healed. While cut
// the edge answers 503; nothing it acknowledged is lost; it serves again
// by itself once healed.
func TestFaultEdgeNATSPartition(t *testing.T) {
	var px *proxy
	s := startFaultSystem(t, faultOpts{etcd: 1, nats: 1, cps: 1, edges: 1, edgeNATS: func(addrs []string) string {
		px = newProxy(t, addrs[0])
		return "nats://" + px.Addr()
	}})
	path, key := s.inboundWebhook()
	l := newTally()
	c := faultClient()
	run := startLoad(4, func(w int, id string) { s.postInbound(l, c, path, key, w, id) })
	waitAcked(t, l, 50, "inbound load")
	px.setCut(true)
	poll.Until(t, 30*time.Second, "the edge to answer 503 while cut off", func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.statuses["503"] > 0
	})
	px.setCut(false)
	n := acked(l)
	waitAcked(t, l, n+50, "the edge to serve again after the partition healed")
	run.end()
	verdict(t, "edge–NATS partition", l, s.storedInbound())
}
