package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/hookgate/hookgate/dataplane/configsync"
	"github.com/hookgate/hookgate/dataplane/ingress"
	"github.com/hookgate/hookgate/dataplane/streams"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/sync/errgroup"
)

type edgeConfig struct {
	nodeID         string
	publishTimeout time.Duration
	sync           syncFlags
	listenAddr     string
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
	listener net.Listener
	table    *configsync.Table
	sync     *configsync.Client
	nc       *nats.Conn
	ingress  *httpServer
	ops      *httpServer
	checks   []check
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
	if cfg.listener == nil {
		if cfg.listener, err = listen(cfg.listenFlag, cfg.listenAddr); err != nil {
			return nil, fmt.Errorf("edge: %w", err)
		}
	}
	e.listener = cfg.listener
	nc, js, err := connectJetStream(ctx, "edge", cfg.nats, log, streams.Config.InboundConfig, streams.Config.FailedConfig)
	if err != nil {
		return nil, err
	}
	e.nc = nc
	// An envelope is larger than its body: refuse a bus that cannot carry
	// the default body limit instead of failing calls later (DESIGN.md).
	if mp := nc.MaxPayload(); mp < minMaxPayload {
		return nil, fmt.Errorf("edge: NATS max_payload is %d bytes; the default 1 MiB body limit needs at least %d (raise max_payload on the NATS servers)", mp, minMaxPayload)
	}
	e.table = configsync.NewTable()
	e.sync, err = configsync.New(cfg.sync.config(cfg.controlPlaneURL, cfg.nodeID, hookgatev1.NodeRole_NODE_ROLE_EDGE, cfg.listener.Addr().String()),
		e.table, log, configsync.SystemClock{})
	if err != nil {
		return nil, fmt.Errorf("edge: %w", err)
	}
	icfg := ingress.DefaultConfig()
	icfg.PublishTimeout = cfg.publishTimeout
	icfg.MaxPayload = nc.MaxPayload()
	handler, err := ingress.New(icfg, ingress.Deps{Routes: tableRoutes{e.table}, JetStream: js, Conn: nc, Log: log, Metrics: reg})
	if err != nil {
		return nil, fmt.Errorf("edge: %w", err)
	}
	// Derived per-webhook state goes when its webhook does, so churn
	// cannot grow the edge's memory.
	e.table.OnUpdate(func(u configsync.Update) {
		if u.Full {
			handler.Prune(func(tenant, id string) bool { _, ok := u.Snapshot.Webhook(tenant, id); return ok })
			return
		}
		for _, d := range u.Deleted {
			handler.Forget(d.Tenant, d.ID)
		}
	})
	e.checks = []check{
		{name: "config", fn: func(context.Context) (string, error) { return e.table.Check() }},
		natsCheck(nc), streamCheck(js, streams.Inbound),
	}
	// The public port answers health probes for the load balancer but never
	// serves /metrics.
	mux := healthMux(nil, e.checks, nil)
	mux.Handle("/in/", handler)
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
	g.Go(func() error { return e.sync.Run(ctx) })
	if e.ops != nil {
		g.Go(func() error { return e.ops.Run(ctx) })
	}
	return g.Wait()
}

func (e *edgeNode) close() {
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
	fs.StringVar(&cfg.nodeID, "node-id", defaultNodeID("edge"), "this node's name in the fleet view")
	fs.DurationVar(&cfg.publishTimeout, "publish-timeout", 5*time.Second, "how long to wait for JetStream to acknowledge before answering 503")
	cfg.sync.register(fs)
	cfg.nats.register(fs)
	logs.register(fs, "json")
	return cmd
}

// minMaxPayload is what an envelope of a 1 MiB body needs, with its base64
// raw body and headers.
const minMaxPayload = 2<<20 + 512<<10

// tableRoutes serves the ingress from the config stream's table.
type tableRoutes struct{ t *configsync.Table }

func (r tableRoutes) Webhook(tenant, id string) (*hookgatev1.EdgeWebhook, int64, bool) {
	s := r.t.Snapshot()
	if s == nil {
		return nil, 0, false
	}
	w, _ := s.Webhook(tenant, id)
	return w, s.Revision, true
}

// syncFlags configure a node's config stream.
type syncFlags struct {
	nodeToken      string
	caFile         string
	certFile       string
	keyFile        string
	allowPlaintext bool
	cacheFile      string
}

func (s *syncFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&s.nodeToken, "node-token", "", "shared node token for the config stream (prefer HOOKGATE_NODE_TOKEN)")
	fs.StringVar(&s.caFile, "control-plane-ca", "", "PEM CA that signs the control plane's certificate (https:// URLs)")
	fs.StringVar(&s.certFile, "tls-cert", "", "client certificate (PEM) for mTLS to the control plane")
	fs.StringVar(&s.keyFile, "tls-key", "", "client key (PEM) for mTLS to the control plane")
	fs.BoolVar(&s.allowPlaintext, "allow-plaintext", false, "allow http:// to a control plane that is not on loopback (trusted networks only)")
	fs.StringVar(&s.cacheFile, "config-cache-file", "", "keep the last configuration in this file (mode 0600; holds provider secrets) to serve after a restart while the control plane is down")
}

// config is the configsync.Config of a node with these flags.
func (s syncFlags) config(controlPlaneURL, nodeID string, role hookgatev1.NodeRole, addr string) configsync.Config {
	return configsync.Config{
		ControlPlaneURL: controlPlaneURL,
		NodeID:          nodeID,
		Role:            role,
		Address:         addr,
		NodeToken:       s.nodeToken,
		CAFile:          s.caFile,
		CertFile:        s.certFile,
		KeyFile:         s.keyFile,
		AllowPlaintext:  s.allowPlaintext,
		CacheFile:       s.cacheFile,
	}
}

func defaultNodeID(role string) string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "node"
	}
	return fmt.Sprintf("%s-%s-%d", role, host, os.Getpid())
}
