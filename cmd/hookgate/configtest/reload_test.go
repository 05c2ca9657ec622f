package configtest

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/hookgate/hookgate/controlplane/distribute"
	"github.com/hookgate/hookgate/gen/hookgate/v1/hookgatev1connect"
	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// Log messages of the distributor's watch loop, just before it reads etcd.
const (
	msgLoading   = "loading config view"
	msgReloading = "reloading config view; serving the last one meanwhile"
)

// TestReplicaServesItsLastViewWhileReloading: a replica whose watch lost its
// history (etcd compacted it while the replica was cut off) reloads its
// view; while it does, it goes on serving the view it had: a connected node
// keeps its stream, a node connecting gets that view at once. The reload's
// changes then reach both as deltas.
func TestReplicaServesItsLastViewWhileReloading(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.put(t, webhook{tenant: "acme", id: "wh_1", key: "k1"})
	proxy := startEtcdPartition(t, e.etcd.Endpoint)
	gate := newLogGate(msgReloading)
	cp := startLoggedCP(t, e, distribute.Config{ReplicaID: "cp-reload"}, proxy.client(t), slog.New(gate))
	t.Cleanup(gate.open) // before the control plane stops: cleanups run last first
	a := startNode(t, nodeConfig(cp.url, "edge-a", edge))
	a.waitWebhook(t, "acme", "wh_1", nil)

	// Cut off, the replica misses a change, and etcd compacts the history
	// its watch would resume from.
	proxy.setCut(true)
	e.put(t, webhook{tenant: "acme", id: "wh_2", key: "k2"})
	last, err := e.cli.Put(context.Background(), "/elsewhere", "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.cli.Compact(context.Background(), last.Header.Revision); err != nil {
		t.Fatal(err)
	}
	proxy.setCut(false)
	gate.waitEntered(t, 30*time.Second)

	// The reload is under way, held before it reads etcd.
	b := startNode(t, nodeConfig(cp.url, "edge-b", edge))
	b.waitWebhook(t, "acme", "wh_1", nil)
	for _, n := range []*node{a, b} {
		if _, ok := n.table.Webhook("acme", "wh_2"); ok {
			t.Error("a node holds wh_2 before the reload read it")
		}
	}
	if got := cp.metric(t, "hookgate_config_nodes_connected", "role", "edge"); got != 2 {
		t.Errorf("%v edges connected during the reload, want 2", got)
	}

	gate.open()
	a.waitWebhook(t, "acme", "wh_2", nil)
	b.waitWebhook(t, "acme", "wh_2", nil)
	if got := a.fullUpdates(); got != 1 {
		t.Errorf("edge-a applied %d snapshots, want 1: its stream should have stayed up through the reload", got)
	}
	if got := b.fullUpdates(); got != 1 {
		t.Errorf("edge-b applied %d snapshots, want 1", got)
	}
}

// TestReplicaLoadingItsFirstViewAnswersUnavailable: a replica that has no
// view yet (its first load is under way) answers Unavailable after the
// default ReadyTimeout (2 s), sending nothing, so the node keeps its last
// configuration and tries another replica; once loaded, it serves.
func TestReplicaLoadingItsFirstViewAnswersUnavailable(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.put(t, webhook{tenant: "acme", id: "wh_1", key: "k1"})
	gate := newLogGate(msgLoading)
	cp := startLoggedCP(t, e, distribute.Config{ReplicaID: "cp-loading"}, e.cli, slog.New(gate))
	t.Cleanup(gate.open)
	gate.waitEntered(t, 10*time.Second)

	refusal{hello: hello("raw-1", edge, 0), token: edgeToken, code: connect.CodeUnavailable, message: "has not loaded its configuration within 2s"}.check(t, cp)
	if got := cp.metric(t, "hookgate_config_streams_refused_total", "reason", "not_ready"); got != 1 {
		t.Errorf("not_ready refusals = %v, want 1", got)
	}

	gate.open()
	n := startNode(t, nodeConfig(cp.url, "edge-1", edge))
	n.waitWebhook(t, "acme", "wh_1", nil)
}

// logGate is a slog.Handler that discards records but holds the goroutine
// logging one message until the test opens the gate: a way to stop the
// distributor's watch loop at a known point without a hook in it.
type logGate struct {
	slog.Handler
	g *gateState
}

type gateState struct {
	msg         string
	entered     chan struct{}
	release     chan struct{}
	enterOnce   sync.Once
	releaseOnce sync.Once
}

func newLogGate(msg string) *logGate {
	return &logGate{
		Handler: slog.NewTextHandler(io.Discard, nil),
		g:       &gateState{msg: msg, entered: make(chan struct{}), release: make(chan struct{})},
	}
}

func (h *logGate) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == h.g.msg {
		h.g.enterOnce.Do(func() { close(h.g.entered) })
		<-h.g.release
	}
	return nil
}

func (h *logGate) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &logGate{Handler: h.Handler.WithAttrs(attrs), g: h.g}
}

func (h *logGate) WithGroup(name string) slog.Handler {
	return &logGate{Handler: h.Handler.WithGroup(name), g: h.g}
}

func (h *logGate) open() { h.g.releaseOnce.Do(func() { close(h.g.release) }) }

func (h *logGate) waitEntered(t *testing.T, timeout time.Duration) {
	t.Helper()
	select {
	case <-h.g.entered:
	case <-time.After(timeout):
		t.Fatalf("the distributor did not log %q within %s", h.g.msg, timeout)
	}
}

// startLoggedCP starts a control plane as startCP does, on its own etcd
// client and logger.
func startLoggedCP(t *testing.T, e *env, cfg distribute.Config, etcd *clientv3.Client, log *slog.Logger) *controlPlane {
	t.Helper()
	cfg.EdgeToken, cfg.DispatcherToken = edgeToken, dispatcherToken
	cfg.StatusInterval = 20 * time.Millisecond
	cfg.LeaseTTL = 5 * time.Second
	reg := prometheus.NewRegistry()
	d, err := distribute.New(cfg, etcd, e.keyring, log, reg, e.clock)
	if err != nil {
		t.Fatalf("distribute.New: %v", err)
	}
	mux := http.NewServeMux()
	mux.Handle(hookgatev1connect.NewConfigDiscoveryServiceHandler(d))
	mux.Handle(hookgatev1connect.NewEdgeServiceHandler(d))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: distribute.WithSendDeadlines(mux), ErrorLog: slog.NewLogLogger(testLog().Handler(), slog.LevelDebug)}
	srv.Protocols = new(http.Protocols)
	srv.Protocols.SetHTTP1(true)
	srv.Protocols.SetUnencryptedHTTP2(true)
	ctx, cancel := context.WithCancel(context.Background())
	c := &controlPlane{d: d, reg: reg, addr: ln.Addr().String(), srv: srv, cancel: cancel, done: make(chan error, 1)}
	c.url = "http://" + c.addr
	go func() { c.done <- d.Run(ctx) }()
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { c.stop(t) })
	return c
}

// etcdPartition forwards TCP connections to etcd until it is cut: then it closes
// every connection and refuses new ones, as a partition would.
type etcdPartition struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup

	mu    sync.Mutex
	cut   bool
	conns map[net.Conn]struct{}
}

func startEtcdPartition(t *testing.T, endpoint string) *etcdPartition {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &etcdPartition{ln: ln, target: endpoint[len("http://"):], conns: make(map[net.Conn]struct{})}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() {
		_ = ln.Close()
		p.setCut(true)
		p.wg.Wait()
	})
	return p
}

// client is an etcd client through the proxy.
func (p *etcdPartition) client(t *testing.T) *clientv3.Client {
	t.Helper()
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{"http://" + p.ln.Addr().String()}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func (p *etcdPartition) serve() {
	defer p.wg.Done()
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = in.Close()
			continue
		}
		if !p.track(in, out) {
			_ = in.Close()
			_ = out.Close()
			continue
		}
		for _, dir := range [][2]net.Conn{{in, out}, {out, in}} {
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				_, _ = io.Copy(dir[0], dir[1])
				_ = dir[0].Close()
				_ = dir[1].Close()
			}()
		}
	}
}

// track remembers a forwarded pair; false while the proxy is cut.
func (p *etcdPartition) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cut {
		return false
	}
	for _, c := range conns {
		p.conns[c] = struct{}{}
	}
	return true
}

func (p *etcdPartition) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for c := range p.conns {
			_ = c.Close()
		}
		clear(p.conns)
	}
}
