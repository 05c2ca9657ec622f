// Package dispatcher wires a dispatcher node: it connects to NATS and
// ensures the dispatch streams, follows the control plane's config stream,
// and runs the dispatch engine over it with an ops port. hookgate
// dispatcher and hookgate dev both run it.
package dispatcher

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime/debug"
	"time"

	"github.com/hookgate/hookgate/cmd/hookgate/app/natsconn"
	"github.com/hookgate/hookgate/cmd/hookgate/app/serve"
	"github.com/hookgate/hookgate/dataplane/configsync"
	"github.com/hookgate/hookgate/dataplane/dispatch"
	"github.com/hookgate/hookgate/dataplane/streams"
	"github.com/hookgate/hookgate/dataplane/tracing"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"
)

// Config is what a dispatcher needs to start.
type Config struct {
	// Sync configures the config stream; Start fills its role and address.
	Sync configsync.Config
	// OpsAddr is the ops port; empty starts none and the caller serves
	// Checks itself (hookgate dev).
	OpsAddr string
	NATS    natsconn.Config
	Streams natsconn.Streams
	// AllowPrivateCIDRs are prefixes the SSRF policy admits although they
	// are private or loopback (--allow-private-cidrs; dev: 127.0.0.1/32).
	AllowPrivateCIDRs []string
	// RetryTimeScale compresses the retry schedule (--retry-time-scale,
	// more than 0 and at most 1; 0 is 1).
	RetryTimeScale float64
	// Workers is how many deliveries run at once (--dispatch-workers; 0 is
	// dispatch.DefaultWorkers).
	Workers int
	// AckWait is how long a message or task a dispatcher took stays
	// unacknowledged before another dispatcher takes it (--ack-wait; 0 is
	// dispatch.DefaultAckWait): how soon the work of a killed dispatcher
	// is taken up again. Work in progress is reported every AckWait/3, so
	// it may be shorter than an endpoint's timeout. The consumers are
	// shared: every dispatcher should use the same value (the last one
	// started sets it).
	AckWait time.Duration
	// Version goes into User-Agent; empty is the binary's module version.
	Version string
	// Resolver is the DNS server (host:port) deliveries resolve endpoint
	// names with (--resolver); empty is the system's resolver. The address
	// policy checks the resolved address either way.
	Resolver string
	// AutoDisableAfter is how long an endpoint must fail every attempt
	// before it is disabled with reason auto, and AutoDisableMinAttempts
	// how many failed attempts that takes at least (--auto-disable-after,
	// --auto-disable-min-attempts; 0 is dispatch.DefaultAutoDisableAfter,
	// dispatch.DefaultAutoDisableMinAttempts).
	AutoDisableAfter       time.Duration
	AutoDisableMinAttempts int
	// Tracing exports spans over OTLP (--otlp-endpoint); zero is off.
	Tracing tracing.Config
}

// Validate checks the flags of c that Start does not reach out for.
func (c Config) Validate() error {
	if _, err := c.allowPrefixes(); err != nil {
		return err
	}
	if err := c.Tracing.Validate(); err != nil {
		return err
	}
	if _, err := dispatch.NewSchedule(nil, c.RetryTimeScale); err != nil {
		return fmt.Errorf("flag --retry-time-scale %v: want more than 0 and at most 1", c.RetryTimeScale)
	}
	if c.Workers < 0 {
		return fmt.Errorf("flag --dispatch-workers %d: want 0 (default) or more", c.Workers)
	}
	if c.AckWait != 0 && (c.AckWait < time.Second || c.AckWait > 10*time.Minute) {
		return fmt.Errorf("flag --ack-wait %s: want 1s to 10m", c.AckWait)
	}
	if _, err := newResolver(c.Resolver); err != nil {
		return err
	}
	if c.AutoDisableAfter < 0 {
		return fmt.Errorf("flag --auto-disable-after %s: want 0 (default) or more", c.AutoDisableAfter)
	}
	if c.AutoDisableMinAttempts < 0 {
		return fmt.Errorf("flag --auto-disable-min-attempts %d: want 0 (default) or more", c.AutoDisableMinAttempts)
	}
	return nil
}

// newResolver is a resolver asking only the DNS server at addr (host:port)
// over UDP or TCP as the lookup asks; empty addr is nil, the system's.
func newResolver(addr string) (*net.Resolver, error) {
	if addr == "" {
		return nil, nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" || port == "" {
		return nil, fmt.Errorf("flag --resolver %q: want host:port", addr)
	}
	var d net.Dialer
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}}, nil
}

func (c Config) allowPrefixes() ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(c.AllowPrivateCIDRs))
	for _, s := range c.AllowPrivateCIDRs {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("flag --allow-private-cidrs %q: not a CIDR prefix", s)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// Dispatcher is a started dispatcher node.
type Dispatcher struct {
	table  *configsync.Table
	sync   *configsync.Client
	nc     *nats.Conn
	engine *dispatch.Engine
	health *dispatch.HealthTracker
	work   *work
	ops    *serve.Server
	checks []serve.Check
	// tracing makes the engine's fan-out and attempt spans and puts
	// traceparent on deliveries.
	tracing *tracing.Tracing
}

// Start connects and binds; Run then works. A failure closes what was
// opened.
func Start(ctx context.Context, cfg Config, log *slog.Logger, reg *prometheus.Registry) (_ *Dispatcher, err error) {
	n := &Dispatcher{}
	defer func() {
		if err != nil {
			n.close()
		}
	}()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("dispatcher: %w", err)
	}
	allow, _ := cfg.allowPrefixes()
	resolver, _ := newResolver(cfg.Resolver)
	if n.tracing, err = tracing.New(ctx, cfg.Tracing, "hookgate-dispatcher"); err != nil {
		return nil, fmt.Errorf("dispatcher: %w", err)
	}
	nc, js, err := natsconn.JetStream(ctx, "dispatcher", cfg.NATS, cfg.Streams, log)
	if err != nil {
		return nil, err
	}
	n.nc = nc
	if cfg.Streams.Ensure {
		scfg, err := cfg.Streams.Config()
		if err == nil {
			err = natsconn.Retry(ctx, log, "dispatch streams", natsconn.DefaultEnsureWait, func(ctx context.Context) error {
				return streams.EnsureDispatch(ctx, js, scfg)
			})
		}
		if err != nil {
			return nil, fmt.Errorf("dispatcher: %w", err)
		}
	}
	if cfg.Version == "" {
		cfg.Version = version()
	}
	n.work = newWork(log, nc)
	idx := newEndpointIndex(log, time.Now, cfg.RetryTimeScale, n.work.cancel)
	n.table = idx.newTable()
	var metrics prometheus.Registerer
	if reg != nil {
		metrics = reg
	}
	n.health, err = dispatch.NewHealthTracker(dispatch.HealthConfig{
		Replicas:               cfg.Streams.Replicas,
		AutoDisableAfter:       cfg.AutoDisableAfter,
		AutoDisableMinAttempts: cfg.AutoDisableMinAttempts,
	}, dispatch.HealthDeps{
		JetStream: js, Log: log, Metrics: metrics,
		// The request on hookgate.ops.{tenant}.endpoint.disabled, reason
		// auto, is the operational event too (docs/design.md "Endpoint
		// health and auto-disable").
		OnAutoDisable: func(ctx context.Context, tenant, endpointID string) {
			n.work.disabled(ctx, tenant, endpointID, dispatch.ReasonAuto)
		},
		Known: func(tenant, endpointID string) bool {
			_, ok := idx.Endpoint(tenant, endpointID)
			return ok
		},
	})
	if err != nil {
		return nil, fmt.Errorf("dispatcher: %w", err)
	}
	n.engine, err = dispatch.NewEngine(dispatch.EngineConfig{
		Workers:   cfg.Workers,
		TimeScale: cfg.RetryTimeScale,
		AckWait:   cfg.AckWait,
		Replicas:  cfg.Streams.Replicas,
	}, dispatch.EngineDeps{
		JetStream: js,
		Endpoints: idx,
		Deliverer: dispatch.NewDeliverer(dispatch.DelivererConfig{
			Version: cfg.Version,
			Dialer:  dispatch.DialerConfig{Policy: dispatch.NewAddressPolicy(allow), Resolver: resolver},
			Tracing: n.tracing,
		}),
		Log:       log,
		OnDisable: n.work.disabled,
		Schedules: idx.Schedule,
		Health:    n.health,
		Tracer:    dispatch.NewTracer(n.tracing),
	})
	if err != nil {
		return nil, fmt.Errorf("dispatcher: %w", err)
	}
	n.work.engine = n.engine
	scfg := cfg.Sync
	scfg.Role, scfg.Address = hookgatev1.NodeRole_NODE_ROLE_DISPATCHER, cfg.OpsAddr
	// The config stream reports the attempts concluded, for the fleet view.
	scfg.Stats = n.health.Traffic
	if n.sync, err = configsync.New(scfg, n.table, log, configsync.SystemClock{}); err != nil {
		return nil, fmt.Errorf("dispatcher: %w", err)
	}
	n.checks = []serve.Check{
		{Name: "config", Fn: func(context.Context) (string, error) { return n.table.Check() }},
		serve.NATSCheck(nc),
		natsconn.StreamCheck(js, streams.Outbound), natsconn.StreamCheck(js, streams.Deliver), natsconn.StreamCheck(js, streams.Attempts),
	}
	if cfg.OpsAddr != "" {
		n.ops, err = serve.ListenHTTP("dispatcher ops", "ops-addr", cfg.OpsAddr, serve.HealthMux(nil, n.checks, reg), serve.AdminLimits, log)
		if err != nil {
			return nil, err
		}
	}
	return n, nil
}

// Table is the configuration the dispatcher works from.
func (n *Dispatcher) Table() *configsync.Table { return n.table }

// Engine is the dispatch engine, e.g. for reading deliveries.
func (n *Dispatcher) Engine() *dispatch.Engine { return n.engine }

// Checks are the dispatcher's readiness checks, for an ops port.
func (n *Dispatcher) Checks() []serve.Check { return n.checks }

// Run works until ctx ends.
func (n *Dispatcher) Run(ctx context.Context) error {
	defer n.close()
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return n.engine.Run(ctx) })
	g.Go(func() error { return n.health.Run(ctx) })
	g.Go(func() error { return n.work.run(ctx) })
	g.Go(func() error { return serveTestSends(ctx, n.nc, n.engine) })
	g.Go(func() error { return n.sync.Run(ctx) })
	if n.ops != nil {
		g.Go(func() error { return n.ops.Run(ctx) })
	}
	return g.Wait()
}

// Close releases what Start opened, for a dispatcher that never ran.
func (n *Dispatcher) Close() { n.close() }

func (n *Dispatcher) close() {
	if n.ops != nil {
		n.ops.Close()
	}
	if n.nc != nil {
		_ = n.nc.Drain()
	}
	_ = n.tracing.Close()
}
