package ingress

import (
	"net/http"
	"strings"
	"time"
)

// PublicHandler returns the handler of the edge's public port: /in/… goes
// to the edge, GET /healthz answers 200 while the process serves, GET
// /readyz answers Ready, and every other path 404. It matches the path as
// received, without net/http.ServeMux's cleaning, so /in/acme/../acme/wh_…
// or //in/… is a 404 and never a redirect (a redirect would echo ?key= in
// Location). The expensive checks (NATS, STREAM.INFO) belong on the ops
// port; nothing here does I/O. With messages set, MessagesPath (Connect,
// gRPC and gRPC-Web: all POST to the same path) goes to it.
func (e *Edge) PublicHandler(opts ...PublicOption) http.Handler {
	p := public{e: e}
	for _, o := range opts {
		o(&p)
	}
	return p
}

// PublicOption adds a service to the public port.
type PublicOption func(*public)

// WithMessages serves MessageService.SendMessage at MessagesPath.
func WithMessages(m *Messages) PublicOption { return func(p *public) { p.messages = m } }

type public struct {
	e        *Edge
	messages *Messages // nil: MessagesPath is a 404 like any other
}

func (p public) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.EscapedPath()
	switch {
	case strings.HasPrefix(path, inboundPrefix):
		p.e.ServeHTTP(w, r)
	case path == MessagesPath && p.messages != nil:
		p.messages.ServeHTTP(w, r)
	case path == "/healthz" || path == "/readyz":
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			p.e.respond(w, outcome{reason: reasonMethod}, nil)
			return
		}
		ok, why := true, ""
		if path == "/readyz" {
			ok, why = p.e.Ready()
		}
		writeProbe(w, ok, why)
	default:
		p.e.respond(w, outcome{reason: reasonNoRoute}, nil)
		p.e.metrics.byReason[reasonNoRoute].Inc()
	}
}

const inboundPrefix = "/in/"

func writeProbe(w http.ResponseWriter, ok bool, why string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	if ok {
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
		return
	}
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = w.Write([]byte(`{"status":"unready","reason":"` + why + `"}` + "\n"))
}

// Ready reports whether the edge should take traffic, and why not: it holds
// a configuration, and its recent publishes did not all fail (the last
// UnreadyAfterFailures in a row, the latest less than UnreadyFor ago; after
// that the edge reports ready again so that a load balancer sends it calls
// that can prove JetStream is back). It reads only state the edge keeps, so
// a probe costs no I/O; the ops port adds the expensive checks. why is a
// fixed phrase, safe in JSON.
func (e *Edge) Ready() (ok bool, why string) {
	if _, _, ready := e.routes.Webhook("", ""); !ready {
		return false, "no configuration yet"
	}
	if e.pubFailures.Load() >= int64(e.cfg.UnreadyAfterFailures) &&
		e.now().Sub(time.Unix(0, e.lastPubFailure.Load())) < e.cfg.UnreadyFor {
		return false, "recent publishes failed"
	}
	return true, ""
}

// notePublish records a publish outcome for Ready: a success clears the
// count of consecutive retryable failures.
func (e *Edge) notePublish(failed bool, at time.Time) {
	if !failed {
		if e.pubFailures.Load() != 0 {
			e.pubFailures.Store(0)
		}
		return
	}
	e.lastPubFailure.Store(at.UnixNano())
	e.pubFailures.Add(1)
}
