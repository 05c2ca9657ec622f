package benchrun_test

import (
	"testing"

	"github.com/hookgate/hookgate/cmd/hookgate/bench/benchrun"
)

func TestMedianAndRoundRatios(t *testing.T) {
	id := func(v float64) float64 { return v }
	if got := benchrun.Median([]float64{3, 1, 2}, id); got != 2 {
		t.Fatalf("median of 3 = %v", got)
	}
	if got := benchrun.Median([]float64{4, 1, 2, 3}, id); got != 2.5 {
		t.Fatalf("median of 4 = %v", got)
	}
	if got := benchrun.Median(nil, id); got != 0 {
		t.Fatalf("median of none = %v", got)
	}
	med, lo, hi := benchrun.RoundRatios([]float64{2, 9, 3}, []float64{1, 3, 3, 7}, id)
	if med != 2 || lo != 1 || hi != 3 {
		t.Fatalf("round ratios = %v %v %v, want 2 1 3", med, lo, hi)
	}
}
