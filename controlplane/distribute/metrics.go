package distribute

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	connected    *prometheus.GaugeVec
	updates      *prometheus.CounterVec
	nacks        *prometheus.CounterVec
	resyncs      *prometheus.CounterVec
	sendTimeouts *prometheus.CounterVec
	revision     prometheus.Gauge
	recordErrors prometheus.Counter
	refused      *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		connected: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "hookgate_config_nodes_connected",
			Help: "Data-plane nodes with an open config stream to this replica, by role.",
		}, []string{"role"}),
		updates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookgate_config_updates_sent_total",
			Help: "Config updates sent to nodes, by role and kind (snapshot or delta).",
		}, []string{"role", "kind"}),
		nacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookgate_config_nacks_total",
			Help: "Config updates nodes rejected, by role.",
		}, []string{"role"}),
		resyncs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookgate_config_resyncs_total",
			Help: "Snapshots sent to nodes that held a revision but could not get deltas, by role and reason (slow, compacted, future, history, cluster).",
		}, []string{"role", "reason"}),
		sendTimeouts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookgate_config_send_timeouts_total",
			Help: "Streams ended because the node did not take an update within the send timeout, by role.",
		}, []string{"role"}),
		revision: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hookgate_config_revision",
			Help: "The etcd revision this replica's config view has reached.",
		}),
		recordErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hookgate_config_record_errors_total",
			Help: "Webhook records that could not be converted for nodes (bad encoding, unknown keyring key); nodes keep the last good version.",
		}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookgate_config_streams_refused_total",
			Help: "Config streams refused before anything was sent, by reason (unauthenticated, permission_denied, not_ready).",
		}, []string{"reason"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.connected, m.updates, m.nacks, m.resyncs, m.sendTimeouts, m.revision, m.recordErrors, m.refused} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("distribute: register metrics (one Distributor per registry): %w", err)
		}
	}
	return m, nil
}
