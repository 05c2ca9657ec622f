package ingress_test

import (
	"testing"

	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
)

// A deleted webhook's derived state (here its rate limiter) goes with it;
// state of webhooks that stay is kept.
func TestForgetAndPrune(t *testing.T) {
	t.Parallel()
	e := newEdgeEnv(t)
	for _, id := range []string{"wh_a", "wh_b"} {
		w := e.hook(id)
		w.RateLimit = &hookgatev1.RateLimit{RequestsPerSecond: 0.001, Burst: 1}
		e.routes.put(w)
	}
	spend := func(id string, want int) {
		t.Helper()
		if status, _, body := e.do(t, call{path: "/in/acme/" + id + "?key=" + key1, body: `{}`}); status != want {
			t.Fatalf("%s: %d %v, want %d", id, status, body, want)
		}
	}
	spend("wh_a", 200)
	spend("wh_a", 429)
	spend("wh_b", 200)
	spend("wh_b", 429)

	e.edge.Forget("acme", "wh_a")
	spend("wh_a", 200) // a fresh bucket
	e.edge.Prune(func(tenant, id string) bool { return id == "wh_b" })
	spend("wh_b", 429) // kept: still empty
	spend("wh_a", 200) // pruned: fresh again
}
