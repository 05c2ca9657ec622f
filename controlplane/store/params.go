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

// Conditions of config parameters.
var (
	// ErrMissingParam means a webhook refers to a config parameter that
	// does not exist; the error is a *MissingParamError.
	ErrMissingParam = errors.New("config parameter does not exist")
	// ErrInUse means a config parameter cannot be deleted while a webhook
	// refers to it; the error is an *InUseError.
	ErrInUse = errors.New("in use")
)

// MissingParamError names the provider secret whose parameter is missing.
type MissingParamError struct{ Secret, Param string }

func (e *MissingParamError) Error() string {
	return fmt.Sprintf("provider secret %q refers to config parameter %q, which does not exist", e.Secret, e.Param)
}

// Is makes errors.Is(err, ErrMissingParam) hold.
func (e *MissingParamError) Is(target error) bool { return target == ErrMissingParam }

// InUseError names a webhook that refers to a parameter being deleted.
type InUseError struct{ Param, WebhookID string }

func (e *InUseError) Error() string {
	return fmt.Sprintf("config parameter %s is referred to by webhook %s", e.Param, e.WebhookID)
}

// Is makes errors.Is(err, ErrInUse) hold.
func (e *InUseError) Is(target error) bool { return target == ErrInUse }

// ConfigParam reads one parameter record and its revision.
func (s *Store) ConfigParam(ctx context.Context, tenant, name string) (*storagev1.ConfigParamRecord, int64, error) {
	rec := &storagev1.ConfigParamRecord{}
	rev, err := s.get(ctx, ConfigParamKey(tenant, name), rec)
	if err != nil {
		return nil, 0, fmt.Errorf("config parameter %s: %w", name, err)
	}
	return rec, rev, nil
}

// SetConfigParam creates or replaces a parameter: mutate gets the stored
// record (nil when there is none) and returns the record to store. The
// write compares the tenant and the record read, retrying a concurrent
// change a few times; the expiry index of the previous value follows in
// the same transaction.
func (s *Store) SetConfigParam(ctx context.Context, tenant, name string, mutate func(old *storagev1.ConfigParamRecord) (*storagev1.ConfigParamRecord, error)) (*storagev1.ConfigParamRecord, int64, error) {
	key := ConfigParamKey(tenant, name)
	for attempt := 0; ; attempt++ {
		old, rev, err := s.ConfigParam(ctx, tenant, name)
		if errors.Is(err, ErrNotFound) {
			old, err = nil, nil
		}
		if err != nil {
			return nil, 0, err
		}
		rec, err := mutate(old)
		if err != nil {
			return nil, 0, err
		}
		val, err := marshal(rec)
		if err != nil {
			return nil, 0, fmt.Errorf("set config parameter %s: %w", name, err)
		}
		var before []string
		if k := paramExpiryKey(old); k != "" {
			before = append(before, k)
		}
		var after []string
		if k := paramExpiryKey(rec); k != "" {
			after = append(after, k)
		}
		ops := append([]clientv3.Op{clientv3.OpPut(key, val)}, indexOps(before, after)...)
		resp, err := s.kv.Txn(ctx).
			If(
				clientv3.Compare(clientv3.CreateRevision(tenantKey(tenant)), ">", 0),
				clientv3.Compare(clientv3.ModRevision(key), "=", rev),
			).
			Then(ops...).Commit()
		if err != nil {
			return nil, 0, fmt.Errorf("set config parameter %s: %w", name, err)
		}
		if resp.Succeeded {
			return rec, resp.Header.Revision, nil
		}
		if _, err := s.Tenant(ctx, tenant); err != nil {
			return nil, 0, err
		}
		if attempt == 3 {
			return nil, 0, fmt.Errorf("config parameter %s changed concurrently: %w", name, ErrConflict)
		}
	}
}

// ConfigParamItem is a parameter record with the revision it was read at.
type ConfigParamItem struct {
	Record   *storagev1.ConfigParamRecord
	Revision int64
}

// ListConfigParams pages through a tenant's parameters in name order.
func (s *Store) ListConfigParams(ctx context.Context, tenant string, page Page) ([]ConfigParamItem, string, error) {
	var out []ConfigParamItem
	next, err := s.scan(ctx, ConfigParamsPrefix+tenant+"/", page, func(kv keyValue) (bool, error) {
		rec := &storagev1.ConfigParamRecord{}
		if err := unmarshal(kv, rec); err != nil {
			return false, err
		}
		out = append(out, ConfigParamItem{Record: rec, Revision: kv.modRevision})
		return true, nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("list config parameters of %s: %w", tenant, err)
	}
	return out, next, nil
}

// DeleteConfigParam removes a parameter unless a webhook refers to it
// (an *InUseError naming one). The check is a compare in the deleting
// transaction, so a webhook registered meanwhile cannot slip in.
func (s *Store) DeleteConfigParam(ctx context.Context, tenant, name string) error {
	rec, rev, err := s.ConfigParam(ctx, tenant, name)
	if err != nil {
		return err
	}
	key := ConfigParamKey(tenant, name)
	refs := paramRefsPrefix(tenant, name)
	ops := []clientv3.Op{clientv3.OpDelete(key)}
	if k := paramExpiryKey(rec); k != "" {
		ops = append(ops, clientv3.OpDelete(k))
	}
	resp, err := s.kv.Txn(ctx).
		If(
			clientv3.Compare(clientv3.ModRevision(key), "=", rev),
			// Over a range: holds only when no reference entry exists.
			clientv3.Compare(clientv3.CreateRevision(refs), "=", 0).WithPrefix(),
		).
		Then(ops...).Commit()
	if err != nil {
		return fmt.Errorf("delete config parameter %s: %w", name, err)
	}
	if resp.Succeeded {
		return nil
	}
	ref, err := s.kv.Get(ctx, refs, clientv3.WithPrefix(), clientv3.WithLimit(1), clientv3.WithKeysOnly())
	if err != nil {
		return fmt.Errorf("delete config parameter %s: read references: %w", name, err)
	}
	if len(ref.Kvs) > 0 {
		return &InUseError{Param: name, WebhookID: strings.TrimPrefix(string(ref.Kvs[0].Key), refs)}
	}
	return fmt.Errorf("config parameter %s changed concurrently: %w", name, ErrConflict)
}

// expireParam drops a parameter's previous value if the index entry idx is
// still its entry; errNothingToDo otherwise.
func (s *Store) expireParam(ctx context.Context, tenant, name, idx string, now time.Time) error {
	rec, rev, err := s.ConfigParam(ctx, tenant, name)
	if err != nil {
		return err
	}
	if paramExpiryKey(rec) != idx || rec.GetPreviousExpireTime().AsTime().After(now) {
		return errNothingToDo
	}
	rec.PreviousValue, rec.PreviousExpireTime = nil, nil
	val, err := marshal(rec)
	if err != nil {
		return fmt.Errorf("expire config parameter %s: %w", name, err)
	}
	key := ConfigParamKey(tenant, name)
	resp, err := s.kv.Txn(ctx).
		If(clientv3.Compare(clientv3.ModRevision(key), "=", rev)).
		Then(clientv3.OpPut(key, val), clientv3.OpDelete(idx)).Commit()
	if err != nil {
		return fmt.Errorf("expire config parameter %s: %w", name, err)
	}
	if !resp.Succeeded {
		// Changed meanwhile: the next sweep sees its new entry.
		return fmt.Errorf("config parameter %s changed concurrently: %w", name, ErrConflict)
	}
	return nil
}
