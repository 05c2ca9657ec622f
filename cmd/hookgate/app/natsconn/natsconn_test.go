package natsconn_test

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/cmd/hookgate/app/natsconn"
	"github.com/hookgate/hookgate/dataplane/streams"
	"github.com/hookgate/hookgate/testkit/tlstest"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"
)

func runServer(t *testing.T, opts *server.Options) string {
	t.Helper()
	opts.Host, opts.Port, opts.NoSigs, opts.NoLog = "127.0.0.1", -1, true, true
	s, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats not ready")
	}
	t.Cleanup(s.Shutdown)
	return s.ClientURL()
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCredentials connects with each kind of credential the flags take to
// a real NATS server that requires it, and is refused without it.
func TestCredentials(t *testing.T) {
	dir := t.TempDir()
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := kp.Seed()
	pub, _ := kp.PublicKey()
	seedFile := writeFile(t, dir, "user.nk", seed)
	other, _ := nkeys.CreateUser()
	otherSeed, _ := other.Seed()
	otherFile := writeFile(t, dir, "other.nk", otherSeed)

	userURL := runServer(t, &server.Options{Username: "hookgate", Password: "s3cret"})
	nkeyURL := runServer(t, &server.Options{Nkeys: []*server.NkeyUser{{Nkey: pub}}})
	tests := []struct {
		name string
		cfg  natsconn.Config
		ok   bool
	}{
		{"user and password", natsconn.Config{URL: userURL, User: "hookgate", Password: "s3cret"}, true},
		{"wrong password", natsconn.Config{URL: userURL, User: "hookgate", Password: "guess"}, false},
		{"no credentials for a user server", natsconn.Config{URL: userURL}, false},
		{"nkey seed", natsconn.Config{URL: nkeyURL, NkeyFile: seedFile}, true},
		{"another nkey", natsconn.Config{URL: nkeyURL, NkeyFile: otherFile}, false},
		{"no credentials for an nkey server", natsconn.Config{URL: nkeyURL}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nc, err := tt.cfg.Connect("test")
			if err == nil {
				nc.Close()
			}
			if (err == nil) != tt.ok {
				t.Fatalf("connect: %v, want ok=%v", err, tt.ok)
			}
			if err != nil && strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("error shows the password: %v", err)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  natsconn.Config
		want string
	}{
		{"no url", natsconn.Config{}, "--nats-url"},
		{"two credentials", natsconn.Config{URL: "nats://x", NkeyFile: "a", CredsFile: "b"}, "one kind"},
		{"user without password", natsconn.Config{URL: "nats://x", User: "u"}, "--nats-password"},
		{"cert without key", natsconn.Config{URL: "nats://x", CertFile: "c"}, "--nats-tls-key"},
		{"missing seed file", natsconn.Config{URL: "nats://x", NkeyFile: "/nonexistent/seed"}, "--nats-nkey"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.cfg.Options("test")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Options: %v, want an error naming %q", err, tt.want)
			}
		})
	}
}

// TestTLS connects over TLS to a server that verifies client certificates.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "test ca")
	caFile := writeFile(t, dir, "ca.pem", ca.PEM)
	srvCert, srvKey := ca.Issue(t, tlstest.Options{Serial: 2, CommonName: "server"}).WriteFiles(t, dir, "server")
	cliCert, cliKey := ca.Issue(t, tlstest.Options{Serial: 3, CommonName: "client", Client: true}).WriteFiles(t, dir, "client")
	tlsCfg, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: srvCert, KeyFile: srvKey, CaFile: caFile, Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	tlsCfg.MinVersion = tls.VersionTLS12
	url := runServer(t, &server.Options{TLS: true, TLSConfig: tlsCfg, TLSVerify: true})
	url = strings.Replace(url, "nats://", "tls://", 1)

	nc, err := natsconn.Config{URL: url, CAFile: caFile, CertFile: cliCert, KeyFile: cliKey}.Connect("test")
	if err != nil {
		t.Fatalf("connect with CA and client certificate: %v", err)
	}
	nc.Close()
	if nc, err := (natsconn.Config{URL: url, CAFile: caFile}).Connect("test"); err == nil {
		nc.Close()
		t.Fatalf("a server that verifies clients admitted one without a certificate")
	}
	if nc, err := (natsconn.Config{URL: url, CertFile: cliCert, KeyFile: cliKey}).Connect("test"); err == nil {
		nc.Close()
		t.Fatalf("connected without trusting the server's CA")
	}
}

func TestStreamsConfig(t *testing.T) {
	d := natsconn.DefaultStreams()
	cfg, err := d.Config()
	if err != nil || cfg.Replicas != 1 || cfg.AttemptsMaxAge != streams.DefaultAttemptsMaxAge {
		t.Fatalf("defaults: %+v, %v", cfg, err)
	}
	r3 := d
	r3.Replicas, r3.AttemptsMaxAge = 3, 90*24*time.Hour
	if cfg, err := r3.Config(); err != nil || cfg.Replicas != 3 || cfg.AttemptsConfig().MaxAge != 90*24*time.Hour ||
		cfg.DeliveriesConfig().Replicas != 3 {
		t.Fatalf("R3, 90 days: %+v, %v", cfg, err)
	}
	for _, tc := range []struct {
		edit func(*natsconn.Streams)
		want string
	}{
		{func(s *natsconn.Streams) { s.Storage = "tape" }, "--stream-storage"},
		{func(s *natsconn.Streams) { s.AttemptsMaxAge = -time.Second }, "--attempts-max-age"},
		{func(s *natsconn.Streams) { s.Replicas = 7 }, "replicas 7"},
	} {
		s := d
		tc.edit(&s)
		if _, err := s.Config(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an error naming %s", s, err, tc.want)
		}
	}
}
