package serve

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Check is one readiness condition. A check that returns a note but no
// error is ready but worth saying (e.g. "stale config").
type Check struct {
	Name string
	Fn   func(ctx context.Context) (note string, err error)
}

// NewRegistry returns a Prometheus registry with the Go and process
// collectors; each process makes one and passes it to its parts.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// HealthMux serves /healthz (the process is alive) and /readyz (every check
// passes) on mux (a new one when nil); with a registry it also serves
// /metrics.
func HealthMux(mux *http.ServeMux, checks []Check, reg *prometheus.Registry) *http.ServeMux {
	if mux == nil {
		mux = http.NewServeMux()
	}
	mux.HandleFunc("GET /healthz", Healthz)
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		var b strings.Builder
		ready := true
		for _, c := range checks {
			note, err := c.Fn(ctx)
			switch {
			case err != nil:
				ready = false
				fmt.Fprintf(&b, "%s: not ready: %v\n", c.Name, err)
			case note != "":
				fmt.Fprintf(&b, "%s: ok (%s)\n", c.Name, note)
			default:
				fmt.Fprintf(&b, "%s: ok\n", c.Name)
			}
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !ready {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_, _ = w.Write([]byte(b.String()))
	})
	if reg != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	}
	return mux
}

// Healthz answers liveness: 200 while the process runs.
func Healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

// NATSCheck is ready while the connection is connected.
func NATSCheck(nc *nats.Conn) Check {
	return Check{Name: "nats", Fn: func(context.Context) (string, error) {
		if s := nc.Status(); s != nats.CONNECTED {
			return "", fmt.Errorf("nats connection %s", s)
		}
		return "", nil
	}}
}
