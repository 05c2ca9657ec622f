// Package outbound reads what the dispatchers and producers keep in
// JetStream: outbound messages (HOOKGATE_OUTBOUND), attempt records
// (HOOKGATE_ATTEMPTS) and delivery states (KV bucket HOOKGATE_DELIVERIES),
// in the JSON forms of docs/design.md "Outbound message format and the
// dispatch engine". It only reads: the data plane writes, and the streams'
// limits bound what is kept. The control plane may not import the data
// plane, so the record shapes are mirrored here; the contract test in
// cmd/hookgate/contract decodes the data plane's own structs with them.
package outbound

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// Stream, bucket and subject scheme shared with the data plane
// (dataplane/streams).
const (
	OutboundStream  = "HOOKGATE_OUTBOUND"
	AttemptsStream  = "HOOKGATE_ATTEMPTS"
	DeliveriesKV    = "HOOKGATE_DELIVERIES"
	outboundPrefix  = "hookgate.out."
	attemptsPrefix  = "hookgate.attempts."
	fetchBatch      = 256
	minScanWindow   = 64
	scanWindowLimit = 1 << 20
)

// Errors callers act on.
var (
	// ErrBadPageToken means a page token was not issued by Reader.
	ErrBadPageToken = errors.New("invalid page token")
	// ErrNotFound means no such message or attempt of the tenant is kept.
	ErrNotFound = errors.New("not found")
)

// item is one stored message a scan kept, with its stream sequence.
type item[T any] struct {
	seq uint64
	v   T
}

// newestFirst reads the messages of one stream matching filter below the
// sequence below (0: from the newest), newest first, and returns up to want
// of those decode keeps, plus whether older ones were left. It walks back
// in windows of stream sequences, each read forward by an ordered consumer
// that starts at the window and stops at its end, so a page costs about
// the messages it skips, not the whole stream. A missing stream is empty.
func newestFirst[T any](ctx context.Context, js jetstream.JetStream, stream, filter string, below uint64, want int,
	decode func(jetstream.Msg, *jetstream.MsgMetadata) (T, bool)) ([]item[T], bool, error) {
	s, err := js.Stream(ctx, stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("open stream %s: %w", stream, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("stream %s: %w", stream, err)
	}
	first, end := info.State.FirstSeq, info.State.LastSeq+1
	if info.State.Msgs == 0 {
		return nil, false, nil
	}
	if below != 0 && below < end {
		end = below
	}
	window := uint64(max(minScanWindow, 4*want))
	var out []item[T]
	// One more than wanted tells whether another page exists.
	for end > first && len(out) <= want {
		start := first
		if end-first > window {
			start = end - window
		}
		chunk, err := readRange(ctx, s, filter, start, end, decode)
		if err != nil {
			return nil, false, fmt.Errorf("read %s: %w", filter, err)
		}
		for i := len(chunk) - 1; i >= 0; i-- {
			out = append(out, chunk[i])
		}
		end = start
		window = min(2*window, scanWindowLimit)
	}
	if len(out) > want {
		return out[:want], true, nil
	}
	return out, false, nil
}

// readRange reads the messages matching filter with sequences in
// [start, end), oldest first.
func readRange[T any](ctx context.Context, s jetstream.Stream, filter string, start, end uint64,
	decode func(jetstream.Msg, *jetstream.MsgMetadata) (T, bool)) ([]item[T], error) {
	c, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{filter},
		DeliverPolicy:  jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:    start,
	})
	if err != nil {
		return nil, fmt.Errorf("consumer from %d: %w", start, err)
	}
	var out []item[T]
	for {
		// No wait: the messages are stored, and an empty answer means
		// nothing matches from here on.
		batch, err := c.FetchNoWait(fetchBatch)
		if err != nil {
			return nil, fmt.Errorf("fetch from %d: %w", start, err)
		}
		got, done := 0, false
		for m := range batch.Messages() {
			got++
			meta, err := m.Metadata()
			if err != nil {
				continue
			}
			if meta.Sequence.Stream >= end {
				done = true
				continue
			}
			if v, ok := decode(m, meta); ok {
				out = append(out, item[T]{seq: meta.Sequence.Stream, v: v})
			}
			if meta.NumPending == 0 {
				done = true
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
			return nil, fmt.Errorf("fetch from %d: %w", start, err)
		}
		if done || got == 0 {
			return out, nil
		}
	}
}
