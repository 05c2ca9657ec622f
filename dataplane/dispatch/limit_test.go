package dispatch_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookgate/hookgate/dataplane/dispatch"
	"github.com/hookgate/hookgate/testkit/natstest"
)

// fakeClock is a clock the test advances.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// twoLimits opens the limits twice, on two connections to one server, as
// two dispatcher replicas do.
func twoLimits(t *testing.T, clock *fakeClock) [2]*dispatch.Limits {
	t.Helper()
	srv := natstest.Start(t)
	var out [2]*dispatch.Limits
	for i := range out {
		l, err := dispatch.NewLimits(context.Background(), srv.JetStream(t), dispatch.DefaultLimitsBucket, 1, clock.now)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = l
	}
	return out
}

// drain takes tokens from both replicas at once, each until its Take
// answers "wait", and returns how many they took together.
func drain(t *testing.T, ls [2]*dispatch.Limits, ep *dispatch.Endpoint) int {
	t.Helper()
	var taken atomic.Int64
	var wg sync.WaitGroup
	for _, l := range ls {
		for range 3 { // several workers per replica
			wg.Go(func() {
				for {
					wait, err := l.Take(context.Background(), ep)
					if err != nil {
						t.Error(err)
						return
					}
					if wait > 0 {
						return
					}
					taken.Add(1)
				}
			})
		}
	}
	wg.Wait()
	return int(taken.Load())
}

func TestLimitsRateAcrossReplicas(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{}
	clock.advance(time.Hour)
	ls := twoLimits(t, clock)
	ep := &dispatch.Endpoint{ID: "ep_rate", RatePerSecond: 20, Burst: 5}
	steps := []struct {
		advance time.Duration
		want    int
	}{
		{0, 5},                      // the burst, shared: not 5 per replica
		{0, 0},                      // nothing refilled
		{100 * time.Millisecond, 2}, // 20/s
		{50 * time.Millisecond, 1},
		{10 * time.Second, 5}, // refill stops at the burst
	}
	for i, s := range steps {
		clock.advance(s.advance)
		if got := drain(t, ls, ep); got != s.want {
			t.Fatalf("step %d: replicas took %d tokens together, want %d", i, got, s.want)
		}
	}
	wait, err := ls[0].Take(context.Background(), ep)
	if err != nil || wait != 50*time.Millisecond {
		t.Fatalf("wait = %s, %v; want 50ms until the next token", wait, err)
	}
	// Another endpoint has a bucket of its own; no rate takes nothing.
	if got := drain(t, ls, &dispatch.Endpoint{ID: "ep_other", RatePerSecond: 1, Burst: 2}); got != 2 {
		t.Fatalf("other endpoint took %d", got)
	}
	if wait, err := ls[1].Take(context.Background(), &dispatch.Endpoint{ID: "ep_free"}); wait != 0 || err != nil {
		t.Fatalf("unlimited endpoint waits %s, %v", wait, err)
	}
}

func TestLimitsInFlightAcrossReplicas(t *testing.T) {
	t.Parallel()
	ls := twoLimits(t, &fakeClock{})
	ep := &dispatch.Endpoint{ID: "ep_cap", MaxInFlight: 3}
	ctx := context.Background()
	var (
		mu       sync.Mutex
		releases []func(context.Context)
		wg       sync.WaitGroup
	)
	for i := range 8 {
		wg.Go(func() {
			rel, ok, err := ls[i%2].Acquire(ctx, ep, time.Minute)
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				releases = append(releases, rel)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(releases) != 3 {
		t.Fatalf("%d slots held across replicas, want 3", len(releases))
	}
	if _, ok, _ := ls[0].Acquire(ctx, ep, time.Minute); ok {
		t.Fatal("a fourth slot was granted")
	}
	releases[0](ctx)
	rel, ok, err := ls[1].Acquire(ctx, ep, time.Minute)
	if err != nil || !ok {
		t.Fatalf("released slot not granted: %v", err)
	}
	rel(ctx)
	if _, ok, _ := ls[0].Acquire(ctx, &dispatch.Endpoint{ID: "ep_nocap"}, time.Minute); !ok {
		t.Fatal("endpoint without a cap refused")
	}
}

// TestLimitsManyWorkersOneEndpoint: 200 workers of one replica and 50 of
// another take tokens of one endpoint whose rate is far above their load
// (the soak's rate-limited endpoint, where every Take failed with
// "contention after 64 tries"): no Take fails, and together they take
// exactly the burst, never more.
func TestLimitsManyWorkersOneEndpoint(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{}
	clock.advance(time.Hour)
	ls := twoLimits(t, clock)
	const burst = 2000
	ep := &dispatch.Endpoint{ID: "ep_busy", RatePerSecond: 1, Burst: burst}
	var taken, failed atomic.Int64
	var wg sync.WaitGroup
	for i, workers := range []int{200, 50} {
		for range workers {
			wg.Go(func() {
				for range 10 {
					wait, err := ls[i].Take(context.Background(), ep)
					switch {
					case err != nil:
						failed.Add(1)
						return
					case wait == 0:
						taken.Add(1)
					}
				}
			})
		}
	}
	wg.Wait()
	if failed.Load() != 0 {
		t.Fatalf("%d Takes failed under local contention", failed.Load())
	}
	if got := taken.Load(); got != burst {
		t.Fatalf("took %d tokens, want the burst of %d", got, burst)
	}
}
