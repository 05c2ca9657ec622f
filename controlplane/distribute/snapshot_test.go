package distribute

import (
	"bytes"
	"fmt"
	"slices"
	"sync"
	"testing"

	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

func TestSnapshotIsEncodedOncePerRoleContent(t *testing.T) {
	v := newView(100)
	v.load(10, cluster, []record{put("wh_1", 3), put("wh_2", 5)})
	first, rev, err := v.snapshot(roleEdge)
	if err != nil || rev != 10 {
		t.Fatalf("snapshot: revision %d, %v", rev, err)
	}
	disp, _, _ := v.snapshot(roleDispatcher)

	// The view moves on without touching the edge's resources: the same
	// encoding serves, at the new revision.
	v.advance(11)
	again, rev, _ := v.snapshot(roleEdge)
	if again != first || rev != 11 {
		t.Errorf("after a progress notification: new encoding %v, revision %d; want the cached one at 11", again != first, rev)
	}
	if got := snapshotOf(t, v, roleEdge); got.GetRevision() != 11 || len(got.GetUpserts()) != 2 {
		t.Errorf("cached snapshot sent at %d with %d resources, want 11 and 2", got.GetRevision(), len(got.GetUpserts()))
	}

	// A change to the edge's resources makes a new one; the dispatcher's
	// stays.
	v.apply(12, []record{put("wh_3", 12)})
	if v.snaps[roleEdge].Load() != nil {
		t.Errorf("stale edge encoding kept after a change")
	}
	changed, _, _ := v.snapshot(roleEdge)
	if changed == first {
		t.Errorf("snapshot not rebuilt after a change")
	}
	if d, _, _ := v.snapshot(roleDispatcher); d != disp {
		t.Errorf("dispatcher snapshot rebuilt for an edge change")
	}
	got := snapshotOf(t, v, roleEdge)
	want := []string{"webhook/acme/wh_1", "webhook/acme/wh_2", "webhook/acme/wh_3"}
	if k := keys(got); !slices.Equal(slices.Sorted(slices.Values(k)), want) || !got.GetSnapshot() || got.GetRevision() != 12 || got.GetClusterId() != cluster {
		t.Errorf("decoded snapshot: %v at %d of %x", k, got.GetRevision(), got.GetClusterId())
	}
	// The bytes decode to the same resources as the message built without
	// the cache.
	for _, r := range got.GetUpserts() {
		if !proto.Equal(r, put(r.GetWebhook().GetId(), r.GetWebhook().GetMaxBodyBytes()).res[roleEdge]) {
			t.Errorf("resource %s decoded differently: %v", r.GetKey(), r)
		}
	}
}

func TestSnapshotForJSONStreamsCarriesResources(t *testing.T) {
	v := newView(100)
	v.load(10, cluster, []record{put("wh_1", 3)})
	s, rev, err := v.snapshot(roleEdge)
	if err != nil {
		t.Fatal(err)
	}
	// protojson drops unknown fields: a JSON stream must get the resources
	// themselves.
	data, err := protojson.Marshal(s.message(rev, false))
	if err != nil {
		t.Fatal(err)
	}
	var got hookgatev1.StreamConfigResponse
	if err := protojson.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(keys(&got), []string{"webhook/acme/wh_1"}) || got.GetRevision() != 10 || !got.GetSnapshot() {
		t.Errorf("JSON snapshot: %v", &got)
	}
}

func TestBinaryProto(t *testing.T) {
	for _, tc := range []struct {
		contentType string
		want        bool
	}{
		{"application/grpc", true},
		{"application/grpc+proto", true},
		{"Application/GRPC+Proto", true},
		{"application/grpc-web", true},
		{"application/grpc-web+proto", true},
		{"application/connect+proto", true},
		{"application/grpc; charset=utf-8", true},
		{"application/grpc+json", false},
		{"application/grpc-web+json", false},
		{"application/connect+json", false},
		{"application/connect", false},
		{"application/proto", false},
		{"", false},
		{"not a media type;;", false},
	} {
		t.Run(tc.contentType, func(t *testing.T) {
			if got := binaryProto(tc.contentType); got != tc.want {
				t.Errorf("binaryProto(%q) = %v, want %v", tc.contentType, got, tc.want)
			}
		})
	}
}

func TestViewDeltasStayInOneCluster(t *testing.T) {
	v := newView(100)
	v.load(10, cluster, []record{put("wh_1", 3)})
	v.apply(11, []record{put("wh_2", 11)})
	if _, ok := v.delta(roleEdge, 10, cluster+1); ok {
		t.Errorf("delta for a revision of another cluster")
	}
	// A node that does not know its cluster is taken on trust.
	if u, ok := v.delta(roleEdge, 10, 0); !ok || u.GetClusterId() != cluster || !slices.Equal(keys(u), []string{"webhook/acme/wh_2"}) {
		t.Errorf("delta for an unknown cluster: %v, %v", u, ok)
	}
	if _, ok := v.diff(roleEdge, 10, cluster+1, nil); ok {
		t.Errorf("diff from another cluster's history")
	}
}

func TestViewFromAnotherClusterStartsAfresh(t *testing.T) {
	v := newView(100)
	v.load(10, cluster, []record{put("wh_1", 3), put("wh_2", 5)})
	v.apply(40, []record{del("wh_2", 40)})
	before, _, _ := v.snapshot(roleEdge)
	changed, _, _, _ := v.watchRole(roleEdge)

	// The etcd endpoints now reach a new cluster, at a lower revision, where
	// wh_2 exists again and wh_1 never did.
	const other = cluster + 1
	if n := v.load(20, other, []record{put("wh_2", 7), put("wh_9", 20)}); n != 2 {
		t.Errorf("load from another cluster changed %d records, want 2", n)
	}
	select {
	case <-changed:
	default:
		t.Errorf("streams not woken by the new cluster")
	}
	_, rev, roleRev, c := v.watchRole(roleEdge)
	if rev != 20 || roleRev != 20 || c != other {
		t.Errorf("view at %d (role %d) of %x; want 20 (20) of %x", rev, roleRev, c, uint64(other))
	}
	if _, ok := v.delta(roleEdge, 40, cluster); ok {
		t.Errorf("delta from the old cluster's revision")
	}
	// Nothing of the old history remains: the log starts at the load.
	if _, ok := v.delta(roleEdge, 10, other); ok {
		t.Errorf("delta from before the new cluster's load")
	}
	after, _, _ := v.snapshot(roleEdge)
	if after == before {
		t.Errorf("old cluster's snapshot reused")
	}
	got := snapshotOf(t, v, roleEdge)
	if k := slices.Sorted(slices.Values(keys(got))); !slices.Equal(k, []string{"webhook/acme/wh_2", "webhook/acme/wh_9"}) || got.GetClusterId() != other {
		t.Errorf("snapshot of the new cluster: %v of %x", k, got.GetClusterId())
	}
}

// TestNodesAskingAtOnceShareOneEncoding: after a control-plane restart
// every node asks for a snapshot at once; they wait for one encoding.
func TestNodesAskingAtOnceShareOneEncoding(t *testing.T) {
	v := newView(100)
	recs := make([]record, 0, 500)
	for i := range 500 {
		recs = append(recs, put(fmt.Sprintf("wh_%d", i), 3))
	}
	v.load(10, cluster, recs)
	got := make([]*encodedSnapshot, 8)
	var wg sync.WaitGroup
	for i := range got {
		wg.Go(func() {
			s, _, err := v.snapshot(roleEdge)
			if err != nil {
				t.Errorf("snapshot: %v", err)
			}
			got[i] = s
		})
	}
	wg.Wait()
	for i, s := range got {
		if s != got[0] {
			t.Fatalf("node %d got encoding %p, node 0 %p: want one shared", i, s, got[0])
		}
	}
}

func TestSnapshotEncodedInPartsIsTheWhole(t *testing.T) {
	resources := make([]*hookgatev1.ConfigResource, 1001)
	for i := range resources {
		resources[i] = put(fmt.Sprintf("wh_%d", i), int64(i)).res[roleEdge]
	}
	whole, err := proto.Marshal(&hookgatev1.StreamConfigResponse{Upserts: resources})
	if err != nil {
		t.Fatal(err)
	}
	for _, parts := range []int{1, 2, 3, 7} {
		got, err := encodeResources(resources, parts)
		if err != nil {
			t.Fatalf("%d parts: %v", parts, err)
		}
		if !bytes.Equal(got, whole) {
			t.Errorf("%d parts: %d bytes differ from the whole encoding's %d", parts, len(got), len(whole))
		}
	}
	// A resource that cannot be encoded (proto3 strings are UTF-8) fails
	// the snapshot.
	bad := slices.Clone(resources)
	bad[600] = &hookgatev1.ConfigResource{Key: "webhook/acme/\xff"}
	if _, err := encodeResources(bad, 3); err == nil {
		t.Errorf("encoding invalid UTF-8 succeeded")
	}
}
