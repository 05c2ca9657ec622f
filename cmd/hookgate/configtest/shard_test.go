package configtest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/hookgate/hookgate/controlplane/distribute"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/testkit/poll"
)

// shardHello is a hello declaring a shard.
func shardHello(id string, rev int64, s *hookgatev1.EdgeShard) *hookgatev1.ConfigHello {
	h := hello(id, edge, rev)
	h.Shard = s
	return h
}

// sortedKeys are an update's upsert keys, sorted.
func sortedKeys(u *hookgatev1.StreamConfigResponse) []string {
	k := keysOf(u)
	slices.Sort(k)
	return k
}

// TestShardedEdgeGetsOnlyItsSlice: with real etcd and the real control
// plane, an edge declaring tenants gets a snapshot of those tenants only,
// then deltas of those tenants only (another tenant's change reaches it
// as an empty delta that only moves its revision); a hash shard gets the
// tenants of its hash; dispatchers and unsharded edges get everything.
func TestShardedEdgeGetsOnlyItsSlice(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// acme is in shard 3 of 4, globex and hooli in 1, umbrella in 0
	// (distribute.TenantShard).
	for _, w := range []webhook{
		{tenant: "acme", id: "wh_a1", key: "k"}, {tenant: "acme", id: "wh_a2", key: "k"},
		{tenant: "globex", id: "wh_g1", key: "k"}, {tenant: "hooli", id: "wh_h1", key: "k"},
		{tenant: "umbrella", id: "wh_u1", key: "k"},
	} {
		e.put(t, w)
	}
	cp := e.startCP(t, distribute.Config{})

	list := dialRaw(t, h2cClient(), cp.url, edgeToken, shardHello("edge-acme", 0, &hookgatev1.EdgeShard{Tenants: []string{"acme"}}))
	snap := list.recv(t)
	if got, want := sortedKeys(snap), []string{"webhook/acme/wh_a1", "webhook/acme/wh_a2"}; !snap.GetSnapshot() || !slices.Equal(got, want) {
		t.Fatalf("tenants [acme]: snapshot %v with %v, want %v", snap.GetSnapshot(), got, want)
	}
	list.ack(t, snap.GetRevision())

	hash := dialRaw(t, h2cClient(), cp.url, edgeToken, shardHello("edge-1-of-4", 0, &hookgatev1.EdgeShard{Index: 1, Count: 4}))
	hsnap := hash.recv(t)
	if got, want := sortedKeys(hsnap), []string{"webhook/globex/wh_g1", "webhook/hooli/wh_h1"}; !slices.Equal(got, want) {
		t.Fatalf("shard 1/4: snapshot %v, want %v", got, want)
	}
	hash.ack(t, hsnap.GetRevision())

	// Unsharded: everything, as before.
	whole := dialRaw(t, h2cClient(), cp.url, edgeToken, hello("edge-all", edge, 0))
	if got := whole.recv(t); len(got.GetUpserts()) != 5 {
		t.Fatalf("unsharded edge: %d resources, want 5", len(got.GetUpserts()))
	}

	// Another tenant's change: the acme edge gets an empty delta at its
	// revision, never globex's webhook.
	rev := e.put(t, webhook{tenant: "globex", id: "wh_g2", key: "k"})
	u := list.recv(t)
	if u.GetSnapshot() || u.GetRevision() < rev || len(u.GetUpserts())+len(u.GetDeletes()) != 0 {
		t.Fatalf("acme edge after a globex change: snapshot %v revision %d (want ≥ %d), upserts %v deletes %v; want an empty delta",
			u.GetSnapshot(), u.GetRevision(), rev, keysOf(u), u.GetDeletes())
	}
	list.ack(t, u.GetRevision())
	hu := hash.recv(t)
	if got := keysOf(hu); !slices.Equal(got, []string{"webhook/globex/wh_g2"}) {
		t.Fatalf("shard 1/4 after a globex change: %v", got)
	}
	hash.ack(t, hu.GetRevision())

	// Its own tenant's changes arrive: an update, then a delete.
	rev = e.put(t, webhook{tenant: "acme", id: "wh_a3", key: "k"})
	u = list.recv(t)
	if got := keysOf(u); u.GetRevision() < rev || !slices.Equal(got, []string{"webhook/acme/wh_a3"}) {
		t.Fatalf("acme edge after an acme change: revision %d, upserts %v", u.GetRevision(), got)
	}
	list.ack(t, u.GetRevision())
	e.del(t, "acme", "wh_a1")
	if u = list.recv(t); !slices.Equal(u.GetDeletes(), []string{"webhook/acme/wh_a1"}) || len(u.GetUpserts()) != 0 {
		t.Fatalf("acme edge after deleting wh_a1: upserts %v deletes %v", keysOf(u), u.GetDeletes())
	}
	list.ack(t, u.GetRevision())
	// A delete of another shard's webhook is not sent either.
	e.del(t, "umbrella", "wh_u1")
	if u = list.recv(t); len(u.GetUpserts())+len(u.GetDeletes()) != 0 {
		t.Fatalf("acme edge after deleting umbrella's webhook: upserts %v deletes %v", keysOf(u), u.GetDeletes())
	}
	list.ack(t, u.GetRevision())

	// A resume from the acked revision gets the shard's changes only, from
	// the log.
	held := u.GetRevision()
	list.close()
	e.put(t, webhook{tenant: "globex", id: "wh_g3", key: "k"})
	last := e.put(t, webhook{tenant: "acme", id: "wh_a4", key: "k"})
	cp.waitRevision(t, last)
	again := dialRaw(t, h2cClient(), cp.url, edgeToken, shardHello("edge-acme", held, &hookgatev1.EdgeShard{Tenants: []string{"acme"}}))
	if u = again.recv(t); u.GetSnapshot() || !slices.Equal(keysOf(u), []string{"webhook/acme/wh_a4"}) {
		t.Fatalf("acme edge resuming: snapshot %v, upserts %v; want only wh_a4", u.GetSnapshot(), keysOf(u))
	}
}

// TestShardChangeGivesTheNewSlice: a node that comes back with another
// shard (and, as the edge does, no revision) gets a snapshot of the new
// slice only, and its table drops the old slice's webhooks.
func TestShardChangeGivesTheNewSlice(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.put(t, webhook{tenant: "acme", id: "wh_a1", key: "k"})
	e.put(t, webhook{tenant: "globex", id: "wh_g1", key: "k"})
	last := e.put(t, webhook{tenant: "hooli", id: "wh_h1", key: "k"})
	cp := e.startCP(t, distribute.Config{})

	cfg := nodeConfig(cp.url, "edge-1", edge)
	cfg.Shard = &hookgatev1.EdgeShard{Tenants: []string{"acme"}}
	n := startNode(t, cfg)
	n.waitRevision(t, last)
	if _, ok := n.table.Webhook("acme", "wh_a1"); !ok || n.table.Snapshot().Len() != 1 {
		t.Fatalf("shard [acme]: %d webhooks, acme's present %v", n.table.Snapshot().Len(), ok)
	}
	waitShard(t, cp, "edge-1", "acme")
	n.stop(t)

	// The same node id, now serving globex and hooli.
	cfg.Shard = &hookgatev1.EdgeShard{Tenants: []string{"globex", "hooli"}}
	n2 := startNode(t, cfg)
	n2.waitRevision(t, last)
	if _, ok := n2.table.Webhook("acme", "wh_a1"); ok {
		t.Error("the old slice's webhook is still served after the shard changed")
	}
	for _, tenant := range []string{"globex", "hooli"} {
		id := map[string]string{"globex": "wh_g1", "hooli": "wh_h1"}[tenant]
		if _, ok := n2.table.Webhook(tenant, id); !ok {
			t.Errorf("new slice: %s's webhook missing", tenant)
		}
	}
	if got := n2.fullUpdates(); got != 1 {
		t.Errorf("new slice came in %d snapshots, want 1", got)
	}
	waitShard(t, cp, "edge-1", "globex,hooli")
}

// waitShard waits for the fleet view to show node id with this shard
// ("acme,globex" or "1/4").
func waitShard(t *testing.T, cp *controlPlane, id, want string) {
	t.Helper()
	poll.NoError(t, 10*time.Second, func() error {
		for _, n := range cp.listNodes(t, edge) {
			if n.GetId() != id {
				continue
			}
			got := strings.Join(n.GetShard().GetTenants(), ",")
			if n.GetShard().GetCount() > 0 {
				got = fmt.Sprintf("%d/%d", n.GetShard().GetIndex(), n.GetShard().GetCount())
			}
			if got != want {
				return fmt.Errorf("node %s shard %q, want %q", id, got, want)
			}
			return nil
		}
		return fmt.Errorf("node %s not listed", id)
	})
}

// TestShardDeclarationIsValidated: a bad declaration ends the stream with
// InvalidArgument naming the field, before anything is sent.
func TestShardDeclarationIsValidated(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.put(t, webhook{tenant: "acme", id: "wh_1", key: "k"})
	cp := e.startCP(t, distribute.Config{})
	for _, tc := range []struct {
		name  string
		role  hookgatev1.NodeRole
		shard *hookgatev1.EdgeShard
		want  string
	}{
		{"index not below count", edge, &hookgatev1.EdgeShard{Index: 2, Count: 2}, "hello.shard.index: 2 must be below count 2"},
		{"index without count", edge, &hookgatev1.EdgeShard{Index: 1}, "hello.shard.count: must be at least 1"},
		{"both forms", edge, &hookgatev1.EdgeShard{Tenants: []string{"acme"}, Index: 0, Count: 2}, "not both"},
		{"bad slug", edge, &hookgatev1.EdgeShard{Tenants: []string{"ACME"}}, "hello.shard.tenants[0]: not a tenant slug"},
		{"dispatcher", dispatcher, &hookgatev1.EdgeShard{Index: 0, Count: 2}, "only edges serve a shard"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := hello("node-bad", tc.role, 0)
			h.Shard = tc.shard
			r := dialRaw(t, h2cClient(), cp.url, tokenFor(tc.role), h)
			_, err := r.recvErr(t)
			if connect.CodeOf(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want InvalidArgument with %q", err, tc.want)
			}
		})
	}
}
