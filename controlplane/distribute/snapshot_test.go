package distribute

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strconv"
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

func TestSnapshotChunksJoinIntoTheWhole(t *testing.T) {
	resources := make([]*hookgatev1.ConfigResource, 1001)
	for i := range resources {
		resources[i] = put(fmt.Sprintf("wh_%d", i), int64(i)).res[roleEdge]
	}
	whole, err := proto.Marshal(&hookgatev1.StreamConfigResponse{Upserts: resources})
	if err != nil {
		t.Fatal(err)
	}
	one := upsertSize(proto.Size(resources[0]))
	for _, tc := range []struct {
		name       string
		limit      int
		minChunks  int
		maxChunks  int
		oneEachMax bool
	}{
		{"one chunk", len(whole), 1, 1, false},
		// Greedy cuts fill every pair of neighbours past the limit: at most
		// twice the fewest chunks.
		{"a few", len(whole)/3 + 1, 3, 6, false},
		{"many", len(whole) / 50, 50, 100, false},
		{"limit below one resource", one / 2, len(resources), len(resources), true},
		{"zero limit", 0, len(resources), len(resources), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := encodeSnapshotChunks(cluster, 7, resources, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			if n := s.chunks(); n < tc.minChunks || n > tc.maxChunks {
				t.Errorf("%d chunks, want %d to %d", n, tc.minChunks, tc.maxChunks)
			}
			for i, w := range s.wire {
				if len(w) > tc.limit && !(tc.oneEachMax && s.bounds[i+1]-s.bounds[i] == 1) {
					t.Errorf("chunk %d: %d bytes over the limit %d", i, len(w), tc.limit)
				}
			}
			if got := slices.Concat(s.wire...); !bytes.Equal(got, whole) {
				t.Errorf("chunks join into %d bytes that differ from the whole encoding's %d", len(got), len(whole))
			}
			// Every message decodes to its share, in order; only the first
			// is marked snapshot.
			var keysGot []string
			for i, m := range s.messages(12, true) {
				data, err := proto.Marshal(m)
				if err != nil {
					t.Fatal(err)
				}
				var got hookgatev1.StreamConfigResponse
				if err := proto.Unmarshal(data, &got); err != nil {
					t.Fatal(err)
				}
				n := s.chunks()
				wantChunks := uint32(n)
				if n == 1 {
					wantChunks = 0
				}
				if got.GetSnapshot() != (i == 0) || got.GetChunks() != wantChunks || (n > 1 && got.GetChunk() != uint32(i)) ||
					got.GetRevision() != 12 || got.GetClusterId() != cluster {
					t.Errorf("chunk %d: snapshot %v, chunk %d of %d, revision %d, cluster %x", i, got.GetSnapshot(), got.GetChunk(), got.GetChunks(), got.GetRevision(), got.GetClusterId())
				}
				keysGot = append(keysGot, keys(&got)...)
			}
			if want := keys(&hookgatev1.StreamConfigResponse{Upserts: resources}); !slices.Equal(keysGot, want) {
				t.Errorf("chunks hold %d keys, want the %d resources once each in order", len(keysGot), len(want))
			}
			// JSON streams get the same cut.
			var jsonKeys []string
			for _, m := range s.messages(12, false) {
				jsonKeys = append(jsonKeys, keys(m)...)
			}
			if !slices.Equal(jsonKeys, keysGot) {
				t.Errorf("JSON chunks hold other resources than the binary ones")
			}
		})
	}
	// A resource that cannot be encoded (proto3 strings are UTF-8) fails
	// the snapshot.
	bad := slices.Clone(resources)
	bad[600] = &hookgatev1.ConfigResource{Key: "webhook/acme/\xff"}
	if _, err := encodeSnapshotChunks(cluster, 7, bad, len(whole)/3); err == nil {
		t.Errorf("encoding invalid UTF-8 succeeded")
	}
}

func TestEmptySnapshotIsOneChunk(t *testing.T) {
	s, err := encodeSnapshot(cluster, 7, nil)
	if err != nil {
		t.Fatal(err)
	}
	msgs := s.messages(9, true)
	if len(msgs) != 1 || !msgs[0].GetSnapshot() || msgs[0].GetChunks() != 0 || msgs[0].GetRevision() != 9 {
		t.Errorf("empty snapshot: %v", msgs)
	}
}

func TestChunkBounds(t *testing.T) {
	for _, tc := range []struct {
		name  string
		sizes []int
		limit int
		want  []int
	}{
		{"none", nil, 10, []int{0, 0}},
		{"all fit", []int{3, 3, 3}, 10, []int{0, 3}},
		{"exact fit", []int{5, 5, 5, 5}, 10, []int{0, 2, 4}},
		{"one over", []int{5, 6}, 10, []int{0, 1, 2}},
		{"an element over the limit travels alone", []int{2, 20, 2}, 10, []int{0, 1, 2, 3}},
		{"zero limit", []int{1, 1}, 0, []int{0, 1, 2}},
		{"negative limit", []int{1, 1}, -5, []int{0, 1, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := chunkBounds(tc.sizes, tc.limit); !slices.Equal(got, tc.want) {
				t.Errorf("chunkBounds(%v, %d) = %v, want %v", tc.sizes, tc.limit, got, tc.want)
			}
		})
	}
}

func TestSplitDelta(t *testing.T) {
	u := &hookgatev1.StreamConfigResponse{Revision: 40, ClusterId: cluster}
	for i := range 300 {
		u.Upserts = append(u.Upserts, put(fmt.Sprintf("wh_%03d", i), 40).res[roleEdge])
	}
	for i := range 200 {
		u.Deletes = append(u.Deletes, fmt.Sprintf("webhook/acme/gone_%03d", i))
	}
	size := proto.Size(u)
	for _, tc := range []struct {
		name      string
		limit     int
		minChunks int
	}{
		{"within the limit", size, 1},
		{"halves", size/2 + 64, 2},
		{"many", size / 20, 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parts := splitDelta(u, tc.limit)
			if len(parts) < tc.minChunks || (tc.minChunks == 1 && (len(parts) != 1 || parts[0] != u)) {
				t.Fatalf("%d chunks, want at least %d (the delta itself when it fits)", len(parts), tc.minChunks)
			}
			var ups, dels []string
			for i, p := range parts {
				if len(parts) > 1 && (p.GetChunks() != uint32(len(parts)) || p.GetChunk() != uint32(i)) {
					t.Errorf("chunk %d: says %d of %d", i, p.GetChunk(), p.GetChunks())
				}
				if p.GetRevision() != 40 || p.GetClusterId() != cluster || p.GetSnapshot() {
					t.Errorf("chunk %d: revision %d, cluster %x, snapshot %v", i, p.GetRevision(), p.GetClusterId(), p.GetSnapshot())
				}
				// 16 bytes: the revision, cluster and chunk fields.
				if s := proto.Size(p); s > tc.limit+16 {
					t.Errorf("chunk %d: %d bytes, limit %d", i, s, tc.limit)
				}
				ups = append(ups, keys(p)...)
				dels = append(dels, p.GetDeletes()...)
			}
			if !slices.Equal(ups, keys(u)) || !slices.Equal(dels, u.GetDeletes()) {
				t.Errorf("chunks carry %d upserts and %d deletes, want %d and %d once each in order", len(ups), len(dels), len(u.Upserts), len(u.Deletes))
			}
		})
	}
}

// BenchmarkEncodeSnapshot encodes a snapshot of edge webhooks shaped like
// the config benchmark's (about 212 bytes each) into chunks, and reports
// the chunk count and sizes. HOOKGATE_BENCH_SNAPSHOT_RESOURCES sets the
// count (100,000 by default; 1,000,000 takes about a second an encoding).
func BenchmarkEncodeSnapshot(b *testing.B) {
	n := 100_000
	if v := os.Getenv("HOOKGATE_BENCH_SNAPSHOT_RESOURCES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 0 {
			b.Fatalf("HOOKGATE_BENCH_SNAPSHOT_RESOURCES=%q: not a count", v)
		}
	}
	digest := bytes.Repeat([]byte{0xab}, 32)
	resources := make([]*hookgatev1.ConfigResource, n)
	for i := range resources {
		id := fmt.Sprintf("wh_%016d", i)
		resources[i] = &hookgatev1.ConfigResource{
			Key: "webhook/acme/" + id,
			Resource: &hookgatev1.ConfigResource_Webhook{Webhook: &hookgatev1.EdgeWebhook{
				Tenant: "acme", Id: id, Active: true, Provider: hookgatev1.Provider_PROVIDER_GENERIC,
				Keys: []*hookgatev1.KeyDigest{{Sha256: digest}},
				Bindings: []*hookgatev1.Binding{{ProcessId: "proc-orders", ThreadId: "main",
					Trigger: hookgatev1.Trigger_TRIGGER_START_PROCESS}},
				MaxBodyBytes: 1 << 20, Url: "http://127.0.0.1:8080/in/acme/" + id, RequireKey: proto.Bool(true),
			}},
		}
	}
	b.ResetTimer()
	var s *encodedSnapshot
	for b.Loop() {
		var err error
		if s, err = encodeSnapshot(cluster, 7, resources); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	total, largest := 0, 0
	for _, w := range s.wire {
		total += len(w)
		largest = max(largest, len(w))
	}
	b.ReportMetric(float64(n), "resources")
	b.ReportMetric(float64(s.chunks()), "chunks")
	b.ReportMetric(float64(total)/(1<<20), "snapshot-MB")
	b.ReportMetric(float64(largest), "largest-chunk-bytes")
}
