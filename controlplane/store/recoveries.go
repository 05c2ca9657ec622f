package store

import (
	"context"
	"fmt"
	"strings"

	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/proto"
)

// RecoverEndpoint jobs (docs/design.md "Replay, recovery and test sends").
// A job is its hookgatev1.Recovery under RecoveriesPrefix{tenant}/{id};
// the message ids it re-queued are kept in batches under
// RecoveryBatchesPrefix{tenant}/{id}/{n}, one id a line, so GetRecovery can
// read their deliveries back. Both live outside WebhooksPrefix: the config
// stream does not carry them.
const (
	RecoveriesPrefix      = Prefix + "recoveries/"
	RecoveryBatchesPrefix = Prefix + "recovery-batches/"
)

// RecoveryKey is where one job's record is stored.
func RecoveryKey(tenant, id string) string { return RecoveriesPrefix + tenant + "/" + id }

func recoveryBatchesPrefix(tenant, id string) string {
	return RecoveryBatchesPrefix + tenant + "/" + id + "/"
}

// CreateRecovery stores a new job; ErrAlreadyExists when its id is taken.
func (s *Store) CreateRecovery(ctx context.Context, rec *hookgatev1.Recovery) (int64, error) {
	key := RecoveryKey(rec.GetTenant(), rec.GetId())
	v, err := marshal(rec)
	if err != nil {
		return 0, err
	}
	resp, err := s.kv.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).Then(clientv3.OpPut(key, v)).Commit()
	if err != nil {
		return 0, fmt.Errorf("create recovery %s: %w", rec.GetId(), err)
	}
	if !resp.Succeeded {
		return 0, fmt.Errorf("recovery %s: %w", rec.GetId(), ErrAlreadyExists)
	}
	return resp.Header.Revision, nil
}

// Recovery reads one job and its revision.
func (s *Store) Recovery(ctx context.Context, tenant, id string) (*hookgatev1.Recovery, int64, error) {
	rec := &hookgatev1.Recovery{}
	rev, err := s.get(ctx, RecoveryKey(tenant, id), rec)
	if err != nil {
		return nil, 0, fmt.Errorf("recovery %s: %w", id, err)
	}
	return rec, rev, nil
}

// RecoveryItem is a job with the revision it was read at.
type RecoveryItem struct {
	Record   *hookgatev1.Recovery
	Revision int64
}

// UnfinishedRecoveries lists every tenant's jobs that are queued or
// running, for the job runner. A record this version cannot read is
// skipped.
func (s *Store) UnfinishedRecoveries(ctx context.Context) ([]RecoveryItem, error) {
	resp, err := s.kv.Get(ctx, RecoveriesPrefix, clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("list recoveries: %w", err)
	}
	var out []RecoveryItem
	for _, kv := range resp.Kvs {
		rec := &hookgatev1.Recovery{}
		if err := proto.Unmarshal(kv.Value, rec); err != nil {
			continue
		}
		switch rec.GetState() {
		case hookgatev1.RecoveryState_RECOVERY_STATE_QUEUED, hookgatev1.RecoveryState_RECOVERY_STATE_RUNNING:
			out = append(out, RecoveryItem{Record: rec, Revision: kv.ModRevision})
		}
	}
	return out, nil
}

// UpdateRecovery writes a job if it is still at ifRevision and returns the
// new revision; ErrConflict when another write got in first (another
// replica claimed or advanced it).
func (s *Store) UpdateRecovery(ctx context.Context, rec *hookgatev1.Recovery, ifRevision int64) (int64, error) {
	key := RecoveryKey(rec.GetTenant(), rec.GetId())
	v, err := marshal(rec)
	if err != nil {
		return 0, err
	}
	resp, err := s.kv.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(key), "=", ifRevision)).Then(clientv3.OpPut(key, v)).Commit()
	if err != nil {
		return 0, fmt.Errorf("update recovery %s: %w", rec.GetId(), err)
	}
	if !resp.Succeeded {
		return 0, fmt.Errorf("recovery %s changed concurrently: %w", rec.GetId(), ErrConflict)
	}
	return resp.Header.Revision, nil
}

// AdvanceRecovery writes batch n of a job's message ids together with the
// job's new record, if the job is still at ifRevision: the ids and the
// counts move in one transaction, so a replica taking the job over
// resumes after the last batch written.
func (s *Store) AdvanceRecovery(ctx context.Context, rec *hookgatev1.Recovery, ifRevision int64, n int, ids []string) (int64, error) {
	key := RecoveryKey(rec.GetTenant(), rec.GetId())
	v, err := marshal(rec)
	if err != nil {
		return 0, err
	}
	batch := fmt.Sprintf("%s%06d", recoveryBatchesPrefix(rec.GetTenant(), rec.GetId()), n)
	resp, err := s.kv.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(key), "=", ifRevision)).
		Then(clientv3.OpPut(key, v), clientv3.OpPut(batch, strings.Join(ids, "\n"))).Commit()
	if err != nil {
		return 0, fmt.Errorf("advance recovery %s: %w", rec.GetId(), err)
	}
	if !resp.Succeeded {
		return 0, fmt.Errorf("recovery %s changed concurrently: %w", rec.GetId(), ErrConflict)
	}
	return resp.Header.Revision, nil
}

// RecoveryBatches reads the message ids a job re-queued, batch by batch in
// order.
func (s *Store) RecoveryBatches(ctx context.Context, tenant, id string) ([][]string, error) {
	resp, err := s.kv.Get(ctx, recoveryBatchesPrefix(tenant, id), clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend))
	if err != nil {
		return nil, fmt.Errorf("recovery %s batches: %w", id, err)
	}
	out := make([][]string, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		if len(kv.Value) == 0 {
			out = append(out, nil)
			continue
		}
		out = append(out, strings.Split(string(kv.Value), "\n"))
	}
	return out, nil
}
