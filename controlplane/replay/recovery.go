package replay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/hookgate/hookgate/controlplane/outbound"
	"github.com/hookgate/hookgate/controlplane/store"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// RecoveryStore is what the job runner keeps jobs in (store.Store).
type RecoveryStore interface {
	UnfinishedRecoveries(ctx context.Context) ([]store.RecoveryItem, error)
	UpdateRecovery(ctx context.Context, rec *hookgatev1.Recovery, ifRevision int64) (int64, error)
	AdvanceRecovery(ctx context.Context, rec *hookgatev1.Recovery, ifRevision int64, n int, ids []string) (int64, error)
	RecoveryBatches(ctx context.Context, tenant, id string) ([][]string, error)
}

var _ RecoveryStore = (*store.Store)(nil)

// RunnerConfig tunes the job runner; zero values are the defaults.
type RunnerConfig struct {
	// Interval is how often unfinished jobs are stepped (1 s).
	Interval time.Duration
	// Settle ends a job whose re-queued deliveries stopped changing for
	// this long, counting the unfinished ones as pending (10 min): a
	// delivery whose endpoint was disabled meanwhile never ends.
	Settle time.Duration
	// BatchSize is how many deliveries are re-queued per store write (100).
	BatchSize int
}

// Runner runs RecoverEndpoint jobs. Run it on one replica at a time (under
// the leader election); every step is a compare-and-set on the job, so a
// deposed runner stops at its next write.
type Runner struct {
	cfg   RunnerConfig
	store RecoveryStore
	js    jetstream.JetStream
	log   *slog.Logger
	now   func() time.Time
}

// NewRunner returns a Runner; now nil is time.Now.
func NewRunner(cfg RunnerConfig, st RecoveryStore, js jetstream.JetStream, log *slog.Logger, now func() time.Time) *Runner {
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	if cfg.Settle <= 0 {
		cfg.Settle = 10 * time.Minute
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 100
	}
	if now == nil {
		now = time.Now
	}
	return &Runner{cfg: cfg, store: st, js: js, log: log, now: now}
}

// Run steps every unfinished job each Interval until ctx ends.
func (r *Runner) Run(ctx context.Context) {
	t := time.NewTicker(r.cfg.Interval)
	defer t.Stop()
	for {
		items, err := r.store.UnfinishedRecoveries(ctx)
		if err != nil && ctx.Err() == nil {
			r.log.Warn("list recoveries", "err", err)
		}
		for _, it := range items {
			if err := r.step(ctx, it.Record, it.Revision); err != nil && ctx.Err() == nil && !errors.Is(err, store.ErrConflict) {
				r.log.Warn("recovery step", "tenant", it.Record.GetTenant(), "recovery_id", it.Record.GetId(), "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// step moves one job on: claim, re-queue the window's failed deliveries,
// or read back how the re-queued ones ended.
func (r *Runner) step(ctx context.Context, rec *hookgatev1.Recovery, rev int64) error {
	rec = proto.Clone(rec).(*hookgatev1.Recovery)
	var err error
	if rec.GetState() == hookgatev1.RecoveryState_RECOVERY_STATE_QUEUED {
		rec.State, rec.UpdateTime = hookgatev1.RecoveryState_RECOVERY_STATE_RUNNING, timestamppb.New(r.now())
		if rev, err = r.store.UpdateRecovery(ctx, rec, rev); err != nil {
			return err
		}
		r.log.Info("recovery started", "tenant", rec.GetTenant(), "endpoint_id", rec.GetEndpointId(), "recovery_id", rec.GetId())
	}
	if !rec.GetQueuedAll() {
		return r.queue(ctx, rec, rev)
	}
	return r.progress(ctx, rec, rev)
}

// queue re-queues the failed deliveries of the window in batches. Each
// batch's ids are stored with the counts after its tasks were published; a
// runner taking over rescans and finds only what is still failed in the
// window (a re-queued delivery that ran has left it), and the tasks'
// Nats-Msg-Id ("recover.{job}.{message}") drops those published twice
// within the stream's duplicate window.
func (r *Runner) queue(ctx context.Context, rec *hookgatev1.Recovery, rev int64) error {
	failed, err := r.failedIn(ctx, rec)
	if err != nil {
		return r.fail(ctx, rec, rev, err)
	}
	batches, err := r.store.RecoveryBatches(ctx, rec.GetTenant(), rec.GetId())
	if err != nil {
		return err
	}
	done := map[string]bool{}
	for _, b := range batches {
		for _, id := range b {
			done[id] = true
		}
	}
	failed = slices.DeleteFunc(failed, func(d outbound.Delivery) bool { return done[d.MessageID] })
	n := len(batches)
	for chunk := range slices.Chunk(failed, r.cfg.BatchSize) {
		ids, skipped, err := r.requeue(ctx, rec, chunk)
		if err != nil {
			return err
		}
		rec.Queued += int64(len(ids))
		rec.Skipped += int64(skipped)
		rec.Pending += int64(len(ids))
		rec.UpdateTime = timestamppb.New(r.now())
		if rev, err = r.store.AdvanceRecovery(ctx, rec, rev, n, ids); err != nil {
			return err
		}
		n++
	}
	rec.QueuedAll, rec.UpdateTime = true, timestamppb.New(r.now())
	if rec.GetQueued() == 0 {
		rec.State = hookgatev1.RecoveryState_RECOVERY_STATE_COMPLETED
	}
	_, err = r.store.UpdateRecovery(ctx, rec, rev)
	if err == nil {
		r.log.Info("recovery queued", "tenant", rec.GetTenant(), "recovery_id", rec.GetId(), "queued", rec.GetQueued(), "skipped", rec.GetSkipped())
	}
	return err
}

// requeue publishes the tasks of a batch and returns the ids queued and
// how many messages were no longer stored.
func (r *Runner) requeue(ctx context.Context, rec *hookgatev1.Recovery, ds []outbound.Delivery) ([]string, int, error) {
	byType := map[[2]string]map[string]bool{}
	for _, d := range ds {
		k := [2]string{d.AppID, d.EventType}
		if byType[k] == nil {
			byType[k] = map[string]bool{}
		}
		byType[k][d.MessageID] = true
	}
	var ids []string
	skipped := 0
	for k, want := range byType {
		got, err := Payloads(ctx, r.js, rec.GetTenant(), k[0], k[1], want)
		if err != nil {
			return nil, 0, err
		}
		for id := range want {
			msg, ok := got[id]
			if !ok {
				skipped++
				continue
			}
			err := Publish(ctx, r.js, Task{Tenant: rec.GetTenant(), EndpointID: rec.GetEndpointId(), MessageID: id,
				AppID: msg.AppID, EventType: msg.EventType, Trigger: TriggerRecover, Payload: msg.Payload,
				DedupID: TriggerRecover + "." + rec.GetId() + "." + id})
			if err != nil {
				return nil, 0, err
			}
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, skipped, nil
}

// failedIn lists the endpoint's deliveries that ended failed in the job's
// window, ordered by message id.
func (r *Runner) failedIn(ctx context.Context, rec *hookgatev1.Recovery) ([]outbound.Delivery, error) {
	kv, err := r.js.KeyValue(ctx, outbound.DeliveriesKV)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open bucket %s: %w", outbound.DeliveriesKV, err)
	}
	l, err := kv.ListKeysFiltered(ctx, rec.GetTenant()+".*."+rec.GetEndpointId())
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list deliveries of %s: %w", rec.GetEndpointId(), err)
	}
	var keys []string
	for k := range l.Keys() {
		keys = append(keys, k)
	}
	_ = l.Stop()
	slices.Sort(keys)
	since, until := rec.GetSince().AsTime(), rec.GetUntil().AsTime()
	var out []outbound.Delivery
	for _, k := range keys {
		e, err := kv.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read delivery %s: %w", k, err)
		}
		var d outbound.Delivery
		if json.Unmarshal(e.Value(), &d) != nil || d.State != "failed" || d.UpdatedAt.Before(since) || !d.UpdatedAt.Before(until) {
			continue
		}
		out = append(out, d)
	}
	return out, nil
}

// progress reads the re-queued deliveries back: succeeded is delivered,
// failed since the window's end is failed again, anything else pending.
func (r *Runner) progress(ctx context.Context, rec *hookgatev1.Recovery, rev int64) error {
	c, err := Progress(ctx, r.store, r.js, rec)
	if err != nil {
		return err
	}
	now := r.now()
	changed := c.GetDelivered() != rec.GetDelivered() || c.GetFailed() != rec.GetFailed() || c.GetPending() != rec.GetPending()
	if changed {
		rec.Delivered, rec.Failed, rec.Pending, rec.UpdateTime = c.GetDelivered(), c.GetFailed(), c.GetPending(), timestamppb.New(now)
	}
	if rec.GetPending() == 0 || now.Sub(rec.GetUpdateTime().AsTime()) >= r.cfg.Settle {
		rec.State, rec.UpdateTime = hookgatev1.RecoveryState_RECOVERY_STATE_COMPLETED, timestamppb.New(now)
		r.log.Info("recovery completed", "tenant", rec.GetTenant(), "recovery_id", rec.GetId(),
			"delivered", rec.GetDelivered(), "failed", rec.GetFailed(), "pending", rec.GetPending())
	} else if !changed {
		return nil
	}
	_, err = r.store.UpdateRecovery(ctx, rec, rev)
	return err
}

// Progress counts how the deliveries a job re-queued stand now.
func Progress(ctx context.Context, st RecoveryStore, js jetstream.JetStream, rec *hookgatev1.Recovery) (*hookgatev1.Recovery, error) {
	batches, err := st.RecoveryBatches(ctx, rec.GetTenant(), rec.GetId())
	if err != nil {
		return nil, err
	}
	out := &hookgatev1.Recovery{}
	until := rec.GetUntil().AsTime()
	for _, b := range batches {
		for _, id := range b {
			d, found, err := Delivery(ctx, js, rec.GetTenant(), id, rec.GetEndpointId())
			if err != nil {
				return nil, err
			}
			switch {
			case found && d.State == "succeeded":
				out.Delivered++
			case found && d.State == "failed" && !d.UpdatedAt.Before(until):
				out.Failed++
			default:
				out.Pending++
			}
		}
	}
	return out, nil
}

// fail ends a job that cannot run.
func (r *Runner) fail(ctx context.Context, rec *hookgatev1.Recovery, rev int64, cause error) error {
	r.log.Warn("recovery failed", "tenant", rec.GetTenant(), "recovery_id", rec.GetId(), "err", cause)
	rec.State, rec.Error, rec.UpdateTime = hookgatev1.RecoveryState_RECOVERY_STATE_FAILED, "could not read the endpoint's deliveries", timestamppb.New(r.now())
	_, err := r.store.UpdateRecovery(ctx, rec, rev)
	return err
}
