package dev

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"time"

	"github.com/hookgate/hookgate/cmd/hookgate/app/logs"
	"github.com/nats-io/nats-server/v2/server"
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

// startEtcd runs a single-member etcd with its data in dir. Its warnings
// and errors go to log.
func startEtcd(dir, clientAddr, peerAddr string, log *slog.Logger) (*embed.Etcd, string, error) {
	cfg := embed.NewConfig()
	cfg.Name = "hookgate-dev"
	cfg.Dir = dir
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(logs.Zap(log, "etcd", zapcore.WarnLevel, etcdNoise...))
	client := url.URL{Scheme: "http", Host: clientAddr}
	peer := url.URL{Scheme: "http", Host: peerAddr}
	cfg.ListenClientUrls = []url.URL{client}
	cfg.AdvertiseClientUrls = []url.URL{client}
	cfg.ListenPeerUrls = []url.URL{peer}
	cfg.AdvertisePeerUrls = []url.URL{peer}
	cfg.InitialCluster = cfg.Name + "=" + peer.String()
	// The token only matters when the data folder is new: it gives a fresh
	// cluster its own id, so a node's cached configuration from a wiped
	// folder is never mistaken for this cluster's history.
	cfg.InitialClusterToken = "hookgate-dev-" + rand.Text()
	// A single member needs no long election timeout; a short one makes the
	// dev server ready in well under a second.
	cfg.TickMs = 20
	cfg.ElectionMs = 100
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, "", fmt.Errorf("embedded etcd: %w", err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, "", fmt.Errorf("embedded etcd: %w", err)
	case <-time.After(30 * time.Second):
		e.Close()
		return nil, "", errors.New("embedded etcd: not ready in 30s")
	}
	return e, "http://" + e.Clients[0].Addr().String(), nil
}

// startNATS runs a JetStream server storing in dir that admits only the
// nkey user natsUser. Port 0 means a random port (NATS itself reads 0 as
// its default, 4222).
func startNATS(dir, addr, natsUser string, log *slog.Logger) (*server.Server, error) {
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("flag --nats-addr %q: %w", addr, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 0 || port > 65535 {
		return nil, fmt.Errorf("flag --nats-addr %q: bad port", addr)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	s, err := server.NewServer(&server.Options{
		ServerName: "hookgate-dev",
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   dir,
		NoSigs:     true,
		// Any local user could otherwise read every envelope or publish
		// forged events: only holders of the data folder's seed connect.
		Nkeys: []*server.NkeyUser{{Nkey: natsUser}},
		// Envelopes are larger than the bodies they carry; 8 MiB leaves room
		// for the 1 MiB default body limit and for larger configured limits.
		MaxPayload: 8 << 20,
	})
	if err != nil {
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	// Until it is ready the server's errors become the one start-up error
	// (a port in use); after that they go to the log.
	startup := logs.NewNATS(slog.New(slog.DiscardHandler))
	s.SetLoggerV2(startup, false, false, false)
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		if msg := startup.FirstError(); msg != "" {
			return nil, fmt.Errorf("embedded nats: %s", msg)
		}
		return nil, fmt.Errorf("embedded nats: not ready on %s in 10s", addr)
	}
	s.SetLoggerV2(logs.NewNATS(log), false, false, false)
	return s, nil
}
