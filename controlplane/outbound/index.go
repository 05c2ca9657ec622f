package outbound

import (
	"bytes"
	"context"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

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
	// AttemptSeqsHeader carries, on a batch of index copies of one subject,
	// the records' sequences comma-separated, in the order of the records'
	// JSON, one per line, in the body (docs/design.md "Attempt index
	// batches").
	AttemptSeqsHeader = "Hookgate-Attempt-Seqs"
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

// indexCopies reads an index message: one copy, or a batch of them, oldest
// record first. A batch whose sequences and lines do not pair up, or a copy
// without a sequence, is unreadable; so is a record that does not decode.
func indexCopies(m *jetstream.RawStreamMsg) []*hookgatev1.Attempt {
	if seqs := m.Header.Get(AttemptSeqsHeader); seqs != "" {
		nums := strings.Split(seqs, ",")
		lines := bytes.Split(m.Data, []byte{'\n'})
		if len(nums) != len(lines) {
			return nil
		}
		out := make([]*hookgatev1.Attempt, 0, len(nums))
		for i, n := range nums {
			seq, err := strconv.ParseUint(n, 10, 64)
			if err != nil || seq == 0 {
				return nil
			}
			if a, err := DecodeAttempt(seq, lines[i]); err == nil {
				out = append(out, a)
			}
		}
		return out
	}
	seq, err := strconv.ParseUint(m.Header.Get(AttemptSeqHeader), 10, 64)
	if err != nil || seq == 0 {
		return nil
	}
	a, err := DecodeAttempt(seq, m.Data)
	if err != nil {
		return nil
	}
	return []*hookgatev1.Attempt{a}
}

// kept is the copies of one index message f keeps, with their places in it.
type kept struct {
	attempts []*hookgatev1.Attempt
	places   []int
}

// decodeIndex reads an index message into the copies f keeps.
func (f AttemptFilter) decodeIndex(m *jetstream.RawStreamMsg) (kept, bool) {
	var k kept
	for i, a := range indexCopies(m) {
		if f.keep(a) {
			k.attempts, k.places = append(k.attempts, a), append(k.places, i)
		}
	}
	return k, len(k.attempts) > 0
}

// listIndex pages attempts newest first from the index. A page token is
// the stream sequence of the index message holding the page's last
// attempt, and, when that message is a batch with older copies not yet
// listed, "." and the place of that attempt in it: the next page starts
// with the batch's copies before that place, then the messages before it.
// Pages of single copies have the plain tokens they always had.
func listIndex(ctx context.Context, s jetstream.Stream, f AttemptFilter, below uint64, within, size int) ([]*hookgatev1.Attempt, string, error) {
	type at struct {
		a     *hookgatev1.Attempt
		seq   uint64
		place int
	}
	var all []at
	add := func(seq uint64, k kept, before int) {
		for i := len(k.attempts) - 1; i >= 0; i-- {
			if before < 0 || k.places[i] < before {
				all = append(all, at{k.attempts[i], seq, k.places[i]})
			}
		}
	}
	if within > 0 {
		// The token's message, if it still matches the filter (the server
		// checks the subject; a token cannot point at another's copies).
		m, err := nextMatch(ctx, s, f.indexFilter(), below)
		if err != nil {
			return nil, "", err
		}
		if m != nil && m.Sequence == below {
			if k, ok := f.decodeIndex(m); ok {
				add(below, k, within)
			}
		}
	}
	// Every message listBack keeps holds at least one attempt, so asking
	// for what is still missing (one more than the page, to know whether
	// another follows) is enough.
	if need := size + 1 - len(all); need > 0 {
		items, _, err := listBack(ctx, s, f.indexFilter(), below, f.Since, f.Until, need, f.decodeIndex)
		if err != nil {
			return nil, "", err
		}
		for _, it := range items {
			add(it.seq, it.v, -1)
		}
	}
	next := ""
	if len(all) > size {
		all = all[:size]
		last := all[size-1]
		next = strconv.FormatUint(last.seq, 10)
		if last.place > 0 {
			next += "." + strconv.Itoa(last.place)
		}
	}
	out := make([]*hookgatev1.Attempt, len(all))
	for i, x := range all {
		out[i] = x.a
	}
	return out, next, nil
}

// parseIndexToken reads a page token: a sequence, optionally followed by
// "." and a place within that index message.
func parseIndexToken(token string) (below uint64, within int, err error) {
	seq, place, batched := strings.Cut(token, ".")
	if below, err = parseToken(seq); err != nil {
		return 0, 0, err
	}
	if !batched {
		return below, 0, nil
	}
	within, err = strconv.Atoi(place)
	if err != nil || within <= 0 || within >= maxIndexPlaces || below == 0 {
		return 0, 0, ErrBadPageToken
	}
	return below, within, nil
}

// maxIndexPlaces bounds a place in a page token: more than any batch holds.
const maxIndexPlaces = 1 << 16
