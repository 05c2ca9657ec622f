package main

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// rampLevels are the closed-loop worker counts of the ramp's steps.
var rampLevels = []int{2, 4, 8, 16, 32, 64}

// run is the whole soak; it returns the exit code and why it is not 0.
func run(ctx context.Context, o options) (int, error) {
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return 2, fmt.Errorf("create -out %s: %w", o.out, err)
	}
	tmp, err := os.MkdirTemp("", "hookgate-soak-")
	if err != nil {
		return 2, fmt.Errorf("temporary folder: %w", err)
	}
	if !o.keep {
		defer os.RemoveAll(tmp)
	}

	tr := &tracker{}
	in, out, deliv, churn, bad := newRecorder(), newRecorder(), newRecorder(), newRecorder(), newRecorder()
	var receivers []*receiver
	defer func() {
		for _, r := range receivers {
			r.Close()
		}
	}()
	for range o.receivers {
		r, err := newReceiver(tr, deliv, bad)
		if err != nil {
			return 2, fmt.Errorf("start receiver: %w", err)
		}
		receivers = append(receivers, r)
	}

	logPath := filepath.Join(o.out, "dev.log")
	dev, err := startDev(ctx, o.bin, filepath.Join(tmp, ".hookgate"), logPath, o.scale)
	if err != nil {
		return 2, err
	}
	defer dev.stop()
	fmt.Printf("soak: hookgate dev pid %d, admin %s, edge %s, ops %s, data %s\n", dev.pid(), dev.admin, dev.edge, dev.ops, tmp)

	a := newAdmin(dev.admin, dev.token)
	fx, err := setUp(ctx, a, receivers)
	if err != nil {
		return 2, fmt.Errorf("set up: %w", err)
	}
	ld := newLoader(dev.edge, fx, tr, in, out, o.bodySize)
	iw, err := watchInbound(ctx, dev)
	if err != nil {
		return 2, fmt.Errorf("watch HOOKGATE_INBOUND: %w", err)
	}
	defer iw.stop()

	var phase atomic.Value
	phase.Store("ramp")
	fl := &faulter{receivers: receivers}
	sp := &sampler{probe: newProbe(dev.pid(), dev.admin, dev.ops), in: in, out: out, deliv: deliv, churn: churn,
		phase: &phase, failing: fl.failing}
	began := time.Now()
	sctx, stopSampling := context.WithCancel(context.WithoutCancel(ctx))
	var sg sync.WaitGroup
	sg.Go(func() { sp.run(sctx, began, o.sampleEvery) })

	// Ramp.
	steps, maxRate := ld.ramp(ctx, o.ramp, rampLevels, func() int { n, _ := deliv.totals(); return n })
	rampEnd := time.Since(began)
	_, rampErrIn := in.totals()
	_, rampErrOut := out.totals()
	fmt.Printf("soak: ramp %v, maximum %.0f requests/s\n", steps, maxRate)
	sum := summary{Duration: o.duration, Steps: steps, MaxRate: maxRate, HoldRate: maxRate / 2, Receivers: o.receivers,
		RampErrors: merge(rampErrIn, rampErrOut)}
	if o.rate > 0 {
		sum.HoldRate, sum.RateFixed = o.rate, true
	}
	if sum.HoldRate <= 0 {
		stopSampling()
		sg.Wait()
		return 2, fmt.Errorf("the ramp acknowledged nothing: %v", sum.RampErrors)
	}

	// Hold.
	phase.Store("hold")
	hctx, endHold := context.WithTimeout(ctx, o.duration-rampEnd)
	ch := &churner{a: a, fx: fx, load: ld, rec: churn}
	var hg sync.WaitGroup
	hg.Go(func() { ch.run(hctx, o.churnEvery) })
	hg.Go(func() { fl.run(hctx, o.faultEvery) })
	ld.hold(hctx, sum.HoldRate, o.workers)
	endHold()
	hg.Wait()
	holdEnd := time.Since(began)
	sum.Dropped = int(ld.dropped.Load())

	// Drain.
	phase.Store("drain")
	drainStart := time.Now()
	sum.Drained = waitDelivered(ctx, tr, o.drain)
	sum.DrainTook = time.Since(drainStart)
	stopSampling()
	sg.Wait()
	drainEnd := time.Now()

	// One more look with no load at all: what a leak keeps, a backlog
	// gives back.
	select {
	case <-ctx.Done():
	case <-time.After(o.sampleEvery):
	}
	sp.probe.read(ctx, &sum.Idle)
	sum.Idle.At = time.Since(drainEnd)

	sum.DevExited = dev.exited()
	sum.InSent, sum.InAcked = int(ld.inSeq.Load()), ld.inAcked.count()
	sum.Streams = streamStates(ctx, iw.js)
	found, dups, err := iw.caughtUp(ctx, 5*time.Minute)
	if err != nil {
		sum.Failures = append(sum.Failures, fmt.Sprintf("reading HOOKGATE_INBOUND: %v", err))
	} else {
		sum.InFound, sum.InDup = found.count(), dups
		sum.InLost, sum.InLostSome = ld.inAcked.missing(found)
	}
	sum.OutSent, sum.OutAcked, sum.OutReceived, sum.OutDup = int(ld.outSeq.Load()), tr.acked.count(), tr.got.count(), int(tr.dups.Load())
	sum.OutLost, sum.OutLostSome = tr.acked.missing(&tr.got)
	sum.Changes, sum.ChangeErrors = churn.totals()
	sum.Faults = fl.episodes
	_, inErr := in.totals()
	_, outErr := out.totals()
	_, badErr := bad.totals()
	sum.Errors = merge(subtract(inErr, rampErrIn), subtract(outErr, rampErrOut), sum.ChangeErrors, badErr)
	// Counted before the stop, whose shutdown logs are no finding.
	sum.DevWarn, sum.DevErr, _ = logLevels(logPath)
	if err := dev.stop(); err != nil {
		sum.Failures = append(sum.Failures, fmt.Sprintf("hookgate dev exited by itself: %v", err))
	}

	samples := sp.all()
	for _, s := range samples {
		if s.Phase == "ramp" {
			sum.Ramp = s
		}
	}
	var hold []sample
	for _, s := range samples {
		if s.Phase == "hold" {
			hold = append(hold, s)
		}
	}
	heap, gor := make([]float64, len(hold)), make([]float64, len(hold))
	for i, s := range hold {
		heap[i], gor[i] = s.HeapInuse, s.GoroutOps
	}
	sum.Growth = []growth{checkGrowth(heapRule, heap), checkGrowth(goroutineRule, gor)}
	sum.judge()

	if err := writeOutputs(o.out, sum, samples, rampEnd, faultBands(receivers, began, holdEnd)); err != nil {
		return 2, err
	}
	for _, l := range sum.lines() {
		fmt.Println("soak: " + l)
	}
	fmt.Printf("soak: wrote %s\n", filepath.Join(o.out, "{soak.csv,soak.md,soak.png,dev.log}"))
	if len(sum.Failures) > 0 {
		return 1, fmt.Errorf("FAIL: %d problems (see above)", len(sum.Failures))
	}
	fmt.Println("soak: PASS")
	return 0, nil
}

// waitDelivered polls until every acknowledged message reached its
// receiver, or within has passed; it reports whether all did.
func waitDelivered(ctx context.Context, tr *tracker, within time.Duration) bool {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		if n, _ := tr.acked.missing(&tr.got); n == 0 {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
}

// faultBands are the receivers' fault intervals in minutes since began,
// an open one ending at end.
func faultBands(rs []*receiver, began time.Time, end time.Duration) []band {
	var out []band
	for _, r := range rs {
		r.mu.Lock()
		for _, iv := range r.faults {
			to := end.Minutes()
			if !iv.end.IsZero() {
				to = iv.end.Sub(began).Minutes()
			}
			out = append(out, band{from: iv.start.Sub(began).Minutes(), to: to, c: faultPink})
		}
		r.mu.Unlock()
	}
	return out
}

func writeOutputs(dir string, sum summary, samples []sample, rampEnd time.Duration, faults []band) error {
	write := func(name string, fn func(f *os.File) error) error {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		if err := fn(f); err != nil {
			f.Close()
			return fmt.Errorf("write %s: %w", name, err)
		}
		return f.Close()
	}
	if err := write("soak.csv", func(f *os.File) error { return writeCSV(f, samples) }); err != nil {
		return err
	}
	if err := write("soak.md", func(f *os.File) error { return writeMarkdown(f, sum, samples) }); err != nil {
		return err
	}
	return write("soak.png", func(f *os.File) error { return writePlot(f, samples, rampEnd, faults) })
}

// merge adds counts by kind.
func merge(ms ...map[string]int) map[string]int {
	out := map[string]int{}
	for _, m := range ms {
		for k, v := range m {
			out[k] += v
		}
	}
	return out
}

// subtract is a − b by kind, dropping kinds that reach zero.
func subtract(a, b map[string]int) map[string]int {
	out := maps.Clone(a)
	for k, v := range b {
		out[k] -= v
		if out[k] <= 0 {
			delete(out, k)
		}
	}
	return out
}
