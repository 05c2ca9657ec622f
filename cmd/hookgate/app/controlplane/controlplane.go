package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"github.com/hookgate/hookgate/controlplane/admin"
	"github.com/hookgate/hookgate/controlplane/distribute"
	"github.com/hookgate/hookgate/controlplane/failures"
	"github.com/hookgate/hookgate/controlplane/leader"
	"github.com/hookgate/hookgate/controlplane/secrets"
	"github.com/hookgate/hookgate/controlplane/store"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"
)

// controlPlaneConfig is what the control plane needs to start.
type controlPlaneConfig struct {
	listenAddr string
	// listener, when set, is already bound to listenAddr (hookgate dev binds
	// early to learn random ports).
	listener net.Listener
	// listenFlag names the flag that set listenAddr, for errors.
	listenFlag      string
	etcdEndpoints   []string
	etcdDialTimeout time.Duration
	// etcdCA, etcdCert and etcdKey secure the etcd connection (https://).
	etcdCA, etcdCert, etcdKey string
	natsURL                   string
	bootstrapTokenFile        string
	// keyringFile holds the JSON keyring; keyringJSON is the same inline
	// (best given as HOOKGATE_KEYRING). createKeyring makes the file when it
	// is missing (hookgate dev only).
	keyringFile   string
	keyringJSON   string
	createKeyring bool
	// publicURL is the edge's public base URL that webhook URLs start with.
	publicURL        string
	keySweepInterval time.Duration
	// nodeToken authenticates data-plane nodes on the config stream.
	nodeToken string
	// tlsCert and tlsKey serve the admin port over TLS; tlsClientCA
	// verifies node client certificates (mTLS).
	tlsCert, tlsKey, tlsClientCA string
	// allowPlaintext permits cleartext on a non-loopback address.
	allowPlaintext    bool
	replicaID         string
	configSendTimeout time.Duration
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
	if c.keyringFile == "" && c.keyringJSON == "" {
		return fmt.Errorf("flag --keyring-file or environment HOOKGATE_KEYRING: a keyring is required to encrypt provider secrets")
	}
	if u, err := url.Parse(c.publicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return fmt.Errorf("flag --public-url %q: want the edge's public base URL, e.g. https://hooks.example.com", c.publicURL)
	}
	if c.keySweepInterval <= 0 {
		return fmt.Errorf("flag --key-sweep-interval %s: must be positive", c.keySweepInterval)
	}
	if (c.tlsCert == "") != (c.tlsKey == "") {
		return fmt.Errorf("flags --tls-cert and --tls-key: give both or neither")
	}
	if c.tlsClientCA != "" && c.tlsCert == "" {
		return fmt.Errorf("flag --tls-client-ca: needs --tls-cert and --tls-key")
	}
	// Node tokens and provider secrets cross this port: cleartext only on
	// loopback unless the operator says the network is trusted.
	if c.tlsCert == "" && !c.allowPlaintext && !loopbackAddr(c.listenAddrOf()) {
		return fmt.Errorf("flag --%s %q: cleartext on a non-loopback address needs --tls-cert/--tls-key or --allow-plaintext", c.listenFlag, c.listenAddrOf())
	}
	if c.nodeToken == "" && c.tlsClientCA == "" && !loopbackAddr(c.listenAddrOf()) {
		return fmt.Errorf("flag --node-token (or HOOKGATE_NODE_TOKEN): required when the control plane listens beyond loopback without --tls-client-ca")
	}
	return nil
}

func (c controlPlaneConfig) listenAddrOf() string {
	if c.listener != nil {
		return c.listener.Addr().String()
	}
	return c.listenAddr
}

// loopbackAddr reports whether host:port names a loopback address.
func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// etcdTLS is the client TLS of the etcd connection, nil without files.
func (c controlPlaneConfig) etcdTLS() (*tls.Config, error) {
	if c.etcdCA == "" && c.etcdCert == "" && c.etcdKey == "" {
		return nil, nil
	}
	info := transport.TLSInfo{TrustedCAFile: c.etcdCA, CertFile: c.etcdCert, KeyFile: c.etcdKey}
	cfg, err := info.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("flags --etcd-ca/--etcd-cert/--etcd-key: %w", err)
	}
	return cfg, nil
}

func (c controlPlaneConfig) tlsConfig() (*tls.Config, error) {
	if c.tlsCert == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(c.tlsCert, c.tlsKey)
	if err != nil {
		return nil, fmt.Errorf("flags --tls-cert/--tls-key: %w", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if c.tlsClientCA != "" {
		pem, err := os.ReadFile(c.tlsClientCA)
		if err != nil {
			return nil, fmt.Errorf("flag --tls-client-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("flag --tls-client-ca %s: no PEM certificate", c.tlsClientCA)
		}
		// Admin clients authenticate with tokens and send no certificate;
		// nodes present one signed by this CA.
		cfg.ClientCAs, cfg.ClientAuth = pool, tls.VerifyClientCertIfGiven
	}
	return cfg, nil
}

func (c controlPlaneConfig) keyring() (*secrets.Keyring, error) {
	switch {
	case c.keyringJSON != "":
		k, err := secrets.ParseKeyring([]byte(c.keyringJSON))
		if err != nil {
			return nil, fmt.Errorf("environment HOOKGATE_KEYRING: %w", err)
		}
		return k, nil
	case c.createKeyring:
		return secrets.LoadOrCreateKeyring(c.keyringFile)
	default:
		data, err := os.ReadFile(c.keyringFile)
		if err != nil {
			return nil, fmt.Errorf("flag --keyring-file: %w", err)
		}
		k, err := secrets.ParseKeyring(data)
		if err != nil {
			return nil, fmt.Errorf("flag --keyring-file %s: %w", c.keyringFile, err)
		}
		return k, nil
	}
}

// controlPlane is a started control plane: etcd and NATS reached, admin port
// bound, bootstrap token in place.
type controlPlane struct {
	dist   *distribute.Distributor
	cfg    controlPlaneConfig
	log    *slog.Logger
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
	// Local files first: bad input fails before anything is dialled.
	keyring, err := cfg.keyring()
	if err != nil {
		return nil, fmt.Errorf("controlplane: %w", err)
	}
	tlsCfg, err := cfg.tlsConfig()
	if err != nil {
		return nil, fmt.Errorf("controlplane: %w", err)
	}
	etcdTLS, err := cfg.etcdTLS()
	if err != nil {
		return nil, fmt.Errorf("controlplane: %w", err)
	}
	clock := systemClock{}
	cp := &controlPlane{cfg: cfg, log: log}
	defer func() {
		if err != nil {
			cp.close()
		}
	}()
	cp.etcd, err = clientv3.New(clientv3.Config{
		Endpoints:   cfg.etcdEndpoints,
		DialTimeout: cfg.etcdDialTimeout,
		TLS:         etcdTLS,
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
	js, err := jetstream.New(cp.nc)
	if err != nil {
		return nil, fmt.Errorf("controlplane: jetstream: %w", err)
	}
	if cfg.bootstrapTokenFile != "" {
		cp.token, cp.minted, err = admin.BootstrapToken(ctx, cp.store, cfg.bootstrapTokenFile, clock.Now())
		if err != nil {
			return nil, fmt.Errorf("controlplane: %w", err)
		}
		if cp.minted {
			log.Info("bootstrap platform token created", "file", cfg.bootstrapTokenFile)
		}
	}

	checks := cp.checks()
	replica := cfg.replicaID
	if replica == "" {
		replica = defaultNodeID("controlplane")
	}
	cp.dist, err = distribute.New(distribute.Config{ReplicaID: replica, NodeToken: cfg.nodeToken, SendTimeout: cfg.configSendTimeout},
		cp.etcd, keyring, log, reg, clock)
	if err != nil {
		return nil, fmt.Errorf("controlplane: %w", err)
	}
	mux := admin.NewHandler(admin.Services{
		Tenants:     admin.NewTenantService(cp.store, clock, log),
		Webhooks:    admin.NewWebhookService(cp.store, keyring, clock, log, cfg.publicURL, failures.NewReader(js)),
		Edges:       cp.dist,
		ConfigNodes: cp.dist,
	}, admin.NewAuthenticator(cp.store, log).Wrap, healthChecker{checks: checks},
		connect.WithCompressMinBytes(1024), connect.WithReadMaxBytes(4<<20))
	healthMux(mux, checks, reg)
	if cfg.listener == nil {
		if cfg.listener, err = listen(cfg.listenFlag, cfg.listenAddr); err != nil {
			return nil, fmt.Errorf("controlplane: %w", err)
		}
	}
	var handler http.Handler = mux
	if tlsCfg != nil {
		handler = distribute.WithVerifiedClientCert(handler)
	}
	// Outermost, so a node that stops reading cannot hold its stream's
	// handler forever.
	handler = distribute.WithSendDeadlines(handler)
	cp.admin = serveOn("controlplane", cfg.listener, handler, adminLimits, log)
	cp.admin.tls = tlsCfg
	log.Info("control plane started", "admin", cp.admin.URL(), "etcd", cfg.etcdEndpoints)
	return cp, nil
}

func (cp *controlPlane) checks() []check {
	return []check{
		{name: "etcd", fn: func(ctx context.Context) (string, error) { return "", cp.store.Ping(ctx) }},
		natsCheck(cp.nc),
	}
}

// Run serves the admin API until ctx ends, then closes the connections.
func (cp *controlPlane) Run(ctx context.Context) error {
	defer cp.close()
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return cp.admin.Run(ctx) })
	g.Go(func() error { return cp.dist.Run(ctx) })
	g.Go(func() error {
		id, _ := os.Hostname()
		return leader.Run(ctx, cp.etcd, "key-sweeper", fmt.Sprintf("%s/%d", id, os.Getpid()), cp.log, cp.sweepKeys)
	})
	return g.Wait()
}

// sweepKeys removes previous API keys whose grace period ended; it runs on
// the elected replica only. The edge also ignores expired keys itself, so the
// sweep only tidies storage and the fleet's configuration.
func (cp *controlPlane) sweepKeys(ctx context.Context) {
	t := time.NewTicker(cp.cfg.keySweepInterval)
	defer t.Stop()
	for {
		n, err := cp.store.ExpirePreviousKeys(ctx, time.Now())
		switch {
		case err != nil && ctx.Err() == nil:
			cp.log.Warn("expire previous keys", "err", err)
		case n > 0:
			cp.log.Info("expired previous keys", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// systemClock is the real clock.
type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

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
	fs.StringVar(&cfg.etcdCA, "etcd-ca", "", "CA (PEM) of the etcd servers' certificates")
	fs.StringVar(&cfg.etcdCert, "etcd-cert", "", "client certificate (PEM) for etcd")
	fs.StringVar(&cfg.etcdKey, "etcd-key", "", "client key (PEM) for etcd")
	fs.StringVar(&cfg.natsURL, "nats-url", nats.DefaultURL, "NATS server URLs, comma separated")
	fs.StringVar(&cfg.keyringFile, "keyring-file", "", "JSON keyring that encrypts provider and signing secrets at rest")
	fs.StringVar(&cfg.keyringJSON, "keyring", "", "the keyring JSON itself; prefer the environment variable HOOKGATE_KEYRING")
	fs.StringVar(&cfg.publicURL, "public-url", "http://127.0.0.1:8080", "the edges' public base URL, as providers call it")
	fs.DurationVar(&cfg.keySweepInterval, "key-sweep-interval", time.Minute, "how often expired previous API keys are removed")
	fs.StringVar(&cfg.nodeToken, "node-token", "", "shared token data-plane nodes present on the config stream (prefer HOOKGATE_NODE_TOKEN)")
	fs.StringVar(&cfg.tlsCert, "tls-cert", "", "serve the admin port over TLS with this certificate (PEM)")
	fs.StringVar(&cfg.tlsKey, "tls-key", "", "key (PEM) of --tls-cert")
	fs.StringVar(&cfg.tlsClientCA, "tls-client-ca", "", "CA (PEM) that signs node client certificates (mTLS)")
	fs.BoolVar(&cfg.allowPlaintext, "allow-plaintext", false, "allow cleartext on a non-loopback address (trusted networks only)")
	fs.DurationVar(&cfg.configSendTimeout, "config-send-timeout", distribute.DefaultSendTimeout, "end a node's config stream when one update cannot be sent within this time")
	fs.StringVar(&cfg.replicaID, "replica-id", "", "this replica's name in the fleet view (default: host name and pid)")
	fs.StringVar(&cfg.bootstrapTokenFile, "bootstrap-token-file", "", "file holding the bootstrap platform admin token; created (mode 0600) with a new token when missing")
	logs.register(fs, "json")
	return cmd
}
