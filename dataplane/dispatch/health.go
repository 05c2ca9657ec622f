package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// Endpoint health (docs/design.md "Endpoint health and auto-disable"): every
// concluded attempt is folded into a per-endpoint Health value kept in a
// JetStream KV bucket that every dispatcher shares. Observe only updates
// memory; a background loop merges each endpoint's local batch into the
// stored value with compare-and-set, at most once a second per endpoint.
const (
	// DefaultHealthBucket is the KV bucket of endpoint health, key
	// HealthKey(tenant, endpoint).
	DefaultHealthBucket = "HOOKGATE_HEALTH"
	// HealthSamples bounds the attempts avgResponseTime covers, and
	// HealthWindow their age.
	HealthSamples = 100
	HealthWindow  = 24 * time.Hour
	// DefaultAutoDisableAfter is how long an endpoint must fail every
	// attempt before it is disabled, and DefaultAutoDisableMinAttempts how
	// many failed attempts that span must hold at least.
	DefaultAutoDisableAfter       = 5 * 24 * time.Hour
	DefaultAutoDisableMinAttempts = 10
	// DefaultHealthFlush is how often at most an endpoint's batch is
	// written.
	DefaultHealthFlush = time.Second
	healthTick         = 200 * time.Millisecond
	healthStopTimeout  = 5 * time.Second
)

// ReasonAuto: the endpoint failed every attempt for the auto-disable span.
const ReasonAuto DisableReason = "auto"

// HealthKey is the endpoint's key in the health bucket.
func HealthKey(tenant, endpointID string) string { return tenant + "." + endpointID }

// Health is an endpoint's health as stored (JSON) in the health bucket.
// The control plane mirrors it (controlplane/admin HealthRecord; the
// contract test compares both).
type Health struct {
	Tenant       string `json:"tenant"`
	EndpointID   string `json:"endpointId"`
	SuccessCount int64  `json:"successCount"`
	FailureCount int64  `json:"failureCount"`
	// ConsecutiveFailures counts the failed attempts after
	// max(LastSuccessAt, ResetAt); ErrorsSinceLastSuccess the deliveries
	// among them that ended failed (no retry left, or 410).
	ConsecutiveFailures    int64     `json:"consecutiveFailures"`
	ErrorsSinceLastSuccess int64     `json:"errorsSinceLastSuccess"`
	LastSuccessAt          time.Time `json:"lastSuccessAt,omitzero"`
	LastFailureAt          time.Time `json:"lastFailureAt,omitzero"`
	// FailingSince is the first failed attempt of the current run of
	// failures; zero while none.
	FailingSince time.Time `json:"failingSince,omitzero"`
	// LastStatus and LastResponseTimeMs are of the newest attempt.
	LastStatus         *HealthStatus `json:"lastStatus,omitempty"`
	LastResponseTimeMs int64         `json:"lastResponseTimeMs"`
	// AvgResponseTimeMs is the mean of Recent when it was written.
	AvgResponseTimeMs int64 `json:"avgResponseTimeMs"`
	// Recent are the newest HealthSamples attempts within HealthWindow,
	// oldest first.
	Recent []HealthSample `json:"recent,omitempty"`
	// ResetAt is set by the control plane when the endpoint is re-enabled:
	// failures before it no longer count.
	ResetAt time.Time `json:"resetAt,omitzero"`
	// AutoDisabledAt is when a dispatcher asked for the endpoint to be
	// disabled (reason auto); cleared by a success or a reset.
	AutoDisabledAt time.Time `json:"autoDisabledAt,omitzero"`
	UpdatedAt      time.Time `json:"updatedAt,omitzero"`
}

// HealthStatus is the outcome of one attempt.
type HealthStatus struct {
	// Code is the HTTP status, 0 when no answer came.
	Code int `json:"code,omitempty"`
	// Message is the status text or, without an answer, the error class;
	// never the body.
	Message    string     `json:"message"`
	ErrorClass ErrorClass `json:"errorClass,omitempty"`
	Timestamp  time.Time  `json:"timestamp"`
}

// HealthSample is one attempt of Health.Recent.
type HealthSample struct {
	// T is the attempt's start in Unix nanoseconds, D its duration in
	// milliseconds.
	T int64 `json:"t"`
	D int64 `json:"d"`
	// OK: it succeeded; End: it failed and ended its delivery.
	OK  bool `json:"ok,omitempty"`
	End bool `json:"end,omitempty"`
}

// statusMessage is what LastStatus says of a: the status text, else the
// error class.
func statusMessage(a *Attempt) string {
	if a.StatusCode > 0 {
		return strconv.Itoa(a.StatusCode) + " " + http.StatusText(a.StatusCode)
	}
	return string(a.ErrorClass)
}

// HealthOf is the Health of attempt a alone, as Observe folds it in.
func HealthOf(tenant string, a *Attempt) *Health {
	s := HealthSample{T: a.Time.UnixNano(), D: a.Duration.Milliseconds(), OK: a.Succeeded()}
	h := &Health{
		Tenant: tenant, EndpointID: a.EndpointID,
		LastStatus:         &HealthStatus{Code: a.StatusCode, Message: statusMessage(a), ErrorClass: a.ErrorClass, Timestamp: a.Time.UTC()},
		LastResponseTimeMs: s.D, UpdatedAt: a.Time.UTC(),
	}
	if s.OK {
		h.SuccessCount, h.LastSuccessAt = 1, a.Time.UTC()
	} else {
		h.FailureCount, h.ConsecutiveFailures = 1, 1
		h.FailingSince, h.LastFailureAt = a.Time.UTC(), a.Time.UTC()
		// No retry is due: the delivery ended with this failure (after
		// the schedule's last attempt, on 410, or a manual one).
		if a.NextRetry.IsZero() {
			s.End, h.ErrorsSinceLastSuccess = true, 1
		}
	}
	h.Recent = []HealthSample{s}
	h.AvgResponseTimeMs = s.D
	return h
}

// MergeHealth combines two health values of one endpoint: the stored one
// and a dispatcher's batch, or a batch and one more observation. Counts
// add up; the newest status, success and failure win; the run of failures
// is what both hold after the latest success or reset. When one side's
// run straddles the other's success, its failures after that success are
// counted from its samples (exact while the samples reach back to the
// success; otherwise the whole run counts, erring towards more failures
// but measuring failingSince after the success). now bounds Recent to
// HealthWindow.
func MergeHealth(a, b *Health, now time.Time) *Health {
	m := &Health{
		Tenant: cmpOr(a.Tenant, b.Tenant), EndpointID: cmpOr(a.EndpointID, b.EndpointID),
		SuccessCount: a.SuccessCount + b.SuccessCount, FailureCount: a.FailureCount + b.FailureCount,
		LastSuccessAt: latest(a.LastSuccessAt, b.LastSuccessAt), LastFailureAt: latest(a.LastFailureAt, b.LastFailureAt),
		ResetAt: latest(a.ResetAt, b.ResetAt), UpdatedAt: latest(a.UpdatedAt, b.UpdatedAt),
	}
	barrier := latest(m.LastSuccessAt, m.ResetAt)
	cfa, efa, fa := a.runAfter(barrier)
	cfb, efb, fb := b.runAfter(barrier)
	m.ConsecutiveFailures, m.ErrorsSinceLastSuccess = cfa+cfb, efa+efb
	m.FailingSince = earliest(fa, fb)
	if at := latest(a.AutoDisabledAt, b.AutoDisabledAt); at.After(barrier) && m.ConsecutiveFailures > 0 {
		m.AutoDisabledAt = at
	}
	newer := a
	if b.LastStatus != nil && (a.LastStatus == nil || b.LastStatus.Timestamp.After(a.LastStatus.Timestamp)) {
		newer = b
	}
	if newer.LastStatus != nil {
		st := *newer.LastStatus
		m.LastStatus, m.LastResponseTimeMs = &st, newer.LastResponseTimeMs
	}
	m.Recent = mergeSamples(a.Recent, b.Recent, now.Add(-HealthWindow).UnixNano())
	m.AvgResponseTimeMs = averageMs(m.Recent)
	return m
}

// runAfter is the part of h's run of failures after barrier: how many
// failed attempts, how many ended their delivery, and the first one.
func (h *Health) runAfter(barrier time.Time) (failed, ended int64, first time.Time) {
	switch {
	case h.ConsecutiveFailures == 0:
		return 0, 0, time.Time{}
	case h.FailingSince.After(barrier):
		return h.ConsecutiveFailures, h.ErrorsSinceLastSuccess, h.FailingSince
	case !h.LastFailureAt.After(barrier):
		return 0, 0, time.Time{}
	}
	b := barrier.UnixNano()
	reaches := false
	for _, s := range h.Recent {
		if s.T <= b {
			reaches = true
			continue
		}
		if s.OK {
			continue
		}
		failed++
		if s.End {
			ended++
		}
		if first.IsZero() {
			first = time.Unix(0, s.T).UTC()
		}
	}
	if !reaches {
		// Samples older than the barrier were dropped, so some failures
		// after it may be missing: count the whole run.
		failed, ended = h.ConsecutiveFailures, min(h.ErrorsSinceLastSuccess, h.ConsecutiveFailures)
	}
	if first.IsZero() {
		first = h.LastFailureAt
	}
	return failed, ended, first
}

// mergeSamples merges two oldest-first sample lists, keeping the newest
// HealthSamples no older than since.
func mergeSamples(a, b []HealthSample, since int64) []HealthSample {
	out := make([]HealthSample, 0, min(len(a)+len(b), HealthSamples))
	// Walk both from the newest end, then reverse.
	i, j := len(a)-1, len(b)-1
	for len(out) < HealthSamples && (i >= 0 || j >= 0) {
		var s HealthSample
		if j < 0 || (i >= 0 && a[i].T >= b[j].T) {
			s, i = a[i], i-1
		} else {
			s, j = b[j], j-1
		}
		if s.T < since {
			break
		}
		out = append(out, s)
	}
	for l, r := 0, len(out)-1; l < r; l, r = l+1, r-1 {
		out[l], out[r] = out[r], out[l]
	}
	return out
}

func averageMs(s []HealthSample) int64 {
	if len(s) == 0 {
		return 0
	}
	var sum int64
	for _, x := range s {
		sum += x.D
	}
	return sum / int64(len(s))
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func earliest(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero() || a.Before(b):
		return a
	}
	return b
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// HealthConfig configures a HealthTracker; the zero value of each field is
// its default.
type HealthConfig struct {
	// Bucket is the KV bucket (DefaultHealthBucket).
	Bucket string
	// Replicas is the bucket's replica count (1), as the streams'.
	Replicas int
	// AutoDisableAfter is the span an endpoint must fail every attempt
	// (from its first failure after the last success to its newest
	// failure) before it is disabled, with at least AutoDisableMinAttempts
	// failed attempts (DefaultAutoDisableAfter,
	// DefaultAutoDisableMinAttempts).
	AutoDisableAfter       time.Duration
	AutoDisableMinAttempts int
	// Flush is how often at most one endpoint's batch is written
	// (DefaultHealthFlush).
	Flush time.Duration
}

// HealthDeps are a HealthTracker's collaborators.
type HealthDeps struct {
	JetStream jetstream.JetStream
	Log       *slog.Logger
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// Metrics registers the dispatcher's attempt and health series; nil
	// registers none.
	Metrics prometheus.Registerer
	// OnAutoDisable is told when this replica's write marked an endpoint
	// for auto-disable (once per run of failures across all replicas); the
	// wiring reports it to the control plane. Optional; must not block.
	OnAutoDisable func(ctx context.Context, tenant, endpointID string)
	// Known reports whether an endpoint is still configured (enabled); a
	// batch of an unknown one is dropped, so a deleted endpoint's last
	// attempts do not bring its health back. Optional.
	Known func(tenant, endpointID string) bool
}

type healthKey struct{ tenant, endpoint string }

// HealthTracker is the dispatch engine's HealthObserver: it keeps endpoint
// health in the shared bucket and asks for failing endpoints to be
// disabled. Observe never does I/O; Run writes.
type HealthTracker struct {
	cfg     HealthConfig
	js      jetstream.JetStream
	log     *slog.Logger
	now     func() time.Time
	onAuto  func(ctx context.Context, tenant, endpointID string)
	known   func(tenant, endpointID string) bool
	metrics *healthMetrics
	wake    chan struct{}

	mu sync.Mutex // guards pending, flushed, failing, kv
	// pending is each endpoint's batch not yet written.
	pending map[healthKey]*Health
	// flushed is when an endpoint's batch was last taken for writing;
	// entries older than Flush are dropped (they no longer delay anything).
	flushed map[healthKey]time.Time
	// failing holds the endpoints whose health this replica last wrote
	// with failures since the last success (the failing gauge).
	failing map[healthKey]struct{}
	kv      jetstream.KeyValue
}

var _ HealthObserver = (*HealthTracker)(nil)

// NewHealthTracker checks cfg and deps; Run starts the writer.
func NewHealthTracker(cfg HealthConfig, deps HealthDeps) (*HealthTracker, error) {
	if deps.JetStream == nil || deps.Log == nil {
		return nil, errors.New("health tracker: JetStream and Log are required")
	}
	if cfg.AutoDisableAfter < 0 || cfg.AutoDisableMinAttempts < 0 || cfg.Flush < 0 {
		return nil, fmt.Errorf("health tracker: negative setting in %+v", cfg)
	}
	if cfg.Bucket == "" {
		cfg.Bucket = DefaultHealthBucket
	}
	if cfg.AutoDisableAfter == 0 {
		cfg.AutoDisableAfter = DefaultAutoDisableAfter
	}
	if cfg.AutoDisableMinAttempts == 0 {
		cfg.AutoDisableMinAttempts = DefaultAutoDisableMinAttempts
	}
	if cfg.Flush == 0 {
		cfg.Flush = DefaultHealthFlush
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	h := &HealthTracker{
		cfg: cfg, js: deps.JetStream, log: deps.Log, now: deps.Now, onAuto: deps.OnAutoDisable, known: deps.Known,
		wake:    make(chan struct{}, 1),
		pending: map[healthKey]*Health{}, flushed: map[healthKey]time.Time{}, failing: map[healthKey]struct{}{},
	}
	m, err := newHealthMetrics(deps.Metrics, h.failingCount)
	if err != nil {
		return nil, err
	}
	h.metrics = m
	return h, nil
}

// Observe folds one concluded attempt into the endpoint's batch. It never
// blocks on I/O: an endpoint whose last write is older than Flush wakes
// the writer, others wait for its next round. A cancelled attempt (the
// dispatcher stopped) says nothing about the endpoint and is skipped.
func (h *HealthTracker) Observe(_ context.Context, tenant string, a *Attempt) {
	if a == nil || a.ErrorClass == ClassCancelled {
		return
	}
	h.metrics.observe(a)
	obs := HealthOf(tenant, a)
	k := healthKey{tenant, a.EndpointID}
	now := h.now()
	h.mu.Lock()
	if p := h.pending[k]; p != nil {
		h.pending[k] = MergeHealth(p, obs, now)
	} else {
		h.pending[k] = obs
	}
	last, recent := h.flushed[k]
	h.mu.Unlock()
	if !recent || now.Sub(last) >= h.cfg.Flush {
		select {
		case h.wake <- struct{}{}:
		default:
		}
	}
}

// Run opens (creating when absent) the health bucket and writes the
// batches until ctx ends; then it writes what is left, within a few
// seconds, and returns.
func (h *HealthTracker) Run(ctx context.Context) error {
	if _, err := h.bucket(ctx); err != nil {
		return err
	}
	t := time.NewTicker(healthTick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), healthStopTimeout)
			h.flush(sctx, true)
			cancel()
			return nil
		case <-h.wake:
		case <-t.C:
		}
		h.flush(ctx, false)
	}
}

// Flush writes every pending batch now (tests, and before a stop).
func (h *HealthTracker) Flush(ctx context.Context) error {
	if _, err := h.bucket(ctx); err != nil {
		return err
	}
	if n := h.flush(ctx, true); n > 0 {
		return fmt.Errorf("write health: %d endpoints failed", n)
	}
	return nil
}

// Get reads an endpoint's stored health.
func (h *HealthTracker) Get(ctx context.Context, tenant, endpointID string) (Health, bool, error) {
	kv, err := h.bucket(ctx)
	if err != nil {
		return Health{}, false, err
	}
	cur, _, found, err := readHealth(ctx, kv, HealthKey(tenant, endpointID))
	return cur, found, err
}

func (h *HealthTracker) bucket(ctx context.Context) (jetstream.KeyValue, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.kv != nil {
		return h.kv, nil
	}
	kv, err := h.js.CreateOrUpdateKeyValue(ctx, HealthBucketConfig(h.cfg.Bucket, h.cfg.Replicas))
	if err != nil {
		return nil, fmt.Errorf("open health bucket %s: %w", h.cfg.Bucket, err)
	}
	h.kv = kv
	return kv, nil
}

// HealthBucketConfig is the health bucket: file storage (health outlives
// a restart of NATS), one value per key.
func HealthBucketConfig(bucket string, replicas int) jetstream.KeyValueConfig {
	return jetstream.KeyValueConfig{
		Bucket: bucket, Description: "Hookgate endpoint health, shared by the dispatchers",
		Storage: jetstream.FileStorage, History: 1, Replicas: max(replicas, 1),
	}
}

// flush writes the batches due (all with force) and returns how many
// failed; a failed batch is merged back to be written next round.
func (h *HealthTracker) flush(ctx context.Context, force bool) int {
	now := h.now()
	h.mu.Lock()
	kv := h.kv
	due := map[healthKey]*Health{}
	for k, b := range h.pending {
		if last, ok := h.flushed[k]; force || !ok || now.Sub(last) >= h.cfg.Flush {
			due[k] = b
			delete(h.pending, k)
			h.flushed[k] = now
		}
	}
	for k, last := range h.flushed {
		if _, waiting := h.pending[k]; !waiting && now.Sub(last) >= h.cfg.Flush {
			delete(h.flushed, k)
		}
	}
	h.mu.Unlock()
	if kv == nil {
		h.putBack(due, now)
		return len(due)
	}
	failed := 0
	for k, b := range due {
		if h.known != nil && !h.known(k.tenant, k.endpoint) {
			h.setFailing(k, false)
			continue
		}
		if err := h.write(ctx, kv, k, b); err != nil {
			if ctx.Err() == nil {
				h.log.Warn("write endpoint health", "tenant", k.tenant, "endpoint_id", k.endpoint, "err", err)
			}
			h.metrics.flushErrors.Inc()
			h.putBack(map[healthKey]*Health{k: b}, now)
			failed++
		}
	}
	return failed
}

func (h *HealthTracker) putBack(batches map[healthKey]*Health, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for k, b := range batches {
		if p := h.pending[k]; p != nil {
			b = MergeHealth(b, p, now)
		}
		h.pending[k] = b
	}
}

// write merges batch b into the stored value with compare-and-set, and
// marks the endpoint for auto-disable when its run of failures is long
// enough; only the replica whose write set the mark reports it.
func (h *HealthTracker) write(ctx context.Context, kv jetstream.KeyValue, k healthKey, b *Health) error {
	key := HealthKey(k.tenant, k.endpoint)
	for range casAttempts {
		cur, rev, found, err := readHealth(ctx, kv, key)
		if err != nil {
			return err
		}
		now := h.now()
		m := MergeHealth(&cur, b, now)
		m.UpdatedAt = now.UTC()
		disable := m.AutoDisabledAt.IsZero() && h.dueForDisable(m)
		if disable {
			m.AutoDisabledAt = now.UTC()
		}
		data, err := json.Marshal(m)
		if err != nil {
			return fmt.Errorf("encode health %s: %w", key, err)
		}
		if found {
			_, err = kv.Update(ctx, key, data, rev)
		} else {
			_, err = kv.Create(ctx, key, data)
		}
		if errors.Is(err, jetstream.ErrKeyExists) || isWrongSequence(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("write health %s: %w", key, err)
		}
		h.setFailing(k, m.ConsecutiveFailures > 0)
		if disable {
			h.metrics.autoDisabled.Inc()
			h.log.Info("endpoint failing for the auto-disable span; disabling", "tenant", k.tenant, "endpoint_id", k.endpoint,
				"failing_since", m.FailingSince, "failed_attempts", m.ConsecutiveFailures)
			if h.onAuto != nil {
				h.onAuto(ctx, k.tenant, k.endpoint)
			}
		}
		return nil
	}
	return fmt.Errorf("write health %s: %d concurrent changes", key, casAttempts)
}

// dueForDisable: every attempt failed from FailingSince to the newest
// failure, over at least the span and the minimum of attempts.
func (h *HealthTracker) dueForDisable(m *Health) bool {
	return m.ConsecutiveFailures >= int64(h.cfg.AutoDisableMinAttempts) && !m.FailingSince.IsZero() &&
		m.LastFailureAt.Sub(m.FailingSince) >= h.cfg.AutoDisableAfter
}

// readHealth reads a stored value; a value that does not decode is
// replaced (found, with its revision, but empty).
func readHealth(ctx context.Context, kv jetstream.KeyValue, key string) (Health, uint64, bool, error) {
	e, err := kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Health{}, 0, false, nil
	}
	if err != nil {
		return Health{}, 0, false, fmt.Errorf("read health %s: %w", key, err)
	}
	var h Health
	if json.Unmarshal(e.Value(), &h) != nil {
		return Health{}, e.Revision(), true, nil
	}
	return h, e.Revision(), true, nil
}

func (h *HealthTracker) setFailing(k healthKey, failing bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if failing {
		h.failing[k] = struct{}{}
	} else {
		delete(h.failing, k)
	}
}

func (h *HealthTracker) failingCount() float64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return float64(len(h.failing))
}

// healthMetrics are the dispatcher's attempt and health series. No label
// names a tenant or an endpoint: outcome and error class are fixed sets.
type healthMetrics struct {
	attempts     *prometheus.CounterVec
	seconds      *prometheus.HistogramVec
	flushErrors  prometheus.Counter
	autoDisabled prometheus.Counter
	// succeeded and failed total attempts over every error class, for the
	// fleet view (Traffic): one atomic add per attempt, which a delivery's
	// network round trip dwarfs.
	succeeded, failed atomic.Uint64
}

func newHealthMetrics(reg prometheus.Registerer, failing func() float64) (*healthMetrics, error) {
	m := &healthMetrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookgate_dispatch_attempts_total", Help: "Concluded delivery attempts by outcome and error class (none on success).",
		}, []string{"outcome", "error_class"}),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "hookgate_dispatch_attempt_duration_seconds", Help: "Duration of concluded delivery attempts by outcome.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 13),
		}, []string{"outcome"}),
		flushErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hookgate_dispatch_health_write_errors_total", Help: "Endpoint health batches whose write to the health bucket failed (kept and written again).",
		}),
		autoDisabled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hookgate_dispatch_endpoints_auto_disabled_total", Help: "Endpoints this dispatcher asked to disable (reason auto) after failing for the auto-disable span.",
		}),
	}
	gauge := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "hookgate_dispatch_endpoints_failing", Help: "Endpoints whose health this dispatcher last wrote with failed attempts since their last success.",
	}, failing)
	if reg != nil {
		for _, c := range []prometheus.Collector{m.attempts, m.seconds, m.flushErrors, m.autoDisabled, gauge} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("register metrics: %w", err)
			}
		}
	}
	return m, nil
}

func (m *healthMetrics) observe(a *Attempt) {
	outcome, class := "succeeded", "none"
	if !a.Succeeded() {
		outcome, class = "failed", string(a.ErrorClass)
		m.failed.Add(1)
	} else {
		m.succeeded.Add(1)
	}
	m.attempts.WithLabelValues(outcome, class).Inc()
	m.seconds.WithLabelValues(outcome).Observe(a.Duration.Seconds())
}

// Traffic returns the attempts this dispatcher has concluded since it
// started, delivered and failed (hookgate_dispatch_attempts_total summed
// over error classes), for the fleet view (configsync.Config.Stats).
func (h *HealthTracker) Traffic() *hookgatev1.NodeTraffic {
	return &hookgatev1.NodeTraffic{Delivered: h.metrics.succeeded.Load(), Failed: h.metrics.failed.Load()}
}
