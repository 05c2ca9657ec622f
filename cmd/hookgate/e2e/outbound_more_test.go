package e2e

import (
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hookgate/hookgate/testkit/poll"
)

// countingReceiver answers 200 after hold, recording when each request
// arrived, its webhook-id and the most requests it had at once.
type countingReceiver struct {
	*httptest.Server
	hold time.Duration

	mu      sync.Mutex
	now     int
	maxNow  int
	arrived []time.Time
	ids     map[string]int
	ports   map[int]bool // the clients' TCP ports
}

func newCountingReceiver(t *testing.T, hold time.Duration) *countingReceiver {
	t.Helper()
	r := &countingReceiver{hold: hold, ids: map[string]int{}, ports: map[int]bool{}}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.now++
		r.maxNow = max(r.maxNow, r.now)
		r.arrived = append(r.arrived, time.Now())
		r.ids[req.Header.Get("webhook-id")]++
		if ap, err := netip.ParseAddrPort(req.RemoteAddr); err == nil {
			r.ports[int(ap.Port())] = true
		}
		r.mu.Unlock()
		// A slow endpoint: requests overlap unless the cap stops them.
		<-time.After(r.hold)
		r.mu.Lock()
		r.now--
		r.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(r.Close)
	return r
}

// maxInWindow is the most arrivals within any window of length w.
func maxInWindow(arrived []time.Time, w time.Duration) int {
	ts := slices.Clone(arrived)
	slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	most := 0
	for i := range ts {
		n := 0
		for j := i; j < len(ts) && ts[j].Sub(ts[i]) < w; j++ {
			n++
		}
		most = max(most, n)
	}
	return most
}

// TestRateLimitAcrossTwoDispatchers: one endpoint limited to 20/s with a
// burst of 5 and 2 requests in flight, two dispatcher processes sharing
// the work, 40 messages at once: the receiver never sees more than 2 at a
// time nor more than the token bucket admits in any window, and every
// message arrives (the excess waits, nothing is dropped).
func TestRateLimitAcrossTwoDispatchers(t *testing.T) {
	t.Parallel()
	const (
		rate, burst, inFlight, messages = 20, 5, 2, 40
	)
	f := startOutboundFleet(t)
	d1 := f.startDispatcher(t, "dispatcher-1")
	d2 := f.startDispatcher(t, "dispatcher-2")
	app := outboundSetup(t, f.dir, f.env)
	r := newCountingReceiver(t, 30*time.Millisecond)
	ep, _, rev := createEndpoint(t, f.dir, f.env, app, r.URL+"/hooks",
		"--rate", strconv.Itoa(rate), "--burst", strconv.Itoa(burst), "--max-in-flight", strconv.Itoa(inFlight))
	waitDispatchers(t, f.dir, f.env, 2, rev)
	kv := deliveriesKV(t, f.js)

	ids := make([]string, messages)
	for i := range ids {
		ids[i] = newMessageID(t)
		publishOutbound(t, f.js, "acme", app, "order.created", ids[i], fmt.Sprintf(`{"n":%d}`, i))
	}
	for _, id := range ids {
		waitDelivery(t, kv, "acme", id, ep, "succeeded")
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	for _, id := range ids {
		if r.ids[id] != 1 {
			t.Errorf("message %s reached the receiver %d times, want 1", id, r.ids[id])
		}
	}
	if r.maxNow > inFlight {
		t.Errorf("the receiver had %d requests at once, want at most %d", r.maxNow, inFlight)
	}
	if r.maxNow < 1 {
		t.Errorf("the receiver counted no request in flight")
	}
	// Both dispatchers delivered: the receiver's clients' connections
	// (kept alive) belong to both processes.
	pids := []int{d1.cmd.Process.Pid, d2.cmd.Process.Pid}
	owners := connOwners(t, pids, slices.Collect(maps.Keys(r.ports)))
	for _, pid := range pids {
		if !slices.Contains(slices.Collect(maps.Values(owners)), pid) {
			t.Errorf("dispatcher pid %d holds none of the receiver's %d client connections (owners %v): the limits were not shared by two", pid, len(r.ports), owners)
		}
	}
	// The token bucket admits burst + rate×w in any window w; a few more
	// for requests that took their token on time but reached the receiver
	// late on a loaded machine (without the limit it sees 30 or more in
	// 500 ms).
	const slack = 3
	for _, w := range []time.Duration{500 * time.Millisecond, time.Second} {
		limit := burst + int(rate*w.Seconds()) + slack
		if n := maxInWindow(r.arrived, w); n > limit {
			t.Errorf("%d deliveries within %s, want at most %d (rate %d/s, burst %d)", n, w, limit, rate, burst)
		}
	}
	// And the whole run took at least as long as the rate demands.
	cmpTime := func(a, b time.Time) int { return a.Compare(b) }
	span := slices.MaxFunc(r.arrived, cmpTime).Sub(slices.MinFunc(r.arrived, cmpTime))
	if min := time.Duration(float64(messages-burst-slack) / rate * float64(time.Second)); span < min {
		t.Errorf("%d deliveries within %s, the rate %d/s with burst %d needs at least %s", messages, span, rate, burst, min)
	}
}

// TestSSRFRefusedThroughDNSAndMappedIPv6: only 127.0.0.1/32 is allowed.
// An endpoint whose name resolves (through --resolver) to 127.0.0.2 and one
// naming the IPv4-mapped IPv6 literal [::ffff:127.0.0.2] are refused at
// connect time (attempt error class blocked_address) and their receiver,
// listening on 127.0.0.2, is never called; an endpoint on 127.0.0.1 is
// delivered by the same dispatcher.
func TestSSRFRefusedThroughDNSAndMappedIPv6(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatalf("listen on 127.0.0.2 (Linux routes 127.0.0.0/8 to loopback): %v", err)
	}
	var hits sync.Map
	blocked := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		hits.Store(req.URL.Path, true)
	}))
	blocked.Listener.Close()
	blocked.Listener = ln
	blocked.Start()
	t.Cleanup(blocked.Close)
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)

	f := startOutboundFleet(t)
	f.startDispatcher(t, "dispatcher-1", "--resolver", serveDNS(t, [4]byte{127, 0, 0, 2}))
	app := outboundSetup(t, f.dir, f.env)
	allowed := newReceiver(t)
	epDNS, _, _ := createEndpoint(t, f.dir, f.env, app, "http://hooks.hookgate.test:"+port+"/dns")
	epMapped, _, _ := createEndpoint(t, f.dir, f.env, app, "http://[::ffff:127.0.0.2]:"+port+"/mapped")
	epAllowed, sec, rev := createEndpoint(t, f.dir, f.env, app, allowed.URL+"/allowed")
	allowed.setSecret(sec)
	waitDispatchers(t, f.dir, f.env, 1, rev)
	kv := deliveriesKV(t, f.js)

	msg := newMessageID(t)
	publishOutbound(t, f.js, "acme", app, "order.created", msg, `{"orderId":"ORD-1"}`)
	waitDelivery(t, kv, "acme", msg, epAllowed, "succeeded")
	for _, tc := range []struct{ name, ep, path string }{{"dns name", epDNS, "/dns"}, {"mapped IPv6 literal", epMapped, "/mapped"}} {
		t.Run(tc.name, func(t *testing.T) {
			var got *attemptsJSON
			poll.Until(t, 30*time.Second, "an attempt to "+tc.ep, func() bool {
				got = listAttempts(t, f.dir, f.env, tc.ep)
				return len(got.Attempts) > 0
			})
			for _, a := range got.Attempts {
				if a.ErrorClass != "blocked_address" || a.ResponseStatusCode != 0 {
					t.Errorf("attempt %d to %s: error class %q status %d, want blocked_address and no status", a.AttemptNumber, tc.ep, a.ErrorClass, a.ResponseStatusCode)
				}
			}
			if _, hit := hits.Load(tc.path); hit {
				t.Errorf("the receiver on 127.0.0.2 was called through %s", tc.name)
			}
		})
	}
	if n := len(allowed.requests()); n != 1 || !allowed.requests()[0].verified {
		t.Errorf("the allowed endpoint got %d requests, want 1 verified", n)
	}
}

// signatures splits a webhook-signature header into its entries.
func signatures(header string) []string { return strings.Fields(header) }

// verifiesWith reports whether the one signature sig verifies with secret.
func verifiesWith(secret string, r received, sig string) bool {
	return verifyStandardWebhooks(secret, r.id, r.timestamp, sig, r.body)
}

// TestRotationSignsWithBothDuringGrace: after `endpoints rotate-secret
// --grace 1h` a delivery carries two v1 signatures, one by the old secret
// and one by the new; after `--grace 0` it carries one, by the newest
// secret only.
func TestRotationSignsWithBothDuringGrace(t *testing.T) {
	t.Parallel()
	f := startOutboundFleet(t)
	f.startDispatcher(t, "dispatcher-1")
	app := outboundSetup(t, f.dir, f.env)
	r := newReceiver(t)
	ep, first, rev := createEndpoint(t, f.dir, f.env, app, r.URL+"/hooks")
	waitDispatchers(t, f.dir, f.env, 1, rev)
	kv := deliveriesKV(t, f.js)

	// deliver sends one message and returns the request the receiver got.
	deliver := func() received {
		t.Helper()
		msg := newMessageID(t)
		publishOutbound(t, f.js, "acme", app, "order.created", msg, `{"orderId":"ORD-1"}`)
		waitDelivery(t, kv, "acme", msg, ep, "succeeded")
		for _, got := range r.requests() {
			if got.id == msg {
				return got
			}
		}
		t.Fatalf("the receiver got no request for %s", msg)
		return received{}
	}
	rotate := func(grace string) string {
		t.Helper()
		out := mustRun(t, f.dir, f.env, "endpoints", "rotate-secret", ep, "--tenant", "acme", "--grace", grace)
		m := whsecLine.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("endpoints rotate-secret --grace %s printed no secret:\n%s", grace, out)
		}
		waitDispatchers(t, f.dir, f.env, 1, endpointRev(t, f.dir, f.env, ep))
		return m[1]
	}

	if got := deliver(); len(signatures(got.signature)) != 1 || !verifiesWith(first, got, got.signature) {
		t.Fatalf("before rotation: %d signatures, want 1 by the first secret", len(signatures(got.signature)))
	}

	second := rotate("1h")
	if second == first {
		t.Fatal("rotation returned the same secret")
	}
	got := deliver()
	sigs := signatures(got.signature)
	if len(sigs) != 2 {
		t.Fatalf("during the grace period: %d signatures, want 2", len(sigs))
	}
	byOld, byNew := 0, 0
	for _, s := range sigs {
		if !strings.HasPrefix(s, "v1,") {
			t.Errorf("signature entry %q is not v1,…", s)
		}
		old, cur := verifiesWith(first, got, s), verifiesWith(second, got, s)
		if old == cur {
			t.Errorf("a signature verifies with the old secret %v and with the new %v, want exactly one", old, cur)
		}
		if old {
			byOld++
		}
		if cur {
			byNew++
		}
	}
	if byOld != 1 || byNew != 1 {
		t.Errorf("during the grace period: %d signatures by the old secret and %d by the new, want 1 and 1", byOld, byNew)
	}

	third := rotate("0")
	got = deliver()
	sigs = signatures(got.signature)
	if len(sigs) != 1 || !verifiesWith(third, got, sigs[0]) {
		t.Fatalf("after rotation without grace: %d signatures, want 1 by the newest secret", len(sigs))
	}
	if verifiesWith(second, got, sigs[0]) || verifiesWith(first, got, sigs[0]) {
		t.Error("after rotation without grace an older secret still verifies")
	}
}

// TestDispatcherKilledMidDeliveryLosesNothing: the receiver holds the first
// request until its dispatcher is SIGKILLed; a dispatcher started after
// delivers the same message again (same webhook-id, signed) and the
// delivery ends succeeded.
func TestDispatcherKilledMidDeliveryLosesNothing(t *testing.T) {
	t.Parallel()
	var (
		mu      sync.Mutex
		got     []received
		secret  string
		release = make(chan struct{})
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		rec := received{id: req.Header.Get("webhook-id"), timestamp: req.Header.Get("webhook-timestamp"),
			signature: req.Header.Get("webhook-signature"), body: body}
		mu.Lock()
		rec.verified = verifyStandardWebhooks(secret, rec.id, rec.timestamp, rec.signature, body)
		first := len(got) == 0
		got = append(got, rec)
		mu.Unlock()
		if first {
			select {
			case <-release:
			case <-req.Context().Done():
			}
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	requests := func() []received {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(got)
	}

	f := startOutboundFleet(t)
	// A 2 s AckWait: the held request outlives it, so only the
	// dispatcher's in-progress reports keep another from taking the work.
	first := f.startDispatcher(t, "dispatcher-1", "--ack-wait", "2s")
	app := outboundSetup(t, f.dir, f.env)
	ep, sec, rev := createEndpoint(t, f.dir, f.env, app, srv.URL+"/hooks", "--timeout-ms", "10000")
	mu.Lock()
	secret = sec
	mu.Unlock()
	waitDispatchers(t, f.dir, f.env, 1, rev)
	kv := deliveriesKV(t, f.js)

	msg := newMessageID(t)
	publishOutbound(t, f.js, "acme", app, "order.created", msg, `{"orderId":"ORD-1"}`)
	poll.Until(t, 30*time.Second, "the first request to reach the receiver", func() bool { return len(requests()) > 0 })
	// Held past two AckWaits, the request is still the only one: the
	// work in progress was reported, so nothing took it over.
	held := time.Now()
	poll.Until(t, 30*time.Second, "two AckWaits to pass", func() bool { return time.Since(held) > 5*time.Second })
	if n := len(requests()); n != 1 {
		t.Fatalf("the receiver got %d requests while the first was held, want 1", n)
	}
	_ = first.cmd.Process.Signal(syscall.SIGKILL)
	_ = first.wait(t, 10*time.Second)
	close(release)
	if d, ok := readDelivery(t, kv, "acme", msg, ep); ok && d.State != "pending" {
		t.Fatalf("delivery after the kill: %+v, want pending", d)
	}

	// The message the killed dispatcher held comes back after AckWait.
	f.startDispatcher(t, "dispatcher-2", "--ack-wait", "2s")
	var d delivery
	poll.Until(t, 90*time.Second, "the delivery to succeed through the new dispatcher", func() bool {
		var ok bool
		d, ok = readDelivery(t, kv, "acme", msg, ep)
		return ok && d.State == "succeeded"
	})
	all := requests()
	if len(all) < 2 {
		t.Fatalf("the receiver got %d requests, want the cut one and a second", len(all))
	}
	for i, r := range all {
		if r.id != msg || !r.verified || string(r.body) != `{"orderId":"ORD-1"}` {
			t.Errorf("request %d: webhook-id %q verified %v body %q, want %s signed with the original body", i+1, r.id, r.verified, r.body, msg)
		}
	}
}
