package distribute

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hookgate/hookgate/controlplane/secrets"
	"github.com/hookgate/hookgate/gen/hookgate/v1/hookgatev1connect"
	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"
	"golang.org/x/sync/errgroup"
)

// Config holds the distributor's settings; a zero field means its default.
type Config struct {
	// ReplicaID names this control-plane replica in the fleet view
	// (Node.control_plane). Defaults to the host name.
	ReplicaID string
	// EdgeToken and DispatcherToken are the per-role secrets nodes present
	// as "Authorization: Bearer <token>": a node with the edge token may
	// only ask for the edge role, and so on, so a leaked edge token cannot
	// read dispatcher secrets.
	EdgeToken, DispatcherToken string
	// NodeToken is a token shared by every role. It names no role and may
	// ask for any, so it is weaker than EdgeToken and DispatcherToken: one
	// leaked node's token reads every role's configuration. Kept for simple
	// set-ups and for `hookgate dev`.
	NodeToken string
	// RequireClientCert admits only nodes with a client certificate the
	// server verified (see WithVerifiedClientCert), naming the node's role
	// in its Subject OrganizationalUnit ("edge" or "dispatcher"). Set it when
	// the server requires and verifies client certificates
	// (tls.RequireAndVerifyClientCert) against a CA that issues node
	// certificates only; tokens are then not accepted, so none may be set.
	// Without it, a verified certificate is still accepted beside the
	// tokens.
	//
	// At least one token or RequireClientCert must be set: the stream
	// carries decrypted secrets and never admits a caller without a
	// credential.
	RequireClientCert bool
	// LogSize is how many resource changes the in-memory change log keeps for
	// resuming nodes and slow streams. Default 65536.
	LogSize int
	// StatusInterval is how often acknowledged revisions are written to the
	// fleet registry in etcd; hellos and NACKs are written at once.
	// Default 1s.
	StatusInterval time.Duration
	// LeaseTTL is the TTL of the etcd lease that holds this replica's node
	// records: they vanish this long after the replica dies. Whole seconds,
	// at least 2s. Default 10s.
	LeaseTTL time.Duration
	// ResumeWait bounds how long a node that holds a revision newer than this
	// replica's view waits for the view to catch up before it is given a
	// snapshot instead. Default 5s.
	ResumeWait time.Duration
	// SendTimeout bounds sending one update to a node: a node that has not
	// taken it by then (it stopped reading) has its stream ended, and
	// resumes when it reconnects. It must cover a snapshot's transfer: 21 MB
	// for 100,000 webhooks, about 6 Mbit/s at the default. It needs the
	// handler wrapped with WithSendDeadlines. Default 30s.
	SendTimeout time.Duration
	// ReadyTimeout bounds how long a stream waits for this replica's view
	// to load (at start-up, or etcd unreachable since): the node is then
	// answered CodeUnavailable, keeps its last configuration and tries
	// another replica. Short, since a replica that has loaded a view once
	// serves from it through every later reload, and another replica
	// likely has one. Default 2s.
	ReadyTimeout time.Duration
	// StatsInterval is how often nodes report their traffic counters
	// (ConfigStats), announced to each node in its stream's response
	// header StatsIntervalHeader; each report marks the node for the next
	// fleet registry write. At least 1s. Default 10s.
	StatsInterval time.Duration
}

// Defaults of Config, in one place.
const (
	DefaultLogSize        = 1 << 16
	DefaultStatusInterval = time.Second
	DefaultLeaseTTL       = 10 * time.Second
	DefaultResumeWait     = 5 * time.Second
	DefaultSendTimeout    = 30 * time.Second
	DefaultReadyTimeout   = 2 * time.Second
	DefaultStatsInterval  = 10 * time.Second
)

func (c Config) withDefaults() Config {
	if c.ReplicaID == "" {
		if h, err := os.Hostname(); err == nil && h != "" {
			c.ReplicaID = h
		} else {
			c.ReplicaID = "controlplane"
		}
	}
	if c.LogSize == 0 {
		c.LogSize = DefaultLogSize
	}
	if c.StatusInterval == 0 {
		c.StatusInterval = DefaultStatusInterval
	}
	if c.LeaseTTL == 0 {
		c.LeaseTTL = DefaultLeaseTTL
	}
	if c.ResumeWait == 0 {
		c.ResumeWait = DefaultResumeWait
	}
	if c.SendTimeout == 0 {
		c.SendTimeout = DefaultSendTimeout
	}
	if c.ReadyTimeout == 0 {
		c.ReadyTimeout = DefaultReadyTimeout
	}
	if c.StatsInterval == 0 {
		c.StatsInterval = DefaultStatsInterval
	}
	return c
}

// Validate reports the first setting that cannot work, naming the field.
func (c Config) Validate() error {
	switch {
	case c.LogSize < 0:
		return fmt.Errorf("distribute: LogSize %d: must not be negative", c.LogSize)
	case c.StatusInterval < 0:
		return fmt.Errorf("distribute: StatusInterval %s: must not be negative", c.StatusInterval)
	case c.LeaseTTL < 0 || (c.LeaseTTL > 0 && c.LeaseTTL < 2*time.Second):
		return fmt.Errorf("distribute: LeaseTTL %s: must be at least 2s", c.LeaseTTL)
	case c.LeaseTTL%time.Second != 0:
		return fmt.Errorf("distribute: LeaseTTL %s: must be whole seconds", c.LeaseTTL)
	case c.ResumeWait < 0:
		return fmt.Errorf("distribute: ResumeWait %s: must not be negative", c.ResumeWait)
	case c.SendTimeout < 0:
		return fmt.Errorf("distribute: SendTimeout %s: must not be negative", c.SendTimeout)
	case c.ReadyTimeout < 0:
		return fmt.Errorf("distribute: ReadyTimeout %s: must not be negative", c.ReadyTimeout)
	case c.StatsInterval != 0 && c.StatsInterval < time.Second:
		return fmt.Errorf("distribute: StatsInterval %s: must be at least 1s", c.StatsInterval)
	case len(c.ReplicaID) > 256:
		return fmt.Errorf("distribute: ReplicaID: longer than 256 bytes")
	}
	return c.validateCredentials()
}

// validateCredentials checks the node credentials. The errors name fields,
// never token values.
func (c Config) validateCredentials() error {
	tokens := []struct{ name, value string }{{"EdgeToken", c.EdgeToken}, {"DispatcherToken", c.DispatcherToken}, {"NodeToken", c.NodeToken}}
	set := 0
	for _, t := range tokens {
		if t.value != "" {
			set++
		}
	}
	switch {
	case c.RequireClientCert && set > 0:
		return errors.New("distribute: RequireClientCert: tokens are not accepted with it; set tokens or RequireClientCert, not both")
	case !c.RequireClientCert && set == 0:
		return errors.New("distribute: no node credential: set EdgeToken and DispatcherToken (or the shared NodeToken), or RequireClientCert; the config stream is never open")
	case c.EdgeToken != "" && (c.EdgeToken == c.DispatcherToken || c.EdgeToken == c.NodeToken):
		return errors.New("distribute: EdgeToken: must differ from the other node tokens, or its role is ambiguous")
	case c.DispatcherToken != "" && c.DispatcherToken == c.NodeToken:
		return errors.New("distribute: DispatcherToken: must differ from NodeToken, or its role is ambiguous")
	}
	for _, t := range tokens {
		// The Authorization header's value is trimmed, so such a token
		// could never match.
		if strings.TrimSpace(t.value) != t.value {
			return fmt.Errorf("distribute: %s: must not begin or end with white space", t.name)
		}
	}
	return nil
}

// Clock tells the time; tests pass a fake.
type Clock interface {
	Now() time.Time
}

// Distributor is the control plane's side of config distribution. It
// implements hookgatev1connect.ConfigDiscoveryServiceHandler and
// hookgatev1connect.EdgeServiceHandler; Run feeds both from etcd.
type Distributor struct {
	cfg     Config
	etcd    *clientv3.Client
	keyring *secrets.Keyring
	log     *slog.Logger
	clock   Clock
	metrics *metrics
	view    *view
	fleet   *fleet
	// resolver resolves parameter references; the watch loop owns it.
	resolver *resolver
	// tokens are the digests of the configured node tokens.
	tokens []nodeToken
	// shardSnaps caches sharded edges' snapshots (shard.go).
	shardSnaps shardSnapshots

	// progress asks the watch loop for an etcd progress notification, which
	// moves the view's revision up to etcd's when nothing changed.
	progress chan struct{}
	// stopped closes when Run returns; open streams then end so their nodes
	// reconnect to another replica.
	stopped chan struct{}
	started atomic.Bool

	// history holds the token of keysAt, which guards the fields after it:
	// the keys that existed at historyRev in etcd cluster historyCluster.
	history        chan struct{}
	historyRev     int64
	historyCluster uint64
	historyKeys    []string
}

var (
	_ hookgatev1connect.ConfigDiscoveryServiceHandler = (*Distributor)(nil)
	_ hookgatev1connect.EdgeServiceHandler            = (*Distributor)(nil)
)

// New returns a Distributor. It refuses a Config without node credentials
// (see Config.RequireClientCert). It registers its metrics with reg (nil: no
// metrics are registered). Nothing is read from etcd until Run.
func New(cfg Config, etcd *clientv3.Client, keyring *secrets.Keyring, log *slog.Logger, reg prometheus.Registerer, clock Clock) (*Distributor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	switch {
	case etcd == nil:
		return nil, errors.New("distribute: etcd client is required")
	case keyring == nil:
		return nil, errors.New("distribute: keyring is required")
	case log == nil:
		return nil, errors.New("distribute: logger is required")
	case clock == nil:
		return nil, errors.New("distribute: clock is required")
	}
	cfg = cfg.withDefaults()
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	d := &Distributor{
		cfg:      cfg,
		etcd:     etcd,
		keyring:  keyring,
		log:      log,
		clock:    clock,
		metrics:  m,
		view:     newView(cfg.LogSize),
		progress: make(chan struct{}, 1),
		stopped:  make(chan struct{}),
		history:  make(chan struct{}, 1),
		tokens:   cfg.nodeTokens(),
		resolver: newResolver(keyring),
	}
	d.fleet = newFleet(etcd, cfg, log)
	return d, nil
}

// Run watches etcd and keeps the fleet registry until ctx ends. It retries
// etcd errors forever: while etcd is away, connected nodes keep the last
// configuration. When Run returns, open streams end with CodeUnavailable.
func (d *Distributor) Run(ctx context.Context) error {
	if !d.started.CompareAndSwap(false, true) {
		return errors.New("distribute: Run called twice")
	}
	defer close(d.stopped)
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return d.watch(ctx) })
	g.Go(func() error { return d.fleet.run(ctx) })
	return g.Wait()
}

// Revision is the etcd revision the view has reached; 0 before the first
// load.
func (d *Distributor) Revision() int64 { return d.view.revision() }

// ClusterID is the id of the etcd cluster the view was loaded from; 0
// before the first load.
func (d *Distributor) ClusterID() uint64 { return d.view.clusterID() }

// requestProgress asks the watch loop, without blocking, for a progress
// notification.
func (d *Distributor) requestProgress() {
	select {
	case d.progress <- struct{}{}:
	default:
	}
}
