package distribute

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"connectrpc.com/connect"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
)

// Bounds of a shard declaration: a hello travels in one request message.
const (
	maxShardTenants = 10000
	maxShardCount   = 1 << 16
	// maxShardSnapshots bounds the cached sharded snapshot encodings; past
	// it the least recently used goes first.
	maxShardSnapshots = 64
)

// shard is the slice of tenants an edge declared in its hello
// (hookgatev1.EdgeShard), parsed. A nil *shard is every tenant: dispatchers
// and unsharded edges.
type shard struct {
	// key names the slice canonically ("tenants:acme,globex" sorted, or
	// "hash:1/4"), for the snapshot cache and logs.
	key string
	// tenants is set for an explicit list; index and count for a hash shard.
	tenants      map[string]struct{}
	index, count uint32
}

// helloShard validates and parses the hello's shard: nil when the node
// declared none. Errors are InvalidArgument naming the field.
func helloShard(h *hookgatev1.ConfigHello) (*shard, error) {
	invalid := func(format string, args ...any) error {
		return connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("hello.shard."+format, args...))
	}
	s := h.GetShard()
	tenants, index, count := s.GetTenants(), s.GetIndex(), s.GetCount()
	switch {
	case len(tenants) == 0 && count == 0 && index == 0:
		return nil, nil
	case h.GetRole() != hookgatev1.NodeRole_NODE_ROLE_EDGE:
		return nil, invalid("tenants: only edges serve a shard of tenants; a dispatcher gets every tenant")
	case len(tenants) > 0 && (count != 0 || index != 0):
		return nil, invalid("tenants: give a list of tenants or index and count, not both")
	case len(tenants) > maxShardTenants:
		return nil, invalid("tenants: %d tenants, at most %d", len(tenants), maxShardTenants)
	case len(tenants) == 0 && count == 0:
		return nil, invalid("count: must be at least 1 with an index")
	case count > maxShardCount:
		return nil, invalid("count: %d, at most %d", count, maxShardCount)
	case len(tenants) == 0 && index >= count:
		return nil, invalid("index: %d must be below count %d", index, count)
	}
	if count > 0 {
		return &shard{key: "hash:" + strconv.FormatUint(uint64(index), 10) + "/" + strconv.FormatUint(uint64(count), 10), index: index, count: count}, nil
	}
	set := make(map[string]struct{}, len(tenants))
	for i, t := range tenants {
		if !validTenantSlug(t) {
			// The position, not the value: it may be any bytes.
			return nil, invalid("tenants[%d]: not a tenant slug (3–50 characters of a-z, 0-9 and '-')", i)
		}
		set[t] = struct{}{}
	}
	sorted := make([]string, 0, len(set))
	for t := range set {
		sorted = append(sorted, t)
	}
	slices.Sort(sorted)
	return &shard{key: "tenants:" + strings.Join(sorted, ","), tenants: set}, nil
}

func validTenantSlug(s string) bool {
	if len(s) < 3 || len(s) > 50 {
		return false
	}
	for _, c := range []byte(s) {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// String names the shard for logs: "every tenant", "1/4" or "3 tenants".
func (s *shard) String() string {
	switch {
	case s == nil:
		return "every tenant"
	case s.count > 0:
		return strconv.FormatUint(uint64(s.index), 10) + "/" + strconv.FormatUint(uint64(s.count), 10)
	}
	return strconv.Itoa(len(s.tenants)) + " tenants"
}

// servesTenant reports whether tenant is in the slice.
func (s *shard) servesTenant(tenant string) bool {
	if s == nil {
		return true
	}
	if s.count > 0 {
		return TenantShard(tenant, s.count) == s.index
	}
	_, ok := s.tenants[tenant]
	return ok
}

// servesKey reports whether the resource with this ConfigResource key
// ("webhook/acme/wh_…", "event-type/acme/…", "application/acme/…",
// "token/acme/…") goes to the shard. Tokens go to every edge: a sharded
// edge must recognise a producer of another shard's tenant to answer it
// 421 rather than 401, and token digests are small.
func (s *shard) servesKey(key string) bool {
	if s == nil {
		return true
	}
	kind, rest, ok := strings.Cut(key, "/")
	if !ok || kind == "token" {
		return true
	}
	tenant, _, _ := strings.Cut(rest, "/")
	return s.servesTenant(tenant)
}

// filter returns the delta u with only the shard's resources; u itself
// when the shard is every tenant. u is not modified: its upserts are the
// view's shared resources. A delta left empty is still sent, so the node's
// revision and the fleet's lag move on.
func (s *shard) filter(u *hookgatev1.StreamConfigResponse) *hookgatev1.StreamConfigResponse {
	if s == nil {
		return u
	}
	out := &hookgatev1.StreamConfigResponse{Revision: u.GetRevision(), Snapshot: u.GetSnapshot(), ClusterId: u.GetClusterId()}
	for _, r := range u.GetUpserts() {
		if s.servesKey(r.GetKey()) {
			out.Upserts = append(out.Upserts, r)
		}
	}
	for _, k := range u.GetDeletes() {
		if s.servesKey(k) {
			out.Deletes = append(out.Deletes, k)
		}
	}
	return out
}

// proto is the shard as the fleet view shows it; nil for every tenant.
func (s *shard) proto() *hookgatev1.EdgeShard {
	if s == nil {
		return nil
	}
	if s.count > 0 {
		return &hookgatev1.EdgeShard{Index: s.index, Count: s.count}
	}
	sorted := make([]string, 0, len(s.tenants))
	for t := range s.tenants {
		sorted = append(sorted, t)
	}
	slices.Sort(sorted)
	return &hookgatev1.EdgeShard{Tenants: sorted}
}

// TenantShard is the hash shard, of count, that tenant belongs to: Lamping
// and Veach's jump consistent hash ("A Fast, Minimal Memory, Consistent
// Hash Algorithm", 2014) of the 64-bit FNV-1a of the slug's bytes. Growing
// count from n to n+1 moves only about 1/(n+1) of the tenants, all to the
// new shard. The edge (dataplane/ingress) computes the same function; a
// table of vectors in both modules' tests keeps them equal, and load
// balancers that route by hash must compute it too (docs/design.md,
// "Sharded edges"). count 0 is treated as 1.
func TenantShard(tenant string, count uint32) uint32 {
	const (
		offset64 = 14695981039346656037
		prime64  = 1099511628211
	)
	h := uint64(offset64)
	for i := 0; i < len(tenant); i++ {
		h ^= uint64(tenant[i])
		h *= prime64
	}
	b, j := int64(-1), int64(0)
	for j < int64(max(count, 1)) {
		b = j
		h = h*2862933555777941757 + 1
		j = int64(float64(b+1) * (float64(int64(1)<<31) / float64((h>>33)+1)))
	}
	return uint32(b)
}

// shardSnapshots caches one encoded snapshot per shard of the edge role,
// built and shared like the role's own (view.snapshot): nodes of one shard
// connecting at once wait for one encoding, and a fleet reconnecting costs
// bytes, not encodings. Its zero value is ready to use.
//
// Lock order: an entry's build before mu; mu is never held while encoding.
type shardSnapshots struct {
	mu    sync.Mutex
	byKey map[string]*shardSnapshot
	clock uint64 // counts uses, for least recently used eviction
}

// shardSnapshot is one shard's cached encoding.
type shardSnapshot struct {
	build sync.Mutex
	snap  atomic.Pointer[encodedSnapshot]
	used  uint64 // guarded by shardSnapshots.mu
}

// entry returns the cache entry of key, making it, and evicts the least
// recently used entries past maxShardSnapshots.
func (c *shardSnapshots) entry(key string) *shardSnapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byKey == nil {
		c.byKey = make(map[string]*shardSnapshot)
	}
	c.clock++
	e := c.byKey[key]
	if e == nil {
		e = &shardSnapshot{}
		c.byKey[key] = e
	}
	e.used = c.clock
	for len(c.byKey) > maxShardSnapshots {
		oldest, oldestKey := uint64(0), ""
		for k, o := range c.byKey {
			if oldestKey == "" || o.used < oldest {
				oldest, oldestKey = o.used, k
			}
		}
		// A stream building the evicted entry still finishes with it; only
		// the sharing ends.
		delete(c.byKey, oldestKey)
	}
	return e
}

// dropStale forgets every encoding not of roleRev in cluster: a change to
// the role makes them all stale, and they need not stay in memory until
// their shard's next node connects.
func (c *shardSnapshots) dropStale(cluster uint64, roleRev int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.byKey {
		if s := e.snap.Load(); s != nil && (s.cluster != cluster || s.roleRev != roleRev) {
			e.snap.CompareAndSwap(s, nil)
		}
	}
}

// shardSnapshot returns the encoded snapshot of role for shard sh at the
// view's revision: the role's own for every tenant, else the shard's,
// encoded once per (shard, role revision) and shared.
func (d *Distributor) shardSnapshot(role int, sh *shard) (*encodedSnapshot, int64, error) {
	if sh == nil {
		return d.view.snapshot(role)
	}
	if role != roleEdge {
		return nil, 0, errors.New("only edges have shards")
	}
	e := d.shardSnaps.entry(sh.key)
	e.build.Lock()
	defer e.build.Unlock()
	resources, wires, rev, cluster, roleRev, cached := d.view.selectResources(role, sh.servesKey, e.snap.Load())
	if cached != nil {
		return cached, rev, nil
	}
	e.snap.Store(nil)
	d.shardSnaps.dropStale(cluster, roleRev)
	s, err := assembleSnapshot(cluster, roleRev, resources, wires, maxChunkBytes)
	if err != nil {
		return nil, 0, fmt.Errorf("shard %s: %w", sh, err)
	}
	e.snap.Store(s)
	return s, rev, nil
}

// selectResources returns the resources of role whose key keep accepts,
// with the view's revision, cluster and the role's revision, all read under
// one lock; or, when have is an encoding of that same role revision and
// cluster, have itself and no resources. It is the one place sharding reads
// the view's state.
func (v *view) selectResources(role int, keep func(key string) bool, have *encodedSnapshot) (resources []*hookgatev1.ConfigResource, wires [][]byte, rev int64, cluster uint64, roleRev int64, cached *encodedSnapshot) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	rev, cluster, roleRev = v.rev, v.cluster, v.roleRev[role]
	if have != nil && have.cluster == cluster && have.roleRev == roleRev {
		return nil, nil, rev, cluster, roleRev, have
	}
	for k, it := range v.state[role] {
		if keep(k) {
			resources = append(resources, it.res)
			wires = append(wires, it.wire)
		}
	}
	return resources, wires, rev, cluster, roleRev, nil
}
