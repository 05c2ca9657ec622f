package ingress

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/trace"
)

// publishError is one row of the table that classifies publish errors: a
// permanent error (the same call can never be stored) is a 4xx the sender
// should not retry; every other is 503, retryable.
type publishError struct {
	err    error               // matched with errors.Is, or
	code   jetstream.ErrorCode // a JetStream API error code when err is nil
	reason reason
	what   string // the metric-safe description for the log
}

// publishErrors is the one table of publish failures; the first matching
// row wins, and an error matching none is retryable.
var publishErrors = []publishError{
	// Permanent: the message itself does not fit.
	{err: nats.ErrMaxPayload, reason: reasonEnvelopeTooLarge, what: "over NATS max_payload"},
	{code: jetstream.JSErrCodeStreamMessageExceedsMaximum, reason: reasonEnvelopeTooLarge, what: "over the stream's max message size"},
	{code: 10097, reason: reasonHeadersTooLarge, what: "headers over the stream's 64 KiB limit"}, // JSStreamHeaderExceedsMaximumErr
	{err: nats.ErrBadHeaderMsg, reason: reasonHeadersTooLarge, what: "headers could not be encoded"},
	// Retryable: the bus or its stream is away, slow or full; an operator
	// or time fixes it.
	{err: nats.ErrNoResponders, reason: reasonPublishFailed, what: "no stream captures the subject"},
	{err: jetstream.ErrNoStreamResponse, reason: reasonPublishFailed, what: "no response from the stream"},
	{err: jetstream.ErrAsyncPublishTimeout, reason: reasonPublishFailed, what: "no acknowledgement in time"},
	{err: context.DeadlineExceeded, reason: reasonPublishFailed, what: "no acknowledgement in time"},
	{err: context.Canceled, reason: reasonPublishFailed, what: "call ended"},
	{err: nats.ErrTimeout, reason: reasonPublishFailed, what: "timeout"},
	{err: jetstream.ErrTooManyStalledMsgs, reason: reasonPublishFailed, what: "too many publishes pending"},
	{err: nats.ErrConnectionClosed, reason: reasonPublishFailed, what: "connection closed"},
	{err: nats.ErrConnectionDraining, reason: reasonPublishFailed, what: "connection draining"},
	{err: nats.ErrConnectionReconnecting, reason: reasonPublishFailed, what: "connection reconnecting"},
	{err: nats.ErrDisconnected, reason: reasonPublishFailed, what: "disconnected"},
	{err: nats.ErrReconnectBufExceeded, reason: reasonPublishFailed, what: "reconnect buffer full"},
	{code: 10047, reason: reasonPublishFailed, what: "stream storage full"}, // JSStorageResourcesExceededErr
	{code: 10077, reason: reasonPublishFailed, what: "stream store failed"}, // JSStreamStoreFailedF (e.g. a full disk)
}

// classifyPublish returns the row of publishErrors that err matches.
func classifyPublish(err error) publishError {
	var apiErr *jetstream.APIError
	isAPI := errors.As(err, &apiErr)
	for _, row := range publishErrors {
		if row.err != nil && errors.Is(err, row.err) || row.err == nil && isAPI && apiErr.ErrorCode == row.code {
			return row
		}
	}
	return publishError{reason: reasonPublishFailed, what: "unclassified"}
}

// publish sends every message asynchronously, so JetStream can batch them
// with other calls', then waits for every acknowledgement. The JetStream
// context's own async timeout (the same PublishTimeout) fails the future,
// and frees its buffer, of an ack that never comes; wait bounds the whole
// wait by PublishTimeout too, because a no-responders retry restarts the
// library's timer. It publishes b.msgs, keeps their futures in b.futures
// and bounds the wait with b.timer, stopped on return.
func (e *Edge) publish(ctx context.Context, b *bufs) error {
	start := e.now()
	defer func() { e.metrics.publishSeconds.Observe(e.now().Sub(start).Seconds()) }()
	b.timer.Reset(e.cfg.PublishTimeout)
	defer b.timer.Stop()
	futures := b.futures[:0]
	// With tracing on, each publish has a span (ended at its ack) whose
	// context goes into the message's headers before it is encoded.
	spans := b.spans[:0]
	for _, m := range b.msgs {
		if e.tr != nil {
			spans = append(spans, e.tr.startPublish(ctx, m))
			b.spans = spans
		}
		f, err := e.js.PublishMsgAsync(m)
		if err != nil {
			err = fmt.Errorf("publish to %s: %w", m.Subject, err)
			endPublishes(spans[len(futures):], err)
			return err
		}
		futures = append(futures, f)
		b.futures = futures
	}
	for i, f := range futures {
		err := waitAck(ctx, b.timer.C, f)
		if len(spans) > 0 {
			if err != nil {
				endPublishes(spans[i:], err)
			} else {
				endPublish(spans[i], nil)
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// endPublishes ends the spans of publishes that failed (or were never
// acknowledged because an earlier one failed) with err.
func endPublishes(spans []trace.Span, err error) {
	for _, s := range spans {
		endPublish(s, err)
	}
}

func waitAck(ctx context.Context, timeout <-chan time.Time, f jetstream.PubAckFuture) error {
	select {
	case <-f.Ok():
		return nil
	case err := <-f.Err():
		return fmt.Errorf("publish to %s: %w", f.Msg().Subject, err)
	case <-timeout:
		return fmt.Errorf("publish to %s: no acknowledgement: %w", f.Msg().Subject, context.DeadlineExceeded)
	case <-ctx.Done():
		return fmt.Errorf("publish to %s: no acknowledgement: %w", f.Msg().Subject, ctx.Err())
	}
}
