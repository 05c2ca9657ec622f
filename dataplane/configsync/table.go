package configsync

import (
	"errors"
	"fmt"
	"hash/maphash"
	"iter"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
)

// shardCount splits a Snapshot so that a delta copies only the shards it
// touches: with 100,000 webhooks a one-webhook change copies ~400 map
// entries instead of 100,000 (copy-on-write).
const shardCount = 256

// WebhookRef names one inbound webhook.
type WebhookRef struct {
	Tenant string
	ID     string
}

// ResourceKey is the ConfigResource key of a webhook, "webhook/{tenant}/{id}".
func ResourceKey(tenant, id string) string { return "webhook/" + tenant + "/" + id }

func parseResourceKey(k string) (WebhookRef, bool) {
	rest, ok := strings.CutPrefix(k, "webhook/")
	if !ok {
		return WebhookRef{}, false
	}
	tenant, id, ok := strings.Cut(rest, "/")
	if !ok || tenant == "" || id == "" || strings.Contains(id, "/") {
		return WebhookRef{}, false
	}
	return WebhookRef{Tenant: tenant, ID: id}, true
}

// Snapshot is a Table's content at one revision. It never changes once
// published, and neither do the compact webhooks Lookup returns: callers
// must not modify them. A nil *Snapshot is a table with no configuration.
type Snapshot struct {
	// Revision is the etcd revision the control plane built it at.
	Revision int64
	// ClusterID is the id of the etcd cluster Revision belongs to; 0 when
	// unknown (a control plane or cache file from before cluster ids).
	ClusterID uint64
	seed      maphash.Seed
	n         int
	shards    [shardCount]shard
	// others holds every resource that is not a webhook (endpoints, event
	// types, applications, tenants, …) by key; it is copied whole on a
	// change, which is cheap for the counts of these kinds.
	others map[string]*hookgatev1.ConfigResource
	// kept is the Table's Keeper's content, holding the kinds it takes;
	// nil without a Keeper.
	kept Kept
}

// Resource returns the non-webhook resource with key, e.g.
// "endpoint/acme/ep_…"; not one the Table's Keeper holds (see Kept).
func (s *Snapshot) Resource(key string) (*hookgatev1.ConfigResource, bool) {
	if s == nil {
		return nil, false
	}
	r, ok := s.others[key]
	return r, ok
}

// Resources calls fn for every non-webhook resource whose key starts with
// prefix (e.g. "endpoint/"), in no order, until fn returns false. Those the
// Table's Keeper holds are made from its Kept value for the call.
func (s *Snapshot) Resources(prefix string, fn func(*hookgatev1.ConfigResource) bool) {
	if s == nil {
		return
	}
	for k, r := range s.others {
		if strings.HasPrefix(k, prefix) && !fn(r) {
			return
		}
	}
	s.keptResources(prefix, fn)
}

func (s *Snapshot) hash(id string) uint64 { return maphash.String(s.seed, id) }

// Lookup returns the compact webhook {tenant}/{id}, in O(1) and without
// allocating: the edge's lookup per call.
func (s *Snapshot) Lookup(tenant, id string) (*Webhook, bool) {
	if s == nil {
		return nil, false
	}
	h := s.hash(id)
	sh := &s.shards[h%shardCount]
	if i := sh.find(h, tenant, id); i >= 0 {
		return sh.hooks[i], true
	}
	return nil, false
}

// Webhook returns the webhook {tenant}/{id} as a new EdgeWebhook (see
// Webhook.Proto); Lookup is the allocation-free lookup.
func (s *Snapshot) Webhook(tenant, id string) (*hookgatev1.EdgeWebhook, bool) {
	w, ok := s.Lookup(tenant, id)
	return w.Proto(), ok
}

// Len is the number of webhooks.
func (s *Snapshot) Len() int {
	if s == nil {
		return 0
	}
	return s.n
}

// All yields every webhook as a new EdgeWebhook, in no particular order.
func (s *Snapshot) All() iter.Seq[*hookgatev1.EdgeWebhook] {
	return func(yield func(*hookgatev1.EdgeWebhook) bool) {
		for w := range s.Webhooks() {
			if !yield(w.Proto()) {
				return
			}
		}
	}
}

// Webhooks yields every webhook in its compact form, in no particular
// order.
func (s *Snapshot) Webhooks() iter.Seq[*Webhook] {
	return func(yield func(*Webhook) bool) {
		if s == nil {
			return
		}
		for i := range s.shards {
			for _, w := range s.shards[i].hooks {
				if !yield(w) {
					return
				}
			}
		}
	}
}

// Update describes one change applied to a Table.
type Update struct {
	// Snapshot is the table's content after the update; Previous before it
	// (nil when the table had none).
	Snapshot, Previous *Snapshot
	// Full means the update replaced everything (a snapshot from the
	// control plane or the cache file): Upserted and Deleted are empty and
	// every webhook may have changed.
	Full bool
	// Upserted and Deleted list what a delta changed.
	Upserted []*hookgatev1.EdgeWebhook
	Deleted  []WebhookRef
}

// Status is what a Table knows of its freshness, for readiness probes.
type Status struct {
	// Revision is the revision of the configuration held; 0 for none.
	Revision int64
	// HaveConfig is false until the first snapshot (from the control plane
	// or the cache file) is applied.
	HaveConfig bool
	// Connected is true while a stream to the control plane is up and has
	// answered.
	Connected bool
	// Since is when Connected last changed; zero before the first change.
	Since time.Time
}

// ErrNoConfig means a Table holds no configuration yet: the node cannot
// serve and is not ready.
var ErrNoConfig = errors.New("no configuration yet")

// Table is a node's in-memory configuration. Readers load the current
// Snapshot with one atomic read and never wait for an update; updates build
// a new Snapshot aside and swap it in.
type Table struct {
	seed maphash.Seed
	// keeper holds the kinds it takes instead of others; nil for none.
	keeper Keeper
	cur    atomic.Pointer[Snapshot]
	// applyMu serialises Apply, so hooks see updates in order. Readers
	// never take it.
	applyMu sync.Mutex

	mu        sync.Mutex // guards the fields below
	connected bool
	since     time.Time
	hooks     []func(Update)
}

// NewTable returns an empty Table.
func NewTable(opts ...TableOption) *Table {
	t := &Table{seed: maphash.MakeSeed()}
	for _, o := range opts {
		o(t)
	}
	return t
}

// Snapshot returns the current content; nil before any configuration.
func (t *Table) Snapshot() *Snapshot { return t.cur.Load() }

// Webhook looks {tenant}/{id} up in the current Snapshot (as
// Snapshot.Webhook, a new EdgeWebhook).
func (t *Table) Webhook(tenant, id string) (*hookgatev1.EdgeWebhook, bool) {
	return t.cur.Load().Webhook(tenant, id)
}

// Status reports the revision held and whether the control plane is
// reachable.
func (t *Table) Status() Status {
	s := t.cur.Load()
	t.mu.Lock()
	defer t.mu.Unlock()
	return Status{Revision: s.revision(), HaveConfig: s != nil, Connected: t.connected, Since: t.since}
}

func (s *Snapshot) revision() int64 {
	if s == nil {
		return 0
	}
	return s.Revision
}

func (s *Snapshot) clusterID() uint64 {
	if s == nil {
		return 0
	}
	return s.ClusterID
}

// Check is a readiness check: not ready without configuration; ready, with
// the note "stale config", while the control plane is unreachable — the
// node goes on serving its last configuration (static stability).
func (t *Table) Check() (note string, err error) {
	st := t.Status()
	switch {
	case !st.HaveConfig:
		return "", ErrNoConfig
	case !st.Connected && st.Since.IsZero():
		return fmt.Sprintf("stale config: revision %d, not connected to the control plane yet", st.Revision), nil
	case !st.Connected:
		return fmt.Sprintf("stale config: revision %d, control plane unreachable since %s",
			st.Revision, st.Since.UTC().Format(time.RFC3339)), nil
	}
	return fmt.Sprintf("revision %d", st.Revision), nil
}

// OnUpdate registers fn to run after each update is swapped in, in order,
// on the goroutine that applied it. fn must return quickly and must not
// call Apply. Use it to precompute per-webhook state.
func (t *Table) OnUpdate(fn func(Update)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.hooks = append(t.hooks, fn)
}

func (t *Table) setConnected(connected bool, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.connected != connected {
		t.connected = connected
		t.since = now
	}
}

// Apply validates an update from the control plane and swaps it in. An
// invalid update changes nothing and returns an error saying why (the
// node NACKs it); the error names resource keys, never their content.
func (t *Table) Apply(u *hookgatev1.StreamConfigResponse) (Update, error) {
	upserts, deletes, others, otherDeletes, err := parseUpdate(u)
	if err != nil {
		return Update{}, err
	}
	changedOthers := len(others) > 0 || len(otherDeletes) > 0
	others, kept, otherDeletes, keptDeletes := t.splitKept(others, otherDeletes)
	t.applyMu.Lock()
	defer t.applyMu.Unlock()
	prev := t.cur.Load()
	upd := Update{Previous: prev, Full: u.GetSnapshot()}
	cluster := u.GetClusterId()
	switch {
	case u.GetSnapshot():
		k, err := t.keep(nil, kept, nil)
		if err != nil {
			return Update{}, fmt.Errorf("snapshot at revision %d: %w", u.GetRevision(), err)
		}
		upd.Snapshot = t.build(u.GetRevision(), cluster, upserts)
		upd.Snapshot.others = withOthers(nil, others, nil)
		upd.Snapshot.kept = k
	case prev == nil:
		return Update{}, fmt.Errorf("delta at revision %d: no snapshot to apply it to", u.GetRevision())
	case cluster != 0 && prev.ClusterID != 0 && cluster != prev.ClusterID:
		// Revisions of two etcd clusters are unrelated: this delta does not
		// build on what the node holds. Only a snapshot changes clusters.
		return Update{}, fmt.Errorf("delta at revision %d: for etcd cluster %x, but the configuration held is of cluster %x",
			u.GetRevision(), cluster, prev.ClusterID)
	case u.GetRevision() < prev.Revision:
		return Update{}, fmt.Errorf("delta at revision %d: older than the revision held, %d", u.GetRevision(), prev.Revision)
	case u.GetRevision() == prev.Revision && len(upserts) == 0 && len(deletes) == 0 && !changedOthers && (cluster == 0 || cluster == prev.ClusterID):
		upd.Snapshot = prev
		return upd, nil
	default:
		// A configuration of unknown cluster takes the delta's: it was
		// trusted as this history before cluster ids, and the node can say
		// which cluster it holds from now on.
		if cluster == 0 {
			cluster = prev.ClusterID
		}
		k := prev.kept
		if len(kept) > 0 || len(keptDeletes) > 0 {
			var err error
			if k, err = t.keep(prev.kept, kept, keptDeletes); err != nil {
				return Update{}, fmt.Errorf("delta at revision %d: %w", u.GetRevision(), err)
			}
		}
		upd.Snapshot = prev.with(u.GetRevision(), cluster, upserts, deletes)
		upd.Snapshot.others = prev.others
		if len(others) > 0 || len(otherDeletes) > 0 {
			upd.Snapshot.others = withOthers(prev.others, others, otherDeletes)
		}
		upd.Snapshot.kept = k
		upd.Upserted, upd.Deleted = webhookMessages(u), deletes
	}
	t.publish(upd)
	return upd, nil
}

// keep builds the Keeper's next content from prev (nil for a snapshot);
// nil without a Keeper.
func (t *Table) keep(prev Kept, upserts []*hookgatev1.ConfigResource, deletes []string) (Kept, error) {
	if t.keeper == nil {
		return nil, nil
	}
	b := t.keeper.Begin(prev)
	for _, r := range upserts {
		if err := b.Put(r); err != nil {
			return nil, err
		}
	}
	for _, k := range deletes {
		b.Delete(k)
	}
	return b.Finish(), nil
}

// publish swaps upd's Snapshot in and runs the hooks; applyMu is held.
func (t *Table) publish(upd Update) {
	t.cur.Store(upd.Snapshot)
	t.mu.Lock()
	hooks := t.hooks
	t.mu.Unlock()
	for _, fn := range hooks {
		fn(upd)
	}
}

// parseUpdate splits an update into webhook upserts and deletes, which the
// sharded table holds, and every other resource kind, which it keeps by
// key. A resource with no known kind (from a newer control plane) is
// refused, so the node NACKs rather than silently missing it.
func parseUpdate(u *hookgatev1.StreamConfigResponse) (upserts []*Webhook, deletes []WebhookRef, others []*hookgatev1.ConfigResource, otherDeletes []string, err error) {
	if u.GetRevision() <= 0 {
		return nil, nil, nil, nil, fmt.Errorf("revision %d: must be positive", u.GetRevision())
	}
	upserts = make([]*Webhook, 0, len(u.GetUpserts()))
	var c compactor
	for _, r := range u.GetUpserts() {
		w := r.GetWebhook()
		if w == nil {
			if r.GetResource() == nil || r.GetKey() == "" || strings.HasPrefix(r.GetKey(), "webhook/") {
				return nil, nil, nil, nil, fmt.Errorf("resource %q: unsupported resource type", r.GetKey())
			}
			others = append(others, r)
			continue
		}
		if w.GetTenant() == "" || w.GetId() == "" || r.GetKey() != ResourceKey(w.GetTenant(), w.GetId()) {
			return nil, nil, nil, nil, fmt.Errorf("resource %q: key does not name its webhook", r.GetKey())
		}
		cw, err := c.webhook(w)
		if err != nil {
			return nil, nil, nil, nil, fmt.Errorf("resource %q: %w", r.GetKey(), err)
		}
		upserts = append(upserts, cw)
	}
	if !u.GetSnapshot() {
		for _, k := range u.GetDeletes() {
			if !strings.HasPrefix(k, "webhook/") {
				if k == "" {
					return nil, nil, nil, nil, fmt.Errorf("delete %q: empty resource key", k)
				}
				otherDeletes = append(otherDeletes, k)
				continue
			}
			ref, ok := parseResourceKey(k)
			if !ok {
				return nil, nil, nil, nil, fmt.Errorf("delete %q: not a webhook resource key", k)
			}
			deletes = append(deletes, ref)
		}
	}
	return upserts, deletes, others, otherDeletes, nil
}

// withOthers returns prev with upserts and deletes applied, as a new map.
func withOthers(prev map[string]*hookgatev1.ConfigResource, upserts []*hookgatev1.ConfigResource, deletes []string) map[string]*hookgatev1.ConfigResource {
	next := make(map[string]*hookgatev1.ConfigResource, len(prev)+len(upserts))
	maps.Copy(next, prev)
	for _, r := range upserts {
		next[r.GetKey()] = r
	}
	for _, k := range deletes {
		delete(next, k)
	}
	return next
}

// build makes a Snapshot of webhooks from scratch.
func (t *Table) build(rev int64, cluster uint64, webhooks []*Webhook) *Snapshot {
	s := t.newSnapshot(rev, cluster, len(webhooks))
	s.put(webhooks)
	return s
}

// newSnapshot is an empty Snapshot sized for about n webhooks, to fill with
// put before it is published.
func (t *Table) newSnapshot(rev int64, cluster uint64, n int) *Snapshot {
	s := &Snapshot{Revision: rev, ClusterID: cluster, seed: t.seed}
	per := n/shardCount + 1
	for i := range s.shards {
		s.shards[i].reserve(per)
	}
	return s
}

// put adds webhooks to a Snapshot that is not published yet; a webhook
// already in it is replaced.
func (s *Snapshot) put(webhooks []*Webhook) {
	for _, w := range webhooks {
		h := s.hash(w.id)
		if s.shards[h%shardCount].put(s.seed, h, w) {
			s.n++
		}
	}
}

// with returns a new Snapshot with a delta applied, copying only the shards
// it touches; s itself does not change.
func (s *Snapshot) with(rev int64, cluster uint64, upserts []*Webhook, deletes []WebhookRef) *Snapshot {
	next := &Snapshot{Revision: rev, ClusterID: cluster, seed: s.seed, n: s.n, shards: s.shards}
	var copied [shardCount]bool
	own := func(i uint64) *shard {
		if !copied[i] {
			copied[i] = true
			next.shards[i] = s.shards[i].clone()
		}
		return &next.shards[i]
	}
	for _, w := range upserts {
		h := next.hash(w.id)
		if own(h%shardCount).put(next.seed, h, w) {
			next.n++
		}
	}
	for _, ref := range deletes {
		h := next.hash(ref.ID)
		if next.shards[h%shardCount].find(h, ref.Tenant, ref.ID) < 0 {
			continue
		}
		own(h%shardCount).remove(next.seed, h, ref.Tenant, ref.ID)
		next.n--
	}
	return next
}

// webhookMessages returns the webhooks u upserts, as received.
func webhookMessages(u *hookgatev1.StreamConfigResponse) []*hookgatev1.EdgeWebhook {
	var out []*hookgatev1.EdgeWebhook
	for _, r := range u.GetUpserts() {
		if w := r.GetWebhook(); w != nil {
			out = append(out, w)
		}
	}
	return out
}
