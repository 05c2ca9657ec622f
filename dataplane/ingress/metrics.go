package ingress

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// metrics are the edge's Prometheus series. They carry no tenant or webhook
// label: those are unbounded, and failed triggers hold per-webhook detail.
type metrics struct {
	requests       *prometheus.CounterVec
	seconds        prometheus.Histogram
	publishSeconds prometheus.Histogram
	bodyBytes      prometheus.Histogram
	failures       *prometheus.CounterVec
	byReason       [numReasons]prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, inflight *atomic.Int64) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookgate_edge_requests_total", Help: "Inbound calls by outcome.",
		}, []string{"outcome", "code"}),
		seconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "hookgate_edge_request_duration_seconds", Help: "Time from request to answer.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		publishSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "hookgate_edge_publish_duration_seconds", Help: "Time to publish a call's events and get every JetStream acknowledgement.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		bodyBytes: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "hookgate_edge_body_bytes", Help: "Size of accepted-for-processing request bodies.",
			Buckets: prometheus.ExponentialBuckets(256, 4, 9),
		}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookgate_edge_failed_trigger_records_total", Help: "Failed triggers by what became of their record.",
		}, []string{"result"}),
	}
	// Read at scrape time: the hot path only adds to the atomic.
	inflightBytes := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "hookgate_edge_inflight_bytes", Help: "Bytes of bodies and envelopes held by calls in flight (bounded by the in-flight budget; calls over it are counted as hookgate_edge_requests_total{outcome=\"over_budget\"}).",
	}, func() float64 { return float64(inflight.Load()) })
	for r := range numReasons {
		info := reasons[r]
		m.byReason[r] = m.requests.WithLabelValues(info.label, fmt.Sprint(info.status))
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.requests, m.seconds, m.publishSeconds, m.bodyBytes, m.failures, inflightBytes} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("register metrics: %w", err)
			}
		}
	}
	return m, nil
}

func (m *metrics) observe(r reason, d time.Duration) {
	m.byReason[r].Inc()
	m.seconds.Observe(d.Seconds())
}

// Traffic returns the inbound calls answered so far, by class of status:
// what hookgate_edge_requests_total has counted since the edge started,
// read from those counters (the hot path adds nothing for it). The config
// stream reports it for the fleet view (configsync.Config.Stats).
func (e *Edge) Traffic() *hookgatev1.NodeTraffic {
	t := &hookgatev1.NodeTraffic{}
	var m dto.Metric
	for r := range numReasons {
		m.Reset()
		if err := e.metrics.byReason[r].Write(&m); err != nil {
			continue
		}
		n := uint64(m.GetCounter().GetValue())
		switch status := reasons[r].status; {
		case status < 300:
			t.Accepted += n
		case status == http.StatusUnauthorized || status == http.StatusForbidden:
			t.RejectedAuth += n
		case status < 500:
			t.RejectedOther += n
		default:
			t.Unavailable += n
		}
	}
	return t
}
