package configsync_test

import (
	"fmt"
	"testing"

	"github.com/hookgate/hookgate/dataplane/configsync"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
)

func TestSnapshotBuilderSwapsInAtCommit(t *testing.T) {
	tb := configsync.NewTable()
	var updates []configsync.Update
	tb.OnUpdate(func(u configsync.Update) { updates = append(updates, u) })
	mustApply(t, tb, snapshot(5, res("acme", "old", 1)))
	old := tb.Snapshot()

	b := tb.BeginSnapshot(9, 0xc1, 300)
	for chunk := range 3 {
		var rs []*hookgatev1.ConfigResource
		for i := range 100 {
			rs = append(rs, res("acme", fmt.Sprintf("wh_%d_%d", chunk, i), int64(i+1)))
		}
		if chunk == 1 {
			rs = append(rs, &hookgatev1.ConfigResource{Key: "application/acme/app_1",
				Resource: &hookgatev1.ConfigResource_Application{Application: &hookgatev1.OutboundApplication{Tenant: "acme", Id: "app_1"}}})
		}
		if err := b.Add(rs); err != nil {
			t.Fatalf("Add chunk %d: %v", chunk, err)
		}
		// Until Commit the table serves what it had.
		if tb.Snapshot() != old || len(updates) != 1 {
			t.Fatalf("table changed before Commit, after chunk %d", chunk)
		}
	}
	// A resource sent again replaces itself: still one webhook.
	if err := b.Add([]*hookgatev1.ConfigResource{res("acme", "wh_0_0", 77)}); err != nil {
		t.Fatal(err)
	}
	if b.Len() != 300 {
		t.Errorf("builder holds %d webhooks, want 300", b.Len())
	}
	upd, err := b.Commit()
	if err != nil {
		t.Fatal(err)
	}
	s := tb.Snapshot()
	if s != upd.Snapshot || !upd.Full || upd.Previous != old || len(updates) != 2 || updates[1].Snapshot != s {
		t.Errorf("update %+v, hooks ran %d times", upd, len(updates))
	}
	if s.Revision != 9 || s.ClusterID != 0xc1 || s.Len() != 300 {
		t.Errorf("snapshot at %d of %x with %d webhooks, want 9 of c1 with 300", s.Revision, s.ClusterID, s.Len())
	}
	for chunk := range 3 {
		for i := range 100 {
			if _, ok := s.Webhook("acme", fmt.Sprintf("wh_%d_%d", chunk, i)); !ok {
				t.Fatalf("wh_%d_%d missing", chunk, i)
			}
		}
	}
	if w, _ := s.Webhook("acme", "wh_0_0"); w.GetMaxBodyBytes() != 77 {
		t.Errorf("wh_0_0 sent twice: the second did not win: %v", w)
	}
	if _, ok := s.Webhook("acme", "old"); ok {
		t.Errorf("a webhook of the old snapshot survived the new one")
	}
	if _, ok := s.Resource("application/acme/app_1"); !ok {
		t.Errorf("application missing after Commit")
	}
	if _, err := b.Commit(); err == nil {
		t.Errorf("second Commit succeeded")
	}
	if err := b.Add(nil); err == nil {
		t.Errorf("Add after Commit succeeded")
	}
}

func TestSnapshotBuilderRefusesBadChunks(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rev   int64
		chunk []*hookgatev1.ConfigResource
	}{
		{"no resource kind", 9, []*hookgatev1.ConfigResource{{Key: "endpoint/acme/ep_1"}}},
		{"key names another webhook", 9, []*hookgatev1.ConfigResource{{Key: "webhook/acme/other",
			Resource: &hookgatev1.ConfigResource_Webhook{Webhook: &hookgatev1.EdgeWebhook{Tenant: "acme", Id: "wh_1"}}}}},
		{"empty key", 9, []*hookgatev1.ConfigResource{{Resource: &hookgatev1.ConfigResource_Application{Application: &hookgatev1.OutboundApplication{}}}}},
		{"revision zero", 0, []*hookgatev1.ConfigResource{res("acme", "wh_1", 1)}},
		{"negative revision", -3, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tb := configsync.NewTable()
			mustApply(t, tb, snapshot(5, res("acme", "old", 1)))
			old := tb.Snapshot()
			b := tb.BeginSnapshot(tc.rev, 0, 0)
			if err := b.Add([]*hookgatev1.ConfigResource{res("acme", "good", 1)}); err != nil && tc.rev > 0 {
				t.Fatalf("good chunk: %v", err)
			}
			_ = b.Add(tc.chunk)
			// A later good chunk does not undo the refusal.
			_ = b.Add([]*hookgatev1.ConfigResource{res("acme", "later", 1)})
			if _, err := b.Commit(); err == nil {
				t.Errorf("Commit of a snapshot with a bad chunk succeeded")
			}
			if tb.Snapshot() != old {
				t.Errorf("a refused snapshot changed the table")
			}
		})
	}
}

func TestSnapshotBuilderAbortKeepsTheTable(t *testing.T) {
	tb := configsync.NewTable()
	mustApply(t, tb, snapshot(5, res("acme", "old", 1)))
	old := tb.Snapshot()
	b := tb.BeginSnapshot(9, 0, 0)
	if err := b.Add([]*hookgatev1.ConfigResource{res("acme", "new", 1)}); err != nil {
		t.Fatal(err)
	}
	b.Abort()
	b.Abort()
	if _, err := b.Commit(); err == nil {
		t.Errorf("Commit after Abort succeeded")
	}
	if tb.Snapshot() != old {
		t.Errorf("an aborted snapshot changed the table")
	}
	// The table still takes updates after an aborted build.
	mustApply(t, tb, delta(6, nil, res("acme", "next", 1)))
	if tb.Snapshot().Len() != 2 {
		t.Errorf("delta after an abort: %d webhooks, want 2", tb.Snapshot().Len())
	}
}
