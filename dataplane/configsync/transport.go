package configsync

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"
)

// newTransport speaks HTTP/2 only: cleartext (h2c, prior knowledge) for
// http:// URLs, TLS with an optional client certificate for https://. Pings
// on a silent connection detect a control plane that vanished without
// closing it.
func newTransport(cfg Config) (*http.Transport, error) {
	// Validate made every URL parse and share one scheme.
	u, err := url.Parse(cfg.URLs()[0])
	if err != nil {
		return nil, fmt.Errorf("configsync: ControlPlaneURL %q: %w", cfg.URLs()[0], err)
	}
	t := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout: 10 * time.Second,
		ForceAttemptHTTP2:   true,
		HTTP2:               &http.HTTP2Config{SendPingTimeout: cfg.KeepAlive, PingTimeout: cfg.KeepAlive},
		Protocols:           new(http.Protocols),
	}
	if u.Scheme == "http" {
		t.Protocols.SetUnencryptedHTTP2(true)
		return t, nil
	}
	t.Protocols.SetHTTP2(true)
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("configsync: CAFile: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("configsync: CAFile %s: no PEM certificate", cfg.CAFile)
		}
		tc.RootCAs = pool
	}
	if cfg.CertFile != "" {
		if _, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile); err != nil {
			return nil, fmt.Errorf("configsync: CertFile %s, KeyFile %s: %w", cfg.CertFile, cfg.KeyFile, err)
		}
		// Read at each handshake, so a renewed certificate is used at the
		// next reconnection without a restart.
		tc.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
			if err != nil {
				return nil, fmt.Errorf("load client certificate %s: %w", cfg.CertFile, err)
			}
			return &cert, nil
		}
	}
	t.TLSClientConfig = tc
	return t, nil
}
