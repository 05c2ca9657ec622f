package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// sample is one row of soak.csv: the child's memory and goroutines at the
// end of a window, and what the load saw during it.
type sample struct {
	At          time.Duration // since the load started
	Phase       string        // ramp, hold or drain
	RSS         float64       // MiB, VmRSS of /proc/<pid>/status
	HeapInuse   float64       // MiB, go_memstats_heap_inuse_bytes of the ops /metrics
	GoroutAdmin float64       // go_goroutines of the admin /metrics
	GoroutOps   float64       // go_goroutines of the ops /metrics
	Secs        float64       // length of the window

	In, Out, Deliv stat
	ChurnOK        int
	ChurnErr       int
	Failing        string // the receiver failing at the end of the window, e.g. "ep2 500"
}

// stat is one kind of request over a window.
type stat struct {
	OK, Err  int
	P50, P99 time.Duration
}

func statOf(w window) stat {
	return stat{OK: w.ok, Err: w.errCount(), P50: w.quantile(0.50), P99: w.quantile(0.99)}
}

// rate is successes per second over the window.
func (s sample) rate(st stat) float64 {
	if s.Secs <= 0 {
		return 0
	}
	return float64(st.OK) / s.Secs
}

// probe reads the child's memory and goroutines.
type probe struct {
	pid       int
	admin     string // base URLs
	ops       string
	client    *http.Client
	procRoot  string // "/proc"
	lastError error
}

func newProbe(pid int, admin, ops string) *probe {
	return &probe{pid: pid, admin: admin, ops: ops, client: &http.Client{Timeout: 5 * time.Second}, procRoot: "/proc"}
}

// read fills s's memory and goroutine fields; a figure it cannot read is
// NaN (an empty cell, a gap in the plot, skipped by the leak check) and
// the error is kept.
func (p *probe) read(ctx context.Context, s *sample) {
	p.lastError = nil
	s.RSS, s.HeapInuse, s.GoroutOps, s.GoroutAdmin = math.NaN(), math.NaN(), math.NaN(), math.NaN()
	if kb, err := rssKB(fmt.Sprintf("%s/%d/status", p.procRoot, p.pid)); err != nil {
		p.lastError = err
	} else {
		s.RSS = float64(kb) / 1024
	}
	if ops, err := p.metrics(ctx, p.ops); err != nil {
		p.lastError = err
	} else {
		s.HeapInuse = ops["go_memstats_heap_inuse_bytes"] / (1 << 20)
		s.GoroutOps = ops["go_goroutines"]
	}
	if adm, err := p.metrics(ctx, p.admin); err != nil {
		p.lastError = err
	} else {
		s.GoroutAdmin = adm["go_goroutines"]
	}
}

func (p *probe) metrics(ctx context.Context, base string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s/metrics: %w", base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s/metrics: HTTP %d", base, resp.StatusCode)
	}
	return parseMetrics(resp.Body, "go_goroutines", "go_memstats_heap_inuse_bytes")
}

// parseMetrics reads the Prometheus text format and returns the values of
// the named unlabelled series.
func parseMetrics(r io.Reader, names ...string) (map[string]float64, error) {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, rest, ok := strings.Cut(line, " ")
		if !ok || !want[name] {
			continue
		}
		// A sample line may end with a timestamp: keep the value only.
		val, _, _ := strings.Cut(strings.TrimSpace(rest), " ")
		v, err := strconv.ParseFloat(val, 64)
		if err != nil {
			return nil, fmt.Errorf("metric %s: value %q: %w", name, val, err)
		}
		out[name] = v
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for _, n := range names {
		if _, ok := out[n]; !ok {
			return out, fmt.Errorf("metric %s missing", n)
		}
	}
	return out, nil
}

// rssKB reads VmRSS (kB) from a /proc/<pid>/status file.
func rssKB(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return parseRSS(f)
}

func parseRSS(r io.Reader) (int64, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		v, ok := strings.CutPrefix(sc.Text(), "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("VmRSS line %q", sc.Text())
		}
		return strconv.ParseInt(f[0], 10, 64)
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no VmRSS line")
}
