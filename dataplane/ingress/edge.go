// Package ingress is the edge's HTTP ingress (DESIGN.md, "Inbound contract
// (edge)"): it routes POST /in/{tenant}/{webhook_id}, authenticates the
// call, enforces limits, wraps the body in one envelope per binding and
// publishes them to JetStream, answering 200 only after every publish was
// acknowledged. Rejected calls that got past routing are recorded as failed
// triggers. It never reads etcd; its configuration arrives through Routes.
// PublicHandler is the whole handler of the public port (no ServeMux, so no
// path cleaning or redirects); Ready is the readiness it serves, from
// memory.
package ingress

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookgate/hookgate/dataplane/configsync"
	"github.com/hookgate/hookgate/dataplane/envelope"
	"github.com/hookgate/hookgate/dataplane/tracing"
	"github.com/hookgate/hookgate/dataplane/verify"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
)

// Routes is the edge's view of its configuration.
type Routes interface {
	// Webhook returns the webhook with the revision of the configuration
	// it came from; w is nil for an unknown webhook. ready is false until
	// the edge holds a configuration. Ready calls it with empty tenant
	// and id for the readiness alone, so it must be cheap and do no I/O.
	Webhook(tenant, id string) (w *configsync.Webhook, revision int64, ready bool)
}

// Config holds the edge's tunables. Start from DefaultConfig.
type Config struct {
	// PublishTimeout bounds the wait for JetStream acknowledgements; past
	// it the call is answered 503 and the sender retries.
	PublishTimeout time.Duration
	// RetryAfter is the Retry-After of 503 answers.
	RetryAfter time.Duration
	// MaxPayload is the NATS server's max_payload: larger envelopes are
	// refused with 413 instead of failing to publish.
	MaxPayload int64
	// FailureBodyBytes is how much of a rejected body a failed trigger keeps.
	FailureBodyBytes int
	// MaxInflightBytes bounds the bytes of bodies and envelopes held by
	// calls in flight, edge-wide; a call that would exceed it is answered
	// 503 with Retry-After. It must be at least MaxPayload.
	MaxInflightBytes int64
	// MaxPendingPublishes bounds the JetStream publishes awaiting an ack;
	// past it a publish stalls briefly, then fails (503).
	MaxPendingPublishes int
	// UnreadyAfterFailures consecutive retryable publish failures make
	// Ready report false, for UnreadyFor after the latest.
	UnreadyAfterFailures int
	UnreadyFor           time.Duration
	// PublicURL is the edge's public base URL ("https://hooks.example.com"):
	// URL-signing schemes (Twilio, Square, HubSpot) verify the URL the
	// provider called, which is rebuilt from it rather than from the Host
	// header. Empty means the request's own scheme and host.
	PublicURL string
	// TrustedProxies are the peers whose X-Forwarded-Proto and
	// X-Forwarded-Host the edge believes (for the public URL without a
	// PublicURL, and kept in the envelope); from anyone else the edge sets
	// them itself.
	TrustedProxies []netip.Prefix
	// Shard is the slice of tenants the edge serves; calls for any other
	// tenant are answered 421. The zero Shard is every tenant.
	Shard Shard
}

// DefaultConfig returns the defaults documented in docs/design.md.
func DefaultConfig() Config {
	return Config{
		PublishTimeout: 5 * time.Second, RetryAfter: 5 * time.Second, MaxPayload: 8 << 20, FailureBodyBytes: 4 << 10,
		MaxInflightBytes: 256 << 20, MaxPendingPublishes: 16384, UnreadyAfterFailures: 3, UnreadyFor: 10 * time.Second,
	}
}

// Validate reports unusable settings.
func (c Config) Validate() error {
	switch {
	case c.PublishTimeout <= 0:
		return fmt.Errorf("publish timeout %s: must be positive", c.PublishTimeout)
	case c.RetryAfter < time.Second:
		return fmt.Errorf("retry-after %s: must be at least 1s", c.RetryAfter)
	case c.MaxPayload < 64<<10:
		return fmt.Errorf("NATS max payload %d: must be at least 64 KiB", c.MaxPayload)
	case c.FailureBodyBytes < 0:
		return fmt.Errorf("failure body bytes %d: must not be negative", c.FailureBodyBytes)
	case c.MaxInflightBytes < c.MaxPayload:
		return fmt.Errorf("max in-flight bytes %d: must be at least the NATS max payload %d", c.MaxInflightBytes, c.MaxPayload)
	case c.MaxPendingPublishes <= 0:
		return fmt.Errorf("max pending publishes %d: must be positive", c.MaxPendingPublishes)
	case c.UnreadyAfterFailures <= 0:
		return fmt.Errorf("unready after failures %d: must be positive", c.UnreadyAfterFailures)
	case c.UnreadyFor <= 0:
		return fmt.Errorf("unready for %s: must be positive", c.UnreadyFor)
	}
	return nil
}

// Deps are the edge's collaborators.
type Deps struct {
	Routes Routes
	// Conn publishes events and failed triggers. The edge builds its own
	// JetStream context on it, with its publish timeout and pending limit,
	// so that a lost ack frees its future.
	Conn    *nats.Conn
	Log     *slog.Logger
	Metrics prometheus.Registerer
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Tracing records a span per call and per publish and puts the trace
	// context in the published messages' headers; nil is tracing off.
	Tracing *tracing.Tracing
}

// Edge answers inbound webhook calls. It is an http.Handler.
type Edge struct {
	cfg     Config
	routes  Routes
	js      jetstream.JetStream
	nc      *nats.Conn
	log     *slog.Logger
	now     func() time.Time
	hooks   hooks
	metrics *metrics
	tr      *edgeTracer // nil: tracing off
	// answer holds the constant response header values, shared by every
	// answer (net/http only reads them; capacity = length, so an append
	// copies).
	answer struct{ json, nosniff, allow []string }
	bufs   sync.Pool // *bufs
	// inflight is the bytes of bodies and envelopes held by calls now.
	inflight atomic.Int64
	// pubFailures counts consecutive retryable publish failures, the last
	// at lastPubFailure (Unix ns); Ready reads both.
	pubFailures    atomic.Int64
	lastPubFailure atomic.Int64
}

// New returns an Edge.
func New(cfg Config, deps Deps) (*Edge, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("ingress: %w", err)
	}
	if deps.Routes == nil || deps.Conn == nil || deps.Log == nil {
		return nil, errors.New("ingress: routes, conn and log are required")
	}
	js, err := jetstream.New(deps.Conn,
		jetstream.WithPublishAsyncTimeout(cfg.PublishTimeout),
		jetstream.WithPublishAsyncMaxPending(cfg.MaxPendingPublishes))
	if err != nil {
		return nil, fmt.Errorf("ingress: jetstream: %w", err)
	}
	e := &Edge{cfg: cfg, routes: deps.Routes, js: js, nc: deps.Conn, log: deps.Log, now: deps.Now, tr: newEdgeTracer(deps.Tracing)}
	e.answer.json, e.answer.nosniff, e.answer.allow = []string{"application/json"}, []string{"nosniff"}, []string{"POST"}
	if e.now == nil {
		e.now = time.Now
	}
	if e.metrics, err = newMetrics(deps.Metrics, &e.inflight); err != nil {
		return nil, fmt.Errorf("ingress: %w", err)
	}
	return e, nil
}

// Forget drops what the edge derived for a deleted webhook (its rate
// limiter, parsed paths); call it when the configuration deletes one.
func (e *Edge) Forget(tenant, id string) { e.hooks.forget(tenant, id) }

// Prune drops derived state of every webhook keep refuses; call it after a
// configuration snapshot replaced everything.
func (e *Edge) Prune(keep func(tenant, id string) bool) {
	e.hooks.prune(keep)
}

// outcome is what handling a call decided.
type outcome struct {
	reason reason
	// verifyReason is the precise reason a signature did not verify, the
	// failed trigger's reason (the caller sees a generic 401).
	verifyReason verify.Reason
	// handshake is a provider handshake's answer (reasonHandshake and
	// reasonHandshakeRefused).
	handshake  *verify.Response
	published  bool // a publish was attempted and failed: buffers may be pinned
	eventID    string
	detail     string // one line that adds to the reason's text
	retryAfter time.Duration
	// for failed triggers
	hook   *hook
	tenant string
	id     string
	body   []byte
	size   int64
}

// ServeHTTP implements http.Handler.
func (e *Edge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := e.now()
	var span trace.Span
	if e.tr != nil {
		r, span = e.tr.startRequest(r)
	}
	buf := e.getBuf()
	out := e.handle(r, start, buf)
	record := false
	if reasons[out.reason].record && out.hook != nil {
		// Sampled per webhook, so a flood of bad calls cannot fill the store.
		record = out.hook.failures.AllowN(start, 1)
		if !record {
			e.metrics.failures.WithLabelValues("sampled_out").Inc()
		} else if out.body == nil && out.reason == reasonBadKey {
			// Read the start of an unauthenticated call's body now: once
			// the answer is written, HTTP/1.x may not let it be read.
			out.body, out.size = e.failureBody(r)
		}
	}
	e.respond(w, out, buf.resp[:0])
	if span != nil {
		endRequest(span, out)
	}
	if record {
		e.recordFailure(r, start, out)
	}
	// The call's bytes leave the budget. A buffer may still be referenced
	// by a publish that failed (until the async timeout frees it); only
	// buffers of calls that did not fail to publish go back to the pool.
	e.inflight.Add(-buf.reserved)
	buf.reserved = 0
	if !out.published {
		e.putBuf(buf)
	}
	e.metrics.observe(out.reason, e.now().Sub(start))
}

// bufs holds the body and the envelopes of one call, and how many bytes
// the call holds of the in-flight budget.
type bufs struct {
	body     []byte
	env      []byte
	reserved int64
	// timer bounds the wait for acks (stopped between calls); msgs and
	// futures are the call's publishes.
	timer   *time.Timer
	msgs    []*nats.Msg
	futures []jetstream.PubAckFuture
	// spans are the publishes' spans while tracing is on.
	spans []trace.Span
	// out are messages with their header maps, reused once acknowledged;
	// keys the correlation keys by binding.
	out  []*outMsg
	keys []string
	// resp is room for the answer's body.
	resp [128]byte
}

// outMsg is a message and the backing array of its header values: one
// allocation per message the first time, none when the buffers are reused.
type outMsg struct {
	msg  nats.Msg
	vals [5]string
}

// message returns the call's i-th message with an empty header map.
func (b *bufs) message(i int) *outMsg {
	if i == len(b.out) {
		b.out = append(b.out, &outMsg{msg: nats.Msg{Header: make(nats.Header, 5)}})
	}
	m := b.out[i]
	clear(m.msg.Header)
	return m
}

// Canonical NATS header names (MIME canonical, as nats.Header.Set writes
// them), set on the map directly.
const (
	hdrTenant         = "Hookgate-Tenant"
	hdrWebhookID      = "Hookgate-Webhook-Id"
	hdrEventID        = "Hookgate-Event-Id"
	hdrCorrelationKey = "Hookgate-Correlation-Key"
)

// reserve takes n bytes of the edge's in-flight budget for the call.
func (e *Edge) reserve(b *bufs, n int64) bool {
	if e.inflight.Add(n) > e.cfg.MaxInflightBytes {
		e.inflight.Add(-n)
		return false
	}
	b.reserved += n
	return true
}

func (e *Edge) getBuf() *bufs {
	if b, ok := e.bufs.Get().(*bufs); ok {
		return b
	}
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &bufs{body: make([]byte, 0, 16<<10), env: make([]byte, 0, 32<<10), timer: t}
}

// putBuf keeps buffers up to 256 KiB; a rare huge body does not pin memory.
func (e *Edge) putBuf(b *bufs) {
	if cap(b.body) > 256<<10 || cap(b.env) > 512<<10 {
		return
	}
	b.body, b.env = b.body[:0], b.env[:0]
	clear(b.msgs)
	b.msgs = b.msgs[:0]
	clear(b.futures)
	clear(b.spans)
	clear(b.keys)
	for _, m := range b.out {
		m.msg.Subject, m.msg.Data, m.vals = "", nil, [5]string{}
	}
	e.bufs.Put(b)
}

func (e *Edge) handle(r *http.Request, now time.Time, b *bufs) outcome {
	tenant, id, ok := envelope.ParsePath(r.URL.EscapedPath())
	if !ok {
		return outcome{reason: reasonNotFound}
	}
	// Before anything else: the edge holds no configuration of a tenant
	// outside its shard, so any other answer would mislead.
	if !e.cfg.Shard.Serves(tenant) {
		return outcome{reason: reasonMisdirected}
	}
	// GET is for providers' handshakes (Meta's hub.challenge), decided
	// once the webhook is known.
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		return outcome{reason: reasonMethod}
	}
	wh, revision, ready := e.routes.Webhook(tenant, id)
	switch {
	case !ready:
		return outcome{reason: reasonNoConfig, retryAfter: e.cfg.RetryAfter}
	case wh == nil:
		return outcome{reason: reasonNotFound}
	case !wh.GetActive():
		return outcome{reason: reasonGone}
	}
	h := e.hooks.get(tenant, id, wh)
	if r.Method == http.MethodGet && h.sig.handshaker == nil {
		return outcome{reason: reasonMethod}
	}
	fail := outcome{hook: h, tenant: tenant, id: id}

	keyDigest := authenticate(wh, r, now)
	if keyDigest == nil && (h.sig.requireKey || hasKey(r)) {
		// A key that is sent must be right even where none is required.
		fail.reason = reasonBadKey
		return fail
	}
	if h.limiter != nil {
		res := h.limiter.ReserveN(now, 1)
		if d := res.DelayFrom(now); !res.OK() || d > 0 {
			res.CancelAt(now)
			fail.reason, fail.retryAfter = reasonRateLimited, d
			return fail
		}
	}

	limit := wh.GetMaxBodyBytes()
	if limit <= 0 {
		limit = 1 << 20
	}
	if r.ContentLength > limit {
		fail.reason, fail.size = reasonTooLarge, r.ContentLength
		fail.detail = fmt.Sprintf("%d bytes, limit %d", r.ContentLength, limit)
		return fail
	}
	body, err := e.readBody(r.Body, b, limit)
	b.body = body[:0]
	fail.body, fail.size = body, int64(len(body))
	switch {
	case errors.Is(err, errOverBudget):
		return outcome{reason: reasonOverBudget, retryAfter: e.cfg.RetryAfter}
	case errors.Is(err, errTooLarge):
		fail.reason, fail.detail = reasonTooLarge, fmt.Sprintf("limit %d bytes", limit)
		return fail
	case err != nil:
		fail.reason = reasonBadLength
		return fail
	}
	e.metrics.bodyBytes.Observe(float64(len(body)))

	// The provider's signature is checked on the exact bytes, before any
	// parsing; a handshake is answered here and never forwarded.
	var vreq *verify.Request
	if h.sig.scheme != nil || h.sig.broken {
		var out outcome
		vreq, out = e.verifyCall(r, h, body, now, fail)
		if out.reason != reasonAccepted {
			return out
		}
	}
	if r.Method == http.MethodGet {
		// A GET that was not a handshake has nothing to publish.
		return outcome{reason: reasonMethod}
	}

	ctype := r.Header.Get("Content-Type")
	env := b.env[:0]
	env, err = envelope.AppendPayload(env, ctype, body)
	if err != nil {
		fail.reason = reasonInvalidJSON
		if errors.Is(err, envelope.ErrInvalidForm) {
			fail.reason = reasonInvalidForm
		}
		fail.detail = err.Error()
		return fail
	}
	payloadEnd := len(env)

	// Resolve every correlation key before publishing anything: an
	// unresolved path rejects the whole call (DESIGN.md).
	keys := append(b.keys[:0], make([]string, len(h.bindings))...)
	b.keys = keys
	for i, bd := range h.bindings {
		if !bd.resume {
			continue
		}
		k, err := bd.path.Resolve(env[:payloadEnd])
		if err != nil {
			fail.reason, fail.detail = reasonUncorrelated, err.Error()
			return fail
		}
		// A longer key would be a NATS header that fails every publish
		// (and every retry); refuse it once, as the sender's error.
		if len(k) > maxCorrelationKey {
			fail.reason, fail.detail = reasonCorrelationTooLong, fmt.Sprintf("%d bytes at binding %d", len(k), i)
			return fail
		}
		keys[i] = k
	}

	deliveryID := ""
	if h.sig.deliveryID != nil {
		if deliveryID = h.sig.deliveryID.DeliveryID(vreq); len(deliveryID) > maxDeliveryID {
			deliveryID = ""
		}
	}
	if deliveryID == "" {
		deliveryID = providerDeliveryID(r.Header)
	}
	eventID := deriveEventID(tenant, id, deliveryID, keyDigest, ctype, body)
	prepareHeaders(r, h, e.trustedPeer(r))
	ev := envelope.Envelope{
		ID: eventID, Tenant: tenant, WebhookID: id, Provider: h.provider,
		ConfigVersion: revision, DateTime: now.UTC(), Payload: env[:payloadEnd], Headers: r.Header,
	}
	if h.sig.scheme != nil {
		ev.Verification = h.provider
	}
	if wh.GetRawBody() {
		ev.RawBody = body
	}
	msgs := b.msgs[:0]
	for i, bd := range h.bindings {
		ev.ProcessID, ev.ThreadID, ev.Trigger, ev.CorrelationKey = bd.processID, bd.threadID, bd.trigger, nil
		if bd.resume {
			ev.CorrelationKey = &keys[i]
		}
		start := len(env)
		env = ev.AppendJSON(env)
		data := env[start:]
		if int64(len(data))+1024 > e.cfg.MaxPayload {
			fail.reason = reasonEnvelopeTooLarge
			fail.detail = fmt.Sprintf("envelope of %d bytes, bus limit %d", len(data), e.cfg.MaxPayload)
			b.env = env[:0]
			return fail
		}
		om := b.message(i)
		om.msg.Subject, om.msg.Data = bd.subject, data
		msgID := eventID + bd.dedupSuffix
		if deliveryID != "" {
			msgID = tenant + ":" + id + ":" + deliveryID + bd.dedupSuffix
		}
		om.vals = [5]string{msgID, tenant, id, eventID}
		hdr := om.msg.Header
		hdr[jetstream.MsgIDHeader] = om.vals[0:1:1]
		hdr[hdrTenant] = om.vals[1:2:2]
		hdr[hdrWebhookID] = om.vals[2:3:3]
		hdr[hdrEventID] = om.vals[3:4:4]
		if bd.resume {
			om.vals[4] = keys[i]
			hdr[hdrCorrelationKey] = om.vals[4:5:5]
		}
		msgs = append(msgs, &om.msg)
	}
	b.env, b.msgs = env[:0], msgs
	// The envelopes are held until every ack: they count in the budget.
	if !e.reserve(b, int64(len(env))) {
		return outcome{reason: reasonOverBudget, retryAfter: e.cfg.RetryAfter}
	}
	if err := e.publish(r.Context(), b); err != nil {
		row := classifyPublish(err)
		e.notePublish(row.reason == reasonPublishFailed, now)
		e.log.Warn("publish failed", "tenant", tenant, "webhook_id", id, "event_id", eventID, "cause", row.what, "err", err)
		if row.reason == reasonPublishFailed {
			return outcome{reason: reasonPublishFailed, published: true, retryAfter: e.cfg.RetryAfter}
		}
		fail.reason, fail.published, fail.detail = row.reason, true, row.what
		return fail
	}
	e.notePublish(false, now)
	return outcome{reason: reasonAccepted, eventID: eventID}
}

// maxCorrelationKey bounds a correlation key (it travels as a NATS header).
const maxCorrelationKey = 1024

var (
	errTooLarge   = errors.New("body too large")
	errOverBudget = errors.New("in-flight budget exhausted")
)

// readBody reads at most limit bytes into b.body; one byte more means the
// body is over the limit, and reading stops there without buffering the
// excess. Every chunk read is taken from the in-flight budget; when the
// budget is spent reading stops with errOverBudget.
func (e *Edge) readBody(body io.Reader, b *bufs, limit int64) ([]byte, error) {
	buf := b.body
	lr := io.LimitedReader{R: body, N: limit + 1}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := lr.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if n > 0 && !e.reserve(b, int64(n)) {
			return buf, errOverBudget
		}
		if int64(len(buf)) > limit {
			return buf[:limit], errTooLarge
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// respond writes the one answer of a call, building its body in buf (may
// be nil).
func (e *Edge) respond(w http.ResponseWriter, out outcome, buf []byte) {
	info := reasons[out.reason]
	h := w.Header()
	h["Content-Type"] = e.answer.json
	h["X-Content-Type-Options"] = e.answer.nosniff
	if out.retryAfter > 0 {
		h.Set("Retry-After", retryAfterSeconds(out.retryAfter))
	}
	if out.reason == reasonMethod {
		h["Allow"] = e.answer.allow
	}
	if hs := out.handshake; hs != nil {
		// The provider expects exactly this answer; it is never forwarded.
		h.Set("Content-Type", hs.ContentType)
		h.Set("Cache-Control", "no-store")
		w.WriteHeader(hs.Status)
		_, _ = w.Write(hs.Body)
		return
	}
	w.WriteHeader(info.status)
	if out.reason == reasonAccepted {
		buf = append(buf, `{"eventId":"`...)
		buf = append(buf, out.eventID...)
		buf = append(buf, "\"}\n"...)
	} else {
		text := info.text
		if out.detail != "" {
			text += ": " + out.detail
		}
		buf = append(buf, `{"error":`...)
		buf = strconv.AppendQuote(buf, text)
		buf = append(buf, "}\n"...)
	}
	_, _ = w.Write(buf)
}

// Retry-After is kept within [1 s, 1 h] whatever the rate limit or the
// configuration says: a limit of 1e-300 requests per second must not answer
// an overflowed or negative value.
const (
	minRetryAfter = time.Second
	maxRetryAfter = time.Hour
)

// retryAfterSeconds is d in whole seconds, rounded up and clamped.
func retryAfterSeconds(d time.Duration) string {
	d = min(max(d, minRetryAfter), maxRetryAfter)
	return strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10)
}
