package e2e

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
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
}

func newCountingReceiver(t *testing.T, hold time.Duration) *countingReceiver {
	t.Helper()
	r := &countingReceiver{hold: hold, ids: map[string]int{}}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.now++
		r.maxNow = max(r.maxNow, r.now)
		r.arrived = append(r.arrived, time.Now())
		r.ids[req.Header.Get("webhook-id")]++
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
	f.startDispatcher(t, "dispatcher-1")
	f.startDispatcher(t, "dispatcher-2")
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
	// The token bucket admits burst + rate×w in any window w; one more for
	// the clocks of two processes and the receiver.
	for _, w := range []time.Duration{500 * time.Millisecond, time.Second} {
		limit := burst + int(rate*w.Seconds()) + 1
		if n := maxInWindow(r.arrived, w); n > limit {
			t.Errorf("%d deliveries within %s, want at most %d (rate %d/s, burst %d)", n, w, limit, rate, burst)
		}
	}
	// And the whole run took at least as long as the rate demands.
	cmpTime := func(a, b time.Time) int { return a.Compare(b) }
	span := slices.MaxFunc(r.arrived, cmpTime).Sub(slices.MinFunc(r.arrived, cmpTime))
	if min := time.Duration(float64(messages-burst-1) / rate * float64(time.Second)); span < min {
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
