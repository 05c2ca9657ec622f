package distribute

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"connectrpc.com/connect"
	"github.com/hookgate/hookgate/controlplane/store"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Kinds of update, for metrics and logs.
const (
	kindSnapshot = "snapshot"
	kindDelta    = "delta"
)

// maxNackReason bounds what a node's NACK reason may store in the fleet view.
const maxNackReason = 1024

// StatsIntervalHeader is the config stream's response header that says the
// control plane takes ConfigStats, and how often a node sends them (a Go
// duration, "10s"). A node sends none on a stream without it: a control
// plane from before ConfigStats ends a stream on a kind it does not know.
const StatsIntervalHeader = "Hookgate-Stats-Interval"

type configStream = connect.BidiStream[hookgatev1.StreamConfigRequest, hookgatev1.StreamConfigResponse]

// StreamConfig implements hookgatev1connect.ConfigDiscoveryServiceHandler.
// The node is authenticated before anything it sends is decoded; its first
// message must be a hello. It then gets a snapshot, or only the changes
// since the revision it holds, and one update at a time after that: the
// next is sent once the node has ACKed or NACKed the previous one.
func (d *Distributor) StreamConfig(ctx context.Context, stream *configStream) error {
	credRole, err := d.authenticate(ctx, stream.RequestHeader())
	if err != nil {
		d.refused(ctx, connect.CodeOf(err), "", err)
		return err
	}
	first, err := stream.Receive()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		return err
	}
	hello := first.GetHello()
	if err := validateHello(hello); err != nil {
		return err
	}
	sh, err := helloShard(hello) // shard.go
	if err != nil {
		return err
	}
	// Before anything is sent: a credential of one role never sees
	// another role's configuration.
	if err := authorizeRole(credRole, hello.GetRole()); err != nil {
		d.refused(ctx, connect.CodePermissionDenied, hello.GetNodeId(), err)
		return err
	}
	role := roleIndex(hello.GetRole())
	if err := d.waitReady(ctx); err != nil {
		return err
	}
	addr := hello.GetAddress()
	if addr == "" {
		addr = stream.Peer().Addr
	}
	log := d.log.With("node_id", hello.GetNodeId(), "role", roleLabels[role])
	conn := d.fleet.connect(hello, addr, d.clock.Now())
	defer d.fleet.disconnect(conn)
	d.metrics.connected.WithLabelValues(roleLabels[role]).Inc()
	defer d.metrics.connected.WithLabelValues(roleLabels[role]).Dec()
	log.Info("node connected", "revision", hello.GetRevision(), "cluster_id", hello.GetClusterId(), "address", addr, "shard", sh)

	s := &nodeStream{
		d:       d,
		stream:  stream,
		log:     log,
		role:    role,
		shard:   sh,
		conn:    conn,
		binary:  binaryProto(stream.RequestHeader().Get("Content-Type")),
		held:    hello.GetRevision(),
		cluster: hello.GetClusterId(),
	}
	s.rc, _ = ctx.Value(responseControllerKey{}).(*http.ResponseController)
	// Sent with the first update.
	stream.ResponseHeader().Set(StatsIntervalHeader, d.cfg.StatsInterval.String())
	return s.run(ctx)
}

// update is one update for a node, in one message or several chunks, with
// what bookkeeping and logs need of it: a snapshot's chunks may carry their
// resources pre-encoded, where their getters see none
// (encodedSnapshot.messages).
type update struct {
	chunks []*hookgatev1.StreamConfigResponse
	// msg is the message write sends: one of chunks.
	msg              *hookgatev1.StreamConfigResponse
	kind             string
	rev              int64
	cluster          uint64
	upserts, deletes int
}

// deltaUpdate is a delta from the view, cut into chunks when it is larger
// than a message should be (a parameter change re-emitting many webhooks,
// a node resuming after many changes).
func deltaUpdate(u *hookgatev1.StreamConfigResponse) update {
	return update{chunks: splitDelta(u, maxChunkBytes), kind: kindDelta, rev: u.GetRevision(), cluster: u.GetClusterId(),
		upserts: len(u.GetUpserts()), deletes: len(u.GetDeletes())}
}

// nodeStream is one node's stream. Only its handler goroutine touches it.
type nodeStream struct {
	d      *Distributor
	stream *configStream
	log    *slog.Logger
	role   int
	// shard is the slice of tenants the node serves; nil is every tenant.
	shard *shard
	conn  *nodeConn
	// binary is true when the stream speaks binary protobuf, which can
	// carry a snapshot's cached encoding.
	binary bool
	// rc sets write deadlines on the stream; nil when the handler was not
	// wrapped with WithSendDeadlines or the connection cannot take them.
	rc *http.ResponseController

	// held is the revision the next delta builds on: the node's hello
	// revision or last ACK; 0 while a snapshot replaces what it held.
	// cluster is the etcd cluster of held, 0 when the node does not know.
	held    int64
	cluster uint64
	// viewCluster is the view's cluster when the stream's first update was
	// built: the view moving to another one ends the stream.
	viewCluster uint64
	// sent is the revision of the last update sent, of etcd cluster
	// sentCluster; inFlight while the node has neither ACKed nor NACKed it.
	sent        int64
	sentCluster uint64
	inFlight    bool
	// nacked is the revision of the last NACKed update: the same content is
	// not sent again until the role changes after it.
	nacked int64
}

func (s *nodeStream) run(ctx context.Context) error {
	// Receive runs apart so that ACKs are read while the handler waits for
	// the view. It ends when the node closes its side or, at the latest,
	// when connect closes the request body as the handler returns.
	msgs := make(chan *hookgatev1.StreamConfigRequest, 4)
	recvErr := make(chan error, 1)
	go func() {
		for {
			m, err := s.stream.Receive()
			if err != nil {
				recvErr <- err
				return
			}
			select {
			case msgs <- m:
			case <-ctx.Done():
				return
			}
		}
	}()

	u, err := s.d.resume(ctx, s.role, s.shard, s.held, s.cluster, s.binary, s.log)
	if err != nil {
		return err
	}
	s.viewCluster = u.cluster
	if err := s.send(u); err != nil {
		return err
	}
	for {
		var changed <-chan struct{}
		if !s.inFlight {
			ch, _, roleRev, cluster := s.d.view.watchRole(s.role)
			if cluster != s.viewCluster {
				// Every revision sent so far belongs to the old cluster; the
				// node reconnects saying so and gets a snapshot.
				s.log.Warn("etcd cluster changed; ending the node's stream", "cluster_id", cluster, "previous_cluster_id", s.viewCluster)
				return connect.NewError(connect.CodeUnavailable, errors.New("control plane moved to another etcd cluster"))
			}
			if roleRev > s.held && roleRev > s.nacked {
				u, err := s.d.next(s.role, s.shard, s.held, s.cluster, s.binary, s.log)
				if err != nil {
					return err
				}
				if err := s.send(u); err != nil {
					return err
				}
				continue
			}
			changed = ch
		}
		select {
		case <-changed:
		case m := <-msgs:
			if err := s.handle(m); err != nil {
				return err
			}
		case err := <-recvErr:
			if errors.Is(err, io.EOF) {
				s.log.Info("node disconnected", "revision", s.held)
				return nil
			}
			s.log.Info("node disconnected", "revision", s.held, "err", err)
			return err
		case <-ctx.Done():
			s.log.Info("node disconnected", "revision", s.held)
			return nil
		case <-s.d.stopped:
			return errStopping()
		}
	}
}

// send writes an update's chunks back to back, without waiting for the
// node between them: it answers once, after the last chunk, and the update
// is in flight until then.
func (s *nodeStream) send(u update) error {
	for _, m := range u.chunks {
		u.msg = m
		if err := s.write(u); err != nil {
			return err
		}
	}
	s.inFlight = true
	s.sent, s.sentCluster = u.rev, u.cluster
	if u.kind == kindSnapshot {
		// What the node held is no base for deltas any more (it was out of
		// the log, compacted, or from another history): should it reject the
		// snapshot, the next update is a snapshot again.
		s.held = 0
	}
	s.d.metrics.updates.WithLabelValues(roleLabels[s.role], u.kind).Inc()
	s.log.Debug("config sent", "revision", u.rev, "kind", u.kind, "upserts", u.upserts, "deletes", u.deletes, "chunks", len(u.chunks))
	return nil
}

func (s *nodeStream) handle(m *hookgatev1.StreamConfigRequest) error {
	switch k := m.GetKind().(type) {
	case *hookgatev1.StreamConfigRequest_Ack:
		rev := k.Ack.GetRevision()
		if !s.inFlight || rev != s.sent {
			s.log.Debug("ignored ack for an update not in flight", "revision", rev)
			return nil
		}
		s.inFlight = false
		s.held, s.cluster = rev, s.sentCluster
		s.d.fleet.acked(s.conn, rev)
	case *hookgatev1.StreamConfigRequest_Nack:
		rev := k.Nack.GetRevision()
		if !s.inFlight || rev != s.sent {
			s.log.Debug("ignored nack for an update not in flight", "revision", rev)
			return nil
		}
		reason := k.Nack.GetReason()
		if len(reason) > maxNackReason {
			reason = reason[:maxNackReason]
		}
		s.inFlight = false
		s.nacked = rev
		s.d.metrics.nacks.WithLabelValues(roleLabels[s.role]).Inc()
		s.log.Warn("node rejected config; it keeps its previous revision", "revision", rev, "held", s.held, "reason", reason)
		s.d.fleet.nacked(s.conn, rev, reason, s.d.clock.Now())
	case *hookgatev1.StreamConfigRequest_Stats:
		if t := k.Stats.GetTraffic(); t != nil {
			s.d.fleet.traffic(s.conn, t)
		}
	case *hookgatev1.StreamConfigRequest_Hello:
		return connect.NewError(connect.CodeInvalidArgument, errors.New("hello: sent twice on one stream"))
	default:
		// A kind from a newer node (or none): ignored, so that nodes can
		// add kinds without being cut off by older control planes.
		s.log.Debug("ignored a config stream message of a kind this control plane does not know")
	}
	return nil
}

// resume answers a hello: a snapshot for a node with nothing or with a
// revision of another etcd cluster, else only what changed since the
// revision it holds — from the in-memory log, or from etcd's history when
// the log no longer reaches back — and a snapshot when neither has that
// history.
func (d *Distributor) resume(ctx context.Context, role int, sh *shard, from int64, cluster uint64, binary bool, log *slog.Logger) (update, error) {
	if from <= 0 {
		return d.snapshot(role, sh, binary)
	}
	if !d.view.sameCluster(cluster) {
		// Its revision numbers another history: counting on them could keep
		// webhooks the view deleted. (A wiped etcd cluster recreated with the
		// same member names, peer URLs and --initial-cluster-token has the
		// same id, so operators give each cluster its own token.)
		d.metrics.resyncs.WithLabelValues(roleLabels[role], "cluster").Inc()
		log.Warn("node holds a revision of another etcd cluster; resyncing with a snapshot",
			"revision", from, "cluster_id", cluster, "view_cluster_id", d.view.clusterID())
		return d.snapshot(role, sh, binary)
	}
	if from > d.view.revision() {
		ok, err := d.catchUp(ctx, from)
		if err != nil {
			return update{}, err
		}
		if !ok {
			d.metrics.resyncs.WithLabelValues(roleLabels[role], "future").Inc()
			log.Warn("node holds a revision etcd has not reached; resyncing with a snapshot", "revision", from)
			return d.snapshot(role, sh, binary)
		}
	}
	if u, ok := d.view.delta(role, from, cluster); ok {
		return deltaUpdate(sh.filter(u)), nil
	}
	keys, keysCluster, err := d.keysAt(ctx, from)
	switch {
	case err == nil:
		// diff checks that the history read is of the view's cluster.
		if cluster == 0 || cluster == keysCluster {
			if u, ok := d.view.diff(role, from, keysCluster, keys); ok {
				log.Debug("resumed from etcd history", "revision", from)
				return deltaUpdate(sh.filter(u)), nil
			}
		}
		// etcd or the view moved to another cluster since the hello.
		d.metrics.resyncs.WithLabelValues(roleLabels[role], "cluster").Inc()
		log.Warn("etcd cluster changed while resuming; resyncing with a snapshot", "revision", from)
	case ctx.Err() != nil:
		return update{}, connect.NewError(connect.CodeCanceled, ctx.Err())
	case errors.Is(err, rpctypes.ErrCompacted):
		d.metrics.resyncs.WithLabelValues(roleLabels[role], "compacted").Inc()
		log.Info("node revision compacted; resyncing with a snapshot", "revision", from)
	default:
		d.metrics.resyncs.WithLabelValues(roleLabels[role], "history").Inc()
		log.Warn("read etcd history; resyncing with a snapshot", "revision", from, "err", err)
	}
	return d.snapshot(role, sh, binary)
}

// snapshot is the update that replaces everything a node of role and
// shard holds.
func (d *Distributor) snapshot(role int, sh *shard, binary bool) (update, error) {
	s, rev, err := d.shardSnapshot(role, sh)
	if err != nil {
		d.log.Error("config snapshot not sent", "role", roleLabels[role], "err", err)
		return update{}, connect.NewError(connect.CodeInternal, errors.New("config snapshot unavailable"))
	}
	return update{chunks: s.messages(rev, binary), kind: kindSnapshot, rev: rev, cluster: s.cluster, upserts: len(s.resources)}, nil
}

// keysAt lists the records that existed at revision rev. Reads are one at
// a time and the last answer is kept: after a control-plane restart every
// node reconnects, most holding the same revision, and etcd should read
// that history once, not once per node.
//
// cluster is the etcd cluster that answered.
func (d *Distributor) keysAt(ctx context.Context, rev int64) (keys []string, cluster uint64, err error) {
	select {
	case d.history <- struct{}{}:
	case <-ctx.Done():
		return nil, 0, ctx.Err()
	}
	defer func() { <-d.history }()
	if d.historyRev == rev && d.historyCluster == d.view.clusterID() {
		return d.historyKeys, d.historyCluster, nil
	}
	_, cluster, err = d.rangeAt(ctx, rev, true, func(kv *mvccpb.KeyValue) { keys = append(keys, string(kv.Key)) })
	if err != nil {
		return nil, 0, err
	}
	d.historyRev, d.historyCluster, d.historyKeys = rev, cluster, keys
	return keys, cluster, nil
}

// next is the update that brings a node holding held, of etcd cluster
// cluster, to the view's revision: the log's changes, or a snapshot when the
// node fell out of the log (a slow node is resynced rather than slowing
// anyone down).
func (d *Distributor) next(role int, sh *shard, held int64, cluster uint64, binary bool, log *slog.Logger) (update, error) {
	if held > 0 {
		if u, ok := d.view.delta(role, held, cluster); ok {
			return deltaUpdate(sh.filter(u)), nil
		}
		reason := "slow"
		if !d.view.sameCluster(cluster) {
			reason = "cluster"
		}
		d.metrics.resyncs.WithLabelValues(roleLabels[role], reason).Inc()
		log.Warn("node cannot take the change log; resyncing with a snapshot", "revision", held, "reason", reason)
	}
	return d.snapshot(role, sh, binary)
}

// catchUp waits for the view to reach from, a revision the node got from a
// replica whose view is ahead of this one. It reports false when etcd itself
// has not reached from: the node's revision belongs to another etcd history
// (a wiped cluster), so only a snapshot is right. A view that stays behind
// for ResumeWait ends the stream with CodeUnavailable: the node keeps its
// newer configuration and retries, rather than be moved back.
func (d *Distributor) catchUp(ctx context.Context, from int64) (bool, error) {
	// Any read tells etcd's current revision.
	resp, err := d.etcd.Get(ctx, store.WebhooksPrefix, clientv3.WithCountOnly())
	if err == nil && resp.Header.Revision < from {
		return false, nil
	}
	timer := time.NewTimer(d.cfg.ResumeWait)
	defer timer.Stop()
	for {
		changed, rev, _, _ := d.view.watchRole(roleEdge)
		if rev >= from {
			return true, nil
		}
		d.requestProgress()
		select {
		case <-changed:
		case <-timer.C:
			return false, connect.NewError(connect.CodeUnavailable,
				fmt.Errorf("control plane replica at revision %d has not reached the node's revision %d", rev, from))
		case <-ctx.Done():
			return false, connect.NewError(connect.CodeCanceled, ctx.Err())
		case <-d.stopped:
			return false, errStopping()
		}
	}
}

// waitReady waits for the view's first load, at most ReadyTimeout: a
// replica whose etcd has been away since it started answers Unavailable, so
// the node tries another replica instead of waiting here.
func (d *Distributor) waitReady(ctx context.Context) error {
	select {
	case <-d.view.ready:
		return nil
	default:
	}
	// Wall clock, like the send deadline: the wait only bounds how long a
	// node is kept, no logic depends on it.
	timer := time.NewTimer(d.cfg.ReadyTimeout)
	defer timer.Stop()
	select {
	case <-d.view.ready:
		return nil
	case <-timer.C:
		d.metrics.refused.WithLabelValues("not_ready").Inc()
		d.log.Warn("config view not loaded; sending the node elsewhere", "ready_timeout", d.cfg.ReadyTimeout)
		return connect.NewError(connect.CodeUnavailable,
			fmt.Errorf("control plane replica has not loaded its configuration within %s (etcd unreachable?); try another replica", d.cfg.ReadyTimeout))
	case <-d.stopped:
		return errStopping()
	case <-ctx.Done():
		return connect.NewError(connect.CodeCanceled, ctx.Err())
	}
}

// refused counts and logs a stream refused for its credentials. The log
// names the node when the hello was read, never the credential. A caller
// without a valid credential is logged at debug only (anyone can cause
// it; the metric counts it); a valid credential asking beyond its role, or
// a node certificate without a role, is a warning: a misconfigured node or
// a leaked credential.
func (d *Distributor) refused(ctx context.Context, code connect.Code, nodeID string, err error) {
	reason, level := "unauthenticated", slog.LevelDebug
	if code == connect.CodePermissionDenied {
		reason, level = "permission_denied", slog.LevelWarn
	}
	d.metrics.refused.WithLabelValues(reason).Inc()
	log := d.log
	if nodeID != "" {
		log = log.With("node_id", nodeID)
	}
	log.Log(ctx, level, "config stream refused", "reason", reason, "err", err)
}

func errStopping() error {
	return connect.NewError(connect.CodeUnavailable, errors.New("control plane replica is stopping"))
}

// validateHello checks a node's first message, naming the bad field.
func validateHello(h *hookgatev1.ConfigHello) error {
	invalid := func(format string, args ...any) error {
		return connect.NewError(connect.CodeInvalidArgument, fmt.Errorf(format, args...))
	}
	switch {
	case h == nil:
		return invalid("first message must be a hello")
	case !validNodeID(h.GetNodeId()):
		return invalid("hello.node_id: must be 1 to 128 characters of A-Z, a-z, 0-9, '.', '_', ':' or '-'")
	case roleIndex(h.GetRole()) < 0:
		return invalid("hello.role: must be NODE_ROLE_EDGE or NODE_ROLE_DISPATCHER")
	case h.GetRevision() < 0:
		return invalid("hello.revision: must not be negative")
	case len(h.GetAddress()) > 256:
		return invalid("hello.address: longer than 256 bytes")
	}
	return nil
}

// validNodeID keeps node ids safe as one etcd key segment and in logs.
func validNodeID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, c := range []byte(id) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '.', c == '_', c == ':', c == '-':
		default:
			return false
		}
	}
	return true
}
