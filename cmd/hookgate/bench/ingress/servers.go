package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"google.golang.org/protobuf/proto"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/hookgate/hookgate/dataplane/configsync"
	"github.com/hookgate/hookgate/dataplane/ingress"
	"github.com/hookgate/hookgate/dataplane/streams"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

const (
	key      = "hgk_bench-key-0123456789abcdefghijklmnopqrstuvwxyz0"
	edgePath = "/in/acme/wh_bench?key=" + key
	// stripePath is a STRIPE webhook: the same key plus the signature.
	stripePath   = "/in/acme/wh_stripe?key=" + key
	stripeSecret = "whsec_bench-stripe-signing-secret"
)

// env is everything the server process runs: one embedded JetStream server
// (file storage, R1, as `hookgate dev`) and the HTTP servers of rows (a),
// (c) and (d). Row (b)'s publishers connect from the load generator.
type env struct {
	dir                 string
	ns                  *server.Server
	natsURL             string
	conns               []*nats.Conn
	bare, edge, durable *benchServer
}

func startEnv() (_ *env, err error) {
	e := &env{}
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	if e.dir, err = os.MkdirTemp("", "hookgate-bench-"); err != nil {
		return nil, fmt.Errorf("make store folder: %w", err)
	}
	e.ns, err = server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, JetStream: true,
		StoreDir: e.dir, NoLog: true, NoSigs: true, MaxPayload: 8 << 20})
	if err != nil {
		return nil, fmt.Errorf("new nats server: %w", err)
	}
	go e.ns.Start()
	if !e.ns.ReadyForConnections(10 * time.Second) {
		return nil, errors.New("nats server not ready in 10s")
	}
	e.natsURL = e.ns.ClientURL()

	// The edge and the durable handler each get their own connection, as
	// two separate services would.
	// The edge builds its own JetStream context on the connection; edgeJS
	// only creates the streams.
	edgeConn, edgeJS, err := e.connect()
	if err != nil {
		return nil, err
	}
	cfg := streams.DefaultConfig()
	for _, sc := range []jetstream.StreamConfig{cfg.InboundConfig(), cfg.FailedConfig()} {
		if _, err := streams.Ensure(context.Background(), edgeJS, sc); err != nil {
			return nil, fmt.Errorf("ensure stream %s: %w", sc.Name, err)
		}
	}
	edge, err := newEdge(edgeConn)
	if err != nil {
		return nil, err
	}
	_, durableJS, err := e.connect()
	if err != nil {
		return nil, err
	}

	if e.bare, err = startServer(http.HandlerFunc(bare)); err != nil {
		return nil, err
	}
	if e.edge, err = startServer(edge); err != nil {
		return nil, err
	}
	if e.durable, err = startServer(durable{js: durableJS, subject: "hookgate.in.acme.durable.start"}); err != nil {
		return nil, err
	}
	return e, nil
}

func (e *env) connect(opts ...jetstream.JetStreamOpt) (*nats.Conn, jetstream.JetStream, error) {
	nc, err := nats.Connect(e.natsURL)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to nats: %w", err)
	}
	e.conns = append(e.conns, nc)
	js, err := jetstream.New(nc, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("jetstream: %w", err)
	}
	return nc, js, nil
}

func (e *env) Close() {
	for _, s := range []*benchServer{e.bare, e.edge, e.durable} {
		if s != nil {
			s.Close()
		}
	}
	for _, nc := range e.conns {
		nc.Close()
	}
	if e.ns != nil {
		e.ns.Shutdown()
		e.ns.WaitForShutdown()
	}
	if e.dir != "" {
		_ = os.RemoveAll(e.dir)
	}
}

// bare is row (a): read the body, answer 200.
func bare(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	w.WriteHeader(http.StatusOK)
}

// durable is row (d), the minimal handler that is still durable: read the
// body, publish it with one synchronous JetStream publish, answer 200 once
// the ack arrived (503 if it did not). No auth, envelope, headers or dedup.
type durable struct {
	js      jetstream.JetStream
	subject string
}

func (d durable) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if _, err := d.js.Publish(r.Context(), d.subject, body); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// routes is the edge's configuration: a GENERIC and a STRIPE webhook.
// It holds them in the compact form the config stream's table does.
type routes map[string]*configsync.Webhook

func (r routes) Webhook(tenant, id string) (*configsync.Webhook, int64, bool) {
	if tenant != "acme" {
		return nil, 1, true
	}
	return r[id], 1, true
}

func newEdge(nc *nats.Conn) (*ingress.Edge, error) {
	d := sha256.Sum256([]byte(key))
	w := &hookgatev1.EdgeWebhook{Tenant: "acme", Id: "wh_bench", Active: true, Provider: hookgatev1.Provider_PROVIDER_GENERIC,
		Keys:         []*hookgatev1.KeyDigest{{Sha256: d[:]}},
		Bindings:     []*hookgatev1.Binding{{ProcessId: "orders", ThreadId: "main", Trigger: hookgatev1.Trigger_TRIGGER_START_PROCESS}},
		MaxBodyBytes: 1 << 20}
	s := proto.Clone(w).(*hookgatev1.EdgeWebhook)
	s.Id, s.Provider = "wh_stripe", hookgatev1.Provider_PROVIDER_STRIPE
	s.ProviderSecrets = map[string]string{"signing_secret": stripeSecret}
	rs := routes{}
	for _, m := range []*hookgatev1.EdgeWebhook{w, s} {
		c, err := configsync.NewWebhook(m)
		if err != nil {
			return nil, fmt.Errorf("webhook %s: %w", m.GetId(), err)
		}
		rs[m.GetId()] = c
	}
	edge, err := ingress.New(ingress.DefaultConfig(), ingress.Deps{Routes: rs, Conn: nc,
		Log: slog.New(slog.DiscardHandler), Metrics: prometheus.NewRegistry()})
	if err != nil {
		return nil, fmt.Errorf("new edge: %w", err)
	}
	return edge, nil
}

type benchServer struct {
	URL string
	srv *http.Server
}

func (s *benchServer) Close() { _ = s.srv.Close() }

func startServer(h http.Handler) (*benchServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return &benchServer{URL: "http://" + ln.Addr().String(), srv: srv}, nil
}
