// Package ingress is the edge's HTTP ingress (DESIGN.md, "Inbound contract
// (edge)"): it routes POST /in/{tenant}/{webhook_id}, authenticates the
// call, enforces limits, wraps the body in one envelope per binding and
// publishes them to JetStream, answering 200 only after every publish was
// acknowledged. Rejected calls that got past routing are recorded as failed
// triggers. It never reads etcd; its configuration arrives through Routes.
package ingress

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hookgate/hookgate/dataplane/envelope"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// Routes is the edge's view of its configuration.
type Routes interface {
	// Webhook returns the webhook with the revision of the configuration
	// it came from; w is nil for an unknown webhook. ready is false until
	// the edge holds a configuration.
	Webhook(tenant, id string) (w *hookgatev1.EdgeWebhook, revision int64, ready bool)
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
}

// DefaultConfig returns the defaults documented in docs/design.md.
func DefaultConfig() Config {
	return Config{PublishTimeout: 5 * time.Second, RetryAfter: 5 * time.Second, MaxPayload: 8 << 20, FailureBodyBytes: 4 << 10}
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
	}
	return nil
}

// Deps are the edge's collaborators.
type Deps struct {
	Routes Routes
	// JetStream publishes events; Conn records failed triggers.
	JetStream jetstream.JetStream
	Conn      *nats.Conn
	Log       *slog.Logger
	Metrics   prometheus.Registerer
	// Now is the clock; nil means time.Now.
	Now func() time.Time
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
	bufs    sync.Pool // *[]byte
}

// New returns an Edge.
func New(cfg Config, deps Deps) (*Edge, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("ingress: %w", err)
	}
	if deps.Routes == nil || deps.JetStream == nil || deps.Conn == nil || deps.Log == nil {
		return nil, errors.New("ingress: routes, jetstream, conn and log are required")
	}
	m, err := newMetrics(deps.Metrics)
	if err != nil {
		return nil, fmt.Errorf("ingress: %w", err)
	}
	e := &Edge{cfg: cfg, routes: deps.Routes, js: deps.JetStream, nc: deps.Conn, log: deps.Log, now: deps.Now, metrics: m}
	if e.now == nil {
		e.now = time.Now
	}
	return e, nil
}

// Forget drops what the edge derived for a deleted webhook (its rate
// limiter, parsed paths); call it when the configuration deletes one.
func (e *Edge) Forget(tenant, id string) { e.hooks.forget(tenant + "/" + id) }

// Prune drops derived state of every webhook keep refuses; call it after a
// configuration snapshot replaced everything.
func (e *Edge) Prune(keep func(tenant, id string) bool) {
	e.hooks.prune(func(key string) bool {
		tenant, id, _ := strings.Cut(key, "/")
		return keep(tenant, id)
	})
}

// outcome is what handling a call decided.
type outcome struct {
	reason     reason
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
	e.respond(w, out)
	if record {
		e.recordFailure(r, start, out)
	}
	// A buffer may still be referenced by a publish that timed out; only
	// buffers of calls that finished cleanly go back to the pool.
	if out.reason != reasonPublishFailed {
		e.putBuf(buf)
	}
	e.metrics.observe(out.reason, e.now().Sub(start))
}

// bufs holds the body and the envelopes of one call.
type bufs struct {
	body []byte
	env  []byte
}

func (e *Edge) getBuf() *bufs {
	if b, ok := e.bufs.Get().(*bufs); ok {
		return b
	}
	return &bufs{body: make([]byte, 0, 16<<10), env: make([]byte, 0, 32<<10)}
}

// putBuf keeps buffers up to 256 KiB; a rare huge body does not pin memory.
func (e *Edge) putBuf(b *bufs) {
	if cap(b.body) > 256<<10 || cap(b.env) > 512<<10 {
		return
	}
	b.body, b.env = b.body[:0], b.env[:0]
	e.bufs.Put(b)
}

func (e *Edge) handle(r *http.Request, now time.Time, b *bufs) outcome {
	tenant, id, ok := envelope.ParsePath(r.URL.EscapedPath())
	if !ok {
		return outcome{reason: reasonNotFound}
	}
	if r.Method != http.MethodPost {
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
	h := e.hooks.get(tenant+"/"+id, wh)
	fail := outcome{hook: h, tenant: tenant, id: id}

	if !keyValid(wh, apiKey(r), now) {
		fail.reason = reasonBadKey
		return fail
	}
	if h.limiter != nil {
		res := h.limiter.ReserveN(now, 1)
		if d := res.DelayFrom(now); !res.OK() || d > 0 {
			res.CancelAt(now)
			fail.reason, fail.retryAfter = reasonRateLimited, max(d, time.Second)
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
	body, err := readBody(r.Body, b.body, limit)
	b.body = body[:0]
	fail.body, fail.size = body, int64(len(body))
	switch {
	case errors.Is(err, errTooLarge):
		fail.reason, fail.detail = reasonTooLarge, fmt.Sprintf("limit %d bytes", limit)
		return fail
	case err != nil:
		fail.reason = reasonBadLength
		return fail
	}
	e.metrics.bodyBytes.Observe(float64(len(body)))

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
	keys := make([]string, len(h.bindings))
	for i, bd := range h.bindings {
		if !bd.resume {
			continue
		}
		k, err := bd.path.Resolve(env[:payloadEnd])
		if err != nil {
			fail.reason, fail.detail = reasonUncorrelated, err.Error()
			return fail
		}
		keys[i] = k
	}

	deliveryID := providerDeliveryID(r.Header)
	eventID := newEventID(tenant, id, deliveryID)
	prepareHeaders(r)
	ev := envelope.Envelope{
		ID: eventID, Tenant: tenant, WebhookID: id, Provider: h.provider,
		ConfigVersion: revision, DateTime: now.UTC(), Payload: env[:payloadEnd], Headers: r.Header,
	}
	if wh.GetRawBody() {
		ev.RawBody = body
	}
	msgs := make([]*nats.Msg, 0, len(h.bindings))
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
		msg := &nats.Msg{Subject: bd.subject, Data: data, Header: nats.Header{}}
		msgID := eventID + bd.dedupSuffix
		if deliveryID != "" {
			msgID = tenant + ":" + id + ":" + deliveryID + bd.dedupSuffix
		}
		msg.Header.Set(jetstream.MsgIDHeader, msgID)
		msg.Header.Set("Hookgate-Tenant", tenant)
		msg.Header.Set("Hookgate-Webhook-Id", id)
		msg.Header.Set("Hookgate-Event-Id", eventID)
		if bd.resume {
			msg.Header.Set("Hookgate-Correlation-Key", *ev.CorrelationKey)
		}
		msgs = append(msgs, msg)
	}
	b.env = env[:0]
	if err := e.publish(r.Context(), msgs); err != nil {
		e.log.Warn("publish failed", "tenant", tenant, "webhook_id", id, "event_id", eventID, "err", err)
		return outcome{reason: reasonPublishFailed, retryAfter: e.cfg.RetryAfter}
	}
	return outcome{reason: reasonAccepted, eventID: eventID}
}

// publish sends every message asynchronously, so JetStream can batch them
// with other calls', then waits for every acknowledgement.
func (e *Edge) publish(ctx context.Context, msgs []*nats.Msg) error {
	start := e.now()
	defer func() { e.metrics.publishSeconds.Observe(e.now().Sub(start).Seconds()) }()
	ctx, cancel := context.WithTimeout(ctx, e.cfg.PublishTimeout)
	defer cancel()
	futures := make([]jetstream.PubAckFuture, 0, len(msgs))
	for _, m := range msgs {
		f, err := e.js.PublishMsgAsync(m)
		if err != nil {
			return fmt.Errorf("publish to %s: %w", m.Subject, err)
		}
		futures = append(futures, f)
	}
	for _, f := range futures {
		if err := waitAck(ctx, f); err != nil {
			return err
		}
	}
	return nil
}

func waitAck(ctx context.Context, f jetstream.PubAckFuture) error {
	select {
	case <-f.Ok():
		return nil
	case err := <-f.Err():
		return fmt.Errorf("publish to %s: %w", f.Msg().Subject, err)
	case <-ctx.Done():
		return fmt.Errorf("publish to %s: no acknowledgement: %w", f.Msg().Subject, ctx.Err())
	}
}

var errTooLarge = errors.New("body too large")

// readBody reads at most limit bytes into buf; one byte more means the body
// is over the limit, and reading stops there without buffering the excess.
func readBody(body io.Reader, buf []byte, limit int64) ([]byte, error) {
	lr := io.LimitedReader{R: body, N: limit + 1}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := lr.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
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

// respond writes the one answer of a call.
func (e *Edge) respond(w http.ResponseWriter, out outcome) {
	info := reasons[out.reason]
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	if out.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int((out.retryAfter+time.Second-1)/time.Second)))
	}
	if out.reason == reasonMethod {
		h.Set("Allow", "POST")
	}
	w.WriteHeader(info.status)
	buf := make([]byte, 0, 96)
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

// apiKey takes the key from ?key=, Authorization: Bearer, or X-Hookgate-Key.
func apiKey(r *http.Request) string {
	if k := r.Header.Get("X-Hookgate-Key"); k != "" {
		return k
	}
	if a := r.Header.Get("Authorization"); len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		return strings.TrimSpace(a[7:])
	}
	return queryParam(r.URL.RawQuery, "key")
}

// queryParam finds one parameter without building the whole url.Values.
func queryParam(raw, name string) string {
	for raw != "" {
		var kv string
		kv, raw, _ = strings.Cut(raw, "&")
		k, v, _ := strings.Cut(kv, "=")
		if k == name {
			if strings.ContainsAny(v, "%+") {
				if u, err := url.QueryUnescape(v); err == nil {
					return u
				}
				return ""
			}
			return v
		}
	}
	return ""
}
