// Command outbound measures the dispatch engine against a ceiling taken in
// the same run on the same machine: outbound messages published (with ack)
// on hookgate.out.{tenant}.{app}.{type} of an embedded JetStream (file
// storage, R1, as `hookgate dev`), fanned out and delivered by a
// dispatch.Engine running in this process with an in-memory endpoint table
// (the config stream is not what is measured), to one local receiver that
// answers 200 and verifies nothing; beside it, a bare Go HTTP client posting
// the same payloads, signed the same way, to the same receiver. `make bench`
// runs it.
//
// Deliveries are counted at the receiver, from the time stamped in each
// payload when it was sent, so a row's rate runs from the first send to the
// last arrival and its latency is publish → receiver. The load generator
// (publisher or bare client) runs in a child process, as in the ingress
// bench, so the server process's CPU (embedded NATS, engine, receiver, Go
// runtime) is measured with getrusage and divided by the deliveries. Rows
// are repeated -rounds times, interleaved, and the table shows medians.
package main

import (
	"flag"
	"fmt"
	"github.com/hookgate/hookgate/cmd/hookgate/bench/benchrun"
	"log"
	"os"
	"runtime"
	"time"

	"github.com/hookgate/hookgate/dataplane/dispatch"
)

func main() {
	var (
		conns      = flag.Int("conns", 32, "bare client connections (closed loop; the engine's default Workers)")
		publishers = flag.Int("publishers", 16, "concurrent publishers of the engine rows")
		window     = flag.Int("window", 128, "deliveries a closed-loop publisher lets wait before it publishes more")
		duration   = flag.Duration("duration", 3*time.Second, "length of each measured run")
		rounds     = flag.Int("rounds", 3, "repetitions of the closed-loop rows; the table shows medians")
		size       = flag.Int("size", 1024, "payload size in bytes")
		fanMsgs    = flag.Int("fanout-messages", 10, "messages of each 1,000-endpoint run")
		timeout    = flag.Duration("timeout", 200*time.Millisecond, "endpoint timeout of the 1,000-endpoint runs")
		hot        = flag.Duration("hot-duration", 20*time.Second, "length of the hot-failing-endpoint runs: long enough for its backlog to build up")
		profile    = flag.String("cpuprofile", "", "write a CPU profile of the server process during the first round's -profile-row run here")
		profRow    = flag.String("profile-row", "e10", "row the CPU profile covers: a1, e1, a10, e10 (first round), h or h1")
		closedOnly = flag.Bool("closed-only", false, "run only the four closed-loop rows and print their ratios (for quick comparisons while tuning)")
		loadgen    = flag.Bool("loadgen", false, "internal: run as the load generator child, reading its spec from stdin")
	)
	flag.Parse()
	if *loadgen {
		if err := runLoadgen(os.Stdin, os.Stdout); err != nil {
			log.Fatalf("bench loadgen: %v", err)
		}
		return
	}
	if *rounds < 1 || *conns < 1 || *publishers < 1 || *window < 1 || *duration <= 0 || *fanMsgs < 1 || *timeout <= 0 || *hot <= 0 {
		log.Fatalf("bench: -rounds, -conns, -publishers, -window, -duration, -fanout-messages, -timeout and -hot-duration must be positive")
	}
	if *size < headLen+len(tail) {
		log.Fatalf("bench: -size must be at least %d", headLen+len(tail))
	}
	o := options{conns: *conns, publishers: *publishers, window: *window, duration: *duration, rounds: *rounds,
		size: *size, fanMsgs: *fanMsgs, timeout: *timeout, hot: *hot, profile: *profile, profileRow: *profRow, closedOnly: *closedOnly}
	if err := run(o); err != nil {
		log.Fatalf("bench: %v", err)
	}
}

type options struct {
	conns, publishers, window int
	duration                  time.Duration
	rounds, size, fanMsgs     int
	timeout                   time.Duration
	hot                       time.Duration
	profile, profileRow       string
	closedOnly                bool
}

// rowDef is one line of the table: what the child process drives and how
// many deliveries each send makes.
type rowDef struct {
	letter string
	name   string
	spec   loadSpec
	fan    int
}

func run(o options) error {
	timeoutMS := int(o.timeout / time.Millisecond)
	e, apps, err := startEnv(func(base string, s dispatch.Secret) []app {
		return []app{
			newApp(base, "app_1", 1, 0, 0, s),
			newApp(base, "app_10", 10, 0, 0, s),
			newApp(base, "app_1000", 1000, 0, timeoutMS, s),
			newApp(base, "app_1000slow", 1000, 100, timeoutMS, s),
			newApp(base, "app_4", 4, 0, timeoutMS, s),
			newApp(base, "app_4slow", 4, 1, timeoutMS, s),
		}
	})
	if err != nil {
		return err
	}
	defer e.Close()
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own executable for the load generator: %w", err)
	}
	one, ten, thousand, slow, four, fourSlow := apps[0], apps[1], apps[2], apps[3], apps[4], apps[5]
	load0 := benchrun.LoadAvg()
	began := time.Now()
	runID := 0
	next := func(s loadSpec) loadSpec { runID++; s.Run = runID; return s }

	// measureRow measures a row, under the CPU profile when profile is set.
	measureRow := func(profile bool, spec loadSpec, fan int) (sample, error) {
		if profile {
			defer benchrun.StartProfile(o.profile)()
		}
		return measure(exe, e.recv, spec, fan)
	}

	base := loadSpec{Receiver: e.recvURL, Size: o.size, Duration: o.duration}
	bare := func(a app) loadSpec {
		s := base
		s.Mode, s.Paths, s.Conns = "http", a.paths(), o.conns
		return s
	}
	pub := func(a app) loadSpec {
		s := base
		s.Mode, s.NATS, s.Subject, s.Conns, s.Fan, s.Window = "publish", e.natsURL, a.subject(), o.publishers, len(a.paths()), o.window
		return s
	}
	rows := []rowDef{
		{"a1", fmt.Sprintf("(a1) bare client, 1 path, %d conns", o.conns), bare(one), 1},
		{"e1", "(e1) engine, 1 endpoint", pub(one), 1},
		{"a10", fmt.Sprintf("(a10) bare client, 10 paths, %d conns", o.conns), bare(ten), 1},
		{"e10", "(e10) engine, 10 endpoints", pub(ten), 10},
	}
	// Warm-up: the engine's consumers, connections and file store, not
	// counted.
	warm := pub(one)
	warm.Duration = time.Second
	if _, err := measure(exe, e.recv, next(warm), 1); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	var t table
	samples := make([][]sample, len(rows))
	for round := range o.rounds {
		for k := range rows {
			i := (k + round) % len(rows)
			rd := rows[i]
			s, err := measureRow(round == 0 && rd.letter == o.profileRow, next(rd.spec), rd.fan)
			if err != nil {
				return fmt.Errorf("%s, round %d: %w", rd.name, round+1, err)
			}
			logSample(rd.name, round, s)
			samples[i] = append(samples[i], s)
		}
	}
	for i, rd := range rows {
		t.add(rd.letter, rd.name, samples[i])
	}
	if o.closedOnly {
		for _, l := range [][2]string{{"e1", "a1"}, {"e10", "a10"}} {
			med, lo, hi := benchrun.RoundRatios(t.find(l[0]), t.find(l[1]), rps)
			fmt.Printf("%s / %s: %.2f (%.2f–%.2f)\n", l[0], l[1], med, lo, hi)
		}
		return nil
	}

	// Open loop at half the engine's median maximum: latency under a load
	// it can carry, counted from each message's scheduled send time.
	for _, l := range []struct {
		letter string
		a      app
	}{{"e1", one}, {"e10", ten}} {
		half := benchrun.Median(t.find(l.letter), rps) / 2
		spec := pub(l.a)
		spec.Rate, spec.Window = half/float64(len(l.a.eps)), 0
		name := fmt.Sprintf("(%s½) engine, %s, at half its max (%.0f deliveries/s)", l.letter, endpoints(len(l.a.eps)), half)
		s, err := measure(exe, e.recv, next(spec), len(l.a.eps))
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		logSample(name, 0, s)
		t.add(l.letter+"½", name, []sample{s})
	}

	// 1,000 endpoints, all healthy and then 100 of them timing out, at the
	// same message rate: half of (e10)'s deliveries per second, in messages
	// of 1,000 deliveries. Latency is the healthy endpoints'.
	rate := benchrun.Median(t.find("e10"), rps) / 2 / 1000
	for _, l := range []struct {
		letter string
		a      app
		what   string
	}{{"k", thousand, "all healthy"}, {"k100", slow, fmt.Sprintf("100 time out (%s)", o.timeout)}} {
		spec := pub(l.a)
		spec.Rate, spec.Window, spec.Messages, spec.Conns = rate, 0, o.fanMsgs, 4
		spec.Duration = time.Duration(float64(o.fanMsgs)/rate*float64(time.Second)) + time.Second
		name := fmt.Sprintf("(%s) engine, 1,000 endpoints, %s, %d msgs at %.2f msg/s", l.letter, l.what, o.fanMsgs, rate)
		s, err := measure(exe, e.recv, next(spec), len(l.a.paths()))
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		logSample(name, 0, s)
		t.add(l.letter, name, []sample{s})
	}

	// A hot failing endpoint: four endpoints per message, all healthy and
	// then one of them timing out, so that it gets a quarter of all
	// deliveries (as in make soak) and its backlog grows by every message.
	// At a quarter of (e10)'s deliveries per second; latency is the three
	// healthy endpoints'.
	rate4 := benchrun.Median(t.find("e10"), rps) / 4 / 4
	for _, l := range []struct {
		letter string
		a      app
		what   string
	}{{"h", four, "all healthy"}, {"h1", fourSlow, fmt.Sprintf("one times out (%s)", o.timeout)}} {
		spec := pub(l.a)
		spec.Rate, spec.Window, spec.Duration = rate4, 0, o.hot
		name := fmt.Sprintf("(%s) engine, 4 endpoints, %s, at %.0f msg/s", l.letter, l.what, rate4)
		s, err := measureRow(l.letter == o.profileRow, next(spec), len(l.a.paths()))
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		logSample(name, 0, s)
		t.add(l.letter, name, []sample{s})
	}

	printReport(os.Stdout, report{
		opts: o, t: t, began: began, took: time.Since(began),
		loadBefore: load0, loadAfter: benchrun.LoadAvg(), procs: runtime.GOMAXPROCS(0), cpus: runtime.NumCPU(),
	})
	return nil
}

func endpoints(n int) string {
	if n == 1 {
		return "1 endpoint"
	}
	return fmt.Sprintf("%d endpoints", n)
}
