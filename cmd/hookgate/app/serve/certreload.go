package serve

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Clock tells the certificate reloader the time.
type Clock interface{ Now() time.Time }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// CertCheckInterval is how often, at most, a CertReloader looks at its
// files: a stat of each at the first handshake after it.
const CertCheckInterval = time.Second

// CertReloader serves a certificate and key kept in two PEM files and
// follows their replacement without a restart (a renewal by cert-manager
// or certbot). At a handshake, at most once a CertCheckInterval, it stats
// both files; when either changed (another file, modification time or
// size) it loads the pair again. A pair that does not load (half written,
// mismatched) is logged and the last good pair keeps serving; it is tried
// again when the files change again.
type CertReloader struct {
	certFile, keyFile string
	log               *slog.Logger
	clock             Clock
	// cert is the last good pair, read without the lock by handshakes.
	cert atomic.Pointer[tls.Certificate]

	// mu guards what follows; it is held while the files are looked at.
	mu       sync.Mutex
	next     time.Time
	certInfo os.FileInfo
	keyInfo  os.FileInfo
}

// NewCertReloader loads the pair named by the flags certFlag and keyFlag
// (for errors) from certFile and keyFile; a pair that does not load is an
// error naming both flags. A nil clock is the system's.
func NewCertReloader(certFlag, keyFlag, certFile, keyFile string, log *slog.Logger, clock Clock) (*CertReloader, error) {
	if clock == nil {
		clock = systemClock{}
	}
	r := &CertReloader{certFile: certFile, keyFile: keyFile, log: log, clock: clock}
	ci, ki, err := r.stat()
	if err != nil {
		return nil, fmt.Errorf("flags --%s/--%s: %w", certFlag, keyFlag, err)
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("flags --%s/--%s: %w", certFlag, keyFlag, err)
	}
	r.cert.Store(&cert)
	r.certInfo, r.keyInfo = ci, ki
	r.next = clock.Now().Add(CertCheckInterval)
	return r, nil
}

// GetCertificate is tls.Config.GetCertificate: the last good pair, after
// a look at the files when one is due.
func (r *CertReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.maybeReload()
	return r.cert.Load(), nil
}

// TLSConfig is a server configuration serving r's pair, TLS 1.2 or later,
// offering HTTP/2 and HTTP/1.1 by ALPN.
func (r *CertReloader) TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: r.GetCertificate,
		NextProtos:     []string{"h2", "http/1.1"},
	}
}

func (r *CertReloader) maybeReload() {
	now := r.clock.Now()
	// TryLock: a handshake never waits for another one's look at the
	// files; it serves the pair in hand.
	if !r.mu.TryLock() {
		return
	}
	defer r.mu.Unlock()
	if now.Before(r.next) {
		return
	}
	r.next = now.Add(CertCheckInterval)
	ci, ki, err := r.stat()
	if err != nil {
		if r.certInfo != nil {
			r.log.Warn("tls certificate files unreadable; serving the previous certificate", "cert_file", r.certFile, "key_file", r.keyFile, "err", err)
		}
		// Remembered as unknown, so the files' return is a change.
		r.certInfo, r.keyInfo = nil, nil
		return
	}
	if same(r.certInfo, ci) && same(r.keyInfo, ki) {
		return
	}
	// The stats are taken before the read: a write that ends after them
	// changes them again and is read at the next look.
	r.certInfo, r.keyInfo = ci, ki
	// The error of a bad pair names no key material: crypto/tls reports
	// what is wrong (no PEM block, key does not match), not the bytes.
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		r.log.Error("tls certificate reload; serving the previous certificate", "cert_file", r.certFile, "key_file", r.keyFile, "err", err)
		return
	}
	r.cert.Store(&cert)
	attrs := []any{"cert_file", r.certFile}
	if cert.Leaf != nil {
		attrs = append(attrs, "serial", cert.Leaf.SerialNumber.String(), "not_after", cert.Leaf.NotAfter)
	}
	r.log.Info("tls certificate reloaded", attrs...)
}

func (r *CertReloader) stat() (os.FileInfo, os.FileInfo, error) {
	ci, err := os.Stat(r.certFile)
	if err != nil {
		return nil, nil, err
	}
	ki, err := os.Stat(r.keyFile)
	if err != nil {
		return nil, nil, err
	}
	return ci, ki, nil
}

// same reports whether b is the file a was, unchanged.
func same(a, b os.FileInfo) bool {
	return a != nil && os.SameFile(a, b) && a.ModTime().Equal(b.ModTime()) && a.Size() == b.Size()
}
