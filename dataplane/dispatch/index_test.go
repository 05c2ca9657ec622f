package dispatch

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/dataplane/streams"
	"github.com/hookgate/hookgate/testkit/natstest"
	"github.com/nats-io/nats.go/jetstream"
)

// A flush writes one message per index subject: a lone copy in the single
// form, several as a batch (sequences in the header, records one per line,
// oldest first), at most maxIndexBatch copies per message; every waiting
// worker hears the outcome.
func TestIndexerBatchesBySubject(t *testing.T) {
	t.Parallel()
	js := natstest.Start(t).JetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := streams.EnsureDispatch(ctx, js, streams.DefaultConfig()); err != nil {
		t.Fatal(err)
	}
	subjectA := streams.AttemptIndexSubject("acme", "ep_a", "succeeded", "succeeded", "order.created")
	subjectB := streams.AttemptIndexSubject("acme", "ep_b", "failed", "pending", "order.created")
	subjectC := streams.AttemptIndexSubject("acme", "ep_c", "succeeded", "succeeded", "order.created")
	entry := func(subject string, seq uint64) *indexEntry {
		return &indexEntry{subject: subject, seq: seq, data: fmt.Appendf(nil, `{"seq":%d}`, seq), done: make(chan error, 1)}
	}
	var batch []*indexEntry
	for seq := uint64(300); seq > 100; seq-- { // newest first: the flush orders them
		batch = append(batch, entry(subjectA, seq))
	}
	batch = append(batch, entry(subjectB, 7), entry(subjectB, 5), entry(subjectC, 9))
	x := newIndexer(js)
	x.flush(ctx, batch)
	for _, e := range batch {
		if err := <-e.done; err != nil {
			t.Fatalf("entry %d: %v", e.seq, err)
		}
	}

	s, err := js.Stream(ctx, streams.Attempts)
	if err != nil {
		t.Fatal(err)
	}
	read := func(subject string) []*jetstream.RawStreamMsg {
		var out []*jetstream.RawStreamMsg
		for seq := uint64(1); ; {
			m, err := s.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(subject))
			if err != nil {
				return out
			}
			out = append(out, m)
			seq = m.Sequence + 1
		}
	}
	a := read(subjectA)
	if len(a) != 2 {
		t.Fatalf("%d messages on %s, want 2 (128 + 72 copies)", len(a), subjectA)
	}
	seqs := strings.Split(a[0].Header.Get(streams.AttemptSeqsHeader), ",")
	lines := strings.Split(string(a[0].Data), "\n")
	if len(seqs) != maxIndexBatch || len(lines) != maxIndexBatch || seqs[0] != "101" || lines[0] != `{"seq":101}` || seqs[127] != "228" || lines[127] != `{"seq":228}` {
		t.Fatalf("first batch: %d seqs from %s, %d lines from %s", len(seqs), seqs[0], len(lines), lines[0])
	}
	if n := len(strings.Split(a[1].Header.Get(streams.AttemptSeqsHeader), ",")); n != 72 {
		t.Fatalf("second batch: %d copies, want 72", n)
	}
	b := read(subjectB)
	if len(b) != 1 || b[0].Header.Get(streams.AttemptSeqsHeader) != "5,7" || string(b[0].Data) != "{\"seq\":5}\n{\"seq\":7}" {
		t.Fatalf("batch of %s: %v", subjectB, b)
	}
	c := read(subjectC)
	if len(c) != 1 || c[0].Header.Get(streams.AttemptSeqHeader) != "9" || c[0].Header.Get(streams.AttemptSeqsHeader) != "" || string(c[0].Data) != `{"seq":9}` {
		t.Fatalf("lone copy of %s: %v", subjectC, c)
	}
}

// run writes what workers add, and returns once its channel is closed and
// everything in it written.
func TestIndexerRunDrains(t *testing.T) {
	t.Parallel()
	js := natstest.Start(t).JetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := streams.EnsureDispatch(ctx, js, streams.DefaultConfig()); err != nil {
		t.Fatal(err)
	}
	x := newIndexer(js)
	done := make(chan struct{})
	go func() { defer close(done); x.run() }()
	subject := streams.AttemptIndexSubject("acme", "ep_a", "succeeded", "succeeded", "order.created")
	errs := make(chan error, 50)
	for seq := range uint64(50) {
		go func() { errs <- x.add(ctx, &indexEntry{subject: subject, seq: seq + 1, data: []byte(`{}`)}) }()
	}
	for range 50 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	close(x.ch)
	<-done
	s, err := js.Stream(ctx, streams.Attempts)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(subject))
	if err != nil {
		t.Fatal(err)
	}
	copies := 0
	for seq := uint64(1); ; {
		m, err := s.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(subject))
		if err != nil {
			break
		}
		if h := m.Header.Get(streams.AttemptSeqsHeader); h != "" {
			copies += len(strings.Split(h, ","))
		} else {
			copies++
		}
		seq = m.Sequence + 1
	}
	if copies != 50 || info.State.Subjects[subject] == 0 {
		t.Fatalf("%d copies in %d messages, want 50", copies, info.State.Subjects[subject])
	}
}
