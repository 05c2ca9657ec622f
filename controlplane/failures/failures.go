// Package failures reads the failed triggers the edges record in JetStream
// (stream HOOKGATE_FAILED, subject hookgate.failed.{tenant}.{webhook_id}),
// newest first. It only reads; the edge writes and the stream's limits
// bound what is kept.
package failures

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
)

// Stream and subject scheme shared with the edge (docs/design.md).
const (
	Stream        = "HOOKGATE_FAILED"
	subjectPrefix = "hookgate.failed."
)

// ErrBadPageToken means a page token was not issued by Reader.
var ErrBadPageToken = errors.New("invalid page token")

// Reader lists failed triggers.
type Reader struct {
	js jetstream.JetStream
}

// NewReader returns a Reader on a JetStream context.
func NewReader(js jetstream.JetStream) *Reader { return &Reader{js: js} }

// List returns up to size failed triggers of one webhook, newest first,
// older than the page token (a stream sequence), and the next token.
func (r *Reader) List(ctx context.Context, tenant, webhookID string, size int, token string) ([]*hookgatev1.FailedTrigger, string, error) {
	below := uint64(0)
	if token != "" {
		n, err := strconv.ParseUint(token, 10, 64)
		if err != nil || n == 0 {
			return nil, "", ErrBadPageToken
		}
		below = n
	}
	subject := subjectPrefix + tenant + "." + webhookID
	s, err := r.js.Stream(ctx, Stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, "", nil // no edge has recorded anything yet
	}
	if err != nil {
		return nil, "", fmt.Errorf("failed triggers stream: %w", err)
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(subject))
	if err != nil {
		return nil, "", fmt.Errorf("failed triggers of %s: %w", webhookID, err)
	}
	count := int(info.State.Subjects[subject])
	if count == 0 {
		return nil, "", nil
	}
	// The stream keeps at most a bounded number per webhook, so reading
	// them all and walking backwards is cheap enough for an admin call.
	c, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
	if err != nil {
		return nil, "", fmt.Errorf("read failed triggers of %s: %w", webhookID, err)
	}
	// Delete it when done: an idle ordered consumer otherwise stays until
	// its inactivity threshold, and a loop of calls runs the stream into
	// its consumer limit.
	defer func() {
		if ci := c.CachedInfo(); ci != nil {
			_ = s.DeleteConsumer(context.WithoutCancel(ctx), ci.Name)
		}
	}()
	type item struct {
		seq uint64
		ft  *hookgatev1.FailedTrigger
	}
	items := make([]item, 0, count)
	for len(items) < count {
		batch, err := c.Fetch(count-len(items), jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			return nil, "", fmt.Errorf("read failed triggers of %s: %w", webhookID, err)
		}
		got := 0
		for m := range batch.Messages() {
			got++
			meta, err := m.Metadata()
			if err != nil {
				continue
			}
			ft := &hookgatev1.FailedTrigger{}
			if err := proto.Unmarshal(m.Data(), ft); err != nil {
				continue // a record this version cannot read is skipped, not fatal
			}
			items = append(items, item{seq: meta.Sequence.Stream, ft: ft})
		}
		if got == 0 {
			break // records aged out while reading
		}
	}
	slices.Reverse(items)
	var out []*hookgatev1.FailedTrigger
	var lastSeq uint64
	for _, it := range items {
		if below != 0 && it.seq >= below {
			continue
		}
		if len(out) == size {
			return out, strconv.FormatUint(lastSeq, 10), nil
		}
		out = append(out, it.ft)
		lastSeq = it.seq
	}
	return out, "", nil
}
