package serve_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookgate/hookgate/cmd/hookgate/app/serve"
	"github.com/hookgate/hookgate/testkit/tlstest"
)

// testCA signs server certificates for 127.0.0.1.
type testCA struct{ *tlstest.CA }

func newTestCA(t *testing.T) testCA { return testCA{tlstest.NewCA(t, "hookgate test CA")} }

// pair is a server certificate and key in PEM.
type pair struct{ cert, key []byte }

func (ca testCA) issue(t *testing.T, serial int64) pair {
	t.Helper()
	l := ca.Issue(t, tlstest.Options{Serial: serial})
	return pair{cert: l.CertPEM, key: l.KeyPEM}
}

// writeAtomic replaces path as renewal tools do: a new file renamed over
// the old one.
func writeAtomic(t *testing.T, path string, data []byte) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// syncBuffer is a log sink tests read while handshakes write.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func servedSerial(t *testing.T, r *serve.CertReloader) int64 {
	t.Helper()
	c, err := r.GetCertificate(&tls.ClientHelloInfo{})
	if err != nil {
		t.Fatalf("GetCertificate: %v", err)
	}
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return leaf.SerialNumber.Int64()
}

func TestCertReloader(t *testing.T) {
	t.Parallel()
	ca := newTestCA(t)
	p1, p2, p3 := ca.issue(t, 101), ca.issue(t, 102), ca.issue(t, 103)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	writeAtomic(t, certFile, p1.cert)
	writeAtomic(t, keyFile, p1.key)
	var logBuf syncBuffer
	log := slog.New(slog.NewTextHandler(&logBuf, nil))
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	r, err := serve.NewCertReloader("listen-tls-cert", "listen-tls-key", certFile, keyFile, log, clock)
	if err != nil {
		t.Fatal(err)
	}
	if got := servedSerial(t, r); got != 101 {
		t.Fatalf("first serial %d, want 101", got)
	}

	steps := []struct {
		name       string
		cert, key  []byte // nil leaves the file as it is
		remove     bool
		advance    time.Duration
		wantSerial int64
		wantLog    string
	}{
		{name: "swap not looked at within the interval", cert: p2.cert, key: p2.key, advance: 0, wantSerial: 101},
		{name: "swap served after the interval", advance: serve.CertCheckInterval, wantSerial: 102, wantLog: "tls certificate reloaded"},
		{name: "mismatched pair keeps the old one", cert: p3.cert, advance: serve.CertCheckInterval, wantSerial: 102, wantLog: "private key does not match"},
		{name: "matching key completes the pair", key: p3.key, advance: serve.CertCheckInterval, wantSerial: 103},
		{name: "garbage key keeps the old one", key: []byte("not a key"), advance: serve.CertCheckInterval, wantSerial: 103, wantLog: "failed to find any PEM data in key input"},
		{name: "removed files keep the old one", remove: true, advance: serve.CertCheckInterval, wantSerial: 103, wantLog: "tls certificate files unreadable"},
		{name: "files back", cert: p1.cert, key: p1.key, advance: serve.CertCheckInterval, wantSerial: 101},
	}
	for _, st := range steps {
		if st.remove {
			if err := os.Remove(keyFile); err != nil {
				t.Fatal(err)
			}
		}
		if st.cert != nil {
			writeAtomic(t, certFile, st.cert)
		}
		if st.key != nil {
			writeAtomic(t, keyFile, st.key)
		}
		before := len(logBuf.String())
		clock.Advance(st.advance)
		if got := servedSerial(t, r); got != st.wantSerial {
			t.Fatalf("%s: serial %d, want %d", st.name, got, st.wantSerial)
		}
		logged := logBuf.String()[before:]
		if st.wantLog != "" && !strings.Contains(logged, st.wantLog) {
			t.Fatalf("%s: log %q lacks %q", st.name, logged, st.wantLog)
		}
	}
	// No key material in any log line.
	for _, k := range [][]byte{p1.key, p2.key, p3.key} {
		body := strings.Split(string(k), "\n")[1]
		if strings.Contains(logBuf.String(), body) {
			t.Fatal("log holds key material")
		}
	}
	if strings.Contains(logBuf.String(), "PRIVATE KEY") {
		t.Fatalf("log mentions the key's PEM: %s", logBuf.String())
	}
}

func TestNewCertReloaderRefusesBadPair(t *testing.T) {
	t.Parallel()
	ca := newTestCA(t)
	p1, p2 := ca.issue(t, 1), ca.issue(t, 2)
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		writeAtomic(t, path, data)
		return path
	}
	tests := []struct {
		name      string
		cert, key string
	}{
		{"missing cert", filepath.Join(dir, "nope.crt"), write("k1", p1.key)},
		{"missing key", write("c1", p1.cert), filepath.Join(dir, "nope.key")},
		{"mismatched", write("c1", p1.cert), write("k2", p2.key)},
		{"garbage cert", write("junk", []byte("junk")), write("k1", p1.key)},
		{"key as cert", write("k1", p1.key), write("c1", p1.cert)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := serve.NewCertReloader("tls-cert", "tls-key", tt.cert, tt.key, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
			if err == nil || !strings.Contains(err.Error(), "flags --tls-cert/--tls-key") {
				t.Fatalf("err = %v, want one naming the flags", err)
			}
			if strings.Contains(err.Error(), "PRIVATE KEY") {
				t.Fatalf("error holds key material: %v", err)
			}
		})
	}
}

// TestServerTLS serves HTTPS with the reloader: HTTP/2 by ALPN, verified
// against the CA, refused by a client trusting another CA.
func TestServerTLS(t *testing.T) {
	t.Parallel()
	ca, other := newTestCA(t), newTestCA(t)
	p := ca.issue(t, 7)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	writeAtomic(t, certFile, p.cert)
	writeAtomic(t, keyFile, p.key)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	r, err := serve.NewCertReloader("c", "k", certFile, keyFile, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := serve.ListenHTTP("test", "addr", "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.Proto)
	}), serve.EdgeLimits, log)
	if err != nil {
		t.Fatal(err)
	}
	srv.TLS = r.TLSConfig()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	if !strings.HasPrefix(srv.URL(), "https://") {
		t.Fatalf("URL %s, want https", srv.URL())
	}
	client := func(caPEM []byte) *http.Client {
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(caPEM)
		return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
	}
	resp, err := client(ca.PEM).Get(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Proto != "HTTP/2.0" || string(body) != "HTTP/2.0" {
		t.Fatalf("proto %s (server saw %s), want HTTP/2.0", resp.Proto, body)
	}
	if _, err := client(other.PEM).Get(srv.URL()); err == nil || !strings.Contains(err.Error(), "certificate signed by unknown authority") {
		t.Fatalf("client of another CA: err = %v, want an unknown authority", err)
	}
}
