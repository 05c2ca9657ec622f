package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
)

// group is every run of one body size: samples[i] are the rounds of rows[i].
type group struct {
	size    int
	rows    []row
	samples [][]sample
}

type row struct{ letter, name string }

func (g group) find(letter string) []sample {
	for i, r := range g.rows {
		if r.letter == letter {
			return g.samples[i]
		}
	}
	return nil
}

type report struct {
	opts                  options
	groups                []group
	began                 time.Time
	took                  time.Duration
	loadBefore, loadAfter string
	procs, cpus           int
}

func median(ss []sample, f func(sample) float64) float64 {
	if len(ss) == 0 {
		return 0
	}
	v := make([]float64, len(ss))
	for i, s := range ss {
		v[i] = f(s)
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func rps(s sample) float64       { return s.rps }
func p50(s sample) float64       { return float64(s.p50) }
func p99(s sample) float64       { return float64(s.p99) }
func serverCPU(s sample) float64 { return float64(s.serverCPU) }
func loadCPU(s sample) float64   { return float64(s.loadCPU) }

// roundRatios pairs the rounds of two rows (run back to back in the same
// round) and returns the median ratio f(x)/f(y) with its smallest and largest.
func roundRatios(x, y []sample, f func(sample) float64) (med, lo, hi float64) {
	n := min(len(x), len(y))
	if n == 0 {
		return 0, 0, 0
	}
	rs := make([]sample, n)
	for i := range n {
		rs[i] = sample{rps: f(x[i]) / f(y[i])}
	}
	med = median(rs, rps)
	lo, hi = rs[0].rps, rs[0].rps
	for _, r := range rs {
		lo, hi = min(lo, r.rps), max(hi, r.rps)
	}
	return med, lo, hi
}

func printReport(w io.Writer, r report) {
	host, _ := os.Hostname()
	fmt.Fprintf(w, "Ingress bench, %s on %s: %d CPUs, GOMAXPROCS %d in the server and in the load generator; "+
		"load average %s before, %s after; %d interleaved rounds of %s per row (medians; req/s range in brackets), %s in all.\n\n",
		r.began.UTC().Format(time.RFC3339), host, r.cpus, r.procs, r.loadBefore, r.loadAfter, r.opts.rounds, r.opts.duration, r.took.Round(time.Second))
	fmt.Fprintln(w, "server CPU/req: user+system CPU of the server process during the measured window divided by the requests answered;")
	fmt.Fprintln(w, "that process runs the HTTP servers, the handler, its NATS client and the embedded NATS server with its file store, and the Go runtime (GC).")
	fmt.Fprintln(w, "For (b) it is the NATS server alone: the publishers run in the load generator. load CPU/req: the load generator")
	fmt.Fprintln(w, "(a child process: Go net/http client, or the NATS client for (b)), not included in server CPU. Both processes share the same cores.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| run | body | req/s | p50 | p99 | errors | server CPU/req | load CPU/req | vs (a) | vs (d) |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, g := range r.groups {
		bare, dur := median(g.find("a"), rps), median(g.find("d"), rps)
		for i, rw := range g.rows {
			ss := g.samples[i]
			var errs int64
			for _, s := range ss {
				errs += s.errors
			}
			m := median(ss, rps)
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %d | %s | %s | %.2f | %.2f |\n", rw.name, sizeText(g.size), rpsText(ss),
				ms(time.Duration(median(ss, p50))), ms(time.Duration(median(ss, p99))), errs,
				us(time.Duration(median(ss, serverCPU))), us(time.Duration(median(ss, loadCPU))), m/bare, m/dur)
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Ratios of the edge rows, %d conns: median over rounds of the ratio within each round (range in brackets).\n\n", r.opts.conns)
	head := "| ratio |"
	sep := "|---|"
	for _, g := range r.groups {
		head += " " + sizeText(g.size) + " |"
		sep += "---:|"
	}
	fmt.Fprintln(w, head+" goal |")
	fmt.Fprintln(w, sep+"---|")
	lines := []struct {
		name, other string
		f           func(sample) float64
		goal        string
		of          string // the row compared, "c" when empty
	}{
		{"edge STRIPE (e) / edge GENERIC (c), req/s", "c", rps, "≥ 0.95 (issue 10)", "e"},
		{"edge STRIPE (e) / edge GENERIC (c), server CPU per request", "c", serverCPU, "—", "e"},
		{"edge / (d) durable handler, req/s", "d", rps, "≥ 1.0 at 1 KiB, ≥ 0.8 at 64 KiB", ""},
		{"edge / (a) bare net/http, req/s", "a", rps, "≥ 0.5 at 1 KiB", ""},
		{"edge / (d), server CPU per request", "d", serverCPU, "—", ""},
		{"edge / (a), server CPU per request", "a", serverCPU, "—", ""},
	}
	for _, l := range lines {
		var b strings.Builder
		fmt.Fprintf(&b, "| %s |", l.name)
		for _, g := range r.groups {
			of := "c"
			if l.of != "" {
				of = l.of
			}
			med, lo, hi := roundRatios(g.find(of), g.find(l.other), l.f)
			fmt.Fprintf(&b, " %.2f (%.2f–%.2f) |", med, lo, hi)
		}
		fmt.Fprintf(&b, " %s |", l.goal)
		fmt.Fprintln(w, b.String())
	}
}

func rpsText(ss []sample) string {
	m := fmt.Sprintf("%.0f", median(ss, rps))
	if len(ss) < 2 {
		return m
	}
	lo, hi := ss[0].rps, ss[0].rps
	for _, s := range ss {
		lo, hi = min(lo, s.rps), max(hi, s.rps)
	}
	return fmt.Sprintf("%s (%.0f–%.0f)", m, lo, hi)
}

func logSample(name string, size, round int, s sample) {
	fmt.Fprintf(os.Stderr, "round %d  %-50s %6s  %8.0f req/s  p50 %-8s p99 %-8s errors %-4d server %s/req  load %s/req\n",
		round+1, name, sizeText(size), s.rps, ms(s.p50), ms(s.p99), s.errors, us(s.serverCPU), us(s.loadCPU))
}

func sizeText(n int) string {
	if n%1024 == 0 {
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func us(d time.Duration) string { return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond)) }
