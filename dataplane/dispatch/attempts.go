package dispatch

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

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

// recordAttempt stores the attempt's record.
func (e *Engine) recordAttempt(ctx context.Context, tenant string, a *Attempt, state State) error {
	rec := newAttemptRecord(tenant, a, state)
	if a.NextRetry.IsZero() {
		rec.NextRetry = time.Time{}
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode attempt: %w", err)
	}
	if _, err := e.js.Publish(ctx, streams.AttemptSubject(tenant, a.EndpointID, a.MessageID), b); err != nil {
		return fmt.Errorf("record attempt %d of %s to endpoint %s: %w", a.Number, a.MessageID, a.EndpointID, err)
	}
	return nil
}
