package main

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"github.com/hookgate/hookgate/controlplane/admin"
	"github.com/hookgate/hookgate/controlplane/store"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"
)

// controlPlaneConfig is what the control plane needs to start.
type controlPlaneConfig struct {
	listenAddr string
	// listenFlag names the flag that set listenAddr, for errors.
	listenFlag         string
	etcdEndpoints      []string
	etcdDialTimeout    time.Duration
	natsURL            string
	bootstrapTokenFile string
}

func (c controlPlaneConfig) validate() error {
	if len(c.etcdEndpoints) == 0 {
		return fmt.Errorf("flag --etcd-endpoints: at least one endpoint is required")
	}
	if c.etcdDialTimeout <= 0 {
		return fmt.Errorf("flag --etcd-dial-timeout %s: must be positive", c.etcdDialTimeout)
	}
	if c.natsURL == "" {
		return fmt.Errorf("flag --nats-url: required")
	}
	return nil
}

// controlPlane is a started control plane: etcd and NATS reached, admin port
// bound, bootstrap token in place.
type controlPlane struct {
	etcd   *clientv3.Client
	nc     *nats.Conn
	store  *store.Store
	admin  *httpServer
	token  string
	minted bool
}

func startControlPlane(ctx context.Context, cfg controlPlaneConfig, log *slog.Logger, reg *prometheus.Registry) (_ *controlPlane, err error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cp := &controlPlane{}
	defer func() {
		if err != nil {
			cp.close()
		}
	}()
	cp.etcd, err = clientv3.New(clientv3.Config{
		Endpoints:   cfg.etcdEndpoints,
		DialTimeout: cfg.etcdDialTimeout,
		Logger:      zap.NewNop(),
		Context:     ctx,
	})
	if err != nil {
		return nil, fmt.Errorf("controlplane: etcd %v: %w", cfg.etcdEndpoints, err)
	}
	cp.store = store.New(cp.etcd)
	// The client dials lazily: prove etcd answers before serving anything.
	pingCtx, cancel := context.WithTimeout(ctx, cfg.etcdDialTimeout)
	err = cp.store.Ping(pingCtx)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("controlplane: etcd %v unreachable: %w", cfg.etcdEndpoints, err)
	}
	cp.nc, err = nats.Connect(cfg.natsURL, nats.Name("hookgate-controlplane"), nats.MaxReconnects(-1))
	if err != nil {
		return nil, fmt.Errorf("controlplane: nats %s: %w", cfg.natsURL, err)
	}
	if cfg.bootstrapTokenFile != "" {
		cp.token, cp.minted, err = admin.BootstrapToken(ctx, cp.store, cfg.bootstrapTokenFile, time.Now())
		if err != nil {
			return nil, fmt.Errorf("controlplane: %w", err)
		}
		if cp.minted {
			log.Info("bootstrap platform token created", "file", cfg.bootstrapTokenFile)
		}
	}

	checks := cp.checks()
	mux := admin.NewHandler(admin.Services{}, healthChecker{checks: checks}, connect.WithCompressMinBytes(1024))
	healthMux(mux, checks, reg)
	cp.admin, err = listenHTTP("controlplane", cfg.listenFlag, cfg.listenAddr, mux, adminLimits, log)
	if err != nil {
		return nil, err
	}
	log.Info("control plane started", "admin", cp.admin.URL(), "etcd", cfg.etcdEndpoints)
	return cp, nil
}

func (cp *controlPlane) checks() []check {
	return []check{
		{name: "etcd", fn: func(ctx context.Context) (string, error) { return "", cp.store.Ping(ctx) }},
		{name: "nats", fn: func(context.Context) (string, error) { return "", natsStatus(cp.nc) }},
	}
}

// Run serves the admin API until ctx ends, then closes the connections.
func (cp *controlPlane) Run(ctx context.Context) error {
	defer cp.close()
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return cp.admin.Run(ctx) })
	return g.Wait()
}

func (cp *controlPlane) close() {
	if cp.admin != nil {
		cp.admin.Close()
	}
	if cp.nc != nil {
		cp.nc.Close()
	}
	if cp.etcd != nil {
		_ = cp.etcd.Close()
	}
}

func natsStatus(nc *nats.Conn) error {
	if s := nc.Status(); s != nats.CONNECTED {
		return fmt.Errorf("nats connection %s", s)
	}
	return nil
}

// healthChecker answers grpc.health.v1 from the readiness checks: every
// admin service is as healthy as the process's dependencies.
type healthChecker struct{ checks []check }

func (h healthChecker) Check(ctx context.Context, req *grpchealth.CheckRequest) (*grpchealth.CheckResponse, error) {
	if req.Service != "" && !slices.Contains(admin.ServiceNames, req.Service) {
		return nil, connect.NewError(connect.CodeNotFound, fmt.Errorf("unknown service %q", req.Service))
	}
	for _, c := range h.checks {
		if _, err := c.fn(ctx); err != nil {
			return &grpchealth.CheckResponse{Status: grpchealth.StatusNotServing}, nil
		}
	}
	return &grpchealth.CheckResponse{Status: grpchealth.StatusServing}, nil
}

func newControlPlaneCommand() *cobra.Command {
	var (
		cfg  = controlPlaneConfig{listenFlag: "listen-addr"}
		logs logFlags
	)
	cmd := &cobra.Command{
		Use:   "controlplane",
		Short: "Run a control-plane replica against an etcd cluster and a NATS cluster",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := logs.logger()
			if err != nil {
				return err
			}
			reg := newRegistry()
			cp, err := startControlPlane(cmd.Context(), cfg, log, reg)
			if err != nil {
				return err
			}
			return cp.Run(cmd.Context())
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&cfg.listenAddr, "listen-addr", "127.0.0.1:8070", "admin API address (gRPC, gRPC-Web, Connect; /healthz, /readyz, /metrics)")
	fs.StringSliceVar(&cfg.etcdEndpoints, "etcd-endpoints", []string{"http://127.0.0.1:2379"}, "etcd client URLs, comma separated")
	fs.DurationVar(&cfg.etcdDialTimeout, "etcd-dial-timeout", 5*time.Second, "how long to wait for etcd at start-up")
	fs.StringVar(&cfg.natsURL, "nats-url", nats.DefaultURL, "NATS server URLs, comma separated")
	fs.StringVar(&cfg.bootstrapTokenFile, "bootstrap-token-file", "", "file holding the bootstrap platform admin token; created (mode 0600) with a new token when missing")
	logs.register(fs, "json")
	return cmd
}
