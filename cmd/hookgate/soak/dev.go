package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// devProc is the `hookgate dev` child with the addresses it printed.
type devProc struct {
	cmd     *exec.Cmd
	dataDir string
	admin   string // http://host:port
	edge    string
	ops     string
	nats    string
	token   string
	done    chan struct{}
	err     error // set before done closes
	log     *os.File
}

// devArgs is the command line of the child: every port random, data in
// dataDir, retries compressed by scale.
func devArgs(dataDir string, scale float64) []string {
	return []string{"dev",
		"--admin-addr", "127.0.0.1:0", "--edge-addr", "127.0.0.1:0", "--ops-addr", "127.0.0.1:0",
		"--etcd-addr", "127.0.0.1:0", "--etcd-peer-addr", "127.0.0.1:0", "--nats-addr", "127.0.0.1:0",
		"--data-dir", dataDir, "--retry-time-scale", fmt.Sprint(scale),
		"--log-format", "json", "--log-level", "warn",
		// What JetStream keeps is held in the dev process's memory (each
		// stored subject is indexed): bounded retention makes memory
		// plateau within the run, so growth past it is a leak.
		"--stream-max-age", "5m", "--attempts-max-age", "5m",
	}
}

var printedLine = regexp.MustCompile(`^\s+(admin API|edge|ops|NATS|admin token)\s+(\S+)`)

// startDev runs bin with devArgs, its log (stderr) in logPath, and waits
// until it prints "ready".
func startDev(ctx context.Context, bin, dataDir, logPath string, scale float64) (*devProc, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("create dev log: %w", err)
	}
	d := &devProc{dataDir: dataDir, done: make(chan struct{}), log: logf}
	d.cmd = exec.Command(bin, devArgs(dataDir, scale)...)
	d.cmd.Dir = filepath.Dir(dataDir)
	d.cmd.Stderr = logf
	out, err := d.cmd.StdoutPipe()
	if err != nil {
		logf.Close()
		return nil, fmt.Errorf("dev stdout: %w", err)
	}
	if err := d.cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s dev: %w", bin, err)
	}
	ready := make(chan error, 1)
	var once sync.Once
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			if m := printedLine.FindStringSubmatch(line); m != nil {
				d.setAddr(m[1], m[2])
			}
			if line == "ready" {
				once.Do(func() { ready <- nil })
			}
		}
		// Keep reading so the child never blocks on a full pipe.
		_, _ = io.Copy(io.Discard, out)
		once.Do(func() { ready <- errors.New("hookgate dev ended its output before printing ready") })
	}()
	go func() {
		d.err = d.cmd.Wait()
		close(d.done)
	}()
	select {
	case err := <-ready:
		if err != nil {
			d.stop()
			return nil, fmt.Errorf("%w (log: %s)", err, logPath)
		}
	case <-d.done:
		return nil, fmt.Errorf("hookgate dev exited before ready: %v (log: %s)", d.err, logPath)
	case <-time.After(90 * time.Second):
		d.stop()
		return nil, fmt.Errorf("hookgate dev not ready within 90 s (log: %s)", logPath)
	case <-ctx.Done():
		d.stop()
		return nil, ctx.Err()
	}
	if d.admin == "" || d.edge == "" || d.ops == "" || d.nats == "" || d.token == "" {
		d.stop()
		return nil, fmt.Errorf("hookgate dev did not print every address (admin %q, edge %q, ops %q, nats %q)", d.admin, d.edge, d.ops, d.nats)
	}
	return d, nil
}

// setAddr runs before "ready" is seen, in the reading goroutine, and is
// read only after it.
func (d *devProc) setAddr(name, v string) {
	switch name {
	case "admin API":
		d.admin = v
	case "edge":
		d.edge = v
	case "ops":
		d.ops = v
	case "NATS":
		d.nats = v
	case "admin token":
		d.token = v
	}
}

// pid is the child's process id.
func (d *devProc) pid() int { return d.cmd.Process.Pid }

// exited reports whether the child has ended.
func (d *devProc) exited() bool {
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM, waits up to 30 s, then kills; it returns the exit
// error of a child that had already ended by itself, nil otherwise.
func (d *devProc) stop() error {
	defer d.log.Close()
	if d.exited() {
		return d.err
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(30 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.done
	}
	return nil
}

// natsSeed is the nkey seed file dev made for its NATS user.
func (d *devProc) natsSeed() string { return filepath.Join(d.dataDir, "nats-user.nk") }

// logLevels counts the child's log lines at warn and error (JSON lines
// with "level":"WARN" or "ERROR").
func logLevels(path string) (warn, errs int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		l := sc.Text()
		switch {
		case strings.Contains(l, `"level":"ERROR"`):
			errs++
		case strings.Contains(l, `"level":"WARN"`):
			warn++
		}
	}
	return warn, errs, sc.Err()
}
