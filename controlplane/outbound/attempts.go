package outbound

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// AttemptRecord is the JSON of one attempt on
// hookgate.attempts.{tenant}.{endpoint_id}.{message_id} (the mirror of
// dispatch.AttemptRecord).
type AttemptRecord struct {
	Tenant       string    `json:"tenant"`
	MessageID    string    `json:"messageId"`
	EndpointID   string    `json:"endpointId"`
	AppID        string    `json:"appId,omitempty"`
	EventType    string    `json:"eventType,omitempty"`
	Number       int       `json:"attempt"`
	Trigger      string    `json:"trigger"`
	Time         time.Time `json:"time"`
	DurationMS   float64   `json:"durationMs"`
	URL          string    `json:"url"`
	StatusCode   int       `json:"statusCode,omitempty"`
	ErrorClass   string    `json:"errorClass,omitempty"`
	Response     string    `json:"response,omitempty"`
	RetryAfterMS int64     `json:"retryAfterMs,omitempty"`
	Disable      string    `json:"disable,omitempty"`
	NextRetry    time.Time `json:"nextRetry,omitzero"`
	State        string    `json:"state"`
}

// AttemptIDPrefix starts every attempt id: "att_" and the record's stream
// sequence in HOOKGATE_ATTEMPTS, so GetAttempt is one direct read.
const AttemptIDPrefix = "att_"

// GetAttempt reads one attempt by id. An id of another tenant's attempt,
// or of a record that aged out, is ErrNotFound.
func (r *Reader) GetAttempt(ctx context.Context, tenant, attemptID string) (*hookgatev1.Attempt, error) {
	digits, ok := strings.CutPrefix(attemptID, AttemptIDPrefix)
	seq, err := strconv.ParseUint(digits, 10, 64)
	if !ok || err != nil || seq == 0 {
		return nil, fmt.Errorf("attempt %s: %w", attemptID, ErrNotFound)
	}
	s, err := r.js.Stream(ctx, AttemptsStream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, fmt.Errorf("attempt %s: %w", attemptID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("open stream %s: %w", AttemptsStream, err)
	}
	m, err := s.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, fmt.Errorf("attempt %s: %w", attemptID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read attempt %s: %w", attemptID, err)
	}
	if !strings.HasPrefix(m.Subject, attemptsPrefix+tenant+".") {
		return nil, fmt.Errorf("attempt %s: %w", attemptID, ErrNotFound)
	}
	a, err := DecodeAttempt(seq, m.Data)
	if err != nil || a.Tenant != tenant {
		return nil, fmt.Errorf("attempt %s: %w", attemptID, ErrNotFound)
	}
	return a, nil
}

// lastAttempt is the newest attempt record of one delivery, nil when none
// is kept.
func (r *Reader) lastAttempt(ctx context.Context, s jetstream.Stream, tenant, endpointID, messageID string) (*hookgatev1.Attempt, error) {
	m, err := s.GetLastMsgForSubject(ctx, attemptsPrefix+tenant+"."+endpointID+"."+messageID)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("last attempt of %s to %s: %w", messageID, endpointID, err)
	}
	a, err := DecodeAttempt(m.Sequence, m.Data)
	if err != nil {
		return nil, nil // unreadable: the state alone answers
	}
	return a, nil
}

// DecodeAttempt reads an attempt record stored at seq.
func DecodeAttempt(seq uint64, data []byte) (*hookgatev1.Attempt, error) {
	var rec AttemptRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		return nil, fmt.Errorf("decode attempt %d: %w", seq, err)
	}
	if rec.Tenant == "" || rec.MessageID == "" || rec.EndpointID == "" {
		return nil, fmt.Errorf("attempt %d: missing tenant, message or endpoint", seq)
	}
	a := &hookgatev1.Attempt{
		Id: AttemptIDPrefix + strconv.FormatUint(seq, 10), Tenant: rec.Tenant,
		MessageId: rec.MessageID, EndpointId: rec.EndpointID,
		Status:  hookgatev1.AttemptStatus_ATTEMPT_STATUS_FAILED,
		Trigger: triggers[rec.Trigger], AttemptNumber: int32(rec.Number),
		ResponseStatusCode: int32(rec.StatusCode), ResponseBody: []byte(rec.Response),
		Duration: durationpb.New(time.Duration(rec.DurationMS * float64(time.Millisecond))),
		Error:    rec.ErrorClass, Time: timestamppb.New(rec.Time),
		Url: rec.URL, ErrorClass: rec.ErrorClass, DeliveryState: states[rec.State],
		DisableReason: rec.Disable,
	}
	if rec.ErrorClass == "" && rec.StatusCode >= 200 && rec.StatusCode < 300 {
		a.Status = hookgatev1.AttemptStatus_ATTEMPT_STATUS_SUCCEEDED
	}
	if !rec.NextRetry.IsZero() {
		a.NextAttemptTime = timestamppb.New(rec.NextRetry)
	}
	if rec.RetryAfterMS > 0 {
		a.RetryAfter = durationpb.New(time.Duration(rec.RetryAfterMS) * time.Millisecond)
	}
	return a, nil
}

// triggers maps the record's trigger names (dispatch.Trigger) to the API's.
var triggers = map[string]hookgatev1.AttemptTrigger{
	"scheduled": hookgatev1.AttemptTrigger_ATTEMPT_TRIGGER_SCHEDULED,
	"manual":    hookgatev1.AttemptTrigger_ATTEMPT_TRIGGER_MANUAL,
	"recover":   hookgatev1.AttemptTrigger_ATTEMPT_TRIGGER_RECOVER,
	"test":      hookgatev1.AttemptTrigger_ATTEMPT_TRIGGER_TEST,
}

// states maps the delivery state names (dispatch.State) to the API's.
var states = map[string]hookgatev1.DeliveryState{
	"pending":   hookgatev1.DeliveryState_DELIVERY_STATE_PENDING,
	"succeeded": hookgatev1.DeliveryState_DELIVERY_STATE_SUCCEEDED,
	"failed":    hookgatev1.DeliveryState_DELIVERY_STATE_FAILED,
	"cancelled": hookgatev1.DeliveryState_DELIVERY_STATE_CANCELLED,
}

// RecordedDelivery is the delivery a record stands for when the deliveries
// bucket holds no state of it: one whose first attempt succeeded (the
// dispatcher writes no state for it). ok is false for a record that stands
// for no delivery (a test send's) or cannot be read.
func RecordedDelivery(data []byte) (d Delivery, ok bool) {
	var rec AttemptRecord
	if json.Unmarshal(data, &rec) != nil || rec.Tenant == "" || rec.MessageID == "" || rec.EndpointID == "" || rec.Trigger == "test" {
		return Delivery{}, false
	}
	return Delivery{
		Tenant: rec.Tenant, MessageID: rec.MessageID, EndpointID: rec.EndpointID, AppID: rec.AppID,
		EventType: rec.EventType, State: rec.State, Attempts: rec.Number, LastStatusCode: rec.StatusCode,
		LastErrorClass: rec.ErrorClass, NextRetry: rec.NextRetry, CreatedAt: rec.Time, UpdatedAt: rec.Time,
	}, true
}

// LastRecordedDelivery is the delivery the newest record of (message,
// endpoint) in the attempts stream s stands for (RecordedDelivery); false
// when there is no such record or it stands for none.
func LastRecordedDelivery(ctx context.Context, s jetstream.Stream, tenant, endpointID, messageID string) (Delivery, bool, error) {
	m, err := s.GetLastMsgForSubject(ctx, attemptsPrefix+tenant+"."+endpointID+"."+messageID)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return Delivery{}, false, nil
	}
	if err != nil {
		return Delivery{}, false, fmt.Errorf("last attempt of %s to %s: %w", messageID, endpointID, err)
	}
	d, ok := RecordedDelivery(m.Data)
	if !ok || d.Tenant != tenant || d.MessageID != messageID || d.EndpointID != endpointID {
		return Delivery{}, false, nil
	}
	return d, true, nil
}

// RecordEndpoints lists the endpoints holding attempt records of a message
// (one record subject each, read from the stream's subject index), sorted.
func RecordEndpoints(ctx context.Context, s jetstream.Stream, tenant, messageID string) ([]string, error) {
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(attemptsPrefix+tenant+".*."+messageID))
	if err != nil {
		return nil, fmt.Errorf("list attempt records of %s: %w", messageID, err)
	}
	prefix, suffix := attemptsPrefix+tenant+".", "."+messageID
	out := make([]string, 0, len(info.State.Subjects))
	for subject := range info.State.Subjects {
		ep, ok := strings.CutPrefix(subject, prefix)
		if ep, ok2 := strings.CutSuffix(ep, suffix); ok && ok2 && ep != "" && !strings.Contains(ep, ".") {
			out = append(out, ep)
		}
	}
	slices.Sort(out)
	return out, nil
}
