package distribute_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/hookgate/hookgate/controlplane/distribute"
	"github.com/hookgate/hookgate/controlplane/secrets"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/gen/hookgate/v1/hookgatev1connect"
	"github.com/hookgate/hookgate/testkit/etcdtest"
	"github.com/hookgate/hookgate/testkit/poll"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// TestNodeTraffic: the stream announces the stats interval; a node's
// ConfigStats reach ListNodes and the fleet registry in etcd; a node that
// sends none has no traffic; a message of a kind the control plane does not
// know is ignored, and the stream goes on.
func TestNodeTraffic(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	etcd := etcdtest.Start(t).Client(t)
	kr, err := secrets.LoadOrCreateKeyring(filepath.Join(t.TempDir(), "keyring.json"))
	if err != nil {
		t.Fatal(err)
	}
	clk := fixedClock{time.Date(2026, 3, 23, 15, 30, 0, 0, time.UTC)}
	d, err := distribute.New(distribute.Config{NodeToken: "node-token", StatusInterval: 20 * time.Millisecond, StatsInterval: 3 * time.Second},
		etcd, kr, slog.New(slog.DiscardHandler), nil, clk)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- d.Run(runCtx) }()
	t.Cleanup(func() { stop(); <-done })
	mux := http.NewServeMux()
	mux.Handle(hookgatev1connect.NewConfigDiscoveryServiceHandler(d))
	srv := httptest.NewUnstartedServer(mux)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)

	edge := openNode(t, ctx, srv.URL, srv.Client(), hookgatev1.NodeRole_NODE_ROLE_EDGE)
	edge.next()
	if got := edge.stream.ResponseHeader().Get(distribute.StatsIntervalHeader); got != "3s" {
		t.Fatalf("%s: %q, want 3s", distribute.StatsIntervalHeader, got)
	}
	dispatcher := openNode(t, ctx, srv.URL, srv.Client(), hookgatev1.NodeRole_NODE_ROLE_DISPATCHER)
	dispatcher.next()

	// A kind from a newer node: field 99 of the oneof, unknown here. And a
	// message with no kind at all.
	future := &hookgatev1.StreamConfigRequest{}
	future.ProtoReflect().SetUnknown(protowire.AppendBytes(protowire.AppendTag(nil, 99, protowire.BytesType), []byte("x")))
	for _, m := range []*hookgatev1.StreamConfigRequest{future, {}} {
		if err := edge.stream.Send(m); err != nil {
			t.Fatalf("send: %v", err)
		}
	}
	sample := time.Date(2026, 3, 23, 15, 31, 0, 0, time.UTC)
	send := func(accepted uint64) {
		t.Helper()
		err := edge.stream.Send(&hookgatev1.StreamConfigRequest{Kind: &hookgatev1.StreamConfigRequest_Stats{Stats: &hookgatev1.ConfigStats{
			Traffic: &hookgatev1.NodeTraffic{SampleTime: timestamppb.New(sample), StartTime: timestamppb.New(sample.Add(-time.Hour)),
				Accepted: accepted, RejectedAuth: 3, RejectedOther: 2, Unavailable: 1},
		}}})
		if err != nil {
			t.Fatalf("send stats: %v", err)
		}
	}
	send(7)
	edgeTraffic := func() *hookgatev1.NodeTraffic {
		resp, err := d.ListNodes(ctx, connect.NewRequest(&hookgatev1.ListNodesRequest{}))
		if err != nil {
			t.Fatal(err)
		}
		var out *hookgatev1.NodeTraffic
		for _, n := range resp.Msg.Nodes {
			switch n.Role {
			case hookgatev1.NodeRole_NODE_ROLE_EDGE:
				out = n.Traffic
			case hookgatev1.NodeRole_NODE_ROLE_DISPATCHER:
				if n.Traffic != nil {
					t.Fatalf("dispatcher that reported nothing has traffic %v", n.Traffic)
				}
			}
		}
		return out
	}
	poll.Until(t, 10*time.Second, "the edge's traffic in ListNodes", func() bool { return edgeTraffic().GetAccepted() == 7 })
	if tr := edgeTraffic(); tr.RejectedAuth != 3 || tr.RejectedOther != 2 || tr.Unavailable != 1 || !tr.SampleTime.AsTime().Equal(sample) {
		t.Fatalf("traffic %v", tr)
	}
	// The stream survived the unknown kinds: later reports still arrive,
	// and reach the registry every replica lists from.
	send(9)
	poll.Until(t, 10*time.Second, "the new counters in the fleet registry", func() bool {
		resp, err := etcd.Get(ctx, distribute.NodesPrefix+hookgatev1.NodeRole_NODE_ROLE_EDGE.String())
		if err != nil || len(resp.Kvs) != 1 {
			return false
		}
		n := &hookgatev1.Node{}
		return proto.Unmarshal(resp.Kvs[0].Value, n) == nil && n.GetTraffic().GetAccepted() == 9
	})
}
