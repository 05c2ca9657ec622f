package configtest

import (
	"context"
	"fmt"
	"github.com/hookgate/hookgate/testkit/heaptest"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
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
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// Sizes of BenchmarkConfigDistribution (issue 5, "Measure"; issue 15 for
// the sizes).
const (
	// benchWebhooksEnv lists the numbers of webhooks to measure, comma
	// separated (make bench-config WEBHOOKS=100000,1000000).
	benchWebhooksEnv     = "HOOKGATE_BENCH_WEBHOOKS"
	defaultBenchWebhooks = 100_000
	benchChanges         = 1_000
	benchFanout          = 10
)

// BenchmarkConfigDistribution measures config distribution with 100,000
// webhooks in etcd (every other one with a sealed provider secret), or with
// each number of webhooks that HOOKGATE_BENCH_WEBHOOKS lists, one
// sub-benchmark each:
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
// After the sub-benchmarks it prints a table of the main figures with a
// column per size. The edge runs with the default configuration (updates
// not gzipped). Everything runs in one process (etcd, control plane, edge),
// so the numbers include each other's CPU use on a small machine. Run it
// once:
//
//	HOOKGATE_BENCH_WEBHOOKS=100000,1000000 go test -run='^$' -bench=Config -benchtime=1x -timeout 60m ./cmd/hookgate/configtest/
func BenchmarkConfigDistribution(b *testing.B) {
	sizes, err := parseBenchSizes(os.Getenv(benchWebhooksEnv))
	if err != nil {
		b.Fatal(err)
	}
	results := make([]benchFigures, len(sizes))
	for i, n := range sizes {
		b.Run(fmt.Sprintf("webhooks=%d", n), func(b *testing.B) {
			results[i] = benchConfigDistribution(b, n)
		})
	}
	if b.Failed() {
		return
	}
	fmt.Print(benchTable(sizes, results))
}

// parseBenchSizes reads HOOKGATE_BENCH_WEBHOOKS: positive numbers, comma
// separated; empty is the default size.
func parseBenchSizes(s string) ([]int, error) {
	if strings.TrimSpace(s) == "" {
		return []int{defaultBenchWebhooks}, nil
	}
	var sizes []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%s=%q: %q is not a positive number of webhooks", benchWebhooksEnv, s, f)
		}
		sizes = append(sizes, n)
	}
	return sizes, nil
}

// benchFigures are one size's figures, by metric name as reported.
type benchFigures map[string]float64

// report reports a metric and keeps it for the table.
func (f benchFigures) report(b *testing.B, v float64, unit string) {
	b.ReportMetric(v, unit)
	f[unit] = v
}

// benchRows are the table's rows: the measures, in its words.
var benchRows = []struct {
	label  string
	format func(benchFigures) string
}{
	{"control plane loads its view (`cp-load-ms`)", func(f benchFigures) string { return seconds(f["cp-load-ms"]) }},
	{"cold start of a new edge (`cold-start-ms`; snapshot already encoded)", func(f benchFigures) string {
		return fmt.Sprintf("%s (%s)", seconds(f["cold-start-ms"]), seconds(f["cold-start-cached-ms"]))
	}},
	{"snapshot size (every resource, encoded)", func(f benchFigures) string { return megabytes(f["snapshot-MB"]) }},
	{"edge heap holding the table", func(f benchFigures) string { return megabytes(f["edge-heap-MB"]) }},
	{fmt.Sprintf("%d edges connecting at once (`fanout-%d-ms`)", benchFanout, benchFanout), func(f benchFigures) string {
		return seconds(f[fmt.Sprintf("fanout-%d-ms", benchFanout)])
	}},
	{"propagation p99 (write returned → edge enforcing)", func(f benchFigures) string {
		return fmt.Sprintf("%.2f ms", f["propagation-p99-ms"])
	}},
}

// benchTable is a Markdown table of the figures, a column per size.
func benchTable(sizes []int, results []benchFigures) string {
	var sb strings.Builder
	sb.WriteString("\n| measure |")
	for _, n := range sizes {
		fmt.Fprintf(&sb, " %s |", sizeLabel(n))
	}
	sb.WriteString("\n|---|")
	for range sizes {
		sb.WriteString("---:|")
	}
	sb.WriteString("\n")
	for _, row := range benchRows {
		fmt.Fprintf(&sb, "| %s |", row.label)
		for _, f := range results {
			fmt.Fprintf(&sb, " %s |", row.format(f))
		}
		sb.WriteString("\n")
	}
	return sb.String()
}

// sizeLabel writes 100000 as 100k and 1000000 as 1M.
func sizeLabel(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 1_000 && n%1_000 == 0:
		return fmt.Sprintf("%dk", n/1_000)
	}
	return strconv.Itoa(n)
}

func seconds(ms float64) string {
	if ms < 10_000 {
		return fmt.Sprintf("%.2f s", ms/1000)
	}
	return fmt.Sprintf("%.1f s", ms/1000)
}

func megabytes(mb float64) string {
	if mb < 10 {
		return fmt.Sprintf("%.1f MB", mb)
	}
	return fmt.Sprintf("%.0f MB", mb)
}

func benchConfigDistribution(b *testing.B, webhooks int) benchFigures {
	fig := benchFigures{}
	e := newEnv(b)
	ids := loadWebhooks(b, e, webhooks)
	for range b.N {
		start := time.Now()
		cp := e.startCP(b, distribute.Config{ReplicaID: "bench"})
		poll.NoError(b, 30*time.Minute, func() error {
			if cp.d.Revision() == 0 {
				return fmt.Errorf("view not loaded")
			}
			return nil
		})
		fig.report(b, ms(time.Since(start)), "cp-load-ms")

		runtime.GC()
		runtime.GC()
		edge := startBenchEdge(b, cp.url, "edge-cold")
		edge.waitLen(b, webhooks)
		fig.report(b, ms(edge.firstApplied.Sub(edge.started)), "cold-start-ms")
		fig.report(b, float64(snapshotBytes(edge.table.Snapshot()))/(1<<20), "snapshot-MB")

		// The table's heap: the heap with it, less the heap once it is gone.
		withTable := heaptest.Live()
		edge.stop(b)
		edge = nil
		fig.report(b, float64(withTable-heaptest.Live())/(1<<20), "edge-heap-MB")

		edge = startBenchEdge(b, cp.url, "edge-warm")
		edge.waitLen(b, webhooks)
		fig.report(b, ms(edge.firstApplied.Sub(edge.started)), "cold-start-cached-ms")

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
		fig.report(b, ms(lat[len(lat)/2]), "propagation-p50-ms")
		fig.report(b, ms(lat[len(lat)*99/100]), "propagation-p99-ms")
		fig.report(b, ms(lat[len(lat)-1]), "propagation-max-ms")
		fig.report(b, ms(latIssued[len(latIssued)/2]), "write-to-edge-p50-ms")
		fig.report(b, ms(latIssued[len(latIssued)*99/100]), "write-to-edge-p99-ms")

		// A change, so that no snapshot is cached, then a fleet at once.
		cp.waitRevision(b, e.put(b, webhook{tenant: "acme", id: ids[0], key: ids[0], maxBody: 1 << 21}))
		fig.report(b, ms(fanout(b, cp.url, benchFanout)), fmt.Sprintf("fanout-%d-ms", benchFanout))
		edge.stop(b)
		cp.stop(b)
	}
	return fig
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
				connect.WithCodec(undecoded{}), connect.WithReadMaxBytes(4<<20),
				connect.WithAcceptCompression("gzip", nil, nil))
			stream := rpc.StreamConfig(ctx)
			stream.RequestHeader().Set("Authorization", "Bearer "+edgeToken)
			defer func() {
				_ = stream.CloseRequest()
				_ = stream.CloseResponse()
			}()
			req := &hookgatev1.StreamConfigRequest{Kind: &hookgatev1.StreamConfigRequest_Hello{Hello: hello(fmt.Sprintf("fanout-%d", i), edge, 0)}}
			if err := stream.Send(req); err != nil {
				return fmt.Errorf("node %d: send hello: %w", i, err)
			}
			// A snapshot may span several messages (chunks): the node has
			// it at the last one.
			for {
				resp, err := stream.Receive()
				if err != nil {
					return fmt.Errorf("node %d: receive snapshot: %w", i, err)
				}
				if resp.GetChunks() <= 1 || resp.GetChunk()+1 == resp.GetChunks() {
					return nil
				}
			}
		})
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}

// undecoded is a protobuf codec that encodes requests and, of a response,
// decodes only its chunk fields: the figure is the control plane's work
// and the transfer, not n nodes decoding on the same cores.
type undecoded struct{}

func (undecoded) Name() string { return "proto" }

func (undecoded) Marshal(m any) ([]byte, error) { return proto.Marshal(m.(proto.Message)) }

func (undecoded) Unmarshal(data []byte, m any) error {
	if len(data) == 0 {
		return fmt.Errorf("empty update")
	}
	resp := m.(*hookgatev1.StreamConfigResponse)
	for len(data) > 0 {
		num, typ, n := protowire.ConsumeTag(data)
		if n < 0 {
			return protowire.ParseError(n)
		}
		data = data[n:]
		if typ == protowire.VarintType && (num == 6 || num == 7) {
			v, n := protowire.ConsumeVarint(data)
			if n < 0 {
				return protowire.ParseError(n)
			}
			if num == 6 {
				resp.Chunks = uint32(v)
			} else {
				resp.Chunk = uint32(v)
			}
			data = data[n:]
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, data)
		if n < 0 {
			return protowire.ParseError(n)
		}
		data = data[n:]
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
	poll.NoError(b, 10*time.Minute, func() error {
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
