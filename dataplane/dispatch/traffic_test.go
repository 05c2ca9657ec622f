package dispatch_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/hookgate/hookgate/dataplane/dispatch"
	"github.com/hookgate/hookgate/testkit/natstest"
)

// TestHealthTraffic: the attempts the tracker observed, as the config
// stream reports them; cancelled and nil attempts count for nothing.
func TestHealthTraffic(t *testing.T) {
	t.Parallel()
	tr, err := dispatch.NewHealthTracker(dispatch.HealthConfig{}, dispatch.HealthDeps{JetStream: natstest.Start(t).JetStream(t), Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []outcome{ok(0, 0, 10), ok(time.Second, 0, 10), fail(2*time.Second, 0, 500, 10, true), fail(3*time.Second, 0, 0, 10, false), ok(4*time.Second, 1, 10)} {
		tr.Observe(t.Context(), "acme", o.attempt("ep_1"))
	}
	tr.Observe(t.Context(), "acme", &dispatch.Attempt{EndpointID: "ep_1", ErrorClass: dispatch.ClassCancelled, Time: healthT0})
	tr.Observe(t.Context(), "acme", nil)
	got := tr.Traffic()
	if got.Delivered != 3 || got.Failed != 2 || got.Accepted != 0 {
		t.Fatalf("traffic %v, want 3 delivered and 2 failed", got)
	}
}
