// Package dispatch is the dispatcher: it consumes outbound messages from
// JetStream and delivers them to subscribers' endpoints. It never reads etcd.
package dispatch

import (
	"context"
	"log/slog"
)

// Dispatcher delivers outbound messages.
type Dispatcher struct {
	log *slog.Logger
}

// New returns a Dispatcher.
func New(log *slog.Logger) *Dispatcher {
	return &Dispatcher{log: log}
}

// Run blocks until ctx ends. Delivery arrives with the outbound issues; until
// then the dispatcher only holds its place in the fleet.
func (d *Dispatcher) Run(ctx context.Context) error {
	d.log.Info("dispatcher running")
	<-ctx.Done()
	return nil
}
