package distribute

import (
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
)

// item is one resource in a role's state. Resources are immutable once in
// the view: a change replaces the pointer, so snapshots and deltas can share
// them without copying.
type item struct {
	res    *hookgatev1.ConfigResource
	modRev int64
	// wire is res encoded as one element of StreamConfigResponse.upserts,
	// made once when the resource enters the view: a snapshot joins these
	// instead of encoding every resource again, so a node's cold start after
	// a change costs copying bytes (measured: 1,000,000 webhooks encoded
	// anew took 2.5 to 9 s of a cold start on this machine's two cores). nil
	// when res could not be encoded; the snapshot reports it.
	wire []byte
}

// change is one resource change in the log; a nil res is a delete.
type change struct {
	key string
	res *hookgatev1.ConfigResource
}

// entry holds the changes of one etcd revision.
type entry struct {
	rev     int64
	changes [numRoles][]change
	size    int
}

// view is the materialised configuration: per role, the resources the role
// may see, at etcd revision rev of etcd cluster cluster, plus a bounded log
// of recent changes.
//
// Lock order: snapMu[role] before mu. The watch loop is the only writer.
type view struct {
	mu     sync.RWMutex
	loaded bool
	// cluster is the id of the etcd cluster the revisions belong to: a
	// revision means nothing in another cluster's history.
	cluster uint64
	// rev is the revision up to which every etcd event has been applied.
	rev int64
	// roleRev is the last revision that changed each role's resources; a
	// node holding at least roleRev is up to date.
	roleRev [numRoles]int64
	state   [numRoles]map[string]item
	// etcdKeys maps every record seen to its mod revision, so a reload can
	// tell what changed while the watch was away.
	etcdKeys map[string]int64
	// log holds, oldest first, every change after logStart, within maxItems
	// changes (the newest entry is kept whatever its size).
	log      []entry
	logItems int
	maxItems int
	logStart int64
	// changed is closed and replaced whenever rev advances.
	changed chan struct{}
	// ready closes after the first load.
	ready chan struct{}

	// snapMu serialises building each role's snapshot, so that nodes
	// connecting at once wait for one encoding instead of each making its
	// own. snaps holds the last one built; a change to the role drops it, so
	// that a stale encoding (21 MB for 100,000 webhooks) is not kept until
	// the next node connects.
	snapMu [numRoles]sync.Mutex
	snaps  [numRoles]atomic.Pointer[encodedSnapshot]
}

func newView(maxItems int) *view {
	v := &view{
		maxItems: maxItems,
		etcdKeys: make(map[string]int64),
		changed:  make(chan struct{}),
		ready:    make(chan struct{}),
	}
	for r := range v.state {
		v.state[r] = make(map[string]item)
	}
	return v
}

func (v *view) revision() int64 {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.rev
}

// clusterID is the etcd cluster of the view's revisions; 0 before the first
// load.
func (v *view) clusterID() uint64 {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.cluster
}

// roleRevision is the last revision that changed the role's resources.
func (v *view) roleRevision(role int) int64 {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.roleRev[role]
}

// watchRole returns a channel that closes when the view next advances,
// with the revisions and the cluster as they are now.
func (v *view) watchRole(role int) (changed <-chan struct{}, rev, roleRev int64, cluster uint64) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.changed, v.rev, v.roleRev[role], v.cluster
}

// load applies the full content of the watched prefix read at rev from etcd
// cluster cluster: the first load fills the view; a later one (after the
// watch lost its history) turns the difference with what the view holds
// into one change at rev. A load from another cluster than the view's
// starts the view afresh: nothing it held, log included, describes the new
// cluster's history. It returns how many records changed.
//
// Streams go on reading the view while a load is worked out: a fresh view is
// built apart and swapped in, and a reload's difference is found under the
// read lock (the watch loop, which calls load, is the only writer). The
// write lock is held only to swap or to apply the difference.
func (v *view) load(rev int64, cluster uint64, recs []record) int {
	v.mu.RLock()
	fresh := !v.loaded || cluster != v.cluster
	v.mu.RUnlock()
	if fresh {
		return v.loadFresh(rev, cluster, recs)
	}
	v.mu.RLock()
	present := make(map[string]struct{}, len(recs))
	var batch []record
	for _, r := range recs {
		present[r.etcdKey] = struct{}{}
		if seen, ok := v.etcdKeys[r.etcdKey]; ok && seen == r.modRev {
			continue
		}
		batch = append(batch, r)
	}
	for k := range v.etcdKeys {
		if _, ok := present[k]; !ok {
			batch = append(batch, record{etcdKey: k, modRev: rev, deleted: true, keys: projectKeys(k)})
		}
	}
	v.mu.RUnlock()
	v.mu.Lock()
	defer v.mu.Unlock()
	v.applyLocked(rev, batch, false)
	return len(batch)
}

// loadFresh builds a view of recs apart, then swaps it in: the first load,
// or one from another etcd cluster.
func (v *view) loadFresh(rev int64, cluster uint64, recs []record) int {
	// nv is this goroutine's alone until swapped in: no lock needed.
	nv := newView(v.maxItems)
	encodeRecords(recs)
	nv.applyLocked(rev, recs, true)
	// The newest resource says when the role last changed, the same on
	// every replica whatever revision it loaded at, so that lag means the
	// same everywhere. (A delete before the load is not seen; nodes
	// resuming here still get it, through the history diff.)
	for r := range nv.roleRev {
		nv.roleRev[r] = 0
		for _, it := range nv.state[r] {
			nv.roleRev[r] = max(nv.roleRev[r], it.modRev)
		}
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.cluster = cluster
	v.state, v.etcdKeys, v.roleRev = nv.state, nv.etcdKeys, nv.roleRev
	v.log, v.logItems, v.logStart = nil, 0, rev
	for r := range v.snaps {
		v.snaps[r].Store(nil)
	}
	// The revision drops to 0 so that the load's revision, however low (a
	// new cluster's), applies; streams see the cluster change when this
	// wakes them.
	v.rev = 0
	v.advanceLocked(rev)
	if !v.loaded {
		v.loaded = true
		close(v.ready)
	}
	return len(recs)
}

// apply applies the records of one revision.
func (v *view) apply(rev int64, recs []record) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.applyLocked(rev, recs, false)
}

func (v *view) applyLocked(rev int64, recs []record, first bool) {
	e := entry{rev: rev}
	for _, r := range recs {
		if r.err == errNotDistributed {
			continue
		}
		if r.deleted {
			delete(v.etcdKeys, r.etcdKey)
		} else {
			v.etcdKeys[r.etcdKey] = r.modRev
		}
		for role := range numRoles {
			k := r.keys[role]
			if k == "" {
				continue
			}
			switch {
			case r.deleted:
				if _, ok := v.state[role][k]; ok {
					delete(v.state[role], k)
					e.changes[role] = append(e.changes[role], change{key: k})
				}
			case r.err != nil:
				// Keep the last good resource: nodes go on serving it
				// rather than lose the webhook (static stability).
			default:
				w := r.wire[role]
				if w == nil {
					w = upsertWire(r.res[role])
				}
				v.state[role][k] = item{res: r.res[role], modRev: r.modRev, wire: w}
				e.changes[role] = append(e.changes[role], change{key: k, res: r.res[role]})
			}
		}
	}
	for role := range numRoles {
		if n := len(e.changes[role]); n > 0 {
			v.roleRev[role] = rev
			v.snaps[role].Store(nil)
			e.size += n
		}
	}
	if !first && e.size > 0 {
		v.appendLog(e)
	}
	v.advanceLocked(rev)
}

func (v *view) appendLog(e entry) {
	v.log = append(v.log, e)
	v.logItems += e.size
	for v.logItems > v.maxItems && len(v.log) > 1 {
		v.logStart = v.log[0].rev
		v.logItems -= v.log[0].size
		v.log[0] = entry{} // let the evicted changes be collected
		v.log = v.log[1:]
	}
}

// advance moves the view to rev without changes (an etcd progress
// notification: nothing under the prefix changed up to rev).
func (v *view) advance(rev int64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.advanceLocked(rev)
}

func (v *view) advanceLocked(rev int64) {
	if rev <= v.rev {
		return
	}
	v.rev = rev
	close(v.changed)
	v.changed = make(chan struct{})
}

// sameCluster reports whether a revision of etcd cluster cluster can be a
// base for deltas from the view; 0 is a node that does not know its
// cluster (its configuration predates cluster ids), taken on trust.
func (v *view) sameCluster(cluster uint64) bool {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.sameClusterLocked(cluster)
}

func (v *view) sameClusterLocked(cluster uint64) bool {
	return cluster == 0 || cluster == v.cluster
}

// delta returns the changes for role after revision from of etcd cluster
// cluster, coalesced into one update at the view's revision, or false when
// the log no longer reaches back to from or the view is of another
// cluster.
func (v *view) delta(role int, from int64, cluster uint64) (*hookgatev1.StreamConfigResponse, bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	if from < v.logStart || !v.sameClusterLocked(cluster) {
		return nil, false
	}
	changes := make(map[string]*hookgatev1.ConfigResource)
	i := sort.Search(len(v.log), func(i int) bool { return v.log[i].rev > from })
	for _, e := range v.log[i:] {
		for _, c := range e.changes[role] {
			changes[c.key] = c.res
		}
	}
	return buildDelta(v.rev, v.cluster, changes), true
}

// diff returns, as one update at the view's revision, what changed for role
// since revision from, given the etcd keys that existed at from in etcd
// cluster cluster: every resource modified after from, and a delete for
// every resource that existed then and is gone now. The view must be at
// from or later; it reports false when the view is of another cluster.
func (v *view) diff(role int, from int64, cluster uint64, keysAtFrom []string) (*hookgatev1.StreamConfigResponse, bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	if cluster != v.cluster {
		return nil, false
	}
	changes := make(map[string]*hookgatev1.ConfigResource)
	for k, it := range v.state[role] {
		if it.modRev > from {
			changes[k] = it.res
		}
	}
	for _, ek := range keysAtFrom {
		k := projectKeys(ek)[role]
		if k == "" {
			continue
		}
		if _, ok := v.state[role][k]; !ok {
			changes[k] = nil
		}
	}
	return buildDelta(v.rev, v.cluster, changes), true
}

// snapshot returns every resource of role, encoded once and shared by all
// streams until the role's resources change, with the view's revision and
// cluster. Nodes asking at once wait for the first to build it; the view's
// lock is not held while it encodes, so the watch goes on meanwhile.
func (v *view) snapshot(role int) (s *encodedSnapshot, rev int64, err error) {
	v.snapMu[role].Lock()
	defer v.snapMu[role].Unlock()
	v.mu.RLock()
	rev, cluster, roleRev := v.rev, v.cluster, v.roleRev[role]
	// A change drops the cached encoding under mu, but the check stays: an
	// encoding built from an older state may have been stored after it.
	if s := v.snaps[role].Load(); s != nil && s.cluster == cluster && s.roleRev == roleRev {
		v.mu.RUnlock()
		return s, rev, nil
	}
	resources := make([]*hookgatev1.ConfigResource, 0, len(v.state[role]))
	wires := make([][]byte, 0, len(v.state[role]))
	for _, it := range v.state[role] {
		resources = append(resources, it.res)
		wires = append(wires, it.wire)
	}
	v.mu.RUnlock()
	// Drop the stale one first: two encodings of 100,000 webhooks need not
	// be alive at once.
	v.snaps[role].Store(nil)
	s, err = assembleSnapshot(cluster, roleRev, resources, wires, maxChunkBytes)
	if err != nil {
		return nil, 0, err
	}
	v.snaps[role].Store(s)
	return s, rev, nil
}

// buildDelta orders changes by key: upserts for resources, deletes for nil.
func buildDelta(rev int64, cluster uint64, changes map[string]*hookgatev1.ConfigResource) *hookgatev1.StreamConfigResponse {
	out := &hookgatev1.StreamConfigResponse{Revision: rev, ClusterId: cluster}
	for k, res := range changes {
		if res == nil {
			out.Deletes = append(out.Deletes, k)
		} else {
			out.Upserts = append(out.Upserts, res)
		}
	}
	slices.Sort(out.Deletes)
	slices.SortFunc(out.Upserts, func(a, b *hookgatev1.ConfigResource) int { return strings.Compare(a.Key, b.Key) })
	return out
}
