package ingress

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func TestClassifyPublish(t *testing.T) {
	t.Parallel()
	wrap := func(err error) error { return fmt.Errorf("publish to hookgate.in.acme.p.start: %w", err) }
	tests := []struct {
		name string
		err  error
		want reason
	}{
		{"max payload", wrap(nats.ErrMaxPayload), reasonEnvelopeTooLarge},
		{"stream message size", wrap(&jetstream.APIError{Code: 400, ErrorCode: 10054}), reasonEnvelopeTooLarge},
		{"headers over 64 KiB", wrap(&jetstream.APIError{Code: 400, ErrorCode: 10097}), reasonHeadersTooLarge},
		{"bad headers", wrap(nats.ErrBadHeaderMsg), reasonHeadersTooLarge},
		{"no responders", wrap(nats.ErrNoResponders), reasonPublishFailed},
		{"no stream response", wrap(jetstream.ErrNoStreamResponse), reasonPublishFailed},
		{"async timeout", wrap(jetstream.ErrAsyncPublishTimeout), reasonPublishFailed},
		{"deadline", wrap(context.DeadlineExceeded), reasonPublishFailed},
		{"cancelled", wrap(context.Canceled), reasonPublishFailed},
		{"stalled", wrap(jetstream.ErrTooManyStalledMsgs), reasonPublishFailed},
		{"closed", wrap(nats.ErrConnectionClosed), reasonPublishFailed},
		{"reconnecting", wrap(nats.ErrConnectionReconnecting), reasonPublishFailed},
		{"storage full", wrap(&jetstream.APIError{Code: 503, ErrorCode: 10047}), reasonPublishFailed},
		{"store failed", wrap(&jetstream.APIError{Code: 500, ErrorCode: 10077}), reasonPublishFailed},
		{"another API error", wrap(&jetstream.APIError{Code: 500, ErrorCode: 1}), reasonPublishFailed},
		{"unknown", errors.New("something else"), reasonPublishFailed},
	}
	for _, tt := range tests {
		if got := classifyPublish(tt.err); got.reason != tt.want || got.what == "" {
			t.Errorf("%s: %s (%q), want %s", tt.name, reasons[got.reason].label, got.what, reasons[tt.want].label)
		}
	}
	// Every permanent row is a 4xx recorded as a failed trigger, every
	// retryable one a 503 that is not.
	for _, row := range publishErrors {
		info := reasons[row.reason]
		if permanent := info.status < 500; permanent != info.record {
			t.Errorf("row %q: status %d, recorded %v", row.what, info.status, info.record)
		}
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   int64 // nanoseconds
		want string
	}{
		{-1 << 63, "1"}, {0, "1"}, {1, "1"}, {1e9, "1"}, {1e9 + 1, "2"}, {3600e9, "3600"}, {3600e9 + 1, "3600"}, {1<<63 - 1, "3600"},
	}
	for _, tt := range tests {
		if got := retryAfterSeconds(durationOf(tt.in)); got != tt.want {
			t.Errorf("retryAfterSeconds(%d) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func durationOf(ns int64) time.Duration { return time.Duration(ns) }
