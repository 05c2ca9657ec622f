package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// httpServer is a bound listener and the server that will serve it. Binding
// happens at construction so a port in use fails start-up at once, with the
// flag's name in the error.
type httpServer struct {
	// tls, when set, serves TLS (HTTP/2 by ALPN) instead of cleartext.
	tls  *tls.Config
	name string
	ln   net.Listener
	srv  *http.Server
	log  *slog.Logger
}

// serverLimits guard a server against slow or oversized requests
// (slowloris): headers must arrive quickly and stay small.
type serverLimits struct {
	readHeaderTimeout time.Duration
	readTimeout       time.Duration
	writeTimeout      time.Duration
	idleTimeout       time.Duration
	maxHeaderBytes    int
}

var adminLimits = serverLimits{
	readHeaderTimeout: 10 * time.Second,
	idleTimeout:       2 * time.Minute,
	maxHeaderBytes:    64 << 10,
}

func listenHTTP(name, flag, addr string, h http.Handler, lim serverLimits, log *slog.Logger) (*httpServer, error) {
	ln, err := listen(flag, addr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return serveOn(name, ln, h, lim, log), nil
}

// listen binds addr, naming the flag that set it when that fails.
func listen(flag, addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("flag --%s %q: %w", flag, addr, err)
	}
	return ln, nil
}

// serveOn prepares a server for an already bound listener.
func serveOn(name string, ln net.Listener, h http.Handler, lim serverLimits, log *slog.Logger) *httpServer {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: lim.readHeaderTimeout,
		ReadTimeout:       lim.readTimeout,
		WriteTimeout:      lim.writeTimeout,
		IdleTimeout:       lim.idleTimeout,
		MaxHeaderBytes:    lim.maxHeaderBytes,
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
	return &httpServer{name: name, ln: ln, srv: srv, log: log}
}

// URL is the server's base URL on its bound address.
func (s *httpServer) URL() string {
	if s.tls != nil {
		return "https://" + s.ln.Addr().String()
	}
	return "http://" + s.ln.Addr().String()
}

// Run serves until ctx ends, then drains in-flight requests for up to 10 s.
func (s *httpServer) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() {
		if s.tls != nil {
			s.srv.TLSConfig = s.tls
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
func (s *httpServer) Close() { _ = s.ln.Close() }
