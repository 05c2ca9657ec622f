package configtest

import (
	"fmt"
	"testing"
	"time"

	"github.com/hookgate/hookgate/controlplane/distribute"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/testkit/poll"
)

// TestCacheFromAnotherClusterGetsSnapshot: etcd was wiped and replaced. A
// node restarted with a cache file from the old cluster says which cluster
// its revision belongs to, and gets a snapshot even once the new cluster's
// revision has passed the cached one, so it drops the webhooks the new
// cluster does not have.
func TestCacheFromAnotherClusterGetsSnapshot(t *testing.T) {
	t.Parallel()
	old := newEnv(t)
	old.put(t, webhook{tenant: "acme", id: "wh_kept", key: "k1"})
	old.put(t, webhook{tenant: "acme", id: "wh_gone", key: "k2"})
	oldCP := old.startCP(t, distribute.Config{})
	cfg := nodeConfig(oldCP.url, "edge-1", edge)
	cfg.CacheFile = t.TempDir() + "/config.cache"
	first := startNode(t, cfg)
	first.waitWebhook(t, "acme", "wh_gone", nil)
	held := first.table.Snapshot()
	first.stop(t) // writes the cache a last time
	oldCP.stop(t)

	fresh := old.otherCluster(t)
	var rev int64
	for i := 0; rev <= held.Revision+2; i++ {
		rev = fresh.put(t, webhook{tenant: "acme", id: "wh_kept", key: "k1", maxBody: int64(1000 + i)})
	}
	newCP := fresh.startCP(t, distribute.Config{})
	newCP.waitRevision(t, rev)
	if newCP.d.ClusterID() == 0 || newCP.d.ClusterID() == held.ClusterID || held.ClusterID == 0 {
		t.Fatalf("cluster ids: old %x, new %x; want two different ones", held.ClusterID, newCP.d.ClusterID())
	}

	cfg.ControlPlaneURL = newCP.url
	restarted := newNode(t, cfg)
	if got := restarted.table.Snapshot(); got.Revision != held.Revision || got.ClusterID != held.ClusterID {
		t.Fatalf("cache restored revision %d of cluster %x, want %d of %x", got.Revision, got.ClusterID, held.Revision, held.ClusterID)
	}
	restarted.run()
	restarted.waitGone(t, "acme", "wh_gone")
	restarted.waitWebhook(t, "acme", "wh_kept", func(w *hookgatev1.EdgeWebhook) error {
		if w.GetMaxBodyBytes() < 1000 {
			return fmt.Errorf("max_body_bytes %d, want the new cluster's", w.GetMaxBodyBytes())
		}
		return nil
	})
	if got := restarted.table.Snapshot(); got.ClusterID != newCP.d.ClusterID() || got.Revision < rev {
		t.Errorf("node at revision %d of cluster %x, want ≥ %d of %x", got.Revision, got.ClusterID, rev, newCP.d.ClusterID())
	}
	if got := restarted.fullUpdates(); got != 2 {
		t.Errorf("node applied %d snapshots, want 2 (the cache, then the new cluster's)", got)
	}
	if got := newCP.metric(t, "hookgate_config_resyncs_total", "reason", "cluster"); got != 1 {
		t.Errorf("cluster resyncs = %v, want 1", got)
	}
}

// TestResumeFromAnotherClusterRevision: the same at the protocol level,
// with the same revision in both clusters: deltas for the node's own
// cluster, a snapshot for another's, and every update names its cluster.
func TestResumeFromAnotherClusterRevision(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.put(t, webhook{tenant: "acme", id: "wh_1", key: "k1"})
	cp := e.startCP(t, distribute.Config{})
	r := dialRaw(t, h2cClient(), cp.url, edgeToken, hello("edge-1", edge, 0))
	snap := r.recv(t)
	if snap.GetClusterId() == 0 || snap.GetClusterId() != cp.d.ClusterID() {
		t.Fatalf("snapshot of cluster %x, want the control plane's %x", snap.GetClusterId(), cp.d.ClusterID())
	}
	r.ack(t, snap.GetRevision())
	rev := e.put(t, webhook{tenant: "acme", id: "wh_2", key: "k2"})
	if u := r.recv(t); u.GetSnapshot() || u.GetClusterId() != snap.GetClusterId() || u.GetRevision() < rev {
		t.Errorf("delta: snapshot=%v at %d of cluster %x; want a delta at ≥ %d of %x", u.GetSnapshot(), u.GetRevision(), u.GetClusterId(), rev, snap.GetClusterId())
	}
	r.close()

	for _, tc := range []struct {
		name     string
		cluster  uint64
		snapshot bool
	}{
		{"same cluster", snap.GetClusterId(), false},
		{"unknown cluster", 0, false},
		{"another cluster", snap.GetClusterId() + 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := hello("edge-2", edge, snap.GetRevision())
			h.ClusterId = tc.cluster
			u := dialRaw(t, h2cClient(), cp.url, edgeToken, h).recv(t)
			if u.GetSnapshot() != tc.snapshot || u.GetClusterId() != snap.GetClusterId() {
				t.Errorf("resume from revision %d of cluster %x: snapshot=%v of cluster %x; want snapshot=%v of %x",
					snap.GetRevision(), tc.cluster, u.GetSnapshot(), u.GetClusterId(), tc.snapshot, snap.GetClusterId())
			}
		})
	}
	poll.NoError(t, 10*time.Second, func() error {
		if got := cp.metric(t, "hookgate_config_resyncs_total", "reason", "cluster"); got != 1 {
			return fmt.Errorf("cluster resyncs = %v, want 1", got)
		}
		return nil
	})
}
