package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	storagev1 "github.com/hookgate/hookgate/gen/hookgate/storage/v1"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// webhookNameKey indexes names case-insensitively, so "Orders" and "orders"
// cannot both exist in one tenant.
func webhookNameKey(tenant, name string) string {
	return WebhookNamesPrefix + tenant + "/" + strings.ToLower(name)
}

// CreateWebhook stores a new webhook and its name index in one transaction.
// It fails with ErrNotFound when the tenant does not exist and with
// ErrAlreadyExists when the name is taken.
func (s *Store) CreateWebhook(ctx context.Context, rec *storagev1.WebhookRecord) (int64, error) {
	w := rec.GetWebhook()
	key := WebhookKey(w.GetTenant(), w.GetId())
	val, err := marshal(rec)
	if err != nil {
		return 0, fmt.Errorf("create webhook %s: %w", w.GetId(), err)
	}
	resp, err := s.kv.Txn(ctx).
		If(
			clientv3.Compare(clientv3.CreateRevision(tenantKey(w.GetTenant())), ">", 0),
			clientv3.Compare(clientv3.CreateRevision(webhookNameKey(w.GetTenant(), w.GetName())), "=", 0),
			clientv3.Compare(clientv3.CreateRevision(key), "=", 0),
		).
		Then(
			clientv3.OpPut(key, val),
			clientv3.OpPut(webhookNameKey(w.GetTenant(), w.GetName()), w.GetId()),
		).Commit()
	if err != nil {
		return 0, fmt.Errorf("create webhook %s: %w", w.GetId(), err)
	}
	if !resp.Succeeded {
		if _, err := s.Tenant(ctx, w.GetTenant()); err != nil {
			return 0, err
		}
		return 0, fmt.Errorf("webhook name %q in tenant %s: %w", w.GetName(), w.GetTenant(), ErrAlreadyExists)
	}
	return resp.Header.Revision, nil
}

// Webhook reads one webhook record and its revision.
func (s *Store) Webhook(ctx context.Context, tenant, id string) (*storagev1.WebhookRecord, int64, error) {
	rec := &storagev1.WebhookRecord{}
	rev, err := s.get(ctx, WebhookKey(tenant, id), rec)
	if err != nil {
		return nil, 0, fmt.Errorf("webhook %s: %w", id, err)
	}
	return rec, rev, nil
}

// WebhookItem is a record with the revision it was read at.
type WebhookItem struct {
	Record   *storagev1.WebhookRecord
	Revision int64
}

// ListWebhooks pages through a tenant's webhooks in id order; match filters.
func (s *Store) ListWebhooks(ctx context.Context, tenant string, page Page, match func(*storagev1.WebhookRecord) bool) ([]WebhookItem, string, error) {
	var out []WebhookItem
	next, err := s.scan(ctx, WebhooksPrefix+tenant+"/", page, func(kv keyValue) (bool, error) {
		rec := &storagev1.WebhookRecord{}
		if err := unmarshal(kv, rec); err != nil {
			return false, err
		}
		if match != nil && !match(rec) {
			return false, nil
		}
		out = append(out, WebhookItem{Record: rec, Revision: kv.modRevision})
		return true, nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("list webhooks of %s: %w", tenant, err)
	}
	return out, next, nil
}

// UpdateWebhook applies mutate to the stored record and writes it back only
// if nothing changed it meanwhile. With ifRevision set (an etag), a record at
// another revision fails with ErrConflict; without, a concurrent change is
// retried a few times.
func (s *Store) UpdateWebhook(ctx context.Context, tenant, id string, ifRevision int64, mutate func(*storagev1.WebhookRecord) error) (*storagev1.WebhookRecord, int64, error) {
	key := WebhookKey(tenant, id)
	for attempt := 0; ; attempt++ {
		rec, rev, err := s.Webhook(ctx, tenant, id)
		if err != nil {
			return nil, 0, err
		}
		if ifRevision != 0 && ifRevision != rev {
			return nil, 0, fmt.Errorf("webhook %s: etag %d is stale: %w", id, ifRevision, ErrConflict)
		}
		before := keyExpiryKey(rec)
		if err := mutate(rec); err != nil {
			return nil, 0, err
		}
		val, err := marshal(rec)
		if err != nil {
			return nil, 0, fmt.Errorf("update webhook %s: %w", id, err)
		}
		ops := []clientv3.Op{clientv3.OpPut(key, val)}
		// The expiry index follows the record in the same transaction.
		if after := keyExpiryKey(rec); after != before {
			if before != "" {
				ops = append(ops, clientv3.OpDelete(before))
			}
			if after != "" {
				ops = append(ops, clientv3.OpPut(after, ""))
			}
		}
		resp, err := s.kv.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(key), "=", rev)).
			Then(ops...).
			Commit()
		if err != nil {
			return nil, 0, fmt.Errorf("update webhook %s: %w", id, err)
		}
		if resp.Succeeded {
			return rec, resp.Header.Revision, nil
		}
		if ifRevision != 0 || attempt == 3 {
			return nil, 0, fmt.Errorf("webhook %s changed concurrently: %w", id, ErrConflict)
		}
	}
}

// DeleteWebhook removes a webhook, its keys, its secrets and its name index.
func (s *Store) DeleteWebhook(ctx context.Context, tenant, id string, ifRevision int64) error {
	rec, rev, err := s.Webhook(ctx, tenant, id)
	if err != nil {
		return err
	}
	if ifRevision != 0 && ifRevision != rev {
		return fmt.Errorf("webhook %s: etag %d is stale: %w", id, ifRevision, ErrConflict)
	}
	key := WebhookKey(tenant, id)
	ops := []clientv3.Op{clientv3.OpDelete(key), clientv3.OpDelete(webhookNameKey(tenant, rec.GetWebhook().GetName()))}
	if idx := keyExpiryKey(rec); idx != "" {
		ops = append(ops, clientv3.OpDelete(idx))
	}
	resp, err := s.kv.Txn(ctx).
		If(clientv3.Compare(clientv3.ModRevision(key), "=", rev)).
		Then(ops...).
		Commit()
	if err != nil {
		return fmt.Errorf("delete webhook %s: %w", id, err)
	}
	if !resp.Succeeded {
		return fmt.Errorf("webhook %s changed concurrently: %w", id, ErrConflict)
	}
	return nil
}

// ExpirePreviousKeys removes every previous API key whose grace period ended
// at or before now. It reads only the expiry index up to now, not every
// webhook. It is idempotent, so a leader that loses leadership mid-run
// leaves nothing half-done. It returns how many keys it removed.
func (s *Store) ExpirePreviousKeys(ctx context.Context, now time.Time) (int, error) {
	resp, err := s.kv.Get(ctx, KeyExpiriesPrefix,
		clientv3.WithRange(KeyExpiriesPrefix+expiryStamp(now)+"/\xff"), clientv3.WithKeysOnly())
	if err != nil {
		return 0, fmt.Errorf("expire previous keys: %w", err)
	}
	removed := 0
	for _, kv := range resp.Kvs {
		idx := string(kv.Key)
		tenant, id, ok := parseKeyExpiryKey(idx)
		if !ok {
			continue
		}
		_, _, err := s.UpdateWebhook(ctx, tenant, id, 0, func(rec *storagev1.WebhookRecord) error {
			if keyExpiryKey(rec) != idx {
				return errNothingToDo
			}
			rec.PreviousKey = nil
			rec.Webhook.PreviousKeyPrefix = ""
			rec.Webhook.PreviousKeyExpireTime = nil
			return nil
		})
		switch {
		case err == nil:
			removed++
		case errors.Is(err, errNothingToDo), errors.Is(err, ErrNotFound):
			// The entry outlived its webhook (a deleted tenant removes
			// records by prefix) or its key: drop it.
			if _, err := s.kv.Delete(ctx, idx); err != nil {
				return removed, fmt.Errorf("expire previous keys: drop %s: %w", idx, err)
			}
		default:
			return removed, fmt.Errorf("expire previous key of %s: %w", id, err)
		}
	}
	return removed, nil
}

// keyExpiryKey is the expiry-index entry of a record's previous key, "" when
// it has none: /hookgate/key-expiries/{unix nanos, 20 digits}/{tenant}/{id},
// so a range read up to now finds exactly the keys due.
func keyExpiryKey(rec *storagev1.WebhookRecord) string {
	pk := rec.GetPreviousKey()
	if pk == nil || pk.GetExpireTime() == nil {
		return ""
	}
	w := rec.GetWebhook()
	return KeyExpiriesPrefix + expiryStamp(pk.GetExpireTime().AsTime()) + "/" + w.GetTenant() + "/" + w.GetId()
}

func expiryStamp(t time.Time) string { return fmt.Sprintf("%020d", max(t.UnixNano(), 0)) }

func parseKeyExpiryKey(k string) (tenant, id string, ok bool) {
	parts := strings.Split(strings.TrimPrefix(k, KeyExpiriesPrefix), "/")
	if len(parts) != 3 {
		return "", "", false
	}
	return parts[1], parts[2], true
}

var errNothingToDo = errors.New("nothing to do")
