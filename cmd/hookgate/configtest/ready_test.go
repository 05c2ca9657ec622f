package configtest

import (
	"net"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/hookgate/hookgate/controlplane/distribute"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// TestNodeLeavesAnUnreadyReplica: a replica whose etcd has not answered
// since it started never loads its view. It answers a node Unavailable after
// ReadyTimeout, sending nothing, and the node moves to the next replica it
// knows and gets its configuration there.
func TestNodeLeavesAnUnreadyReplica(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.put(t, webhook{tenant: "acme", id: "wh_1", key: "k1"})
	healthy := e.startCP(t, distribute.Config{ReplicaID: "cp-healthy"})

	// etcd without an answer: a listener that never speaks (an etcd
	// without quorum, or a partition), held open until the test ends.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	mute, err := clientv3.New(clientv3.Config{Endpoints: []string{"http://" + ln.Addr().String()}, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mute.Close() })
	unready := e.startCP(t, distribute.Config{ReplicaID: "cp-unready", ReadyTimeout: 200 * time.Millisecond}, withEtcd(mute))

	refusal{hello: hello("raw-1", edge, 0), token: edgeToken, code: connect.CodeUnavailable, message: "has not loaded its configuration"}.check(t, unready)

	cfg := nodeConfig(unready.url, "edge-1", edge)
	cfg.ControlPlaneURLs = []string{healthy.url}
	n := startNode(t, cfg)
	n.waitWebhook(t, "acme", "wh_1", nil)
	if got := unready.metric(t, "hookgate_config_streams_refused_total", "reason", "not_ready"); got < 2 {
		t.Errorf("not_ready refusals = %v, want the raw node's and the node's first session", got)
	}
	if rev := unready.d.Revision(); rev != 0 {
		t.Errorf("the unready replica's view is at revision %d, want never loaded", rev)
	}
}
