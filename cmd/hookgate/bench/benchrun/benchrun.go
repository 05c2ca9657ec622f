// Package benchrun holds what the benchmark programs share: medians over
// rounds and same-round ratios, the process's CPU time, the load average,
// CPU profiles and the table's number formats. It measures nothing itself.
package benchrun

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"os"
	"os/exec"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Median is the median of f over ss; 0 for none.
func Median[S any](ss []S, f func(S) float64) float64 {
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

// RoundRatios pairs the rounds of two rows (run in the same round) and
// returns the median ratio f(x)/f(y) with its smallest and largest.
func RoundRatios[S any](x, y []S, f func(S) float64) (med, lo, hi float64) {
	n := min(len(x), len(y))
	if n == 0 {
		return 0, 0, 0
	}
	rs := make([]float64, n)
	for i := range n {
		rs[i] = f(x[i]) / f(y[i])
	}
	med = Median(rs, func(r float64) float64 { return r })
	return med, slices.Min(rs), slices.Max(rs)
}

// ProcessCPU is the user and system time of every thread of this process.
func ProcessCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// StartProfile writes a CPU profile to path until the returned func is
// called; an empty path profiles nothing.
func StartProfile(path string) func() {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		log.Printf("profile: %v", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		log.Printf("profile: %v", err)
		f.Close()
		return func() {}
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}

// LoadAvg is the first three fields of /proc/loadavg, or "?" elsewhere.
func LoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// MS formats a latency for the tables.
func MS(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

// US formats CPU per request for the tables.
func US(d time.Duration) string { return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond)) }

// RunChild runs this program again as a load generator (`exe -loadgen`):
// it writes spec as JSON on the child's stdin, calls started when the
// child prints "start" (its warm-up is over), then decodes the child's one
// result line into result and waits for the child to exit.
func RunChild(exe string, spec, result any, started func()) error {
	in, err := json.Marshal(spec)
	if err != nil {
		return err
	}
	cmd := exec.Command(exe, "-loadgen")
	cmd.Stdin = bytes.NewReader(in)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start load generator: %w", err)
	}
	defer func() { _ = cmd.Wait() }()
	sc := bufio.NewScanner(out)
	if !sc.Scan() || sc.Text() != "start" {
		return fmt.Errorf("load generator did not start: %q", sc.Text())
	}
	started()
	if !sc.Scan() {
		return errors.New("load generator ended without a result")
	}
	if err := json.Unmarshal(sc.Bytes(), result); err != nil {
		return fmt.Errorf("decode load generator result: %w", err)
	}
	return nil
}
