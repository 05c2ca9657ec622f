// Package edge wires an edge node: it connects to NATS and ensures the
// inbound and outbound streams, follows the control plane's config stream,
// and serves the public ingress port (webhook calls, MessageService.
// SendMessage and cached health probes) and an
// ops port (the expensive readiness checks and /metrics). hookgate edge and
// hookgate dev both run it.
package edge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/hookgate/hookgate/cmd/hookgate/app/natsconn"
	"github.com/hookgate/hookgate/cmd/hookgate/app/serve"
	"github.com/hookgate/hookgate/dataplane/configsync"
	"github.com/hookgate/hookgate/dataplane/ingress"
	"github.com/hookgate/hookgate/dataplane/streams"
	"github.com/hookgate/hookgate/dataplane/tracing"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"
)

// Config is what an edge needs to start.
type Config struct {
	PublishTimeout time.Duration
	// PublicURL is the edges' public base URL, which URL-signing providers
	// sign; empty means each request's own scheme and host.
	PublicURL string
	// TrustedProxies are the CIDRs whose X-Forwarded-Proto/Host the edge
	// believes.
	TrustedProxies []string
	// MaxInflightBytes bounds the bodies and envelopes held by calls in
	// flight; 0 means the ingress default (256 MiB).
	MaxInflightBytes int64
	// Sync configures the config stream; Start fills its role and address.
	Sync       configsync.Config
	ListenAddr string
	// Listener, when set, is already bound to ListenAddr (hookgate dev
	// binds early to learn random ports).
	Listener net.Listener
	// ListenFlag names the flag that set ListenAddr, for errors.
	ListenFlag string
	// ListenTLSCert and ListenTLSKey serve the public port over TLS
	// (HTTP/2 by ALPN), reloaded when the files change
	// (--listen-tls-cert/--listen-tls-key).
	ListenTLSCert, ListenTLSKey string
	// OpsAddr is the ops port; empty starts none and the caller serves
	// Checks itself (hookgate dev).
	OpsAddr string
	NATS    natsconn.Config
	Streams natsconn.Streams
	// Tracing exports spans over OTLP (--otlp-endpoint); zero is off.
	Tracing tracing.Config
	// Shard is the slice of tenants the edge serves (--shard,
	// --shard-tenants; see ParseShard); the zero Shard is every tenant.
	Shard ingress.Shard
}

// Edge is a started edge: NATS reached, ports bound.
type Edge struct {
	listener net.Listener
	table    *configsync.Table
	sync     *configsync.Client
	nc       *nats.Conn
	ingress  *serve.Server
	ops      *serve.Server
	checks   []serve.Check
	tracing  *tracing.Tracing
}

// MinMaxPayload is what an envelope of a 1 MiB body needs, with its base64
// raw body and headers.
const MinMaxPayload = 2<<20 + 512<<10

// Start connects and binds; Run then serves. A failure closes what was
// opened.
func Start(ctx context.Context, cfg Config, log *slog.Logger, reg *prometheus.Registry) (_ *Edge, err error) {
	if err := cfg.NATS.Validate(); err != nil {
		return nil, err
	}
	if cfg.PublicURL != "" {
		if u, err := url.Parse(cfg.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || strings.Trim(u.Path, "/") != "" {
			return nil, fmt.Errorf("flag --public-url %q: want the edges' public base URL, e.g. https://hooks.example.com", cfg.PublicURL)
		}
	}
	if (cfg.ListenTLSCert == "") != (cfg.ListenTLSKey == "") {
		return nil, errors.New("flags --listen-tls-cert and --listen-tls-key: give both or neither")
	}
	// Local files first: a bad pair fails before anything is dialled.
	var certs *serve.CertReloader
	if cfg.ListenTLSCert != "" {
		if certs, err = serve.NewCertReloader("listen-tls-cert", "listen-tls-key", cfg.ListenTLSCert, cfg.ListenTLSKey, log, nil); err != nil {
			return nil, fmt.Errorf("edge: %w", err)
		}
	}
	e := &Edge{}
	defer func() {
		if err != nil {
			e.close()
		}
	}()
	if cfg.Listener == nil {
		if cfg.Listener, err = serve.Listen(cfg.ListenFlag, cfg.ListenAddr); err != nil {
			return nil, fmt.Errorf("edge: %w", err)
		}
	}
	e.listener = cfg.Listener
	nc, js, err := natsconn.JetStream(ctx, "edge", cfg.NATS, cfg.Streams, log, streams.Config.InboundConfig, streams.Config.FailedConfig, streams.Config.OutboundConfig)
	if err != nil {
		return nil, err
	}
	e.nc = nc
	// An envelope is larger than its body: refuse a bus that cannot carry
	// the default body limit instead of failing calls later (DESIGN.md).
	if mp := nc.MaxPayload(); mp < MinMaxPayload {
		return nil, fmt.Errorf("edge: NATS max_payload is %d bytes; the default 1 MiB body limit needs at least %d (raise max_payload on the NATS servers)", mp, MinMaxPayload)
	}
	e.table = configsync.NewTable()
	scfg := cfg.Sync
	scfg.Role, scfg.Address = hookgatev1.NodeRole_NODE_ROLE_EDGE, cfg.Listener.Addr().String()
	scfg.Shard = cfg.Shard.Proto()
	if err := checkCacheShard(scfg.CacheFile, cfg.Shard, log); err != nil {
		return nil, fmt.Errorf("edge: %w", err)
	}
	icfg := ingress.DefaultConfig()
	icfg.PublishTimeout = cfg.PublishTimeout
	icfg.MaxPayload = nc.MaxPayload()
	icfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	icfg.Shard = cfg.Shard
	for _, c := range cfg.TrustedProxies {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			if a, aerr := netip.ParseAddr(c); aerr == nil {
				p = netip.PrefixFrom(a, a.BitLen())
			} else {
				return nil, fmt.Errorf("flag --trusted-proxies %q: want CIDRs such as 10.0.0.0/8 or addresses", c)
			}
		}
		icfg.TrustedProxies = append(icfg.TrustedProxies, p.Masked())
	}
	if cfg.MaxInflightBytes != 0 {
		icfg.MaxInflightBytes = cfg.MaxInflightBytes
	}
	if e.tracing, err = tracing.New(ctx, cfg.Tracing, "hookgate-edge"); err != nil {
		return nil, fmt.Errorf("edge: %w", err)
	}
	handler, err := ingress.New(icfg, ingress.Deps{Routes: tableRoutes{e.table}, Conn: nc, Log: log, Metrics: reg, Tracing: e.tracing})
	if err != nil {
		return nil, fmt.Errorf("edge: %w", err)
	}
	// The config stream reports the counters of hookgate_edge_requests_total
	// for the fleet view.
	scfg.Stats = handler.Traffic
	if e.sync, err = configsync.New(scfg, e.table, log, configsync.SystemClock{}); err != nil {
		return nil, fmt.Errorf("edge: %w", err)
	}
	// SendMessage (MessageService) shares the public port; its catalog
	// and token digests come from the same table.
	mcfg := ingress.DefaultMessagesConfig()
	mcfg.PublishTimeout = cfg.PublishTimeout
	mcfg.Shard = cfg.Shard
	messages, err := ingress.NewMessages(mcfg, ingress.MessagesDeps{Source: tableRoutes{e.table}, Conn: nc, Log: log, Tracing: e.tracing, Metrics: reg})
	if err != nil {
		return nil, fmt.Errorf("edge: %w", err)
	}
	// Derived per-webhook state goes when its webhook does, so churn
	// cannot grow the edge's memory.
	e.table.OnUpdate(func(u configsync.Update) {
		if u.Full {
			handler.Prune(func(tenant, id string) bool { _, ok := u.Snapshot.Lookup(tenant, id); return ok })
			return
		}
		for _, d := range u.Deleted {
			handler.Forget(d.Tenant, d.ID)
		}
	})
	e.checks = []serve.Check{
		{Name: "config", Fn: func(context.Context) (string, error) { return e.table.Check() }},
		{Name: "publishes", Fn: func(context.Context) (string, error) {
			if ok, why := handler.Ready(); !ok {
				return "", errors.New(why)
			}
			return "", nil
		}},
		serve.NATSCheck(nc), natsconn.StreamCheck(js, streams.Inbound), natsconn.StreamCheck(js, streams.Outbound),
	}
	// The public port answers webhook calls and the load balancer's probes
	// from state the edge keeps (no NATS request per probe), with no path
	// cleaning or redirects; the ops port has the expensive checks and
	// /metrics.
	// SendMessage is also served on its REST path
	// (POST /v1/tenants/{tenant}/apps/{app_id}/messages).
	public, err := ingress.WithREST(handler.PublicHandler(ingress.WithMessages(messages)), messages)
	if err != nil {
		return nil, fmt.Errorf("edge: %w", err)
	}
	e.ingress = serve.On("edge", cfg.Listener, public, serve.EdgeLimits, log)
	if certs != nil {
		e.ingress.TLS = certs.TLSConfig()
	}
	if cfg.OpsAddr != "" {
		e.ops, err = serve.ListenHTTP("edge ops", "ops-addr", cfg.OpsAddr, serve.HealthMux(nil, e.checks, reg), serve.AdminLimits, log)
		if err != nil {
			return nil, err
		}
	}
	attrs := []any{"ingress", e.ingress.URL(), "control_plane", scfg.ControlPlaneURL, "shard", cfg.Shard.String()}
	if e.ops != nil {
		attrs = append(attrs, "ops", e.ops.URL())
	}
	log.Info("edge started", attrs...)
	return e, nil
}

// URL is the public ingress port's base URL.
func (e *Edge) URL() string { return e.ingress.URL() }

// Table is the configuration the edge serves from.
func (e *Edge) Table() *configsync.Table { return e.table }

// Checks are the edge's full readiness checks, for an ops port.
func (e *Edge) Checks() []serve.Check { return e.checks }

// Run serves until ctx ends.
func (e *Edge) Run(ctx context.Context) error {
	defer e.close()
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return e.ingress.Run(ctx) })
	g.Go(func() error { return e.sync.Run(ctx) })
	if e.ops != nil {
		g.Go(func() error { return e.ops.Run(ctx) })
	}
	return g.Wait()
}

// Close releases what Start opened, for an edge that never ran.
func (e *Edge) Close() { e.close() }

func (e *Edge) close() {
	if e.listener != nil {
		_ = e.listener.Close()
	}
	if e.ops != nil {
		e.ops.Close()
	}
	if e.nc != nil {
		// Drain lets in-flight publishes finish before the connection closes.
		_ = e.nc.Drain()
	}
	// The last spans leave once the calls they describe have ended.
	_ = e.tracing.Close()
}

// tableRoutes serves the ingress from the config stream's table.
type tableRoutes struct{ t *configsync.Table }

func (r tableRoutes) Webhook(tenant, id string) (*configsync.Webhook, int64, bool) {
	s := r.t.Snapshot()
	if s == nil {
		return nil, 0, false
	}
	w, _ := s.Lookup(tenant, id)
	return w, s.Revision, true
}

// Outbound serves SendMessage's catalog and token digests from the table.
func (r tableRoutes) Outbound() (ingress.ResourceSet, bool) {
	s := r.t.Snapshot()
	if s == nil {
		return nil, false
	}
	return s, true
}
