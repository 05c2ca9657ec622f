package dispatch

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/hookgate/hookgate/dataplane/streams"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Bounds of one index write: entries taken per flush, and entries and
// bytes per batched copy (well under the server's 1 MiB payload limit).
const (
	maxIndexFlush      = 512
	maxIndexBatch      = 128
	maxIndexBatchBytes = 256 << 10
)

// indexEntry is one attempt's index copy waiting to be written: the
// record's bytes, its sequence and its index subject. done receives the
// outcome of the write that carried it.
type indexEntry struct {
	subject string
	seq     uint64
	data    []byte
	done    chan error
}

// indexer writes the index copies of the attempts concluded while the
// engine runs, batched: what waits while one write is acknowledged goes
// out together, one message per index subject (docs/design.md "Attempt
// index batches"). Under load a write carries many copies; alone, one copy
// is written as before. Workers wait for their copy's write, so an
// acknowledged message's attempt is in the index as it was.
type indexer struct {
	js jetstream.JetStream
	ch chan *indexEntry
}

func newIndexer(js jetstream.JetStream) *indexer {
	return &indexer{js: js, ch: make(chan *indexEntry, maxIndexFlush)}
}

// run writes until ch is closed and drained. Each write has recordTimeout,
// whatever the engine's context: the workers that wait for it are
// concluding attempts, stopping or not.
func (x *indexer) run() {
	batch := make([]*indexEntry, 0, maxIndexFlush)
	for first := range x.ch {
		batch = append(batch[:0], first)
	take:
		for len(batch) < maxIndexFlush {
			select {
			case e, ok := <-x.ch:
				if !ok {
					break take
				}
				batch = append(batch, e)
			default:
				break take
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), recordTimeout)
		x.flush(ctx, batch)
		cancel()
	}
}

// add hands an entry to the writer and waits for its write.
func (x *indexer) add(ctx context.Context, e *indexEntry) error {
	e.done = make(chan error, 1)
	select {
	case x.ch <- e:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-e.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// flush writes a batch: its entries grouped by subject, oldest record
// first, each group one message or more, published together and then
// awaited.
func (x *indexer) flush(ctx context.Context, batch []*indexEntry) {
	slices.SortFunc(batch, func(a, b *indexEntry) int {
		if c := strings.Compare(a.subject, b.subject); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	type pending struct {
		f       jetstream.PubAckFuture
		entries []*indexEntry
	}
	var sent []pending
	for i := 0; i < len(batch); {
		j, size := i+1, len(batch[i].data)
		for j < len(batch) && j-i < maxIndexBatch && batch[j].subject == batch[i].subject && size+len(batch[j].data) < maxIndexBatchBytes {
			size += len(batch[j].data) + 1
			j++
		}
		group := batch[i:j]
		i = j
		f, err := x.js.PublishMsgAsync(indexMsg(group))
		if err != nil {
			finish(group, fmt.Errorf("index %d attempts on %s: %w", len(group), group[0].subject, err))
			continue
		}
		sent = append(sent, pending{f, group})
	}
	for _, p := range sent {
		var err error
		select {
		case <-p.f.Ok():
		case err = <-p.f.Err():
			err = fmt.Errorf("index %d attempts on %s: %w", len(p.entries), p.entries[0].subject, err)
		case <-ctx.Done():
			err = ctx.Err()
		}
		finish(p.entries, err)
	}
}

func finish(entries []*indexEntry, err error) {
	for _, e := range entries {
		e.done <- err
	}
}

// indexMsg is the index message of entries of one subject: a single copy
// as ever (header Hookgate-Attempt-Seq, the record's JSON), or a batch
// (header Hookgate-Attempt-Seqs, the sequences comma-separated, and the
// records' JSON one per line in the same order).
func indexMsg(entries []*indexEntry) *nats.Msg {
	m := nats.NewMsg(entries[0].subject)
	if len(entries) == 1 {
		m.Header.Set(streams.AttemptSeqHeader, strconv.FormatUint(entries[0].seq, 10))
		m.Data = entries[0].data
		return m
	}
	var seqs []byte
	var data bytes.Buffer
	for i, e := range entries {
		if i > 0 {
			seqs = append(seqs, ',')
			data.WriteByte('\n')
		}
		seqs = strconv.AppendUint(seqs, e.seq, 10)
		data.Write(e.data)
	}
	m.Header.Set(streams.AttemptSeqsHeader, string(seqs))
	m.Data = data.Bytes()
	return m
}
