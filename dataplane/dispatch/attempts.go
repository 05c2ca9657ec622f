package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/hookgate/hookgate/dataplane/streams"
)

// AttemptRecord is the JSON record of one attempt on
// hookgate.attempts.{tenant}.{endpoint_id}.{message_id} in
// HOOKGATE_ATTEMPTS (docs/design.md "Outbound message format").
type AttemptRecord struct {
	Tenant     string `json:"tenant"`
	MessageID  string `json:"messageId"`
	EndpointID string `json:"endpointId"`
	// AppID and EventType are the message's: a delivery whose first
	// attempt succeeded has no state in the bucket, and its record stands
	// for it (docs/design.md "Delivery state").
	AppID      string     `json:"appId,omitempty"`
	EventType  string     `json:"eventType,omitempty"`
	Number     int        `json:"attempt"`
	Trigger    Trigger    `json:"trigger"`
	Time       time.Time  `json:"time"`
	DurationMS float64    `json:"durationMs"`
	URL        string     `json:"url"`
	StatusCode int        `json:"statusCode,omitempty"`
	ErrorClass ErrorClass `json:"errorClass,omitempty"`
	// Response is the first MaxResponse bytes of the answer, as text.
	Response     string    `json:"response,omitempty"`
	RetryAfterMS int64     `json:"retryAfterMs,omitempty"`
	Disable      string    `json:"disable,omitempty"`
	NextRetry    time.Time `json:"nextRetry,omitzero"`
	// State is the delivery's state after this attempt.
	State State `json:"state"`
}

func newAttemptRecord(tenant string, a *Attempt, state State) AttemptRecord {
	return AttemptRecord{
		Tenant: tenant, MessageID: a.MessageID, EndpointID: a.EndpointID, Number: a.Number,
		Trigger: a.Trigger, Time: a.Time.UTC(), DurationMS: float64(a.Duration) / float64(time.Millisecond),
		URL: a.URL, StatusCode: a.StatusCode, ErrorClass: a.ErrorClass, Response: string(a.Response),
		RetryAfterMS: a.RetryAfter.Milliseconds(), Disable: string(a.Disable), NextRetry: a.NextRetry.UTC(), State: state,
	}
}

// recordAttempt stores the record of attempt a of delivery d and its
// index copy (storeRecord).
func (e *Engine) recordAttempt(ctx context.Context, d *Delivery, a *Attempt, state State) error {
	rec := newAttemptRecord(d.Tenant, a, state)
	rec.AppID, rec.EventType = d.AppID, d.EventType
	if a.NextRetry.IsZero() {
		rec.NextRetry = time.Time{}
	}
	_, err := e.storeRecord(ctx, rec, d.EventType, e.index)
	return err
}

// storeRecord stores an attempt's record, then its index copy (same
// JSON, on the index subject, with the record's sequence), by which
// attempts are listed by endpoint, status and event type, and returns the
// record's sequence. With an indexer the copy goes out in its next batch
// (this waits for it), else on its own. A crash between the two leaves the
// attempt out of endpoint listings only; listings by message read the
// records.
func (e *Engine) storeRecord(ctx context.Context, rec AttemptRecord, eventType string, x *indexer) (uint64, error) {
	b, err := json.Marshal(rec)
	if err != nil {
		return 0, fmt.Errorf("encode attempt: %w", err)
	}
	ack, err := e.js.Publish(ctx, streams.AttemptSubject(rec.Tenant, rec.EndpointID, rec.MessageID), b)
	if err != nil {
		return 0, fmt.Errorf("record attempt %d of %s to endpoint %s: %w", rec.Number, rec.MessageID, rec.EndpointID, err)
	}
	if !validEventType(eventType) {
		return ack.Sequence, nil
	}
	outcome := "failed"
	if rec.ErrorClass == "" {
		outcome = "succeeded"
	}
	entry := &indexEntry{subject: streams.AttemptIndexSubject(rec.Tenant, rec.EndpointID, outcome, string(rec.State), eventType), seq: ack.Sequence, data: b}
	if x != nil {
		if err := x.add(ctx, entry); err != nil {
			return ack.Sequence, fmt.Errorf("index attempt %d of %s to endpoint %s: %w", rec.Number, rec.MessageID, rec.EndpointID, err)
		}
		return ack.Sequence, nil
	}
	if _, err := e.js.PublishMsg(ctx, indexMsg([]*indexEntry{entry})); err != nil {
		return ack.Sequence, fmt.Errorf("index attempt %d of %s to endpoint %s: %w", rec.Number, rec.MessageID, rec.EndpointID, err)
	}
	return ack.Sequence, nil
}

// lastRecord reads the newest record of a delivery; found is false when it
// has none (or the stream is gone).
func (e *Engine) lastRecord(ctx context.Context, tenant, endpointID, messageID string) (rec AttemptRecord, found bool, err error) {
	s, err := e.attemptsStream(ctx)
	if err != nil {
		return rec, false, err
	}
	m, err := s.GetLastMsgForSubject(ctx, streams.AttemptSubject(tenant, endpointID, messageID))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return rec, false, nil
	}
	if err != nil {
		return rec, false, fmt.Errorf("read last attempt of %s to endpoint %s: %w", messageID, endpointID, err)
	}
	if err := json.Unmarshal(m.Data, &rec); err != nil {
		return rec, false, fmt.Errorf("decode last attempt of %s to endpoint %s: %w", messageID, endpointID, err)
	}
	return rec, true, nil
}

// recordedDelivery is the delivery a record stands for when the bucket
// holds no state of it: one whose first attempt succeeded.
func recordedDelivery(rec *AttemptRecord) Delivery {
	return Delivery{
		Tenant: rec.Tenant, MessageID: rec.MessageID, EndpointID: rec.EndpointID, AppID: rec.AppID,
		EventType: rec.EventType, State: rec.State, Attempts: rec.Number, LastStatusCode: rec.StatusCode,
		LastErrorClass: rec.ErrorClass, NextRetry: rec.NextRetry, CreatedAt: rec.Time, UpdatedAt: rec.Time,
	}
}

// validEventType reports whether t is a dotted name whose every token can
// be a subject token.
func validEventType(t string) bool {
	if t == "" {
		return false
	}
	for tok := range strings.SplitSeq(t, ".") {
		if tok == "" || strings.ContainsAny(tok, " \t*>") {
			return false
		}
	}
	return true
}
