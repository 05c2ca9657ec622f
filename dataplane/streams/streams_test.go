package streams_test

import (
	"context"
	"testing"
	"time"

	"github.com/hookgate/hookgate/dataplane/streams"
	"github.com/hookgate/hookgate/testkit/natstest"
	"github.com/nats-io/nats.go/jetstream"
)

func TestEnsureIsIdempotent(t *testing.T) {
	t.Parallel()
	js := natstest.Start(t).JetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg := streams.DefaultConfig()
	for i := range 2 {
		s, err := streams.Ensure(ctx, js, cfg.InboundConfig())
		if err != nil {
			t.Fatalf("ensure #%d: %v", i, err)
		}
		info := s.CachedInfo()
		if info.Config.Name != streams.Inbound || info.Config.Subjects[0] != "hookgate.in.>" {
			t.Fatalf("stream %s subjects %v", info.Config.Name, info.Config.Subjects)
		}
		if info.Config.Duplicates != 2*time.Minute || info.Config.Storage != jetstream.FileStorage {
			t.Fatalf("stream config %+v", info.Config)
		}
	}
	// A changed setting is applied to the existing stream.
	cfg.Duplicates = 5 * time.Minute
	s, err := streams.Ensure(ctx, js, cfg.InboundConfig())
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if s.CachedInfo().Config.Duplicates != 5*time.Minute {
		t.Fatalf("duplicates = %s after update", s.CachedInfo().Config.Duplicates)
	}
	if _, err := js.Publish(ctx, "hookgate.in.acme.proc.start", []byte("{}")); err != nil {
		t.Fatalf("publish into the stream: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		mod  func(*streams.Config)
		ok   bool
	}{
		{"default", func(*streams.Config) {}, true},
		{"three replicas", func(c *streams.Config) { c.Replicas = 3 }, true},
		{"zero replicas", func(c *streams.Config) { c.Replicas = 0 }, false},
		{"negative age", func(c *streams.Config) { c.MaxAge = -time.Second }, false},
		{"no duplicate window", func(c *streams.Config) { c.Duplicates = 0 }, false},
		{"window past age", func(c *streams.Config) { c.MaxAge = time.Minute; c.Duplicates = time.Hour }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := streams.DefaultConfig()
			tt.mod(&c)
			if err := c.Validate(); (err == nil) != tt.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}
