package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/hookgate/hookgate/dataplane/ingress"
	"github.com/hookgate/hookgate/dataplane/streams"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"
)

type edgeConfig struct {
	listenAddr string
	// listener, when set, is already bound to listenAddr (hookgate dev binds
	// early to learn random ports).
	listener net.Listener
	// listenFlag names the flag that set listenAddr, for errors.
	listenFlag      string
	opsAddr         string
	controlPlaneURL string
	nats            natsFlags
}

// edgeLimits keep slow or huge requests from tying up the edge (slowloris).
var edgeLimits = serverLimits{
	readHeaderTimeout: 5 * time.Second,
	readTimeout:       30 * time.Second,
	writeTimeout:      30 * time.Second,
	idleTimeout:       90 * time.Second,
	maxHeaderBytes:    32 << 10,
}

// edgeNode is a started edge: NATS reached, ports bound.
type edgeNode struct {
	nc      *nats.Conn
	ingress *httpServer
	ops     *httpServer
	checks  []check
}

// startEdge connects and binds. With an empty opsAddr no ops server is
// started and the caller serves checks itself (hookgate dev).
func startEdge(ctx context.Context, cfg edgeConfig, log *slog.Logger, reg *prometheus.Registry) (_ *edgeNode, err error) {
	e := &edgeNode{}
	defer func() {
		if err != nil {
			e.close()
		}
	}()
	nc, js, err := connectJetStream(ctx, "edge", cfg.nats, log, streams.Config.InboundConfig)
	if err != nil {
		return nil, err
	}
	e.nc = nc
	e.checks = []check{natsCheck(nc), streamCheck(js, streams.Inbound)}
	// The public port answers health probes for the load balancer but never
	// serves /metrics.
	mux := healthMux(nil, e.checks, nil)
	mux.Handle("/in/", ingress.New())
	if cfg.listener == nil {
		if cfg.listener, err = listen(cfg.listenFlag, cfg.listenAddr); err != nil {
			return nil, fmt.Errorf("edge: %w", err)
		}
	}
	e.ingress = serveOn("edge", cfg.listener, mux, edgeLimits, log)
	if cfg.opsAddr != "" {
		e.ops, err = listenHTTP("edge ops", "ops-addr", cfg.opsAddr, healthMux(nil, e.checks, reg), adminLimits, log)
		if err != nil {
			return nil, err
		}
	}
	log.Info("edge started", "ingress", e.ingress.URL(), "control_plane", cfg.controlPlaneURL)
	return e, nil
}

func (e *edgeNode) Run(ctx context.Context) error {
	defer e.close()
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return e.ingress.Run(ctx) })
	if e.ops != nil {
		g.Go(func() error { return e.ops.Run(ctx) })
	}
	return g.Wait()
}

func (e *edgeNode) close() {
	if e.ingress != nil {
		e.ingress.Close()
	}
	if e.ops != nil {
		e.ops.Close()
	}
	if e.nc != nil {
		// Drain lets in-flight publishes finish before the connection closes.
		_ = e.nc.Drain()
	}
}

func newEdgeCommand() *cobra.Command {
	var (
		cfg  = edgeConfig{listenFlag: "listen-addr"}
		logs logFlags
	)
	cmd := &cobra.Command{
		Use:   "edge",
		Short: "Run an edge node: receive inbound webhooks and publish them to JetStream",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := logs.logger()
			if err != nil {
				return err
			}
			e, err := startEdge(cmd.Context(), cfg, log, newRegistry())
			if err != nil {
				return err
			}
			return e.Run(cmd.Context())
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&cfg.listenAddr, "listen-addr", "127.0.0.1:8080", "public ingress address")
	fs.StringVar(&cfg.opsAddr, "ops-addr", "127.0.0.1:8081", "ops address for /healthz, /readyz and /metrics")
	fs.StringVar(&cfg.controlPlaneURL, "control-plane", "http://127.0.0.1:8070", "control-plane URL for the config stream")
	cfg.nats.register(fs)
	logs.register(fs, "json")
	return cmd
}
