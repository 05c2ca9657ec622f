package distribute

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/hookgate/hookgate/controlplane/store"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// errHistoryLost means the watch could not resume because etcd compacted
// the revisions it needed; the view reloads the prefix.
var errHistoryLost = errors.New("watch history compacted")

// errClusterChanged means etcd answered as another cluster than the one the
// view was loaded from (its endpoints now reach a new cluster); the view
// reloads from scratch.
var errClusterChanged = errors.New("etcd cluster changed")

// watch keeps the view in step with etcd until ctx ends: a paged read of
// the prefix at one revision, then one watch from the revision after it.
// A broken watch resumes from the view's revision; one whose history was
// compacted reloads the prefix and turns the difference into one change.
func (d *Distributor) watch(ctx context.Context) error {
	reload := true
	delay := retryDelay{min: 100 * time.Millisecond, max: 10 * time.Second}
	for {
		var (
			progressed bool
			err        error
		)
		if reload {
			// A reload leaves the view as it is until the new one is read
			// and converted: streams go on from it meanwhile.
			if rev := d.view.revision(); rev > 0 {
				d.log.Info("reloading config view; serving the last one meanwhile", "revision", rev)
			} else {
				d.log.Info("loading config view")
			}
			err = d.load(ctx)
			progressed = err == nil
			reload = err != nil
		}
		if err == nil {
			progressed, err = d.follow(ctx)
			reload = errors.Is(err, errHistoryLost) || errors.Is(err, errClusterChanged)
		}
		if ctx.Err() != nil {
			return nil
		}
		if progressed {
			delay.reset()
		}
		wait := delay.next()
		d.log.Warn("config watch interrupted", "revision", d.view.revision(), "retry_in", wait, "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// load reads every record under the prefix at one revision into the view.
func (d *Distributor) load(ctx context.Context) error {
	start := time.Now()
	var (
		kvs    []kv
		failed int
	)
	rev, cluster, err := d.rangeAt(ctx, 0, false, func(e *mvccpb.KeyValue) {
		kvs = append(kvs, kv{key: string(e.Key), value: e.Value, modRev: e.ModRevision})
	})
	if err != nil {
		return fmt.Errorf("load %s: %w", store.WebhooksPrefix, err)
	}
	// A fresh resolver: parameters come first whatever their place in the
	// key order, so every reference resolves against the same revision.
	res := newResolver(d.keyring)
	recs := res.batch(kvs, func(r record) {
		failed++
		// One line per bad record would flood the log when, say, a
		// keyring key is missing; the first few name the problem.
		if failed <= 10 {
			d.logRecordError(r)
		}
	})
	d.resolver = res
	if prev := d.view.clusterID(); prev != 0 && prev != cluster {
		d.log.Warn("etcd is another cluster than the one the config view was loaded from; reloading it and resyncing every node",
			"cluster_id", cluster, "previous_cluster_id", prev)
	}
	changed := d.view.load(rev, cluster, recs)
	d.metrics.recordErrors.Add(float64(failed))
	d.metrics.revision.Set(float64(d.view.revision()))
	if failed > 0 {
		d.log.Error("webhook records not distributed", "count", failed, "revision", rev)
	}
	d.log.Info("config view loaded", "revision", rev, "cluster_id", cluster, "records", len(recs), "changed", changed,
		"duration", time.Since(start).Round(time.Millisecond))
	return nil
}

// rangeAt reads the watched prefix at revision rev (0: the current one,
// which it returns) and returns the id of the etcd cluster that answered.
// The read is linear in the records (store.ReadPrefix streams the range;
// paging it with limits made etcd count the rest of the prefix on every
// page, which made loading 1,000,000 webhooks quadratic).
func (d *Distributor) rangeAt(ctx context.Context, rev int64, keysOnly bool, fn func(*mvccpb.KeyValue)) (int64, uint64, error) {
	res, err := store.ReadPrefix(ctx, d.etcd, store.WebhooksPrefix, store.ReadOptions{Revision: rev, KeysOnly: keysOnly},
		func(kv *mvccpb.KeyValue) error {
			fn(kv)
			return nil
		})
	if errors.Is(err, store.ErrClusterChanged) {
		return 0, 0, fmt.Errorf("%w: %w", errClusterChanged, err)
	}
	if err != nil {
		return 0, 0, err
	}
	return res.Revision, res.ClusterID, nil
}

// follow applies watch events from the view's revision on, until ctx ends
// or the watch breaks. progressed reports whether anything arrived.
func (d *Distributor) follow(ctx context.Context) (progressed bool, err error) {
	// WithRequireLeader ends the watch when the member loses its leader,
	// instead of waiting on a partitioned member forever.
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	start := d.view.revision() + 1
	wch := d.etcd.Watch(wctx, store.WebhooksPrefix, clientv3.WithPrefix(), clientv3.WithRev(start), clientv3.WithProgressNotify())
	for {
		select {
		case <-ctx.Done():
			return progressed, nil
		case <-d.progress:
			// The same ctx as the watch, so the request reaches its stream.
			if err := d.etcd.RequestProgress(wctx); err != nil {
				d.log.Debug("request watch progress", "err", err)
			}
		case resp, ok := <-wch:
			if !ok {
				return progressed, errors.New("watch channel closed")
			}
			if resp.CompactRevision != 0 {
				return progressed, fmt.Errorf("watch from revision %d: %w up to %d", start, errHistoryLost, resp.CompactRevision)
			}
			if err := resp.Err(); err != nil {
				return progressed, fmt.Errorf("watch from revision %d: %w", start, err)
			}
			if c := resp.Header.ClusterId; c != 0 && c != d.view.clusterID() {
				return progressed, fmt.Errorf("watch from revision %d: %w to %x", start, errClusterChanged, c)
			}
			progressed = true
			if resp.IsProgressNotify() {
				d.view.advance(resp.Header.Revision)
			} else {
				d.applyEvents(resp.Events)
			}
			d.metrics.revision.Set(float64(d.view.revision()))
		}
	}
}

// applyEvents applies watch events one revision at a time: a transaction
// that changed several records becomes one change.
func (d *Distributor) applyEvents(events []*clientv3.Event) {
	for i := 0; i < len(events); {
		rev := events[i].Kv.ModRevision
		var kvs []kv
		for ; i < len(events) && events[i].Kv.ModRevision == rev; i++ {
			ev := events[i]
			kvs = append(kvs, kv{key: string(ev.Kv.Key), value: ev.Kv.Value, modRev: rev, deleted: ev.Type == clientv3.EventTypeDelete})
		}
		recs := d.resolver.batch(kvs, func(r record) {
			d.metrics.recordErrors.Inc()
			d.logRecordError(r)
		})
		d.view.apply(rev, recs)
	}
}

func (d *Distributor) logRecordError(r record) {
	if pk, ok := parseParamKey(r.etcdKey); ok {
		tenant, name, _ := strings.Cut(pk, "/")
		d.log.Error("config parameter not distributed; webhooks that refer to it keep their last good version",
			"tenant", tenant, "param", name, "revision", r.modRev, "err", r.err)
		return
	}
	tenant, id, _ := parseWebhookKey(r.etcdKey)
	d.log.Error("webhook record not distributed; nodes keep its last good version",
		"tenant", tenant, "webhook_id", id, "revision", r.modRev, "err", r.err)
}

// retryDelay is an exponential backoff with jitter.
type retryDelay struct {
	min, max time.Duration
	cur      time.Duration
}

func (r *retryDelay) reset() { r.cur = 0 }

func (r *retryDelay) next() time.Duration {
	if r.cur == 0 {
		r.cur = r.min
	} else {
		r.cur = min(2*r.cur, r.max)
	}
	return jitter(r.cur)
}

// jitter spreads retries of many replicas or nodes: a duration in [d/2, d).
func jitter(d time.Duration) time.Duration {
	if d < 2 {
		return d
	}
	half := d / 2
	return half + rand.N(half)
}
