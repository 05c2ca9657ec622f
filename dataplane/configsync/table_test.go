package configsync_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/hookgate/hookgate/dataplane/configsync"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
)

func res(tenant, id string, maxBody int64) *hookgatev1.ConfigResource {
	return &hookgatev1.ConfigResource{
		Key:      configsync.ResourceKey(tenant, id),
		Resource: &hookgatev1.ConfigResource_Webhook{Webhook: &hookgatev1.EdgeWebhook{Tenant: tenant, Id: id, Active: true, MaxBodyBytes: maxBody}},
	}
}

func snapshot(rev int64, rs ...*hookgatev1.ConfigResource) *hookgatev1.StreamConfigResponse {
	return &hookgatev1.StreamConfigResponse{Revision: rev, Snapshot: true, Upserts: rs}
}

func delta(rev int64, deletes []string, rs ...*hookgatev1.ConfigResource) *hookgatev1.StreamConfigResponse {
	return &hookgatev1.StreamConfigResponse{Revision: rev, Upserts: rs, Deletes: deletes}
}

// inCluster sets the etcd cluster id of an update.
func inCluster(id uint64, u *hookgatev1.StreamConfigResponse) *hookgatev1.StreamConfigResponse {
	u.ClusterId = id
	return u
}

func mustApply(t *testing.T, tb *configsync.Table, u *hookgatev1.StreamConfigResponse) configsync.Update {
	t.Helper()
	upd, err := tb.Apply(u)
	if err != nil {
		t.Fatalf("Apply(revision %d): %v", u.GetRevision(), err)
	}
	return upd
}

func TestTableAppliesSnapshotsAndDeltas(t *testing.T) {
	tb := configsync.NewTable()
	if tb.Snapshot() != nil || tb.Snapshot().Len() != 0 {
		t.Fatalf("new table has a snapshot")
	}
	if _, ok := tb.Webhook("acme", "wh_1"); ok {
		t.Fatalf("lookup in an empty table found something")
	}
	mustApply(t, tb, snapshot(10, res("acme", "wh_1", 1), res("acme", "wh_2", 2), res("beta", "wh_1", 3)))
	s10 := tb.Snapshot()
	if s10.Revision != 10 || s10.Len() != 3 {
		t.Fatalf("snapshot at %d with %d webhooks, want 10 and 3", s10.Revision, s10.Len())
	}
	// The same id in two tenants is two webhooks.
	if w, _ := tb.Webhook("beta", "wh_1"); w.GetMaxBodyBytes() != 3 {
		t.Errorf("beta/wh_1 = %v", w)
	}

	upd := mustApply(t, tb, delta(12, []string{configsync.ResourceKey("acme", "wh_2")}, res("acme", "wh_1", 100), res("acme", "wh_3", 4)))
	if upd.Full || len(upd.Upserted) != 2 || len(upd.Deleted) != 1 || upd.Previous != s10 {
		t.Errorf("update = %+v", upd)
	}
	s12 := tb.Snapshot()
	if s12.Revision != 12 || s12.Len() != 3 {
		t.Errorf("after delta: revision %d, %d webhooks; want 12 and 3", s12.Revision, s12.Len())
	}
	if w, _ := s12.Webhook("acme", "wh_1"); w.GetMaxBodyBytes() != 100 {
		t.Errorf("acme/wh_1 not updated: %v", w)
	}
	if _, ok := s12.Webhook("acme", "wh_2"); ok {
		t.Errorf("acme/wh_2 not deleted")
	}
	// Copy on write: the earlier snapshot, which a request may still be
	// using, did not change.
	if w, _ := s10.Webhook("acme", "wh_1"); w.GetMaxBodyBytes() != 1 {
		t.Errorf("old snapshot changed: acme/wh_1 = %v", w)
	}
	if _, ok := s10.Webhook("acme", "wh_2"); !ok || s10.Len() != 3 {
		t.Errorf("old snapshot lost acme/wh_2")
	}
	// Deleting what is not there changes nothing.
	mustApply(t, tb, delta(13, []string{configsync.ResourceKey("acme", "wh_nope")}))
	if got := tb.Snapshot().Len(); got != 3 {
		t.Errorf("delete of an unknown webhook: %d webhooks, want 3", got)
	}
	// A snapshot replaces everything.
	full := mustApply(t, tb, snapshot(20, res("gamma", "wh_9", 1)))
	if !full.Full || tb.Snapshot().Len() != 1 {
		t.Errorf("snapshot did not replace the table: %+v", full)
	}
	var n int
	for range tb.Snapshot().All() {
		n++
	}
	if n != 1 {
		t.Errorf("All yielded %d webhooks, want 1", n)
	}
}

func TestTableRejectsBadUpdates(t *testing.T) {
	for _, tc := range []struct {
		name   string
		before *hookgatev1.StreamConfigResponse
		update *hookgatev1.StreamConfigResponse
		want   string
	}{
		{"zero revision", nil, snapshot(0), "must be positive"},
		{"unknown resource type", nil, snapshot(5, &hookgatev1.ConfigResource{Key: "endpoint/acme/ep_1"}), "unsupported resource type"},
		{"key names another webhook", nil, snapshot(5, &hookgatev1.ConfigResource{
			Key:      configsync.ResourceKey("acme", "wh_other"),
			Resource: &hookgatev1.ConfigResource_Webhook{Webhook: &hookgatev1.EdgeWebhook{Tenant: "acme", Id: "wh_1"}},
		}), "key does not name"},
		{"webhook without tenant", nil, snapshot(5, &hookgatev1.ConfigResource{
			Key:      "webhook//wh_1",
			Resource: &hookgatev1.ConfigResource_Webhook{Webhook: &hookgatev1.EdgeWebhook{Id: "wh_1"}},
		}), "key does not name"},
		{"delta without snapshot", nil, delta(5, nil, res("acme", "wh_1", 1)), "no snapshot"},
		{"delta older than held", snapshot(10, res("acme", "wh_1", 1)), delta(9, nil, res("acme", "wh_1", 2)), "older than the revision held"},
		{"bad delete key", snapshot(10, res("acme", "wh_1", 1)), delta(11, []string{"webhook/acme"}), "not a webhook resource key"},
		{"delta of another etcd cluster", inCluster(0xa, snapshot(10, res("acme", "wh_1", 1))), inCluster(0xb, delta(11, nil, res("acme", "wh_2", 1))), "etcd cluster b"},
		{"empty delta of another etcd cluster", inCluster(0xa, snapshot(10, res("acme", "wh_1", 1))), inCluster(0xb, delta(10, nil)), "etcd cluster b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tb := configsync.NewTable()
			if tc.before != nil {
				mustApply(t, tb, tc.before)
			}
			before := tb.Snapshot()
			_, err := tb.Apply(tc.update)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Apply: %v; want an error containing %q", err, tc.want)
			}
			if tb.Snapshot() != before {
				t.Errorf("a rejected update changed the table")
			}
		})
	}
}

func TestTableStatusAndCheck(t *testing.T) {
	tb := configsync.NewTable()
	if _, err := tb.Check(); !errors.Is(err, configsync.ErrNoConfig) {
		t.Errorf("Check() without config: %v, want ErrNoConfig", err)
	}
	if st := tb.Status(); st.HaveConfig || st.Connected || st.Revision != 0 {
		t.Errorf("status %+v, want empty", st)
	}
	mustApply(t, tb, snapshot(7, res("acme", "wh_1", 1)))
	note, err := tb.Check()
	if err != nil || !strings.Contains(note, "stale config") {
		t.Errorf("Check() with config, never connected = %q, %v; want ready and stale", note, err)
	}
	if st := tb.Status(); !st.HaveConfig || st.Revision != 7 {
		t.Errorf("status %+v, want revision 7 with config", st)
	}
}

func TestTableHooksSeeEveryUpdateInOrder(t *testing.T) {
	tb := configsync.NewTable()
	var revs []int64
	tb.OnUpdate(func(u configsync.Update) { revs = append(revs, u.Snapshot.Revision) })
	mustApply(t, tb, snapshot(1, res("acme", "wh_1", 1)))
	mustApply(t, tb, delta(2, nil, res("acme", "wh_2", 1)))
	if _, err := tb.Apply(delta(1, nil)); err == nil {
		t.Fatalf("older delta accepted")
	}
	mustApply(t, tb, delta(3, []string{configsync.ResourceKey("acme", "wh_1")}))
	if fmt.Sprint(revs) != "[1 2 3]" {
		t.Errorf("hooks saw revisions %v, want [1 2 3]", revs)
	}
}

// TestTableReadersNeverSeeAHalfUpdate runs readers against a writer (under
// -race): every snapshot a reader loads is whole.
func TestTableReadersNeverSeeAHalfUpdate(t *testing.T) {
	tb := configsync.NewTable()
	mustApply(t, tb, snapshot(1, res("acme", "wh_a", 1), res("acme", "wh_b", 1)))
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				s := tb.Snapshot()
				a, _ := s.Webhook("acme", "wh_a")
				b, _ := s.Webhook("acme", "wh_b")
				// The writer sets both to the revision in one update.
				if a.GetMaxBodyBytes() != b.GetMaxBodyBytes() {
					t.Errorf("torn snapshot at %d: %d vs %d", s.Revision, a.GetMaxBodyBytes(), b.GetMaxBodyBytes())
					return
				}
			}
		})
	}
	for rev := int64(2); rev < 500; rev++ {
		mustApply(t, tb, delta(rev, nil, res("acme", "wh_a", rev), res("acme", "wh_b", rev)))
	}
	close(stop)
	wg.Wait()
}

func TestTableRecordsTheClusterID(t *testing.T) {
	for _, tc := range []struct {
		name    string
		updates []*hookgatev1.StreamConfigResponse
		want    uint64
	}{
		{"snapshot", []*hookgatev1.StreamConfigResponse{inCluster(0xa, snapshot(10))}, 0xa},
		{"delta of the same cluster", []*hookgatev1.StreamConfigResponse{
			inCluster(0xa, snapshot(10)), inCluster(0xa, delta(11, nil, res("acme", "wh_1", 1))),
		}, 0xa},
		{"snapshot of another cluster", []*hookgatev1.StreamConfigResponse{
			inCluster(0xa, snapshot(10, res("acme", "wh_1", 1))), inCluster(0xb, snapshot(3)),
		}, 0xb},
		{"delta from a control plane without cluster ids", []*hookgatev1.StreamConfigResponse{
			inCluster(0xa, snapshot(10)), delta(11, nil, res("acme", "wh_1", 1)),
		}, 0xa},
		{"configuration of unknown cluster takes the delta's", []*hookgatev1.StreamConfigResponse{
			snapshot(10), inCluster(0xa, delta(11, nil, res("acme", "wh_1", 1))),
		}, 0xa},
		{"empty delta names the cluster", []*hookgatev1.StreamConfigResponse{
			snapshot(10), inCluster(0xa, delta(10, nil)),
		}, 0xa},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tb := configsync.NewTable()
			for _, u := range tc.updates {
				mustApply(t, tb, u)
			}
			if got := tb.Snapshot().ClusterID; got != tc.want {
				t.Errorf("cluster id %x, want %x", got, tc.want)
			}
		})
	}
}

// TestOtherResources: resources other than webhooks (endpoints, event
// types, applications, tenants) are kept by key through snapshots, deltas
// and deletes, beside the webhooks, instead of making the node NACK.
func TestOtherResources(t *testing.T) {
	tb := configsync.NewTable()
	ep := &hookgatev1.ConfigResource{Key: "endpoint/acme/ep_1", Resource: &hookgatev1.ConfigResource_Endpoint{
		Endpoint: &hookgatev1.DispatchEndpoint{Tenant: "acme", Id: "ep_1", Url: "https://x.example"}}}
	app := &hookgatev1.ConfigResource{Key: "application/acme/app_1", Resource: &hookgatev1.ConfigResource_Application{
		Application: &hookgatev1.OutboundApplication{Tenant: "acme", Id: "app_1"}}}
	if _, err := tb.Apply(&hookgatev1.StreamConfigResponse{Revision: 3, Snapshot: true, Upserts: []*hookgatev1.ConfigResource{ep}}); err != nil {
		t.Fatalf("snapshot with an endpoint: %v", err)
	}
	if r, ok := tb.Snapshot().Resource("endpoint/acme/ep_1"); !ok || r.GetEndpoint().GetUrl() != "https://x.example" {
		t.Fatalf("endpoint after the snapshot: %v %v", r, ok)
	}
	if _, err := tb.Apply(&hookgatev1.StreamConfigResponse{Revision: 4, Upserts: []*hookgatev1.ConfigResource{app}, Deletes: []string{"endpoint/acme/ep_1"}}); err != nil {
		t.Fatalf("delta: %v", err)
	}
	s := tb.Snapshot()
	if _, ok := s.Resource("endpoint/acme/ep_1"); ok {
		t.Fatal("deleted endpoint still held")
	}
	n := 0
	s.Resources("application/", func(r *hookgatev1.ConfigResource) bool { n++; return true })
	if n != 1 {
		t.Fatalf("%d applications, want 1", n)
	}
	// A resource with no known kind is still refused.
	if _, err := tb.Apply(&hookgatev1.StreamConfigResponse{Revision: 5, Upserts: []*hookgatev1.ConfigResource{{Key: "future/x"}}}); err == nil {
		t.Fatal("a resource of no kind was accepted")
	}
}
