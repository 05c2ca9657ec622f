package outbound

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Delivery is the JSON state of one (message, endpoint) pair in the bucket
// HOOKGATE_DELIVERIES under {tenant}.{message_id}.{endpoint_id} (the mirror
// of dispatch.Delivery).
type Delivery struct {
	Tenant         string    `json:"tenant"`
	MessageID      string    `json:"messageId"`
	EndpointID     string    `json:"endpointId"`
	AppID          string    `json:"appId,omitempty"`
	EventType      string    `json:"eventType,omitempty"`
	State          string    `json:"state"`
	Reason         string    `json:"reason,omitempty"`
	Attempts       int       `json:"attempts"`
	LastStatusCode int       `json:"lastStatusCode,omitempty"`
	LastErrorClass string    `json:"lastErrorClass,omitempty"`
	NextRetry      time.Time `json:"nextRetry,omitzero"`
	CreatedAt      time.Time `json:"createdAt"`
	UpdatedAt      time.Time `json:"updatedAt"`
}

// Deliveries returns the state of every copy of a message, one per
// endpoint it was fanned out to, ordered by endpoint id: the bucket's
// states, and for a copy the bucket holds none of (its first attempt
// succeeded) its newest record. The last attempt time is the newest
// attempt record's (the state's update time when that record aged out). A
// message not fanned out yet has none.
func (r *Reader) Deliveries(ctx context.Context, tenant, messageID string) ([]*hookgatev1.Delivery, error) {
	attempts, err := r.js.Stream(ctx, AttemptsStream)
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
		attempts = nil
	case err != nil:
		return nil, fmt.Errorf("open stream %s: %w", AttemptsStream, err)
	}
	out, err := r.storedDeliveries(ctx, attempts, tenant, messageID)
	if err != nil || attempts == nil {
		return out, err
	}
	seen := make(map[string]bool, len(out))
	for _, d := range out {
		seen[d.EndpointId] = true
	}
	endpoints, err := RecordEndpoints(ctx, attempts, tenant, messageID)
	if err != nil {
		return nil, err
	}
	added := false
	for _, ep := range endpoints {
		if seen[ep] {
			continue
		}
		rd, ok, err := LastRecordedDelivery(ctx, attempts, tenant, ep, messageID)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue // aged out since listed, or no delivery's
		}
		d := rd.proto()
		d.LastAttemptTime = timestamppb.New(rd.UpdatedAt)
		out, added = append(out, d), true
	}
	if added {
		slices.SortFunc(out, func(a, b *hookgatev1.Delivery) int { return strings.Compare(a.GetEndpointId(), b.GetEndpointId()) })
	}
	return out, nil
}

// storedDeliveries reads the bucket's states of a message's copies.
func (r *Reader) storedDeliveries(ctx context.Context, attempts jetstream.Stream, tenant, messageID string) ([]*hookgatev1.Delivery, error) {
	kv, err := r.js.KeyValue(ctx, DeliveriesKV)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open bucket %s: %w", DeliveriesKV, err)
	}
	prefix := tenant + "." + messageID + "."
	l, err := kv.ListKeysFiltered(ctx, prefix+"*")
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list deliveries of %s: %w", messageID, err)
	}
	var keys []string
	for k := range l.Keys() {
		keys = append(keys, k)
	}
	_ = l.Stop()
	slices.Sort(keys)
	out := make([]*hookgatev1.Delivery, 0, len(keys))
	for _, k := range keys {
		entry, err := kv.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // expired or purged since listed
		}
		if err != nil {
			return nil, fmt.Errorf("read delivery %s: %w", k, err)
		}
		d, err := DecodeDelivery(entry.Value())
		if err != nil || d.Tenant != tenant || d.MessageId != messageID || d.EndpointId != strings.TrimPrefix(k, prefix) {
			continue // a record this version cannot read is skipped, not fatal
		}
		if d.AttemptCount > 0 {
			if d.LastAttemptTime = d.UpdateTime; attempts != nil {
				last, err := r.lastAttempt(ctx, attempts, tenant, d.EndpointId, messageID)
				if err != nil {
					return nil, err
				}
				if last != nil {
					d.LastAttemptTime = last.Time
				}
			}
		}
		out = append(out, d)
	}
	return out, nil
}

// DecodeDelivery reads a delivery state. The last attempt time is left
// unset: the state does not hold it.
func DecodeDelivery(data []byte) (*hookgatev1.Delivery, error) {
	var d Delivery
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("decode delivery: %w", err)
	}
	if d.Tenant == "" || d.MessageID == "" || d.EndpointID == "" {
		return nil, errors.New("delivery: missing tenant, message or endpoint")
	}
	return d.proto(), nil
}

// proto is the API's form of the state.
func (d *Delivery) proto() *hookgatev1.Delivery {
	out := &hookgatev1.Delivery{
		Tenant: d.Tenant, MessageId: d.MessageID, EndpointId: d.EndpointID,
		State: states[d.State], AttemptCount: int32(d.Attempts), LastStatusCode: int32(d.LastStatusCode),
		Reason: d.Reason, LastErrorClass: d.LastErrorClass, ApplicationId: d.AppID, EventType: d.EventType,
	}
	if !d.NextRetry.IsZero() {
		out.NextAttemptTime = timestamppb.New(d.NextRetry)
	}
	if !d.CreatedAt.IsZero() {
		out.CreateTime = timestamppb.New(d.CreatedAt)
	}
	if !d.UpdatedAt.IsZero() {
		out.UpdateTime = timestamppb.New(d.UpdatedAt)
	}
	return out
}
