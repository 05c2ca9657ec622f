package outbound

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/nats-io/nats.go/jetstream"
)

// AttemptFilter selects attempts; empty fields match everything. Ids and
// the event type must be subject tokens (the caller validates them).
type AttemptFilter struct {
	Tenant, EndpointID, MessageID string
	// EventType keeps only attempts of messages of this type.
	EventType string
	// Status keeps only succeeded, only failed, or only pending attempts
	// (failed ones after which the delivery still waits for a retry;
	// failed includes them).
	Status hookgatev1.AttemptStatus
	// Since and Until bound the attempt's time to [Since, Until); zero is
	// unbounded.
	Since, Until time.Time
}

// keep applies the parts of the filter a subject does not carry.
func (f AttemptFilter) keep(a *hookgatev1.Attempt) bool {
	if a.Tenant != f.Tenant || (f.EndpointID != "" && a.EndpointId != f.EndpointID) || (f.MessageID != "" && a.MessageId != f.MessageID) {
		return false
	}
	t := a.GetTime().AsTime()
	if (!f.Since.IsZero() && t.Before(f.Since)) || (!f.Until.IsZero() && !t.Before(f.Until)) {
		return false
	}
	switch f.Status {
	case hookgatev1.AttemptStatus_ATTEMPT_STATUS_SUCCEEDED, hookgatev1.AttemptStatus_ATTEMPT_STATUS_FAILED:
		return a.Status == f.Status
	case hookgatev1.AttemptStatus_ATTEMPT_STATUS_PENDING:
		return a.Status == hookgatev1.AttemptStatus_ATTEMPT_STATUS_FAILED && a.DeliveryState == hookgatev1.DeliveryState_DELIVERY_STATE_PENDING
	}
	return true
}

// recordFilter is the record subjects of f (without the index).
func (f AttemptFilter) recordFilter() string {
	return attemptsPrefix + f.Tenant + "." + or(f.EndpointID, "*") + "." + or(f.MessageID, "*")
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// ListAttempts returns up to size attempts newest first (by when they were
// recorded), older than the page token, and the next token. New attempts
// recorded while a caller pages are newer than every token issued, so pages
// neither skip nor repeat an attempt.
//
// With a message id the attempts are those of the message's deliveries,
// one record subject per endpoint (a delivery has at most a few dozen
// attempts); the token is a record's sequence. Otherwise they are read
// from the attempt index, whose subjects carry endpoint, status and event
// type, so a page reads about its own attempts whatever the stream holds;
// the token is an index copy's sequence. An endpoint (or tenant) without
// any index copy — records of dispatchers that do not write the index yet
// — is read from the record subjects instead, filtering status in the
// reader and the event type through the delivery states.
func (r *Reader) ListAttempts(ctx context.Context, f AttemptFilter, size int, token string) ([]*hookgatev1.Attempt, string, error) {
	below, within, err := parseIndexToken(token)
	if err != nil {
		return nil, "", err
	}
	s, err := openStream(ctx, r.js, AttemptsStream)
	if err != nil || s == nil {
		return nil, "", err
	}
	indexed := false
	if f.MessageID == "" {
		if indexed, err = hasAny(ctx, s, f.indexAll()); err != nil {
			return nil, "", fmt.Errorf("list attempts of %s: %w", f.Tenant, err)
		}
	}
	if indexed {
		out, next, err := listIndex(ctx, s, f, below, within, size)
		if err != nil {
			return nil, "", fmt.Errorf("list attempts of %s: %w", f.Tenant, err)
		}
		return out, next, nil
	}
	if within != 0 {
		return nil, "", ErrBadPageToken // only index pages end inside a message
	}
	var items []item[*hookgatev1.Attempt]
	var more bool
	if f.MessageID != "" {
		items, more, err = r.messageAttempts(ctx, s, f, size, below)
	} else {
		items, more, err = listBack(ctx, s, f.recordFilter(), below, f.Since, f.Until, size, r.decodeRecord(ctx, f))
	}
	if err != nil {
		return nil, "", fmt.Errorf("list attempts of %s: %w", f.Tenant, err)
	}
	out, next := page(items, more)
	return out, next, nil
}

// listBack reads a page of attempts newest first within the sequences that
// can hold matches of filter in the time range, recordLag wider on each
// side (decode filters by the record's time).
func listBack[T any](ctx context.Context, s jetstream.Stream, filter string, below uint64, since, until time.Time, size int, decode decoder[T]) ([]item[T], bool, error) {
	if !since.IsZero() {
		since = since.Add(-recordLag)
	}
	if !until.IsZero() {
		until = until.Add(recordLag)
	}
	lo, hi, ok, err := span(ctx, s, filter, below, since, until)
	if err != nil || !ok {
		return nil, false, err
	}
	return scanBack(ctx, s, filter, lo, hi, size, decode)
}

// hasAny tells whether any message matches filter.
func hasAny(ctx context.Context, s jetstream.Stream, filter string) (bool, error) {
	_, err := s.GetLastMsgForSubject(ctx, filter)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("last of %s: %w", filter, err)
	}
	return true, nil
}

// decodeRecord reads a record; with an event type in the filter it keeps
// the records whose delivery state names that type.
func (r *Reader) decodeRecord(ctx context.Context, f AttemptFilter) decoder[*hookgatev1.Attempt] {
	types := map[string]string{} // delivery key → event type
	return func(m *jetstream.RawStreamMsg) (*hookgatev1.Attempt, bool) {
		if isIndexSubject(m.Subject) {
			return nil, false
		}
		a, err := DecodeAttempt(m.Sequence, m.Data)
		if err != nil || !f.keep(a) {
			return nil, false
		}
		if f.EventType == "" {
			return a, true
		}
		key := a.Tenant + "." + a.MessageId + "." + a.EndpointId
		t, ok := types[key]
		if !ok {
			t = r.deliveryEventType(ctx, key)
			types[key] = t
		}
		return a, t == f.EventType
	}
}

// deliveryEventType is the event type a delivery state names, "" when the
// state is gone or unreadable.
func (r *Reader) deliveryEventType(ctx context.Context, key string) string {
	kv, err := r.js.KeyValue(ctx, DeliveriesKV)
	if err != nil {
		return ""
	}
	e, err := kv.Get(ctx, key)
	if err != nil {
		return ""
	}
	d, err := DecodeDelivery(e.Value())
	if err != nil {
		return ""
	}
	return d.EventType
}

// messageAttempts pages the attempts of one message: every attempt of each
// endpoint holding records of it (found in the stream's subject index), or
// of the one endpoint asked for, merged newest first.
func (r *Reader) messageAttempts(ctx context.Context, s jetstream.Stream, f AttemptFilter, size int, below uint64) ([]item[*hookgatev1.Attempt], bool, error) {
	endpoints := []string{f.EndpointID}
	if f.EndpointID == "" {
		// Every endpoint holding a record of the message: the records are
		// what is listed.
		var err error
		if endpoints, err = RecordEndpoints(ctx, s, f.Tenant, f.MessageID); err != nil {
			return nil, false, err
		}
	}
	if f.EventType != "" {
		ds, err := r.Deliveries(ctx, f.Tenant, f.MessageID)
		if err != nil {
			return nil, false, err
		}
		if len(ds) > 0 && ds[0].EventType != f.EventType {
			return nil, false, nil
		}
	}
	decode := func(m *jetstream.RawStreamMsg) (*hookgatev1.Attempt, bool) {
		a, err := DecodeAttempt(m.Sequence, m.Data)
		return a, err == nil && f.keep(a)
	}
	var all []item[*hookgatev1.Attempt]
	for _, ep := range endpoints {
		got, err := readAll(ctx, s, attemptsPrefix+f.Tenant+"."+ep+"."+f.MessageID, below, decode)
		if err != nil {
			return nil, false, err
		}
		all = append(all, got...)
	}
	slices.SortFunc(all, func(a, b item[*hookgatev1.Attempt]) int { return cmp.Compare(b.seq, a.seq) })
	if len(all) > size {
		return all[:size], true, nil
	}
	return all, false, nil
}
