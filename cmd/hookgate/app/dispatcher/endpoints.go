package dispatcher

import (
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/hookgate/hookgate/dataplane/configsync"
	"github.com/hookgate/hookgate/dataplane/dispatch"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
)

// endpointIndex is the engine's dispatch.Endpoints over the config table:
// it rebuilds an index on every table update, so a message's fan-out is
// one map lookup, never a scan of the endpoints.
type endpointIndex struct {
	log *slog.Logger
	now func() time.Time
	// scale is --retry-time-scale, applied to tenants' schedules as the
	// engine applies it to the default.
	scale float64
	cur   atomic.Pointer[index]
	// cancel is told of every endpoint an update disabled or deleted.
	cancel func(tenant, endpointID string)
}

var _ dispatch.Endpoints = (*endpointIndex)(nil)

// index is one immutable build of the table's endpoints. Its keys are
// structs of the resources' own strings, so building one copies no string
// and a lookup allocates nothing.
type index struct {
	// byID holds the enabled endpoints.
	byID map[endpointKey]*entry
	// subscribed holds the enabled endpoints of the application subscribed
	// to the type.
	subscribed map[subscriptionKey]*group
	// schedules holds the tenants' own retry schedules, by tenant; a
	// tenant without one uses the engine's default.
	schedules map[string]dispatch.Schedule
}

type endpointKey struct{ tenant, id string }

type subscriptionKey struct{ tenant, app, eventType string }

// entry is one endpoint: full signs with every secret; after expiry (the
// earliest expire_time of its rotated secrets) only current does. Without
// rotated secrets (expiry zero) current is full: one Endpoint, not two.
type entry struct {
	full, current *dispatch.Endpoint
	expiry        time.Time
}

// group is one subscription list, with the earliest expiry of its entries
// so that a lookup before it returns the prebuilt slice.
type group struct {
	entries []*entry
	full    []*dispatch.Endpoint
	expiry  time.Time
}

func newEndpointIndex(log *slog.Logger, now func() time.Time, scale float64, cancel func(tenant, endpointID string)) *endpointIndex {
	x := &endpointIndex{log: log, now: now, scale: scale, cancel: cancel}
	x.cur.Store(&index{})
	return x
}

// update rebuilds the index from u's snapshot and reports the endpoints
// that were enabled before and are disabled or gone now. It runs on the
// table's apply goroutine and does no I/O.
func (x *endpointIndex) update(u configsync.Update) {
	next := x.build(u.Snapshot)
	prev := x.cur.Swap(next)
	for key := range prev.byID {
		if _, ok := next.byID[key]; !ok {
			x.cancel(key.tenant, key.id)
		}
	}
}

func (x *endpointIndex) build(s *configsync.Snapshot) *index {
	ix := &index{byID: map[endpointKey]*entry{}, subscribed: map[subscriptionKey]*group{}, schedules: map[string]dispatch.Schedule{}}
	s.Resources("tenant/", func(r *hookgatev1.ConfigResource) bool {
		t := r.GetTenant()
		if t == nil || len(t.GetRetrySchedule().GetDelays()) == 0 {
			return true
		}
		if sched, ok := x.schedule(t); ok {
			ix.schedules[t.GetTenant()] = sched
		}
		return true
	})
	s.Resources("endpoint/", func(r *hookgatev1.ConfigResource) bool {
		ep := r.GetEndpoint()
		if ep == nil || !ep.GetEnabled() {
			return true
		}
		e, ok := x.entry(ep)
		if !ok {
			return true
		}
		ix.byID[endpointKey{ep.GetTenant(), ep.GetId()}] = e
		for _, typ := range ep.GetEventTypes() {
			key := subscriptionKey{ep.GetTenant(), ep.GetApplicationId(), typ}
			g := ix.subscribed[key]
			if g == nil {
				g = &group{}
				ix.subscribed[key] = g
			}
			g.entries = append(g.entries, e)
			g.full = append(g.full, e.full)
			if !e.expiry.IsZero() && (g.expiry.IsZero() || e.expiry.Before(g.expiry)) {
				g.expiry = e.expiry
			}
		}
		return true
	})
	return ix
}

// entry converts one endpoint; false when it has no usable current
// secret (it is then not delivered to, rather than delivered unsigned).
func (x *endpointIndex) entry(ep *hookgatev1.DispatchEndpoint) (*entry, bool) {
	base := dispatch.Endpoint{
		ID:            ep.GetId(),
		Tenant:        ep.GetTenant(),
		URL:           ep.GetUrl(),
		Headers:       ep.GetHeaders(),
		TimeoutMS:     int(ep.GetTimeoutMs()),
		RatePerSecond: float64(ep.GetRateLimitPerSecond()),
		Burst:         int(ep.GetBurst()),
		MaxInFlight:   int(ep.GetMaxInFlight()),
	}
	var (
		current, all []dispatch.Secret
		expiry       time.Time
		now          = x.now()
	)
	for i, s := range ep.GetSecrets() {
		sec, err := dispatch.ParseSecret(s.GetSecret())
		if err != nil {
			// The error never carries the secret.
			x.log.Warn("endpoint signing secret unusable", "tenant", ep.GetTenant(), "endpoint_id", ep.GetId(), "secret", i, "err", err)
			continue
		}
		if s.GetExpireTime() == nil {
			current = append(current, sec)
			all = append(all, sec)
			continue
		}
		exp := s.GetExpireTime().AsTime()
		if !exp.After(now) {
			continue
		}
		all = append(all, sec)
		if expiry.IsZero() || exp.Before(expiry) {
			expiry = exp
		}
	}
	if len(current) == 0 {
		x.log.Warn("endpoint has no current signing secret; not delivering to it", "tenant", ep.GetTenant(), "endpoint_id", ep.GetId())
		return nil, false
	}
	full := base
	full.Secrets = slices.Clip(all)
	if expiry.IsZero() {
		return &entry{full: &full, current: &full}, true
	}
	cur := base
	cur.Secrets = slices.Clip(current)
	return &entry{full: &full, current: &cur, expiry: expiry}, true
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

// Schedule is the engine's EngineDeps.Schedules: the tenant's own retry
// schedule, scaled; false for the default.
func (x *endpointIndex) Schedule(tenant string) (dispatch.Schedule, bool) {
	s, ok := x.cur.Load().schedules[tenant]
	return s, ok
}

// at is the endpoint as it signs at now: without rotated secrets past
// their expiry.
func (e *entry) at(now time.Time) *dispatch.Endpoint {
	if e.expiry.IsZero() || now.Before(e.expiry) {
		return e.full
	}
	return e.current
}

// Subscribed implements dispatch.Endpoints.
func (x *endpointIndex) Subscribed(tenant, appID, eventType string) []*dispatch.Endpoint {
	g := x.cur.Load().subscribed[subscriptionKey{tenant, appID, eventType}]
	if g == nil {
		return nil
	}
	now := x.now()
	if g.expiry.IsZero() || now.Before(g.expiry) {
		return g.full
	}
	out := make([]*dispatch.Endpoint, len(g.entries))
	for i, e := range g.entries {
		out[i] = e.at(now)
	}
	return out
}

// Endpoint implements dispatch.Endpoints.
func (x *endpointIndex) Endpoint(tenant, id string) (*dispatch.Endpoint, bool) {
	e, ok := x.cur.Load().byID[endpointKey{tenant, id}]
	if !ok {
		return nil, false
	}
	return e.at(x.now()), true
}
