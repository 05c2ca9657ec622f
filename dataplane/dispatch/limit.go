package dispatch

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// DefaultLimitsBucket is the KV bucket of the shared limits.
const DefaultLimitsBucket = "HOOKGATE_LIMITS"

// casAttempts bounds the compare-and-set retries of one Take.
const casAttempts = 64

// Limits holds the per-endpoint rate limit and in-flight cap in a
// JetStream KV bucket, so they hold across every dispatcher replica
// together (docs/design.md "Rate limit and in-flight cap across
// replicas"). It is safe for concurrent use.
type Limits struct {
	kv  jetstream.KeyValue
	now func() time.Time

	mu    sync.Mutex
	rates map[string]*rateKey
}

// rateKey is this replica's view of one endpoint's token bucket. Its lock
// lets one local worker at a time take a token: hundreds of workers racing
// for the same key lose nearly every compare-and-set to each other, so
// only other replicas should be able to make a write fail. The last
// written value and revision are kept, so a Take writes without reading
// first unless another replica wrote in between.
type rateKey struct {
	mu     sync.Mutex
	known  bool // rev, tokens and at hold the stored bucket
	rev    uint64
	tokens float64
	at     time.Time
}

func (l *Limits) rateKey(key string) *rateKey {
	l.mu.Lock()
	defer l.mu.Unlock()
	rk, ok := l.rates[key]
	if !ok {
		rk = &rateKey{}
		l.rates[key] = rk
	}
	return rk
}

// NewLimits opens (creating when absent) the bucket. now is the clock; nil
// is time.Now.
func NewLimits(ctx context.Context, js jetstream.JetStream, bucket string, replicas int, now func() time.Time) (*Limits, error) {
	if now == nil {
		now = time.Now
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: bucket, Storage: jetstream.MemoryStorage, History: 1, Replicas: replicas,
		// Per-key TTLs free the in-flight slots of a killed dispatcher.
		LimitMarkerTTL: time.Second,
	})
	if err != nil {
		return nil, fmt.Errorf("open limits bucket %s: %w", bucket, err)
	}
	return &Limits{kv: kv, now: now, rates: map[string]*rateKey{}}, nil
}

// Take takes one token of ep's rate limit. It returns 0 when a token was
// taken, otherwise how long until one is due (the copy waits that long;
// nothing is taken). An endpoint without a rate takes no token.
func (l *Limits) Take(ctx context.Context, ep *Endpoint) (time.Duration, error) {
	if ep.RatePerSecond <= 0 {
		return 0, nil
	}
	burst := float64(max(ep.Burst, 1))
	key := "rate." + ep.ID
	rk := l.rateKey(key)
	rk.mu.Lock()
	defer rk.mu.Unlock()
	for range casAttempts {
		now := l.now()
		if !rk.known {
			rk.rev, rk.tokens, rk.at = 0, burst, now
			e, err := l.kv.Get(ctx, key)
			switch {
			case errors.Is(err, jetstream.ErrKeyNotFound):
			case err != nil:
				return 0, fmt.Errorf("read rate of endpoint %s: %w", ep.ID, err)
			default:
				rk.rev = e.Revision()
				if t, at, ok := decodeBucket(e.Value()); ok {
					rk.tokens, rk.at = t, at
				}
			}
			rk.known = true
		}
		// A stale view (another replica took tokens since) only ever
		// shows more tokens than are left, so a wait is never wrong; a
		// write from it fails and is retried from a fresh read.
		elapsed := max(now.Sub(rk.at).Seconds(), 0)
		tokens := math.Min(burst, rk.tokens+elapsed*ep.RatePerSecond)
		if tokens < 1 {
			return time.Duration((1 - tokens) / ep.RatePerSecond * float64(time.Second)), nil
		}
		v := encodeBucket(tokens-1, now)
		var rev uint64
		var err error
		if rk.rev == 0 {
			rev, err = l.kv.Create(ctx, key, v)
		} else {
			rev, err = l.kv.Update(ctx, key, v, rk.rev)
		}
		if err == nil {
			rk.rev, rk.tokens, rk.at = rev, tokens-1, now
			return 0, nil
		}
		rk.known = false
		if !errors.Is(err, jetstream.ErrKeyExists) && !isWrongSequence(err) {
			return 0, fmt.Errorf("take rate token of endpoint %s: %w", ep.ID, err)
		}
		// Another replica took a token first: read again.
	}
	return 0, fmt.Errorf("take rate token of endpoint %s: contention after %d tries", ep.ID, casAttempts)
}

// Acquire takes one of ep's in-flight slots for at most ttl (the
// attempt's timeout plus a margin, so a killed dispatcher's slot frees
// itself). ok is false when every slot is held. release frees the slot.
// An endpoint without a cap always gets a no-op release.
func (l *Limits) Acquire(ctx context.Context, ep *Endpoint, ttl time.Duration) (release func(context.Context), ok bool, err error) {
	if ep.MaxInFlight <= 0 {
		return func(context.Context) {}, true, nil
	}
	for slot := range ep.MaxInFlight {
		key := "inflight." + ep.ID + "." + strconv.Itoa(slot)
		_, err := l.kv.Create(ctx, key, nil, jetstream.KeyTTL(ttl))
		if err == nil {
			return func(ctx context.Context) { _ = l.kv.Purge(ctx, key) }, true, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) && !isWrongSequence(err) {
			return nil, false, fmt.Errorf("take in-flight slot of endpoint %s: %w", ep.ID, err)
		}
	}
	return nil, false, nil
}

// isWrongSequence reports a lost compare-and-set (Update's revision was
// stale).
func isWrongSequence(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence
}

func encodeBucket(tokens float64, at time.Time) []byte {
	return []byte(strconv.FormatFloat(tokens, 'g', -1, 64) + " " + strconv.FormatInt(at.UnixNano(), 10))
}

func decodeBucket(v []byte) (float64, time.Time, bool) {
	t, at, ok := strings.Cut(string(v), " ")
	if !ok {
		return 0, time.Time{}, false
	}
	tokens, err1 := strconv.ParseFloat(t, 64)
	ns, err2 := strconv.ParseInt(at, 10, 64)
	if err1 != nil || err2 != nil || math.IsNaN(tokens) {
		return 0, time.Time{}, false
	}
	return tokens, time.Unix(0, ns), true
}
