package ingress

import (
	"testing"
	"time"

	"github.com/hookgate/hookgate/dataplane/configsync"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
)

func compactHook(t *testing.T, tenant, id, process string) *configsync.Webhook {
	t.Helper()
	w, err := configsync.NewWebhook(&hookgatev1.EdgeWebhook{Tenant: tenant, Id: id, Active: true,
		Bindings: []*hookgatev1.Binding{{ProcessId: process, Trigger: hookgatev1.Trigger_TRIGGER_START_PROCESS}}})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// TestHooksShareBindings: hooks of equal bindings in one tenant share one
// derived slice, counted, so it goes with its last user; another tenant
// or other bindings get their own, with their own subjects.
func TestHooksShareBindings(t *testing.T) {
	var hs hooks
	a := hs.get("acme", "wh_a", compactHook(t, "acme", "wh_a", "orders"))
	b := hs.get("acme", "wh_b", compactHook(t, "acme", "wh_b", "orders"))
	c := hs.get("beta", "wh_a", compactHook(t, "beta", "wh_a", "orders"))
	d := hs.get("acme", "wh_d", compactHook(t, "acme", "wh_d", "billing"))
	if &a.bindings[0] != &b.bindings[0] {
		t.Errorf("equal bindings of one tenant not shared")
	}
	for name, tt := range map[string]struct {
		h       *hook
		subject string
	}{
		"a": {a, "hookgate.in.acme.orders.start"}, "b": {b, "hookgate.in.acme.orders.start"},
		"c": {c, "hookgate.in.beta.orders.start"}, "d": {d, "hookgate.in.acme.billing.start"},
	} {
		if got := tt.h.bindings[0].subject; got != tt.subject {
			t.Errorf("%s: subject %q, want %q", name, got, tt.subject)
		}
	}
	if len(hs.bindings) != 3 {
		t.Fatalf("%d shared binding lists, want 3", len(hs.bindings))
	}
	// a changes its bindings: the orders list stays for b.
	a2 := hs.get("acme", "wh_a", compactHook(t, "acme", "wh_a", "billing"))
	if a2.bindings[0].subject != "hookgate.in.acme.billing.start" || &a2.bindings[0] != &d.bindings[0] {
		t.Errorf("updated a: subject %q, shared with d %v", a2.bindings[0].subject, &a2.bindings[0] == &d.bindings[0])
	}
	if s := hs.bindings[keyOfBindings(b)]; s == nil || s.refs != 1 {
		t.Fatalf("orders list after a left it: %+v, want 1 user", s)
	}
	hs.forget("acme", "wh_b")
	hs.forget("acme", "wh_b") // twice is harmless
	hs.prune(func(tenant, id string) bool { return tenant == "acme" })
	if len(hs.bindings) != 1 || len(hs.m) != 2 {
		t.Errorf("after forget and prune: %d lists, %d hooks; want 1 and 2", len(hs.bindings), len(hs.m))
	}
	hs.forget("acme", "wh_a")
	hs.forget("acme", "wh_d")
	if len(hs.bindings) != 0 || len(hs.m) != 0 {
		t.Errorf("after forgetting all: %d lists, %d hooks", len(hs.bindings), len(hs.m))
	}
}

// TestFailureSamplerSurvivesRebuild: the sampler is made at the first
// failure and kept when the webhook's hook is rebuilt, so an update does
// not refill its burst.
func TestFailureSamplerSurvivesRebuild(t *testing.T) {
	var hs hooks
	now := time.Date(2026, 3, 23, 15, 30, 0, 0, time.UTC)
	h := hs.get("acme", "wh_a", compactHook(t, "acme", "wh_a", "orders"))
	if h.failures.l.Load() != nil {
		t.Fatalf("sampler made before any failure")
	}
	for i := range failureRecordBurst {
		if !h.failures.AllowN(now, 1) {
			t.Fatalf("failure %d of the burst refused", i)
		}
	}
	h2 := hs.get("acme", "wh_a", compactHook(t, "acme", "wh_a", "billing"))
	if h2 == h || h2.failures.AllowN(now, 1) {
		t.Errorf("rebuilt hook refilled the failure burst")
	}
	if !h2.failures.AllowN(now.Add(time.Second), 1) {
		t.Errorf("no failure allowed a second later")
	}
}
