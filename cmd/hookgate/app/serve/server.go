// Package serve runs the HTTP servers every Hookgate process has: a port
// bound at construction (so a port in use fails start-up at once, naming its
// flag), HTTP/1.1 and cleartext HTTP/2 on it, limits against slow or huge
// requests, graceful shutdown, and the /healthz, /readyz and /metrics
// endpoints built from readiness checks.
package serve

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"
)

// Server is a bound listener and the server that will serve it.
type Server struct {
	// TLS, when set before Run, serves TLS (HTTP/2 by ALPN) instead of
	// cleartext.
	TLS  *tls.Config
	name string
	ln   net.Listener
	srv  *http.Server
	log  *slog.Logger
}

// Limits guard a server against slow or oversized requests (slowloris):
// headers must arrive quickly and stay small.
type Limits struct {
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	MaxHeaderBytes    int
}

// AdminLimits are the admin and ops ports' limits. The admin port carries
// the long-lived config stream, so it has no server-wide read or write
// timeout; WithReadDeadline bounds every other request instead.
var AdminLimits = Limits{
	ReadHeaderTimeout: 10 * time.Second,
	IdleTimeout:       2 * time.Minute,
	MaxHeaderBytes:    64 << 10,
}

// EdgeLimits keep slow or huge requests from tying up the edge.
var EdgeLimits = Limits{
	ReadHeaderTimeout: 5 * time.Second,
	ReadTimeout:       30 * time.Second,
	WriteTimeout:      30 * time.Second,
	IdleTimeout:       90 * time.Second,
	MaxHeaderBytes:    32 << 10,
}

// ListenHTTP binds addr and prepares a server for it.
func ListenHTTP(name, flag, addr string, h http.Handler, lim Limits, log *slog.Logger) (*Server, error) {
	ln, err := Listen(flag, addr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return On(name, ln, h, lim, log), nil
}

// Listen binds addr, naming the flag that set it when that fails.
func Listen(flag, addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("flag --%s %q: %w", flag, addr, err)
	}
	return ln, nil
}

// On prepares a server for an already bound listener.
func On(name string, ln net.Listener, h http.Handler, lim Limits, log *slog.Logger) *Server {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: lim.ReadHeaderTimeout,
		ReadTimeout:       lim.ReadTimeout,
		WriteTimeout:      lim.WriteTimeout,
		IdleTimeout:       lim.IdleTimeout,
		MaxHeaderBytes:    lim.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	// HTTP/1.1 and cleartext HTTP/2 (h2c) on one port, so gRPC clients work
	// without TLS on a trusted network.
	srv.Protocols = new(http.Protocols)
	srv.Protocols.SetHTTP1(true)
	srv.Protocols.SetUnencryptedHTTP2(true)
	srv.Protocols.SetHTTP2(true)
	// Pings find dead peers of long-lived streams (the config stream) that
	// would otherwise hold a handler until the connection times out.
	srv.HTTP2 = &http.HTTP2Config{SendPingTimeout: 30 * time.Second, PingTimeout: 15 * time.Second}
	return &Server{name: name, ln: ln, srv: srv, log: log}
}

// URL is the server's base URL on its bound address.
func (s *Server) URL() string {
	if s.TLS != nil {
		return "https://" + s.ln.Addr().String()
	}
	return "http://" + s.ln.Addr().String()
}

// Addr is the bound address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Run serves until ctx ends, then drains in-flight requests for up to 10 s.
func (s *Server) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() {
		if s.TLS != nil {
			s.srv.TLSConfig = s.TLS
			errc <- s.srv.ServeTLS(s.ln, "", "")
			return
		}
		errc <- s.srv.Serve(s.ln)
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("%s: serve: %w", s.name, err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(shutdownCtx); err != nil {
		s.log.Warn("server shutdown", "server", s.name, "err", err)
		_ = s.srv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("%s: serve: %w", s.name, err)
	}
	return nil
}

// Close releases the listener of a server that never ran.
func (s *Server) Close() { _ = s.ln.Close() }

// WithReadDeadline gives every request but the long-lived ones (long
// reports which) d to be read in full, the read timeout a server carrying a
// stream cannot set for all: a slow body, sent with or without a token,
// cannot hold a connection open.
func WithReadDeadline(next http.Handler, d time.Duration, long func(*http.Request) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !long(r) {
			// An error means the connection cannot take deadlines (a
			// test recorder); the server's other limits still hold.
			_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(d))
		}
		next.ServeHTTP(w, r)
	})
}

// Loopback reports whether host:port names a loopback address.
func Loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// DefaultNodeID names a process in the fleet view and in logs: role, host and pid.
func DefaultNodeID(role string) string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "node"
	}
	return fmt.Sprintf("%s-%s-%d", role, host, os.Getpid())
}
