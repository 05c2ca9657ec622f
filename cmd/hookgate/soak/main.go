// Command soak runs a `hookgate dev` built from this repository (a child
// process on random ports, its data in a temporary folder) under load for
// a long time and says whether it leaks or loses anything. `make soak`
// runs it for SOAK_DURATION (default 30m); `make test` does not.
//
// The run:
//
//  1. Ramp (-ramp, 10 s): closed-loop workers, doubling in number, each
//     alternating a POST to a GENERIC webhook (with its key) and a
//     SendMessage through the edge's MessageService (generated Connect
//     client, producer token). The best step's acknowledged rate is the
//     measured maximum.
//  2. Hold (the rest of -duration): half that rate, open loop. A 1 ms
//     ticker releases every request whose scheduled time has come to a
//     pool of workers; latency runs from the scheduled time. Messages go
//     round robin to -receivers applications, each with one endpoint at a
//     local HTTP receiver. Meanwhile the configuration changes once per
//     -churn-every through the admin API (create and delete a webhook,
//     update an endpoint's headers or rate limit, rotate the load
//     webhook's key), and every -fault-every the next receiver answers
//     500 or times out for half the period, then recovers. The tenant's
//     retry schedule (setup.go) outlasts a fault at dev's
//     --retry-time-scale.
//  3. Drain (at most -drain): no more load, every receiver healthy, until
//     every acknowledged message has arrived. Then HOOKGATE_INBOUND is
//     read back and every acknowledged POST looked for.
//
// Every -sample (10 s) it records dev's RSS (/proc/<pid>/status), heap in
// use (ops /metrics), goroutines (admin and ops /metrics), and each
// kind's throughput, errors and p50/p99 over the window, into
// -out/soak.csv; -out/soak.md holds the summary and a table of one row
// per minute (per five past ten minutes); -out/soak.png plots memory,
// goroutines and p99 over time.
//
// It exits 1 when the hold shows a leak (checkGrowth in stats.go: heap in
// use or goroutines, last quarter's median over the second's by more than
// the margin, growing through the third), when any request of the hold
// or drain failed (the injected failures are the receivers' answers to
// the dispatcher, never an answer to the load), when an acknowledged
// POST is not in the stream or an acknowledged message never reached its
// receiver, or when dev exits; 2 when it could not run.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

// options are the command line.
type options struct {
	bin                          string
	duration, ramp, sampleEvery  time.Duration
	churnEvery, faultEvery       time.Duration
	drain                        time.Duration
	receivers, workers, bodySize int
	scale                        float64
	rate                         float64 // hold rate; 0: half the ramp's maximum
	out                          string
	keep                         bool
}

func main() {
	var o options
	flag.StringVar(&o.bin, "hookgate", "bin/hookgate", "the hookgate binary to run as `hookgate dev` (make build puts it in bin/)")
	flag.DurationVar(&o.duration, "duration", 30*time.Minute, "length of the load: the ramp, then the hold at half the measured maximum")
	flag.DurationVar(&o.ramp, "ramp", 10*time.Second, "length of the closed-loop ramp that measures the maximum")
	flag.DurationVar(&o.sampleEvery, "sample", 10*time.Second, "sampling period of memory, goroutines and latency")
	flag.DurationVar(&o.churnEvery, "churn-every", time.Second, "period of the configuration changes")
	flag.DurationVar(&o.faultEvery, "fault-every", time.Minute, "period of the failing-endpoint rotation (each fault lasts half of it, at most 30 s)")
	flag.DurationVar(&o.drain, "drain", 3*time.Minute, "how long to wait after the load for every acknowledged message to arrive")
	flag.IntVar(&o.receivers, "receivers", 4, "local HTTP receivers, one endpoint (and one application) each")
	flag.IntVar(&o.workers, "workers", 256, "senders of the open-loop hold")
	flag.IntVar(&o.bodySize, "body-bytes", 512, "approximate size of each POST body and message payload")
	flag.Float64Var(&o.rate, "rate", 0, "hold at this many requests/s instead of half the ramp's maximum (the ramp still runs and is reported); for comparing runs on a shared machine")
	flag.Float64Var(&o.scale, "retry-time-scale", 0.01, "dev's --retry-time-scale")
	flag.StringVar(&o.out, "out", "soak-out", "folder for soak.csv, soak.md, soak.png and dev.log")
	flag.BoolVar(&o.keep, "keep", false, "keep dev's temporary data folder")
	flag.Parse()
	if abs, err := filepath.Abs(o.bin); err == nil {
		o.bin = abs // dev runs in its temporary folder
	}
	if err := o.validate(); err != nil {
		log.Printf("soak: %v", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code, err := run(ctx, o)
	stop()
	if err != nil {
		log.Printf("soak: %v", err)
	}
	os.Exit(code)
}

func (o options) validate() error {
	switch {
	case o.ramp <= 0 || o.duration < o.ramp+4*o.sampleEvery:
		return fmt.Errorf("-duration %s must exceed -ramp %s by four -sample periods at least", o.duration, o.ramp)
	case o.sampleEvery < time.Second:
		return fmt.Errorf("-sample %s: at least 1s", o.sampleEvery)
	case o.churnEvery <= 0 || o.faultEvery < 2*time.Second || o.drain <= 0:
		return fmt.Errorf("-churn-every, -fault-every (at least 2s) and -drain must be positive")
	case o.faultEvery/2 > 30*time.Second:
		return fmt.Errorf("-fault-every %s: at most 1m, so a fault (half of it) stays within the retry schedule", o.faultEvery)
	case o.receivers < 1 || o.workers < 1 || o.bodySize < 0:
		return fmt.Errorf("-receivers and -workers must be positive, -body-bytes not negative")
	case o.rate < 0:
		return fmt.Errorf("-rate %g: not negative", o.rate)
	case o.scale <= 0 || o.scale > 1:
		return fmt.Errorf("-retry-time-scale %g: more than 0, at most 1", o.scale)
	}
	if span, fault := retrySpan(o.scale), o.faultEvery/2; span < fault*3/2 {
		return fmt.Errorf("-retry-time-scale %g: the retry schedule spans %s, too short for a fault of %s (-fault-every %s) to be retried past", o.scale, span, fault, o.faultEvery)
	}
	if _, err := os.Stat(o.bin); err != nil {
		return fmt.Errorf("-hookgate %s: %w (run make build)", o.bin, err)
	}
	return nil
}
