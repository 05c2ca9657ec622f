package outbound

import (
	"strings"

	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
)

// The attempt index (docs/design.md "Reading messages, deliveries and
// attempts"): beside each record on
// hookgate.attempts.{tenant}.{endpoint_id}.{message_id}, the dispatcher
// writes a copy of the same JSON on
//
//	hookgate.attempts._index.{tenant}.{endpoint_id}.{outcome}.{state}.{event_type}
//
// with header Hookgate-Attempt-Seq, the record's stream sequence. outcome
// is succeeded or failed, state the delivery's state after the attempt
// (the record's state). An endpoint's attempts of one status and event type
// are then one subject, and every filter of ListAttempts a subject with at
// most two wildcards over a handful of subjects (outcomes × states × the
// endpoint's event types), which the stream's per-subject index finds
// without reading other endpoints' attempts. "_index" cannot be a tenant
// slug, so no record subject or filter of a tenant matches an index copy.
const (
	indexPrefix = attemptsPrefix + "_index."
	// AttemptSeqHeader carries the record's stream sequence on an index
	// copy: the attempt's id is att_{that sequence}.
	AttemptSeqHeader = "Hookgate-Attempt-Seq"
)

// Outcomes of an attempt in the index subject.
const (
	OutcomeSucceeded = "succeeded"
	OutcomeFailed    = "failed"
)

// Outcome is the index token of a record: succeeded for a 2xx answer
// without error class, else failed (the rule of DecodeAttempt).
func Outcome(rec AttemptRecord) string {
	if rec.ErrorClass == "" && rec.StatusCode >= 200 && rec.StatusCode < 300 {
		return OutcomeSucceeded
	}
	return OutcomeFailed
}

// IndexSubject is the subject of a record's index copy. eventType is the
// message's (several tokens when it has dots).
func IndexSubject(rec AttemptRecord, eventType string) string {
	return indexPrefix + rec.Tenant + "." + rec.EndpointID + "." + Outcome(rec) + "." + rec.State + "." + eventType
}

// indexFilter is the index subjects f selects; f has no message id.
func (f AttemptFilter) indexFilter() string {
	outcome, state := "*", "*"
	switch f.Status {
	case hookgatev1.AttemptStatus_ATTEMPT_STATUS_SUCCEEDED:
		outcome = OutcomeSucceeded
	case hookgatev1.AttemptStatus_ATTEMPT_STATUS_FAILED:
		outcome = OutcomeFailed
	case hookgatev1.AttemptStatus_ATTEMPT_STATUS_PENDING:
		outcome, state = OutcomeFailed, "pending"
	}
	tail := ">"
	if f.EventType != "" {
		tail = f.EventType
	}
	return indexPrefix + f.Tenant + "." + or(f.EndpointID, "*") + "." + outcome + "." + state + "." + tail
}

// indexPrefixOf is every index subject of the filter's endpoint (or
// tenant), whatever the status and type: whether the index holds anything.
func (f AttemptFilter) indexAll() string {
	return indexPrefix + f.Tenant + "." + or(f.EndpointID, "*") + ".>"
}

// isIndexSubject tells an index copy from a record.
func isIndexSubject(subject string) bool { return strings.HasPrefix(subject, indexPrefix) }
