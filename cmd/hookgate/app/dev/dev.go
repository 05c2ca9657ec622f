// Package dev is hookgate dev: the production parts with a preset
// configuration. It starts embedded etcd and NATS with their data in one
// folder, then the same control plane, edge and dispatcher the production
// commands start, with the credentials between them (node tokens, the NATS
// user's nkey, the bootstrap admin token) generated in that folder.
package dev

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/hookgate/hookgate/cmd/hookgate/app/controlplane"
	"github.com/hookgate/hookgate/cmd/hookgate/app/dispatcher"
	"github.com/hookgate/hookgate/cmd/hookgate/app/edge"
	"github.com/hookgate/hookgate/cmd/hookgate/app/embedded"
	"github.com/hookgate/hookgate/cmd/hookgate/app/logs"
	"github.com/hookgate/hookgate/cmd/hookgate/app/natsconn"
	"github.com/hookgate/hookgate/cmd/hookgate/app/serve"
	"github.com/hookgate/hookgate/dataplane/configsync"
	"github.com/hookgate/hookgate/dataplane/tracing"
	"go.uber.org/zap/zapcore"
	"golang.org/x/sync/errgroup"
)

// Config is hookgate dev's settings; every address may use port 0.
type Config struct {
	DataDir      string
	AdminAddr    string
	EdgeAddr     string
	OpsAddr      string
	EtcdAddr     string
	EtcdPeerAddr string
	NATSAddr     string
	// PublicURL is the edge's public base URL in webhook URLs; empty means
	// the edge address.
	PublicURL string
	// ListenTLSCert and ListenTLSKey serve the edge over TLS (edge.Config).
	ListenTLSCert, ListenTLSKey string
	// RetryTimeScale compresses the dispatcher's retry schedule (0 is 1).
	RetryTimeScale float64
	// AutoDisableAfter and AutoDisableMinAttempts are the dispatcher's
	// auto-disable span and minimum attempts (0: its defaults).
	AutoDisableAfter       time.Duration
	AutoDisableMinAttempts int
	// Resolver is the DNS server (host:port) the dispatcher resolves
	// endpoint names with; empty is the system's.
	Resolver string
	// Cluster is the number of etcd members and NATS nodes (1, or 3, 5
	// or 7 for a cluster on this machine with streams replicated 3 or 5
	// times); the members' ports are picked once and kept in the data
	// folder, so EtcdAddr, EtcdPeerAddr and NATSAddr apply to 1 only.
	Cluster int
	// NATSSync is how often JetStream fsyncs: 0 the NATS default, < 0
	// after every write.
	NATSSync time.Duration
	// StreamMaxAge and AttemptsMaxAge bound how long events, and attempt
	// records and delivery states, are kept (0: the streams' defaults).
	StreamMaxAge, AttemptsMaxAge time.Duration
	// Tracing exports the control plane's, edge's and dispatcher's spans
	// over OTLP (--otlp-endpoint); zero is off.
	Tracing tracing.Config
	// StatsInterval is how often the edge and dispatcher report their
	// traffic counters to the control plane (0: its default).
	StatsInterval time.Duration
}

// Run starts everything, prints the addresses and "ready" to out once the
// edge and dispatcher hold their first configuration, and runs until ctx
// ends or a part fails.
func Run(ctx context.Context, cfg Config, log *slog.Logger, out io.Writer) (err error) {
	// Flags first: a bad one fails before anything starts.
	if err := cfg.Tracing.Validate(); err != nil {
		return err
	}
	if err := prepareDataDir(cfg.DataDir); err != nil {
		return err
	}
	lock, err := lockDataDir(cfg.DataDir)
	if err != nil {
		return err
	}
	defer lock.Close()
	file := func(name string) string { return filepath.Join(cfg.DataDir, name) }
	edgeToken, err := nodeToken(file(edgeTokenFile))
	if err != nil {
		return err
	}
	dispatcherToken, err := nodeToken(file(dispatcherTokenFile))
	if err != nil {
		return err
	}
	natsPub, err := natsUser(file(NATSUserFile))
	if err != nil {
		return err
	}
	var (
		etcdURLs []string
		natsURL  string
		etcdErr  <-chan error // a lone member's failure stops dev
	)
	streams := natsconn.DefaultStreams()
	if cfg.StreamMaxAge != 0 {
		streams.MaxAge = cfg.StreamMaxAge
	}
	if cfg.AttemptsMaxAge != 0 {
		streams.AttemptsMaxAge = cfg.AttemptsMaxAge
	}
	if _, err := streams.Config(); err != nil {
		return err
	}
	if cfg.Cluster > 1 {
		layout, err := embedded.LoadOrCreateLayout(file("cluster.json"), cfg.Cluster)
		if err != nil {
			return err
		}
		c, err := embedded.StartCluster(ctx, file("cluster"), layout, natsPub, cfg.NATSSync, log)
		if err != nil {
			return err
		}
		defer c.Close()
		etcdURLs, natsURL = c.EtcdURLs, c.NATSURL
		streams.Replicas = min(cfg.Cluster, 5)
	} else {
		etcd, etcdURL, err := embedded.EtcdMember{
			Name: "hookgate-dev", Dir: file("etcd"), ClientAddr: cfg.EtcdAddr, PeerAddr: cfg.EtcdPeerAddr,
			ClusterToken: "hookgate-dev-" + rand.Text(), Log: log,
		}.Start(30 * time.Second)
		if err != nil {
			return err
		}
		defer etcd.Close()
		etcdErr = etcd.Err()
		ns, err := embedded.NATSNode{Name: "hookgate-dev", Dir: file("nats"), Addr: cfg.NATSAddr, NkeyUser: natsPub, Sync: cfg.NATSSync, Log: log}.Start(10 * time.Second)
		if err != nil {
			return err
		}
		defer func() {
			ns.Shutdown()
			ns.WaitForShutdown()
		}()
		etcdURLs, natsURL = []string{etcdURL}, ns.ClientURL()
	}
	natsCfg := natsconn.Config{URL: natsURL, NkeyFile: file(NATSUserFile)}

	// Until everything has started, a failure closes what has: undo runs in
	// reverse. Once running, each part closes itself when its Run returns.
	var undo []func()
	defer func() {
		if err != nil {
			for i := len(undo) - 1; i >= 0; i-- {
				undo[i]()
			}
		}
	}()
	// Bind the public ports first: a port in use fails before anything
	// starts, and random ports (":0") are known before they are needed.
	adminLn, err := serve.Listen("admin-addr", cfg.AdminAddr)
	if err != nil {
		return err
	}
	undo = append(undo, func() { _ = adminLn.Close() })
	edgeLn, err := serve.Listen("edge-addr", cfg.EdgeAddr)
	if err != nil {
		return err
	}
	undo = append(undo, func() { _ = edgeLn.Close() })
	publicURL := cfg.PublicURL
	if publicURL == "" {
		scheme := "http://"
		if cfg.ListenTLSCert != "" {
			scheme = "https://"
		}
		publicURL = scheme + edgeLn.Addr().String()
	}

	reg := serve.NewRegistry()
	tokenFile := file(adminTokenFile)
	cp, err := controlplane.Start(ctx, controlplane.Config{
		Listener:           adminLn,
		EtcdEndpoints:      etcdURLs,
		EtcdDialTimeout:    5 * time.Second,
		EtcdLogger:         logs.Zap(log, "etcd-client", zapcore.WarnLevel),
		NATS:               natsCfg,
		BootstrapTokenFile: tokenFile,
		KeyringFile:        file(keyringFile),
		CreateKeyring:      true,
		PublicURL:          publicURL,
		KeySweepInterval:   time.Minute,
		EdgeToken:          edgeToken,
		DispatcherToken:    dispatcherToken,
		ConfigSendTimeout:  30 * time.Second,
		CallTimeout:        controlplane.DefaultCallTimeout,
		ReadTimeout:        controlplane.DefaultReadTimeout,
		StatsInterval:      cfg.StatsInterval,
		Tracing:            cfg.Tracing,
	}, log, reg)
	if err != nil {
		return err
	}
	undo = append(undo, cp.Close)
	e, err := edge.Start(ctx, edge.Config{
		Listener:       edgeLn,
		ListenTLSCert:  cfg.ListenTLSCert,
		ListenTLSKey:   cfg.ListenTLSKey,
		PublishTimeout: 5 * time.Second,
		PublicURL:      publicURL,
		Sync:           configsync.Config{ControlPlaneURL: cp.URL(), NodeID: "dev-edge", NodeToken: edgeToken},
		NATS:           natsCfg,
		Streams:        streams,
		Tracing:        cfg.Tracing,
	}, log, reg)
	if err != nil {
		return err
	}
	undo = append(undo, e.Close)
	d, err := dispatcher.Start(ctx, dispatcher.Config{
		Sync:    configsync.Config{ControlPlaneURL: cp.URL(), NodeID: "dev-dispatcher", NodeToken: dispatcherToken},
		NATS:    natsCfg,
		Streams: streams,
		// Dev delivers to receivers on this machine (DESIGN.md: loopback
		// only when allow-listed).
		AllowPrivateCIDRs:      []string{"127.0.0.1/32"},
		RetryTimeScale:         cfg.RetryTimeScale,
		AutoDisableAfter:       cfg.AutoDisableAfter,
		AutoDisableMinAttempts: cfg.AutoDisableMinAttempts,
		Resolver:               cfg.Resolver,
		Tracing:                cfg.Tracing,
	}, log, reg)
	if err != nil {
		return err
	}
	undo = append(undo, d.Close)
	ops, err := serve.ListenHTTP("dev ops", "ops-addr", cfg.OpsAddr, serve.HealthMux(nil, append(e.Checks(), d.Checks()...), reg), serve.AdminLimits, log)
	if err != nil {
		return err
	}

	undo = nil // the parts' Run now own their cleanup
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return cp.Run(gctx) })
	g.Go(func() error { return e.Run(gctx) })
	g.Go(func() error { return d.Run(gctx) })
	g.Go(func() error { return ops.Run(gctx) })
	// etcd stops on its own when its disk fails: say so and stop the rest.
	g.Go(func() error {
		select {
		case err := <-etcdErr:
			log.Error("embedded etcd stopped", "err", err)
			return fmt.Errorf("embedded etcd: %w", err)
		case <-gctx.Done():
			return nil
		}
	})

	// "ready" means what /readyz means: the edge and the dispatcher hold
	// their first configuration from the control plane.
	if waitConfigured(gctx, e.Table(), d.Table()) {
		fmt.Fprintf(out, `Hookgate dev is running (data in %s)
  admin API    %s   (gRPC, gRPC-Web, Connect JSON; /readyz, /metrics)
  console      %s   (web console; sign in with the admin token)
  edge         %s   (POST /in/{tenant}/{webhook_id}; /readyz)
  ops          %s   (edge and dispatcher /readyz, /metrics)
  etcd         %s
  NATS         %s   (nkey user, seed in %s; streams R%d)
  admin token  %s   (saved in %s)
ready
`, cfg.DataDir, cp.URL(), cp.ConsoleURL(), e.URL(), ops.URL(), strings.Join(etcdURLs, ","), natsCfg.URL, natsCfg.NkeyFile, streams.Replicas, cp.Token(), tokenFile)
	}
	err = g.Wait()
	log.Info("hookgate dev stopped")
	return err
}

// waitConfigured waits until every table holds a configuration; false when
// ctx ended first.
func waitConfigured(ctx context.Context, tables ...*configsync.Table) bool {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		ok := true
		for _, tb := range tables {
			ok = ok && tb.Status().HaveConfig
		}
		if ok {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
}
