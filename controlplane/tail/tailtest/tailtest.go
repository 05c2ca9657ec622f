// Package tailtest runs a tail.Tailer on a real JetStream holding the
// inbound stream as the edge makes it, for the tests of the tail and of the
// admin API that serves it.
package tailtest

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/hookgate/hookgate/controlplane/tail"
	"github.com/nats-io/nats.go/jetstream"
)

// Start creates the inbound stream on js and runs a Tailer of cfg on it
// until the test ends.
func Start(t testing.TB, js jetstream.JetStream, cfg tail.Config) *tail.Tailer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: tail.Stream, Subjects: []string{"hookgate.in.>"}}); err != nil {
		t.Fatal(err)
	}
	tl, err := tail.New(js, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tl.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		<-done
	})
	return tl
}
