package embedded

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"time"

	"github.com/hookgate/hookgate/cmd/hookgate/app/logs"
	"github.com/nats-io/nats-server/v2/server"
)

// NATSNode is one JetStream server on this machine, alone or one node of
// a cluster.
type NATSNode struct {
	// Name is the server name; cluster nodes need distinct names.
	Name string
	// Dir is the JetStream store.
	Dir string
	// Addr is the client host:port; port 0 is a random port.
	Addr string
	// NkeyUser is the public nkey of the one user admitted: any local
	// user could otherwise read every envelope or publish forged events.
	NkeyUser string
	// ClusterAddr, when set, makes this a cluster node: the host:port its
	// routes listen on. Routes are the other nodes' ClusterAddrs.
	ClusterAddr string
	Routes      []string
	// RouteUser and RoutePassword authenticate routes both ways: a node
	// that joined without them would receive every replicated message.
	RouteUser, RoutePassword string
	// Sync is how often the store is fsynced: 0 is the NATS default (two
	// minutes), a negative value means after every write ("always").
	Sync time.Duration
	// Log receives the server's errors and warnings once it is ready.
	Log *slog.Logger
}

// ClusterName is the name of every dev cluster.
const ClusterName = "hookgate-dev"

// Start runs the node and waits until it accepts connections.
func (n NATSNode) Start(wait time.Duration) (*server.Server, error) {
	host, port, err := splitPort("nats-addr", n.Addr)
	if err != nil {
		return nil, err
	}
	opts := &server.Options{
		ServerName: n.Name,
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   n.Dir,
		NoSigs:     true,
		Nkeys:      []*server.NkeyUser{{Nkey: n.NkeyUser}},
		// Envelopes are larger than the bodies they carry; 8 MiB leaves room
		// for the 1 MiB default body limit and for larger configured limits.
		MaxPayload: 8 << 20,
	}
	switch {
	case n.Sync < 0:
		opts.SyncAlways = true
	case n.Sync > 0:
		opts.SyncInterval = n.Sync
	}
	if n.ClusterAddr != "" {
		chost, cport, err := splitPort("nats-cluster-addr", n.ClusterAddr)
		if err != nil {
			return nil, err
		}
		opts.Cluster = server.ClusterOpts{
			Name: ClusterName, Host: chost, Port: cport,
			Username: n.RouteUser, Password: n.RoutePassword,
		}
		for _, r := range n.Routes {
			opts.Routes = append(opts.Routes, &url.URL{
				Scheme: "nats-route", Host: r, User: url.UserPassword(n.RouteUser, n.RoutePassword),
			})
		}
	}
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded nats %s: %w", n.Name, err)
	}
	// Until it is ready the server's errors become the one start-up error
	// (a port in use); after that they go to the log.
	startup := logs.NewNATS(slog.New(slog.DiscardHandler))
	s.SetLoggerV2(startup, false, false, false)
	go s.Start()
	if !s.ReadyForConnections(wait) {
		s.Shutdown()
		if msg := startup.FirstError(); msg != "" {
			return nil, fmt.Errorf("embedded nats %s: %s", n.Name, msg)
		}
		return nil, fmt.Errorf("embedded nats %s: not ready on %s in %s", n.Name, n.Addr, wait)
	}
	s.SetLoggerV2(logs.NewNATS(n.Log), false, false, false)
	return s, nil
}

// splitPort parses host:port for the named flag. Port 0 means a random
// port (NATS itself reads 0 as its default).
func splitPort(flag, addr string) (string, int, error) {
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("flag --%s %q: %w", flag, addr, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("flag --%s %q: bad port", flag, addr)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	return host, port, nil
}

// ParseSync reads a --nats-sync value: "default", "always" (fsync after
// every write) or a positive duration.
func ParseSync(v string) (time.Duration, error) {
	switch v {
	case "", "default":
		return 0, nil
	case "always":
		return -1, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("flag --nats-sync %q: want default, always or a positive duration such as 10s", v)
	}
	return d, nil
}
