package configtest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/hookgate/hookgate/controlplane/distribute"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/testkit/poll"
	"google.golang.org/protobuf/proto"
)

func TestSnapshotOnConnectAndLeastPrivilege(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	exp := time.Date(2026, 3, 24, 15, 30, 0, 0, time.UTC)
	e.put(t, webhook{tenant: "acme", id: "wh_slack", key: "hgk_current", previousKey: "hgk_old", previousExp: exp,
		secrets: map[string]string{"signing_secret": "slack-signing-secret-value"}})
	e.put(t, webhook{tenant: "acme", id: "wh_plain", key: "hgk_plain"})
	e.put(t, webhook{tenant: "beta", id: "wh_off", key: "hgk_off", inactive: true})
	// An outbound record beside the webhooks: its signing secret must never
	// reach an edge.
	if _, err := e.cli.Put(context.Background(), "/hookgate/endpoints/acme/ep_1", "whsec_outbound-signing-secret"); err != nil {
		t.Fatal(err)
	}
	cp := e.startCP(t, distribute.Config{ReplicaID: "cp-a"})

	edgeNode := startNode(t, nodeConfig(cp.url, "edge-1", edge))
	disp := startNode(t, nodeConfig(cp.url, "disp-1", dispatcher))

	w := edgeNode.waitWebhook(t, "acme", "wh_slack", nil)
	if got := edgeNode.table.Snapshot().Len(); got != 3 {
		t.Errorf("edge table holds %d webhooks, want 3", got)
	}
	if len(w.GetKeys()) != 2 || !bytes.Equal(w.GetKeys()[0].GetSha256(), digest("hgk_current")) || w.GetKeys()[0].GetExpireTime() != nil {
		t.Errorf("keys[0] = %v, want the current digest without expiry", w.GetKeys())
	}
	if len(w.GetKeys()) == 2 && (!bytes.Equal(w.GetKeys()[1].GetSha256(), digest("hgk_old")) || !w.GetKeys()[1].GetExpireTime().AsTime().Equal(exp)) {
		t.Errorf("keys[1] = %v, want the previous digest expiring %s", w.GetKeys()[1], exp)
	}
	if got := w.GetProviderSecrets()["signing_secret"]; got != "slack-signing-secret-value" {
		t.Errorf("provider secret = %q, want it decrypted", got)
	}
	if w.GetProvider() != hookgatev1.Provider_PROVIDER_SLACK || len(w.GetBindings()) != 1 || w.GetMaxBodyBytes() != 1<<20 || !w.GetActive() {
		t.Errorf("webhook fields not copied: %v", w)
	}
	if off, _ := edgeNode.table.Webhook("beta", "wh_off"); off.GetActive() {
		t.Errorf("beta/wh_off active, want deactivated")
	}
	poll.NoError(t, 10*time.Second, func() error {
		if !disp.table.Status().HaveConfig {
			return fmt.Errorf("dispatcher has no configuration")
		}
		return nil
	})
	if got := disp.table.Snapshot().Len(); got != 0 {
		t.Errorf("dispatcher table holds %d webhooks, want none", got)
	}

	// What crosses the wire, byte for byte.
	rawEdge := dialRaw(t, h2cClient(), cp.url, edgeToken, hello("raw-edge", edge, 0))
	rawDisp := dialRaw(t, h2cClient(), cp.url, dispatcherToken, hello("raw-disp", dispatcher, 0))
	edgeSnap, dispSnap := rawEdge.recv(t), rawDisp.recv(t)
	edgeBytes, _ := proto.Marshal(edgeSnap)
	dispBytes, _ := proto.Marshal(dispSnap)
	if !edgeSnap.GetSnapshot() || len(edgeSnap.GetUpserts()) != 3 {
		t.Errorf("edge got snapshot=%v with %d resources, want a snapshot of 3", edgeSnap.GetSnapshot(), len(edgeSnap.GetUpserts()))
	}
	if bytes.Contains(edgeBytes, []byte("whsec_")) {
		t.Errorf("an edge received an outbound signing secret")
	}
	if !dispSnap.GetSnapshot() || len(dispSnap.GetUpserts()) != 0 || len(dispSnap.GetDeletes()) != 0 {
		t.Errorf("dispatcher got %d upserts, %d deletes; want an empty snapshot", len(dispSnap.GetUpserts()), len(dispSnap.GetDeletes()))
	}
	for _, secret := range [][]byte{[]byte("slack-signing-secret-value"), digest("hgk_current"), []byte("wh_slack")} {
		if bytes.Contains(dispBytes, secret) {
			t.Errorf("a dispatcher received inbound webhook data %q", secret)
		}
	}
	// A change to a webhook reaches the edge but not the dispatcher.
	rawEdge.ack(t, edgeSnap.GetRevision())
	rawDisp.ack(t, dispSnap.GetRevision())
	rev := e.put(t, webhook{tenant: "acme", id: "wh_new", key: "hgk_new", secrets: map[string]string{"signing_secret": "second-secret"}})
	if u := rawEdge.recv(t); u.GetRevision() < rev || !slices.Equal(keysOf(u), []string{"webhook/acme/wh_new"}) {
		t.Errorf("edge delta = revision %d keys %v, want revision ≥ %d with webhook/acme/wh_new", u.GetRevision(), keysOf(u), rev)
	}
	edgeNode.waitWebhook(t, "acme", "wh_new", nil)
	if st := disp.table.Status(); st.Revision >= rev {
		t.Errorf("dispatcher moved to revision %d for a webhook change", st.Revision)
	}
}

func TestChangesPropagateAsDeltas(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.put(t, webhook{tenant: "acme", id: "wh_1", key: "hgk_one"})
	cp := e.startCP(t, distribute.Config{})
	n := startNode(t, nodeConfig(cp.url, "edge-1", edge))
	n.waitWebhook(t, "acme", "wh_1", nil)

	steps := []struct {
		name   string
		change func() int64
		check  func() error
	}{
		{"create", func() int64 {
			return e.put(t, webhook{tenant: "acme", id: "wh_2", key: "hgk_two"})
		}, func() error {
			if _, ok := n.table.Webhook("acme", "wh_2"); !ok {
				return fmt.Errorf("wh_2 missing")
			}
			return nil
		}},
		{"update", func() int64 {
			return e.put(t, webhook{tenant: "acme", id: "wh_2", key: "hgk_two", maxBody: 4096})
		}, func() error {
			if w, _ := n.table.Webhook("acme", "wh_2"); w.GetMaxBodyBytes() != 4096 {
				return fmt.Errorf("max_body_bytes = %d", w.GetMaxBodyBytes())
			}
			return nil
		}},
		{"rotate", func() int64 {
			return e.put(t, webhook{tenant: "acme", id: "wh_1", key: "hgk_rotated", previousKey: "hgk_one", previousExp: time.Now().Add(time.Hour)})
		}, func() error {
			w, _ := n.table.Webhook("acme", "wh_1")
			if len(w.GetKeys()) != 2 || !bytes.Equal(w.GetKeys()[0].GetSha256(), digest("hgk_rotated")) || !bytes.Equal(w.GetKeys()[1].GetSha256(), digest("hgk_one")) {
				return fmt.Errorf("keys = %v, want the new digest and the previous one", w.GetKeys())
			}
			return nil
		}},
		{"deactivate", func() int64 {
			return e.put(t, webhook{tenant: "acme", id: "wh_1", key: "hgk_rotated", inactive: true})
		}, func() error {
			if w, _ := n.table.Webhook("acme", "wh_1"); w.GetActive() {
				return fmt.Errorf("wh_1 still active")
			}
			return nil
		}},
		{"delete", func() int64 { return e.del(t, "acme", "wh_2") }, func() error {
			if _, ok := n.table.Webhook("acme", "wh_2"); ok {
				return fmt.Errorf("wh_2 still present")
			}
			return nil
		}},
	}
	for _, st := range steps {
		rev := st.change()
		// The table shows the change as soon as it reaches the write's
		// revision: no intermediate state.
		n.waitRevision(t, rev)
		if err := st.check(); err != nil {
			t.Errorf("%s: %v", st.name, err)
		}
	}
	if got := n.fullUpdates(); got != 1 {
		t.Errorf("node applied %d snapshots, want 1 (then deltas only)", got)
	}
	select {
	case err := <-n.done:
		t.Fatalf("client stopped: %v", err)
	default:
	}
}

func TestResumeGetsOnlyChanges(t *testing.T) {
	t.Parallel()
	// The in-memory log covers a short disconnection; etcd's history a
	// longer one, or a new control plane's first minutes.
	for _, tc := range []struct {
		name    string
		logSize int
	}{
		{"from the change log", 0},
		{"from etcd history", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.put(t, webhook{tenant: "acme", id: "wh_1", key: "k1"})
			e.put(t, webhook{tenant: "acme", id: "wh_2", key: "k2"})
			e.put(t, webhook{tenant: "acme", id: "wh_3", key: "k3"})
			cp := e.startCP(t, distribute.Config{LogSize: tc.logSize})
			r := dialRaw(t, h2cClient(), cp.url, edgeToken, hello("edge-1", edge, 0))
			snap := r.recv(t)
			r.ack(t, snap.GetRevision())
			r.close()

			e.put(t, webhook{tenant: "acme", id: "wh_1", key: "k1-rotated"})
			e.del(t, "acme", "wh_2")
			e.put(t, webhook{tenant: "acme", id: "wh_4", key: "k4"})
			last := e.put(t, webhook{tenant: "acme", id: "wh_4", key: "k4", maxBody: 10})
			cp.waitRevision(t, last)

			r2 := dialRaw(t, h2cClient(), cp.url, edgeToken, hello("edge-1", edge, snap.GetRevision()))
			u := r2.recv(t)
			if u.GetSnapshot() {
				t.Fatalf("resume from revision %d got a snapshot, want only changes", snap.GetRevision())
			}
			if u.GetRevision() < last {
				t.Errorf("update revision %d, want ≥ %d", u.GetRevision(), last)
			}
			if got, want := keysOf(u), []string{"webhook/acme/wh_1", "webhook/acme/wh_4"}; !slices.Equal(got, want) {
				t.Errorf("upserts %v, want %v", got, want)
			}
			if got, want := u.GetDeletes(), []string{"webhook/acme/wh_2"}; !slices.Equal(got, want) {
				t.Errorf("deletes %v, want %v", got, want)
			}
			if got := cp.metric(t, "hookgate_config_updates_sent_total", "kind", "snapshot"); got != 1 {
				t.Errorf("snapshots sent = %v, want only the first connection's", got)
			}
		})
	}
}

func TestCompactedRevisionGetsSnapshot(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.put(t, webhook{tenant: "acme", id: "wh_1", key: "k1"})
	cp := e.startCP(t, distribute.Config{LogSize: 1})
	r := dialRaw(t, h2cClient(), cp.url, edgeToken, hello("edge-1", edge, 0))
	snap := r.recv(t)
	r.ack(t, snap.GetRevision())
	r.close()

	// One change at a time: the watch may deliver writes made together in
	// one response, which the view logs as one entry that a one-item log
	// still holds, and then a delta is right. Apart, the log keeps only
	// the last, and the node's revision falls out of it.
	var last int64
	for _, id := range []string{"wh_2", "wh_3", "wh_4"} {
		last = e.put(t, webhook{tenant: "acme", id: id, key: "k-" + id})
		cp.waitRevision(t, last)
	}
	if _, err := e.cli.Compact(context.Background(), last); err != nil {
		t.Fatal(err)
	}
	cp.waitRevision(t, last)

	r2 := dialRaw(t, h2cClient(), cp.url, edgeToken, hello("edge-1", edge, snap.GetRevision()))
	u := r2.recv(t)
	if !u.GetSnapshot() || len(u.GetUpserts()) != 4 || u.GetRevision() < last {
		t.Errorf("got snapshot=%v with %d resources at %d; want a snapshot of 4 at ≥ %d", u.GetSnapshot(), len(u.GetUpserts()), u.GetRevision(), last)
	}
	if got := cp.metric(t, "hookgate_config_resyncs_total", "reason", "compacted"); got != 1 {
		t.Errorf("compacted resyncs = %v, want 1", got)
	}
}

func TestStaticStability(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.put(t, webhook{tenant: "acme", id: "wh_1", key: "k1"})
	cp := e.startCP(t, distribute.Config{})
	n := startNode(t, nodeConfig(cp.url, "edge-1", edge))
	n.waitWebhook(t, "acme", "wh_1", nil)
	if note, err := n.table.Check(); err != nil || note != fmt.Sprintf("revision %d", n.table.Status().Revision) {
		t.Errorf("Check() = %q, %v; want ready and fresh", note, err)
	}

	cp.stop(t)
	poll.NoError(t, 10*time.Second, func() error {
		if n.table.Status().Connected {
			return fmt.Errorf("edge still connected")
		}
		return nil
	})
	note, err := n.table.Check()
	if err != nil || !bytes.Contains([]byte(note), []byte("stale config")) {
		t.Errorf("Check() = %q, %v; want ready with a stale config note", note, err)
	}
	if _, ok := n.table.Webhook("acme", "wh_1"); !ok {
		t.Fatalf("edge lost its configuration with the control plane")
	}

	// Changes made while the control plane is away arrive when a new one
	// starts on the same etcd, as changes, not a snapshot.
	rev := e.put(t, webhook{tenant: "acme", id: "wh_2", key: "k2"})
	e.startCP(t, distribute.Config{}, onAddr(cp.addr))
	n.waitRevision(t, rev)
	n.waitWebhook(t, "acme", "wh_2", nil)
	poll.NoError(t, 10*time.Second, func() error {
		if !n.table.Status().Connected {
			return fmt.Errorf("edge not reconnected")
		}
		return nil
	})
	if got := n.fullUpdates(); got != 1 {
		t.Errorf("edge applied %d snapshots, want 1: it should resume with changes only", got)
	}
}

func TestTwoReplicas(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.put(t, webhook{tenant: "acme", id: "wh_1", key: "k1"})
	a := e.startCP(t, distribute.Config{ReplicaID: "cp-a"})
	b := e.startCP(t, distribute.Config{ReplicaID: "cp-b"})
	onA := startNode(t, nodeConfig(a.url, "edge-a", edge))
	onB := startNode(t, nodeConfig(b.url, "edge-b", edge))
	disp := startNode(t, nodeConfig(b.url, "disp-b", dispatcher))

	for i := range 5 {
		id := fmt.Sprintf("wh_%d", i+2)
		rev := e.put(t, webhook{tenant: "acme", id: id, key: id})
		onA.waitRevision(t, rev)
		onB.waitRevision(t, rev)
		for _, n := range []*node{onA, onB} {
			if _, ok := n.table.Webhook("acme", id); !ok {
				t.Fatalf("a node at revision %d lacks %s", rev, id)
			}
		}
	}
	poll.NoError(t, 10*time.Second, func() error {
		if !disp.table.Status().HaveConfig {
			return fmt.Errorf("dispatcher has no configuration")
		}
		return nil
	})

	want := map[string]string{"edge-a": "cp-a", "edge-b": "cp-b", "disp-b": "cp-b"}
	for _, cp := range []*controlPlane{a, b} {
		poll.NoError(t, 10*time.Second, func() error {
			nodes := cp.listNodes(t, hookgatev1.NodeRole_NODE_ROLE_UNSPECIFIED)
			if len(nodes) != len(want) {
				return fmt.Errorf("ListNodes lists %d nodes, want %d", len(nodes), len(want))
			}
			for _, n := range nodes {
				if want[n.GetId()] != n.GetControlPlane() {
					return fmt.Errorf("node %s on %q, want %q", n.GetId(), n.GetControlPlane(), want[n.GetId()])
				}
				if n.GetLag() != 0 || n.GetConfigRevision() == 0 {
					return fmt.Errorf("node %s at revision %d with lag %d, want caught up", n.GetId(), n.GetConfigRevision(), n.GetLag())
				}
				if n.GetAddress() != "127.0.0.1:8080" || !n.GetConnectTime().AsTime().Equal(e.clock.Now()) {
					return fmt.Errorf("node %s: address %q, connected %v", n.GetId(), n.GetAddress(), n.GetConnectTime().AsTime())
				}
			}
			return nil
		})
	}
	if got := a.listNodes(t, dispatcher); len(got) != 1 || got[0].GetId() != "disp-b" {
		t.Errorf("ListNodes(dispatcher) = %v, want disp-b only", got)
	}

	// A node that leaves leaves the fleet view of both replicas; so do the
	// nodes of a replica that stops.
	onB.stop(t)
	poll.NoError(t, 10*time.Second, func() error {
		for _, n := range a.listNodes(t, edge) {
			if n.GetId() == "edge-b" {
				return fmt.Errorf("edge-b still listed")
			}
		}
		return nil
	})
	b.stop(t)
	poll.NoError(t, 10*time.Second, func() error {
		if nodes := a.listNodes(t, hookgatev1.NodeRole_NODE_ROLE_UNSPECIFIED); len(nodes) != 1 || nodes[0].GetId() != "edge-a" {
			return fmt.Errorf("nodes = %v, want edge-a only", nodes)
		}
		return nil
	})
}

func TestNackIsRecorded(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.put(t, webhook{tenant: "acme", id: "wh_1", key: "k1"})
	cp := e.startCP(t, distribute.Config{})
	r := dialRaw(t, h2cClient(), cp.url, edgeToken, hello("edge-1", edge, 0))
	snap := r.recv(t)
	const reason = `resource "webhook/acme/wh_1": unsupported provider`
	r.nack(t, snap.GetRevision(), reason)

	var listed *hookgatev1.Node
	poll.NoError(t, 10*time.Second, func() error {
		nodes := cp.listNodes(t, edge)
		if len(nodes) != 1 || nodes[0].GetLastNack() != reason {
			return fmt.Errorf("nodes = %v, want edge-1 with its NACK", nodes)
		}
		listed = nodes[0]
		return nil
	})
	if listed.GetConfigRevision() != 0 || listed.GetLag() == 0 || !listed.GetLastNackTime().AsTime().Equal(e.clock.Now()) {
		t.Errorf("node = %v; want revision 0, a lag and the NACK time", listed)
	}
	if got := cp.metric(t, "hookgate_config_nacks_total", "role", "edge"); got != 1 {
		t.Errorf("nacks = %v, want 1", got)
	}

	// The rejected content is not sent again; the next change brings the
	// node a fresh update from what it still holds (nothing: a snapshot).
	rev := e.put(t, webhook{tenant: "acme", id: "wh_2", key: "k2"})
	u := r.recv(t)
	if !u.GetSnapshot() || u.GetRevision() < rev || len(u.GetUpserts()) != 2 {
		t.Errorf("after a NACK got snapshot=%v at %d with %d resources; want a snapshot of 2 at ≥ %d", u.GetSnapshot(), u.GetRevision(), len(u.GetUpserts()), rev)
	}
	r.ack(t, u.GetRevision())
	poll.NoError(t, 10*time.Second, func() error {
		nodes := cp.listNodes(t, edge)
		if len(nodes) != 1 || nodes[0].GetConfigRevision() != u.GetRevision() || nodes[0].GetLag() != 0 || nodes[0].GetLastNack() != reason {
			return fmt.Errorf("nodes = %v, want revision %d, no lag, the last NACK kept", nodes, u.GetRevision())
		}
		return nil
	})
}

func TestSlowNodeIsResyncedWithoutSlowingOthers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.put(t, webhook{tenant: "acme", id: "wh_0", key: "k0"})
	cp := e.startCP(t, distribute.Config{LogSize: 4})
	// The slow node says hello and then neither reads nor answers.
	slow := dialRaw(t, h2cClient(), cp.url, edgeToken, hello("slow", edge, 0))
	fast := startNode(t, nodeConfig(cp.url, "fast", edge))
	fast.waitWebhook(t, "acme", "wh_0", nil)
	// Both have been sent their first snapshot before anything changes.
	poll.NoError(t, 10*time.Second, func() error {
		if got := cp.metric(t, "hookgate_config_updates_sent_total", "kind", "snapshot"); got != 2 {
			return fmt.Errorf("%v snapshots sent, want 2", got)
		}
		return nil
	})

	var last int64
	for i := range 10 {
		last = e.put(t, webhook{tenant: "acme", id: fmt.Sprintf("wh_%d", i+1), key: "k"})
		fast.waitRevision(t, last)
	}
	if got := fast.table.Snapshot().Len(); got != 11 {
		t.Errorf("fast node holds %d webhooks, want 11", got)
	}

	first := slow.recv(t)
	if !first.GetSnapshot() || first.GetRevision() >= last {
		t.Fatalf("slow node's first update: snapshot=%v at %d; want the snapshot from before the changes", first.GetSnapshot(), first.GetRevision())
	}
	slow.ack(t, first.GetRevision())
	second := slow.recv(t)
	if !second.GetSnapshot() || second.GetRevision() < last || len(second.GetUpserts()) != 11 {
		t.Errorf("slow node's second update: snapshot=%v at %d with %d resources; want a resync snapshot of 11 at ≥ %d",
			second.GetSnapshot(), second.GetRevision(), len(second.GetUpserts()), last)
	}
	if got := cp.metric(t, "hookgate_config_resyncs_total", "reason", "slow"); got != 1 {
		t.Errorf("slow resyncs = %v, want 1", got)
	}
}

func TestCacheRestoresTableWithoutControlPlane(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.put(t, webhook{tenant: "acme", id: "wh_1", key: "k1", secrets: map[string]string{"signing_secret": "s3cret"}})
	cp := e.startCP(t, distribute.Config{})
	cfg := nodeConfig(cp.url, "edge-1", edge)
	cfg.CacheFile = t.TempDir() + "/config.cache"
	cfg.CacheInterval = 10 * time.Millisecond

	first := startNode(t, cfg)
	first.waitWebhook(t, "acme", "wh_1", nil)
	held := first.table.Status().Revision
	first.stop(t) // writes the cache a last time
	cp.stop(t)

	info, err := os.Stat(cfg.CacheFile)
	if err != nil {
		t.Fatalf("cache file: %v", err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("cache file mode %o, want 600", perm)
	}

	// A restarted edge serves from the cache before any control plane.
	restarted := newNode(t, cfg)
	w, ok := restarted.table.Webhook("acme", "wh_1")
	if !ok || w.GetProviderSecrets()["signing_secret"] != "s3cret" {
		t.Fatalf("restarted table: %v, %v; want wh_1 from the cache", w, ok)
	}
	st := restarted.table.Status()
	if st.Revision != held || !st.HaveConfig || st.Connected {
		t.Errorf("status %+v; want revision %d, config, not connected", st, held)
	}
	if note, err := restarted.table.Check(); err != nil || !bytes.Contains([]byte(note), []byte("stale config")) {
		t.Errorf("Check() = %q, %v; want ready with a stale config note", note, err)
	}

	// When a control plane returns, the cached revision is resumed.
	rev := e.put(t, webhook{tenant: "acme", id: "wh_2", key: "k2"})
	e.startCP(t, distribute.Config{}, onAddr(cp.addr))
	restarted.run()
	restarted.waitRevision(t, rev)
	restarted.waitWebhook(t, "acme", "wh_2", nil)
	if got := restarted.fullUpdates(); got != 1 {
		t.Errorf("restarted node applied %d snapshots, want 1 (the cache)", got)
	}
}

func TestNodeAheadOfTheView(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rev := e.put(t, webhook{tenant: "acme", id: "wh_1", key: "k1"})
	cp := e.startCP(t, distribute.Config{})
	cp.waitRevision(t, rev)

	// A node may hold a revision from a replica that is ahead of this one.
	// Here a write outside the webhooks moves etcd on but not the view,
	// until the view asks etcd how far it has got.
	resp, err := e.cli.Put(context.Background(), "/hookgate/tokens/tok_1", "x")
	if err != nil {
		t.Fatal(err)
	}
	ahead := resp.Header.Revision
	r := dialRaw(t, h2cClient(), cp.url, edgeToken, hello("edge-1", edge, ahead))
	u := r.recv(t)
	if u.GetSnapshot() || u.GetRevision() < ahead || len(u.GetUpserts())+len(u.GetDeletes()) != 0 {
		t.Errorf("node ahead of the view got snapshot=%v at %d with %d upserts; want no change at ≥ %d",
			u.GetSnapshot(), u.GetRevision(), len(u.GetUpserts()), ahead)
	}

	// A revision etcd never reached comes from another etcd history (a
	// wiped cluster): only a snapshot is right.
	r2 := dialRaw(t, h2cClient(), cp.url, edgeToken, hello("edge-2", edge, ahead+1000))
	if u := r2.recv(t); !u.GetSnapshot() || len(u.GetUpserts()) != 1 {
		t.Errorf("node from the future got snapshot=%v with %d upserts; want a snapshot of 1", u.GetSnapshot(), len(u.GetUpserts()))
	}
	if got := cp.metric(t, "hookgate_config_resyncs_total", "reason", "future"); got != 1 {
		t.Errorf("future resyncs = %v, want 1", got)
	}
}

// TestDeadReplicaLeavesTheFleetView: a replica that dies without a word
// takes its nodes out of every replica's fleet view when its lease expires.
func TestDeadReplicaLeavesTheFleetView(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.put(t, webhook{tenant: "acme", id: "wh_1", key: "k1"})
	a := e.startCP(t, distribute.Config{ReplicaID: "cp-a"})
	doomedEtcd := e.etcd.Client(t)
	b := e.startCP(t, distribute.Config{ReplicaID: "cp-b", LeaseTTL: 2 * time.Second}, withEtcd(doomedEtcd))
	startNode(t, nodeConfig(a.url, "edge-a", edge))
	startNode(t, nodeConfig(b.url, "edge-b", edge))
	poll.NoError(t, 10*time.Second, func() error {
		if nodes := a.listNodes(t, edge); len(nodes) != 2 {
			return fmt.Errorf("nodes = %v, want edge-a and edge-b", nodes)
		}
		return nil
	})

	// B loses etcd and its port at once: nothing revokes its lease.
	_ = doomedEtcd.Close()
	_ = b.srv.Close()
	poll.NoError(t, 15*time.Second, func() error {
		if nodes := a.listNodes(t, edge); len(nodes) != 1 || nodes[0].GetId() != "edge-a" {
			return fmt.Errorf("nodes = %v, want edge-a only", nodes)
		}
		return nil
	})
}
