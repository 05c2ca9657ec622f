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
	resp, err := s.kv.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(tenantKey(t.GetId())), "=", 0)).
		Then(clientv3.OpPut(tenantKey(t.GetId()), val)).
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
	resp, err := s.kv.Txn(ctx).
		If(clientv3.Compare(clientv3.ModRevision(tenantKey(tenant)), "=", rev)).
		Then(clientv3.OpPut(tenantKey(tenant), val)).
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

// DeleteTenant removes a tenant with its webhooks, name index and tokens in
// one transaction.
func (s *Store) DeleteTenant(ctx context.Context, tenant string, ifRevision int64) error {
	rec := &storagev1.TenantRecord{}
	rev, err := s.get(ctx, tenantKey(tenant), rec)
	if err != nil {
		return fmt.Errorf("tenant %s: %w", tenant, err)
	}
	if ifRevision != 0 && ifRevision != rev {
		return fmt.Errorf("tenant %s: etag %d is stale: %w", tenant, ifRevision, ErrConflict)
	}
	tokens, err := s.kv.Get(ctx, TokensPrefix, clientv3.WithPrefix())
	if err != nil {
		return fmt.Errorf("delete tenant %s: list tokens: %w", tenant, err)
	}
	cmps := []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(tenantKey(tenant)), "=", rev)}
	ops := []clientv3.Op{
		clientv3.OpDelete(tenantKey(tenant)),
		clientv3.OpDelete(WebhooksPrefix+tenant+"/", clientv3.WithPrefix()),
		clientv3.OpDelete(WebhookNamesPrefix+tenant+"/", clientv3.WithPrefix()),
	}
	for _, kv := range tokens.Kvs {
		tok := &storagev1.TokenRecord{}
		if err := unmarshal(keyValue{key: string(kv.Key), value: kv.Value}, tok); err != nil {
			return fmt.Errorf("delete tenant %s: %w", tenant, err)
		}
		if tok.GetToken().GetTenant() != tenant {
			continue
		}
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(string(kv.Key)), "=", kv.ModRevision))
		ops = append(ops, clientv3.OpDelete(string(kv.Key)), clientv3.OpDelete(tokenDigestKey(tok.GetSha256())))
	}
	resp, err := s.kv.Txn(ctx).If(cmps...).Then(ops...).Commit()
	if err != nil {
		return fmt.Errorf("delete tenant %s: %w", tenant, err)
	}
	if !resp.Succeeded {
		return fmt.Errorf("tenant %s changed concurrently: %w", tenant, ErrConflict)
	}
	return nil
}
