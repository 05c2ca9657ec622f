package configsync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/gen/hookgate/v1/hookgatev1connect"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Client keeps a node's Table in step with the control plane.
type Client struct {
	cfg       Config
	table     *Table
	log       *slog.Logger
	clock     Clock
	transport *http.Transport
	// replicas are the control planes, tried in turn; only Run's goroutine
	// reads them.
	replicas []replica
	// cacheDirty tells the cache writer that the table changed.
	cacheDirty chan struct{}
	running    atomic.Bool
	// started is when the node's counters started (ConfigStats).
	started *timestamppb.Timestamp
}

// New returns a Client that fills table. It reads the TLS files now, so a
// bad file fails start-up, and, when CacheFile is set and table is empty,
// loads the cached configuration into table, so the node can serve before
// the control plane answers. A missing or unreadable cache is logged, not
// fatal.
func New(cfg Config, table *Table, log *slog.Logger, clock Clock) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	switch {
	case table == nil:
		return nil, errors.New("configsync: table is required")
	case log == nil:
		return nil, errors.New("configsync: logger is required")
	case clock == nil:
		return nil, errors.New("configsync: clock is required")
	}
	cfg = cfg.withDefaults()
	transport, err := newTransport(cfg)
	if err != nil {
		return nil, err
	}
	c := &Client{
		cfg:        cfg,
		table:      table,
		log:        log.With("node_id", cfg.NodeID, "role", roleName(cfg.Role)),
		clock:      clock,
		transport:  transport,
		cacheDirty: make(chan struct{}, 1),
		started:    timestamppb.New(clock.Now()),
	}
	opts := []connect.ClientOption{connect.WithGRPC(), connect.WithReadMaxBytes(cfg.MaxMessageBytes)}
	if !cfg.Compress {
		// gzip costs more CPU on both sides than a snapshot's transfer saves
		// on a data-centre network (see the config benchmark).
		opts = append(opts, connect.WithAcceptCompression("gzip", nil, nil))
	}
	httpClient := &http.Client{Transport: transport}
	for _, u := range cfg.URLs() {
		c.replicas = append(c.replicas, replica{
			url: u,
			rpc: hookgatev1connect.NewConfigDiscoveryServiceClient(httpClient, strings.TrimSuffix(u, "/"), opts...),
		})
	}
	if cfg.CacheFile != "" && table.Snapshot() == nil {
		if err := c.loadCache(); err != nil {
			c.log.Warn("config cache not loaded; waiting for the control plane", "file", cfg.CacheFile, "err", err)
		}
	}
	return c, nil
}

// replica is one control plane the node may stream from.
type replica struct {
	url string
	rpc hookgatev1connect.ConfigDiscoveryServiceClient
}

// errNoFirstResponse ends a session whose replica sent nothing within
// FirstResponseTimeout.
var errNoFirstResponse = errors.New("no config from the control plane within the first-response timeout")

func roleName(r hookgatev1.NodeRole) string {
	switch r {
	case hookgatev1.NodeRole_NODE_ROLE_EDGE:
		return "edge"
	case hookgatev1.NodeRole_NODE_ROLE_DISPATCHER:
		return "dispatcher"
	}
	return r.String()
}

// Run holds a stream to the control plane until ctx ends, reconnecting
// with exponential backoff and jitter after every failure, forever, each
// time to the next of the configured replicas. The Table keeps its last
// configuration while the control plane is away. Run returns nil once ctx
// ends and its goroutines (the cache writer) stopped.
func (c *Client) Run(ctx context.Context) error {
	if !c.running.CompareAndSwap(false, true) {
		return errors.New("configsync: Run called twice")
	}
	defer c.transport.CloseIdleConnections()
	var wg sync.WaitGroup
	defer wg.Wait()
	if c.cfg.CacheFile != "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.runCache(ctx)
		}()
	}
	attempt := 0
	for i := 0; ; i = (i + 1) % len(c.replicas) {
		r := c.replicas[i]
		delivered, err := c.session(ctx, r)
		c.table.setConnected(false, c.clock.Now())
		if ctx.Err() != nil {
			return nil
		}
		if delivered {
			attempt = 0
		}
		wait := c.backoff(attempt)
		// Warn once per outage, the readiness note says the rest; but a
		// refusal (bad token, bad hello) needs an operator every time.
		level := slog.LevelDebug
		switch connect.CodeOf(err) {
		case connect.CodeUnauthenticated, connect.CodePermissionDenied, connect.CodeInvalidArgument:
			level = slog.LevelError
		default:
			if attempt == 0 {
				level = slog.LevelWarn
			}
		}
		attempt++
		c.log.Log(ctx, level, "config stream down; serving the last configuration",
			"control_plane", r.url, "revision", c.table.Status().Revision, "retry_in", wait, "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-c.clock.After(wait):
		}
	}
}

// backoff doubles from MinBackoff up to MaxBackoff and keeps a random half,
// so that a fleet reconnecting after an outage spreads out.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.cfg.MinBackoff
	for i := 0; i < attempt && d < c.cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, c.cfg.MaxBackoff)
	if d < 2 {
		return d
	}
	return d/2 + rand.N(d/2)
}

// session runs one stream to r: hello with the revision held, then apply
// and answer each update. delivered reports whether the control plane
// answered. A replica that sends nothing within FirstResponseTimeout (its
// view never loaded, a stalled connection) has the session abandoned, so
// that Run moves to the next one.
func (c *Client) session(ctx context.Context, r replica) (delivered bool, err error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	first := make(chan struct{})
	var timer sync.WaitGroup
	timer.Go(func() {
		select {
		case <-c.clock.After(c.cfg.FirstResponseTimeout):
			cancel(errNoFirstResponse)
		case <-first:
		case <-ctx.Done():
		}
	})
	// Runs after the stream is closed below (defers run last first): the
	// timer goroutine ends with the session.
	defer timer.Wait()
	// The stats reporter too: its Send fails once the stream is closed.
	var reporter sync.WaitGroup
	defer reporter.Wait()
	defer cancel(nil)

	stream := r.rpc.StreamConfig(ctx)
	// net/http watches ctx only once the request body is complete, so a
	// Receive blocked on an open stream would outlive ctx: closing our side
	// when ctx ends lets the transport notice and abort the stream.
	closed := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(closed)
		_ = stream.CloseRequest()
	})
	defer func() {
		if stop() {
			_ = stream.CloseRequest()
		} else {
			<-closed
		}
		_ = stream.CloseResponse()
	}()
	if c.cfg.NodeToken != "" {
		stream.RequestHeader().Set("Authorization", "Bearer "+c.cfg.NodeToken)
	}
	// The revision and its etcd cluster from one snapshot: the control
	// plane sends a snapshot to a node whose revision is another cluster's.
	snap := c.table.Snapshot()
	held, cluster := snap.revision(), snap.clusterID()
	hello := &hookgatev1.StreamConfigRequest{Kind: &hookgatev1.StreamConfigRequest_Hello{Hello: &hookgatev1.ConfigHello{
		NodeId:    c.cfg.NodeID,
		Role:      c.cfg.Role,
		Address:   c.cfg.Address,
		Revision:  held,
		ClusterId: cluster,
		Shard:     c.cfg.Shard,
	}}}
	// Answers and stats reports share the stream, whose Send is not safe
	// for concurrent use.
	var sendMu sync.Mutex
	send := func(m *hookgatev1.StreamConfigRequest) error {
		sendMu.Lock()
		defer sendMu.Unlock()
		return stream.Send(m)
	}
	// A Send that fails with io.EOF means the server ended the stream; the
	// reason comes from Receive.
	if err := send(hello); err != nil && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("send hello: %w", err)
	}
	// An update in chunks being received; whatever the session ends with,
	// a partial one is dropped and the table keeps what it serves.
	var p *chunked
	defer func() {
		if p != nil {
			p.abort()
		}
	}()
	for {
		resp, err := stream.Receive()
		if err != nil {
			if errors.Is(context.Cause(ctx), errNoFirstResponse) {
				err = errNoFirstResponse
			}
			if p != nil {
				c.log.Warn("config stream ended within a chunked update; keeping the previous revision",
					"revision", p.rev, "chunks_received", p.next, "chunks", p.chunks)
			}
			return delivered, fmt.Errorf("receive config from %s: %w", r.url, err)
		}
		if !delivered {
			delivered = true
			close(first)
			c.table.setConnected(true, c.clock.Now())
			c.log.Info("config stream connected", "control_plane", r.url, "revision", held, "cluster_id", cluster)
			// The response headers came with the first update.
			if every, ok := statsInterval(stream.ResponseHeader().Get(StatsIntervalHeader)); ok && c.cfg.Stats != nil {
				reporter.Go(func() { c.reportStats(ctx, every, send) })
			}
		}
		var answer *hookgatev1.StreamConfigRequest
		switch {
		case p == nil && resp.GetChunks() <= 1 && resp.GetChunk() == 0:
			answer = c.apply(resp)
		case p == nil:
			p, err = c.beginChunks(resp)
		default:
			err = p.add(resp)
		}
		if err != nil {
			// Not a NACK: the stream is out of step, so the session ends and
			// the next one starts over from the revision the table holds.
			return delivered, fmt.Errorf("config from %s: %w", r.url, err)
		}
		if p != nil && p.complete() {
			answer, p = c.finish(p), nil
		}
		if answer == nil {
			continue
		}
		if err := send(answer); err != nil {
			return delivered, fmt.Errorf("answer revision %d: %w", resp.GetRevision(), err)
		}
	}
}

// apply applies one update and returns the ACK, or the NACK that keeps the
// previous revision.
func (c *Client) apply(resp *hookgatev1.StreamConfigResponse) *hookgatev1.StreamConfigRequest {
	err := c.checkRole(resp)
	var upd Update
	if err == nil {
		upd, err = c.table.Apply(resp)
	}
	return c.answer(resp.GetRevision(), resp.GetSnapshot(), len(resp.GetUpserts()), len(resp.GetDeletes()), 1, upd, err)
}

// answer logs how an update went and returns its ACK, or its NACK when err
// is set.
func (c *Client) answer(rev int64, snapshot bool, upserts, deletes, chunks int, upd Update, err error) *hookgatev1.StreamConfigRequest {
	if err != nil {
		c.log.Warn("config update rejected; keeping the previous revision",
			"revision", rev, "held", c.table.Status().Revision, "err", err)
		return &hookgatev1.StreamConfigRequest{Kind: &hookgatev1.StreamConfigRequest_Nack{Nack: &hookgatev1.ConfigNack{
			Revision: rev,
			Reason:   err.Error(),
		}}}
	}
	c.log.Info("config revision applied", "revision", rev, "cluster_id", upd.Snapshot.ClusterID, "snapshot", snapshot,
		"upserts", upserts, "deletes", deletes, "chunks", chunks, "webhooks", upd.Snapshot.Len())
	c.markCacheDirty()
	return &hookgatev1.StreamConfigRequest{Kind: &hookgatev1.StreamConfigRequest_Ack{Ack: &hookgatev1.ConfigAck{
		Revision: rev,
	}}}
}

// checkRole refuses what the node's role must never hold (least
// privilege): a dispatcher takes no inbound webhooks.
func (c *Client) checkRole(resp *hookgatev1.StreamConfigResponse) error {
	if c.cfg.Role == hookgatev1.NodeRole_NODE_ROLE_EDGE {
		// An edge never holds outbound signing secrets (DESIGN.md).
		for _, r := range resp.GetUpserts() {
			if r.GetEndpoint() != nil {
				return fmt.Errorf("resource %q: endpoints are for dispatchers, not edges", r.GetKey())
			}
		}
		return nil
	}
	for _, r := range resp.GetUpserts() {
		if r.GetWebhook() != nil {
			return fmt.Errorf("resource %q: inbound webhooks are for edges, not %ss", r.GetKey(), roleName(c.cfg.Role))
		}
	}
	for _, k := range resp.GetDeletes() {
		if _, ok := parseResourceKey(k); ok {
			return fmt.Errorf("delete %q: inbound webhooks are for edges, not %ss", k, roleName(c.cfg.Role))
		}
	}
	return nil
}

func (c *Client) markCacheDirty() {
	if c.cfg.CacheFile == "" {
		return
	}
	select {
	case c.cacheDirty <- struct{}{}:
	default:
	}
}

// chunked is an update arriving in several messages
// (StreamConfigResponse.chunks). A snapshot goes into a SnapshotBuilder
// chunk by chunk, so the messages are not kept; a delta's chunks are
// gathered into one delta, applied after the last. Either is answered once,
// after its last chunk.
type chunked struct {
	c                *Client
	rev              int64
	cluster          uint64
	snapshot         bool
	chunks, next     uint32
	upserts, deletes int
	build            *SnapshotBuilder
	delta            *hookgatev1.StreamConfigResponse
	// err is why the update is refused: it is NACKed after its last chunk,
	// and the chunks after it are only counted.
	err error
}

// maxSizeHintChunks caps the chunk count a new snapshot is sized by, so a
// wrong count cannot make the node allocate for billions of webhooks.
const maxSizeHintChunks = 1024

// beginChunks starts an update whose first message is resp.
func (c *Client) beginChunks(resp *hookgatev1.StreamConfigResponse) (*chunked, error) {
	if resp.GetChunk() != 0 {
		return nil, fmt.Errorf("revision %d: chunk %d of %d arrived without chunk 0", resp.GetRevision(), resp.GetChunk(), resp.GetChunks())
	}
	p := &chunked{c: c, rev: resp.GetRevision(), cluster: resp.GetClusterId(), snapshot: resp.GetSnapshot(), chunks: resp.GetChunks()}
	if p.snapshot {
		hint := int(min(p.chunks, maxSizeHintChunks)) * len(resp.GetUpserts())
		p.build = c.table.BeginSnapshot(p.rev, p.cluster, hint)
	} else {
		p.delta = &hookgatev1.StreamConfigResponse{Revision: p.rev, ClusterId: p.cluster}
	}
	p.take(resp)
	return p, nil
}

// add takes the next chunk. A message that does not continue the update
// (another index, count, revision or cluster, or a new snapshot) is an
// error: the stream is out of step.
func (p *chunked) add(resp *hookgatev1.StreamConfigResponse) error {
	if resp.GetChunk() != p.next || resp.GetChunks() != p.chunks || resp.GetRevision() != p.rev ||
		resp.GetClusterId() != p.cluster || resp.GetSnapshot() {
		return fmt.Errorf("revision %d: expected chunk %d of %d, got chunk %d of %d at revision %d (snapshot %v)",
			p.rev, p.next, p.chunks, resp.GetChunk(), resp.GetChunks(), resp.GetRevision(), resp.GetSnapshot())
	}
	p.take(resp)
	return nil
}

func (p *chunked) take(resp *hookgatev1.StreamConfigResponse) {
	p.next++
	p.upserts += len(resp.GetUpserts())
	p.deletes += len(resp.GetDeletes())
	if p.err != nil {
		return
	}
	if err := p.c.checkRole(resp); err != nil {
		p.fail(err)
		return
	}
	if p.build != nil {
		if err := p.build.Add(resp.GetUpserts()); err != nil {
			p.fail(err)
		}
		return
	}
	p.delta.Upserts = append(p.delta.Upserts, resp.GetUpserts()...)
	p.delta.Deletes = append(p.delta.Deletes, resp.GetDeletes()...)
}

// fail refuses the update and drops what it gathered.
func (p *chunked) fail(err error) {
	p.err = err
	p.abort()
}

func (p *chunked) complete() bool { return p.next >= p.chunks }

// abort drops what was gathered; the table keeps its configuration.
func (p *chunked) abort() {
	if p.build != nil {
		p.build.Abort()
	}
	p.delta = nil
}

// finish applies a complete update and returns its answer.
func (c *Client) finish(p *chunked) *hookgatev1.StreamConfigRequest {
	var upd Update
	err := p.err
	switch {
	case err != nil:
	case p.build != nil:
		upd, err = p.build.Commit()
	default:
		upd, err = c.table.Apply(p.delta)
	}
	return c.answer(p.rev, p.snapshot, p.upserts, p.deletes, int(p.chunks), upd, err)
}
