package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/hookgate/hookgate/dataplane/configsync"
	"github.com/hookgate/hookgate/dataplane/dispatch"
	"github.com/hookgate/hookgate/dataplane/streams"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"
)

type dispatcherConfig struct {
	nodeID          string
	sync            syncFlags
	opsAddr         string
	controlPlaneURL string
	nats            natsFlags
}

type dispatcherNode struct {
	table  *configsync.Table
	sync   *configsync.Client
	nc     *nats.Conn
	d      *dispatch.Dispatcher
	ops    *httpServer
	checks []check
}

func startDispatcher(ctx context.Context, cfg dispatcherConfig, log *slog.Logger, reg *prometheus.Registry) (_ *dispatcherNode, err error) {
	n := &dispatcherNode{}
	defer func() {
		if err != nil {
			n.close()
		}
	}()
	nc, js, err := connectJetStream(ctx, "dispatcher", cfg.nats, log, streams.Config.OutboundConfig)
	if err != nil {
		return nil, err
	}
	n.nc = nc
	n.table = configsync.NewTable()
	n.sync, err = configsync.New(cfg.sync.config(cfg.controlPlaneURL, cfg.nodeID, hookgatev1.NodeRole_NODE_ROLE_DISPATCHER, cfg.opsAddr),
		n.table, log, configsync.SystemClock{})
	if err != nil {
		return nil, fmt.Errorf("dispatcher: %w", err)
	}
	n.checks = []check{
		{name: "config", fn: func(context.Context) (string, error) { return n.table.Check() }},
		natsCheck(nc), streamCheck(js, streams.Outbound),
	}
	n.d = dispatch.New(log)
	if cfg.opsAddr != "" {
		n.ops, err = listenHTTP("dispatcher ops", "ops-addr", cfg.opsAddr, healthMux(nil, n.checks, reg), adminLimits, log)
		if err != nil {
			return nil, err
		}
	}
	return n, nil
}

func (n *dispatcherNode) Run(ctx context.Context) error {
	defer n.close()
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return n.d.Run(ctx) })
	g.Go(func() error { return n.sync.Run(ctx) })
	if n.ops != nil {
		g.Go(func() error { return n.ops.Run(ctx) })
	}
	return g.Wait()
}

func (n *dispatcherNode) close() {
	if n.ops != nil {
		n.ops.Close()
	}
	if n.nc != nil {
		_ = n.nc.Drain()
	}
}

func newDispatcherCommand() *cobra.Command {
	var (
		cfg  dispatcherConfig
		logs logFlags
	)
	cmd := &cobra.Command{
		Use:   "dispatcher",
		Short: "Run a dispatcher: deliver outbound messages to endpoints",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := logs.logger()
			if err != nil {
				return err
			}
			n, err := startDispatcher(cmd.Context(), cfg, log, newRegistry())
			if err != nil {
				return err
			}
			return n.Run(cmd.Context())
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&cfg.opsAddr, "ops-addr", "127.0.0.1:8082", "ops address for /healthz, /readyz and /metrics")
	fs.StringVar(&cfg.controlPlaneURL, "control-plane", "http://127.0.0.1:8070", "control-plane URL for the config stream")
	fs.StringVar(&cfg.nodeID, "node-id", defaultNodeID("dispatcher"), "this node's name in the fleet view")
	cfg.sync.register(fs)
	cfg.nats.register(fs)
	logs.register(fs, "json")
	return cmd
}
