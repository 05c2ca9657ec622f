package store

import (
	"context"
	"fmt"

	storagev1 "github.com/hookgate/hookgate/gen/hookgate/storage/v1"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// CreateEventType stores a new event type: ErrNotFound when the tenant does
// not exist, ErrAlreadyExists when the name is taken.
func (s *Store) CreateEventType(ctx context.Context, rec *storagev1.EventTypeRecord) (int64, error) {
	et := rec.GetEventType()
	key := EventTypeKey(et.GetTenant(), et.GetName())
	val, err := marshal(rec)
	if err != nil {
		return 0, fmt.Errorf("create event type %s: %w", et.GetName(), err)
	}
	resp, err := s.kv.Txn(ctx).
		If(
			clientv3.Compare(clientv3.CreateRevision(tenantKey(et.GetTenant())), ">", 0),
			clientv3.Compare(clientv3.CreateRevision(key), "=", 0),
		).
		Then(clientv3.OpPut(key, val)).Commit()
	if err != nil {
		return 0, fmt.Errorf("create event type %s: %w", et.GetName(), err)
	}
	if !resp.Succeeded {
		if _, err := s.Tenant(ctx, et.GetTenant()); err != nil {
			return 0, err
		}
		return 0, fmt.Errorf("event type %s in tenant %s: %w", et.GetName(), et.GetTenant(), ErrAlreadyExists)
	}
	return resp.Header.Revision, nil
}

// EventType reads one event type record and its revision.
func (s *Store) EventType(ctx context.Context, tenant, name string) (*storagev1.EventTypeRecord, int64, error) {
	rec := &storagev1.EventTypeRecord{}
	rev, err := s.get(ctx, EventTypeKey(tenant, name), rec)
	if err != nil {
		return nil, 0, fmt.Errorf("event type %s: %w", name, err)
	}
	return rec, rev, nil
}

// EventTypeItem is an event type record with the revision it was read at.
type EventTypeItem struct {
	Record   *storagev1.EventTypeRecord
	Revision int64
}

// ListEventTypes pages through a tenant's event types in name order; match
// filters.
func (s *Store) ListEventTypes(ctx context.Context, tenant string, page Page, match func(*storagev1.EventTypeRecord) bool) ([]EventTypeItem, string, error) {
	var out []EventTypeItem
	next, err := s.scan(ctx, EventTypesPrefix+tenant+"/", page, func(kv keyValue) (bool, error) {
		rec := &storagev1.EventTypeRecord{}
		if err := unmarshal(kv, rec); err != nil {
			return false, err
		}
		if match != nil && !match(rec) {
			return false, nil
		}
		out = append(out, EventTypeItem{Record: rec, Revision: kv.modRevision})
		return true, nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("list event types of %s: %w", tenant, err)
	}
	return out, next, nil
}

// UpdateEventType applies mutate to the stored record and writes it back;
// ifRevision as in UpdateWebhook.
func (s *Store) UpdateEventType(ctx context.Context, tenant, name string, ifRevision int64, mutate func(*storagev1.EventTypeRecord) error) (*storagev1.EventTypeRecord, int64, error) {
	key := EventTypeKey(tenant, name)
	for attempt := 0; ; attempt++ {
		rec, rev, err := s.EventType(ctx, tenant, name)
		if err != nil {
			return nil, 0, err
		}
		if ifRevision != 0 && ifRevision != rev {
			return nil, 0, fmt.Errorf("event type %s: etag %d is stale: %w", name, ifRevision, ErrConflict)
		}
		if err := mutate(rec); err != nil {
			return nil, 0, err
		}
		val, err := marshal(rec)
		if err != nil {
			return nil, 0, fmt.Errorf("update event type %s: %w", name, err)
		}
		resp, err := s.kv.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(key), "=", rev)).
			Then(clientv3.OpPut(key, val)).Commit()
		if err != nil {
			return nil, 0, fmt.Errorf("update event type %s: %w", name, err)
		}
		if resp.Succeeded {
			return rec, resp.Header.Revision, nil
		}
		if ifRevision != 0 || attempt == 3 {
			return nil, 0, fmt.Errorf("event type %s changed concurrently: %w", name, ErrConflict)
		}
	}
}
