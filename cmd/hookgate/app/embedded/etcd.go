// Package embedded runs etcd members and NATS JetStream nodes inside a
// Hookgate process: hookgate dev's single servers, the members of
// `hookgate dev --cluster N`, and the separate `hookgate devnode`
// processes the fault suite kills. Production runs real etcd and NATS
// clusters; these are the same servers, configured for one machine.
package embedded

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/hookgate/hookgate/cmd/hookgate/app/logs"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap/zapcore"
)

// etcdNoise are the embedded etcd's warnings about what dev chose on
// purpose (one port, simple auth tokens, a new data folder).
var etcdNoise = []string{
	"Running http and grpc server on single port. This is not recommended for production.",
	"simple token is not cryptographically signed",
	"Failed to detect schema version",
	"failed to update storage version",
}

// EtcdMember is one member of an etcd cluster on this machine.
type EtcdMember struct {
	// Name is the member's name in InitialCluster.
	Name string
	// Dir holds its data; a member restarted on the same Dir rejoins.
	Dir string
	// ClientAddr and PeerAddr are host:port; port 0 is only valid for a
	// single member (peers must know each other's addresses).
	ClientAddr, PeerAddr string
	// InitialCluster lists every member as name=http://peer,…; empty means
	// this member alone.
	InitialCluster string
	// ClusterToken gives a new cluster its own id, so a node's cached
	// configuration from a wiped folder is never mistaken for this
	// cluster's history. Only read when Dir is new.
	ClusterToken string
	// Log receives the member's warnings and errors.
	Log *slog.Logger
}

// Start runs the member and waits until it has joined a cluster with a
// leader, or wait passed. It returns the member and its client URL.
func (m EtcdMember) Start(wait time.Duration) (*embed.Etcd, string, error) {
	cfg := embed.NewConfig()
	cfg.Name = m.Name
	cfg.Dir = m.Dir
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(logs.Zap(m.Log, "etcd", zapcore.WarnLevel, etcdNoise...))
	client := url.URL{Scheme: "http", Host: m.ClientAddr}
	peer := url.URL{Scheme: "http", Host: m.PeerAddr}
	cfg.ListenClientUrls = []url.URL{client}
	cfg.AdvertiseClientUrls = []url.URL{client}
	cfg.ListenPeerUrls = []url.URL{peer}
	cfg.AdvertisePeerUrls = []url.URL{peer}
	cfg.InitialCluster = m.InitialCluster
	if cfg.InitialCluster == "" {
		cfg.InitialCluster = m.Name + "=" + peer.String()
	}
	cfg.InitialClusterToken = m.ClusterToken
	if !strings.Contains(cfg.InitialCluster, ",") {
		// A single member needs no long election timeout; a short one
		// makes the dev server ready in well under a second. A cluster
		// keeps etcd's defaults: two cores shared with the whole system
		// must not make a busy member look dead.
		cfg.TickMs = 20
		cfg.ElectionMs = 100
	}
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, "", fmt.Errorf("embedded etcd %s: %w", m.Name, err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, "", fmt.Errorf("embedded etcd %s: %w", m.Name, err)
	case <-time.After(wait):
		e.Close()
		return nil, "", errors.New("embedded etcd " + m.Name + ": not ready in " + wait.String())
	}
	return e, "http://" + e.Clients[0].Addr().String(), nil
}

// InitialCluster is the InitialCluster value of members named prefix1…N
// with these peer addresses.
func InitialCluster(prefix string, peerAddrs []string) string {
	parts := make([]string, len(peerAddrs))
	for i, a := range peerAddrs {
		parts[i] = fmt.Sprintf("%s%d=http://%s", prefix, i+1, a)
	}
	return strings.Join(parts, ",")
}
