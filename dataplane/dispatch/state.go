package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hookgate/hookgate/dataplane/streams"
	"github.com/nats-io/nats.go/jetstream"
)

// Reasons a delivery ended failed or cancelled.
const (
	ReasonExhausted         = "exhausted"          // the last attempt failed
	ReasonEndpointGone      = "gone"               // the endpoint answered 410
	ReasonEndpointCancelled = "endpoint_cancelled" // CancelEndpoint
	ReasonEndpointUnknown   = "endpoint_unknown"   // disabled, deleted or unknown when due
)

// Delivery is the state of one (message, endpoint) pair, kept in the
// deliveries bucket under {tenant}.{message_id}.{endpoint_id}.
type Delivery struct {
	Tenant     string `json:"tenant"`
	MessageID  string `json:"messageId"`
	EndpointID string `json:"endpointId"`
	AppID      string `json:"appId,omitempty"`
	EventType  string `json:"eventType,omitempty"`
	State      State  `json:"state"`
	// Reason says why a delivery is failed or cancelled.
	Reason string `json:"reason,omitempty"`
	// Attempts counts the attempts made.
	Attempts       int        `json:"attempts"`
	LastStatusCode int        `json:"lastStatusCode,omitempty"`
	LastErrorClass ErrorClass `json:"lastErrorClass,omitempty"`
	NextRetry      time.Time  `json:"nextRetry,omitzero"`
	CreatedAt      time.Time  `json:"createdAt"`
	UpdatedAt      time.Time  `json:"updatedAt"`
}

// Terminal reports whether no attempt follows.
func (d *Delivery) Terminal() bool { return d.State != StatePending }

func stateKey(tenant, messageID, endpointID string) string {
	return tenant + "." + messageID + "." + endpointID
}

// createState records a new pending delivery unless it exists.
func (e *Engine) createState(ctx context.Context, kv jetstream.KeyValue, msg *Message, endpointID string) error {
	now := e.now().UTC()
	d := Delivery{
		Tenant: msg.Tenant, MessageID: msg.ID, EndpointID: endpointID, AppID: msg.AppID,
		EventType: msg.EventType, State: StatePending, CreatedAt: now, UpdatedAt: now,
	}
	b, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("encode delivery: %w", err)
	}
	_, err = kv.Create(ctx, stateKey(msg.Tenant, msg.ID, endpointID), b)
	if err != nil && !errors.Is(err, jetstream.ErrKeyExists) && !isWrongSequence(err) {
		return fmt.Errorf("create delivery %s of endpoint %s: %w", msg.ID, endpointID, err)
	}
	return nil
}

// getState reads a delivery and its revision; found is false when absent.
func getState(ctx context.Context, kv jetstream.KeyValue, key string) (d Delivery, rev uint64, found bool, err error) {
	entry, err := kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Delivery{}, 0, false, nil
	}
	if err != nil {
		return Delivery{}, 0, false, fmt.Errorf("read delivery %s: %w", key, err)
	}
	if err := json.Unmarshal(entry.Value(), &d); err != nil {
		return Delivery{}, 0, false, fmt.Errorf("decode delivery %s: %w", key, err)
	}
	return d, entry.Revision(), true, nil
}

// stateOrRecord reads a delivery's state from the bucket (rev > 0) or,
// when the bucket has none, from its newest attempt record (rev 0): a
// delivery whose first attempt succeeded is kept only as that record. A
// test send's record stands for no delivery.
func (e *Engine) stateOrRecord(ctx context.Context, kv jetstream.KeyValue, tenant, messageID, endpointID string) (d Delivery, rev uint64, found bool, err error) {
	d, rev, found, err = getState(ctx, kv, stateKey(tenant, messageID, endpointID))
	if err != nil || found {
		return d, rev, found, err
	}
	rec, found, err := e.lastRecord(ctx, tenant, endpointID, messageID)
	if err != nil || !found || rec.Trigger == TriggerTest {
		return Delivery{}, 0, false, err
	}
	return recordedDelivery(&rec), 0, true, nil
}

// errStale: the delivery changed since it was read (compare-and-set lost).
var errStale = errors.New("delivery changed concurrently")

// putState writes d if the delivery is still at rev (0: absent).
func (e *Engine) putState(ctx context.Context, kv jetstream.KeyValue, d *Delivery, rev uint64) error {
	d.UpdatedAt = e.now().UTC()
	b, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("encode delivery: %w", err)
	}
	key := stateKey(d.Tenant, d.MessageID, d.EndpointID)
	if rev == 0 {
		_, err = kv.Create(ctx, key, b)
	} else {
		_, err = kv.Update(ctx, key, b, rev)
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, jetstream.ErrKeyExists), isWrongSequence(err):
		return errStale
	default:
		return fmt.Errorf("write delivery %s: %w", key, err)
	}
}

// Deliveries returns the state of every delivery of a message, one per
// endpoint it was fanned out to: the bucket's states, and the newest
// record of each delivery the bucket holds none of.
func (e *Engine) Deliveries(ctx context.Context, tenant, messageID string) ([]Delivery, error) {
	if !validToken(tenant) || !validToken(messageID) {
		return nil, fmt.Errorf("deliveries of message %q: invalid tenant or message id", messageID)
	}
	kv, err := e.deliveries(ctx)
	if err != nil {
		return nil, err
	}
	keys, err := listKeys(ctx, kv, stateKey(tenant, messageID, "*"))
	if err != nil {
		return nil, err
	}
	out := make([]Delivery, 0, len(keys))
	seen := map[string]bool{}
	for _, k := range keys {
		d, _, found, err := getState(ctx, kv, k)
		if err != nil {
			return nil, err
		}
		if found {
			out = append(out, d)
			seen[d.EndpointID] = true
		}
	}
	s, err := e.attemptsStream(ctx)
	if err != nil {
		return nil, err
	}
	endpoints, err := streams.RecordEndpoints(ctx, s, tenant, messageID)
	if err != nil {
		return nil, err
	}
	for _, ep := range endpoints {
		if seen[ep] {
			continue
		}
		rec, found, err := e.lastRecord(ctx, tenant, ep, messageID)
		if err != nil {
			return nil, err
		}
		if found && rec.Trigger != TriggerTest {
			out = append(out, recordedDelivery(&rec))
		}
	}
	return out, nil
}

func listKeys(ctx context.Context, kv jetstream.KeyValue, filter string) ([]string, error) {
	l, err := kv.ListKeysFiltered(ctx, filter)
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list deliveries %s: %w", filter, err)
	}
	defer func() { _ = l.Stop() }()
	var keys []string
	for k := range l.Keys() {
		keys = append(keys, k)
	}
	return keys, nil
}

// CancelEndpoint cancels every pending delivery of an endpoint (it was
// disabled or deleted): their states become cancelled and their waiting
// retries are purged. A worker that is mid-attempt loses
// its compare-and-set and schedules nothing; a task that still comes up
// finds its delivery cancelled.
func (e *Engine) CancelEndpoint(ctx context.Context, tenant, endpointID string) error {
	if !validToken(tenant) || !validToken(endpointID) {
		return fmt.Errorf("cancel endpoint %q: invalid tenant or endpoint id", endpointID)
	}
	kv, err := e.deliveries(ctx)
	if err != nil {
		return err
	}
	keys, err := listKeys(ctx, kv, stateKey(tenant, "*", endpointID))
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := e.cancelKey(ctx, kv, k, ReasonEndpointCancelled); err != nil {
			return fmt.Errorf("cancel endpoint %s: %w", endpointID, err)
		}
	}
	s, err := e.js.Stream(ctx, streams.Deliver)
	if err != nil {
		return fmt.Errorf("cancel endpoint %s: open %s: %w", endpointID, streams.Deliver, err)
	}
	// Only the retry subjects, which no consumer reads. A filtered purge
	// of a subject inside the deliver consumer's filter drops that
	// consumer's queued redeliveries of other subjects (nats-server 2.15
	// consumer.purge empties rdq below its delivered sequence), so a
	// NakWithDelay of another endpoint's task would wait out AckWait.
	// Queued tasks of the endpoint are cancelled when they come up.
	if err := s.Purge(ctx, jetstream.WithPurgeSubject(streams.RetryFilter(tenant, endpointID))); err != nil {
		return fmt.Errorf("cancel endpoint %s: purge retries: %w", endpointID, err)
	}
	e.log.Info("endpoint deliveries cancelled", "tenant", tenant, "endpoint_id", endpointID, "deliveries", len(keys))
	return nil
}

// cancelKey marks one delivery cancelled unless it already ended.
func (e *Engine) cancelKey(ctx context.Context, kv jetstream.KeyValue, key, reason string) error {
	for range casAttempts {
		d, rev, found, err := getState(ctx, kv, key)
		if err != nil {
			return err
		}
		if !found || d.Terminal() {
			return nil
		}
		d.State, d.Reason, d.NextRetry = StateCancelled, reason, time.Time{}
		switch err := e.putState(ctx, kv, &d, rev); {
		case err == nil:
			return nil
		case !errors.Is(err, errStale):
			return err
		}
	}
	return fmt.Errorf("cancel delivery %s: contention", key)
}
