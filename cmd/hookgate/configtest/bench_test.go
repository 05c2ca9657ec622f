package configtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/hookgate/hookgate/controlplane/distribute"
	"github.com/hookgate/hookgate/controlplane/store"
	"github.com/hookgate/hookgate/dataplane/configsync"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/gen/hookgate/v1/hookgatev1connect"
	"github.com/hookgate/hookgate/testkit/poll"
	clientv3 "go.etcd.io/etcd/client/v3"
	"golang.org/x/sync/errgroup"
	"google.golang.org/protobuf/proto"
)

// Sizes of BenchmarkConfigDistribution (issue 5, "Measure").
const (
	benchWebhooks = 100_000
	benchChanges  = 1_000
	benchFanout   = 10
)

// BenchmarkConfigDistribution measures config distribution with 100,000
// webhooks in etcd (every other one with a sealed provider secret):
//
//   - cp-load-ms: the control plane reads and converts them all (its view);
//   - cold-start-ms: a new edge receives and applies the snapshot (goal
//     < 2 s); cold-start-cached-ms: the same with the control plane's
//     snapshot already built and encoded;
//   - edge-heap-MB: heap the edge's table holds after GC (goal < 300 MB);
//   - propagation-p50-ms, -p99-ms, -max-ms: from an etcd write returning to
//     the edge's Table showing it, over 1,000 sequential changes (goal p99
//     < 100 ms); write-to-edge-p50-ms, -p99-ms: the same from the write
//     being issued, etcd's commit included;
//   - fanout-10-ms: right after a change, 10 nodes connect at once (as after
//     a control-plane restart) until each has received its snapshot's bytes,
//     not decoded: the control plane's share of a fleet reconnecting.
//
// The edge runs with the default configuration (updates not gzipped).
// Everything runs in one process (etcd, control plane, edge), so the
// numbers include each other's CPU use on a small machine. Run it once:
//
//	go test -run='^$' -bench=Config -benchtime=1x ./cmd/hookgate/configtest/
func BenchmarkConfigDistribution(b *testing.B) {
	e := newEnv(b)
	ids := loadWebhooks(b, e, benchWebhooks)
	for range b.N {
		start := time.Now()
		cp := e.startCP(b, distribute.Config{ReplicaID: "bench"})
		poll.NoError(b, 5*time.Minute, func() error {
			if cp.d.Revision() == 0 {
				return fmt.Errorf("view not loaded")
			}
			return nil
		})
		b.ReportMetric(ms(time.Since(start)), "cp-load-ms")

		runtime.GC()
		runtime.GC()
		edge := startBenchEdge(b, cp.url, "edge-cold")
		edge.waitLen(b, benchWebhooks)
		b.ReportMetric(ms(edge.firstApplied.Sub(edge.started)), "cold-start-ms")
		b.ReportMetric(float64(snapshotBytes(edge.table.Snapshot()))/(1<<20), "snapshot-MB")

		// The table's heap: the heap with it, less the heap once it is gone.
		withTable := heapAlloc()
		edge.stop(b)
		edge = nil
		b.ReportMetric(float64(withTable-heapAlloc())/(1<<20), "edge-heap-MB")

		edge = startBenchEdge(b, cp.url, "edge-warm")
		edge.waitLen(b, benchWebhooks)
		b.ReportMetric(ms(edge.firstApplied.Sub(edge.started)), "cold-start-cached-ms")

		// From the write returning (the goal's definition), and from the
		// write being issued, which adds etcd's commit: etcd often notifies
		// watchers before the writer hears back.
		lat := make([]time.Duration, 0, benchChanges)
		latIssued := make([]time.Duration, 0, benchChanges)
		rng := rand.New(rand.NewPCG(1, 2))
		for i := range benchChanges {
			id := ids[rng.IntN(len(ids))]
			issued := time.Now()
			rev := e.put(b, webhook{tenant: "acme", id: id, key: id, maxBody: int64(1<<20 + i + 1)})
			written := time.Now()
			applied := edge.waitRevision(b, rev)
			if w, _ := edge.table.Webhook("acme", id); w.GetMaxBodyBytes() != int64(1<<20+i+1) {
				b.Fatalf("change %d not enforced: max_body_bytes %d", i, w.GetMaxBodyBytes())
			}
			lat = append(lat, max(0, applied.Sub(written)))
			latIssued = append(latIssued, applied.Sub(issued))
		}
		slices.Sort(lat)
		slices.Sort(latIssued)
		b.ReportMetric(ms(lat[len(lat)/2]), "propagation-p50-ms")
		b.ReportMetric(ms(lat[len(lat)*99/100]), "propagation-p99-ms")
		b.ReportMetric(ms(lat[len(lat)-1]), "propagation-max-ms")
		b.ReportMetric(ms(latIssued[len(latIssued)/2]), "write-to-edge-p50-ms")
		b.ReportMetric(ms(latIssued[len(latIssued)*99/100]), "write-to-edge-p99-ms")

		// A change, so that no snapshot is cached, then a fleet at once.
		cp.waitRevision(b, e.put(b, webhook{tenant: "acme", id: ids[0], key: ids[0], maxBody: 1 << 21}))
		b.ReportMetric(ms(fanout(b, cp.url, benchFanout)), "fanout-10-ms")
		edge.stop(b)
		cp.stop(b)
	}
}

// fanout opens n streams at once and returns when every one has received
// its first update (a snapshot, since each says it holds nothing). The
// updates are not decoded, so the figure is the control plane's work and the
// transfer, not n nodes building their tables on the same cores.
func fanout(b *testing.B, url string, n int) time.Duration {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	g, ctx := errgroup.WithContext(ctx)
	for i := range n {
		g.Go(func() error {
			rpc := hookgatev1connect.NewConfigDiscoveryServiceClient(h2cClient(), url, connect.WithGRPC(),
				connect.WithCodec(undecoded{}), connect.WithReadMaxBytes(1<<30),
				connect.WithAcceptCompression("gzip", nil, nil))
			stream := rpc.StreamConfig(ctx)
			defer func() {
				_ = stream.CloseRequest()
				_ = stream.CloseResponse()
			}()
			req := &hookgatev1.StreamConfigRequest{Kind: &hookgatev1.StreamConfigRequest_Hello{Hello: hello(fmt.Sprintf("fanout-%d", i), edge, 0)}}
			if err := stream.Send(req); err != nil {
				return fmt.Errorf("node %d: send hello: %w", i, err)
			}
			if _, err := stream.Receive(); err != nil {
				return fmt.Errorf("node %d: receive snapshot: %w", i, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}

// undecoded is a protobuf codec that encodes requests and leaves responses
// undecoded.
type undecoded struct{}

func (undecoded) Name() string { return "proto" }

func (undecoded) Marshal(m any) ([]byte, error) { return proto.Marshal(m.(proto.Message)) }

func (undecoded) Unmarshal(data []byte, _ any) error {
	if len(data) == 0 {
		return fmt.Errorf("empty update")
	}
	return nil
}

// snapshotBytes is the encoded size of a snapshot of what the table holds.
func snapshotBytes(s *configsync.Snapshot) int {
	resp := &hookgatev1.StreamConfigResponse{Revision: s.Revision, Snapshot: true}
	for w := range s.All() {
		resp.Upserts = append(resp.Upserts, &hookgatev1.ConfigResource{
			Key:      configsync.ResourceKey(w.GetTenant(), w.GetId()),
			Resource: &hookgatev1.ConfigResource_Webhook{Webhook: w},
		})
	}
	return proto.Size(resp)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func heapAlloc() uint64 {
	runtime.GC()
	runtime.GC() // the second clears sync.Pool victims, e.g. big message buffers
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// loadWebhooks writes n webhook records in transactions of 128 puts (etcd's
// default limit of operations per transaction), four at a time.
func loadWebhooks(b testing.TB, e *env, n int) []string {
	b.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("wh_%020d", i)
	}
	const perTxn = 128
	g, ctx := errgroup.WithContext(context.Background())
	g.SetLimit(4)
	for lo := 0; lo < n; lo += perTxn {
		batch := ids[lo:min(lo+perTxn, n)]
		g.Go(func() error {
			ops := make([]clientv3.Op, 0, len(batch))
			for j, id := range batch {
				w := webhook{tenant: "acme", id: id, key: id}
				if (lo+j)%2 == 0 {
					w.secrets = map[string]string{"signing_secret": "secret-" + id}
				}
				val, err := proto.MarshalOptions{Deterministic: true}.Marshal(e.record(w))
				if err != nil {
					return err
				}
				ops = append(ops, clientv3.OpPut(store.WebhookKey("acme", id), string(val)))
			}
			_, err := e.cli.Txn(ctx).Then(ops...).Commit()
			return err
		})
	}
	if err := g.Wait(); err != nil {
		b.Fatalf("load webhooks: %v", err)
	}
	return ids
}

// benchEdge is an edge's configsync client and table that remembers only
// when it last applied an update, so that it holds no old snapshots.
type benchEdge struct {
	table   *configsync.Table
	cancel  context.CancelFunc
	done    chan error
	started time.Time
	signal  chan struct{}

	mu           sync.Mutex
	firstApplied time.Time
	lastRev      int64
	lastAt       time.Time
}

func startBenchEdge(b *testing.B, url, id string) *benchEdge {
	b.Helper()
	e := &benchEdge{table: configsync.NewTable(), done: make(chan error, 1), signal: make(chan struct{}, 1)}
	e.table.OnUpdate(func(u configsync.Update) {
		now := time.Now()
		e.mu.Lock()
		if e.firstApplied.IsZero() {
			e.firstApplied = now
		}
		e.lastRev, e.lastAt = u.Snapshot.Revision, now
		e.mu.Unlock()
		select {
		case e.signal <- struct{}{}:
		default:
		}
	})
	client, err := configsync.New(nodeConfig(url, id, edge), e.table, testLog(), configsync.SystemClock{})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	e.started = time.Now()
	go func() { e.done <- client.Run(ctx) }()
	return e
}

func (e *benchEdge) waitLen(b *testing.B, n int) {
	b.Helper()
	poll.NoError(b, time.Minute, func() error {
		if got := e.table.Snapshot().Len(); got != n {
			return fmt.Errorf("edge holds %d webhooks, want %d", got, n)
		}
		return nil
	})
}

// waitRevision returns when the table applied rev or later.
func (e *benchEdge) waitRevision(b *testing.B, rev int64) time.Time {
	b.Helper()
	timeout := time.After(30 * time.Second)
	for {
		e.mu.Lock()
		got, at := e.lastRev, e.lastAt
		e.mu.Unlock()
		if got >= rev {
			return at
		}
		select {
		case <-e.signal:
		case <-timeout:
			b.Fatalf("edge at revision %d, want %d", got, rev)
		}
	}
}

func (e *benchEdge) stop(b *testing.B) {
	e.cancel()
	if err := <-e.done; err != nil {
		b.Errorf("configsync Run: %v", err)
	}
}
