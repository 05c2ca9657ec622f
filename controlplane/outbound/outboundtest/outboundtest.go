// Package outboundtest writes attempt records the way the dispatchers do,
// record and index copy (docs/design.md "Reading messages, deliveries and
// attempts"), so the readers' tests and benchmarks run without a
// dispatcher. It only publishes; it is for tests.
package outboundtest

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/hookgate/hookgate/controlplane/outbound"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// AttemptsStream is the stream config the readers expect (the dispatchers'
// HOOKGATE_ATTEMPTS, less its limits).
func AttemptsStream() jetstream.StreamConfig {
	return jetstream.StreamConfig{Name: outbound.AttemptsStream, Subjects: []string{"hookgate.attempts.>"}, Storage: jetstream.FileStorage}
}

// Record publishes an attempt record on
// hookgate.attempts.{tenant}.{endpoint_id}.{message_id} and returns its
// stream sequence.
func Record(ctx context.Context, js jetstream.JetStream, rec outbound.AttemptRecord) (uint64, error) {
	b, err := json.Marshal(rec)
	if err != nil {
		return 0, fmt.Errorf("encode attempt: %w", err)
	}
	ack, err := js.Publish(ctx, "hookgate.attempts."+rec.Tenant+"."+rec.EndpointID+"."+rec.MessageID, b)
	if err != nil {
		return 0, fmt.Errorf("record attempt of %s: %w", rec.MessageID, err)
	}
	return ack.Sequence, nil
}

// Index publishes the index copy of a record stored at seq.
func Index(ctx context.Context, js jetstream.JetStream, rec outbound.AttemptRecord, eventType string, seq uint64) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode attempt: %w", err)
	}
	m := nats.NewMsg(outbound.IndexSubject(rec, eventType))
	m.Header.Set(outbound.AttemptSeqHeader, strconv.FormatUint(seq, 10))
	m.Data = b
	if _, err := js.PublishMsg(ctx, m); err != nil {
		return fmt.Errorf("index attempt of %s: %w", rec.MessageID, err)
	}
	return nil
}

// Attempt records an attempt and its index copy, as a dispatcher does, and
// returns the record's sequence (the attempt id is att_{sequence}).
func Attempt(ctx context.Context, js jetstream.JetStream, rec outbound.AttemptRecord, eventType string) (uint64, error) {
	seq, err := Record(ctx, js, rec)
	if err != nil {
		return 0, err
	}
	return seq, Index(ctx, js, rec, eventType, seq)
}

// IndexBatch publishes the index copies of records stored at seqs as one
// batch, as a dispatcher's indexer does when several wait for one index
// subject: every record must have the same index subject.
func IndexBatch(ctx context.Context, js jetstream.JetStream, recs []outbound.AttemptRecord, seqs []uint64, eventType string) error {
	if len(recs) == 1 {
		return Index(ctx, js, recs[0], eventType, seqs[0])
	}
	m := nats.NewMsg(outbound.IndexSubject(recs[0], eventType))
	var nums []string
	for i, rec := range recs {
		if outbound.IndexSubject(rec, eventType) != m.Subject {
			return fmt.Errorf("index batch: record %d is of %s, not %s", i, outbound.IndexSubject(rec, eventType), m.Subject)
		}
		b, err := json.Marshal(rec)
		if err != nil {
			return fmt.Errorf("encode attempt: %w", err)
		}
		if i > 0 {
			m.Data = append(m.Data, '\n')
		}
		m.Data = append(m.Data, b...)
		nums = append(nums, strconv.FormatUint(seqs[i], 10))
	}
	m.Header.Set(outbound.AttemptSeqsHeader, strings.Join(nums, ","))
	if _, err := js.PublishMsg(ctx, m); err != nil {
		return fmt.Errorf("index %d attempts: %w", len(recs), err)
	}
	return nil
}
