package main

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		q      float64
		want   time.Duration
	}{
		{"empty", nil, 0.99, 0},
		{"one value", ms(7), 0.5, 7 * time.Millisecond},
		{"one value p99", ms(7), 0.99, 7 * time.Millisecond},
		{"median of four is the second (nearest rank)", ms(1, 2, 3, 4), 0.5, 2 * time.Millisecond},
		{"median of five", ms(1, 2, 3, 4, 5), 0.5, 3 * time.Millisecond},
		{"p99 of 1..100", hundred, 0.99, 99 * time.Millisecond},
		{"p50 of 1..100", hundred, 0.50, 50 * time.Millisecond},
		{"p100 is the largest", hundred, 1, 100 * time.Millisecond},
		{"q of zero is the smallest", ms(3, 4), 0, 3 * time.Millisecond},
		{"q above one is the largest", ms(3, 4), 1.5, 4 * time.Millisecond},
		{"p99 of 10 is the largest", ms(1, 1, 1, 1, 1, 1, 1, 1, 1, 900), 0.99, 900 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.sorted, tt.q); got != tt.want {
				t.Errorf("percentile(%v, %g) = %s, want %s", tt.sorted, tt.q, got, tt.want)
			}
		})
	}
}

func TestWindowQuantileSortsACopy(t *testing.T) {
	w := window{lat: []time.Duration{5, 1, 4, 2, 3}}
	if got := w.quantile(0.5); got != 3 {
		t.Errorf("median = %d, want 3", got)
	}
	if w.lat[0] != 5 {
		t.Errorf("quantile sorted the window's own slice: %v", w.lat)
	}
}

func TestRecorderTake(t *testing.T) {
	r := newRecorder()
	r.ok(time.Millisecond)
	r.ok(3 * time.Millisecond)
	r.fail("inbound: HTTP 503")
	w := r.take()
	if w.ok != 2 || w.errCount() != 1 || len(w.lat) != 2 {
		t.Fatalf("window %+v, want 2 ok, 1 error, 2 latencies", w)
	}
	r.fail("inbound: HTTP 503")
	if w2 := r.take(); w2.ok != 0 || w2.errCount() != 1 {
		t.Errorf("second window %+v, want only the new failure", w2)
	}
	ok, errs := r.totals()
	if ok != 2 || errs["inbound: HTTP 503"] != 2 {
		t.Errorf("totals %d, %v; want 2 and two 503s", ok, errs)
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		name string
		v    []float64
		want float64
	}{
		{"odd", []float64{3, 1, 2}, 2},
		{"even", []float64{4, 1, 3, 2}, 2.5},
		{"one", []float64{9}, 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := median(tt.v); got != tt.want {
				t.Errorf("median(%v) = %g, want %g", tt.v, got, tt.want)
			}
		})
	}
	if !math.IsNaN(median(nil)) {
		t.Errorf("median of nothing is not NaN")
	}
}

// ramp returns n values from a to b in equal steps.
func ramp(n int, a, b float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = a + (b-a)*float64(i)/float64(max(n-1, 1))
	}
	return out
}

func flat(n int, v float64) []float64 { return ramp(n, v, v) }

func concat(parts ...[]float64) []float64 {
	var out []float64
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestCheckGrowth(t *testing.T) {
	tests := []struct {
		name       string
		rule       growthRule
		series     []float64
		wantJudged bool
		wantLeak   bool
	}{
		{"flat heap", heapRule, flat(180, 100), true, false},
		{"steady heap growth 100 to 200 MiB", heapRule, ramp(180, 100, 200), true, true},
		{"slow heap growth under the ratio", heapRule, ramp(180, 100, 115), true, false},
		{"small heap tripling by under 16 MiB", heapRule, ramp(180, 4, 14), true, false},
		{"warm-up in the first quarter only", heapRule, concat(ramp(45, 20, 100), flat(135, 100)), true, false},
		{"one late spike (a drained backlog), third quarter flat", heapRule, concat(flat(135, 100), flat(45, 200)), true, false},
		{"step up in the third quarter that stays", heapRule, concat(flat(90, 100), flat(90, 200)), true, true},
		{"noisy but flat", heapRule, noisy(180, 100, 30), true, false},
		{"goroutines flat around 300", goroutineRule, noisy(180, 300, 40), true, false},
		{"goroutines leaking one per sample", goroutineRule, ramp(180, 300, 480), true, true},
		{"goroutines +40: under the absolute margin", goroutineRule, ramp(180, 100, 160), true, false},
		{"shrinking", goroutineRule, ramp(180, 500, 300), true, false},
		{"too few samples", heapRule, ramp(7, 1, 1000), false, false},
		{"empty", heapRule, nil, false, false},
		{"eight samples are enough", heapRule, ramp(8, 100, 400), true, true},
		{"unread samples are left out", heapRule, concat(flat(4, math.NaN()), ramp(7, 100, 400)), false, false},
		{"unread samples amid a leak", heapRule, concat(ramp(90, 100, 150), flat(3, math.NaN()), ramp(90, 150, 200)), true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := checkGrowth(tt.rule, tt.series)
			if g.Judged != tt.wantJudged || g.Leak != tt.wantLeak {
				t.Errorf("checkGrowth = judged %v leak %v (%s), want judged %v leak %v", g.Judged, g.Leak, g, tt.wantJudged, tt.wantLeak)
			}
		})
	}
}

// noisy is v plus a deterministic ±amp zig-zag.
func noisy(n int, v, amp float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v + amp*float64((i*7)%5-2)/2
	}
	return out
}

func TestGrowthString(t *testing.T) {
	g := checkGrowth(heapRule, ramp(180, 100, 200))
	s := g.String()
	for _, want := range []string{"heap in use", "Q2", "Q4", "LEAK", "+20%", "16 MiB"} {
		if !strings.Contains(s, want) {
			t.Errorf("%q lacks %q", s, want)
		}
	}
	if s := checkGrowth(goroutineRule, nil).String(); !strings.Contains(s, "not judged") {
		t.Errorf("%q does not say the series was not judged", s)
	}
}
