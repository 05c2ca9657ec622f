// Package e2e drives the built hookgate binary as a user does: it starts
// processes, talks HTTP, gRPC and the CLI to them, and signals them.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hookgate/hookgate/testkit/poll"
	"github.com/nats-io/nats.go"
)

// binary returns the hookgate binary: $HOOKGATE_BIN (set by make test) or
// one built once for this test run.
func binary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("HOOKGATE_BIN"); p != "" {
		return p
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "hookgate-e2e-")
		if err != nil {
			buildErr = err
			return
		}
		builtPath = filepath.Join(dir, "hookgate")
		out, err := exec.Command("go", "build", "-o", builtPath, "..").CombinedOutput()
		if err != nil {
			buildErr = &buildError{out: string(out), err: err}
		}
	})
	if buildErr != nil {
		t.Fatalf("build hookgate: %v", buildErr)
	}
	return builtPath
}

var (
	buildOnce sync.Once
	builtPath string
	buildErr  error
)

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }

// proc is a running hookgate process.
type proc struct {
	cmd    *exec.Cmd
	stdout *syncBuffer
	stderr *syncBuffer
	done   chan struct{}
	err    error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs hookgate with args in dir; the process is killed when the test ends.
func start(t *testing.T, dir string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(binary(t), args...)
	p.cmd.Dir = dir
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout = p.stdout
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start hookgate %v: %v", args, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("hookgate %v stdout:\n%s\nstderr:\n%s", args, p.stdout, p.stderr)
		}
	})
	return p
}

// stop sends SIGTERM and returns the exit error (nil for exit status 0).
func (p *proc) stop(t *testing.T) error {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.err
	case <-time.After(30 * time.Second):
		t.Fatalf("hookgate did not exit within 30s of SIGTERM")
		return nil
	}
}

// wait waits for the process to exit by itself.
func (p *proc) wait(t *testing.T, within time.Duration) error {
	t.Helper()
	select {
	case <-p.done:
		return p.err
	case <-time.After(within):
		t.Fatalf("hookgate still running after %s", within)
		return nil
	}
}

// devServer is a running `hookgate dev` with the addresses it printed.
type devServer struct {
	*proc
	dir     string
	admin   string
	console string
	edge    string
	ops     string
	etcd    string
	nats    string
	token   string
}

// natsConn connects to the dev server's NATS as its user, with the seed
// in its data folder.
func (d *devServer) natsConn(t *testing.T) *nats.Conn {
	t.Helper()
	opt, err := nats.NkeyOptionFromSeed(filepath.Join(d.dir, ".hookgate", "nats-user.nk"))
	if err != nil {
		t.Fatalf("dev NATS seed: %v", err)
	}
	nc, err := nats.Connect(d.nats, opt)
	if err != nil {
		t.Fatalf("connect to NATS %s: %v", d.nats, err)
	}
	return nc
}

var printedLine = regexp.MustCompile(`^\s+(admin API|console|edge|ops|etcd|NATS|admin token)\s+(\S+)`)

// startDev runs `hookgate dev` on random ports with its data in dir and
// waits until it prints "ready".
func startDev(t *testing.T, dir string, extra ...string) *devServer {
	t.Helper()
	args := append([]string{"dev",
		"--admin-addr", "127.0.0.1:0", "--edge-addr", "127.0.0.1:0", "--ops-addr", "127.0.0.1:0",
		"--etcd-addr", "127.0.0.1:0", "--etcd-peer-addr", "127.0.0.1:0", "--nats-addr", "127.0.0.1:0",
	}, extra...)
	p := start(t, dir, nil, args...)
	poll.Until(t, 60*time.Second, "hookgate dev to print ready", func() bool {
		select {
		case <-p.done:
			t.Fatalf("hookgate dev exited early: %v\n%s", p.err, p.stderr)
		default:
		}
		return strings.Contains(p.stdout.String(), "\nready\n")
	})
	d := &devServer{proc: p, dir: dir}
	sc := bufio.NewScanner(strings.NewReader(p.stdout.String()))
	for sc.Scan() {
		m := printedLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		switch m[1] {
		case "admin API":
			d.admin = m[2]
		case "console":
			d.console = m[2]
		case "edge":
			d.edge = m[2]
		case "ops":
			d.ops = m[2]
		case "etcd":
			d.etcd = m[2]
		case "NATS":
			d.nats = m[2]
		case "admin token":
			d.token = m[2]
		}
	}
	for name, v := range map[string]string{"admin": d.admin, "console": d.console, "edge": d.edge, "ops": d.ops, "nats": d.nats, "token": d.token} {
		if v == "" {
			t.Fatalf("hookgate dev did not print the %s line:\n%s", name, p.stdout)
		}
	}
	return d
}

// get fetches url and returns status and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := (&http.Client{}).Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
