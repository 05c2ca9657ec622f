package dispatch

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/hookgate/hookgate/dataplane/streams"
)

// AttemptRecord is the JSON record of one attempt on
// hookgate.attempts.{tenant}.{endpoint_id}.{message_id} in
// HOOKGATE_ATTEMPTS (docs/design.md "Outbound message format").
type AttemptRecord struct {
	Tenant     string     `json:"tenant"`
	MessageID  string     `json:"messageId"`
	EndpointID string     `json:"endpointId"`
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

// recordAttempt stores the attempt's record, then its index copy (same
// JSON, on the index subject, with the record's sequence), by which
// attempts are listed by endpoint, status and event type. A crash between
// the two leaves the attempt out of endpoint listings only; listings by
// message read the records.
func (e *Engine) recordAttempt(ctx context.Context, tenant, eventType string, a *Attempt, state State) error {
	rec := newAttemptRecord(tenant, a, state)
	if a.NextRetry.IsZero() {
		rec.NextRetry = time.Time{}
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode attempt: %w", err)
	}
	ack, err := e.js.Publish(ctx, streams.AttemptSubject(tenant, a.EndpointID, a.MessageID), b)
	if err != nil {
		return fmt.Errorf("record attempt %d of %s to endpoint %s: %w", a.Number, a.MessageID, a.EndpointID, err)
	}
	if !validEventType(eventType) {
		return nil
	}
	outcome := "failed"
	if a.Succeeded() {
		outcome = "succeeded"
	}
	m := nats.NewMsg(streams.AttemptIndexSubject(tenant, a.EndpointID, outcome, string(state), eventType))
	m.Header.Set(streams.AttemptSeqHeader, strconv.FormatUint(ack.Sequence, 10))
	m.Data = b
	if _, err := e.js.PublishMsg(ctx, m); err != nil {
		return fmt.Errorf("index attempt %d of %s to endpoint %s: %w", a.Number, a.MessageID, a.EndpointID, err)
	}
	return nil
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
