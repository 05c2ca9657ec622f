package distribute

import (
	"slices"
	"sort"
	"strings"
	"sync"

	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
)

// item is one resource in a role's state. Resources are immutable once in
// the view: a change replaces the pointer, so snapshots and deltas can share
// them without copying.
type item struct {
	res    *hookgatev1.ConfigResource
	modRev int64
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
// may see, at etcd revision rev, plus a bounded log of recent changes.
//
// Lock order: snapMu before mu. The watch loop is the only writer.
type view struct {
	mu     sync.RWMutex
	loaded bool
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

	snapMu sync.Mutex
	snaps  [numRoles]*hookgatev1.StreamConfigResponse
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

// roleRevision is the last revision that changed the role's resources.
func (v *view) roleRevision(role int) int64 {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.roleRev[role]
}

// watchRole returns a channel that closes when the view next advances,
// with the revisions as they are now.
func (v *view) watchRole(role int) (changed <-chan struct{}, rev, roleRev int64) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.changed, v.rev, v.roleRev[role]
}

// load applies the full content of the watched prefix read at rev: the
// first load fills the view; a later one (after the watch lost its history)
// turns the difference with what the view holds into one change at rev.
// It returns how many records changed.
func (v *view) load(rev int64, recs []record) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	present := make(map[string]struct{}, len(recs))
	batch := make([]record, 0, len(recs))
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
	first := !v.loaded
	v.applyLocked(rev, batch, first)
	if first {
		v.loaded = true
		v.logStart = rev
		// The newest resource says when the role last changed, the same on
		// every replica whatever revision it loaded at, so that lag means the
		// same everywhere. (A delete before the load is not seen; nodes
		// resuming here still get it, through the history diff.)
		for r := range v.roleRev {
			v.roleRev[r] = 0
			for _, it := range v.state[r] {
				v.roleRev[r] = max(v.roleRev[r], it.modRev)
			}
		}
		close(v.ready)
	}
	return len(batch)
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
				v.state[role][k] = item{res: r.res[role], modRev: r.modRev}
				e.changes[role] = append(e.changes[role], change{key: k, res: r.res[role]})
			}
		}
	}
	for role := range numRoles {
		if n := len(e.changes[role]); n > 0 {
			v.roleRev[role] = rev
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

// delta returns the changes for role after revision from, coalesced into one
// update at the view's revision, or false when the log no longer reaches
// back to from.
func (v *view) delta(role int, from int64) (*hookgatev1.StreamConfigResponse, bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	if from < v.logStart {
		return nil, false
	}
	changes := make(map[string]*hookgatev1.ConfigResource)
	i := sort.Search(len(v.log), func(i int) bool { return v.log[i].rev > from })
	for _, e := range v.log[i:] {
		for _, c := range e.changes[role] {
			changes[c.key] = c.res
		}
	}
	return buildDelta(v.rev, changes), true
}

// diff returns, as one update at the view's revision, what changed for role
// since revision from, given the etcd keys that existed at from: every
// resource modified after from, and a delete for every resource that
// existed then and is gone now. The view must be at from or later.
func (v *view) diff(role int, from int64, keysAtFrom []string) *hookgatev1.StreamConfigResponse {
	v.mu.RLock()
	defer v.mu.RUnlock()
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
	return buildDelta(v.rev, changes)
}

// snapshot returns every resource of role at the view's revision. The
// result is cached until the view advances and shared by all streams: it
// must not be modified.
func (v *view) snapshot(role int) *hookgatev1.StreamConfigResponse {
	v.snapMu.Lock()
	defer v.snapMu.Unlock()
	v.mu.RLock()
	defer v.mu.RUnlock()
	if s := v.snaps[role]; s != nil && s.Revision == v.rev {
		return s
	}
	s := &hookgatev1.StreamConfigResponse{
		Revision: v.rev,
		Snapshot: true,
		Upserts:  make([]*hookgatev1.ConfigResource, 0, len(v.state[role])),
	}
	for _, it := range v.state[role] {
		s.Upserts = append(s.Upserts, it.res)
	}
	v.snaps[role] = s
	return s
}

// buildDelta orders changes by key: upserts for resources, deletes for nil.
func buildDelta(rev int64, changes map[string]*hookgatev1.ConfigResource) *hookgatev1.StreamConfigResponse {
	out := &hookgatev1.StreamConfigResponse{Revision: rev}
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
