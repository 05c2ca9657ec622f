package configsync_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/hookgate/hookgate/dataplane/configsync"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/gen/hookgate/v1/hookgatev1connect"
	"github.com/hookgate/hookgate/testkit/poll"
)

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// fakeControlPlane plays a scripted control plane: each stream runs the
// next script, and what the node sends is reported.
type fakeControlPlane struct {
	scripts chan func(*session) error
	hellos  chan *hookgatev1.ConfigHello
	tokens  chan string
}

// session is one stream as a script sees it.
type session struct {
	ctx    context.Context
	stream *connect.BidiStream[hookgatev1.StreamConfigRequest, hookgatev1.StreamConfigResponse]
}

func (s *session) send(u *hookgatev1.StreamConfigResponse) error { return s.stream.Send(u) }

func (s *session) answer() (*hookgatev1.StreamConfigRequest, error) { return s.stream.Receive() }

func (f *fakeControlPlane) StreamConfig(ctx context.Context, stream *connect.BidiStream[hookgatev1.StreamConfigRequest, hookgatev1.StreamConfigResponse]) error {
	f.tokens <- stream.RequestHeader().Get("Authorization")
	m, err := stream.Receive()
	if err != nil {
		return err
	}
	f.hellos <- m.GetHello()
	select {
	case script := <-f.scripts:
		return script(&session{ctx: ctx, stream: stream})
	case <-ctx.Done():
		return nil
	}
}

func startFake(t *testing.T) (*fakeControlPlane, string) {
	t.Helper()
	f := &fakeControlPlane{
		scripts: make(chan func(*session) error, 8),
		hellos:  make(chan *hookgatev1.ConfigHello, 8),
		tokens:  make(chan string, 8),
	}
	mux := http.NewServeMux()
	mux.Handle(hookgatev1connect.NewConfigDiscoveryServiceHandler(f))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux, Protocols: new(http.Protocols)}
	srv.Protocols.SetUnencryptedHTTP2(true)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return f, "http://" + ln.Addr().String()
}

func startClient(t *testing.T, cfg configsync.Config, tb *configsync.Table) {
	t.Helper()
	startClientWithClock(t, cfg, tb, configsync.SystemClock{})
}

func startClientWithClock(t *testing.T, cfg configsync.Config, tb *configsync.Table, clock configsync.Clock) {
	t.Helper()
	c, err := configsync.New(cfg, tb, discard(), clock)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

func recv[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("nothing received in 10s")
		var zero T
		return zero
	}
}

func TestClientAcksNacksAndResumes(t *testing.T) {
	fake, url := startFake(t)
	answers := make(chan *hookgatev1.StreamConfigRequest, 8)
	// First stream: a snapshot (ACK), a delta the node cannot use (NACK),
	// then the control plane goes away.
	fake.scripts <- func(s *session) error {
		for _, u := range []*hookgatev1.StreamConfigResponse{
			snapshot(5, res("acme", "wh_1", 1)),
			{Revision: 6, Upserts: []*hookgatev1.ConfigResource{{Key: "endpoint/acme/ep_1"}}},
		} {
			if err := s.send(u); err != nil {
				return err
			}
			a, err := s.answer()
			if err != nil {
				return err
			}
			answers <- a
		}
		return connect.NewError(connect.CodeUnavailable, errors.New("going away"))
	}
	// Second stream: a delta from the revision the node says it holds.
	fake.scripts <- func(s *session) error {
		if err := s.send(delta(8, nil, res("acme", "wh_2", 1))); err != nil {
			return err
		}
		a, err := s.answer()
		if err != nil {
			return err
		}
		answers <- a
		<-s.ctx.Done() // keep the stream open until the node leaves
		return nil
	}
	tb := configsync.NewTable()
	cfg := validConfig()
	cfg.ControlPlaneURL = url
	cfg.NodeToken = "node-token-1"
	cfg.Address = "10.0.0.1:8080"
	cfg.MinBackoff, cfg.MaxBackoff = time.Millisecond, 10*time.Millisecond
	startClient(t, cfg, tb)

	if got := recv(t, fake.tokens); got != "Bearer node-token-1" {
		t.Errorf("Authorization = %q", got)
	}
	h := recv(t, fake.hellos)
	if h.GetNodeId() != "edge-1" || h.GetRole() != hookgatev1.NodeRole_NODE_ROLE_EDGE || h.GetRevision() != 0 || h.GetAddress() != "10.0.0.1:8080" {
		t.Errorf("first hello = %v", h)
	}
	if a := recv(t, answers); a.GetAck().GetRevision() != 5 {
		t.Errorf("answer to the snapshot = %v, want ACK 5", a)
	}
	a := recv(t, answers)
	if a.GetNack().GetRevision() != 6 || a.GetNack().GetReason() == "" {
		t.Errorf("answer to the bad delta = %v, want NACK 6 with a reason", a)
	}
	if st := tb.Status(); st.Revision != 5 {
		t.Errorf("after the NACK the table is at %d, want 5", st.Revision)
	}
	// The node reconnects and says it holds 5, not the rejected 6.
	if h := recv(t, fake.hellos); h.GetRevision() != 5 {
		t.Errorf("second hello revision %d, want 5", h.GetRevision())
	}
	if a := recv(t, answers); a.GetAck().GetRevision() != 8 {
		t.Errorf("answer to the resumed delta = %v, want ACK 8", a)
	}
	if _, ok := tb.Webhook("acme", "wh_2"); !ok || tb.Snapshot().Len() != 2 {
		t.Errorf("table after resume: %d webhooks", tb.Snapshot().Len())
	}
	poll.NoError(t, 5*time.Second, func() error {
		if !tb.Status().Connected {
			return fmt.Errorf("not connected")
		}
		return nil
	})
}

func TestDispatcherRejectsWebhooks(t *testing.T) {
	fake, url := startFake(t)
	answers := make(chan *hookgatev1.StreamConfigRequest, 2)
	fake.scripts <- func(s *session) error {
		if err := s.send(snapshot(5, res("acme", "wh_1", 1))); err != nil {
			return err
		}
		a, err := s.answer()
		if err != nil {
			return err
		}
		answers <- a
		<-s.ctx.Done()
		return nil
	}
	tb := configsync.NewTable()
	cfg := validConfig()
	cfg.ControlPlaneURL = url
	cfg.NodeID = "disp-1"
	cfg.Role = hookgatev1.NodeRole_NODE_ROLE_DISPATCHER
	startClient(t, cfg, tb)
	if a := recv(t, answers); a.GetNack().GetRevision() != 5 {
		t.Fatalf("dispatcher answered a webhook snapshot with %v, want a NACK", a)
	}
	if tb.Snapshot() != nil {
		t.Errorf("dispatcher table took the webhooks")
	}
}

func TestClientCacheFile(t *testing.T) {
	fake, url := startFake(t)
	fake.scripts <- func(s *session) error {
		if err := s.send(inCluster(0xc1, snapshot(5, res("acme", "wh_1", 7)))); err != nil {
			return err
		}
		if _, err := s.answer(); err != nil {
			return err
		}
		<-s.ctx.Done()
		return nil
	}
	path := filepath.Join(t.TempDir(), "config.cache")
	cfg := validConfig()
	cfg.ControlPlaneURL = url
	cfg.CacheFile = path
	cfg.CacheInterval = time.Millisecond
	tb := configsync.NewTable()
	startClient(t, cfg, tb)
	poll.NoError(t, 10*time.Second, func() error {
		info, err := os.Stat(path)
		if err != nil {
			return err
		}
		if info.Mode().Perm() != 0o600 {
			return fmt.Errorf("mode %o, want 600", info.Mode().Perm())
		}
		return nil
	})

	// A new node with the same cache serves at once, without a control plane.
	cfg.ControlPlaneURL = "http://127.0.0.1:1"
	restored := configsync.NewTable()
	if _, err := configsync.New(cfg, restored, discard(), configsync.SystemClock{}); err != nil {
		t.Fatal(err)
	}
	w, ok := restored.Webhook("acme", "wh_1")
	if !ok || w.GetMaxBodyBytes() != 7 || restored.Status().Revision != 5 || restored.Snapshot().ClusterID != 0xc1 {
		t.Fatalf("restored table: %v, %v at %d of cluster %x; want revision 5 of cluster c1", w, ok, restored.Status().Revision, restored.Snapshot().ClusterID)
	}
	// A cache that does not decode is ignored, not fatal.
	if err := os.WriteFile(path, []byte("not a protobuf snapshot"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := configsync.New(cfg, configsync.NewTable(), discard(), configsync.SystemClock{}); err != nil {
		t.Fatalf("New with a corrupt cache: %v", err)
	}
}

// TestClientKeepsToOneEtcdCluster: the node says which etcd cluster its
// revision belongs to, and refuses a delta of another cluster.
func TestClientKeepsToOneEtcdCluster(t *testing.T) {
	fake, url := startFake(t)
	answers := make(chan *hookgatev1.StreamConfigRequest, 4)
	fake.scripts <- func(s *session) error {
		for _, u := range []*hookgatev1.StreamConfigResponse{
			inCluster(0xa, snapshot(5, res("acme", "wh_1", 1))),
			inCluster(0xb, delta(9, []string{configsync.ResourceKey("acme", "wh_1")})),
		} {
			if err := s.send(u); err != nil {
				return err
			}
			a, err := s.answer()
			if err != nil {
				return err
			}
			answers <- a
		}
		return connect.NewError(connect.CodeUnavailable, errors.New("going away"))
	}
	fake.scripts <- func(s *session) error {
		<-s.ctx.Done()
		return nil
	}
	tb := configsync.NewTable()
	cfg := validConfig()
	cfg.ControlPlaneURL = url
	cfg.MinBackoff, cfg.MaxBackoff = time.Millisecond, 10*time.Millisecond
	startClient(t, cfg, tb)

	if h := recv(t, fake.hellos); h.GetRevision() != 0 || h.GetClusterId() != 0 {
		t.Errorf("first hello at %d of cluster %x, want nothing held", h.GetRevision(), h.GetClusterId())
	}
	if a := recv(t, answers); a.GetAck().GetRevision() != 5 {
		t.Errorf("answer to the snapshot = %v, want ACK 5", a)
	}
	if a := recv(t, answers); a.GetNack().GetRevision() != 9 || !strings.Contains(a.GetNack().GetReason(), "etcd cluster b") {
		t.Errorf("answer to another cluster's delta = %v, want a NACK naming the cluster", a)
	}
	if _, ok := tb.Webhook("acme", "wh_1"); !ok || tb.Snapshot().ClusterID != 0xa {
		t.Errorf("the refused delta changed the table")
	}
	if h := recv(t, fake.hellos); h.GetRevision() != 5 || h.GetClusterId() != 0xa {
		t.Errorf("second hello at %d of cluster %x, want 5 of cluster a", h.GetRevision(), h.GetClusterId())
	}
}

// fakeClock is a configsync.Clock that moves only when a test advances it.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []waiter
}

type waiter struct {
	at time.Time
	d  time.Duration
	ch chan time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 3, 23, 15, 30, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, waiter{at: c.now.Add(d), d: d, ch: ch})
	return ch
}

// fire waits until the client waits on a timer whose duration matches,
// then advances the clock to it, firing it and every earlier one.
func (c *fakeClock) fire(t *testing.T, what string, match func(time.Duration) bool) {
	t.Helper()
	var d time.Duration
	poll.NoError(t, 10*time.Second, func() error {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, w := range c.waiters {
			if match(w.d) {
				d = w.at.Sub(c.now)
				return nil
			}
		}
		return fmt.Errorf("the client waits on no %s timer", what)
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at.After(c.now) {
			kept = append(kept, w)
			continue
		}
		w.ch <- c.now
	}
	c.waiters = kept
}

// TestClientMovesToTheNextReplica: a replica that takes the hello and
// answers nothing (its view never loads) is abandoned after
// FirstResponseTimeout, and the node gets its configuration from the next
// replica; that session, once answered, outlives the timeout.
func TestClientMovesToTheNextReplica(t *testing.T) {
	silent, silentURL := startFake(t) // no script: it never answers
	healthy, healthyURL := startFake(t)
	answers := make(chan *hookgatev1.StreamConfigRequest, 4)
	sendDelta := make(chan struct{})
	healthy.scripts <- func(s *session) error {
		for i, u := range []*hookgatev1.StreamConfigResponse{
			snapshot(5, res("acme", "wh_1", 1)),
			delta(6, nil, res("acme", "wh_2", 1)),
		} {
			if i == 1 {
				<-sendDelta
			}
			if err := s.send(u); err != nil {
				return err
			}
			a, err := s.answer()
			if err != nil {
				return err
			}
			answers <- a
		}
		<-s.ctx.Done()
		return nil
	}
	const firstResponse = 7 * time.Second
	clk := newFakeClock()
	cfg := validConfig()
	cfg.ControlPlaneURL = silentURL
	cfg.ControlPlaneURLs = []string{healthyURL}
	cfg.FirstResponseTimeout = firstResponse
	cfg.MinBackoff, cfg.MaxBackoff = time.Second, time.Second
	tb := configsync.NewTable()
	startClientWithClock(t, cfg, tb, clk)

	if h := recv(t, silent.hellos); h.GetNodeId() != "edge-1" {
		t.Fatalf("hello to the first replica = %v", h)
	}
	isFirstResponse := func(d time.Duration) bool { return d == firstResponse }
	clk.fire(t, "first-response", isFirstResponse)
	clk.fire(t, "backoff", func(d time.Duration) bool { return d <= time.Second })
	if h := recv(t, healthy.hellos); h.GetNodeId() != "edge-1" || h.GetRevision() != 0 {
		t.Fatalf("hello to the second replica = %v", h)
	}
	if a := recv(t, answers); a.GetAck().GetRevision() != 5 {
		t.Fatalf("answer to the second replica's snapshot = %v, want ACK 5", a)
	}
	if _, ok := tb.Webhook("acme", "wh_1"); !ok {
		t.Fatalf("the table lacks the second replica's webhook")
	}

	// Past the first-response timeout the answered session stays: the
	// delta arrives on the same stream.
	clk.fire(t, "first-response", isFirstResponse)
	close(sendDelta)
	if a := recv(t, answers); a.GetAck().GetRevision() != 6 {
		t.Fatalf("answer to the delta = %v, want ACK 6 on the same stream", a)
	}
	if n := len(silent.hellos) + len(healthy.hellos); n != 0 {
		t.Errorf("%d more hellos: the answered session was abandoned", n)
	}
}
