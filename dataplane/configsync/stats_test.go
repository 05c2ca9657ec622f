package configsync_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookgate/hookgate/dataplane/configsync"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
)

// TestClientReportsStats: on a stream whose control plane announces an
// interval, the node reports its counters at once and then each interval
// (on its clock), stamped with the sample and start times; the reports
// share the stream with the answers.
func TestClientReportsStats(t *testing.T) {
	fake, url := startFake(t)
	got := make(chan *hookgatev1.StreamConfigRequest, 16)
	fake.scripts <- func(s *session) error {
		s.stream.ResponseHeader().Set("Hookgate-Stats-Interval", "5s")
		if err := s.send(snapshot(5, res("acme", "wh_1", 1))); err != nil {
			return err
		}
		for {
			m, err := s.answer()
			if err != nil {
				return nil
			}
			got <- m
		}
	}
	clk := newFakeClock()
	start := clk.Now()
	var accepted atomic.Uint64
	accepted.Store(3)
	cfg := validConfig()
	cfg.ControlPlaneURL = url
	cfg.Stats = func() *hookgatev1.NodeTraffic {
		return &hookgatev1.NodeTraffic{Accepted: accepted.Load(), RejectedAuth: 1}
	}
	startClientWithClock(t, cfg, configsync.NewTable(), clk)

	// The ACK and the first report, in either order.
	var first *hookgatev1.NodeTraffic
	acked := false
	for !acked || first == nil {
		m := recv(t, got)
		switch {
		case m.GetAck() != nil:
			acked = true
		case m.GetStats() != nil:
			first = m.GetStats().GetTraffic()
		default:
			t.Fatalf("unexpected message %v", m)
		}
	}
	if first.Accepted != 3 || first.RejectedAuth != 1 || !first.StartTime.AsTime().Equal(start) || !first.SampleTime.AsTime().Equal(start) {
		t.Fatalf("first report %v", first)
	}
	accepted.Store(8)
	clk.fire(t, "stats", func(d time.Duration) bool { return d == 5*time.Second })
	m := recv(t, got)
	tr := m.GetStats().GetTraffic()
	if tr.GetAccepted() != 8 || !tr.SampleTime.AsTime().Equal(start.Add(5*time.Second)) || !tr.StartTime.AsTime().Equal(start) {
		t.Fatalf("second report %v, want 8 accepted sampled 5s later", m)
	}
}

// TestClientSendsNoStatsUnasked: a control plane that announces no
// interval (one from before ConfigStats, which would end the stream on
// them) gets none; neither does any when the node has no Stats.
func TestClientSendsNoStatsUnasked(t *testing.T) {
	for _, tt := range []struct {
		name   string
		header string
		stats  bool
	}{
		{"no header", "", true},
		{"unreadable header", "soon", true},
		{"no stats func", "5s", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fake, url := startFake(t)
			got := make(chan *hookgatev1.StreamConfigRequest, 16)
			fake.scripts <- func(s *session) error {
				if tt.header != "" {
					s.stream.ResponseHeader().Set("Hookgate-Stats-Interval", tt.header)
				}
				for _, u := range []*hookgatev1.StreamConfigResponse{snapshot(5, res("acme", "wh_1", 1)), delta(6, nil, res("acme", "wh_2", 1))} {
					if err := s.send(u); err != nil {
						return err
					}
					m, err := s.answer()
					if err != nil {
						return err
					}
					got <- m
				}
				<-s.ctx.Done()
				return nil
			}
			var calls atomic.Int64
			cfg := validConfig()
			cfg.ControlPlaneURL = url
			if tt.stats {
				cfg.Stats = func() *hookgatev1.NodeTraffic { calls.Add(1); return &hookgatev1.NodeTraffic{} }
			}
			startClient(t, cfg, configsync.NewTable())
			// A report would be sent as the stream is answered: before the
			// second ACK.
			if m := recv(t, got); m.GetAck().GetRevision() != 5 {
				t.Fatalf("first message %v, want ACK 5", m)
			}
			if m := recv(t, got); m.GetAck().GetRevision() != 6 {
				t.Fatalf("second message %v, want ACK 6", m)
			}
			if n := calls.Load(); n != 0 {
				t.Fatalf("Stats read %d times", n)
			}
		})
	}
}
