package embedded

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"go.etcd.io/etcd/server/v3/embed"
)

// Layout is where the members of an N-node cluster on this machine
// listen, and the secrets between them. It is kept in the data folder:
// etcd members remember their peers' URLs, so a restart must reuse them.
type Layout struct {
	Size          int      `json:"size"`
	EtcdClient    []string `json:"etcdClient"`
	EtcdPeer      []string `json:"etcdPeer"`
	NATSClient    []string `json:"natsClient"`
	NATSRoute     []string `json:"natsRoute"`
	RoutePassword string   `json:"routePassword"`
	ClusterToken  string   `json:"clusterToken"`
}

// LoadOrCreateLayout reads the layout at path, or picks free loopback
// ports for a new one of size n and saves it (mode 0600: it holds the
// route password).
func LoadOrCreateLayout(path string, n int) (Layout, error) {
	if n < 3 || n%2 == 0 || n > 7 {
		return Layout{}, fmt.Errorf("cluster size %d: want 3, 5 or 7 (an odd number keeps a majority when one fails)", n)
	}
	var l Layout
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(data, &l); err != nil {
			return Layout{}, fmt.Errorf("cluster layout %s: %w", path, err)
		}
		if l.Size != n {
			return Layout{}, fmt.Errorf("cluster layout %s: the data folder holds a cluster of %d, not %d; use another --data-dir", path, l.Size, n)
		}
		return l, nil
	case !errors.Is(err, os.ErrNotExist):
		return Layout{}, fmt.Errorf("cluster layout: %w", err)
	}
	ports, err := freePorts(4 * n)
	if err != nil {
		return Layout{}, err
	}
	l = Layout{Size: n, EtcdClient: ports[:n], EtcdPeer: ports[n : 2*n], NATSClient: ports[2*n : 3*n], NATSRoute: ports[3*n:],
		RoutePassword: rand.Text(), ClusterToken: "hookgate-dev-" + rand.Text()}
	data, err = json.MarshalIndent(l, "", "  ")
	if err != nil {
		return Layout{}, fmt.Errorf("cluster layout: %w", err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return Layout{}, fmt.Errorf("cluster layout: %w", err)
	}
	return l, nil
}

// freePorts returns n loopback addresses that were free a moment ago.
func freePorts(n int) ([]string, error) {
	lns := make([]net.Listener, 0, n)
	defer func() {
		for _, ln := range lns {
			_ = ln.Close()
		}
	}()
	out := make([]string, 0, n)
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("pick a free port: %w", err)
		}
		lns = append(lns, ln)
		out = append(out, ln.Addr().String())
	}
	return out, nil
}

// Cluster is an etcd cluster and a NATS cluster of Layout.Size members
// each, in this process.
type Cluster struct {
	Etcd []*embed.Etcd
	NATS []*server.Server
	// EtcdURLs and NATSURLs are the client URLs of every member.
	EtcdURLs []string
	NATSURL  string
}

// StartCluster starts every member of l with its data under dir and waits
// until etcd has a leader and JetStream a meta leader.
func StartCluster(ctx context.Context, dir string, l Layout, nkeyUser string, fsync time.Duration, log *slog.Logger) (*Cluster, error) {
	c := &Cluster{}
	ok := false
	defer func() {
		if !ok {
			c.Close()
		}
	}()
	// Members wait for a quorum before they report ready: start them all
	// at once.
	initial := InitialCluster("etcd", l.EtcdPeer)
	type started struct {
		e   *embed.Etcd
		url string
		err error
	}
	res := make([]started, l.Size)
	var wg sync.WaitGroup
	for i := range l.Size {
		wg.Go(func() {
			m := EtcdMember{
				Name: fmt.Sprintf("etcd%d", i+1), Dir: filepath.Join(dir, fmt.Sprintf("etcd%d", i+1)),
				ClientAddr: l.EtcdClient[i], PeerAddr: l.EtcdPeer[i], InitialCluster: initial,
				ClusterToken: l.ClusterToken, Log: log,
			}
			e, u, err := m.Start(60 * time.Second)
			res[i] = started{e, u, err}
		})
	}
	wg.Wait()
	var errs []error
	for _, r := range res {
		if r.err != nil {
			errs = append(errs, r.err)
			continue
		}
		c.Etcd = append(c.Etcd, r.e)
		c.EtcdURLs = append(c.EtcdURLs, r.url)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var urls []string
	for i := range l.Size {
		var routes []string
		for j, r := range l.NATSRoute {
			if j != i {
				routes = append(routes, r)
			}
		}
		s, err := NATSNode{
			Name: fmt.Sprintf("nats%d", i+1), Dir: filepath.Join(dir, fmt.Sprintf("nats%d", i+1)),
			Addr: l.NATSClient[i], NkeyUser: nkeyUser, ClusterAddr: l.NATSRoute[i], Routes: routes,
			RouteUser: "hookgate", RoutePassword: l.RoutePassword, Sync: fsync, Log: log,
		}.Start(10 * time.Second)
		if err != nil {
			return nil, err
		}
		c.NATS = append(c.NATS, s)
		urls = append(urls, s.ClientURL())
	}
	c.NATSURL = strings.Join(urls, ",")
	if err := WaitJetStream(ctx, c.NATS, 60*time.Second); err != nil {
		return nil, err
	}
	ok = true
	return c, nil
}

// WaitJetStream waits until one of servers is the JetStream meta leader
// and all are current with it: before that, creating a replicated stream
// fails with "JetStream system temporarily unavailable".
func WaitJetStream(ctx context.Context, servers []*server.Server, wait time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		leader, current := false, true
		for _, s := range servers {
			leader = leader || s.JetStreamIsLeader()
			current = current && s.JetStreamIsCurrent()
		}
		if leader && current {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("nats cluster: no JetStream meta leader in %s", wait)
		case <-t.C:
		}
	}
}

// Close stops every member.
func (c *Cluster) Close() {
	for _, s := range c.NATS {
		s.Shutdown()
		s.WaitForShutdown()
	}
	for _, e := range c.Etcd {
		e.Close()
	}
}
