// Package tail streams a tenant's inbound events from the stream
// HOOKGATE_INBOUND as the edges publish them, for the admin API's
// InboundWebhookService.TailEvents. Each tail is one ordered consumer
// (ephemeral, in memory, no acknowledgements) created when the tail starts
// and deleted when it ends, so a tail sees only what is published after it
// started and leaves nothing in the stream. The package only reads; it
// bounds how many tails run at once, and what one event shows (see event.go).
package tail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/nats-io/nats.go/jetstream"
)

// Stream and subjects shared with the edge (DESIGN.md, "Inbound contract").
const (
	Stream        = "HOOKGATE_INBOUND"
	subjectPrefix = "hookgate.in."
	// webhookHeader is the NATS header the edge sets to the webhook id.
	webhookHeader = "Hookgate-Webhook-Id"
)

// Defaults of Config, in one place.
const (
	DefaultMaxPerTenant = 4
	DefaultMaxTotal     = 256
)

// consumerIdle is how long NATS keeps a tail's consumer whose replica died
// without deleting it.
const consumerIdle = 30 * time.Second

// resetAttempts bounds how often an ordered consumer is recreated after
// losing its server-side state (a NATS restart, a leader change) before the
// tail ends with an error the client sees, rather than waiting silently.
const resetAttempts = 5

// Errors callers act on.
var (
	// ErrTooMany means the tenant, or the replica, has as many tails open
	// as it may.
	ErrTooMany = errors.New("too many event tails open")
	// ErrNoStream means HOOKGATE_INBOUND does not exist: no edge has
	// started yet.
	ErrNoStream = errors.New("stream " + Stream + " does not exist yet (no edge has started)")
	// ErrStopping means the replica is shutting down.
	ErrStopping = errors.New("control plane replica is stopping")
)

// Config bounds the tails of one replica. Zero values mean the defaults.
type Config struct {
	// MaxPerTenant is how many tails of one tenant may run at once.
	MaxPerTenant int
	// MaxTotal is how many tails may run at once, all tenants together.
	MaxTotal int
}

func (c Config) withDefaults() Config {
	if c.MaxPerTenant == 0 {
		c.MaxPerTenant = DefaultMaxPerTenant
	}
	if c.MaxTotal == 0 {
		c.MaxTotal = DefaultMaxTotal
	}
	return c
}

// Validate reports a setting out of range.
func (c Config) Validate() error {
	if c.MaxPerTenant < 0 || c.MaxTotal < 0 {
		return fmt.Errorf("tail: MaxPerTenant %d, MaxTotal %d: must not be negative", c.MaxPerTenant, c.MaxTotal)
	}
	return nil
}

// Filter says which events a tail streams. Tenant is required; ProcessID
// and WebhookID narrow it when set. The caller validates them: each is one
// NATS subject token.
type Filter struct {
	Tenant, ProcessID, WebhookID string
}

// subject is the tail's filter subject: a process's events or all of the
// tenant's. A webhook's events are not a subject of their own; they are
// kept by the header the edge sets.
func (f Filter) subject() string {
	if f.ProcessID == "" {
		return subjectPrefix + f.Tenant + ".>"
	}
	return subjectPrefix + f.Tenant + "." + f.ProcessID + ".>"
}

// Tailer runs tails on one JetStream connection.
type Tailer struct {
	js  jetstream.JetStream
	cfg Config
	log *slog.Logger
	// stopped is closed, under mu, when Run's context ends: every tail ends
	// with ErrStopping, so a server shutting down does not wait for its
	// clients, and no tail starts after it.
	stopped chan struct{}
	// running counts the tails; Add happens under mu before stopped is
	// closed, Wait after.
	running sync.WaitGroup

	mu       sync.Mutex
	isClosed bool           // stopped is closed, guarded by mu
	open     map[string]int // tails running per tenant, guarded by mu
	openNow  int            // tails running in all, guarded by mu
}

// New returns a Tailer reading from js.
func New(js jetstream.JetStream, cfg Config, log *slog.Logger) (*Tailer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if js == nil || log == nil {
		return nil, errors.New("tail: JetStream and logger are required")
	}
	return &Tailer{
		js:      js,
		cfg:     cfg.withDefaults(),
		log:     log,
		stopped: make(chan struct{}),
		open:    make(map[string]int),
	}, nil
}

// Run returns once ctx has ended and every tail has stopped; the tails end
// with ErrStopping.
func (t *Tailer) Run(ctx context.Context) error {
	<-ctx.Done()
	t.mu.Lock()
	if !t.isClosed {
		t.isClosed = true
		close(t.stopped)
	}
	t.mu.Unlock()
	t.running.Wait()
	return nil
}

// Tail streams the events f selects to send, each as it is published, until
// ctx ends (it returns nil), send fails (its error), reading fails, or the
// Tailer stops (ErrStopping). listening is called once, when every event
// published from then on will be streamed; its error ends the tail. It
// fails with ErrTooMany beyond the configured bounds and with ErrNoStream
// before any edge has created the stream.
func (t *Tailer) Tail(ctx context.Context, f Filter, listening func() error, send func(*hookgatev1.InboundEvent) error) error {
	release, err := t.acquire(f.Tenant)
	if err != nil {
		return err
	}
	defer release()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var watch sync.WaitGroup
	defer watch.Wait()
	defer cancel(nil) // runs first: ends the watcher below
	watch.Go(func() {
		select {
		case <-t.stopped:
			cancel(ErrStopping)
		case <-ctx.Done():
		}
	})

	subject := f.subject()
	// The consumer exists once OrderedConsumer returns, with DeliverNew
	// from that moment: nothing published after it is missed.
	c, err := t.js.OrderedConsumer(ctx, Stream, jetstream.OrderedConsumerConfig{
		FilterSubjects:    []string{subject},
		DeliverPolicy:     jetstream.DeliverNewPolicy,
		InactiveThreshold: consumerIdle,
		MaxResetAttempts:  resetAttempts,
	})
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
		return ErrNoStream
	case err != nil:
		return t.ended(ctx, fmt.Errorf("consume %s: %w", subject, err))
	}
	// An idle ordered consumer would stay until its inactivity threshold:
	// a console reopening tails would pile them up.
	defer func() {
		if ci := c.CachedInfo(); ci != nil {
			dctx, dcancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			_ = t.js.DeleteConsumer(dctx, Stream, ci.Name)
			dcancel()
		}
	}()
	msgs, err := c.Messages()
	if err != nil {
		return t.ended(ctx, fmt.Errorf("consume %s: %w", subject, err))
	}
	defer msgs.Stop()
	// Next blocks until a message arrives or the iterator stops.
	stop := context.AfterFunc(ctx, msgs.Stop)
	defer stop()
	if err := listening(); err != nil {
		return err
	}
	for {
		m, err := msgs.Next()
		if err != nil {
			return t.ended(ctx, fmt.Errorf("consume %s: %w", subject, err))
		}
		if f.WebhookID != "" {
			if id := m.Headers().Get(webhookHeader); id != "" && id != f.WebhookID {
				continue // no need to decode another webhook's event
			}
		}
		ev, err := Decode(m.Data())
		if err != nil {
			t.log.Debug("tail: skip an inbound message that is no envelope", "tenant", f.Tenant, "subject", m.Subject(), "err", err)
			continue
		}
		// The subject named the tenant; an envelope claiming another (a
		// forged publish) is not shown.
		if ev.GetTenant() != f.Tenant || (f.WebhookID != "" && ev.GetWebhookId() != f.WebhookID) {
			continue
		}
		if meta, err := m.Metadata(); err == nil {
			ev.Sequence = meta.Sequence.Stream
		}
		if err := send(ev); err != nil {
			return err
		}
	}
}

// ended says why a tail stopped reading: nil when its client went away,
// ErrStopping when the replica is stopping, else err.
func (t *Tailer) ended(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		if cause := context.Cause(ctx); errors.Is(cause, ErrStopping) {
			return ErrStopping
		}
		return nil
	}
	return err
}

// acquire counts a tail of tenant in, within the bounds; release counts it
// out.
func (t *Tailer) acquire(tenant string) (release func(), err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.isClosed {
		return nil, ErrStopping
	}
	if t.open[tenant] >= t.cfg.MaxPerTenant || t.openNow >= t.cfg.MaxTotal {
		return nil, ErrTooMany
	}
	t.open[tenant]++
	t.openNow++
	t.running.Add(1)
	return sync.OnceFunc(func() {
		t.mu.Lock()
		if t.open[tenant]--; t.open[tenant] == 0 {
			delete(t.open, tenant)
		}
		t.openNow--
		t.mu.Unlock()
		t.running.Done()
	}), nil
}

// Open reports how many tails of tenant are running.
func (t *Tailer) Open(tenant string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.open[tenant]
}

// Limit is how many tails one tenant may run at once.
func (t *Tailer) Limit() int { return t.cfg.MaxPerTenant }
