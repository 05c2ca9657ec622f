// Package streams defines the JetStream streams Hookgate uses and creates
// them idempotently. It holds the subject scheme of DESIGN.md in one place.
package streams

import (
	"context"
	"fmt"
	"slices"
	"strings"
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
	// Deliver holds the dispatchers' delivery tasks, one per (message,
	// endpoint), on hookgate.deliver.{tenant}.{endpoint_id}, and the
	// waiting retries, scheduled messages on
	// hookgate.retry.{tenant}.{endpoint_id}.{message_id} that the server
	// republishes onto the deliver subject when due (docs/design.md
	// "Waiting retries"). A work queue: an acknowledged task is gone.
	Deliver         = "HOOKGATE_DELIVER"
	DeliverSubjects = "hookgate.deliver.>"
	RetrySubjects   = "hookgate.retry.>"
	// Attempts records every delivery attempt on
	// hookgate.attempts.{tenant}.{endpoint_id}.{message_id}, and every
	// outbound message the dispatchers refused on
	// hookgate.rejected.{tenant}.{app_id}.
	Attempts         = "HOOKGATE_ATTEMPTS"
	AttemptsSubjects = "hookgate.attempts.>"
	RejectedSubjects = "hookgate.rejected.>"
	// Deliveries is the KV bucket of delivery states, keyed
	// {tenant}.{message_id}.{endpoint_id}.
	Deliveries = "HOOKGATE_DELIVERIES"
)

// Default retention of attempt records and delivery states.
const DefaultAttemptsMaxAge = 30 * 24 * time.Hour

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

// DeliverSubject is where the delivery tasks of one endpoint are published.
func DeliverSubject(tenant, endpointID string) string {
	return "hookgate.deliver." + tenant + "." + endpointID
}

// RetrySubject holds the waiting retry of one delivery.
func RetrySubject(tenant, endpointID, messageID string) string {
	return "hookgate.retry." + tenant + "." + endpointID + "." + messageID
}

// RetryFilter matches every waiting retry of one endpoint (cancellation
// purges it).
func RetryFilter(tenant, endpointID string) string {
	return "hookgate.retry." + tenant + "." + endpointID + ".>"
}

// AttemptSubject is where the attempts of one delivery are recorded.
func AttemptSubject(tenant, endpointID, messageID string) string {
	return "hookgate.attempts." + tenant + "." + endpointID + "." + messageID
}

// RecordEndpoints lists the endpoints that hold attempt records of a
// message in the attempts stream s (its per-subject index, one subject per
// endpoint), sorted.
func RecordEndpoints(ctx context.Context, s jetstream.Stream, tenant, messageID string) ([]string, error) {
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(AttemptSubject(tenant, "*", messageID)))
	if err != nil {
		return nil, fmt.Errorf("list attempt records of %s: %w", messageID, err)
	}
	prefix, suffix := "hookgate.attempts."+tenant+".", "."+messageID
	out := make([]string, 0, len(info.State.Subjects))
	for subject := range info.State.Subjects {
		ep, ok := strings.CutPrefix(subject, prefix)
		if ep, ok2 := strings.CutSuffix(ep, suffix); ok && ok2 && ep != "" && !strings.Contains(ep, ".") {
			out = append(out, ep)
		}
	}
	slices.Sort(out)
	return out, nil
}

// AttemptIndexSubject is where the index copy of an attempt record goes
// (docs/design.md "Reading messages, deliveries and attempts"): outcome is
// succeeded or failed, state the delivery's state after the attempt;
// eventType's dots make it several tokens. "_index" cannot be a tenant
// slug, so no tenant's record filter matches a copy.
func AttemptIndexSubject(tenant, endpointID, outcome, state, eventType string) string {
	return "hookgate.attempts._index." + tenant + "." + endpointID + "." + outcome + "." + state + "." + eventType
}

// AttemptSeqHeader carries, on an index copy, the stream sequence of the
// record it copies (the attempt's id is att_{sequence}).
const AttemptSeqHeader = "Hookgate-Attempt-Seq"

// AttemptSeqsHeader carries, on a batch of index copies of one index
// subject, the stream sequences of the records it copies, comma-separated
// in the order of the records' JSON, one per line, in its body.
const AttemptSeqsHeader = "Hookgate-Attempt-Seqs"

// RejectedSubject is where refused outbound messages of one application
// are recorded.
func RejectedSubject(tenant, appID string) string {
	return "hookgate.rejected." + tenant + "." + appID
}

// OutboundMessageSubject is where a message of an application and event
// type is published (DESIGN.md "Outbound contract"); an event type's dots
// make it several tokens.
func OutboundMessageSubject(tenant, appID, eventType string) string {
	return "hookgate.out." + tenant + "." + appID + "." + eventType
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
	// AttemptsMaxAge is how long attempt records and delivery states are
	// kept (0: DefaultAttemptsMaxAge).
	AttemptsMaxAge time.Duration
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
	case c.AttemptsMaxAge < 0:
		return fmt.Errorf("attempts max age %s: must not be negative", c.AttemptsMaxAge)
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

// DeliverConfig is the work queue of delivery tasks and waiting retries.
// Tasks are deduplicated by Nats-Msg-Id ({message_id}.{endpoint_id}), so
// a redelivered fan-out does not copy a message twice.
func (c Config) DeliverConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:              Deliver,
		Description:       "Hookgate delivery tasks and scheduled retries",
		Subjects:          []string{DeliverSubjects, RetrySubjects},
		Retention:         jetstream.WorkQueuePolicy,
		Storage:           c.Storage,
		Replicas:          c.Replicas,
		Duplicates:        c.Duplicates,
		AllowMsgSchedules: true,
	}
}

// AttemptsConfig is the record of attempts and refused messages, kept for
// AttemptsMaxAge.
func (c Config) AttemptsConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        Attempts,
		Description: "Hookgate delivery attempts and refused outbound messages",
		Subjects:    []string{AttemptsSubjects, RejectedSubjects},
		Storage:     c.Storage,
		Replicas:    c.Replicas,
		MaxAge:      c.attemptsMaxAge(),
	}
}

// DeliveriesConfig is the KV bucket of delivery states, kept as long as
// the attempts.
func (c Config) DeliveriesConfig() jetstream.KeyValueConfig {
	return jetstream.KeyValueConfig{
		Bucket:      Deliveries,
		Description: "Hookgate delivery state per (message, endpoint)",
		History:     1,
		TTL:         c.attemptsMaxAge(),
		Storage:     c.Storage,
		Replicas:    c.Replicas,
	}
}

func (c Config) attemptsMaxAge() time.Duration {
	if c.AttemptsMaxAge == 0 {
		return DefaultAttemptsMaxAge
	}
	return c.AttemptsMaxAge
}

// EnsureDispatch creates or updates everything the dispatchers use: the
// outbound, deliver and attempts streams and the deliveries bucket.
func EnsureDispatch(ctx context.Context, js jetstream.JetStream, c Config) error {
	for _, sc := range []jetstream.StreamConfig{c.OutboundConfig(), c.DeliverConfig(), c.AttemptsConfig()} {
		if _, err := Ensure(ctx, js, sc); err != nil {
			return err
		}
	}
	if _, err := js.CreateOrUpdateKeyValue(ctx, c.DeliveriesConfig()); err != nil {
		return fmt.Errorf("ensure bucket %s: %w", Deliveries, err)
	}
	return nil
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
