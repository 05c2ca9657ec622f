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

func TestEnsureDispatch(t *testing.T) {
	t.Parallel()
	js := natstest.Start(t).JetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg := streams.DefaultConfig()
	cfg.AttemptsMaxAge = 48 * time.Hour
	for i := range 2 {
		if err := streams.EnsureDispatch(ctx, js, cfg); err != nil {
			t.Fatalf("ensure #%d: %v", i, err)
		}
	}
	d, err := js.Stream(ctx, streams.Deliver)
	if err != nil {
		t.Fatal(err)
	}
	if c := d.CachedInfo().Config; !c.AllowMsgSchedules || c.Retention != jetstream.WorkQueuePolicy || len(c.Subjects) != 2 {
		t.Fatalf("deliver stream config %+v", c)
	}
	a, err := js.Stream(ctx, streams.Attempts)
	if err != nil {
		t.Fatal(err)
	}
	if a.CachedInfo().Config.MaxAge != 48*time.Hour {
		t.Fatalf("attempts max age %s", a.CachedInfo().Config.MaxAge)
	}
	kv, err := js.KeyValue(ctx, streams.Deliveries)
	if err != nil {
		t.Fatal(err)
	}
	st, err := kv.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.TTL() != 48*time.Hour {
		t.Fatalf("deliveries ttl %s", st.TTL())
	}
	bad := cfg
	bad.AttemptsMaxAge = -time.Second
	if bad.Validate() == nil {
		t.Fatal("negative attempts max age accepted")
	}
}
