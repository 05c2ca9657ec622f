package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hookgate/hookgate/dataplane/dispatch"
	"github.com/hookgate/hookgate/dataplane/streams"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

const (
	tenant    = "acme"
	eventType = "order.created"
	// secret signs every delivery and every bare-client request
	// (whsec_ + base64 of 32 bytes).
	secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	// slowHold is how long a slow path holds a request when the client
	// does not give up first: far past the endpoint timeout.
	slowHold = 5 * time.Second
)

// env is the server process: one embedded JetStream server (file storage,
// R1, as `hookgate dev`), the dispatch engine driven in process with a
// fixed endpoint table, and the receiver every endpoint points at.
type env struct {
	dir     string
	ns      *server.Server
	natsURL string
	nc      *nats.Conn
	recv    *receiver
	srv     *http.Server
	recvURL string
	stop    context.CancelFunc
	done    chan error
}

// app is one application of the endpoint table: its endpoints all
// subscribe to eventType.
type app struct {
	id   string
	eps  []*dispatch.Endpoint
	slow int // how many of eps point at a slow path
}

func (a app) subject() string { return "hookgate.out." + tenant + "." + a.id + "." + eventType }

// paths are the receiver paths of the app's healthy endpoints.
func (a app) paths() []string {
	var out []string
	for _, ep := range a.eps {
		if p := ep.URL[strings.Index(ep.URL[len("http://"):], "/")+len("http://"):]; strings.HasPrefix(p, "/ok/") {
			out = append(out, p)
		}
	}
	return out
}

// endpointTable is the in-memory dispatch.Endpoints: the config stream is not what
// is measured.
type endpointTable struct {
	apps map[string][]*dispatch.Endpoint
	byID map[string]*dispatch.Endpoint
}

func (t *endpointTable) Subscribed(ten, appID, et string) []*dispatch.Endpoint {
	if ten != tenant || et != eventType {
		return nil
	}
	return t.apps[appID]
}

func (t *endpointTable) Endpoint(ten, id string) (*dispatch.Endpoint, bool) {
	if ten != tenant {
		return nil, false
	}
	ep, ok := t.byID[id]
	return ep, ok
}

// newApp makes n endpoints, the first slow of them on the slow path.
func newApp(base, id string, n, slow int, timeoutMS int, s dispatch.Secret) app {
	a := app{id: id, slow: slow}
	for i := range n {
		kind := "ok"
		if i < slow {
			kind = "slow"
		}
		epID := fmt.Sprintf("ep_%s_%d", id, i)
		a.eps = append(a.eps, &dispatch.Endpoint{ID: epID, Tenant: tenant, URL: base + "/" + kind + "/" + epID,
			Secrets: []dispatch.Secret{s}, TimeoutMS: timeoutMS})
	}
	return a
}

func startEnv(apps func(base string, s dispatch.Secret) []app) (_ *env, _ []app, err error) {
	e := &env{recv: newReceiver()}
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	if e.dir, err = os.MkdirTemp("", "hookgate-bench-outbound-"); err != nil {
		return nil, nil, fmt.Errorf("make store folder: %w", err)
	}
	e.ns, err = server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, JetStream: true,
		StoreDir: e.dir, NoLog: true, NoSigs: true})
	if err != nil {
		return nil, nil, fmt.Errorf("new nats server: %w", err)
	}
	go e.ns.Start()
	if !e.ns.ReadyForConnections(10 * time.Second) {
		return nil, nil, errors.New("nats server not ready in 10s")
	}
	e.natsURL = e.ns.ClientURL()
	if e.nc, err = nats.Connect(e.natsURL); err != nil {
		return nil, nil, fmt.Errorf("connect to nats: %w", err)
	}
	js, err := jetstream.New(e.nc)
	if err != nil {
		return nil, nil, fmt.Errorf("jetstream: %w", err)
	}
	ctx := context.Background()
	if err := streams.EnsureDispatch(ctx, js, streams.DefaultConfig()); err != nil {
		return nil, nil, fmt.Errorf("ensure dispatch streams: %w", err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, fmt.Errorf("listen: %w", err)
	}
	e.recvURL = "http://" + ln.Addr().String()
	e.srv = &http.Server{Handler: e.recv, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = e.srv.Serve(ln) }()

	s, err := dispatch.ParseSecret(secret)
	if err != nil {
		return nil, nil, fmt.Errorf("bench secret: %w", err)
	}
	list := apps(e.recvURL, s)
	t := &endpointTable{apps: map[string][]*dispatch.Endpoint{}, byID: map[string]*dispatch.Endpoint{}}
	for _, a := range list {
		t.apps[a.id] = a.eps
		for _, ep := range a.eps {
			t.byID[ep.ID] = ep
		}
	}
	deliverer := dispatch.NewDeliverer(dispatch.DelivererConfig{Version: "bench",
		Dialer: dispatch.DialerConfig{Policy: dispatch.NewAddressPolicy([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")})}})
	// Endpoint health as the dispatcher keeps it: it is part of each
	// delivery's cost.
	health, err := dispatch.NewHealthTracker(dispatch.HealthConfig{}, dispatch.HealthDeps{JetStream: js, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, nil, fmt.Errorf("new health tracker: %w", err)
	}
	eng, err := dispatch.NewEngine(dispatch.EngineConfig{}, dispatch.EngineDeps{JetStream: js, Endpoints: t,
		Deliverer: deliverer, Log: slog.New(slog.DiscardHandler), Health: health})
	if err != nil {
		return nil, nil, fmt.Errorf("new engine: %w", err)
	}
	ctx, e.stop = context.WithCancel(ctx)
	e.done = make(chan error, 2)
	go func() { e.done <- eng.Run(ctx) }()
	go func() { e.done <- health.Run(ctx) }()
	return e, list, nil
}

func (e *env) Close() {
	if e.stop != nil {
		e.stop()
		<-e.done
		<-e.done
	}
	if e.srv != nil {
		_ = e.srv.Close()
	}
	if e.nc != nil {
		e.nc.Close()
	}
	if e.ns != nil {
		e.ns.Shutdown()
		e.ns.WaitForShutdown()
	}
	if e.dir != "" {
		_ = os.RemoveAll(e.dir)
	}
}

// receiver answers 200 on /ok/… and verifies nothing; it records, for the
// current run, each delivery's latency from the time stamped in its
// payload. /slow/… holds the request until the client gives up.
// GET /received?run=R&atleast=N waits until the run has N deliveries (or
// a second passed) and answers the count: the load generator's window.
type receiver struct {
	mu   sync.Mutex
	cond *sync.Cond
	run  int
	lat  []time.Duration
	last time.Time
}

func newReceiver() *receiver {
	r := &receiver{}
	r.cond = sync.NewCond(&r.mu)
	return r
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	switch {
	case strings.HasPrefix(req.URL.Path, "/ok/"):
		body, err := io.ReadAll(req.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		now := time.Now()
		if run, sent, ok := readStamp(body); ok {
			r.mu.Lock()
			if run == r.run {
				r.lat = append(r.lat, now.Sub(sent))
				r.last = now
				r.cond.Broadcast()
			}
			r.mu.Unlock()
		}
		w.WriteHeader(http.StatusOK)
	case strings.HasPrefix(req.URL.Path, "/slow/"):
		_, _ = io.Copy(io.Discard, req.Body)
		t := time.NewTimer(slowHold)
		defer t.Stop()
		select {
		case <-req.Context().Done():
		case <-t.C:
		}
		w.WriteHeader(http.StatusOK)
	case req.URL.Path == "/received":
		run, _ := strconv.Atoi(req.URL.Query().Get("run"))
		want, _ := strconv.Atoi(req.URL.Query().Get("atleast"))
		_, _ = fmt.Fprint(w, r.wait(run, want, time.Second))
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

// begin starts counting run's deliveries, dropping what was recorded.
func (r *receiver) begin(run int) {
	r.mu.Lock()
	r.run, r.lat, r.last = run, nil, time.Time{}
	r.mu.Unlock()
}

// wait blocks until run has n deliveries or d passed, and returns the
// count (0 for another run).
func (r *receiver) wait(run, n int, d time.Duration) int {
	wake := time.AfterFunc(d, func() { r.mu.Lock(); r.cond.Broadcast(); r.mu.Unlock() })
	defer wake.Stop()
	until := time.Now().Add(d)
	r.mu.Lock()
	defer r.mu.Unlock()
	for r.run == run && len(r.lat) < n && time.Now().Before(until) {
		r.cond.Wait()
	}
	if r.run != run {
		return 0
	}
	return len(r.lat)
}

// result is the run's latencies, sorted, and its last arrival.
func (r *receiver) result() ([]time.Duration, time.Time) {
	r.mu.Lock()
	lat := slices.Clone(r.lat)
	last := r.last
	r.mu.Unlock()
	slices.Sort(lat)
	return lat, last
}
