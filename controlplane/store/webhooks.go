package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
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

// CreateWebhook stores a new webhook, its name index and its references to
// config parameters in one transaction. It fails with ErrNotFound when the
// tenant does not exist, ErrMissingParam when a referenced parameter does
// not, and ErrAlreadyExists when the name is taken.
func (s *Store) CreateWebhook(ctx context.Context, rec *storagev1.WebhookRecord) (int64, error) {
	w := rec.GetWebhook()
	key := WebhookKey(w.GetTenant(), w.GetId())
	val, err := marshal(rec)
	if err != nil {
		return 0, fmt.Errorf("create webhook %s: %w", w.GetId(), err)
	}
	cmps := []clientv3.Cmp{
		clientv3.Compare(clientv3.CreateRevision(tenantKey(w.GetTenant())), ">", 0),
		clientv3.Compare(clientv3.CreateRevision(webhookNameKey(w.GetTenant(), w.GetName())), "=", 0),
		clientv3.Compare(clientv3.CreateRevision(key), "=", 0),
	}
	cmps = append(cmps, paramCompares(rec)...)
	ops := []clientv3.Op{
		clientv3.OpPut(key, val),
		clientv3.OpPut(webhookNameKey(w.GetTenant(), w.GetName()), w.GetId()),
	}
	for _, k := range refKeys(rec) {
		ops = append(ops, clientv3.OpPut(k, ""))
	}
	for _, k := range expiryKeys(rec) {
		ops = append(ops, clientv3.OpPut(k, ""))
	}
	resp, err := s.kv.Txn(ctx).If(cmps...).Then(ops...).Commit()
	if err != nil {
		return 0, fmt.Errorf("create webhook %s: %w", w.GetId(), err)
	}
	if !resp.Succeeded {
		if _, err := s.Tenant(ctx, w.GetTenant()); err != nil {
			return 0, err
		}
		if err := s.missingParam(ctx, rec); err != nil {
			return 0, err
		}
		return 0, fmt.Errorf("webhook name %q in tenant %s: %w", w.GetName(), w.GetTenant(), ErrAlreadyExists)
	}
	return resp.Header.Revision, nil
}

// paramCompares guards a write of rec: every parameter it refers to exists.
func paramCompares(rec *storagev1.WebhookRecord) []clientv3.Cmp {
	var cmps []clientv3.Cmp
	for _, name := range refParams(rec) {
		cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(ConfigParamKey(rec.GetWebhook().GetTenant(), name)), ">", 0))
	}
	return cmps
}

// missingParam names the first secret of rec whose parameter is missing.
func (s *Store) missingParam(ctx context.Context, rec *storagev1.WebhookRecord) error {
	tenant := rec.GetWebhook().GetTenant()
	for _, secret := range slices.Sorted(maps.Keys(rec.GetProviderSecretRefs())) {
		name := rec.GetProviderSecretRefs()[secret]
		resp, err := s.kv.Get(ctx, ConfigParamKey(tenant, name), clientv3.WithCountOnly())
		if err != nil {
			return fmt.Errorf("read config parameter %s: %w", name, err)
		}
		if resp.Count == 0 {
			return &MissingParamError{Secret: secret, Param: name}
		}
	}
	return nil
}

// refParams lists, sorted and once each, the parameters rec refers to.
func refParams(rec *storagev1.WebhookRecord) []string {
	names := slices.Sorted(maps.Values(rec.GetProviderSecretRefs()))
	return slices.Compact(names)
}

// refKeys are the reference-index entries of rec.
func refKeys(rec *storagev1.WebhookRecord) []string {
	w := rec.GetWebhook()
	var out []string
	for _, name := range refParams(rec) {
		out = append(out, paramRefKey(w.GetTenant(), name, w.GetId()))
	}
	return out
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
		beforeExp, beforeRefs := expiryKeys(rec), refKeys(rec)
		if err := mutate(rec); err != nil {
			return nil, 0, err
		}
		val, err := marshal(rec)
		if err != nil {
			return nil, 0, fmt.Errorf("update webhook %s: %w", id, err)
		}
		ops := []clientv3.Op{clientv3.OpPut(key, val)}
		// The expiry and reference indexes follow the record in the same
		// transaction.
		ops = append(ops, indexOps(beforeExp, expiryKeys(rec))...)
		ops = append(ops, indexOps(beforeRefs, refKeys(rec))...)
		cmps := append([]clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(key), "=", rev)}, paramCompares(rec)...)
		resp, err := s.kv.Txn(ctx).If(cmps...).Then(ops...).Commit()
		if err != nil {
			return nil, 0, fmt.Errorf("update webhook %s: %w", id, err)
		}
		if resp.Succeeded {
			return rec, resp.Header.Revision, nil
		}
		if err := s.missingParam(ctx, rec); err != nil {
			return nil, 0, err
		}
		if ifRevision != 0 || attempt == 3 {
			return nil, 0, fmt.Errorf("webhook %s changed concurrently: %w", id, ErrConflict)
		}
	}
}

// indexOps turns index entries before and after a change into deletes and
// puts.
func indexOps(before, after []string) []clientv3.Op {
	var ops []clientv3.Op
	for _, k := range before {
		if !slices.Contains(after, k) {
			ops = append(ops, clientv3.OpDelete(k))
		}
	}
	for _, k := range after {
		if !slices.Contains(before, k) {
			ops = append(ops, clientv3.OpPut(k, ""))
		}
	}
	return ops
}

// DeleteWebhook removes a webhook, its keys, its secrets, its name index and
// its references to config parameters.
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
	for _, k := range append(expiryKeys(rec), refKeys(rec)...) {
		ops = append(ops, clientv3.OpDelete(k))
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

// ExpirePreviousKeys removes every previous API key, provider secret and
// config parameter value whose grace period ended at or before now. It
// reads only the expiry index up to now, not every record. It is
// idempotent, so a leader that loses leadership mid-run leaves nothing
// half-done. It returns how many records it changed.
func (s *Store) ExpirePreviousKeys(ctx context.Context, now time.Time) (int, error) {
	resp, err := s.kv.Get(ctx, KeyExpiriesPrefix,
		clientv3.WithRange(KeyExpiriesPrefix+expiryStamp(now)+"/\xff"), clientv3.WithKeysOnly())
	if err != nil {
		return 0, fmt.Errorf("expire previous keys: %w", err)
	}
	removed := 0
	for _, kv := range resp.Kvs {
		idx := string(kv.Key)
		tenant, id, kind, ok := parseExpiryKey(idx)
		if !ok {
			continue
		}
		switch kind {
		case "params":
			err = s.expireParam(ctx, tenant, id, idx, now)
		case "endpoints":
			err = s.expireEndpoint(ctx, tenant, id, idx, now)
		default:
			_, _, err = s.UpdateWebhook(ctx, tenant, id, 0, func(rec *storagev1.WebhookRecord) error {
				if !slices.Contains(expiryKeys(rec), idx) {
					return errNothingToDo
				}
				expireWebhook(rec, now)
				return nil
			})
		}
		switch {
		case err == nil:
			removed++
		case errors.Is(err, ErrConflict):
			// Changed meanwhile; the next sweep tries again.
		case errors.Is(err, errNothingToDo), errors.Is(err, ErrNotFound):
			// The entry outlived its record (a deleted tenant removes
			// records by prefix) or its previous value: drop it.
			if _, err := s.kv.Delete(ctx, idx); err != nil {
				return removed, fmt.Errorf("expire previous keys: drop %s: %w", idx, err)
			}
		default:
			return removed, fmt.Errorf("expire previous values of %s: %w", id, err)
		}
	}
	return removed, nil
}

// expireWebhook drops the previous key and previous secrets due by now.
func expireWebhook(rec *storagev1.WebhookRecord, now time.Time) {
	if pk := rec.GetPreviousKey(); pk != nil && !pk.GetExpireTime().AsTime().After(now) {
		rec.PreviousKey = nil
		rec.Webhook.PreviousKeyPrefix = ""
		rec.Webhook.PreviousKeyExpireTime = nil
	}
	for name, ps := range rec.GetPreviousProviderSecrets() {
		if !ps.GetExpireTime().AsTime().After(now) {
			delete(rec.PreviousProviderSecrets, name)
		}
	}
}

// expiryKeys are the expiry-index entries of a record's previous key and
// previous secrets, sorted, one per distinct expiry:
// /hookgate/key-expiries/{unix nanos, 20 digits}/{tenant}/{id}, so a range
// read up to now finds exactly what is due.
func expiryKeys(rec *storagev1.WebhookRecord) []string {
	w := rec.GetWebhook()
	var out []string
	add := func(ts interface{ AsTime() time.Time }) {
		out = append(out, KeyExpiriesPrefix+expiryStamp(ts.AsTime())+"/"+w.GetTenant()+"/"+w.GetId())
	}
	if pk := rec.GetPreviousKey(); pk != nil && pk.GetExpireTime() != nil {
		add(pk.GetExpireTime())
	}
	for _, ps := range rec.GetPreviousProviderSecrets() {
		if ps.GetExpireTime() != nil {
			add(ps.GetExpireTime())
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// paramExpiryKey is the expiry-index entry of a parameter's previous value:
// /hookgate/key-expiries/{stamp}/{tenant}/params/{name}; "" without one.
func paramExpiryKey(rec *storagev1.ConfigParamRecord) string {
	if rec.GetPreviousValue() == nil || rec.GetPreviousExpireTime() == nil {
		return ""
	}
	p := rec.GetParam()
	return KeyExpiriesPrefix + expiryStamp(rec.GetPreviousExpireTime().AsTime()) + "/" + p.GetTenant() + "/params/" + p.GetName()
}

func expiryStamp(t time.Time) string { return fmt.Sprintf("%020d", max(t.UnixNano(), 0)) }

// parseExpiryKey reads an expiry-index entry: a webhook's (tenant, id,
// kind ""), a parameter's (tenant, name, "params") or an endpoint's
// (tenant, id, "endpoints").
func parseExpiryKey(k string) (tenant, id, kind string, ok bool) {
	parts := strings.Split(strings.TrimPrefix(k, KeyExpiriesPrefix), "/")
	switch {
	case len(parts) == 3:
		return parts[1], parts[2], "", true
	case len(parts) == 4 && (parts[2] == "params" || parts[2] == "endpoints"):
		return parts[1], parts[3], parts[2], true
	}
	return "", "", "", false
}

var errNothingToDo = errors.New("nothing to do")
