package store

import (
	"context"
	"fmt"

	storagev1 "github.com/hookgate/hookgate/gen/hookgate/storage/v1"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// CreateApp stores a new application and its uid index in one transaction:
// ErrNotFound when the tenant does not exist, ErrAlreadyExists when the uid
// is taken.
func (s *Store) CreateApp(ctx context.Context, rec *storagev1.ApplicationRecord) (int64, error) {
	a := rec.GetApplication()
	key := AppKey(a.GetTenant(), a.GetId())
	val, err := marshal(rec)
	if err != nil {
		return 0, fmt.Errorf("create application %s: %w", a.GetId(), err)
	}
	cmps := []clientv3.Cmp{
		clientv3.Compare(clientv3.CreateRevision(tenantKey(a.GetTenant())), ">", 0),
		clientv3.Compare(clientv3.CreateRevision(key), "=", 0),
	}
	ops := []clientv3.Op{clientv3.OpPut(key, val)}
	if uid := a.GetUid(); uid != "" {
		cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(appUIDKey(a.GetTenant(), uid)), "=", 0))
		ops = append(ops, clientv3.OpPut(appUIDKey(a.GetTenant(), uid), a.GetId()))
	}
	resp, err := s.kv.Txn(ctx).If(cmps...).Then(ops...).Commit()
	if err != nil {
		return 0, fmt.Errorf("create application %s: %w", a.GetId(), err)
	}
	if !resp.Succeeded {
		if _, err := s.Tenant(ctx, a.GetTenant()); err != nil {
			return 0, err
		}
		return 0, fmt.Errorf("application uid %q in tenant %s: %w", a.GetUid(), a.GetTenant(), ErrAlreadyExists)
	}
	return resp.Header.Revision, nil
}

// App reads one application record and its revision.
func (s *Store) App(ctx context.Context, tenant, id string) (*storagev1.ApplicationRecord, int64, error) {
	rec := &storagev1.ApplicationRecord{}
	rev, err := s.get(ctx, AppKey(tenant, id), rec)
	if err != nil {
		return nil, 0, fmt.Errorf("application %s: %w", id, err)
	}
	return rec, rev, nil
}

// AppItem is an application record with the revision it was read at.
type AppItem struct {
	Record   *storagev1.ApplicationRecord
	Revision int64
}

// ListApps pages through a tenant's applications in id order.
func (s *Store) ListApps(ctx context.Context, tenant string, page Page) ([]AppItem, string, error) {
	var out []AppItem
	next, err := s.scan(ctx, AppsPrefix+tenant+"/", page, func(kv keyValue) (bool, error) {
		rec := &storagev1.ApplicationRecord{}
		if err := unmarshal(kv, rec); err != nil {
			return false, err
		}
		out = append(out, AppItem{Record: rec, Revision: kv.modRevision})
		return true, nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("list applications of %s: %w", tenant, err)
	}
	return out, next, nil
}

// UpdateApp applies mutate to the stored record and writes it back with its
// uid index; ifRevision as in UpdateWebhook. A uid taken by another
// application is ErrAlreadyExists.
func (s *Store) UpdateApp(ctx context.Context, tenant, id string, ifRevision int64, mutate func(*storagev1.ApplicationRecord) error) (*storagev1.ApplicationRecord, int64, error) {
	key := AppKey(tenant, id)
	for attempt := 0; ; attempt++ {
		rec, rev, err := s.App(ctx, tenant, id)
		if err != nil {
			return nil, 0, err
		}
		if ifRevision != 0 && ifRevision != rev {
			return nil, 0, fmt.Errorf("application %s: etag %d is stale: %w", id, ifRevision, ErrConflict)
		}
		oldUID := rec.GetApplication().GetUid()
		if err := mutate(rec); err != nil {
			return nil, 0, err
		}
		val, err := marshal(rec)
		if err != nil {
			return nil, 0, fmt.Errorf("update application %s: %w", id, err)
		}
		cmps := []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(key), "=", rev)}
		ops := []clientv3.Op{clientv3.OpPut(key, val)}
		newUID := rec.GetApplication().GetUid()
		if newUID != oldUID {
			if oldUID != "" {
				ops = append(ops, clientv3.OpDelete(appUIDKey(tenant, oldUID)))
			}
			if newUID != "" {
				cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(appUIDKey(tenant, newUID)), "=", 0))
				ops = append(ops, clientv3.OpPut(appUIDKey(tenant, newUID), id))
			}
		}
		resp, err := s.kv.Txn(ctx).If(cmps...).Then(ops...).Commit()
		if err != nil {
			return nil, 0, fmt.Errorf("update application %s: %w", id, err)
		}
		if resp.Succeeded {
			return rec, resp.Header.Revision, nil
		}
		if newUID != oldUID && newUID != "" {
			taken, err := s.kv.Get(ctx, appUIDKey(tenant, newUID), clientv3.WithCountOnly())
			if err != nil {
				return nil, 0, fmt.Errorf("update application %s: %w", id, err)
			}
			if taken.Count > 0 {
				return nil, 0, fmt.Errorf("application uid %q in tenant %s: %w", newUID, tenant, ErrAlreadyExists)
			}
		}
		if ifRevision != 0 || attempt == 3 {
			return nil, 0, fmt.Errorf("application %s changed concurrently: %w", id, ErrConflict)
		}
	}
}

// DeleteApp removes an application, its uid index and every endpoint of it
// in one transaction: the endpoints go with one range delete by prefix, so
// an application with any number of endpoints can be deleted, and an
// endpoint created meanwhile (CreateEndpoint compares the application) is
// either refused or removed with the rest. The endpoints' id index entries
// read before are dropped in the same transaction; one of an endpoint
// created between the read and the deletion is left behind, names no
// record and reads as not found.
func (s *Store) DeleteApp(ctx context.Context, tenant, id string, ifRevision int64) error {
	rec, rev, err := s.App(ctx, tenant, id)
	if err != nil {
		return err
	}
	if ifRevision != 0 && ifRevision != rev {
		return fmt.Errorf("application %s: etag %d is stale: %w", id, ifRevision, ErrConflict)
	}
	prefix := EndpointsPrefix + tenant + "/" + id + "/"
	eps, err := s.kv.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return fmt.Errorf("delete application %s: list endpoints: %w", id, err)
	}
	key := AppKey(tenant, id)
	ops := []clientv3.Op{clientv3.OpDelete(key), clientv3.OpDelete(prefix, clientv3.WithPrefix())}
	if uid := rec.GetApplication().GetUid(); uid != "" {
		ops = append(ops, clientv3.OpDelete(appUIDKey(tenant, uid)))
	}
	for _, kv := range eps.Kvs {
		ops = append(ops, clientv3.OpDelete(endpointIDKey(tenant, string(kv.Key[len(prefix):]))))
	}
	resp, err := s.kv.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(key), "=", rev)).Then(ops...).Commit()
	if err != nil {
		return fmt.Errorf("delete application %s: %w", id, err)
	}
	if !resp.Succeeded {
		return fmt.Errorf("application %s changed concurrently: %w", id, ErrConflict)
	}
	return nil
}
