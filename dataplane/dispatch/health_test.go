package dispatch_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookgate/hookgate/dataplane/dispatch"
	"github.com/hookgate/hookgate/testkit/natstest"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// healthClock is a clock the test sets.
type healthClock struct{ ns atomic.Int64 }

func (c *healthClock) now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *healthClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

var healthT0 = time.Date(2026, 3, 23, 12, 0, 0, 0, time.UTC)

// outcome is one attempt of a health sequence: when (after healthT0), by
// which replica, and how it ended.
type outcome struct {
	at      time.Duration
	replica int
	status  int
	class   dispatch.ErrorClass
	ms      int64
	// retry: a retry is due after this failure (the delivery goes on).
	retry bool
}

func (o outcome) attempt(ep string) *dispatch.Attempt {
	a := &dispatch.Attempt{
		MessageID: "msg_1", EndpointID: ep, Number: 1, Time: healthT0.Add(o.at),
		Duration: time.Duration(o.ms) * time.Millisecond, StatusCode: o.status, ErrorClass: o.class,
	}
	if o.retry {
		a.NextRetry = a.Time.Add(time.Minute)
	}
	return a
}

func ok(at time.Duration, replica int, ms int64) outcome {
	return outcome{at: at, replica: replica, status: 200, ms: ms}
}

func fail(at time.Duration, replica, status int, ms int64, retry bool) outcome {
	class := dispatch.ClassHTTPStatus
	if status == 0 {
		class = dispatch.ClassTimeout
	}
	return outcome{at: at, replica: replica, status: status, class: class, ms: ms, retry: retry}
}

type healthWant struct {
	success, failure, consecutive, errors int64
	avg, last                             int64
	lastSuccess, failingSince             time.Duration // after healthT0; -1: unset
	lastCode                              int
	lastMessage                           string
}

func checkHealth(t *testing.T, h *dispatch.Health, w healthWant) {
	t.Helper()
	at := func(d time.Duration) time.Time {
		if d < 0 {
			return time.Time{}
		}
		return healthT0.Add(d)
	}
	if h.SuccessCount != w.success || h.FailureCount != w.failure {
		t.Errorf("counts %d succeeded %d failed, want %d and %d", h.SuccessCount, h.FailureCount, w.success, w.failure)
	}
	if h.ConsecutiveFailures != w.consecutive || h.ErrorsSinceLastSuccess != w.errors {
		t.Errorf("consecutive failures %d, errors since last success %d, want %d and %d", h.ConsecutiveFailures, h.ErrorsSinceLastSuccess, w.consecutive, w.errors)
	}
	if h.AvgResponseTimeMs != w.avg || h.LastResponseTimeMs != w.last {
		t.Errorf("avg %d ms last %d ms, want %d and %d", h.AvgResponseTimeMs, h.LastResponseTimeMs, w.avg, w.last)
	}
	if !h.LastSuccessAt.Equal(at(w.lastSuccess)) || !h.FailingSince.Equal(at(w.failingSince)) {
		t.Errorf("last success %v failing since %v, want %v and %v", h.LastSuccessAt, h.FailingSince, at(w.lastSuccess), at(w.failingSince))
	}
	if h.LastStatus == nil || h.LastStatus.Code != w.lastCode || h.LastStatus.Message != w.lastMessage {
		t.Errorf("last status %+v, want code %d message %q", h.LastStatus, w.lastCode, w.lastMessage)
	}
}

// healthSequences are outcomes split between two replicas, each flushing
// its batch once at the end, in either order.
var healthSequences = []struct {
	name string
	seq  []outcome
	want healthWant
}{
	{
		name: "all succeed",
		seq:  []outcome{ok(0, 0, 10), ok(time.Second, 1, 20), ok(2*time.Second, 0, 30)},
		want: healthWant{success: 3, avg: 20, last: 30, lastSuccess: 2 * time.Second, failingSince: -1, lastCode: 200, lastMessage: "200 OK"},
	},
	{
		name: "failures after the last success on both replicas",
		seq: []outcome{
			ok(0, 0, 10), fail(time.Second, 1, 500, 20, true), fail(2*time.Second, 0, 503, 30, true),
			fail(3*time.Second, 1, 0, 5000, false),
		},
		want: healthWant{success: 1, failure: 3, consecutive: 3, errors: 1, avg: 1265, last: 5000,
			lastSuccess: 0, failingSince: time.Second, lastCode: 0, lastMessage: "timeout"},
	},
	{
		name: "one replica's success inside the other's run of failures",
		seq: []outcome{
			fail(0, 0, 500, 10, false), fail(time.Second, 0, 500, 10, false), ok(2*time.Second, 1, 40),
			fail(3*time.Second, 0, 502, 10, true), fail(4*time.Second, 0, 502, 10, false),
		},
		want: healthWant{success: 1, failure: 4, consecutive: 2, errors: 1, avg: 16, last: 10,
			lastSuccess: 2 * time.Second, failingSince: 3 * time.Second, lastCode: 502, lastMessage: "502 Bad Gateway"},
	},
	{
		name: "a late success ends every earlier failure",
		seq:  []outcome{fail(0, 0, 500, 10, false), fail(time.Second, 1, 500, 10, true), ok(2*time.Second, 0, 10)},
		want: healthWant{success: 1, failure: 2, avg: 10, last: 10, lastSuccess: 2 * time.Second, failingSince: -1, lastCode: 200, lastMessage: "200 OK"},
	},
	{
		name: "out of order within one batch",
		seq:  []outcome{fail(3*time.Second, 0, 500, 10, true), ok(time.Second, 0, 10), fail(2*time.Second, 1, 404, 10, false)},
		want: healthWant{success: 1, failure: 2, consecutive: 2, errors: 1, avg: 10, last: 10,
			lastSuccess: time.Second, failingSince: 2 * time.Second, lastCode: 500, lastMessage: "500 Internal Server Error"},
	},
}

func TestMergeHealthSequences(t *testing.T) {
	t.Parallel()
	now := healthT0.Add(time.Hour)
	for _, tt := range healthSequences {
		t.Run(tt.name, func(t *testing.T) {
			for _, order := range [][2]int{{0, 1}, {1, 0}} {
				var batch [2]*dispatch.Health
				for _, o := range tt.seq {
					obs := dispatch.HealthOf("acme", o.attempt("ep_1"))
					if batch[o.replica] == nil {
						batch[o.replica] = obs
					} else {
						batch[o.replica] = dispatch.MergeHealth(batch[o.replica], obs, now)
					}
				}
				stored := &dispatch.Health{}
				for _, r := range order {
					if batch[r] != nil {
						stored = dispatch.MergeHealth(stored, batch[r], now)
					}
				}
				checkHealth(t, stored, tt.want)
			}
		})
	}
}

func TestMergeHealthBounds(t *testing.T) {
	t.Parallel()
	now := healthT0.Add(48 * time.Hour)
	h := &dispatch.Health{}
	// 150 attempts 2 days ago (outside the window), then 150 recent ones:
	// the average covers the newest 100 of the window only.
	for i := range 150 {
		a := &dispatch.Attempt{EndpointID: "ep_1", Time: healthT0.Add(time.Duration(i) * time.Second), Duration: time.Second}
		h = dispatch.MergeHealth(h, dispatch.HealthOf("acme", a), now)
	}
	for i := range 150 {
		a := &dispatch.Attempt{EndpointID: "ep_1", Time: now.Add(-time.Hour + time.Duration(i)*time.Second), Duration: time.Duration(i) * time.Millisecond}
		h = dispatch.MergeHealth(h, dispatch.HealthOf("acme", a), now)
	}
	if len(h.Recent) != dispatch.HealthSamples {
		t.Fatalf("%d samples kept, want %d", len(h.Recent), dispatch.HealthSamples)
	}
	// The newest 100 lasted 50..149 ms: mean 99.
	if h.AvgResponseTimeMs != 99 || h.SuccessCount != 300 {
		t.Errorf("avg %d ms over %d successes, want 99 over 300", h.AvgResponseTimeMs, h.SuccessCount)
	}
	// Bad input: merging two empty values is empty, not a panic.
	if e := dispatch.MergeHealth(&dispatch.Health{}, &dispatch.Health{}, now); e.SuccessCount != 0 || e.LastStatus != nil || len(e.Recent) != 0 || !e.FailingSince.IsZero() {
		t.Errorf("empty merge: %+v", e)
	}
	// Only old samples: none left in the window, average 0.
	old := dispatch.MergeHealth(&dispatch.Health{}, dispatch.HealthOf("acme", &dispatch.Attempt{EndpointID: "ep_1", Time: healthT0, Duration: time.Second}), now)
	if len(old.Recent) != 0 || old.AvgResponseTimeMs != 0 || old.SuccessCount != 1 {
		t.Errorf("old samples: %+v", old)
	}
}

type tracker struct {
	*dispatch.HealthTracker
	disabled *atomic.Int64
}

// twoTrackers are two replicas' trackers on their own connections to one
// server, sharing the health bucket; every auto-disable either reports
// is counted in disabled.
func twoTrackers(t *testing.T, clock *healthClock, cfg dispatch.HealthConfig, known func(string, string) bool) ([2]*dispatch.HealthTracker, *atomic.Int64, [2]*prometheus.Registry, jetstream.JetStream) {
	t.Helper()
	srv := natstest.Start(t)
	var disabled atomic.Int64
	var out [2]*dispatch.HealthTracker
	var regs [2]*prometheus.Registry
	for i := range out {
		regs[i] = prometheus.NewRegistry()
		tr, err := dispatch.NewHealthTracker(cfg, dispatch.HealthDeps{
			JetStream: srv.JetStream(t), Log: slog.New(slog.DiscardHandler), Now: clock.now, Metrics: regs[i], Known: known,
			OnAutoDisable: func(_ context.Context, tenant, ep string) {
				if tenant == "acme" && ep == "ep_1" {
					disabled.Add(1)
				}
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		out[i] = tr
	}
	return out, &disabled, regs, srv.JetStream(t)
}

func getHealth(t *testing.T, tr *dispatch.HealthTracker) *dispatch.Health {
	t.Helper()
	h, found, err := tr.Get(t.Context(), "acme", "ep_1")
	if err != nil || !found {
		t.Fatalf("read health: found %v, %v", found, err)
	}
	return &h
}

// TestHealthAcrossTwoTrackers: each sequence observed by two replicas
// that write to the shared bucket after every outcome or only at the end,
// in both orders, reads the same figures.
func TestHealthAcrossTwoTrackers(t *testing.T) {
	t.Parallel()
	for _, tt := range healthSequences {
		for _, eager := range []bool{true, false} {
			name := tt.name + " written at the end"
			if eager {
				name = tt.name + " written after each"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				clock := &healthClock{}
				clock.ns.Store(healthT0.Add(time.Hour).UnixNano())
				trs, _, _, _ := twoTrackers(t, clock, dispatch.HealthConfig{}, nil)
				for _, o := range tt.seq {
					trs[o.replica].Observe(t.Context(), "acme", o.attempt("ep_1"))
					if eager {
						if err := trs[o.replica].Flush(t.Context()); err != nil {
							t.Fatal(err)
						}
					}
				}
				for _, tr := range []*dispatch.HealthTracker{trs[1], trs[0]} {
					if err := tr.Flush(t.Context()); err != nil {
						t.Fatal(err)
					}
				}
				checkHealth(t, getHealth(t, trs[0]), tt.want)
			})
		}
	}
}

// TestHealthConcurrentWriters: two replicas writing at once lose no
// attempt (compare-and-set).
func TestHealthConcurrentWriters(t *testing.T) {
	t.Parallel()
	clock := &healthClock{}
	clock.ns.Store(healthT0.Add(time.Hour).UnixNano())
	trs, _, regs, _ := twoTrackers(t, clock, dispatch.HealthConfig{}, nil)
	const rounds, per = 20, 10
	var wg sync.WaitGroup
	for r, tr := range trs {
		wg.Go(func() {
			for i := range rounds {
				for j := range per {
					at := time.Duration(i*per+j)*time.Millisecond + time.Duration(r)*time.Microsecond
					tr.Observe(context.Background(), "acme", ok(at, r, 5).attempt("ep_1"))
				}
				if err := tr.Flush(context.Background()); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if h := getHealth(t, trs[0]); h.SuccessCount != 2*rounds*per || len(h.Recent) != dispatch.HealthSamples || h.AvgResponseTimeMs != 5 {
		t.Errorf("%d successes, %d samples, avg %d ms; want %d, %d, 5", h.SuccessCount, len(h.Recent), h.AvgResponseTimeMs, 2*rounds*per, dispatch.HealthSamples)
	}
	if n := counterValue(t, regs[0], "hookgate_dispatch_attempts_total", map[string]string{"outcome": "succeeded", "error_class": "none"}); n != rounds*per {
		t.Errorf("replica 0 counted %v attempts, want %d", n, rounds*per)
	}
}

// TestHealthAutoDisable: with a compressed span of 1 h and 3 attempts,
// failures spread over two replicas disable the endpoint once; fewer
// attempts, a shorter span, a success or a reset do not.
func TestHealthAutoDisable(t *testing.T) {
	t.Parallel()
	cfg := dispatch.HealthConfig{AutoDisableAfter: time.Hour, AutoDisableMinAttempts: 3}
	tests := []struct {
		name string
		seq  []outcome
		// reset at this offset (as the control plane does on enable);
		// 0 none.
		reset time.Duration
		want  int64
	}{
		{"failing for the span", []outcome{fail(0, 0, 500, 1, true), fail(30*time.Minute, 1, 500, 1, true), fail(time.Hour, 0, 0, 1, true)}, 0, 1},
		{"more failures after the disable report nothing more", []outcome{fail(0, 0, 500, 1, true), fail(30*time.Minute, 1, 500, 1, true), fail(time.Hour, 0, 500, 1, true), fail(2*time.Hour, 1, 500, 1, true)}, 0, 1},
		{"span too short", []outcome{fail(0, 0, 500, 1, true), fail(time.Minute, 1, 500, 1, true), fail(59*time.Minute, 0, 500, 1, true)}, 0, 0},
		{"too few attempts", []outcome{fail(0, 0, 500, 1, true), fail(2*time.Hour, 1, 500, 1, true)}, 0, 0},
		{"a success in between", []outcome{fail(0, 0, 500, 1, true), ok(30*time.Minute, 1, 1), fail(40*time.Minute, 0, 500, 1, true), fail(time.Hour, 1, 500, 1, true), fail(80*time.Minute, 0, 500, 1, true)}, 0, 0},
		{"reset by re-enabling", []outcome{fail(0, 0, 500, 1, true), fail(30*time.Minute, 1, 500, 1, true), fail(time.Hour, 0, 500, 1, true)}, 45 * time.Minute, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := &healthClock{}
			clock.ns.Store(healthT0.UnixNano())
			trs, disabled, regs, js := twoTrackers(t, clock, cfg, nil)
			for _, o := range tt.seq {
				clock.ns.Store(healthT0.Add(o.at).UnixNano())
				if tt.reset > 0 && o.at > tt.reset {
					resetHealth(t, trs, js, healthT0.Add(tt.reset))
					tt.reset = 0
				}
				trs[o.replica].Observe(t.Context(), "acme", o.attempt("ep_1"))
				if err := trs[o.replica].Flush(t.Context()); err != nil {
					t.Fatal(err)
				}
			}
			if got := disabled.Load(); got != tt.want {
				t.Errorf("auto-disable reported %d times, want %d", got, tt.want)
			}
			h := getHealth(t, trs[0])
			if (tt.want > 0) != !h.AutoDisabledAt.IsZero() {
				t.Errorf("autoDisabledAt %v, want set %v", h.AutoDisabledAt, tt.want > 0)
			}
			n := counterValue(t, regs[0], "hookgate_dispatch_endpoints_auto_disabled_total", nil) +
				counterValue(t, regs[1], "hookgate_dispatch_endpoints_auto_disabled_total", nil)
			if int64(n) != tt.want {
				t.Errorf("auto-disabled counters %v, want %d", n, tt.want)
			}
		})
	}
}

// resetHealth does what the control plane does on EnableEndpoint: it sets
// resetAt and clears the run of failures.
func resetHealth(t *testing.T, trs [2]*dispatch.HealthTracker, js jetstream.JetStream, at time.Time) {
	t.Helper()
	for _, tr := range trs {
		if err := tr.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	tr := trs[0]
	kv, err := js.KeyValue(t.Context(), dispatch.DefaultHealthBucket)
	if err != nil {
		t.Fatal(err)
	}
	h := getHealth(t, tr)
	h.ResetAt, h.ConsecutiveFailures, h.ErrorsSinceLastSuccess, h.FailingSince, h.AutoDisabledAt = at, 0, 0, time.Time{}, time.Time{}
	data, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(t.Context(), dispatch.HealthKey("acme", "ep_1"), data); err != nil {
		t.Fatal(err)
	}
}

// TestHealthObserveWithoutIO: Observe works with the connection closed
// (it does no I/O), nothing is written before a flush, and a batch of an
// endpoint the configuration no longer knows is dropped.
func TestHealthObserveWithoutIO(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t)
	nc := srv.Conn(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	var known atomic.Bool
	known.Store(true)
	tr, err := dispatch.NewHealthTracker(dispatch.HealthConfig{}, dispatch.HealthDeps{
		JetStream: js, Log: slog.New(slog.DiscardHandler),
		Known: func(_, _ string) bool { return known.Load() },
	})
	if err != nil {
		t.Fatal(err)
	}
	nc.Close()
	for i := range 1000 {
		tr.Observe(t.Context(), "acme", ok(time.Duration(i)*time.Millisecond, 0, 1).attempt("ep_1"))
	}
	// Written by a tracker on a live connection: the batch held all 1000.
	live, err := dispatch.NewHealthTracker(dispatch.HealthConfig{}, dispatch.HealthDeps{JetStream: srv.JetStream(t), Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if _, found, err := live.Get(t.Context(), "acme", "ep_1"); err != nil || found {
		t.Fatalf("health written before any flush: found %v, %v", found, err)
	}
	live.Observe(t.Context(), "acme", ok(0, 0, 1).attempt("ep_2"))
	known.Store(false)
	if err := live.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := live.Get(t.Context(), "acme", "ep_2"); !found {
		t.Errorf("the live tracker wrote nothing")
	}
	// Bad input: a cancelled attempt and a nil one count for nothing.
	live.Observe(t.Context(), "acme", &dispatch.Attempt{EndpointID: "ep_3", ErrorClass: dispatch.ClassCancelled, Time: healthT0})
	live.Observe(t.Context(), "acme", nil)
	if err := live.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := live.Get(t.Context(), "acme", "ep_3"); found {
		t.Errorf("a cancelled attempt was written")
	}

	// Unknown endpoint: dropped at flush.
	unknown, err := dispatch.NewHealthTracker(dispatch.HealthConfig{}, dispatch.HealthDeps{
		JetStream: srv.JetStream(t), Log: slog.New(slog.DiscardHandler), Known: func(_, ep string) bool { return ep != "ep_gone" },
	})
	if err != nil {
		t.Fatal(err)
	}
	unknown.Observe(t.Context(), "acme", ok(0, 0, 1).attempt("ep_gone"))
	if err := unknown.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := unknown.Get(t.Context(), "acme", "ep_gone"); found {
		t.Errorf("the batch of an endpoint the configuration does not know was written")
	}
}

// TestHealthRunFlushesWithinASecond: Run writes a batch without Flush.
func TestHealthRunFlushesWithinASecond(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t)
	tr, err := dispatch.NewHealthTracker(dispatch.HealthConfig{}, dispatch.HealthDeps{JetStream: srv.JetStream(t), Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- tr.Run(ctx) }()
	tr.Observe(t.Context(), "acme", fail(0, 0, 503, 7, true).attempt("ep_1"))
	waitHealth(t, tr, func(h dispatch.Health) bool { return h.FailureCount == 1 })
	// The second observation within the second is written by a later round.
	tr.Observe(t.Context(), "acme", ok(time.Second, 0, 9).attempt("ep_1"))
	waitHealth(t, tr, func(h dispatch.Health) bool { return h.SuccessCount == 1 && h.ConsecutiveFailures == 0 })
	// What is pending at the stop is written before Run returns.
	tr.Observe(t.Context(), "acme", ok(2*time.Second, 0, 9).attempt("ep_1"))
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if h := getHealth(t, tr); h.SuccessCount != 2 {
		t.Errorf("%d successes after the stop, want 2", h.SuccessCount)
	}
}

// TestNewHealthTrackerRefuses: bad settings and missing deps.
func TestNewHealthTrackerRefuses(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t)
	log := slog.New(slog.DiscardHandler)
	tests := []struct {
		name string
		cfg  dispatch.HealthConfig
		deps dispatch.HealthDeps
	}{
		{"no JetStream", dispatch.HealthConfig{}, dispatch.HealthDeps{Log: log}},
		{"no log", dispatch.HealthConfig{}, dispatch.HealthDeps{JetStream: srv.JetStream(t)}},
		{"negative span", dispatch.HealthConfig{AutoDisableAfter: -time.Second}, dispatch.HealthDeps{JetStream: srv.JetStream(t), Log: log}},
		{"negative attempts", dispatch.HealthConfig{AutoDisableMinAttempts: -1}, dispatch.HealthDeps{JetStream: srv.JetStream(t), Log: log}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := dispatch.NewHealthTracker(tt.cfg, tt.deps); err == nil {
				t.Errorf("accepted")
			}
		})
	}
}

func waitHealth(t *testing.T, tr *dispatch.HealthTracker, cond func(dispatch.Health) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		h, found, err := tr.Get(t.Context(), "acme", "ep_1")
		if err == nil && found && cond(h) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("health never matched: %+v found %v err %v", h, found, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func counterValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			match := true
			for k, v := range labels {
				match = match && have[k] == v
			}
			if match {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}
