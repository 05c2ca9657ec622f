package distribute

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/hookgate/hookgate/controlplane/store"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"google.golang.org/protobuf/proto"
)

// put and del build the records the watch loop hands the view.
func put(id string, rev int64) record {
	k := store.WebhookKey("acme", id)
	r := record{etcdKey: k, modRev: rev, keys: projectKeys(k)}
	r.res[roleEdge] = &hookgatev1.ConfigResource{
		Key:      r.keys[roleEdge],
		Resource: &hookgatev1.ConfigResource_Webhook{Webhook: &hookgatev1.EdgeWebhook{Tenant: "acme", Id: id, MaxBodyBytes: rev}},
	}
	return r
}

func del(id string, rev int64) record {
	k := store.WebhookKey("acme", id)
	return record{etcdKey: k, modRev: rev, deleted: true, keys: projectKeys(k)}
}

// cluster is the etcd cluster id of the view tests' records.
const cluster = 0xc1

// snapshotOf is the snapshot a binary protobuf stream receives, decoded.
func snapshotOf(t *testing.T, v *view, role int) *hookgatev1.StreamConfigResponse {
	t.Helper()
	s, rev, err := v.snapshot(role)
	if err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	data, err := proto.Marshal(s.message(rev, true))
	if err != nil {
		t.Fatalf("marshal snapshot: %v", err)
	}
	var out hookgatev1.StreamConfigResponse
	if err := proto.Unmarshal(data, &out); err != nil {
		t.Fatalf("unmarshal snapshot: %v", err)
	}
	return &out
}

func keys(u *hookgatev1.StreamConfigResponse) []string {
	var out []string
	for _, r := range u.GetUpserts() {
		out = append(out, r.GetKey())
	}
	return out
}

func TestViewDeltasCoalesce(t *testing.T) {
	v := newView(100)
	v.load(10, cluster, []record{put("wh_1", 3), put("wh_2", 5)})
	if v.roleRevision(roleEdge) != 5 || v.roleRevision(roleDispatcher) != 0 {
		t.Errorf("role revisions %d, %d; want the newest record (5) and 0", v.roleRevision(roleEdge), v.roleRevision(roleDispatcher))
	}
	v.apply(11, []record{put("wh_3", 11)})
	v.apply(12, []record{put("wh_1", 12), del("wh_3", 12)})
	v.apply(13, []record{put("wh_3", 13), del("wh_2", 13)})

	u, ok := v.delta(roleEdge, 10, cluster)
	if !ok || u.GetRevision() != 13 || u.GetSnapshot() {
		t.Fatalf("delta from 10: %v, %v", u, ok)
	}
	if got, want := keys(u), []string{"webhook/acme/wh_1", "webhook/acme/wh_3"}; !slices.Equal(got, want) {
		t.Errorf("upserts %v, want %v", got, want)
	}
	if got, want := u.GetDeletes(), []string{"webhook/acme/wh_2"}; !slices.Equal(got, want) {
		t.Errorf("deletes %v, want %v", got, want)
	}
	// The last write of a key wins: wh_3 was deleted then created again.
	if u2, _ := v.delta(roleEdge, 12, cluster); !slices.Equal(keys(u2), []string{"webhook/acme/wh_3"}) {
		t.Errorf("delta from 12: %v", keys(u2))
	}
	if u3, _ := v.delta(roleEdge, 13, cluster); len(u3.GetUpserts())+len(u3.GetDeletes()) != 0 || u3.GetRevision() != 13 {
		t.Errorf("delta from the current revision: %v", u3)
	}
	if d, _ := v.delta(roleDispatcher, 10, cluster); len(d.GetUpserts())+len(d.GetDeletes()) != 0 {
		t.Errorf("dispatcher delta carries webhooks: %v", d)
	}
	if s := snapshotOf(t, v, roleEdge); !s.GetSnapshot() || len(s.GetUpserts()) != 2 || s.GetRevision() != 13 || s.GetClusterId() != cluster {
		t.Errorf("snapshot: %d resources at %d of cluster %x", len(s.GetUpserts()), s.GetRevision(), s.GetClusterId())
	}
	if s := snapshotOf(t, v, roleDispatcher); len(s.GetUpserts()) != 0 {
		t.Errorf("dispatcher snapshot carries webhooks")
	}
}

func TestViewLogIsBounded(t *testing.T) {
	v := newView(2)
	v.load(10, cluster, nil)
	for rev := int64(11); rev <= 15; rev++ {
		v.apply(rev, []record{put("wh_1", rev)})
	}
	if _, ok := v.delta(roleEdge, 10, cluster); ok {
		t.Errorf("delta from before the log's start succeeded")
	}
	if u, ok := v.delta(roleEdge, 13, cluster); !ok || !slices.Equal(keys(u), []string{"webhook/acme/wh_1"}) {
		t.Errorf("delta from 13: %v, %v", u, ok)
	}
	// etcd still has the history: the diff names what changed since 10,
	// and what existed at 10 but is gone now.
	v.apply(16, []record{del("wh_1", 16), put("wh_2", 16)})
	u, ok := v.diff(roleEdge, 10, cluster, []string{store.WebhookKey("acme", "wh_1"), store.WebhookKey("acme", "wh_old"), "/hookgate/webhooks/bad"})
	if !ok || !slices.Equal(keys(u), []string{"webhook/acme/wh_2"}) || !slices.Equal(u.GetDeletes(), []string{"webhook/acme/wh_1", "webhook/acme/wh_old"}) {
		t.Errorf("diff from 10: upserts %v, deletes %v", keys(u), u.GetDeletes())
	}
}

func TestViewReloadTurnsTheDifferenceIntoOneChange(t *testing.T) {
	v := newView(100)
	v.load(10, cluster, []record{put("wh_1", 3), put("wh_2", 5)})
	// The watch lost its history; etcd now holds wh_1 unchanged, wh_2
	// changed and wh_3 new.
	if n := v.load(20, cluster, []record{put("wh_1", 3), put("wh_2", 18), put("wh_3", 19)}); n != 2 {
		t.Errorf("reload changed %d records, want 2", n)
	}
	u, ok := v.delta(roleEdge, 10, cluster)
	if !ok || !slices.Equal(keys(u), []string{"webhook/acme/wh_2", "webhook/acme/wh_3"}) || u.GetRevision() != 20 {
		t.Errorf("delta over the reload: %v, %v", u, ok)
	}
	v.load(30, cluster, []record{put("wh_3", 19)})
	u, _ = v.delta(roleEdge, 20, cluster)
	if !slices.Equal(u.GetDeletes(), []string{"webhook/acme/wh_1", "webhook/acme/wh_2"}) {
		t.Errorf("deletes over the reload: %v", u.GetDeletes())
	}
}

func TestViewKeepsLastGoodResource(t *testing.T) {
	v := newView(100)
	v.load(10, cluster, []record{put("wh_1", 3)})
	bad := put("wh_1", 11)
	bad.res[roleEdge] = nil
	bad.err = errors.New("open provider secret: unknown keyring key id")
	v.apply(11, []record{bad})
	s := snapshotOf(t, v, roleEdge)
	if len(s.GetUpserts()) != 1 || s.GetUpserts()[0].GetWebhook().GetMaxBodyBytes() != 3 {
		t.Errorf("snapshot after a bad record: %v", s)
	}
	if u, _ := v.delta(roleEdge, 10, cluster); len(u.GetUpserts())+len(u.GetDeletes()) != 0 {
		t.Errorf("a bad record produced a change: %v", u)
	}
}

// TestViewSnapshotJoinsKeptEncodings checks that the snapshot built from
// the encodings the view keeps per resource (made at the first load, on
// every CPU, and at each change) is the snapshot encoding the resources
// would make, after a change and a delete too.
func TestViewSnapshotJoinsKeptEncodings(t *testing.T) {
	v := newView(100)
	var recs []record
	for i := range 3*encodeChunk + 7 {
		recs = append(recs, put(fmt.Sprintf("wh_%d", i), int64(i+1)))
	}
	v.load(100_000, cluster, recs)
	v.apply(100_001, []record{put("wh_5", 100_001), del("wh_6", 100_001)})
	s, _, err := v.snapshot(roleEdge)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.resources) != len(recs)-1 {
		t.Fatalf("snapshot of %d resources, want %d", len(s.resources), len(recs)-1)
	}
	want, err := proto.Marshal(&hookgatev1.StreamConfigResponse{Upserts: s.resources})
	if err != nil {
		t.Fatal(err)
	}
	if got := slices.Concat(s.wire...); !bytes.Equal(got, want) {
		t.Fatalf("joined encodings (%d bytes) differ from encoding the resources (%d bytes)", len(got), len(want))
	}
	got := snapshotOf(t, v, roleEdge)
	for _, r := range got.GetUpserts() {
		if r.GetWebhook().GetId() == "wh_5" && r.GetWebhook().GetMaxBodyBytes() != 100_001 {
			t.Errorf("wh_5 in the snapshot is the old one: %v", r)
		}
		if r.GetWebhook().GetId() == "wh_6" {
			t.Error("deleted wh_6 is in the snapshot")
		}
	}
}
