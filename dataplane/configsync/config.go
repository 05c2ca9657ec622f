package configsync

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
)

// Config holds a Client's settings. Zero durations and sizes mean their
// defaults.
type Config struct {
	// ControlPlaneURL is a control-plane replica's base URL:
	// http://host:port (cleartext HTTP/2, loopback only unless
	// AllowPlaintext) or https://host:port.
	ControlPlaneURL string
	// ControlPlaneURLs are further replicas, of the same scheme. The node
	// tries ControlPlaneURL and then each of these in turn, moving to the
	// next after every session that ends (a refusal, an unready replica, no
	// first response in time, a replica going away), so a node attached to
	// a replica whose etcd is down moves to a healthy one. At least one of
	// ControlPlaneURL and ControlPlaneURLs is required.
	ControlPlaneURLs []string
	// NodeID names the node in the fleet view: 1 to 128 characters of
	// A-Z, a-z, 0-9, '.', '_', ':' or '-'.
	NodeID string
	// Role is NODE_ROLE_EDGE or NODE_ROLE_DISPATCHER.
	Role hookgatev1.NodeRole
	// Address is where the node serves traffic, shown in the fleet view.
	Address string
	// NodeToken is sent as "Authorization: Bearer <token>" when set: the
	// token of the node's role (or the control plane's shared node token).
	// A node needs a token or a client certificate: the control plane
	// admits no node without one.
	NodeToken string
	// CAFile verifies the control plane's certificate (PEM); empty uses the
	// system roots. CertFile and KeyFile hold the node's client certificate
	// for mTLS. All three need an https:// URL.
	CAFile, CertFile, KeyFile string
	// AllowPlaintext permits http:// to a control plane that is not on
	// loopback. The node token and provider secrets then cross the network
	// in clear: only for a trusted network.
	AllowPlaintext bool
	// CacheFile, when set, holds the last configuration on disk (mode 0600,
	// replaced atomically), so that a restarted node serves before the
	// control plane answers. It contains decrypted provider secrets. Off by
	// default.
	CacheFile string
	// CacheInterval is the least time between two writes of CacheFile.
	// Default 10s.
	CacheInterval time.Duration
	// MinBackoff and MaxBackoff bound the wait between reconnection
	// attempts, which doubles from MinBackoff, with jitter. Defaults 250ms
	// and 30s.
	MinBackoff, MaxBackoff time.Duration
	// KeepAlive is how long the connection may be silent before the node
	// pings the control plane; an unanswered ping drops it. Default 15s.
	KeepAlive time.Duration
	// FirstResponseTimeout bounds the wait for a replica's first update
	// after the hello: a replica that has not answered by then (its etcd is
	// away) is left for the next URL. It covers connecting too and must
	// exceed the control plane's ReadyTimeout (10s), which answers an
	// unready replica's nodes with Unavailable. Default 15s.
	FirstResponseTimeout time.Duration
	// Compress asks the control plane to gzip updates: a snapshot shrinks
	// about 4.7 times at the price of ~0.4 s of CPU per 100,000 webhooks.
	// For a slow link between node and control plane; off by default.
	Compress bool
	// MaxMessageBytes bounds one update from the control plane (a snapshot
	// of 100,000 webhooks is tens of MiB). Default 512 MiB.
	MaxMessageBytes int
	// Shard is the slice of tenants an edge serves, sent in its hello: the
	// control plane then sends only those tenants' resources. nil is every
	// tenant; dispatchers have none. The revision the node holds must be
	// of the same slice (a restarted edge with another shard drops its
	// cache file; see cmd/hookgate/app/edge).
	Shard *hookgatev1.EdgeShard
	// Stats, when set, reads the node's traffic counters, cumulative since
	// it started. The client sends them (ConfigStats) as soon as a stream
	// is answered and then at the interval the control plane announces in
	// the stream's response header Hookgate-Stats-Interval (at least
	// MinStatsInterval), and never on a stream without that header: a
	// control plane from before ConfigStats would end the stream. The
	// client sets sample_time and start_time. It is called from the
	// client's goroutines, so it must be safe for concurrent use.
	Stats func() *hookgatev1.NodeTraffic
}

// Defaults of Config, in one place.
const (
	DefaultCacheInterval   = 10 * time.Second
	DefaultMinBackoff      = 250 * time.Millisecond
	DefaultMaxBackoff      = 30 * time.Second
	DefaultKeepAlive       = 15 * time.Second
	DefaultMaxMessageBytes = 512 << 20
	// DefaultFirstResponseTimeout exceeds the control plane's default
	// ReadyTimeout, so that an unready replica's Unavailable comes first.
	DefaultFirstResponseTimeout = 15 * time.Second
	// MinStatsInterval bounds how often a node reports its counters,
	// whatever a control plane announces.
	MinStatsInterval = time.Second
)

func (c Config) withDefaults() Config {
	if c.CacheInterval == 0 {
		c.CacheInterval = DefaultCacheInterval
	}
	if c.MinBackoff == 0 {
		c.MinBackoff = DefaultMinBackoff
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = max(DefaultMaxBackoff, c.MinBackoff)
	}
	if c.KeepAlive == 0 {
		c.KeepAlive = DefaultKeepAlive
	}
	if c.MaxMessageBytes == 0 {
		c.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if c.FirstResponseTimeout == 0 {
		c.FirstResponseTimeout = DefaultFirstResponseTimeout
	}
	return c
}

// URLs lists the control-plane replicas the node tries, in order.
func (c Config) URLs() []string {
	var urls []string
	if c.ControlPlaneURL != "" {
		urls = append(urls, c.ControlPlaneURL)
	}
	return append(urls, c.ControlPlaneURLs...)
}

// Validate reports the first setting that cannot work, naming the field and
// the bad value.
func (c Config) Validate() error {
	urls := c.URLs()
	if len(urls) == 0 {
		return errors.New("configsync: ControlPlaneURL: required")
	}
	var scheme string
	for _, raw := range urls {
		u, err := c.validateURL(raw)
		if err != nil {
			return err
		}
		if scheme != "" && u.Scheme != scheme {
			return fmt.Errorf("configsync: ControlPlaneURLs %q: every control-plane URL must use the same scheme (%s)", raw, scheme)
		}
		scheme = u.Scheme
	}
	switch {
	case (c.CertFile == "") != (c.KeyFile == ""):
		return errors.New("configsync: CertFile and KeyFile: set both or neither")
	case c.NodeToken == "" && c.CertFile == "":
		return errors.New("configsync: NodeToken or CertFile: required; the control plane admits no node without a credential")
	case strings.TrimSpace(c.NodeToken) != c.NodeToken || strings.ContainsAny(c.NodeToken, "\r\n"):
		return errors.New("configsync: NodeToken: must not begin or end with white space or hold a line break")
	case !validNodeID(c.NodeID):
		return fmt.Errorf("configsync: NodeID %q: must be 1 to 128 characters of A-Z, a-z, 0-9, '.', '_', ':' or '-'", c.NodeID)
	case c.Role != hookgatev1.NodeRole_NODE_ROLE_EDGE && c.Role != hookgatev1.NodeRole_NODE_ROLE_DISPATCHER:
		return fmt.Errorf("configsync: Role %s: must be NODE_ROLE_EDGE or NODE_ROLE_DISPATCHER", c.Role)
	case len(c.Address) > 256:
		return errors.New("configsync: Address: longer than 256 bytes")
	case c.CacheInterval < 0:
		return fmt.Errorf("configsync: CacheInterval %s: must not be negative", c.CacheInterval)
	case c.MinBackoff < 0 || c.MaxBackoff < 0:
		return fmt.Errorf("configsync: MinBackoff %s, MaxBackoff %s: must not be negative", c.MinBackoff, c.MaxBackoff)
	case c.MaxBackoff > 0 && c.MinBackoff > c.MaxBackoff:
		return fmt.Errorf("configsync: MinBackoff %s: more than MaxBackoff %s", c.MinBackoff, c.MaxBackoff)
	case c.KeepAlive < 0:
		return fmt.Errorf("configsync: KeepAlive %s: must not be negative", c.KeepAlive)
	case c.FirstResponseTimeout < 0:
		return fmt.Errorf("configsync: FirstResponseTimeout %s: must not be negative", c.FirstResponseTimeout)
	case c.MaxMessageBytes < 0:
		return fmt.Errorf("configsync: MaxMessageBytes %d: must not be negative", c.MaxMessageBytes)
	}
	return nil
}

// validateURL checks one control-plane URL.
func (c Config) validateURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	switch {
	case raw == "":
		return nil, errors.New("configsync: ControlPlaneURLs: empty URL")
	case err != nil:
		return nil, fmt.Errorf("configsync: ControlPlaneURL %q: %w", raw, err)
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("configsync: ControlPlaneURL %q: scheme must be http or https", raw)
	case u.Host == "":
		return nil, fmt.Errorf("configsync: ControlPlaneURL %q: no host", raw)
	case u.Scheme == "http" && !c.AllowPlaintext && !isLoopback(u.Hostname()):
		return nil, fmt.Errorf("configsync: ControlPlaneURL %q: plaintext to a control plane that is not on loopback; use https or allow plaintext explicitly", raw)
	case u.Scheme == "http" && (c.CAFile != "" || c.CertFile != "" || c.KeyFile != ""):
		return nil, fmt.Errorf("configsync: ControlPlaneURL %q: TLS files need an https URL", raw)
	}
	return u, nil
}

// isLoopback accepts "localhost" and loopback addresses; any other name
// could resolve off the machine.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func validNodeID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, c := range []byte(id) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '.', c == '_', c == ':', c == '-':
		default:
			return false
		}
	}
	return true
}

// Clock tells the time and waits; tests pass a fake they advance.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

// SystemClock is the real Clock.
type SystemClock struct{}

// Now implements Clock.
func (SystemClock) Now() time.Time { return time.Now() }

// After implements Clock.
func (SystemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
