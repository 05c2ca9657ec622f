package dispatcher

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/hookgate/hookgate/dataplane/dispatch"
	"github.com/nats-io/nats.go"
)

// EndpointDisabledSubject is the ops subject on which a dispatcher reports
// an endpoint its answer disabled (DESIGN.md "Outbound contract").
func EndpointDisabledSubject(tenant string) string {
	return "hookgate.ops." + tenant + ".endpoint.disabled"
}

// EndpointDisabled is the body of an endpoint.disabled ops event.
type EndpointDisabled struct {
	Tenant     string    `json:"tenant"`
	EndpointID string    `json:"endpointId"`
	Reason     string    `json:"reason"`
	Time       time.Time `json:"time"`
}

// Ops reporting: a request answered by a control-plane replica; retried
// with backoff until one answers, since core NATS keeps nothing for a
// subscriber that is away.
const (
	opsRequestTimeout = 5 * time.Second
	opsMaxBackoff     = 30 * time.Second
	opsQueue          = 1024
)

// work is the dispatcher's background I/O that table updates and engine
// callbacks hand over, since neither may block: cancelling the pending
// deliveries of disabled endpoints and reporting 410-disabled ones.
type work struct {
	log    *slog.Logger
	nc     *nats.Conn
	engine interface {
		CancelEndpoint(ctx context.Context, tenant, endpointID string) error
	}

	mu      sync.Mutex // guards cancels
	cancels map[[2]string]struct{}
	wake    chan struct{}
	reports chan EndpointDisabled
}

func newWork(log *slog.Logger, nc *nats.Conn) *work {
	return &work{log: log, nc: nc, cancels: map[[2]string]struct{}{}, wake: make(chan struct{}, 1), reports: make(chan EndpointDisabled, opsQueue)}
}

// cancel queues the cancellation of an endpoint's pending deliveries.
func (w *work) cancel(tenant, endpointID string) {
	w.mu.Lock()
	w.cancels[[2]string{tenant, endpointID}] = struct{}{}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// disabled is the engine's OnDisable: it queues the ops event.
func (w *work) disabled(_ context.Context, tenant, endpointID string, reason dispatch.DisableReason) {
	ev := EndpointDisabled{Tenant: tenant, EndpointID: endpointID, Reason: string(reason), Time: time.Now().UTC()}
	select {
	case w.reports <- ev:
	default:
		// The next 410 from the endpoint reports it again.
		w.log.Warn("ops queue full; endpoint disabled event dropped", "tenant", tenant, "endpoint_id", endpointID)
	}
}

// run does the queued work until ctx ends.
func (w *work) run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Go(func() { w.runCancels(ctx) })
	wg.Go(func() { w.runReports(ctx) })
	wg.Wait()
	return nil
}

func (w *work) runCancels(ctx context.Context) {
	backoff := time.Second
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
		}
		w.mu.Lock()
		batch := w.cancels
		w.cancels = map[[2]string]struct{}{}
		w.mu.Unlock()
		failed := false
		for k := range batch {
			if err := w.engine.CancelEndpoint(ctx, k[0], k[1]); err != nil {
				if ctx.Err() != nil {
					return
				}
				w.log.Warn("cancel endpoint deliveries", "tenant", k[0], "endpoint_id", k[1], "err", err)
				w.mu.Lock()
				w.cancels[k] = struct{}{}
				w.mu.Unlock()
				failed = true
				continue
			}
			w.log.Info("endpoint deliveries cancelled", "tenant", k[0], "endpoint_id", k[1])
		}
		if !failed {
			backoff = time.Second
			continue
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, opsMaxBackoff)
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

func (w *work) runReports(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-w.reports:
			w.report(ctx, ev)
		}
	}
}

// report sends one event until a control plane answers it.
func (w *work) report(ctx context.Context, ev EndpointDisabled) {
	data, err := json.Marshal(ev)
	if err != nil {
		w.log.Error("encode ops event", "err", err)
		return
	}
	backoff := 500 * time.Millisecond
	for {
		rctx, cancel := context.WithTimeout(ctx, opsRequestTimeout)
		resp, err := w.nc.RequestWithContext(rctx, EndpointDisabledSubject(ev.Tenant), data)
		cancel()
		if err == nil && len(resp.Data) == 0 {
			w.log.Info("endpoint disabled reported", "tenant", ev.Tenant, "endpoint_id", ev.EndpointID, "reason", ev.Reason)
			return
		}
		if err == nil {
			w.log.Warn("control plane refused endpoint disabled event", "tenant", ev.Tenant, "endpoint_id", ev.EndpointID, "err", string(resp.Data))
		} else {
			w.log.Warn("report endpoint disabled", "tenant", ev.Tenant, "endpoint_id", ev.EndpointID, "err", err)
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, opsMaxBackoff)
	}
}
