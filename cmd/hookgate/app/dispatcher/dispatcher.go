// Package dispatcher wires a dispatcher node: it connects to NATS and
// ensures the outbound stream, follows the control plane's config stream,
// and runs the dispatcher with an ops port. hookgate dispatcher and
// hookgate dev both run it.
package dispatcher

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/hookgate/hookgate/cmd/hookgate/app/natsconn"
	"github.com/hookgate/hookgate/cmd/hookgate/app/serve"
	"github.com/hookgate/hookgate/dataplane/configsync"
	"github.com/hookgate/hookgate/dataplane/dispatch"
	"github.com/hookgate/hookgate/dataplane/streams"
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
}

// Dispatcher is a started dispatcher node.
type Dispatcher struct {
	table  *configsync.Table
	sync   *configsync.Client
	nc     *nats.Conn
	d      *dispatch.Dispatcher
	ops    *serve.Server
	checks []serve.Check
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
	nc, js, err := natsconn.JetStream(ctx, "dispatcher", cfg.NATS, cfg.Streams, log, streams.Config.OutboundConfig)
	if err != nil {
		return nil, err
	}
	n.nc = nc
	n.table = configsync.NewTable()
	scfg := cfg.Sync
	scfg.Role, scfg.Address = hookgatev1.NodeRole_NODE_ROLE_DISPATCHER, cfg.OpsAddr
	if n.sync, err = configsync.New(scfg, n.table, log, configsync.SystemClock{}); err != nil {
		return nil, fmt.Errorf("dispatcher: %w", err)
	}
	n.checks = []serve.Check{
		{Name: "config", Fn: func(context.Context) (string, error) { return n.table.Check() }},
		serve.NATSCheck(nc), natsconn.StreamCheck(js, streams.Outbound),
	}
	n.d = dispatch.New(log)
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

// Checks are the dispatcher's readiness checks, for an ops port.
func (n *Dispatcher) Checks() []serve.Check { return n.checks }

// Run works until ctx ends.
func (n *Dispatcher) Run(ctx context.Context) error {
	defer n.close()
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return n.d.Run(ctx) })
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
}
