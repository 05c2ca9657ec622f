package dispatcher

import (
	"hash/maphash"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hookgate/hookgate/dataplane/configsync"
	"github.com/hookgate/hookgate/dataplane/dispatch"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
)

// indexShards splits an index so that a delta copies only the shards it
// touches (as the config table's shards): with 1,000,000 endpoints a
// one-endpoint change copies about 4,000 slots, not the whole index.
const indexShards = 256

// endpointIndex is the engine's dispatch.Endpoints and the config table's
// configsync.Keeper of endpoints and tenants: the table hands it those
// resources as they arrive and keeps no message of them, so an endpoint is
// held once, in its compact entry (docs/design.md "Compact tables"). A
// message's fan-out is one map lookup, never a scan of the endpoints.
type endpointIndex struct {
	log *slog.Logger
	now func() time.Time
	// scale is --retry-time-scale, applied to tenants' schedules as the
	// engine applies it to the default.
	scale float64
	seed  maphash.Seed
	// cur is the index of the table's current Snapshot, swapped in by
	// update right after the table swaps the Snapshot in.
	cur atomic.Pointer[index]
	// cancel is told of every endpoint an update disabled or deleted.
	cancel func(tenant, endpointID string)
}

var (
	_ dispatch.Endpoints = (*endpointIndex)(nil)
	_ configsync.Keeper  = (*endpointIndex)(nil)
	_ configsync.Kept    = (*index)(nil)
)

// index is the immutable content of one Snapshot: the enabled endpoints
// with a usable current secret, their subscriptions and the tenants. A
// delta builds the next index copying only the shards and groups it
// changes.
type index struct {
	seed maphash.Seed
	n    int
	// byID holds the entries by the hash of their id.
	byID [indexShards]entryShard
	// subscribed holds, by the hash of the application id, the enabled
	// endpoints of an application subscribed to a type.
	subscribed [indexShards]map[subscriptionKey]*group
	// tenants holds the tenant resources by key (few, kept as received);
	// schedules their own retry schedules by tenant, derived from them (a
	// tenant without one uses the engine's default).
	tenants   map[string]*hookgatev1.ConfigResource
	schedules map[string]dispatch.Schedule
	// touched lists the endpoints the delta that built this index put or
	// deleted, so update cancels without comparing every endpoint.
	touched []endpointKey
}

type endpointKey struct{ tenant, id string }

type subscriptionKey struct{ tenant, app, eventType string }

// entry is one endpoint in one allocation: ep signs with every secret; a
// rotation, when it has rotated secrets, says until when and what signs
// after. Its strings are the received ones (id, URL) or interned (tenant,
// application, event types).
type entry struct {
	ep    dispatch.Endpoint
	app   string
	types []string
	rot   *rotation
	// secret holds ep.Secrets for the usual endpoint with one secret.
	secret [1]dispatch.Secret
}

// rotation is an endpoint's grace period: after expiry (the earliest
// expire_time of its rotated secrets) only current signs.
type rotation struct {
	current dispatch.Endpoint
	expiry  time.Time
	// expires is each of ep.Secrets' expire_time, zero for a current one
	// (to give the resource back, for the cache file).
	expires []time.Time
}

// group is one subscription list, with the earliest rotation expiry of its
// endpoints so that a lookup before it returns the prebuilt slice.
type group struct {
	full   []*dispatch.Endpoint
	expiry time.Time
}

func newEndpointIndex(log *slog.Logger, now func() time.Time, scale float64, cancel func(tenant, endpointID string)) *endpointIndex {
	x := &endpointIndex{log: log, now: now, scale: scale, cancel: cancel, seed: maphash.MakeSeed()}
	x.cur.Store(x.empty())
	return x
}

func (x *endpointIndex) empty() *index { return &index{seed: x.seed} }

// newTable returns a config table whose endpoints and tenants x keeps.
func (x *endpointIndex) newTable() *configsync.Table {
	t := configsync.NewTable(configsync.WithKeeper(x))
	t.OnUpdate(x.update)
	return t
}

// Takes implements configsync.Keeper: endpoints and tenants.
func (x *endpointIndex) Takes(key string) bool {
	return strings.HasPrefix(key, "endpoint/") || strings.HasPrefix(key, "tenant/")
}

// update swaps in the index of u's Snapshot and reports the endpoints
// that were enabled before and are disabled or gone now. It runs on the
// table's apply goroutine and does no I/O.
func (x *endpointIndex) update(u configsync.Update) {
	next, _ := u.Snapshot.Kept().(*index)
	if next == nil {
		next = x.empty()
	}
	prev := x.cur.Swap(next)
	if prev == next {
		return
	}
	if u.Full {
		for _, sh := range prev.byID {
			for _, e := range sh.entries {
				if _, ok := next.lookup(e.ep.Tenant, e.ep.ID); !ok {
					x.cancel(e.ep.Tenant, e.ep.ID)
				}
			}
		}
		return
	}
	for _, k := range next.touched {
		_, was := prev.lookup(k.tenant, k.id)
		if _, is := next.lookup(k.tenant, k.id); was && !is {
			x.cancel(k.tenant, k.id)
		}
	}
}

func (ix *index) hash(s string) uint64 { return maphash.String(ix.seed, s) }

// lookup returns the entry of {tenant}/{id}, without allocating.
func (ix *index) lookup(tenant, id string) (*entry, bool) {
	if ix.n == 0 {
		return nil, false
	}
	h := ix.hash(id)
	sh := &ix.byID[h%indexShards]
	if i := sh.find(h, tenant, id); i >= 0 {
		return sh.entries[i], true
	}
	return nil, false
}

// Schedule is the engine's EngineDeps.Schedules: the tenant's own retry
// schedule, scaled; false for the default.
func (x *endpointIndex) Schedule(tenant string) (dispatch.Schedule, bool) {
	s, ok := x.cur.Load().schedules[tenant]
	return s, ok
}

// at is the endpoint as it signs at now: without rotated secrets past
// their expiry.
func (e *entry) at(now time.Time) *dispatch.Endpoint {
	if e.rot == nil || now.Before(e.rot.expiry) {
		return &e.ep
	}
	return &e.rot.current
}

// Subscribed implements dispatch.Endpoints.
func (x *endpointIndex) Subscribed(tenant, appID, eventType string) []*dispatch.Endpoint {
	ix := x.cur.Load()
	if ix.n == 0 {
		return nil
	}
	g := ix.subscribed[ix.hash(appID)%indexShards][subscriptionKey{tenant, appID, eventType}]
	if g == nil {
		return nil
	}
	now := x.now()
	if g.expiry.IsZero() || now.Before(g.expiry) {
		return g.full
	}
	out := make([]*dispatch.Endpoint, 0, len(g.full))
	for _, ep := range g.full {
		if e, ok := ix.lookup(tenant, ep.ID); ok {
			out = append(out, e.at(now))
		}
	}
	return out
}

// Endpoint implements dispatch.Endpoints.
func (x *endpointIndex) Endpoint(tenant, id string) (*dispatch.Endpoint, bool) {
	e, ok := x.cur.Load().lookup(tenant, id)
	if !ok {
		return nil, false
	}
	return e.at(x.now()), true
}
