package dispatcher

import (
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// TestEndpointIndexKeeps: the table hands endpoints and tenants to the
// index and keeps no message of them, and the index answers every lookup
// after a chunked snapshot, an interrupted one, a delta, a refused delta
// and a delete; what the table yields for the cache file rebuilds the same
// index.
func TestEndpointIndexKeeps(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var cancelled []string
	x := newEndpointIndex(slog.New(slog.NewTextHandler(io.Discard, nil)), func() time.Time { return now }, 1,
		func(tenant, id string) { cancelled = append(cancelled, tenant+"/"+id) })
	table := x.newTable()
	cur := &hookgatev1.SigningSecret{Secret: secret(0)}
	rotated := &hookgatev1.SigningSecret{Secret: secret(1), ExpireTime: timestamppb.New(now.Add(time.Hour))}

	// A chunked snapshot: nothing is served until the last chunk.
	b := table.BeginSnapshot(1, 0, 0)
	if err := b.Add([]*hookgatev1.ConfigResource{
		endpointResource("acme", "ep_1", "app_1", true, []string{"order.created"}, cur),
		tenantResource("acme"),
	}); err != nil {
		t.Fatal(err)
	}
	if _, ok := x.Endpoint("acme", "ep_1"); ok {
		t.Fatal("endpoint served before the snapshot's last chunk")
	}
	if err := b.Add([]*hookgatev1.ConfigResource{
		endpointResource("acme", "ep_2", "app_1", true, []string{"order.created", "order.paid"}, cur, rotated),
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := ids(x.Subscribed("acme", "app_1", "order.created")); !slices.Equal(got, []string{"ep_1", "ep_2"}) {
		t.Fatalf("after the chunked snapshot Subscribed = %v", got)
	}
	if e, ok := x.Endpoint("acme", "ep_2"); !ok || len(e.Secrets) != 2 {
		t.Fatalf("ep_2 = %v, %v; want it with 2 secrets", e, ok)
	}
	snap := table.Snapshot()
	for _, key := range []string{"endpoint/acme/ep_1", "tenant/acme"} {
		if _, ok := snap.Resource(key); ok {
			t.Errorf("the table keeps a message of %s, which the index holds", key)
		}
	}

	// An interrupted snapshot changes nothing.
	b = table.BeginSnapshot(2, 0, 0)
	if err := b.Add([]*hookgatev1.ConfigResource{endpointResource("acme", "ep_9", "app_1", true, []string{"order.created"}, cur)}); err != nil {
		t.Fatal(err)
	}
	b.Abort()
	if _, ok := x.Endpoint("acme", "ep_9"); ok || table.Snapshot() != snap {
		t.Fatal("an aborted snapshot changed what is served")
	}

	// A delta adds one endpoint, deletes another and moves a third.
	if _, err := table.Apply(&hookgatev1.StreamConfigResponse{Revision: 3,
		Upserts: []*hookgatev1.ConfigResource{
			endpointResource("acme", "ep_3", "app_2", true, []string{"order.paid"}, cur),
			endpointResource("acme", "ep_2", "app_1", true, []string{"order.paid"}, cur),
		},
		Deletes: []string{"endpoint/acme/ep_1"},
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cancelled, []string{"acme/ep_1"}) {
		t.Errorf("cancelled %v, want [acme/ep_1]", cancelled)
	}
	tests := []struct {
		app, typ string
		want     []string
	}{
		{"app_1", "order.created", nil},
		{"app_1", "order.paid", []string{"ep_2"}},
		{"app_2", "order.paid", []string{"ep_3"}},
	}
	for _, tt := range tests {
		if got := ids(x.Subscribed("acme", tt.app, tt.typ)); !slices.Equal(got, tt.want) {
			t.Errorf("after the delta Subscribed(%s, %s) = %v, want %v", tt.app, tt.typ, got, tt.want)
		}
	}
	if e, ok := x.Endpoint("acme", "ep_2"); !ok || len(e.Secrets) != 1 {
		t.Errorf("ep_2 after the delta = %v, %v; want it with 1 secret", e, ok)
	}
	// The previous index is untouched: readers holding it see it whole.
	if old := snap.Kept().(*index); old.n != 2 {
		t.Errorf("the delta changed the previous index: %d endpoints, want 2", old.n)
	}

	// A delta whose endpoint key does not name it is refused whole.
	bad := endpointResource("acme", "ep_4", "app_1", true, []string{"order.paid"}, cur)
	bad.Key = "endpoint/acme/ep_other"
	before := table.Snapshot()
	if _, err := table.Apply(&hookgatev1.StreamConfigResponse{Revision: 4, Upserts: []*hookgatev1.ConfigResource{
		endpointResource("acme", "ep_5", "app_1", true, []string{"order.paid"}, cur), bad,
	}}); err == nil {
		t.Fatal("a delta with a mismatched endpoint key was applied")
	}
	if _, ok := x.Endpoint("acme", "ep_5"); ok || table.Snapshot() != before {
		t.Fatal("a refused delta changed what is served")
	}

	// What the table yields (the cache file's content) rebuilds the index.
	var rs []*hookgatev1.ConfigResource
	table.Snapshot().Resources("", func(r *hookgatev1.ConfigResource) bool { rs = append(rs, r); return true })
	if len(rs) != 3 {
		t.Fatalf("table yields %d resources, want 3 (two endpoints and a tenant)", len(rs))
	}
	y := newEndpointIndex(slog.New(slog.NewTextHandler(io.Discard, nil)), func() time.Time { return now }, 1, func(string, string) {})
	if _, err := y.newTable().Apply(&hookgatev1.StreamConfigResponse{Revision: 3, Snapshot: true, Upserts: rs}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"ep_2", "ep_3"} {
		a, _ := x.Endpoint("acme", id)
		c, ok := y.Endpoint("acme", id)
		if !ok || c.URL != a.URL || c.TimeoutMS != a.TimeoutMS || c.Burst != a.Burst || len(c.Secrets) != len(a.Secrets) ||
			c.Secrets[0].Reveal() != a.Secrets[0].Reveal() || c.Headers["X-A"] != a.Headers["X-A"] {
			t.Errorf("rebuilt %s = %+v, want %+v", id, c, a)
		}
	}
	if got := ids(y.Subscribed("acme", "app_2", "order.paid")); !slices.Equal(got, []string{"ep_3"}) {
		t.Errorf("rebuilt Subscribed = %v", got)
	}
}

// TestEndpointIndexRotationResource: a rotated secret's expiry survives
// the trip through the resources the table yields, and signing stops at it.
func TestEndpointIndexRotationResource(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := now
	x := newEndpointIndex(slog.New(slog.NewTextHandler(io.Discard, nil)), func() time.Time { return clock }, 1, func(string, string) {})
	table := x.newTable()
	if _, err := table.Apply(&hookgatev1.StreamConfigResponse{Revision: 1, Snapshot: true, Upserts: []*hookgatev1.ConfigResource{
		endpointResource("acme", "ep_1", "app_1", true, []string{"t"}, &hookgatev1.SigningSecret{Secret: secret(0)},
			&hookgatev1.SigningSecret{Secret: secret(1), ExpireTime: timestamppb.New(now.Add(time.Hour))}),
	}}); err != nil {
		t.Fatal(err)
	}
	var got *hookgatev1.DispatchEndpoint
	table.Snapshot().Resources("endpoint/", func(r *hookgatev1.ConfigResource) bool { got = r.GetEndpoint(); return true })
	if len(got.GetSecrets()) != 2 || got.GetSecrets()[0].GetExpireTime() != nil ||
		!got.GetSecrets()[1].GetExpireTime().AsTime().Equal(now.Add(time.Hour)) || got.GetSecrets()[1].GetSecret() != secret(1) {
		t.Fatalf("yielded secrets %v, want the current one then the rotated one with its expiry", got.GetSecrets())
	}
	clock = now.Add(time.Hour)
	if g := x.Subscribed("acme", "app_1", "t"); len(g) != 1 || len(g[0].Secrets) != 1 {
		t.Fatalf("at the expiry Subscribed = %v, want ep_1 with 1 secret", g)
	}
}
