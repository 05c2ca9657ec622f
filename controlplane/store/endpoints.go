package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	storagev1 "github.com/hookgate/hookgate/gen/hookgate/storage/v1"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// ErrEventTypeRef means an endpoint subscribes to an event type that does
// not exist or is archived; the error is an *EventTypeRefError.
var ErrEventTypeRef = errors.New("unusable event type")

// EventTypeRefError names the event type an endpoint cannot subscribe to.
type EventTypeRefError struct {
	Name     string
	Archived bool
}

func (e *EventTypeRefError) Error() string {
	if e.Archived {
		return fmt.Sprintf("event type %q is archived", e.Name)
	}
	return fmt.Sprintf("event type %q does not exist", e.Name)
}

// Is makes errors.Is(err, ErrEventTypeRef) hold.
func (e *EventTypeRefError) Is(target error) bool { return target == ErrEventTypeRef }

// eventTypeGuard reads the event types an endpoint subscribes to and
// returns compares that hold only while each is as read: it exists and,
// unless kept names it (a subscription the endpoint already had), is not
// archived. An archived type stays subscribed where it was, so its history
// keeps its endpoints.
func (s *Store) eventTypeGuard(ctx context.Context, tenant string, names, kept []string) ([]clientv3.Cmp, error) {
	var cmps []clientv3.Cmp
	for _, name := range names {
		rec, rev, err := s.EventType(ctx, tenant, name)
		if errors.Is(err, ErrNotFound) {
			return nil, &EventTypeRefError{Name: name}
		}
		if err != nil {
			return nil, err
		}
		if rec.GetEventType().GetArchived() && !slices.Contains(kept, name) {
			return nil, &EventTypeRefError{Name: name, Archived: true}
		}
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(EventTypeKey(tenant, name)), "=", rev))
	}
	return cmps, nil
}

// CreateEndpoint stores a new endpoint and its id index in one transaction,
// guarded by its tenant, its application and its event types:
// ErrNotFound for a missing tenant or application, an *EventTypeRefError
// for an event type it cannot subscribe to.
func (s *Store) CreateEndpoint(ctx context.Context, rec *storagev1.EndpointRecord) (int64, error) {
	ep := rec.GetEndpoint()
	tenant, app, id := ep.GetTenant(), ep.GetApplicationId(), ep.GetId()
	key := EndpointKey(tenant, app, id)
	val, err := marshal(rec)
	if err != nil {
		return 0, fmt.Errorf("create endpoint %s: %w", id, err)
	}
	for attempt := 0; ; attempt++ {
		guard, err := s.eventTypeGuard(ctx, tenant, ep.GetEventTypes(), nil)
		if err != nil {
			return 0, err
		}
		cmps := append([]clientv3.Cmp{
			clientv3.Compare(clientv3.CreateRevision(tenantKey(tenant)), ">", 0),
			clientv3.Compare(clientv3.CreateRevision(AppKey(tenant, app)), ">", 0),
			clientv3.Compare(clientv3.CreateRevision(key), "=", 0),
		}, guard...)
		ops := []clientv3.Op{clientv3.OpPut(key, val), clientv3.OpPut(endpointIDKey(tenant, id), app)}
		if k := endpointExpiryKey(rec); k != "" {
			ops = append(ops, clientv3.OpPut(k, ""))
		}
		resp, err := s.kv.Txn(ctx).If(cmps...).Then(ops...).Commit()
		if err != nil {
			return 0, fmt.Errorf("create endpoint %s: %w", id, err)
		}
		if resp.Succeeded {
			return resp.Header.Revision, nil
		}
		if _, err := s.Tenant(ctx, tenant); err != nil {
			return 0, err
		}
		if _, _, err := s.App(ctx, tenant, app); err != nil {
			return 0, err
		}
		if attempt == 3 {
			return 0, fmt.Errorf("create endpoint %s: event types changed concurrently: %w", id, ErrConflict)
		}
	}
}

// Endpoint reads one endpoint record, through its id index, and its
// revision.
func (s *Store) Endpoint(ctx context.Context, tenant, id string) (*storagev1.EndpointRecord, int64, error) {
	resp, err := s.kv.Get(ctx, endpointIDKey(tenant, id))
	if err != nil {
		return nil, 0, fmt.Errorf("endpoint %s: %w", id, err)
	}
	if len(resp.Kvs) == 0 {
		return nil, 0, fmt.Errorf("endpoint %s: %w", id, ErrNotFound)
	}
	rec := &storagev1.EndpointRecord{}
	// An index entry left by a deleted application names no record.
	rev, err := s.get(ctx, EndpointKey(tenant, string(resp.Kvs[0].Value), id), rec)
	if err != nil {
		return nil, 0, fmt.Errorf("endpoint %s: %w", id, err)
	}
	return rec, rev, nil
}

// EndpointItem is an endpoint record with the revision it was read at.
type EndpointItem struct {
	Record   *storagev1.EndpointRecord
	Revision int64
}

// ListEndpoints pages through a tenant's endpoints, or one application's
// when appID is set, in (application, id) order.
func (s *Store) ListEndpoints(ctx context.Context, tenant, appID string, page Page) ([]EndpointItem, string, error) {
	prefix := EndpointsPrefix + tenant + "/"
	if appID != "" {
		prefix += appID + "/"
	}
	var out []EndpointItem
	next, err := s.scan(ctx, prefix, page, func(kv keyValue) (bool, error) {
		rec := &storagev1.EndpointRecord{}
		if err := unmarshal(kv, rec); err != nil {
			return false, err
		}
		out = append(out, EndpointItem{Record: rec, Revision: kv.modRevision})
		return true, nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("list endpoints of %s: %w", tenant, err)
	}
	return out, next, nil
}

// UpdateEndpoint applies mutate to the stored record and writes it back
// with its expiry index, guarded by its event types (newly subscribed ones
// must not be archived); ifRevision as in UpdateWebhook.
func (s *Store) UpdateEndpoint(ctx context.Context, tenant, id string, ifRevision int64, mutate func(*storagev1.EndpointRecord) error) (*storagev1.EndpointRecord, int64, error) {
	for attempt := 0; ; attempt++ {
		rec, rev, err := s.Endpoint(ctx, tenant, id)
		if err != nil {
			return nil, 0, err
		}
		if ifRevision != 0 && ifRevision != rev {
			return nil, 0, fmt.Errorf("endpoint %s: etag %d is stale: %w", id, ifRevision, ErrConflict)
		}
		ep := rec.GetEndpoint()
		key := EndpointKey(tenant, ep.GetApplicationId(), id)
		kept := slices.Clone(ep.GetEventTypes())
		var before []string
		if k := endpointExpiryKey(rec); k != "" {
			before = append(before, k)
		}
		if err := mutate(rec); err != nil {
			return nil, 0, err
		}
		var cmps []clientv3.Cmp
		if !slices.Equal(kept, rec.GetEndpoint().GetEventTypes()) {
			if cmps, err = s.eventTypeGuard(ctx, tenant, rec.GetEndpoint().GetEventTypes(), kept); err != nil {
				return nil, 0, err
			}
		}
		val, err := marshal(rec)
		if err != nil {
			return nil, 0, fmt.Errorf("update endpoint %s: %w", id, err)
		}
		var after []string
		if k := endpointExpiryKey(rec); k != "" {
			after = append(after, k)
		}
		ops := append([]clientv3.Op{clientv3.OpPut(key, val)}, indexOps(before, after)...)
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(key), "=", rev))
		resp, err := s.kv.Txn(ctx).If(cmps...).Then(ops...).Commit()
		if err != nil {
			return nil, 0, fmt.Errorf("update endpoint %s: %w", id, err)
		}
		if resp.Succeeded {
			return rec, resp.Header.Revision, nil
		}
		if ifRevision != 0 || attempt == 3 {
			return nil, 0, fmt.Errorf("endpoint %s changed concurrently: %w", id, ErrConflict)
		}
	}
}

// DeleteEndpoint removes an endpoint, its id index and its expiry entry.
func (s *Store) DeleteEndpoint(ctx context.Context, tenant, id string, ifRevision int64) error {
	rec, rev, err := s.Endpoint(ctx, tenant, id)
	if err != nil {
		return err
	}
	if ifRevision != 0 && ifRevision != rev {
		return fmt.Errorf("endpoint %s: etag %d is stale: %w", id, ifRevision, ErrConflict)
	}
	key := EndpointKey(tenant, rec.GetEndpoint().GetApplicationId(), id)
	ops := []clientv3.Op{clientv3.OpDelete(key), clientv3.OpDelete(endpointIDKey(tenant, id))}
	if k := endpointExpiryKey(rec); k != "" {
		ops = append(ops, clientv3.OpDelete(k))
	}
	resp, err := s.kv.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(key), "=", rev)).Then(ops...).Commit()
	if err != nil {
		return fmt.Errorf("delete endpoint %s: %w", id, err)
	}
	if !resp.Succeeded {
		return fmt.Errorf("endpoint %s changed concurrently: %w", id, ErrConflict)
	}
	return nil
}

// endpointExpiryKey is the expiry-index entry of an endpoint's previous
// signing secret: /hookgate/key-expiries/{stamp}/{tenant}/endpoints/{id};
// "" without one.
func endpointExpiryKey(rec *storagev1.EndpointRecord) string {
	ps := rec.GetPreviousSecret()
	if ps == nil || ps.GetExpireTime() == nil {
		return ""
	}
	ep := rec.GetEndpoint()
	return KeyExpiriesPrefix + expiryStamp(ps.GetExpireTime().AsTime()) + "/" + ep.GetTenant() + "/endpoints/" + ep.GetId()
}

// expireEndpoint drops an endpoint's previous signing secret if the index
// entry idx is still its entry; errNothingToDo otherwise.
func (s *Store) expireEndpoint(ctx context.Context, tenant, id, idx string, now time.Time) error {
	_, _, err := s.UpdateEndpoint(ctx, tenant, id, 0, func(rec *storagev1.EndpointRecord) error {
		if endpointExpiryKey(rec) != idx || rec.GetPreviousSecret().GetExpireTime().AsTime().After(now) {
			return errNothingToDo
		}
		rec.PreviousSecret = nil
		rec.Endpoint.PreviousSecretExpireTime = nil
		return nil
	})
	return err
}
