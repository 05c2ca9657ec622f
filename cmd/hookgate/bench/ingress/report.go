package main

import (
	"fmt"
	"github.com/hookgate/hookgate/cmd/hookgate/bench/benchrun"
	"io"
	"os"
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

func rps(s sample) float64       { return s.rps }
func p50(s sample) float64       { return float64(s.p50) }
func p99(s sample) float64       { return float64(s.p99) }
func serverCPU(s sample) float64 { return float64(s.serverCPU) }
func loadCPU(s sample) float64   { return float64(s.loadCPU) }

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
		bare, dur := benchrun.Median(g.find("a"), rps), benchrun.Median(g.find("d"), rps)
		for i, rw := range g.rows {
			ss := g.samples[i]
			var errs int64
			for _, s := range ss {
				errs += s.errors
			}
			m := benchrun.Median(ss, rps)
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %d | %s | %s | %.2f | %.2f |\n", rw.name, sizeText(g.size), rpsText(ss),
				benchrun.MS(time.Duration(benchrun.Median(ss, p50))), benchrun.MS(time.Duration(benchrun.Median(ss, p99))), errs,
				benchrun.US(time.Duration(benchrun.Median(ss, serverCPU))), benchrun.US(time.Duration(benchrun.Median(ss, loadCPU))), m/bare, m/dur)
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
			med, lo, hi := benchrun.RoundRatios(g.find(of), g.find(l.other), l.f)
			fmt.Fprintf(&b, " %.2f (%.2f–%.2f) |", med, lo, hi)
		}
		fmt.Fprintf(&b, " %s |", l.goal)
		fmt.Fprintln(w, b.String())
	}
}

func rpsText(ss []sample) string {
	m := fmt.Sprintf("%.0f", benchrun.Median(ss, rps))
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
		round+1, name, sizeText(size), s.rps, benchrun.MS(s.p50), benchrun.MS(s.p99), s.errors, benchrun.US(s.serverCPU), benchrun.US(s.loadCPU))
}

func sizeText(n int) string {
	if n%1024 == 0 {
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}
