package store

import (
	"context"
	"fmt"

	storagev1 "github.com/hookgate/hookgate/gen/hookgate/storage/v1"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/proto"
)

func tenantKey(tenant string) string { return TenantsPrefix + tenant }

// CreateTenant stores a new tenant; ErrAlreadyExists when the slug is taken.
func (s *Store) CreateTenant(ctx context.Context, t *hookgatev1.Tenant) (*hookgatev1.Tenant, error) {
	val, err := marshal(&storagev1.TenantRecord{Tenant: t})
	if err != nil {
		return nil, fmt.Errorf("create tenant %s: %w", t.GetId(), err)
	}
	mirror, err := marshal(&storagev1.TenantMirror{Tenant: t})
	if err != nil {
		return nil, fmt.Errorf("create tenant %s: %w", t.GetId(), err)
	}
	resp, err := s.kv.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(tenantKey(t.GetId())), "=", 0)).
		Then(clientv3.OpPut(tenantKey(t.GetId()), val), clientv3.OpPut(TenantMirrorKey(t.GetId()), mirror)).
		Commit()
	if err != nil {
		return nil, fmt.Errorf("create tenant %s: %w", t.GetId(), err)
	}
	if !resp.Succeeded {
		return nil, fmt.Errorf("tenant %s: %w", t.GetId(), ErrAlreadyExists)
	}
	out := proto.CloneOf(t)
	out.Etag = etag(resp.Header.Revision)
	return out, nil
}

// Tenant reads one tenant.
func (s *Store) Tenant(ctx context.Context, tenant string) (*hookgatev1.Tenant, error) {
	rec := &storagev1.TenantRecord{}
	rev, err := s.get(ctx, tenantKey(tenant), rec)
	if err != nil {
		return nil, fmt.Errorf("tenant %s: %w", tenant, err)
	}
	t := rec.GetTenant()
	t.Etag = etag(rev)
	return t, nil
}

// ListTenants returns up to limit tenants after the page token.
func (s *Store) ListTenants(ctx context.Context, page Page) ([]*hookgatev1.Tenant, string, error) {
	var out []*hookgatev1.Tenant
	next, err := s.scan(ctx, TenantsPrefix, page, func(kv keyValue) (bool, error) {
		rec := &storagev1.TenantRecord{}
		if err := unmarshal(kv, rec); err != nil {
			return false, err
		}
		rec.Tenant.Etag = etag(kv.modRevision)
		out = append(out, rec.GetTenant())
		return true, nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("list tenants: %w", err)
	}
	return out, next, nil
}

// UpdateTenant replaces a tenant if its revision still matches ifRevision
// (0 means the revision read by mutate).
func (s *Store) UpdateTenant(ctx context.Context, tenant string, ifRevision int64, mutate func(*hookgatev1.Tenant) error) (*hookgatev1.Tenant, error) {
	rec := &storagev1.TenantRecord{}
	rev, err := s.get(ctx, tenantKey(tenant), rec)
	if err != nil {
		return nil, fmt.Errorf("tenant %s: %w", tenant, err)
	}
	if ifRevision != 0 && ifRevision != rev {
		return nil, fmt.Errorf("tenant %s: etag %d is stale: %w", tenant, ifRevision, ErrConflict)
	}
	if err := mutate(rec.Tenant); err != nil {
		return nil, err
	}
	val, err := marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("update tenant %s: %w", tenant, err)
	}
	// The mirror follows in the same transaction, so the config watch sees
	// the tenant's outbound settings in revision order.
	mirror, err := marshal(&storagev1.TenantMirror{Tenant: rec.Tenant})
	if err != nil {
		return nil, fmt.Errorf("update tenant %s: %w", tenant, err)
	}
	resp, err := s.kv.Txn(ctx).
		If(clientv3.Compare(clientv3.ModRevision(tenantKey(tenant)), "=", rev)).
		Then(clientv3.OpPut(tenantKey(tenant), val), clientv3.OpPut(TenantMirrorKey(tenant), mirror)).
		Commit()
	if err != nil {
		return nil, fmt.Errorf("update tenant %s: %w", tenant, err)
	}
	if !resp.Succeeded {
		return nil, fmt.Errorf("tenant %s changed concurrently: %w", tenant, ErrConflict)
	}
	rec.Tenant.Etag = etag(resp.Header.Revision)
	return rec.Tenant, nil
}

// DeleteTenant removes a tenant with its webhooks, name index, tokens, config
// parameters and their reference index, applications, event types,
// endpoints and their indexes, in
// one transaction of a fixed number of operations: each is a range delete
// by prefix, so a tenant with any number of tokens can be deleted, and a
// token created meanwhile (CreateToken compares the tenant key) is either
// refused or removed with the rest. The id and digest index entries of the
// tokens are dropped afterwards; one left behind names no record and
// authenticates nothing.
func (s *Store) DeleteTenant(ctx context.Context, tenant string, ifRevision int64) error {
	rec := &storagev1.TenantRecord{}
	rev, err := s.get(ctx, tenantKey(tenant), rec)
	if err != nil {
		return fmt.Errorf("tenant %s: %w", tenant, err)
	}
	if ifRevision != 0 && ifRevision != rev {
		return fmt.Errorf("tenant %s: etag %d is stale: %w", tenant, ifRevision, ErrConflict)
	}
	// Read before the deletion, to know which index entries to drop after it.
	tokens, err := s.kv.Get(ctx, tokenScopePrefix(tenant), clientv3.WithPrefix())
	if err != nil {
		return fmt.Errorf("delete tenant %s: list tokens: %w", tenant, err)
	}
	resp, err := s.kv.Txn(ctx).
		If(clientv3.Compare(clientv3.ModRevision(tenantKey(tenant)), "=", rev)).
		Then(
			clientv3.OpDelete(tenantKey(tenant)),
			clientv3.OpDelete(WebhooksPrefix+tenant+"/", clientv3.WithPrefix()),
			clientv3.OpDelete(WebhookNamesPrefix+tenant+"/", clientv3.WithPrefix()),
			clientv3.OpDelete(tokenScopePrefix(tenant), clientv3.WithPrefix()),
			clientv3.OpDelete(TokenMirrorsPrefix+tenant+"/", clientv3.WithPrefix()),
			clientv3.OpDelete(ConfigParamsPrefix+tenant+"/", clientv3.WithPrefix()),
			clientv3.OpDelete(ConfigParamRefsPrefix+tenant+"/", clientv3.WithPrefix()),
			clientv3.OpDelete(TenantMirrorKey(tenant)),
			clientv3.OpDelete(AppsPrefix+tenant+"/", clientv3.WithPrefix()),
			clientv3.OpDelete(AppUIDsPrefix+tenant+"/", clientv3.WithPrefix()),
			clientv3.OpDelete(EventTypesPrefix+tenant+"/", clientv3.WithPrefix()),
			clientv3.OpDelete(EndpointsPrefix+tenant+"/", clientv3.WithPrefix()),
			clientv3.OpDelete(EndpointIDsPrefix+tenant+"/", clientv3.WithPrefix()),
		).Commit()
	if err != nil {
		return fmt.Errorf("delete tenant %s: %w", tenant, err)
	}
	if !resp.Succeeded {
		return fmt.Errorf("tenant %s changed concurrently: %w", tenant, ErrConflict)
	}
	recs := make([]*storagev1.TokenRecord, 0, len(tokens.Kvs))
	for _, kv := range tokens.Kvs {
		tok := &storagev1.TokenRecord{}
		if err := unmarshal(keyValue{key: string(kv.Key), value: kv.Value}, tok); err != nil {
			continue // its record is gone; a lookup through its index finds nothing
		}
		recs = append(recs, tok)
	}
	// The tenant is gone whatever happens here: an index entry left behind
	// names no record, so it authenticates nothing and is not worth failing
	// the call for.
	_ = s.dropTokenIndexes(ctx, recs)
	return nil
}
