package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/hookgate/hookgate/cmd/hookgate/bench/benchrun"
	"github.com/hookgate/hookgate/dataplane/dispatch"
)

// table is every row measured: samples[i] are the rounds of rows[i].
type table struct {
	rows    []row
	samples [][]sample
}

type row struct{ letter, name string }

func (t *table) add(letter, name string, ss []sample) {
	t.rows = append(t.rows, row{letter, name})
	t.samples = append(t.samples, ss)
}

func (t table) find(letter string) []sample {
	for i, r := range t.rows {
		if r.letter == letter {
			return t.samples[i]
		}
	}
	return nil
}

type report struct {
	opts                  options
	t                     table
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

// ceiling is the bare-client row a closed-loop engine row is compared
// with; open-loop rows run at a set rate and have none.
func ceiling(letter string) string {
	switch letter {
	case "e1":
		return "a1"
	case "e10":
		return "a10"
	}
	return ""
}

func printReport(w io.Writer, r report) {
	host, _ := os.Hostname()
	o := r.opts
	fmt.Fprintf(w, "Outbound bench, %s on %s: %d CPUs, GOMAXPROCS %d in the server and in the load generator; "+
		"load average %s before, %s after; %d interleaved rounds of %s per closed-loop row (medians; deliveries/s range in brackets), "+
		"%d-byte payloads, %s in all.\n\n",
		r.began.UTC().Format(time.RFC3339), host, r.cpus, r.procs, r.loadBefore, r.loadAfter, o.rounds, o.duration, o.size, r.took.Round(time.Second))
	fmt.Fprintf(w, "Engine rows: %d publishers in a child process, each waiting for the ack, at most %d deliveries waiting (closed loop), "+
		"engine defaults (%d workers, %d per endpoint, 1 while an endpoint fails); bare rows: %d connections of a Go net/http client in a child process, "+
		"signed like the deliverer. Rate: deliveries from the first send to the last 200; latency: payload stamp (publish) → receiver.\n", o.publishers, o.window, dispatch.DefaultWorkers, max(1, dispatch.DefaultWorkers*3/4), o.conns)
	fmt.Fprintf(w, "server CPU/delivery: the server process (embedded NATS with its file store, engine with its HTTP client, receiver, Go runtime) "+
		"from the first send to the last delivery, per delivery; for bare rows it is the receiver alone. load CPU: the child. "+
		"missing: deliveries not at the receiver %s after the last send; extra: deliveries beyond one per (message, healthy endpoint), "+
		"at-least-once repeats.\n", drainTimeout)
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| run | deliveries/s | p50 | p99 | errors | missing | extra | server CPU/delivery | load CPU/delivery | vs bare client |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for i, rw := range r.t.rows {
		ss := r.t.samples[i]
		var errs, missing, extra int64
		for _, s := range ss {
			errs += s.errors
			missing += max(0, s.missing)
			extra += max(0, -s.missing)
		}
		vs := "—"
		if c := ceiling(rw.letter); c != "" {
			vs = fmt.Sprintf("%.2f", benchrun.Median(ss, rps)/benchrun.Median(r.t.find(c), rps))
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %d | %d | %d | %s | %s | %s |\n", rw.name, rpsText(ss),
			benchrun.MS(time.Duration(benchrun.Median(ss, p50))), benchrun.MS(time.Duration(benchrun.Median(ss, p99))), errs, missing, extra,
			benchrun.US(time.Duration(benchrun.Median(ss, serverCPU))), benchrun.US(time.Duration(benchrun.Median(ss, loadCPU))), vs)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Goals (issue 11): ratios are the median over rounds of the ratio within each round (range in brackets).")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| measure | value | goal | met |")
	fmt.Fprintln(w, "|---|---:|---|---|")
	for _, l := range []struct{ of, by, name string }{
		{"e1", "a1", "engine / bare client, 1 endpoint, deliveries/s"},
		{"e10", "a10", "engine / bare client, 10 endpoints, deliveries/s"},
	} {
		med, lo, hi := benchrun.RoundRatios(r.t.find(l.of), r.t.find(l.by), rps)
		fmt.Fprintf(w, "| %s | %.2f (%.2f–%.2f) | ≥ 0.5 | %s |\n", l.name, med, lo, hi, met(med >= 0.5))
	}
	for _, l := range []string{"e1½", "e10½"} {
		v := time.Duration(benchrun.Median(r.t.find(l), p99))
		fmt.Fprintf(w, "| p99 publish → receiver at half the max (%s) | %s | < 50 ms | %s |\n", l, benchrun.MS(v), met(v < 50*time.Millisecond))
	}
	k, k100 := benchrun.Median(r.t.find("k"), p99), benchrun.Median(r.t.find("k100"), p99)
	fmt.Fprintf(w, "| healthy p99, 100 of 1,000 timing out / all healthy | %.2f (%s / %s) | ≤ 2 | %s |\n",
		k100/k, benchrun.MS(time.Duration(k100)), benchrun.MS(time.Duration(k)), met(k100 <= 2*k))
	h, h1 := benchrun.Median(r.t.find("h"), p99), benchrun.Median(r.t.find("h1"), p99)
	fmt.Fprintf(w, "| healthy p99, 1 of 4 timing out with a quarter of the deliveries / all healthy | %.2f (%s / %s) | ≤ 2 | %s |\n",
		h1/h, benchrun.MS(time.Duration(h1)), benchrun.MS(time.Duration(h)), met(h1 <= 2*h))
}

func met(ok bool) string {
	if ok {
		return "yes"
	}
	return "no"
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

func logSample(name string, round int, s sample) {
	fmt.Fprintf(os.Stderr, "round %d  %-70s %8.0f deliveries/s  p50 %-9s p99 %-9s errors %-4d missing %-4d server %s/delivery  load %s/delivery\n",
		round+1, name, s.rps, benchrun.MS(s.p50), benchrun.MS(s.p99), s.errors, s.missing, benchrun.US(s.serverCPU), benchrun.US(s.loadCPU))
}
