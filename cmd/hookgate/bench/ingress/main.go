// Command ingress measures the edge against ceilings taken in the same run
// on the same machine: (a) a bare net/http handler that reads the body and
// answers 200, (b) raw JetStream publish with ack, (c) the edge with GENERIC
// key auth publishing to JetStream (file storage, R1), and (d) a minimal
// durable handler (read the body, one synchronous js.Publish, await the ack,
// 200) on the same embedded server. `make bench` runs it.
//
// The load generator runs in a child process (this binary with -loadgen), so
// the CPU time of the server process (handlers, embedded NATS, Go runtime)
// is measured with getrusage around each run and divided by the requests it
// answered; the child reports its own CPU separately. Rows are repeated
// -rounds times, interleaved (the order rotates each round) so drift on a
// shared machine spreads over every row, and the table shows medians.
package main

import (
	"flag"
	"fmt"
	"github.com/hookgate/hookgate/cmd/hookgate/bench/benchrun"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

func main() {
	var (
		conns    = flag.Int("conns", 64, "concurrent connections (closed loop)")
		duration = flag.Duration("duration", 5*time.Second, "length of each measured run")
		rounds   = flag.Int("rounds", 3, "repetitions of every row; the table shows medians")
		sizes    = flag.String("sizes", "1024,65536", "comma-separated body sizes in bytes")
		profile  = flag.String("cpuprofile", "", "write a CPU profile of the first round's -profile-row run per body size here (the 64 KiB one gets a -64k suffix)")
		profRow  = flag.String("profile-row", "c", "row letter the CPU profile covers: a, b, c or d")
		loadgen  = flag.Bool("loadgen", false, "internal: run as the load generator child, reading its spec from stdin")
	)
	flag.Parse()
	if *loadgen {
		if err := runLoadgen(os.Stdin, os.Stdout); err != nil {
			log.Fatalf("bench loadgen: %v", err)
		}
		return
	}
	bodySizes, err := parseSizes(*sizes)
	if err != nil {
		log.Fatalf("bench: -sizes: %v", err)
	}
	if *rounds < 1 || *conns < 1 || *duration <= 0 {
		log.Fatalf("bench: -rounds, -conns and -duration must be positive")
	}
	opts := options{conns: *conns, duration: *duration, rounds: *rounds, sizes: bodySizes, profile: *profile, profileRow: *profRow}
	if err := run(opts); err != nil {
		log.Fatalf("bench: %v", err)
	}
}

type options struct {
	conns      int
	duration   time.Duration
	rounds     int
	sizes      []int
	profile    string
	profileRow string
}

// rowDef is one line of the table: what the child process drives.
type rowDef struct {
	letter string
	name   string
	spec   loadSpec
}

func run(o options) error {
	env, err := startEnv()
	if err != nil {
		return err
	}
	defer env.Close()
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own executable for the load generator: %w", err)
	}
	load0 := benchrun.LoadAvg()
	began := time.Now()

	var groups []group
	for _, size := range o.sizes {
		base := loadSpec{Size: size, Conns: o.conns, Duration: o.duration}
		rows := []rowDef{
			{"a", fmt.Sprintf("(a) bare net/http, %d conns", o.conns), base.http(env.bare.URL + "/")},
			{"b", fmt.Sprintf("(b) raw JetStream publish+ack, %d publishers", o.conns), base.publish(env.natsURL, "hookgate.in.acme.raw.start")},
			{"c", fmt.Sprintf("(c) edge, GENERIC key, %d conns", o.conns), base.http(env.edge.URL + edgePath)},
			{"d", fmt.Sprintf("(d) durable handler, js.Publish+ack, %d conns", o.conns), base.http(env.durable.URL + "/")},
			{"e", fmt.Sprintf("(e) edge, STRIPE signature + key, %d conns", o.conns), base.signed(env.edge.URL+stripePath, "stripe")},
		}
		g := group{size: size, samples: make([][]sample, len(rows))}
		for round := range o.rounds {
			for k := range rows {
				i := (k + round) % len(rows)
				rd := rows[i]
				stop := func() {}
				if round == 0 && rd.letter == o.profileRow {
					stop = benchrun.StartProfile(profilePath(o.profile, size))
				}
				s, err := measure(exe, rd.spec)
				stop()
				if err != nil {
					return fmt.Errorf("%s, %d bytes, round %d: %w", rd.name, size, round+1, err)
				}
				logSample(rd.name, size, round, s)
				g.samples[i] = append(g.samples[i], s)
			}
		}
		for _, rd := range rows {
			g.rows = append(g.rows, row{letter: rd.letter, name: rd.name})
		}
		// Open loop at half the edge's median maximum: latency under a load
		// the edge can carry, counted from each request's scheduled time.
		half := benchrun.Median(g.samples[2], func(s sample) float64 { return s.rps }) / 2
		name := fmt.Sprintf("(c) edge at half its max (%.0f req/s)", half)
		spec := base.http(env.edge.URL + edgePath)
		spec.Rate = half
		s, err := measure(exe, spec)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		logSample(name, size, 0, s)
		g.rows = append(g.rows, row{letter: "c½", name: name})
		g.samples = append(g.samples, []sample{s})
		groups = append(groups, g)
	}
	printReport(os.Stdout, report{
		opts: o, groups: groups, began: began, took: time.Since(began),
		loadBefore: load0, loadAfter: benchrun.LoadAvg(), procs: runtime.GOMAXPROCS(0), cpus: runtime.NumCPU(),
	})
	return nil
}

func parseSizes(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		var n int
		if _, err := fmt.Sscan(strings.TrimSpace(f), &n); err != nil || n < 64 {
			return nil, fmt.Errorf("%q: want a byte count of at least 64", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func profilePath(path string, size int) string {
	if path == "" || size == 1<<10 {
		return path
	}
	ext := filepath.Ext(path)
	return fmt.Sprintf("%s-%dk%s", strings.TrimSuffix(path, ext), size>>10, ext)
}
