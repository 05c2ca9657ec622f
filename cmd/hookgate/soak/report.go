package main

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

var csvHeader = []string{"elapsed_s", "phase", "window_s", "rss_mib", "heap_inuse_mib", "goroutines_admin", "goroutines_ops",
	"in_ok", "in_err", "in_per_s", "in_p50_ms", "in_p99_ms",
	"out_ok", "out_err", "out_per_s", "out_p50_ms", "out_p99_ms",
	"deliv_n", "deliv_p50_ms", "deliv_p99_ms", "churn_ok", "churn_err", "failing"}

// writeCSV writes one line per sample.
func writeCSV(w io.Writer, samples []sample) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	f1 := func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
	for _, s := range samples {
		rec := []string{f1(s.At.Seconds()), s.Phase, f1(s.Secs), f1(s.RSS), f1(s.HeapInuse), f1(s.GoroutAdmin), f1(s.GoroutOps),
			strconv.Itoa(s.In.OK), strconv.Itoa(s.In.Err), f1(s.rate(s.In)), ms(s.In.P50), ms(s.In.P99),
			strconv.Itoa(s.Out.OK), strconv.Itoa(s.Out.Err), f1(s.rate(s.Out)), ms(s.Out.P50), ms(s.Out.P99),
			strconv.Itoa(s.Deliv.OK), ms(s.Deliv.P50), ms(s.Deliv.P99),
			strconv.Itoa(s.ChurnOK), strconv.Itoa(s.ChurnErr), s.Failing}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 2, 64)
}

// rowEvery is the Markdown table's step: a minute for runs up to ten
// minutes, five beyond, so a 30-minute soak is six rows.
func rowEvery(run time.Duration) time.Duration {
	if run <= 10*time.Minute {
		return time.Minute
	}
	return 5 * time.Minute
}

// tableRow sums the samples of one step.
type tableRow struct {
	end                       time.Duration
	rss, heap, gor            float64 // at the step's last sample that read them
	secs                      float64
	inOK, outOK, delivN, errs int
	churn                     int
	inP99, outP99, delivP99   time.Duration // worst 10-s window of the step
	faultNames                []string
}

// lastRead is v unless it could not be read (NaN), then the previous one.
func lastRead(prev, v float64) float64 {
	if math.IsNaN(v) {
		return prev
	}
	return v
}

// tableRows groups the samples of the load (ramp and hold; the drain is
// reported apart) into steps of every.
func tableRows(samples []sample, every time.Duration) []tableRow {
	var rows []tableRow
	for _, s := range samples {
		if s.Phase == "drain" {
			continue
		}
		k := int((s.At - time.Millisecond) / every) // a sample at 60.0 s closes the first minute
		for len(rows) <= k {
			rows = append(rows, tableRow{end: time.Duration(len(rows)+1) * every})
		}
		r := &rows[k]
		r.rss, r.heap, r.gor = lastRead(r.rss, s.RSS), lastRead(r.heap, s.HeapInuse), lastRead(r.gor, s.GoroutOps)
		r.secs += s.Secs
		r.inOK += s.In.OK
		r.outOK += s.Out.OK
		r.delivN += s.Deliv.OK
		r.errs += s.In.Err + s.Out.Err + s.ChurnErr
		r.churn += s.ChurnOK
		r.inP99, r.outP99, r.delivP99 = max(r.inP99, s.In.P99), max(r.outP99, s.Out.P99), max(r.delivP99, s.Deliv.P99)
		if s.Failing != "" && (len(r.faultNames) == 0 || r.faultNames[len(r.faultNames)-1] != s.Failing) {
			r.faultNames = append(r.faultNames, s.Failing)
		}
	}
	// Steps with no sample (none can be, at a 10 s sample period) stay
	// out of the table.
	out := rows[:0]
	for _, r := range rows {
		if r.secs > 0 {
			out = append(out, r)
		}
	}
	return out
}

// writeMarkdown writes the summary and the table.
func writeMarkdown(w io.Writer, sum summary, samples []sample) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Soak: %s at half the measured maximum\n\n", sum.Duration)
	for _, l := range sum.lines() {
		fmt.Fprintf(&b, "- %s\n", l)
	}
	every := rowEvery(sum.Duration)
	fmt.Fprintf(&b, "\nOne row per %s; memory and goroutines at the end of the step, rates over it, p99 the worst 10-s window in it.\n\n", every)
	b.WriteString("| min | RSS MiB | heap MiB | goroutines | in/s | in p99 ms | out/s | out p99 ms | delivery p99 ms | errors | changes | failing |\n")
	b.WriteString("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, r := range tableRows(samples, every) {
		fmt.Fprintf(&b, "| %g | %.0f | %.0f | %.0f | %.0f | %s | %.0f | %s | %s | %d | %d | %s |\n",
			r.end.Minutes(), r.rss, r.heap, r.gor, float64(r.inOK)/r.secs, ms(r.inP99), float64(r.outOK)/r.secs, ms(r.outP99),
			ms(r.delivP99), r.errs, r.churn, strings.Join(r.faultNames, ", "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
