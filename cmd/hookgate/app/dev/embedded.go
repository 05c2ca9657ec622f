package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// startEtcd runs a single-member etcd with its data in dir.
func startEtcd(dir, clientAddr, peerAddr string) (*embed.Etcd, string, error) {
	cfg := embed.NewConfig()
	cfg.Name = "hookgate-dev"
	cfg.Dir = dir
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
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

// startNATS runs a JetStream server storing in dir. Port 0 means a random
// port (NATS itself reads 0 as its default, 4222).
func startNATS(dir, addr string) (*server.Server, error) {
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
		// Envelopes are larger than the bodies they carry; 8 MiB leaves room
		// for the 1 MiB default body limit and for larger configured limits.
		MaxPayload: 8 << 20,
	})
	if err != nil {
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	logger := &natsLogger{}
	s.SetLoggerV2(logger, false, false, false)
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		if msg := logger.fatal(); msg != "" {
			return nil, fmt.Errorf("embedded nats: %s", msg)
		}
		return nil, fmt.Errorf("embedded nats: not ready on %s in 10s", addr)
	}
	return s, nil
}

// natsLogger keeps the embedded server quiet but remembers why it failed, so
// a port in use becomes one clear error instead of a silent time-out.
type natsLogger struct {
	mu  sync.Mutex
	msg string
}

func (l *natsLogger) record(format string, v ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.msg == "" {
		l.msg = fmt.Sprintf(format, v...)
	}
}

func (l *natsLogger) fatal() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.msg
}

func (l *natsLogger) Noticef(string, ...any)         {}
func (l *natsLogger) Warnf(string, ...any)           {}
func (l *natsLogger) Debugf(string, ...any)          {}
func (l *natsLogger) Tracef(string, ...any)          {}
func (l *natsLogger) Fatalf(format string, v ...any) { l.record(format, v...) }
func (l *natsLogger) Errorf(format string, v ...any) { l.record(format, v...) }
