package configsync

import (
	"context"
	"time"

	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// StatsIntervalHeader is the config stream's response header in which the
// control plane says it takes ConfigStats and how often (a Go duration).
// The control plane's name for it is distribute.StatsIntervalHeader, which
// a node may not import; ConfigStats' comment in proto/ fixes the name and
// cmd/hookgate/contract checks that both agree.
const StatsIntervalHeader = "Hookgate-Stats-Interval"

// statsInterval reads the announced interval: false when the control plane
// announced none (it predates ConfigStats) or an unreadable one.
func statsInterval(header string) (time.Duration, bool) {
	if header == "" {
		return 0, false
	}
	d, err := time.ParseDuration(header)
	if err != nil || d <= 0 {
		return 0, false
	}
	return max(d, MinStatsInterval), true
}

// reportStats sends the node's counters at once and then every interval,
// until ctx ends or a Send fails (the stream is gone; the session's Receive
// tells why).
func (c *Client) reportStats(ctx context.Context, every time.Duration, send func(*hookgatev1.StreamConfigRequest) error) {
	for {
		if t := c.cfg.Stats(); t != nil {
			t.SampleTime = timestamppb.New(c.clock.Now())
			t.StartTime = c.started
			err := send(&hookgatev1.StreamConfigRequest{Kind: &hookgatev1.StreamConfigRequest_Stats{Stats: &hookgatev1.ConfigStats{Traffic: t}}})
			if err != nil {
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-c.clock.After(every):
		}
	}
}
