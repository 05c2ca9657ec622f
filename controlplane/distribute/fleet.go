package distribute

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"connectrpc.com/connect"
	"github.com/hookgate/hookgate/controlplane/store"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// NodesPrefix is where the fleet registry keeps one hookgatev1.Node per
// connected node, at NodesPrefix+node_id, attached to the lease of the
// replica the node is connected to: a dead replica's nodes vanish with its
// lease. Lag is not stored; ListNodes computes it.
const NodesPrefix = store.Prefix + "nodes/"

func nodeKey(id string) string { return NodesPrefix + id }

// nodeConn is one open stream's entry in the fleet. Its fields are guarded
// by fleet.mu.
type nodeConn struct {
	node *hookgatev1.Node
	// dirty means node changed since it was last written to etcd.
	dirty bool
	// putRev is the mod revision of this stream's last write of its key; 0
	// before the first one.
	putRev int64
	// superseded means another stream of the same node id now owns the key.
	superseded bool
}

// fleet is the registry of connected nodes: the streams of this replica in
// memory, written to etcd so that every replica can list them all. Writes
// are batched: a hello or NACK is written at once, ACKs every interval.
type fleet struct {
	etcd     *clientv3.Client
	replica  string
	interval time.Duration
	ttl      int
	log      *slog.Logger
	// kick wakes the writer for a hello, a NACK or a disconnect.
	kick chan struct{}

	mu    sync.Mutex
	conns map[*nodeConn]struct{}
	// gone holds closed streams whose key may still have to be deleted.
	gone    []*nodeConn
	failing bool
}

func newFleet(etcd *clientv3.Client, cfg Config, log *slog.Logger) *fleet {
	return &fleet{
		etcd:     etcd,
		replica:  cfg.ReplicaID,
		interval: cfg.StatusInterval,
		ttl:      int(cfg.LeaseTTL / time.Second),
		log:      log,
		kick:     make(chan struct{}, 1),
		conns:    make(map[*nodeConn]struct{}),
	}
}

func (f *fleet) poke() {
	select {
	case f.kick <- struct{}{}:
	default:
	}
}

func (f *fleet) connect(hello *hookgatev1.ConfigHello, addr string, now time.Time) *nodeConn {
	c := &nodeConn{
		node: &hookgatev1.Node{
			Id:             hello.GetNodeId(),
			Role:           hello.GetRole(),
			Address:        addr,
			ConfigRevision: hello.GetRevision(),
			ConnectTime:    timestamppb.New(now),
			ControlPlane:   f.replica,
			Shard:          hello.GetShard(),
		},
		dirty: true,
	}
	f.mu.Lock()
	f.conns[c] = struct{}{}
	f.mu.Unlock()
	f.poke()
	return c
}

func (f *fleet) disconnect(c *nodeConn) {
	f.mu.Lock()
	delete(f.conns, c)
	f.gone = append(f.gone, c)
	f.mu.Unlock()
	f.poke()
}

func (f *fleet) acked(c *nodeConn, rev int64) {
	f.mu.Lock()
	c.node.ConfigRevision = rev
	c.dirty = true
	f.mu.Unlock()
}

func (f *fleet) nacked(c *nodeConn, rev int64, reason string, now time.Time) {
	f.mu.Lock()
	c.node.LastNack = reason
	c.node.LastNackTime = timestamppb.New(now)
	c.dirty = true
	f.mu.Unlock()
	f.poke()
}

// traffic records a node's latest counters. They are written with the next
// batch, not at once: a report comes every StatsInterval from every node.
func (f *fleet) traffic(c *nodeConn, t *hookgatev1.NodeTraffic) {
	f.mu.Lock()
	c.node.Traffic = t
	c.dirty = true
	f.mu.Unlock()
}

// run keeps a lease and writes node status under it until ctx ends, then
// revokes the lease so this replica's nodes leave the view at once.
func (f *fleet) run(ctx context.Context) error {
	delay := retryDelay{min: 100 * time.Millisecond, max: 5 * time.Second}
	for {
		sess, err := concurrency.NewSession(f.etcd, concurrency.WithTTL(f.ttl), concurrency.WithContext(ctx))
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			wait := delay.next()
			f.log.Warn("fleet registry: grant lease", "retry_in", wait, "err", err)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(wait):
			}
			continue
		}
		delay.reset()
		f.mu.Lock()
		for c := range f.conns {
			c.dirty = true // a new lease: write every node under it
		}
		f.mu.Unlock()
		f.serve(ctx, sess)
		sess.Orphan()
		if ctx.Err() != nil {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			_, err := f.etcd.Revoke(rctx, sess.Lease())
			cancel()
			if err != nil {
				f.log.Debug("fleet registry: revoke lease", "err", err)
			}
			return nil
		}
		f.log.Warn("fleet registry: lease lost; granting a new one")
	}
}

func (f *fleet) serve(ctx context.Context, sess *concurrency.Session) {
	ticker := time.NewTicker(f.interval)
	defer ticker.Stop()
	for {
		f.flush(ctx, sess.Lease())
		select {
		case <-ctx.Done():
			return
		case <-sess.Done():
			return
		case <-ticker.C:
		case <-f.kick:
		}
	}
}

// flush writes what changed since the last flush. Only this goroutine
// writes node keys, so a stream's writes are ordered.
func (f *fleet) flush(ctx context.Context, lease clientv3.LeaseID) {
	type job struct {
		c      *nodeConn
		node   *hookgatev1.Node
		putRev int64
	}
	var puts, dels []job
	f.mu.Lock()
	for c := range f.conns {
		if c.dirty && !c.superseded {
			puts = append(puts, job{c: c, node: proto.CloneOf(c.node), putRev: c.putRev})
			c.dirty = false
		}
	}
	for _, c := range f.gone {
		if c.putRev != 0 && !c.superseded {
			dels = append(dels, job{c: c, node: c.node, putRev: c.putRev})
		}
	}
	f.gone = nil
	f.mu.Unlock()

	var firstErr error
	for _, j := range puts {
		rev, superseded, err := f.put(ctx, lease, j.node, j.putRev)
		f.mu.Lock()
		if err != nil {
			j.c.dirty = true
			firstErr = cmp.Or(firstErr, err)
		} else {
			j.c.putRev, j.c.superseded = rev, superseded
		}
		f.mu.Unlock()
	}
	for _, j := range dels {
		// Delete only the write of this stream: a newer stream of the same
		// node, here or on another replica, owns the key otherwise.
		key := nodeKey(j.node.GetId())
		_, err := f.etcd.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(key), "=", j.putRev)).
			Then(clientv3.OpDelete(key)).
			Commit()
		if err != nil {
			firstErr = cmp.Or(firstErr, err)
			f.mu.Lock()
			f.gone = append(f.gone, j.c)
			f.mu.Unlock()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case firstErr != nil && ctx.Err() == nil && !f.failing:
		f.failing = true
		f.log.Warn("fleet registry: write node status", "err", firstErr)
	case firstErr == nil && f.failing:
		f.failing = false
		f.log.Info("fleet registry: writing node status again")
	}
}

// put writes one node's status under lease. A stream's first write takes
// the key over (the node reconnected here); later writes happen only while
// the key is still this stream's. superseded reports that it is not.
func (f *fleet) put(ctx context.Context, lease clientv3.LeaseID, n *hookgatev1.Node, putRev int64) (rev int64, superseded bool, err error) {
	val, err := proto.MarshalOptions{Deterministic: true}.Marshal(n)
	if err != nil {
		return 0, false, err
	}
	key := nodeKey(n.GetId())
	if putRev != 0 {
		resp, err := f.etcd.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(key), "=", putRev)).
			Then(clientv3.OpPut(key, string(val), clientv3.WithLease(lease))).
			Else(clientv3.OpGet(key, clientv3.WithCountOnly())).
			Commit()
		if err != nil {
			return 0, false, err
		}
		if resp.Succeeded {
			return resp.Header.Revision, false, nil
		}
		if resp.Responses[0].GetResponseRange().GetCount() > 0 {
			return putRev, true, nil
		}
		// The key went with a lost lease: claim it again below.
	}
	resp, err := f.etcd.Put(ctx, key, string(val), clientv3.WithLease(lease))
	if err != nil {
		return 0, false, err
	}
	return resp.Header.Revision, false, nil
}

// list returns every registered node: those of all replicas from etcd, with
// this replica's own streams taken from memory, which is fresher.
func (f *fleet) list(ctx context.Context) ([]*hookgatev1.Node, error) {
	resp, err := f.etcd.Get(ctx, NodesPrefix, clientv3.WithPrefix())
	if err != nil {
		return nil, err
	}
	byID := make(map[string]*hookgatev1.Node, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		n := &hookgatev1.Node{}
		if err := proto.Unmarshal(kv.Value, n); err != nil {
			f.log.Debug("fleet registry: skip undecodable node", "key", string(kv.Key), "err", err)
			continue
		}
		byID[n.GetId()] = n
	}
	f.mu.Lock()
	for c := range f.conns {
		if c.superseded {
			continue
		}
		cur := byID[c.node.GetId()]
		if cur == nil || cur.GetControlPlane() == f.replica ||
			!c.node.GetConnectTime().AsTime().Before(cur.GetConnectTime().AsTime()) {
			byID[c.node.GetId()] = proto.CloneOf(c.node)
		}
	}
	f.mu.Unlock()
	out := make([]*hookgatev1.Node, 0, len(byID))
	for _, n := range byID {
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b *hookgatev1.Node) int { return cmp.Compare(a.GetId(), b.GetId()) })
	return out, nil
}

// ListNodes implements hookgatev1connect.EdgeServiceHandler: the nodes
// connected to any replica, optionally of one role, each with its lag
// behind the latest revision that changed its role's configuration.
// Authorizing the caller is the admin API's job.
func (d *Distributor) ListNodes(ctx context.Context, req *connect.Request[hookgatev1.ListNodesRequest]) (*connect.Response[hookgatev1.ListNodesResponse], error) {
	want := req.Msg.GetRole()
	if want != hookgatev1.NodeRole_NODE_ROLE_UNSPECIFIED && roleIndex(want) < 0 {
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("role: unknown node role"))
	}
	nodes, err := d.fleet.list(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, connect.NewError(connect.CodeCanceled, ctx.Err())
		}
		d.log.Error("list nodes", "err", err)
		return nil, connect.NewError(connect.CodeUnavailable, errors.New("fleet registry unavailable"))
	}
	out := nodes[:0]
	for _, n := range nodes {
		if want != hookgatev1.NodeRole_NODE_ROLE_UNSPECIFIED && n.GetRole() != want {
			continue
		}
		if ri := roleIndex(n.GetRole()); ri >= 0 {
			n.Lag = max(0, d.view.roleRevision(ri)-n.GetConfigRevision())
		}
		out = append(out, n)
	}
	return connect.NewResponse(&hookgatev1.ListNodesResponse{Nodes: out}), nil
}
