package configtest

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/hookgate/hookgate/controlplane/distribute"
	"github.com/hookgate/hookgate/controlplane/store"
	"github.com/hookgate/hookgate/dataplane/configsync"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/testkit/poll"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/proto"
)

// grpcDefaultMaxMessage is gRPC's default limit on a received message.
const grpcDefaultMaxMessage = 4 << 20

// Big snapshots for the chunk tests: 3,000 webhooks with a 4 KiB provider
// secret each are about 12.6 MB, several 4 MiB chunks, and load in a
// second.
const (
	bigWebhooks   = 3000
	bigSecretSize = 4 << 10
)

// putBig writes n webhooks with big provider secrets, 100 to a
// transaction, and returns the revision of the last write.
func (e *env) putBig(t testing.TB, n int) int64 {
	t.Helper()
	secret := strings.Repeat("s", bigSecretSize)
	var rev int64
	for lo := 0; lo < n; lo += 100 {
		var ops []clientv3.Op
		for i := lo; i < min(lo+100, n); i++ {
			id := fmt.Sprintf("wh_%05d", i)
			val, err := proto.MarshalOptions{Deterministic: true}.Marshal(e.record(webhook{
				tenant: "acme", id: id, key: "k" + id, secrets: map[string]string{"signing_secret": secret},
			}))
			if err != nil {
				t.Fatal(err)
			}
			ops = append(ops, clientv3.OpPut(store.WebhookKey("acme", id), string(val)))
		}
		resp, err := e.cli.Txn(context.Background()).Then(ops...).Commit()
		if err != nil {
			t.Fatalf("put webhooks %d…: %v", lo, err)
		}
		rev = resp.Header.Revision
	}
	return rev
}

// sizeCodec is the binary protobuf codec that records the size of every
// message it decodes: what travelled on the stream, before gRPC's framing.
type sizeCodec struct {
	mu    sync.Mutex
	sizes []int
}

func (*sizeCodec) Name() string { return "proto" }

func (*sizeCodec) Marshal(m any) ([]byte, error) { return proto.Marshal(m.(proto.Message)) }

func (c *sizeCodec) Unmarshal(data []byte, m any) error {
	c.mu.Lock()
	c.sizes = append(c.sizes, len(data))
	c.mu.Unlock()
	return proto.Unmarshal(data, m.(proto.Message))
}

func (c *sizeCodec) recorded() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int(nil), c.sizes...)
}

// TestSnapshotChunksStayWithinGRPCLimit: a snapshot of about 12.6 MB
// arrives in several messages, none over 4 MiB, to a node whose read limit
// is gRPC's default; every resource arrives once, and a real node with the
// same limit applies it whole.
func TestSnapshotChunksStayWithinGRPCLimit(t *testing.T) {
	e := newEnv(t)
	rev := e.putBig(t, bigWebhooks)
	cp := e.startCP(t, distribute.Config{})
	cp.waitRevision(t, rev)

	codec := &sizeCodec{}
	raw := dialRaw(t, h2cClient(), cp.url, edgeToken, hello("edge-raw", edge, 0),
		connect.WithCodec(codec), connect.WithReadMaxBytes(grpcDefaultMaxMessage))
	seen := map[string]int{}
	var chunks []*hookgatev1.StreamConfigResponse
	for {
		u := raw.recv(t)
		chunks = append(chunks, u)
		for _, k := range keysOf(u) {
			seen[k]++
		}
		if u.GetChunks() <= 1 || u.GetChunk() == u.GetChunks()-1 {
			break
		}
	}
	raw.ack(t, chunks[0].GetRevision())

	if len(chunks) < 3 {
		t.Fatalf("a %d-webhook snapshot came in %d messages, want at least 3", bigWebhooks, len(chunks))
	}
	total, largest := 0, 0
	for _, n := range codec.recorded() {
		total += n
		largest = max(largest, n)
	}
	t.Logf("snapshot of %d webhooks: %d bytes in %d messages, the largest %d bytes", bigWebhooks, total, len(chunks), largest)
	if largest > grpcDefaultMaxMessage {
		t.Errorf("largest message %d bytes, over gRPC's default %d", largest, grpcDefaultMaxMessage)
	}
	if total < 3*grpcDefaultMaxMessage*9/10 {
		t.Errorf("snapshot of %d bytes: too small to need several chunks; the test does not test chunking", total)
	}
	for i, u := range chunks {
		if u.GetSnapshot() != (i == 0) || u.GetChunk() != uint32(i) || u.GetChunks() != uint32(len(chunks)) || u.GetRevision() != chunks[0].GetRevision() {
			t.Errorf("message %d: snapshot %v, chunk %d of %d at revision %d", i, u.GetSnapshot(), u.GetChunk(), u.GetChunks(), u.GetRevision())
		}
	}
	if len(seen) != bigWebhooks {
		t.Errorf("%d distinct resources, want %d", len(seen), bigWebhooks)
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("%s arrived %d times", k, n)
		}
	}

	// A real node, with gRPC's default read limit, applies it whole.
	cfg := nodeConfig(cp.url, "edge-1", edge)
	cfg.MaxMessageBytes = grpcDefaultMaxMessage
	n := startNode(t, cfg)
	n.waitRevision(t, rev)
	if got := n.table.Snapshot().Len(); got != bigWebhooks {
		t.Errorf("node holds %d webhooks, want %d", got, bigWebhooks)
	}
	if full := n.fullUpdates(); full != 1 {
		t.Errorf("node applied %d snapshots, want 1 (swapped in once, at the last chunk)", full)
	}
	w, ok := n.table.Webhook("acme", "wh_02999")
	if !ok || len(w.GetProviderSecrets()["signing_secret"]) != bigSecretSize {
		t.Errorf("last webhook: %v, %v", ok, len(w.GetProviderSecrets()["signing_secret"]))
	}
}

// cutProxy forwards TCP connections to a control plane. The first one is
// cut, both ways, once it has carried cutAfter bytes to the node; later
// ones wait for release, so a test can look at the node between.
type cutProxy struct {
	ln       net.Listener
	target   string
	cutAfter int64
	conns    atomic.Int32
	cut      chan struct{}
	second   chan struct{}
	release  chan struct{}
	wg       sync.WaitGroup
}

func startCutProxy(t *testing.T, target string, cutAfter int64) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target, cutAfter: cutAfter,
		cut: make(chan struct{}), second: make(chan struct{}), release: make(chan struct{})}
	p.wg.Go(p.serve)
	t.Cleanup(func() {
		_ = ln.Close()
		select {
		case <-p.release:
		default:
			close(p.release)
		}
		p.wg.Wait()
	})
	return p
}

func (p *cutProxy) url() string { return "http://" + p.ln.Addr().String() }

func (p *cutProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		n := p.conns.Add(1)
		p.wg.Go(func() { p.forward(c, n) })
	}
}

func (p *cutProxy) forward(c net.Conn, n int32) {
	defer c.Close()
	if n == 2 {
		close(p.second)
	}
	if n > 1 {
		<-p.release
	}
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer up.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.Copy(up, c)
		_ = up.Close()
	}()
	if n == 1 {
		_, _ = io.CopyN(c, up, p.cutAfter)
		close(p.cut)
		_ = c.Close()
		_ = up.Close()
	} else {
		_, _ = io.Copy(c, up)
		_ = c.Close()
	}
	<-done
}

// TestInterruptedChunkedSnapshotKeepsTheOldTable: a node serving its cached
// configuration (of another etcd cluster, so it gets a snapshot) has the
// connection cut halfway through a chunked snapshot. It goes on serving the
// old table, with nothing of the new one, and the next connection brings
// the whole snapshot.
func TestInterruptedChunkedSnapshotKeepsTheOldTable(t *testing.T) {
	e := newEnv(t)
	rev := e.putBig(t, bigWebhooks)
	cp := e.startCP(t, distribute.Config{})
	cp.waitRevision(t, rev)

	// The cache: one webhook at revision 7 of another cluster.
	cache := filepath.Join(t.TempDir(), "config.pb")
	old := &hookgatev1.StreamConfigResponse{Revision: 7, Snapshot: true, ClusterId: cp.d.ClusterID() + 1, Upserts: []*hookgatev1.ConfigResource{{
		Key:      configsync.ResourceKey("acme", "cached"),
		Resource: &hookgatev1.ConfigResource_Webhook{Webhook: &hookgatev1.EdgeWebhook{Tenant: "acme", Id: "cached", Active: true, MaxBodyBytes: 1 << 20, RequireKey: proto.Bool(false)}},
	}}}
	data, err := proto.Marshal(old)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cache, data, 0o600); err != nil {
		t.Fatal(err)
	}

	// Cut after a chunk and a half of the ~12.6 MB snapshot.
	proxy := startCutProxy(t, cp.addr, 6<<20)
	cfg := nodeConfig(proxy.url(), "edge-1", edge)
	cfg.CacheFile = cache
	cfg.MaxMessageBytes = grpcDefaultMaxMessage
	n := newNode(t, cfg)
	if s := n.table.Snapshot(); s.Revision != 7 || s.Len() != 1 {
		t.Fatalf("cache not loaded: %v", s)
	}
	n.run()

	waitClosed(t, proxy.cut)
	// The node reconnecting means its cut session ended.
	waitClosed(t, proxy.second)
	s := n.table.Snapshot()
	if s.Revision != 7 || s.Len() != 1 || n.fullUpdates() != 1 {
		t.Fatalf("after the cut: table at %d with %d webhooks, %d snapshots applied; want the cached 7 with 1, 1",
			s.Revision, s.Len(), n.fullUpdates())
	}
	if _, ok := n.table.Webhook("acme", "cached"); !ok {
		t.Fatalf("cached webhook gone after the cut")
	}
	if _, ok := n.table.Webhook("acme", "wh_00000"); ok {
		t.Fatalf("a webhook of the cut snapshot is in the table")
	}

	close(proxy.release)
	n.waitRevision(t, rev)
	s = n.table.Snapshot()
	if s.Len() != bigWebhooks || s.ClusterID != cp.d.ClusterID() {
		t.Errorf("after reconnecting: %d webhooks of cluster %x, want %d of %x", s.Len(), s.ClusterID, bigWebhooks, cp.d.ClusterID())
	}
	if _, ok := n.table.Webhook("acme", "cached"); ok {
		t.Errorf("the cached webhook survived the snapshot that replaced it")
	}
	if full := n.fullUpdates(); full != 2 {
		t.Errorf("%d snapshots applied, want 2 (the cache and the completed one)", full)
	}
	poll.NoError(t, 10*time.Second, func() error {
		nodes := cp.listNodes(t, edge)
		if len(nodes) != 1 || nodes[0].GetConfigRevision() != rev {
			return fmt.Errorf("fleet view %v, want edge-1 acknowledging %d", nodes, rev)
		}
		return nil
	})
}

// waitClosed waits for ch to close.
func waitClosed(t *testing.T, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(20 * time.Second):
		t.Fatalf("nothing happened within 20s")
	}
}
