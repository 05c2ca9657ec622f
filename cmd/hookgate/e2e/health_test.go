package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/gen/hookgate/v1/hookgatev1connect"
	"github.com/hookgate/hookgate/testkit/poll"
	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// scriptedReceiver answers each message's i-th request with its script's
// i-th status (default when past it or unscripted), after holding it
// hold × (the request's overall number), so attempts have distinct
// durations.
type scriptedReceiver struct {
	*httptest.Server
	mu       sync.Mutex
	scripts  map[string][]int
	fallback int
	got      map[string]int
	total    int
	hold     time.Duration
}

func newScriptedReceiver(t *testing.T, fallback int, hold time.Duration) *scriptedReceiver {
	t.Helper()
	r := &scriptedReceiver{scripts: map[string][]int{}, got: map[string]int{}, fallback: fallback, hold: hold}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		id := req.Header.Get("webhook-id")
		r.mu.Lock()
		n := r.got[id]
		r.got[id]++
		r.total++
		status, wait := r.fallback, r.hold*time.Duration(r.total)
		if s := r.scripts[id]; n < len(s) {
			status = s[n]
		}
		r.mu.Unlock()
		// The endpoint's response time (behaviour under test, not a wait
		// for synchronisation).
		time.Sleep(wait)
		w.WriteHeader(status)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *scriptedReceiver) script(id string, statuses ...int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.scripts[id] = statuses
}

func (r *scriptedReceiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.total
}

func (r *scriptedReceiver) setFallback(status int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fallback = status
}

// fleetRetrySchedule gives tenant acme its own retry schedule.
func fleetRetrySchedule(t *testing.T, f *outboundFleet, delays ...time.Duration) {
	t.Helper()
	server, token := strings.TrimPrefix(f.env[0], "HOOKGATE_SERVER="), strings.TrimPrefix(f.env[1], "HOOKGATE_TOKEN=")
	auth := connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			req.Header().Set("Authorization", "Bearer "+token)
			return next(ctx, req)
		}
	})
	tc := hookgatev1connect.NewTenantServiceClient(&http.Client{Timeout: 10 * time.Second}, server, connect.WithInterceptors(auth))
	rs := &hookgatev1.RetrySchedule{}
	for _, d := range delays {
		rs.Delays = append(rs.Delays, durationpb.New(d))
	}
	if _, err := tc.UpdateTenant(context.Background(), connect.NewRequest(&hookgatev1.UpdateTenantRequest{
		Tenant: &hookgatev1.Tenant{Id: "acme", RetrySchedule: rs}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"retry_schedule"}},
	})); err != nil {
		t.Fatalf("set the retry schedule: %v", err)
	}
}

// metric sums the samples of one series in a dispatcher's /metrics whose
// labels contain every given label="value".
func metric(t *testing.T, ops, name string, labels ...string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + ops + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		series, value, ok := strings.Cut(line, " ")
		if !ok || (series != name && !strings.HasPrefix(series, name+"{")) {
			continue
		}
		match := true
		for _, l := range labels {
			match = match && strings.Contains(series, l)
		}
		if v, err := strconv.ParseFloat(value, 64); match && err == nil {
			sum += v
		}
	}
	return sum
}

func endpointHealth(t *testing.T, f *outboundFleet, id string) *hookgatev1.Endpoint {
	t.Helper()
	var ep hookgatev1.GetEndpointResponse
	protoOut(t, f.dir, f.env, &ep, "endpoints", "get", id, "--tenant", "acme")
	return ep.Endpoint
}

// TestHealthAcrossTwoDispatchers: a known sequence of outcomes, the first
// three messages delivered by dispatcher-1 alone and the last two by
// dispatcher-2 alone (dispatcher-1 stopped), with the tenant schedule
// giving each delivery two attempts: the health read through the CLI
// combines both dispatchers' writes into the expected figures, the
// average and last response time equal the attempt records', and each
// dispatcher's metrics count its own attempts.
func TestHealthAcrossTwoDispatchers(t *testing.T) {
	t.Parallel()
	f := startOutboundFleet(t)
	d1, ops1 := f.startOpsDispatcher(t, "dispatcher-1")
	app := outboundSetup(t, f.dir, f.env)
	fleetRetrySchedule(t, f, 0)
	r := newScriptedReceiver(t, http.StatusOK, 3*time.Millisecond)
	ep, _, rev := createEndpoint(t, f.dir, f.env, app, r.URL+"/hooks")
	waitDispatchers(t, f.dir, f.env, 1, rev)
	kv := deliveriesKV(t, f.js)

	if out := mustRun(t, f.dir, f.env, "endpoints", "list", "--tenant", "acme"); !strings.Contains(out, "LAST STATUS") || !strings.Contains(out, ep) {
		t.Fatalf("endpoints list before any attempt:\n%s", out)
	}
	steps := []struct {
		statuses []int
		state    string
	}{
		{[]int{200}, "succeeded"},
		{[]int{200}, "succeeded"},
		{[]int{500, 200}, "succeeded"},
		// dispatcher-2 from here on
		{[]int{503, 503}, "failed"},
		{[]int{500, 502}, "failed"},
	}
	var ids []string
	for i, s := range steps {
		if i == 3 {
			// Hand over: dispatcher-2 holds the configuration, then
			// dispatcher-1 stops (writing what it has left).
			_, _ = f.startOpsDispatcher(t, "dispatcher-2")
			waitDispatchers(t, f.dir, f.env, 2, rev)
			if n := metric(t, ops1, "hookgate_dispatch_attempts_total"); n != 4 {
				t.Errorf("dispatcher-1 counted %v attempts, want 4", n)
			}
			if err := d1.stop(t); err != nil {
				t.Fatalf("stop dispatcher-1: %v", err)
			}
		}
		id := newMessageID(t)
		ids = append(ids, id)
		r.script(id, s.statuses...)
		publishOutbound(t, f.js, "acme", app, "order.created", id, fmt.Sprintf(`{"n":%d}`, i))
		waitDelivery(t, kv, "acme", id, ep, s.state)
	}

	// Expected from the attempt records: 3 succeeded, 5 failed; the last
	// four failed in a row (two deliveries ended failed); the last one
	// answered 502.
	var atts *attemptsJSON
	poll.Until(t, 30*time.Second, "8 attempts listed", func() bool {
		atts = listAttempts(t, f.dir, f.env, ep)
		return len(atts.Attempts) == 8
	})
	var sum int64
	for _, a := range atts.Attempts {
		sum += a.Duration.AsDuration().Milliseconds()
	}
	wantAvg, wantLast := sum/8, atts.Attempts[0].Duration.AsDuration().Milliseconds()
	var h *hookgatev1.EndpointHealth
	poll.Until(t, 30*time.Second, "the health of all 8 attempts", func() bool {
		h = endpointHealth(t, f, ep).GetHealth()
		return h.GetSuccessCount()+h.GetFailureCount() == 8
	})
	if h.SuccessCount != 3 || h.FailureCount != 5 || h.ConsecutiveFailures != 4 || h.ErrorsSinceLastSuccess != 2 {
		t.Errorf("health %d succeeded, %d failed, %d in a row, %d deliveries failed; want 3, 5, 4, 2", h.SuccessCount, h.FailureCount, h.ConsecutiveFailures, h.ErrorsSinceLastSuccess)
	}
	within1 := func(got, want int64) bool { return got >= want-1 && got <= want+1 }
	if !within1(h.AvgResponseTimeMs, wantAvg) || !within1(h.LastResponseTimeMs, wantLast) || h.SampledAttempts != 8 {
		t.Errorf("avg %d ms over %d, last %d ms; the records say %d over 8, %d", h.AvgResponseTimeMs, h.SampledAttempts, h.LastResponseTimeMs, wantAvg, wantLast)
	}
	if st := h.LastStatus; st.GetCode() != 502 || st.GetMessage() != "502 Bad Gateway" || st.GetErrorClass() != "http_status" {
		t.Errorf("last status %v, want 502 Bad Gateway", st)
	}
	// The run of failures started with the 4th message's first attempt,
	// after the 3rd message's second (successful) one.
	first, lastOK := atts.Attempts[3], atts.Attempts[4]
	if !h.FailingSince.AsTime().Equal(first.Time.AsTime()) || !h.LastSuccessTime.AsTime().Equal(lastOK.Time.AsTime()) {
		t.Errorf("failing since %v, last success %v; want %v and %v", h.FailingSince.AsTime(), h.LastSuccessTime.AsTime(), first.Time.AsTime(), lastOK.Time.AsTime())
	}
	out := mustRun(t, f.dir, f.env, "endpoints", "list", "--tenant", "acme")
	t.Logf("hookgate endpoints list --tenant acme\n%s", out)
	if row := grepLines(out, ep); !strings.Contains(row, "502 Bad Gateway") || !strings.Contains(row, fmt.Sprintf(" %dms ", h.AvgResponseTimeMs)) || !strings.Contains(row, " 4 ") {
		t.Errorf("endpoints list row lacks the health columns:\n%s", out)
	}
	get := mustRun(t, f.dir, f.env, "endpoints", "get", ep, "--tenant", "acme")
	t.Logf("hookgate endpoints get %s --tenant acme\n%s", ep, get)
	health := mustRun(t, f.dir, f.env, "endpoints", "health", ep, "--tenant", "acme")
	t.Logf("hookgate endpoints health %s --tenant acme\n%s", ep, health)
	for _, want := range []string{"3 succeeded, 5 failed", "4 attempts in a row", "2 deliveries failed", "502 Bad Gateway at"} {
		if !strings.Contains(get, want) {
			t.Errorf("endpoints get lacks %q:\n%s", want, get)
		}
		if !strings.Contains(health, want) {
			t.Errorf("endpoints health lacks %q:\n%s", want, health)
		}
	}
	if !strings.Contains(health, "enabled") {
		t.Errorf("endpoints health lacks the status:\n%s", health)
	}
}

// TestAutoDisableWithCompressedSpan: dispatchers told to disable an
// endpoint that failed every attempt for 1 s (at least 5 attempts); a
// receiver that always answers 500 is disabled with reason FAILING, the
// endpoint.disabled event {reason auto} is seen on core NATS once, no
// delivery is left pending (its retries were cancelled), and re-enabling
// resets the counters and delivers again.
func TestAutoDisableWithCompressedSpan(t *testing.T) {
	t.Parallel()
	f := startOutboundFleet(t)
	flags := []string{"--auto-disable-after", "1s", "--auto-disable-min-attempts", "5"}
	f.startOpsDispatcher(t, "dispatcher-1", flags...)
	f.startOpsDispatcher(t, "dispatcher-2", flags...)
	app := outboundSetup(t, f.dir, f.env)
	r := newScriptedReceiver(t, http.StatusInternalServerError, 0)
	ep, _, rev := createEndpoint(t, f.dir, f.env, app, r.URL+"/hooks")
	waitDispatchers(t, f.dir, f.env, 2, rev)
	kv := deliveriesKV(t, f.js)

	nc, err := nats.Connect(f.nats)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	events := make(chan *nats.Msg, 64)
	sub, err := nc.ChanSubscribe("hookgate.ops.acme.>", events)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}

	// A message every 100 ms until the endpoint is disabled (at most 100).
	var ids []string
	disabled := func() bool {
		return endpointHealth(t, f, ep).Status == hookgatev1.EndpointStatus_ENDPOINT_STATUS_DISABLED
	}
	for i := 0; !disabled(); i++ {
		if i == 100 {
			t.Fatalf("the endpoint was not disabled after 100 messages over %d attempts", r.count())
		}
		id := newMessageID(t)
		ids = append(ids, id)
		publishOutbound(t, f.js, "acme", app, "order.created", id, fmt.Sprintf(`{"n":%d}`, i))
		time.Sleep(100 * time.Millisecond) // the span under test: failures spread over time
	}
	got := endpointHealth(t, f, ep)
	if got.DisabledReason != hookgatev1.EndpointDisabledReason_ENDPOINT_DISABLED_REASON_FAILING {
		t.Errorf("disabled with reason %v, want FAILING", got.DisabledReason)
	}
	if h := got.GetHealth(); h.GetConsecutiveFailures() < 5 || h.GetFailingSince() == nil ||
		h.GetLastFailureTime().AsTime().Sub(h.GetFailingSince().AsTime()) < time.Second || h.GetSuccessCount() != 0 {
		t.Errorf("health at the disable: %v", h)
	}
	if out := mustRun(t, f.dir, f.env, "endpoints", "get", ep, "--tenant", "acme"); !strings.Contains(out, "disabled (failing)") {
		t.Errorf("endpoints get does not say disabled (failing):\n%s", out)
	}
	if out := mustRun(t, f.dir, f.env, "endpoints", "health", ep, "--tenant", "acme"); !strings.Contains(out, "disabled (failing)") {
		t.Errorf("endpoints health does not say disabled (failing):\n%s", out)
	}
	// The event: reason auto, this endpoint, once (one dispatcher asks).
	var ev struct{ Tenant, EndpointID, Reason string }
	timeout := time.After(10 * time.Second)
	for ev.Reason != "auto" {
		select {
		case m := <-events:
			if m.Subject != "hookgate.ops.acme.endpoint.disabled" {
				continue
			}
			if err := json.Unmarshal(m.Data, &ev); err != nil {
				t.Fatalf("endpoint.disabled event %q: %v", m.Data, err)
			}
		case <-timeout:
			t.Fatal("no endpoint.disabled event with reason auto on hookgate.ops.acme.endpoint.disabled")
		}
	}
	if ev.Tenant != "acme" || ev.EndpointID != ep {
		t.Errorf("event %+v, want tenant acme endpoint %s", ev, ep)
	}
	// Nothing is left pending: the disable cancelled the waiting retries.
	cancelled := 0
	poll.Until(t, 30*time.Second, "no delivery of the disabled endpoint pending", func() bool {
		cancelled = 0
		for _, id := range ids {
			d, ok := readDelivery(t, kv, "acme", id, ep)
			if ok && d.State == "pending" {
				return false
			}
			if ok && d.State == "cancelled" {
				cancelled++
			}
		}
		return true
	})
	if cancelled == 0 {
		t.Errorf("no delivery was cancelled by the disable (%d messages)", len(ids))
	}

	// Re-enabled: counters reset, and it is delivered to again.
	r.setFallback(http.StatusOK)
	mustRun(t, f.dir, f.env, "endpoints", "enable", ep, "--tenant", "acme")
	if h := endpointHealth(t, f, ep).GetHealth(); h.GetConsecutiveFailures() != 0 || h.GetFailingSince() != nil || h.GetFailureCount() == 0 {
		t.Errorf("health after re-enabling: %v", h)
	}
	waitDispatchers(t, f.dir, f.env, 2, endpointRev(t, f.dir, f.env, ep))
	id := newMessageID(t)
	publishOutbound(t, f.js, "acme", app, "order.created", id, `{"after":"enable"}`)
	waitDelivery(t, kv, "acme", id, ep, "succeeded")
	poll.Until(t, 30*time.Second, "the success in the health", func() bool {
		h := endpointHealth(t, f, ep).GetHealth()
		return h.GetSuccessCount() == 1 && h.GetConsecutiveFailures() == 0
	})
	if ep := endpointHealth(t, f, ep); ep.Status != hookgatev1.EndpointStatus_ENDPOINT_STATUS_ENABLED {
		t.Errorf("status %v after the success, want enabled", ep.Status)
	}
}

// TestDisableEnableDelete: a disabled endpoint receives nothing (another
// endpoint of the same messages does), keeps its configuration, secret
// and history, and is delivered to as before once enabled; deleting it
// removes it, its attempts and its health, but not the messages.
func TestDisableEnableDelete(t *testing.T) {
	t.Parallel()
	f := startOutboundFleet(t)
	f.startDispatcher(t, "dispatcher-1")
	app := outboundSetup(t, f.dir, f.env)
	ra, rb := newReceiver(t), newReceiver(t)
	a, secA, _ := createEndpoint(t, f.dir, f.env, app, ra.URL+"/a", "--name", "Orders", "--header", "X-Team=billing")
	b, secB, rev := createEndpoint(t, f.dir, f.env, app, rb.URL+"/b")
	ra.setSecret(secA)
	rb.setSecret(secB)
	waitDispatchers(t, f.dir, f.env, 1, rev)
	kv := deliveriesKV(t, f.js)
	send := func(payload string) string {
		t.Helper()
		id := newMessageID(t)
		publishOutbound(t, f.js, "acme", app, "order.created", id, payload)
		return id
	}
	m1 := send(`{"n":1}`)
	waitDelivery(t, kv, "acme", m1, a, "succeeded")
	waitDelivery(t, kv, "acme", m1, b, "succeeded")
	before := endpointHealth(t, f, a)

	mustRun(t, f.dir, f.env, "endpoints", "disable", a, "--tenant", "acme")
	waitDispatchers(t, f.dir, f.env, 1, endpointRev(t, f.dir, f.env, a))
	m2 := send(`{"n":2}`)
	waitDelivery(t, kv, "acme", m2, b, "succeeded")
	if _, ok := readDelivery(t, kv, "acme", m2, a); ok || len(ra.requests()) != 1 {
		t.Errorf("the disabled endpoint got %d requests and a delivery of m2 (%v), want 1 and none", len(ra.requests()), ok)
	}
	off := endpointHealth(t, f, a)
	if off.Url != before.Url || off.Name != "Orders" || off.Headers["X-Team"] != "billing" || strings.Join(off.EventTypes, ",") != "order.created" {
		t.Errorf("configuration changed by the disable: %v", off)
	}
	if n := len(listAttempts(t, f.dir, f.env, a).Attempts); n != 1 {
		t.Errorf("the disabled endpoint lists %d attempts, want its 1", n)
	}

	mustRun(t, f.dir, f.env, "endpoints", "enable", a, "--tenant", "acme")
	waitDispatchers(t, f.dir, f.env, 1, endpointRev(t, f.dir, f.env, a))
	m3 := send(`{"n":3}`)
	waitDelivery(t, kv, "acme", m3, a, "succeeded")
	if got := ra.requests(); len(got) != 2 || !got[1].verified || got[1].id != m3 {
		t.Errorf("after enabling: %d requests, last %+v; want m3 signed with the same secret", len(got), got[len(got)-1])
	}
	poll.Until(t, 30*time.Second, "a's health to hold both attempts", func() bool {
		return endpointHealth(t, f, a).GetHealth().GetSuccessCount() == 2
	})

	mustRun(t, f.dir, f.env, "endpoints", "delete", a, "--tenant", "acme")
	mustFail(t, f.dir, f.env, []string{"not_found"}, "endpoints", "get", a, "--tenant", "acme")
	if n := len(listAttempts(t, f.dir, f.env, a).Attempts); n != 0 {
		t.Errorf("the deleted endpoint still lists %d attempts", n)
	}
	if n := len(listAttempts(t, f.dir, f.env, b).Attempts); n != 3 {
		t.Errorf("the other endpoint lists %d attempts, want 3", n)
	}
	hkv, err := f.js.KeyValue(t.Context(), "HOOKGATE_HEALTH")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hkv.Get(t.Context(), "acme."+a); err == nil {
		t.Errorf("the deleted endpoint's health is still stored")
	}
	for _, m := range []string{m1, m2, m3} {
		if out := mustRun(t, f.dir, f.env, "messages", "get", m, "--tenant", "acme"); !strings.Contains(out, m) {
			t.Errorf("message %s is gone with the endpoint:\n%s", m, out)
		}
	}
}
