// Package streams defines the JetStream streams Hookgate uses and creates
// them idempotently. It holds the subject scheme of DESIGN.md in one place.
package streams

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Stream names and subject roots fixed by DESIGN.md.
const (
	Inbound         = "HOOKGATE_INBOUND"
	Outbound        = "HOOKGATE_OUTBOUND"
	InboundSubjects = "hookgate.in.>"
	OutboundSubject = "hookgate.out.>"
)

// Config is how the streams are stored. The zero value is not valid; start
// from DefaultConfig.
type Config struct {
	// Replicas is 1 for a single server, 3 for a production cluster.
	Replicas int
	// Storage is file (durable) or memory.
	Storage jetstream.StorageType
	// MaxAge bounds how long events are kept.
	MaxAge time.Duration
	// Duplicates is the window in which a repeated Nats-Msg-Id is dropped.
	Duplicates time.Duration
}

// DefaultConfig is file storage, one replica, seven days of events and a
// two-minute duplicate window (the JetStream default).
func DefaultConfig() Config {
	return Config{Replicas: 1, Storage: jetstream.FileStorage, MaxAge: 7 * 24 * time.Hour, Duplicates: 2 * time.Minute}
}

// Validate reports a configuration JetStream would refuse.
func (c Config) Validate() error {
	switch {
	case c.Replicas < 1 || c.Replicas > 5:
		return fmt.Errorf("stream replicas %d: must be 1 to 5", c.Replicas)
	case c.MaxAge < 0:
		return fmt.Errorf("stream max age %s: must not be negative", c.MaxAge)
	case c.Duplicates <= 0:
		return fmt.Errorf("stream duplicate window %s: must be positive", c.Duplicates)
	case c.MaxAge > 0 && c.Duplicates > c.MaxAge:
		return fmt.Errorf("stream duplicate window %s: must not exceed max age %s", c.Duplicates, c.MaxAge)
	}
	return nil
}

// InboundConfig is the stream the edge publishes inbound events to.
func (c Config) InboundConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        Inbound,
		Description: "Hookgate inbound webhook events",
		Subjects:    []string{InboundSubjects},
		Storage:     c.Storage,
		Replicas:    c.Replicas,
		MaxAge:      c.MaxAge,
		Duplicates:  c.Duplicates,
	}
}

// OutboundConfig is the stream producers publish outbound messages to.
func (c Config) OutboundConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        Outbound,
		Description: "Hookgate outbound messages",
		Subjects:    []string{OutboundSubject},
		Storage:     c.Storage,
		Replicas:    c.Replicas,
		MaxAge:      c.MaxAge,
		Duplicates:  c.Duplicates,
	}
}

// Ensure creates the stream or updates it to cfg; calling it again with the
// same configuration changes nothing.
func Ensure(ctx context.Context, js jetstream.JetStream, cfg jetstream.StreamConfig) (jetstream.Stream, error) {
	s, err := js.CreateOrUpdateStream(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("ensure stream %s: %w", cfg.Name, err)
	}
	return s, nil
}
