// Package ingress is the edge's HTTP ingress: it routes POST /in/{tenant}/
// {webhook_id}, authenticates the call, wraps it in an envelope and publishes
// it to JetStream before answering. It never reads etcd; its configuration
// arrives from the control plane.
package ingress

import (
	"net/http"
	"strings"
)

// Edge answers inbound webhook calls.
type Edge struct {
	mux *http.ServeMux
}

// New returns an Edge serving the inbound paths of DESIGN.md.
func New() *Edge {
	e := &Edge{mux: http.NewServeMux()}
	e.mux.HandleFunc("/in/", e.serveInbound)
	return e
}

// ServeHTTP implements http.Handler.
func (e *Edge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.mux.ServeHTTP(w, r)
}

func (e *Edge) serveInbound(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET, POST")
		writeError(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	if parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/in/"), "/"); len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		writeError(w, http.StatusNotFound, "no such webhook")
		return
	}
	// Until the edge holds a configuration it cannot route anything: the
	// sender should retry (DESIGN.md, status 503).
	w.Header().Set("Retry-After", "5")
	writeError(w, http.StatusServiceUnavailable, "edge has no configuration yet")
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(`{"error":"` + msg + `"}` + "\n"))
}
