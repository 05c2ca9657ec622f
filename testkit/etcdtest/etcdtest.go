// Package etcdtest starts a real embedded etcd server for tests, on random
// loopback ports with its data in a temporary folder.
package etcdtest

import (
	"crypto/rand"
	"net/url"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// Server is a running single-member etcd owned by one test.
type Server struct {
	Etcd *embed.Etcd
	// Endpoint is the client URL, e.g. "http://127.0.0.1:41234".
	Endpoint string
}

// Start runs etcd that stops when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	cfg := embed.NewConfig()
	cfg.Dir = t.TempDir()
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	local := url.URL{Scheme: "http", Host: "127.0.0.1:0"}
	cfg.ListenClientUrls = []url.URL{local}
	cfg.AdvertiseClientUrls = []url.URL{local}
	cfg.ListenPeerUrls = []url.URL{local}
	cfg.AdvertisePeerUrls = []url.URL{local}
	cfg.InitialCluster = cfg.Name + "=" + local.String()
	// etcd derives its cluster id from the peer URLs and this token; a
	// token of its own gives every test server its own cluster id.
	cfg.InitialClusterToken = "etcdtest-" + rand.Text()
	// Short ticks make a single member elect itself in milliseconds.
	cfg.TickMs = 10
	cfg.ElectionMs = 50
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		t.Fatalf("etcdtest: start: %v", err)
	}
	t.Cleanup(e.Close)
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		t.Fatalf("etcdtest: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatalf("etcdtest: not ready in 20s")
	}
	return &Server{Etcd: e, Endpoint: "http://" + e.Clients[0].Addr().String()}
}

// Client returns a client that closes when the test ends.
func (s *Server) Client(t testing.TB) *clientv3.Client {
	t.Helper()
	c, err := clientv3.New(clientv3.Config{
		Endpoints:   []string{s.Endpoint},
		DialTimeout: 5 * time.Second,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		t.Fatalf("etcdtest: client: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}
