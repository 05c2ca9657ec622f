package configtest

import (
	"fmt"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/hookgate/hookgate/controlplane/distribute"
	"github.com/hookgate/hookgate/testkit/poll"
)

// TestNodeThatStopsReadingLosesItsStream: a node that stops reading fills
// its HTTP/2 receive window and blocks the control plane's send; after
// SendTimeout the control plane ends that stream. A node that reads is
// not affected, even when its stream then stays idle past SendTimeout.
func TestNodeThatStopsReadingLosesItsStream(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const webhooks = 300 // a snapshot of ~60 KB
	loadWebhooks(t, e, webhooks)
	const sendTimeout = 500 * time.Millisecond
	cp := e.startCP(t, distribute.Config{SendTimeout: sendTimeout})
	reader := startNode(t, nodeConfig(cp.url, "reader", edge))
	poll.NoError(t, 10*time.Second, func() error {
		if got := reader.table.Snapshot().Len(); got != webhooks {
			return fmt.Errorf("reader holds %d webhooks, want %d", got, webhooks)
		}
		return nil
	})

	// The stuck node buffers 16 KiB of the snapshot and reads nothing. It
	// takes updates uncompressed, as nodes do by default: gzip would fit
	// this snapshot in the window.
	stuck := dialRaw(t, h2cClientWindow(16<<10), cp.url, edgeToken, hello("stuck", edge, 0),
		connect.WithAcceptCompression("gzip", nil, nil))
	poll.NoError(t, 10*time.Second, func() error {
		if got := cp.metric(t, "hookgate_config_send_timeouts_total", "role", "edge"); got != 1 {
			return fmt.Errorf("send timeouts = %v, want 1", got)
		}
		return nil
	})
	poll.NoError(t, 10*time.Second, func() error {
		if got := cp.metric(t, "hookgate_config_nodes_connected", "role", "edge"); got != 1 {
			return fmt.Errorf("%v edges connected, want the reader only", got)
		}
		return nil
	})
	// What the stuck node buffered ends in the stream's reset, not in an
	// update.
	if u, err := stuck.recvErr(t); err == nil {
		t.Errorf("the stuck node received an update (snapshot=%v, %d resources), want the stream reset", u.GetSnapshot(), len(u.GetUpserts()))
	}

	// The reader's stream was idle for longer than SendTimeout while the
	// stuck one timed out: it still gets changes, as deltas.
	rev := e.put(t, webhook{tenant: "acme", id: "wh_new", key: "k"})
	reader.waitRevision(t, rev)
	if got := reader.fullUpdates(); got != 1 {
		t.Errorf("reader applied %d snapshots, want 1: its stream should have stayed up", got)
	}
	if got := cp.metric(t, "hookgate_config_send_timeouts_total", "role", "edge"); got != 1 {
		t.Errorf("send timeouts = %v, want the stuck node's only", got)
	}
}
