package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/hookgate/hookgate/cmd/hookgate/app/controlplane"
	"github.com/hookgate/hookgate/cmd/hookgate/app/dev"
	"github.com/hookgate/hookgate/cmd/hookgate/app/dispatcher"
	"github.com/hookgate/hookgate/cmd/hookgate/app/edge"
	"github.com/hookgate/hookgate/cmd/hookgate/app/embedded"
	"github.com/hookgate/hookgate/cmd/hookgate/app/logs"
	"github.com/hookgate/hookgate/cmd/hookgate/app/natsconn"
	"github.com/hookgate/hookgate/cmd/hookgate/app/serve"
	"github.com/hookgate/hookgate/controlplane/distribute"
	"github.com/hookgate/hookgate/dataplane/configsync"
	"github.com/hookgate/hookgate/dataplane/dispatch"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.uber.org/zap/zapcore"
)

func newDevCommand() *cobra.Command {
	var (
		cfg      dev.Config
		logs     logFlags
		natsSync string
	)
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run everything in one process: embedded etcd and NATS, control plane, edge and dispatcher",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := logs.logger()
			if err != nil {
				return err
			}
			if cfg.NATSSync, err = embedded.ParseSync(natsSync); err != nil {
				return err
			}
			return dev.Run(cmd.Context(), cfg, log, cmd.OutOrStdout())
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&cfg.DataDir, "data-dir", ".hookgate", "folder for etcd, NATS, keyring and credentials; reused across restarts")
	fs.StringVar(&cfg.AdminAddr, "admin-addr", "127.0.0.1:8070", "admin API address")
	fs.StringVar(&cfg.EdgeAddr, "edge-addr", "127.0.0.1:8080", "edge ingress address")
	fs.StringVar(&cfg.OpsAddr, "ops-addr", "127.0.0.1:8090", "ops address of the edge and dispatcher (/healthz, /readyz, /metrics)")
	fs.StringVar(&cfg.EtcdAddr, "etcd-addr", "127.0.0.1:2379", "embedded etcd client address")
	fs.StringVar(&cfg.EtcdPeerAddr, "etcd-peer-addr", "127.0.0.1:2380", "embedded etcd peer address")
	fs.StringVar(&cfg.NATSAddr, "nats-addr", "127.0.0.1:4222", "embedded NATS address")
	fs.StringVar(&cfg.PublicURL, "public-url", "", "the edge's public base URL in webhook URLs (default: the edge address)")
	fs.StringVar(&cfg.ListenTLSCert, "listen-tls-cert", "", "serve the edge over HTTPS (HTTP/2 by ALPN) with this certificate (PEM), reloaded when the file changes")
	fs.StringVar(&cfg.ListenTLSKey, "listen-tls-key", "", "key (PEM) of --listen-tls-cert")
	fs.Float64Var(&cfg.RetryTimeScale, "retry-time-scale", 1, "multiply every retry delay by this factor (more than 0, at most 1; e.g. 0.001 in tests)")
	fs.DurationVar(&cfg.AutoDisableAfter, "auto-disable-after", dispatch.DefaultAutoDisableAfter, "disable an endpoint (reason auto) that failed every attempt for this long")
	fs.IntVar(&cfg.AutoDisableMinAttempts, "auto-disable-min-attempts", dispatch.DefaultAutoDisableMinAttempts, "failed attempts the auto-disable span must hold at least")
	fs.IntVar(&cfg.Cluster, "cluster", 1, "etcd members and NATS nodes to run (3, 5 or 7: a cluster on this machine, streams R3 or R5)")
	fs.DurationVar(&cfg.StreamMaxAge, "stream-max-age", natsconn.DefaultStreams().MaxAge, "how long streams keep events")
	fs.DurationVar(&cfg.AttemptsMaxAge, "attempts-max-age", natsconn.DefaultStreams().AttemptsMaxAge, "how long delivery attempts and delivery states are kept")
	fs.StringVar(&natsSync, "nats-sync", "default", "how often the embedded JetStream fsyncs: default (2m), always, or a duration")
	fs.StringVar(&cfg.Resolver, "resolver", "", "DNS server (host:port) that resolves endpoint names; default the system's (the address policy checks resolved addresses either way)")
	fs.DurationVar(&cfg.StatsInterval, "stats-interval", distribute.DefaultStatsInterval, "how often the edge and dispatcher report their traffic counters (hookgate nodes, the console's chart); at least 1s")
	registerTracingFlags(fs, &cfg.Tracing)
	logs.register(fs, "text")
	return cmd
}

func newControlPlaneCommand() *cobra.Command {
	var (
		cfg = controlplane.Config{ListenFlag: "listen-addr"}
		lf  logFlags
	)
	cmd := serverCommand("controlplane", "Run a control-plane replica against an etcd cluster and a NATS cluster", &lf,
		func(ctx context.Context, log *slog.Logger, reg *prometheus.Registry) (runner, error) {
			cfg.EtcdLogger = logs.Zap(log, "etcd-client", zapcore.WarnLevel)
			return controlplane.Start(ctx, cfg, log, reg)
		})
	fs := cmd.Flags()
	fs.StringVar(&cfg.ListenAddr, "listen-addr", "127.0.0.1:8070", "admin API address (gRPC, gRPC-Web, Connect; /healthz, /readyz, /metrics)")
	fs.StringSliceVar(&cfg.EtcdEndpoints, "etcd-endpoints", []string{"http://127.0.0.1:2379"}, "etcd client URLs, comma separated")
	fs.DurationVar(&cfg.EtcdDialTimeout, "etcd-dial-timeout", 5*time.Second, "how long to wait for etcd at start-up")
	fs.StringVar(&cfg.EtcdCA, "etcd-ca", "", "CA (PEM) of the etcd servers' certificates")
	fs.StringVar(&cfg.EtcdCert, "etcd-cert", "", "client certificate (PEM) for etcd")
	fs.StringVar(&cfg.EtcdKey, "etcd-key", "", "client key (PEM) for etcd")
	cfg.NATS.RegisterFlags(fs)
	fs.StringVar(&cfg.KeyringFile, "keyring-file", "", "JSON keyring that encrypts provider and signing secrets at rest")
	fs.StringVar(&cfg.KeyringJSON, "keyring", "", "the keyring JSON itself; prefer the environment variable HOOKGATE_KEYRING")
	fs.StringVar(&cfg.PublicURL, "public-url", "http://127.0.0.1:8080", "the edges' public base URL, as providers call it")
	fs.DurationVar(&cfg.KeySweepInterval, "key-sweep-interval", time.Minute, "how often expired previous API keys are removed")
	fs.StringVar(&cfg.EdgeToken, "edge-token", "", "token edges present on the config stream; it may ask for the edge role only (prefer HOOKGATE_EDGE_TOKEN)")
	fs.StringVar(&cfg.DispatcherToken, "dispatcher-token", "", "token dispatchers present on the config stream; it may ask for the dispatcher role only (prefer HOOKGATE_DISPATCHER_TOKEN)")
	fs.StringVar(&cfg.NodeToken, "node-token", "", "one token for every role (weaker than per-role tokens; prefer HOOKGATE_NODE_TOKEN)")
	fs.StringVar(&cfg.TLSCert, "tls-cert", "", "serve the admin port over TLS with this certificate (PEM), reloaded when the file changes")
	fs.StringVar(&cfg.TLSKey, "tls-key", "", "key (PEM) of --tls-cert")
	fs.StringVar(&cfg.TLSClientCA, "tls-client-ca", "", "require client certificates signed by this CA (PEM) from every caller (mTLS); nodes' certificates name their role in OU")
	fs.BoolVar(&cfg.AllowPlaintext, "allow-plaintext", false, "allow cleartext on a non-loopback address (trusted networks only)")
	fs.DurationVar(&cfg.ConfigSendTimeout, "config-send-timeout", distribute.DefaultSendTimeout, "end a node's config stream when one update cannot be sent within this time")
	fs.DurationVar(&cfg.ConfigReadyTimeout, "config-ready-timeout", distribute.DefaultReadyTimeout, "answer a node Unavailable when this replica's configuration has not loaded within this time (etcd unreachable, or still loading), so it tries another")
	fs.DurationVar(&cfg.StatsInterval, "stats-interval", distribute.DefaultStatsInterval, "how often nodes report their traffic counters (Node.traffic in the fleet view); announced to each node, at least 1s")
	fs.DurationVar(&cfg.CallTimeout, "call-timeout", controlplane.DefaultCallTimeout, "deadline of every admin call (a client's shorter deadline wins)")
	fs.DurationVar(&cfg.ReadTimeout, "read-timeout", controlplane.DefaultReadTimeout, "time to read an admin request in full (not the config stream)")
	fs.StringVar(&cfg.ReplicaID, "replica-id", "", "this replica's name in the fleet view (default: host name and pid)")
	fs.StringVar(&cfg.BootstrapTokenFile, "bootstrap-token-file", "", "file holding the bootstrap platform admin token; created (mode 0600) with a new token when missing")
	registerTracingFlags(fs, &cfg.Tracing)
	lf.register(fs, "json")
	return cmd
}

func newEdgeCommand() *cobra.Command {
	var (
		cfg          = edge.Config{ListenFlag: "listen-addr"}
		lf           logFlags
		sync         syncFlags
		shard        string
		shardTenants []string
	)
	cmd := serverCommand("edge", "Run an edge node: receive inbound webhooks and publish them to JetStream", &lf,
		func(ctx context.Context, log *slog.Logger, reg *prometheus.Registry) (runner, error) {
			cfg.Sync = sync.config()
			var err error
			if cfg.Shard, err = edge.ParseShard(shard, shardTenants); err != nil {
				return nil, err
			}
			return edge.Start(ctx, cfg, log, reg)
		})
	fs := cmd.Flags()
	fs.StringVar(&cfg.ListenAddr, "listen-addr", "127.0.0.1:8080", "public ingress address")
	fs.StringVar(&cfg.ListenTLSCert, "listen-tls-cert", "", "serve the public port over HTTPS (HTTP/2 by ALPN) with this certificate (PEM), reloaded when the file changes")
	fs.StringVar(&cfg.ListenTLSKey, "listen-tls-key", "", "key (PEM) of --listen-tls-cert")
	fs.StringVar(&cfg.OpsAddr, "ops-addr", "127.0.0.1:8081", "ops address for /healthz, /readyz and /metrics")
	fs.DurationVar(&cfg.PublishTimeout, "publish-timeout", 5*time.Second, "how long to wait for JetStream to acknowledge before answering 503")
	fs.StringVar(&cfg.PublicURL, "public-url", "", "the edges' public base URL as providers call it (URL-signing providers sign it; default: each request's scheme and Host)")
	fs.StringSliceVar(&cfg.TrustedProxies, "trusted-proxies", nil, "CIDRs of load balancers whose X-Forwarded-Proto and X-Forwarded-Host are believed, comma separated")
	fs.Int64Var(&cfg.MaxInflightBytes, "max-inflight-bytes", 256<<20, "bytes of bodies and envelopes calls in flight may hold; past it the edge answers 503 with Retry-After")
	fs.StringVar(&shard, "shard", "", "serve only shard N/M (from 0) of a hash of the tenant slugs, e.g. 0/4; other tenants get 421 (docs/design.md, \"Sharded edges\")")
	fs.StringSliceVar(&shardTenants, "shard-tenants", nil, "serve only these tenants, comma separated; others get 421 (not with --shard)")
	registerTracingFlags(fs, &cfg.Tracing)
	registerNodeFlags(fs, "edge", &sync, &cfg.NATS, &cfg.Streams, &lf)
	return cmd
}

func newDispatcherCommand() *cobra.Command {
	var (
		cfg  dispatcher.Config
		lf   logFlags
		sync syncFlags
	)
	cmd := serverCommand("dispatcher", "Run a dispatcher: deliver outbound messages to endpoints", &lf,
		func(ctx context.Context, log *slog.Logger, reg *prometheus.Registry) (runner, error) {
			cfg.Sync = sync.config()
			return dispatcher.Start(ctx, cfg, log, reg)
		})
	fs := cmd.Flags()
	fs.StringVar(&cfg.OpsAddr, "ops-addr", "127.0.0.1:8082", "ops address for /healthz, /readyz and /metrics")
	fs.StringSliceVar(&cfg.AllowPrivateCIDRs, "allow-private-cidrs", nil, "CIDR prefixes endpoints may resolve to although private or loopback, comma separated (cloud metadata addresses only when named exactly)")
	fs.Float64Var(&cfg.RetryTimeScale, "retry-time-scale", 1, "multiply every retry delay by this factor (more than 0, at most 1; for tests)")
	fs.IntVar(&cfg.Workers, "dispatch-workers", dispatch.DefaultWorkers, "attempts this dispatcher makes at once (each endpoint at most three quarters of them, one while it fails)")
	fs.DurationVar(&cfg.AckWait, "ack-wait", dispatch.DefaultAckWait, "how long work a dispatcher took may go unacknowledged before another dispatcher takes it over (1s to 10m; the same on every dispatcher)")
	fs.StringVar(&cfg.Resolver, "resolver", "", "DNS server (host:port) that resolves endpoint names; default the system's (the address policy checks resolved addresses either way)")
	fs.DurationVar(&cfg.AutoDisableAfter, "auto-disable-after", dispatch.DefaultAutoDisableAfter, "disable an endpoint (reason auto) that failed every attempt for this long")
	fs.IntVar(&cfg.AutoDisableMinAttempts, "auto-disable-min-attempts", dispatch.DefaultAutoDisableMinAttempts, "failed attempts the auto-disable span must hold at least")
	registerTracingFlags(fs, &cfg.Tracing)
	registerNodeFlags(fs, "dispatcher", &sync, &cfg.NATS, &cfg.Streams, &lf)
	return cmd
}

// runner is a started part.
type runner interface {
	Run(ctx context.Context) error
}

// serverCommand is a command that starts one part and runs it until the
// process is signalled.
func serverCommand(use, short string, lf *logFlags, start func(context.Context, *slog.Logger, *prometheus.Registry) (runner, error)) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := lf.logger()
			if err != nil {
				return err
			}
			p, err := start(cmd.Context(), log, serve.NewRegistry())
			if err != nil {
				return err
			}
			return p.Run(cmd.Context())
		},
	}
}

// registerNodeFlags adds the flags every data-plane node takes.
func registerNodeFlags(fs *pflag.FlagSet, role string, sync *syncFlags, nc *natsconn.Config, st *natsconn.Streams, lf *logFlags) {
	sync.register(fs, role)
	nc.RegisterFlags(fs)
	st.RegisterFlags(fs)
	lf.register(fs, "json")
}

// syncFlags configure a node's config stream.
type syncFlags struct {
	cfg  configsync.Config
	urls []string
}

func (s *syncFlags) register(fs *pflag.FlagSet, role string) {
	c := &s.cfg
	fs.StringSliceVar(&s.urls, "control-plane", []string{"http://127.0.0.1:8070"}, "control-plane URLs for the config stream, comma separated; the node moves to the next when one fails")
	fs.DurationVar(&c.FirstResponseTimeout, "config-first-response-timeout", configsync.DefaultFirstResponseTimeout, "leave a control plane that sends no configuration within this time for the next")
	fs.StringVar(&c.NodeID, "node-id", serve.DefaultNodeID(role), "this node's name in the fleet view")
	fs.StringVar(&c.NodeToken, "node-token", "", "this node's token for the config stream: the control plane's --"+role+"-token or --node-token (prefer HOOKGATE_NODE_TOKEN)")
	fs.StringVar(&c.CAFile, "control-plane-ca", "", "PEM CA that signs the control plane's certificate (https:// URLs)")
	fs.StringVar(&c.CertFile, "tls-cert", "", "client certificate (PEM) for mTLS to the control plane; its OU names the role")
	fs.StringVar(&c.KeyFile, "tls-key", "", "client key (PEM) for mTLS to the control plane")
	fs.BoolVar(&c.AllowPlaintext, "allow-plaintext", false, "allow http:// to a control plane that is not on loopback (trusted networks only)")
	fs.StringVar(&c.CacheFile, "config-cache-file", "", "keep the last configuration in this file (mode 0600; holds provider secrets) to serve after a restart while the control plane is down")
}

func (s *syncFlags) config() configsync.Config {
	c := s.cfg
	if len(s.urls) > 0 {
		c.ControlPlaneURL, c.ControlPlaneURLs = s.urls[0], s.urls[1:]
	}
	return c
}
