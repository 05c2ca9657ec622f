// Package outbound reads what the dispatchers and producers keep in
// JetStream: outbound messages (HOOKGATE_OUTBOUND), attempt records and
// their index (HOOKGATE_ATTEMPTS) and delivery states (KV bucket
// HOOKGATE_DELIVERIES), in the JSON forms of docs/design.md "Outbound
// message format and the dispatch engine". It only reads: the data plane
// writes, and the streams' limits bound what is kept. The control plane may
// not import the data plane, so the record shapes are mirrored here; the
// contract test in cmd/hookgate/contract decodes the data plane's own
// structs with them.
package outbound

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

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

// recordLag bounds how far an attempt's time (the dispatcher's clock, the
// attempt's start) is from when its record was stored (the server's clock):
// an attempt lasts at most 30 s, then its state and record are written, and
// the clocks may differ a little. A time range on attempts reads the
// stream's sequences stored in [since - recordLag, until + recordLag) and
// filters them by the record's own time.
const recordLag = 5 * time.Minute

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

// page is the values of items and the token of the page after them ("" when
// there is none): the sequence of the last item.
func page[T any](items []item[T], more bool) ([]T, string) {
	out := make([]T, 0, len(items))
	for _, it := range items {
		out = append(out, it.v)
	}
	next := ""
	if more && len(items) > 0 {
		next = strconv.FormatUint(items[len(items)-1].seq, 10)
	}
	return out, next
}

// decoder turns a stored message into an item, or says to skip it.
type decoder[T any] func(*jetstream.RawStreamMsg) (T, bool)

// openStream opens a stream; a missing one is nil without error.
func openStream(ctx context.Context, js jetstream.JetStream, name string) (jetstream.Stream, error) {
	s, err := js.Stream(ctx, name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open stream %s: %w", name, err)
	}
	return s, nil
}

// span narrows a read of filter to the sequences [lo, hi) that can hold
// matches below the sequence below (0: none) stored in [since, until)
// (zero times: unbounded), using only the stream's per-subject index and
// its time index: the first match (at or after since), the last match, and
// the first match at or after until. ok is false when nothing can match.
func span(ctx context.Context, s jetstream.Stream, filter string, below uint64, since, until time.Time) (lo, hi uint64, ok bool, err error) {
	last, err := s.GetLastMsgForSubject(ctx, filter)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return 0, 0, false, nil
	}
	if err != nil {
		return 0, 0, false, fmt.Errorf("last of %s: %w", filter, err)
	}
	hi = last.Sequence + 1
	if below != 0 {
		hi = min(hi, below)
	}
	first, found, err := firstMatch(ctx, s, filter, since)
	if err != nil || !found {
		return 0, 0, false, err
	}
	lo = first
	if !until.IsZero() {
		after, found, err := firstMatch(ctx, s, filter, until)
		if err != nil {
			return 0, 0, false, err
		}
		if found {
			hi = min(hi, after)
		}
	}
	return lo, hi, lo < hi, nil
}

// firstMatch is the sequence of the first message matching filter stored
// at or after t (the zero t: the first at all), found by the server from
// its subject and time indexes.
func firstMatch(ctx context.Context, s jetstream.Stream, filter string, t time.Time) (uint64, bool, error) {
	if t.IsZero() {
		m, err := nextMatch(ctx, s, filter, 1)
		if err != nil || m == nil {
			return 0, false, err
		}
		return m.Sequence, true, nil
	}
	// A start time needs a consumer: the message get has no time lookup.
	c, done, err := reader(ctx, s, filter, jetstream.ConsumerConfig{DeliverPolicy: jetstream.DeliverByStartTimePolicy, OptStartTime: &t})
	if err != nil {
		return 0, false, err
	}
	defer done()
	batch, err := c.FetchNoWait(1)
	if err != nil {
		return 0, false, fmt.Errorf("first of %s: %w", filter, err)
	}
	var seq uint64
	for m := range batch.Messages() {
		if meta, err := m.Metadata(); err == nil {
			seq = meta.Sequence.Stream
		}
	}
	if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
		return 0, false, fmt.Errorf("first of %s: %w", filter, err)
	}
	return seq, seq != 0, nil
}

// scanBack reads the messages matching filter with sequences in [lo, hi),
// newest first, and returns up to want of those decode keeps, plus whether
// older ones may be left. It walks back in windows of sequences (4 × want,
// doubling), each read forward by an ordered consumer that starts at the
// window; a window holding far more matches than the page still needs is
// halved (its newer half read) rather than read whole, so a page reads
// O(want) matches whatever the stream holds, plus the windows' look-ups.
func scanBack[T any](ctx context.Context, s jetstream.Stream, filter string, lo, hi uint64, want int, decode decoder[T]) ([]item[T], bool, error) {
	window := uint64(max(minScanWindow, 4*want))
	var out []item[T]
	end := hi
	// One more than wanted tells whether another page exists.
	for end > lo && len(out) <= want {
		start := lo
		if end-lo > window {
			start = end - window
		}
		need := want + 1 - len(out)
		chunk, full, err := readRange(ctx, s, filter, start, end, 4*need+minScanWindow, decode)
		if err != nil {
			return nil, false, fmt.Errorf("read %s: %w", filter, err)
		}
		if full {
			// More matches than the limit in [start, end): only the newer
			// ones can be on this page. A full window spans at least two
			// sequences, so the halved one is not empty.
			window = (end - start) - (end-start)/2
			continue
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
// [start, end), oldest first, one "next message of the filter from this
// sequence" get at a time: unlike a consumer, whose creation counts what
// matches from its start to the end of the stream, a get costs only the
// way to the next match. It stops, with full set, when limit messages
// matched before end.
func readRange[T any](ctx context.Context, s jetstream.Stream, filter string, start, end uint64, limit int, decode decoder[T]) ([]item[T], bool, error) {
	var out []item[T]
	matched := 0
	for seq := start; seq < end; {
		m, err := nextMatch(ctx, s, filter, seq)
		if err != nil {
			return nil, false, err
		}
		if m == nil || m.Sequence >= end {
			break
		}
		if matched++; matched > limit {
			return nil, true, nil
		}
		if v, ok := decode(m); ok {
			out = append(out, item[T]{seq: m.Sequence, v: v})
		}
		seq = m.Sequence + 1
	}
	return out, false, nil
}

// nextMatch is the first message matching filter at or after seq, nil
// when there is none.
func nextMatch(ctx context.Context, s jetstream.Stream, filter string, seq uint64) (*jetstream.RawStreamMsg, error) {
	m, err := s.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(filter))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("next of %s from %d: %w", filter, seq, err)
	}
	return m, nil
}

// reader creates an ephemeral, unacknowledged consumer on filter for one
// read, and a func that deletes it (ordered consumers would linger for
// minutes, one per read, and run into the server's consumer limit).
func reader(ctx context.Context, s jetstream.Stream, filter string, cfg jetstream.ConsumerConfig) (jetstream.Consumer, func(), error) {
	cfg.FilterSubjects = []string{filter}
	cfg.AckPolicy = jetstream.AckNonePolicy
	cfg.MemoryStorage = true
	cfg.Replicas = 1
	// A reader that dies before deleting it leaves nothing for long.
	cfg.InactiveThreshold = 30 * time.Second
	c, err := s.CreateConsumer(ctx, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("consumer on %s: %w", filter, err)
	}
	name := c.CachedInfo().Name
	return c, func() {
		// Not ctx: a cancelled read still removes its consumer.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = s.DeleteConsumer(dctx, name) // the inactive threshold removes it otherwise
	}, nil
}

// readAll reads every message of a literal subject below the sequence
// below (0: all), oldest first: for the attempts of one delivery, which
// are few.
func readAll[T any](ctx context.Context, s jetstream.Stream, subject string, below uint64, decode decoder[T]) ([]item[T], error) {
	end := below
	if end == 0 {
		end = ^uint64(0)
	}
	out, _, err := readRange(ctx, s, subject, 1, end, int(^uint(0)>>1), decode)
	return out, err
}
