package main

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"sync"
	"time"
)

// window is what a recorder saw since the last take.
type window struct {
	ok   int
	errs map[string]int
	lat  []time.Duration // of the successes, unsorted
}

func (w window) errCount() int {
	n := 0
	for _, c := range w.errs {
		n += c
	}
	return n
}

// quantile is the q-th quantile (0 < q ≤ 1) of the window's latencies.
func (w window) quantile(q float64) time.Duration {
	s := slices.Clone(w.lat)
	slices.Sort(s)
	return percentile(s, q)
}

// recorder collects successes with their latency and failures by kind,
// per window and in total.
type recorder struct {
	mu       sync.Mutex
	cur      window
	totalOK  int
	totalErr map[string]int
}

func newRecorder() *recorder {
	return &recorder{cur: window{errs: map[string]int{}}, totalErr: map[string]int{}}
}

func (r *recorder) ok(d time.Duration) {
	r.mu.Lock()
	r.cur.ok++
	r.cur.lat = append(r.cur.lat, d)
	r.totalOK++
	r.mu.Unlock()
}

func (r *recorder) fail(kind string) {
	r.mu.Lock()
	r.cur.errs[kind]++
	r.totalErr[kind]++
	r.mu.Unlock()
}

// take returns the current window and starts a new one.
func (r *recorder) take() window {
	r.mu.Lock()
	defer r.mu.Unlock()
	w := r.cur
	r.cur = window{errs: map[string]int{}, lat: make([]time.Duration, 0, len(w.lat))}
	return w
}

// totals returns the successes and a copy of the failures so far.
func (r *recorder) totals() (int, map[string]int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.totalOK, maps.Clone(r.totalErr)
}

// percentile is the nearest-rank q-th quantile (0 < q ≤ 1) of sorted:
// the smallest value with at least q of the values at or below it; 0 for
// none.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(q * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// median of v; NaN for none.
func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// growthRule says how much a series may grow over a soak. The first
// quarter is warm-up (pools, caches and connections fill) and is not
// judged. A leak is steady growth: the last quarter's median above the
// second quarter's by more than Ratio of it AND by more than Abs, with
// the third quarter's median above the second's as well, so one late
// spike (a backlog being drained) is not a leak and neither is a small
// series growing by a few units.
type growthRule struct {
	Name  string
	Unit  string
	Ratio float64
	Abs   float64
}

// The margins. Heap in use is judged against 20% and 16 MiB: a healthy
// run's heap moves by a few MiB between windows as the load's buffers
// come and go. Goroutines against 10% and 50: every connection of the
// load's pools and every delivery in flight holds one or two, so the
// count moves by tens with the latency, but a leak of one per request or
// per configuration change adds thousands over a soak.
var (
	heapRule      = growthRule{Name: "heap in use", Unit: "MiB", Ratio: 0.20, Abs: 16}
	goroutineRule = growthRule{Name: "goroutines", Unit: "", Ratio: 0.10, Abs: 50}
)

// growth is the verdict of a rule on a series.
type growth struct {
	Rule       growthRule
	Q2, Q3, Q4 float64 // medians of the second, third and last quarter
	Judged     bool    // false with fewer than 8 samples
	Leak       bool
}

// minGrowthSamples is the fewest samples (two a quarter) a verdict needs.
const minGrowthSamples = 8

// checkGrowth applies r to series, sampled at a steady rate; NaNs (a
// sample that could not be read) are left out.
func checkGrowth(r growthRule, series []float64) growth {
	g := growth{Rule: r}
	series = slices.DeleteFunc(slices.Clone(series), math.IsNaN)
	n := len(series)
	if n < minGrowthSamples {
		return g
	}
	quarter := func(k int) []float64 { return series[k*n/4 : (k+1)*n/4] }
	g.Q2, g.Q3, g.Q4 = median(quarter(1)), median(quarter(2)), median(quarter(3))
	g.Judged = true
	g.Leak = g.Q4 > g.Q2*(1+r.Ratio) && g.Q4-g.Q2 > r.Abs && g.Q3 > g.Q2
	return g
}

func (g growth) String() string {
	if !g.Judged {
		return fmt.Sprintf("%s: not judged (fewer than %d samples)", g.Rule.Name, minGrowthSamples)
	}
	verdict := "ok"
	if g.Leak {
		verdict = "LEAK"
	}
	unit := ""
	if g.Rule.Unit != "" {
		unit = " " + g.Rule.Unit
	}
	return fmt.Sprintf("%s: median Q2 %.1f%s, Q3 %.1f%s, Q4 %.1f%s (%+.1f%%); limit +%.0f%% and +%.0f%s: %s",
		g.Rule.Name, g.Q2, unit, g.Q3, unit, g.Q4, unit, 100*(g.Q4-g.Q2)/math.Max(g.Q2, 1e-9),
		100*g.Rule.Ratio, g.Rule.Abs, unit, verdict)
}
