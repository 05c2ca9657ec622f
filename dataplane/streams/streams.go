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
	// Failed holds failed triggers: calls the edge rejected after routing,
	// on hookgate.failed.{tenant}.{webhook_id}.
	Failed         = "HOOKGATE_FAILED"
	FailedSubjects = "hookgate.failed.>"
)

// Bounds of the failed-trigger store, so a flood of bad calls cannot fill
// JetStream: the oldest records give way to new ones.
const (
	FailedMaxPerWebhook = 1000
	FailedMaxBytes      = 256 << 20
	FailedMaxAge        = 7 * 24 * time.Hour
)

// FailedSubject is where failed triggers of one webhook are recorded.
func FailedSubject(tenant, webhookID string) string {
	return "hookgate.failed." + tenant + "." + webhookID
}

// InboundFilter matches a tenant's inbound events, or one process's when
// processID is set.
func InboundFilter(tenant, processID string) string {
	if processID == "" {
		return "hookgate.in." + tenant + ".>"
	}
	return "hookgate.in." + tenant + "." + processID + ".*"
}

// InboundSubject is where an event for a binding is published (DESIGN.md).
func InboundSubject(tenant, processID string, resume bool) string {
	if resume {
		return "hookgate.in." + tenant + "." + processID + ".resume"
	}
	return "hookgate.in." + tenant + "." + processID + ".start"
}

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
	return c.events(Inbound, "Hookgate inbound webhook events", InboundSubjects)
}

// OutboundConfig is the stream producers publish outbound messages to.
func (c Config) OutboundConfig() jetstream.StreamConfig {
	return c.events(Outbound, "Hookgate outbound messages", OutboundSubject)
}

// events is an event stream kept by the configured limits.
func (c Config) events(name, description, subjects string) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        name,
		Description: description,
		Subjects:    []string{subjects},
		Storage:     c.Storage,
		Replicas:    c.Replicas,
		MaxAge:      c.MaxAge,
		Duplicates:  c.Duplicates,
	}
}

// FailedConfig is the bounded store of failed triggers.
func (c Config) FailedConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:              Failed,
		Description:       "Hookgate failed triggers (rejected inbound calls), bounded",
		Subjects:          []string{FailedSubjects},
		Storage:           c.Storage,
		Replicas:          c.Replicas,
		MaxAge:            FailedMaxAge,
		MaxBytes:          FailedMaxBytes,
		MaxMsgsPerSubject: FailedMaxPerWebhook,
		Discard:           jetstream.DiscardOld,
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
