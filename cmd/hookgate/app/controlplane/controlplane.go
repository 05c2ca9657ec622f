// Package controlplane wires a control-plane replica: it reaches etcd and
// NATS, loads the keyring and the bootstrap token, and serves the admin API
// and the config stream on one port, with the key sweep under an etcd
// election. hookgate controlplane and hookgate dev both run it; tests start
// the same wiring.
package controlplane

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"github.com/hookgate/hookgate/cmd/hookgate/app/natsconn"
	"github.com/hookgate/hookgate/cmd/hookgate/app/serve"
	"github.com/hookgate/hookgate/controlplane/admin"
	"github.com/hookgate/hookgate/controlplane/console"
	"github.com/hookgate/hookgate/controlplane/distribute"
	"github.com/hookgate/hookgate/controlplane/failures"
	"github.com/hookgate/hookgate/controlplane/leader"
	"github.com/hookgate/hookgate/controlplane/outbound"
	"github.com/hookgate/hookgate/controlplane/replay"
	"github.com/hookgate/hookgate/controlplane/rest"
	"github.com/hookgate/hookgate/controlplane/secrets"
	"github.com/hookgate/hookgate/controlplane/store"
	"github.com/hookgate/hookgate/controlplane/tail"
	"github.com/hookgate/hookgate/dataplane/tracing"
	"github.com/hookgate/hookgate/gen/hookgate/v1/hookgatev1connect"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"
)

// Config is what a control-plane replica needs to start. The flag names in
// errors are those of hookgate controlplane.
type Config struct {
	ListenAddr string
	// Listener, when set, is already bound to ListenAddr (hookgate dev
	// binds early to learn random ports).
	Listener net.Listener
	// ListenFlag names the flag that set ListenAddr, for errors.
	ListenFlag      string
	EtcdEndpoints   []string
	EtcdDialTimeout time.Duration
	// EtcdCA, EtcdCert and EtcdKey secure the etcd connection (https://).
	EtcdCA, EtcdCert, EtcdKey string
	// EtcdLogger receives the etcd client's log; nil discards it.
	EtcdLogger         *zap.Logger
	NATS               natsconn.Config
	BootstrapTokenFile string
	// KeyringFile holds the JSON keyring; KeyringJSON is the same inline
	// (best given as HOOKGATE_KEYRING). CreateKeyring makes the file when
	// it is missing (hookgate dev only).
	KeyringFile   string
	KeyringJSON   string
	CreateKeyring bool
	// PublicURL is the edge's public base URL that webhook URLs start with.
	PublicURL        string
	KeySweepInterval time.Duration
	// EdgeToken and DispatcherToken are the per-role node credentials of
	// the config stream; NodeToken is one shared by both roles (weaker).
	EdgeToken, DispatcherToken, NodeToken string
	// TLSCert and TLSKey serve the admin port over TLS; TLSClientCA makes
	// it require client certificates it verifies (mTLS) from every caller.
	TLSCert, TLSKey, TLSClientCA string
	// AllowPlaintext permits cleartext on a non-loopback address.
	AllowPlaintext    bool
	ReplicaID         string
	ConfigSendTimeout time.Duration
	// ConfigReadyTimeout bounds a node's wait for this replica's view.
	ConfigReadyTimeout time.Duration
	// StatsInterval is how often nodes report their traffic counters
	// (--stats-interval); 0 is distribute's default.
	StatsInterval time.Duration
	// CallTimeout bounds every unary admin call; ReadTimeout bounds reading
	// a request (every request but the config stream).
	CallTimeout time.Duration
	ReadTimeout time.Duration
	// Tracing exports a span per admin call over OTLP (--otlp-endpoint);
	// zero is off.
	Tracing tracing.Config
}

// Validate reports unusable settings, naming the flag.
func (c Config) Validate() error {
	if len(c.EtcdEndpoints) == 0 {
		return errors.New("flag --etcd-endpoints: at least one endpoint is required")
	}
	if c.EtcdDialTimeout <= 0 {
		return fmt.Errorf("flag --etcd-dial-timeout %s: must be positive", c.EtcdDialTimeout)
	}
	if err := c.NATS.Validate(); err != nil {
		return err
	}
	if c.KeyringFile == "" && c.KeyringJSON == "" {
		return errors.New("flag --keyring-file or environment HOOKGATE_KEYRING: a keyring is required to encrypt provider secrets")
	}
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return fmt.Errorf("flag --public-url %q: want the edge's public base URL, e.g. https://hooks.example.com", c.PublicURL)
	}
	if c.KeySweepInterval <= 0 {
		return fmt.Errorf("flag --key-sweep-interval %s: must be positive", c.KeySweepInterval)
	}
	if c.CallTimeout <= 0 {
		return fmt.Errorf("flag --call-timeout %s: must be positive", c.CallTimeout)
	}
	if c.ReadTimeout <= 0 {
		return fmt.Errorf("flag --read-timeout %s: must be positive", c.ReadTimeout)
	}
	if c.StatsInterval < 0 || (c.StatsInterval > 0 && c.StatsInterval < time.Second) {
		return fmt.Errorf("flag --stats-interval %s: must be at least 1s", c.StatsInterval)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("flags --tls-cert and --tls-key: give both or neither")
	}
	if c.TLSClientCA != "" && c.TLSCert == "" {
		return errors.New("flag --tls-client-ca: needs --tls-cert and --tls-key")
	}
	// Node tokens and provider secrets cross this port: cleartext only on
	// loopback unless the operator says the network is trusted.
	if c.TLSCert == "" && !c.AllowPlaintext && !serve.Loopback(c.listenAddr()) {
		return fmt.Errorf("flag --%s %q: cleartext on a non-loopback address needs --tls-cert/--tls-key or --allow-plaintext", c.ListenFlag, c.listenAddr())
	}
	// The config stream carries decrypted secrets: it never admits a
	// caller without a credential, on loopback included (DESIGN.md).
	tokens := c.EdgeToken != "" || c.DispatcherToken != "" || c.NodeToken != ""
	switch {
	case c.TLSClientCA == "" && !tokens:
		return errors.New("flags --edge-token/--dispatcher-token (or --node-token), or --tls-client-ca: data-plane nodes need a credential; the config stream carries secrets")
	case c.TLSClientCA != "" && tokens:
		return errors.New("flag --tls-client-ca: nodes authenticate with their certificates; give no node tokens with it")
	}
	return nil
}

func (c Config) listenAddr() string {
	if c.Listener != nil {
		return c.Listener.Addr().String()
	}
	return c.ListenAddr
}

// etcdTLS is the client TLS of the etcd connection, nil without files.
func (c Config) etcdTLS() (*tls.Config, error) {
	if c.EtcdCA == "" && c.EtcdCert == "" && c.EtcdKey == "" {
		return nil, nil
	}
	info := transport.TLSInfo{TrustedCAFile: c.EtcdCA, CertFile: c.EtcdCert, KeyFile: c.EtcdKey}
	cfg, err := info.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("flags --etcd-ca/--etcd-cert/--etcd-key: %w", err)
	}
	return cfg, nil
}

// tlsConfig serves the admin port's certificate, reloaded when its files
// change (serve.CertReloader); nil without files.
func (c Config) tlsConfig(log *slog.Logger) (*tls.Config, error) {
	if c.TLSCert == "" {
		return nil, nil
	}
	certs, err := serve.NewCertReloader("tls-cert", "tls-key", c.TLSCert, c.TLSKey, log, nil)
	if err != nil {
		return nil, err
	}
	cfg := certs.TLSConfig()
	if c.TLSClientCA != "" {
		pem, err := os.ReadFile(c.TLSClientCA)
		if err != nil {
			return nil, fmt.Errorf("flag --tls-client-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("flag --tls-client-ca %s: no PEM certificate", c.TLSClientCA)
		}
		// Every caller presents a certificate of this CA: nodes one naming
		// their role, admin clients one of their own besides their token.
		cfg.ClientCAs, cfg.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

func (c Config) keyring() (*secrets.Keyring, error) {
	switch {
	case c.KeyringJSON != "":
		k, err := secrets.ParseKeyring([]byte(c.KeyringJSON))
		if err != nil {
			return nil, fmt.Errorf("environment HOOKGATE_KEYRING: %w", err)
		}
		return k, nil
	case c.CreateKeyring:
		return secrets.LoadOrCreateKeyring(c.KeyringFile)
	default:
		data, err := os.ReadFile(c.KeyringFile)
		if err != nil {
			return nil, fmt.Errorf("flag --keyring-file: %w", err)
		}
		k, err := secrets.ParseKeyring(data)
		if err != nil {
			return nil, fmt.Errorf("flag --keyring-file %s: %w", c.KeyringFile, err)
		}
		return k, nil
	}
}

// ControlPlane is a started replica: etcd and NATS reached, admin port
// bound, bootstrap token in place.
type ControlPlane struct {
	dist  *distribute.Distributor
	cfg   Config
	log   *slog.Logger
	etcd  *clientv3.Client
	nc    *nats.Conn
	store *store.Store
	admin *serve.Server
	token string
	// recoveries runs RecoverEndpoint jobs on the elected replica.
	recoveries *replay.Runner
	// tails serves TailEvents; Run ends them when the replica stops.
	tails   *tail.Tailer
	tracing *tracing.Tracing
}

// Start connects and binds; Run then serves. A failure closes what was
// opened.
func Start(ctx context.Context, cfg Config, log *slog.Logger, reg *prometheus.Registry) (_ *ControlPlane, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// Local files first: bad input fails before anything is dialled.
	keyring, err := cfg.keyring()
	if err != nil {
		return nil, fmt.Errorf("controlplane: %w", err)
	}
	tlsCfg, err := cfg.tlsConfig(log)
	if err != nil {
		return nil, fmt.Errorf("controlplane: %w", err)
	}
	etcdTLS, err := cfg.etcdTLS()
	if err != nil {
		return nil, fmt.Errorf("controlplane: %w", err)
	}
	clock := systemClock{}
	cp := &ControlPlane{cfg: cfg, log: log}
	defer func() {
		if err != nil {
			cp.Close()
		}
	}()
	etcdLog := cfg.EtcdLogger
	if etcdLog == nil {
		etcdLog = zap.NewNop()
	}
	cp.etcd, err = clientv3.New(clientv3.Config{
		Endpoints:   cfg.EtcdEndpoints,
		DialTimeout: cfg.EtcdDialTimeout,
		TLS:         etcdTLS,
		Logger:      etcdLog,
		Context:     ctx,
	})
	if err != nil {
		return nil, fmt.Errorf("controlplane: etcd %v: %w", cfg.EtcdEndpoints, err)
	}
	cp.store = store.New(cp.etcd)
	// The client dials lazily: prove etcd answers before serving anything.
	pingCtx, cancel := context.WithTimeout(ctx, cfg.EtcdDialTimeout)
	err = cp.store.Ping(pingCtx)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("controlplane: etcd %v unreachable: %w", cfg.EtcdEndpoints, err)
	}
	if cp.nc, err = cfg.NATS.Server("controlplane", log); err != nil {
		return nil, fmt.Errorf("controlplane: %w", err)
	}
	js, err := jetstream.New(cp.nc)
	if err != nil {
		return nil, fmt.Errorf("controlplane: jetstream: %w", err)
	}
	if cfg.BootstrapTokenFile != "" {
		var minted bool
		cp.token, minted, err = admin.BootstrapToken(ctx, cp.store, cfg.BootstrapTokenFile, clock.Now())
		if err != nil {
			return nil, fmt.Errorf("controlplane: %w", err)
		}
		if minted {
			log.Info("bootstrap platform token created", "file", cfg.BootstrapTokenFile)
		}
	}

	checks := cp.checks()
	replica := cfg.ReplicaID
	if replica == "" {
		replica = serve.DefaultNodeID("controlplane")
	}
	cp.dist, err = distribute.New(distribute.Config{
		ReplicaID:         replica,
		EdgeToken:         cfg.EdgeToken,
		DispatcherToken:   cfg.DispatcherToken,
		NodeToken:         cfg.NodeToken,
		RequireClientCert: cfg.TLSClientCA != "",
		SendTimeout:       cfg.ConfigSendTimeout,
		ReadyTimeout:      cfg.ConfigReadyTimeout,
		StatsInterval:     cfg.StatsInterval,
	}, cp.etcd, keyring, log, reg, clock)
	if err != nil {
		return nil, fmt.Errorf("controlplane: %w", err)
	}
	// Webhooks whose largest envelope could not fit the bus are refused at
	// registration, not per request.
	if cp.tails, err = tail.New(js, tail.Config{}, log); err != nil {
		return nil, fmt.Errorf("controlplane: %w", err)
	}
	webhooks := admin.NewWebhookService(cp.store, keyring, clock, log, cfg.PublicURL, failures.NewReader(js),
		admin.WithMaxPayload(cp.nc.MaxPayload()), admin.WithTail(cp.tails))
	rp := replay.New(cp.nc, js)
	cp.recoveries = replay.NewRunner(replay.RunnerConfig{}, cp.store, js, log, nil)
	authn := admin.NewAuthenticator(cp.store, log)
	mux := admin.New(admin.Config{CallTimeout: cfg.CallTimeout}, admin.Services{
		Tenants:     admin.NewTenantService(cp.store, clock, log),
		Webhooks:    webhooks,
		Params:      admin.NewConfigParamService(cp.store, keyring, clock, log),
		Apps:        admin.NewAppService(cp.store, clock, log),
		EventTypes:  admin.NewEventTypeService(cp.store, clock, log),
		Endpoints:   admin.NewEndpointService(cp.store, keyring, clock, log, admin.WithEndpointOps(cp.nc), admin.WithTestSends(rp)),
		Messages:    admin.NewMessageService(outbound.NewReader(js), log),
		Attempts:    admin.NewAttemptService(outbound.NewReader(js), log, admin.WithReplay(cp.store, rp, clock)),
		Edges:       cp.dist,
		ConfigNodes: cp.dist,
	}, authn.Wrap, healthChecker{checks: checks},
		connect.WithCompressMinBytes(1024), connect.WithReadMaxBytes(4<<20))
	serve.HealthMux(mux, checks, reg)
	// The web console's files hold no data: they are served without a
	// token, outside the authentication the services sit behind; the app
	// sends the admin token with each API call.
	ui, err := console.NewEmbedded()
	if err != nil {
		return nil, fmt.Errorf("controlplane: %w", err)
	}
	ui.Register(mux)
	if cfg.Listener == nil {
		if cfg.Listener, err = serve.Listen(cfg.ListenFlag, cfg.ListenAddr); err != nil {
			return nil, fmt.Errorf("controlplane: %w", err)
		}
	}
	// REST/JSON paths (google.api.http) and /openapi.json, transcoded into
	// calls of the same mux.
	handler, err := rest.New(rest.Config{Services: rest.AdminServices()}, mux, authn.Wrap)
	if err != nil {
		return nil, fmt.Errorf("controlplane: %w", err)
	}
	// A span per admin call; the config stream lasts as long as a node's
	// connection, and an event tail as long as its client, so they have
	// none.
	if cp.tracing, err = tracing.New(ctx, cfg.Tracing, "hookgate-controlplane"); err != nil {
		return nil, fmt.Errorf("controlplane: %w", err)
	}
	handler = cp.tracing.Handler("github.com/hookgate/hookgate/cmd/hookgate/app/controlplane", isLongLived, handler)
	if tlsCfg != nil {
		handler = distribute.WithVerifiedClientCert(handler)
	}
	// Every request but the config stream is read within ReadTimeout, so a
	// slow body cannot hold a connection.
	handler = serve.WithReadDeadline(handler, cfg.ReadTimeout, isConfigStream)
	// Outermost, so a node that stops reading cannot hold its stream's
	// handler forever.
	handler = distribute.WithSendDeadlines(handler)
	cp.admin = serve.On("controlplane", cfg.Listener, handler, serve.AdminLimits, log)
	cp.admin.TLS = tlsCfg
	log.Info("control plane started", "admin", cp.admin.URL(), "etcd", cfg.EtcdEndpoints)
	return cp, nil
}

// isLongLived reports a streaming call (the config stream, an event tail).
func isLongLived(r *http.Request) bool { return admin.IsStreaming(r.URL.Path) }

// isConfigStream reports a call of the long-lived config stream.
func isConfigStream(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, "/"+hookgatev1connect.ConfigDiscoveryServiceName+"/")
}

// URL is the admin API's base URL.
func (cp *ControlPlane) URL() string { return cp.admin.URL() }

// ConsoleURL is the web console's URL on the admin port.
func (cp *ControlPlane) ConsoleURL() string { return cp.admin.URL() + console.Path }

// Token is the bootstrap platform token (empty without a token file).
func (cp *ControlPlane) Token() string { return cp.token }

// Checks are the replica's readiness checks.
func (cp *ControlPlane) checks() []serve.Check {
	return []serve.Check{
		{Name: "etcd", Fn: func(ctx context.Context) (string, error) { return "", cp.store.Ping(ctx) }},
		serve.NATSCheck(cp.nc),
	}
}

// Run serves the admin API until ctx ends, then closes the connections.
func (cp *ControlPlane) Run(ctx context.Context) error {
	defer cp.Close()
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return cp.admin.Run(ctx) })
	g.Go(func() error { return cp.dist.Run(ctx) })
	g.Go(func() error { return cp.tails.Run(ctx) })
	g.Go(func() error { return admin.NewOpsConsumer(cp.store, systemClock{}, cp.log).Run(ctx, cp.nc) })
	g.Go(func() error { return admin.NewOpsForwarder(cp.store, systemClock{}, cp.log).Run(ctx, cp.nc) })
	g.Go(func() error { return leader.Run(ctx, cp.etcd, "recoveries", replicaID(), cp.log, cp.recoveries.Run) })
	g.Go(func() error {
		id, _ := os.Hostname()
		return leader.Run(ctx, cp.etcd, "key-sweeper", fmt.Sprintf("%s/%d", id, os.Getpid()), cp.log, cp.sweepKeys)
	})
	return g.Wait()
}

// sweepKeys removes previous API keys whose grace period ended; it runs on
// the elected replica only. The edge also ignores expired keys itself, so the
// sweep only tidies storage and the fleet's configuration.
func (cp *ControlPlane) sweepKeys(ctx context.Context) {
	t := time.NewTicker(cp.cfg.KeySweepInterval)
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

// Close releases what Start opened; Run calls it when it returns.
func (cp *ControlPlane) Close() {
	if cp.admin != nil {
		cp.admin.Close()
	}
	if cp.nc != nil {
		cp.nc.Close()
	}
	if cp.etcd != nil {
		_ = cp.etcd.Close()
	}
	_ = cp.tracing.Close()
}

// healthChecker answers grpc.health.v1 from the readiness checks: every
// admin service is as healthy as the process's dependencies.
type healthChecker struct{ checks []serve.Check }

func (h healthChecker) Check(ctx context.Context, req *grpchealth.CheckRequest) (*grpchealth.CheckResponse, error) {
	if req.Service != "" && !slices.Contains(admin.ServiceNames, req.Service) {
		return nil, connect.NewError(connect.CodeNotFound, fmt.Errorf("unknown service %q", req.Service))
	}
	for _, c := range h.checks {
		if _, err := c.Fn(ctx); err != nil {
			return &grpchealth.CheckResponse{Status: grpchealth.StatusNotServing}, nil
		}
	}
	return &grpchealth.CheckResponse{Status: grpchealth.StatusServing}, nil
}

// Defaults of the admin port's time limits.
const (
	DefaultCallTimeout = 10 * time.Second
	DefaultReadTimeout = 30 * time.Second
)

// replicaID names this replica in elections.
func replicaID() string {
	id, _ := os.Hostname()
	return fmt.Sprintf("%s/%d", id, os.Getpid())
}
