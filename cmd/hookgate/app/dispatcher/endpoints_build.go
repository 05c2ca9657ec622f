package dispatcher

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/hookgate/hookgate/dataplane/configsync"
	"github.com/hookgate/hookgate/dataplane/dispatch"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// indexBuilder builds the index of one update (configsync.KeptBuilder).
// A snapshot's (fresh) owns everything it builds and changes it in place;
// a delta's starts from a shallow copy of the previous index and clones a
// shard, a subscription map, a group or the tenants before changing them.
type indexBuilder struct {
	x     *endpointIndex
	ix    *index
	fresh bool
	now   time.Time
	// ownIDs and ownSubs mark the shards this delta cloned already.
	ownIDs, ownSubs [indexShards]bool
	ownTenants      bool
	tenantsChanged  bool
	// strs interns tenants, applications and event types; lists the event
	// type lists, so endpoints with the same types share one slice.
	strs  map[string]string
	lists map[string][]string
}

// Begin implements configsync.Keeper.
func (x *endpointIndex) Begin(prev configsync.Kept) configsync.KeptBuilder {
	b := &indexBuilder{x: x, now: x.now(), strs: map[string]string{}, lists: map[string][]string{}}
	p, _ := prev.(*index)
	if p == nil {
		b.fresh, b.ownTenants = true, true
		b.ix = &index{seed: x.seed, tenants: map[string]*hookgatev1.ConfigResource{}}
		return b
	}
	next := *p
	next.touched = nil
	b.ix = &next
	return b
}

// Put implements configsync.KeptBuilder.
func (b *indexBuilder) Put(r *hookgatev1.ConfigResource) error {
	if t := r.GetTenant(); t != nil {
		if !strings.HasPrefix(r.GetKey(), "tenant/") {
			return fmt.Errorf("resource %q: a tenant under another kind's key", r.GetKey())
		}
		b.tenants()[r.GetKey()] = r
		return nil
	}
	ep := r.GetEndpoint()
	if ep == nil {
		return fmt.Errorf("resource %q: not an endpoint or a tenant", r.GetKey())
	}
	if ep.GetTenant() == "" || ep.GetId() == "" || r.GetKey() != "endpoint/"+ep.GetTenant()+"/"+ep.GetId() {
		return fmt.Errorf("resource %q: key does not name its endpoint", r.GetKey())
	}
	k := endpointKey{ep.GetTenant(), ep.GetId()}
	b.remove(k)
	if !ep.GetEnabled() {
		return nil
	}
	if e, ok := b.entry(ep); ok {
		b.add(e)
	}
	return nil
}

// Delete implements configsync.KeptBuilder.
func (b *indexBuilder) Delete(key string) {
	if strings.HasPrefix(key, "tenant/") {
		if _, ok := b.ix.tenants[key]; ok {
			delete(b.tenants(), key)
		}
		return
	}
	tenant, id, ok := strings.Cut(strings.TrimPrefix(key, "endpoint/"), "/")
	if ok {
		b.remove(endpointKey{tenant, id})
	}
}

// Finish implements configsync.KeptBuilder.
func (b *indexBuilder) Finish() configsync.Kept {
	ix := b.ix
	if b.tenantsChanged {
		ix.schedules = map[string]dispatch.Schedule{}
		for _, r := range ix.tenants {
			t := r.GetTenant()
			if len(t.GetRetrySchedule().GetDelays()) == 0 {
				continue
			}
			if sched, ok := b.x.schedule(t); ok {
				ix.schedules[t.GetTenant()] = sched
			}
		}
	}
	if b.fresh {
		// Appending left up to twice the room a group needs.
		for _, m := range ix.subscribed {
			for _, g := range m {
				if cap(g.full) > len(g.full) {
					g.full = slices.Clone(g.full)
				}
			}
		}
	}
	b.ix = nil
	return ix
}

func (b *indexBuilder) tenants() map[string]*hookgatev1.ConfigResource {
	b.tenantsChanged = true
	if !b.ownTenants {
		b.ownTenants = true
		b.ix.tenants = maps.Clone(b.ix.tenants)
		if b.ix.tenants == nil {
			b.ix.tenants = map[string]*hookgatev1.ConfigResource{}
		}
	}
	return b.ix.tenants
}

func (b *indexBuilder) shard(h uint64) *entryShard {
	i := h % indexShards
	if !b.fresh && !b.ownIDs[i] {
		b.ownIDs[i] = true
		b.ix.byID[i] = b.ix.byID[i].clone()
	}
	return &b.ix.byID[i]
}

func (b *indexBuilder) subs(app string) map[subscriptionKey]*group {
	i := b.ix.hash(app) % indexShards
	if !b.fresh && !b.ownSubs[i] {
		b.ownSubs[i] = true
		b.ix.subscribed[i] = maps.Clone(b.ix.subscribed[i])
	}
	if b.ix.subscribed[i] == nil {
		b.ix.subscribed[i] = map[subscriptionKey]*group{}
	}
	return b.ix.subscribed[i]
}

// remove drops the endpoint k, if held, from its shard and its groups.
func (b *indexBuilder) remove(k endpointKey) {
	if !b.fresh {
		b.ix.touched = append(b.ix.touched, k)
	}
	h := b.ix.hash(k.id)
	if b.ix.byID[h%indexShards].find(h, k.tenant, k.id) < 0 {
		return
	}
	sh := b.shard(h)
	i := sh.find(h, k.tenant, k.id)
	e := sh.entries[i]
	sh.remove(b.ix.seed, i)
	b.ix.n--
	for _, typ := range e.types {
		b.ungroup(subscriptionKey{k.tenant, e.app, typ}, e)
	}
}

// add puts e, whose key the index does not hold, in its shard and groups.
func (b *indexBuilder) add(e *entry) {
	h := b.ix.hash(e.ep.ID)
	b.shard(h).add(b.ix.seed, h, e)
	b.ix.n++
	m := b.subs(e.app)
	for _, typ := range e.types {
		k := subscriptionKey{e.ep.Tenant, e.app, typ}
		g := m[k]
		switch {
		case g == nil:
			g = &group{}
			m[k] = g
		case !b.fresh:
			g = &group{full: slices.Clip(g.full), expiry: g.expiry}
			m[k] = g
		}
		g.full = append(g.full, &e.ep)
		if e.rot != nil && (g.expiry.IsZero() || e.rot.expiry.Before(g.expiry)) {
			g.expiry = e.rot.expiry
		}
	}
}

// ungroup takes e out of the group k; the group's expiry is the earliest
// of those left.
func (b *indexBuilder) ungroup(k subscriptionKey, e *entry) {
	m := b.subs(k.app)
	g := m[k]
	if g == nil {
		return
	}
	full := slices.DeleteFunc(slices.Clone(g.full), func(ep *dispatch.Endpoint) bool { return ep == &e.ep })
	if len(full) == 0 {
		delete(m, k)
		return
	}
	ng := &group{full: full}
	for _, ep := range full {
		if o, ok := b.ix.lookup(k.tenant, ep.ID); ok && o.rot != nil && (ng.expiry.IsZero() || o.rot.expiry.Before(ng.expiry)) {
			ng.expiry = o.rot.expiry
		}
	}
	m[k] = ng
}

func (b *indexBuilder) intern(s string) string {
	if v, ok := b.strs[s]; ok {
		return v
	}
	b.strs[s] = s
	return s
}

func (b *indexBuilder) types(ts []string) []string {
	if len(ts) == 0 {
		return nil
	}
	key := strings.Join(ts, "\x00")
	if l, ok := b.lists[key]; ok {
		return l
	}
	l := make([]string, len(ts))
	for i, t := range ts {
		l[i] = b.intern(t)
	}
	b.lists[key] = l
	return l
}

// entry converts one endpoint; false when it has no usable current
// secret (it is then not delivered to, rather than delivered unsigned).
// Secrets expired already are dropped.
func (b *indexBuilder) entry(ep *hookgatev1.DispatchEndpoint) (*entry, bool) {
	e := &entry{app: b.intern(ep.GetApplicationId()), types: b.types(ep.GetEventTypes())}
	e.ep = dispatch.Endpoint{
		ID:            ep.GetId(),
		Tenant:        b.intern(ep.GetTenant()),
		URL:           ep.GetUrl(),
		TimeoutMS:     int(ep.GetTimeoutMs()),
		RatePerSecond: float64(ep.GetRateLimitPerSecond()),
		Burst:         int(ep.GetBurst()),
		MaxInFlight:   int(ep.GetMaxInFlight()),
	}
	if len(ep.GetHeaders()) > 0 {
		e.ep.Headers = ep.GetHeaders()
	}
	var (
		current, all []dispatch.Secret
		expires      []time.Time
		expiry       time.Time
	)
	for i, s := range ep.GetSecrets() {
		sec, err := dispatch.ParseSecret(s.GetSecret())
		if err != nil {
			// The error never carries the secret.
			b.x.log.Warn("endpoint signing secret unusable", "tenant", ep.GetTenant(), "endpoint_id", ep.GetId(), "secret", i, "err", err)
			continue
		}
		if s.GetExpireTime() == nil {
			current = append(current, sec)
			all = append(all, sec)
			expires = append(expires, time.Time{})
			continue
		}
		exp := s.GetExpireTime().AsTime()
		if !exp.After(b.now) {
			continue
		}
		all = append(all, sec)
		expires = append(expires, exp)
		if expiry.IsZero() || exp.Before(expiry) {
			expiry = exp
		}
	}
	if len(current) == 0 {
		b.x.log.Warn("endpoint has no current signing secret; not delivering to it", "tenant", ep.GetTenant(), "endpoint_id", ep.GetId())
		return nil, false
	}
	if len(all) == 1 {
		e.secret[0] = all[0]
		e.ep.Secrets = e.secret[:]
	} else {
		e.ep.Secrets = slices.Clip(all)
	}
	if !expiry.IsZero() {
		e.rot = &rotation{current: e.ep, expiry: expiry, expires: expires}
		e.rot.current.Secrets = slices.Clip(current)
	}
	return e, true
}

// schedule converts a tenant's retry_schedule: its delays are the waits
// before the 2nd, 3rd, … attempts (hookgate.v1.RetrySchedule), the first
// attempt is made on arrival. An unusable one is warned about and the
// default used.
func (x *endpointIndex) schedule(t *hookgatev1.DispatchTenant) (dispatch.Schedule, bool) {
	delays := []time.Duration{0}
	for i, d := range t.GetRetrySchedule().GetDelays() {
		if d == nil || d.CheckValid() != nil {
			x.log.Warn("tenant retry schedule unusable; using the default", "tenant", t.GetTenant(), "delay", i)
			return dispatch.Schedule{}, false
		}
		delays = append(delays, d.AsDuration())
	}
	sched, err := dispatch.NewSchedule(delays, x.scale)
	if err != nil {
		x.log.Warn("tenant retry schedule unusable; using the default", "tenant", t.GetTenant(), "err", err)
		return dispatch.Schedule{}, false
	}
	return sched, true
}

// Resources implements configsync.Kept: the tenants as received and each
// endpoint as a DispatchEndpoint made from its entry, for the cache file.
// Endpoints the index does not hold (disabled, without a usable secret)
// and secrets expired when it was built are not in it: a node restarted
// from the file delivers as this index does.
func (ix *index) Resources(fn func(*hookgatev1.ConfigResource) bool) {
	for _, r := range ix.tenants {
		if !fn(r) {
			return
		}
	}
	for i := range ix.byID {
		for _, e := range ix.byID[i].entries {
			if !fn(e.resource()) {
				return
			}
		}
	}
}

func (e *entry) resource() *hookgatev1.ConfigResource {
	ep := &hookgatev1.DispatchEndpoint{
		Tenant: e.ep.Tenant, Id: e.ep.ID, ApplicationId: e.app, Url: e.ep.URL,
		EventTypes: e.types, Enabled: true,
		RateLimitPerSecond: int32(e.ep.RatePerSecond), Burst: int32(e.ep.Burst),
		MaxInFlight: int32(e.ep.MaxInFlight), TimeoutMs: int32(e.ep.TimeoutMS),
		Headers: e.ep.Headers,
	}
	for i, s := range e.ep.Secrets {
		sec := &hookgatev1.SigningSecret{Secret: s.Reveal()}
		if e.rot != nil && !e.rot.expires[i].IsZero() {
			sec.ExpireTime = timestamppb.New(e.rot.expires[i])
		}
		ep.Secrets = append(ep.Secrets, sec)
	}
	return &hookgatev1.ConfigResource{
		Key:      "endpoint/" + e.ep.Tenant + "/" + e.ep.ID,
		Resource: &hookgatev1.ConfigResource_Endpoint{Endpoint: ep},
	}
}
