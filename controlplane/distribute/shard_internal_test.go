package distribute

import (
	"hash/fnv"
	"slices"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"github.com/hookgate/hookgate/controlplane/store"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"google.golang.org/protobuf/proto"
)

// tenantShardVectors pin TenantShard. dataplane/ingress tests the same
// table: edges, the control plane and load balancers must agree.
var tenantShardVectors = []struct {
	tenant string
	counts [7]uint32 // shard of count 1, 2, 3, 4, 16, 1000, 65536
}{
	{"acme", [7]uint32{0, 0, 0, 3, 15, 621, 35179}},
	{"globex", [7]uint32{0, 1, 1, 1, 1, 680, 19045}},
	{"initech", [7]uint32{0, 0, 2, 3, 10, 454, 46674}},
	{"umbrella", [7]uint32{0, 0, 0, 0, 8, 266, 12582}},
	{"hooli", [7]uint32{0, 1, 1, 1, 9, 604, 10720}},
	{"tenant-0001", [7]uint32{0, 0, 0, 0, 0, 581, 49632}},
	{"zzz", [7]uint32{0, 1, 1, 1, 6, 637, 59286}},
}

func TestTenantShardVectors(t *testing.T) {
	counts := [7]uint32{1, 2, 3, 4, 16, 1000, 65536}
	for _, v := range tenantShardVectors {
		for i, c := range counts {
			if got := TenantShard(v.tenant, c); got != v.counts[i] {
				t.Errorf("TenantShard(%q, %d) = %d, want %d", v.tenant, c, got, v.counts[i])
			}
		}
	}
	if got := TenantShard("acme", 0); got != 0 {
		t.Errorf("count 0 = %d, want 0 (as 1)", got)
	}
}

// TestTenantShardIsConsistent checks the properties the docs promise:
// FNV-1a 64 is the standard one, shards are balanced, and growing the
// count moves tenants only to the new shard.
func TestTenantShardIsConsistent(t *testing.T) {
	var per [4]int
	moved := 0
	for i := range 10000 {
		tenant := "tenant-" + strings.Repeat("x", i%3) + string(rune('a'+i%26)) + itoa(i)
		a, b := TenantShard(tenant, 4), TenantShard(tenant, 5)
		h := fnv.New64a()
		h.Write([]byte(tenant))
		if ref := jumpReference(h.Sum64(), 4); uint32(ref) != a {
			t.Fatalf("%s: shard %d, the paper's jump hash of hash/fnv's FNV-1a gives %d", tenant, a, ref)
		}
		per[a]++
		if a != b {
			moved++
			if b != 4 {
				t.Fatalf("%s moved from %d to %d, not to the new shard 4", tenant, a, b)
			}
		}
	}
	for s, n := range per {
		if n < 2200 || n > 2800 {
			t.Errorf("shard %d of 4 holds %d of 10000 tenants", s, n)
		}
	}
	if moved < 1600 || moved > 2400 {
		t.Errorf("4 → 5 shards moved %d of 10000 tenants, want about 2000", moved)
	}
}

// jumpReference is the jump consistent hash as the paper prints it.
func jumpReference(key uint64, numBuckets int32) int32 {
	var b, j int64 = -1, 0
	for j < int64(numBuckets) {
		b = j
		key = key*2862933555777941757 + 1
		j = int64(float64(b+1) * (float64(int64(1)<<31) / float64((key>>33)+1)))
	}
	return int32(b)
}

func itoa(i int) string {
	var b []byte
	for {
		b = append(b, byte('0'+i%10))
		if i /= 10; i == 0 {
			break
		}
	}
	slices.Reverse(b)
	return string(b)
}

func TestHelloShard(t *testing.T) {
	edge, disp := hookgatev1.NodeRole_NODE_ROLE_EDGE, hookgatev1.NodeRole_NODE_ROLE_DISPATCHER
	many := make([]string, maxShardTenants+1)
	for i := range many {
		many[i] = "t-" + itoa(i)
	}
	tests := []struct {
		name    string
		role    hookgatev1.NodeRole
		shard   *hookgatev1.EdgeShard
		key     string // "" for every tenant
		wantErr string
	}{
		{name: "none", role: edge},
		{name: "empty message", role: edge, shard: &hookgatev1.EdgeShard{}},
		{name: "dispatcher without", role: disp},
		{name: "hash", role: edge, shard: &hookgatev1.EdgeShard{Index: 1, Count: 4}, key: "hash:1/4"},
		{name: "hash of one", role: edge, shard: &hookgatev1.EdgeShard{Index: 0, Count: 1}, key: "hash:0/1"},
		{name: "tenants sorted and deduplicated", role: edge, shard: &hookgatev1.EdgeShard{Tenants: []string{"globex", "acme", "globex"}}, key: "tenants:acme,globex"},
		{name: "dispatcher with a shard", role: disp, shard: &hookgatev1.EdgeShard{Index: 0, Count: 2}, wantErr: "only edges"},
		{name: "both forms", role: edge, shard: &hookgatev1.EdgeShard{Tenants: []string{"acme"}, Count: 2}, wantErr: "not both"},
		{name: "both forms, index only", role: edge, shard: &hookgatev1.EdgeShard{Tenants: []string{"acme"}, Index: 1}, wantErr: "not both"},
		{name: "index without count", role: edge, shard: &hookgatev1.EdgeShard{Index: 1}, wantErr: "hello.shard.count: must be at least 1"},
		{name: "index at count", role: edge, shard: &hookgatev1.EdgeShard{Index: 4, Count: 4}, wantErr: "hello.shard.index: 4 must be below count 4"},
		{name: "count too large", role: edge, shard: &hookgatev1.EdgeShard{Index: 0, Count: maxShardCount + 1}, wantErr: "hello.shard.count"},
		{name: "bad slug", role: edge, shard: &hookgatev1.EdgeShard{Tenants: []string{"acme", "Not A Slug"}}, wantErr: "hello.shard.tenants[1]: not a tenant slug"},
		{name: "short slug", role: edge, shard: &hookgatev1.EdgeShard{Tenants: []string{"ab"}}, wantErr: "tenants[0]"},
		{name: "empty slug", role: edge, shard: &hookgatev1.EdgeShard{Tenants: []string{""}}, wantErr: "tenants[0]"},
		{name: "platform folder is no tenant", role: edge, shard: &hookgatev1.EdgeShard{Tenants: []string{"_platform"}}, wantErr: "tenants[0]"},
		{name: "too many tenants", role: edge, shard: &hookgatev1.EdgeShard{Tenants: many}, wantErr: "at most 10000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sh, err := helloShard(&hookgatev1.ConfigHello{NodeId: "n", Role: tt.role, Shard: tt.shard})
			if tt.wantErr != "" {
				if err == nil || connect.CodeOf(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want InvalidArgument with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if sh != nil {
				got = sh.key
			}
			if got != tt.key {
				t.Fatalf("shard %q, want %q", got, tt.key)
			}
		})
	}
}

func TestShardServesKeys(t *testing.T) {
	acme, _ := helloShard(&hookgatev1.ConfigHello{Role: hookgatev1.NodeRole_NODE_ROLE_EDGE, Shard: &hookgatev1.EdgeShard{Tenants: []string{"acme"}}})
	// acme is in shard 3 of 4, globex in 1.
	hash3, _ := helloShard(&hookgatev1.ConfigHello{Role: hookgatev1.NodeRole_NODE_ROLE_EDGE, Shard: &hookgatev1.EdgeShard{Index: 3, Count: 4}})
	tests := []struct {
		key               string
		every, list, hash bool
	}{
		{"webhook/acme/wh_1", true, true, true},
		{"event-type/acme/order.created", true, true, true},
		{"application/acme/app_1", true, true, true},
		{"webhook/globex/wh_2", true, false, false},
		{"application/globex/app_2", true, false, false},
		// Every edge knows every token, to answer a producer of another
		// shard 421 rather than 401.
		{"token/globex/tok_1", true, true, true},
		{"token/_platform/tok_2", true, true, true},
		// A tenant whose name merely starts like acme's.
		{"webhook/acme-2/wh_3", true, false, TenantShard("acme-2", 4) == 3},
		{"webhook", true, true, true},
	}
	var every *shard
	for _, tt := range tests {
		if got := every.servesKey(tt.key); got != tt.every {
			t.Errorf("every tenant: %s = %v", tt.key, got)
		}
		if got := acme.servesKey(tt.key); got != tt.list {
			t.Errorf("tenants acme: %s = %v", tt.key, got)
		}
		if got := hash3.servesKey(tt.key); got != tt.hash {
			t.Errorf("shard 3/4: %s = %v", tt.key, got)
		}
	}
}

// tenantPut is a webhook record of tenant.
func tenantPut(tenant, id string, rev int64) record {
	k := store.WebhookKey(tenant, id)
	r := record{etcdKey: k, modRev: rev, keys: projectKeys(k)}
	r.res[roleEdge] = &hookgatev1.ConfigResource{
		Key:      r.keys[roleEdge],
		Resource: &hookgatev1.ConfigResource_Webhook{Webhook: &hookgatev1.EdgeWebhook{Tenant: tenant, Id: id, MaxBodyBytes: rev}},
	}
	return r
}

func tenantDel(tenant, id string, rev int64) record {
	k := store.WebhookKey(tenant, id)
	return record{etcdKey: k, modRev: rev, deleted: true, keys: projectKeys(k)}
}

// decodeSnapshot is the content of an encoded snapshot as a node reads it.
func decodeSnapshot(t *testing.T, s *encodedSnapshot) []string {
	t.Helper()
	data, err := proto.Marshal(s.message(1, true))
	if err != nil {
		t.Fatal(err)
	}
	var out hookgatev1.StreamConfigResponse
	if err := proto.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	ks := keys(&out)
	slices.Sort(ks)
	return ks
}

// TestShardSnapshotsAreEncodedOncePerShardAndRevision: a shard's snapshot
// holds only its tenants, is shared until the edge role changes, and
// differs per shard; the unsharded snapshot is untouched.
func TestShardSnapshotsAreEncodedOncePerShardAndRevision(t *testing.T) {
	d := &Distributor{view: newView(100)}
	d.view.load(10, cluster, []record{tenantPut("acme", "wh_1", 3), tenantPut("globex", "wh_2", 4), tenantPut("acme", "wh_3", 5)})
	acme, _ := helloShard(&hookgatev1.ConfigHello{Role: hookgatev1.NodeRole_NODE_ROLE_EDGE, Shard: &hookgatev1.EdgeShard{Tenants: []string{"acme"}}})
	globex, _ := helloShard(&hookgatev1.ConfigHello{Role: hookgatev1.NodeRole_NODE_ROLE_EDGE, Shard: &hookgatev1.EdgeShard{Tenants: []string{"globex"}}})

	a1, rev, err := d.shardSnapshot(roleEdge, acme)
	if err != nil || rev != 10 {
		t.Fatalf("shard snapshot: revision %d, %v", rev, err)
	}
	if got, want := decodeSnapshot(t, a1), []string{"webhook/acme/wh_1", "webhook/acme/wh_3"}; !slices.Equal(got, want) {
		t.Fatalf("acme's snapshot = %v, want %v", got, want)
	}
	g1, _, _ := d.shardSnapshot(roleEdge, globex)
	if got, want := decodeSnapshot(t, g1), []string{"webhook/globex/wh_2"}; !slices.Equal(got, want) {
		t.Fatalf("globex's snapshot = %v, want %v", got, want)
	}
	all, _, _ := d.shardSnapshot(roleEdge, nil)
	if got := decodeSnapshot(t, all); len(got) != 3 {
		t.Fatalf("unsharded snapshot = %v, want all three", got)
	}

	// A progress notification: the same encodings serve.
	d.view.advance(11)
	if a2, rev, _ := d.shardSnapshot(roleEdge, acme); a2 != a1 || rev != 11 {
		t.Fatalf("after progress: new encoding %v, revision %d", a2 != a1, rev)
	}
	// A change to the role (even of another tenant) makes a new one.
	d.view.apply(12, []record{tenantDel("globex", "wh_2", 12)})
	a3, _, _ := d.shardSnapshot(roleEdge, acme)
	if a3 == a1 {
		t.Fatal("acme's snapshot not rebuilt after the edge role changed")
	}
	if g := d.shardSnaps.byKey[globex.key].snap.Load(); g != nil {
		t.Error("globex's stale encoding kept after acme's was rebuilt")
	}
	if got, want := decodeSnapshot(t, a3), []string{"webhook/acme/wh_1", "webhook/acme/wh_3"}; !slices.Equal(got, want) {
		t.Fatalf("acme's snapshot = %v, want %v", got, want)
	}
}

func TestShardSnapshotCacheIsBounded(t *testing.T) {
	var c shardSnapshots
	first := c.entry("tenants:t-0")
	for i := range maxShardSnapshots + 10 {
		c.entry("tenants:t-" + itoa(i+1))
	}
	if n := len(c.byKey); n != maxShardSnapshots {
		t.Fatalf("%d cached shards, want %d", n, maxShardSnapshots)
	}
	if c.byKey["tenants:t-0"] == first {
		t.Error("the least recently used shard was kept")
	}
}

// TestShardFilterKeepsTheDeltaShape: the filtered delta is a new message
// (the view's is shared), at the same revision, with only the shard's
// upserts and deletes; an empty one still moves the node's revision.
func TestShardFilterKeepsTheDeltaShape(t *testing.T) {
	acme, _ := helloShard(&hookgatev1.ConfigHello{Role: hookgatev1.NodeRole_NODE_ROLE_EDGE, Shard: &hookgatev1.EdgeShard{Tenants: []string{"acme"}}})
	u := &hookgatev1.StreamConfigResponse{Revision: 7, ClusterId: cluster,
		Upserts: []*hookgatev1.ConfigResource{{Key: "webhook/acme/wh_1"}, {Key: "webhook/globex/wh_2"}, {Key: "token/globex/tok_1"}},
		Deletes: []string{"webhook/acme/wh_3", "event-type/globex/x"}}
	got := acme.filter(u)
	if got == u || len(u.Upserts) != 3 || len(u.Deletes) != 2 {
		t.Fatal("filter changed the shared delta")
	}
	if got.GetRevision() != 7 || got.GetClusterId() != cluster || !slices.Equal(keys(got), []string{"webhook/acme/wh_1", "token/globex/tok_1"}) ||
		!slices.Equal(got.GetDeletes(), []string{"webhook/acme/wh_3"}) {
		t.Fatalf("filtered = %v", got)
	}
	other := acme.filter(&hookgatev1.StreamConfigResponse{Revision: 8, Upserts: []*hookgatev1.ConfigResource{{Key: "webhook/globex/wh_2"}}})
	if other.GetRevision() != 8 || len(other.GetUpserts())+len(other.GetDeletes()) != 0 {
		t.Fatalf("another tenant's delta = %v, want an empty one at 8", other)
	}
	var every *shard
	if every.filter(u) != u {
		t.Error("every tenant: the delta should pass as it is")
	}
}
