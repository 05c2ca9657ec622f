package admin

import (
	"context"
	"errors"
	"fmt"

	"connectrpc.com/connect"
	"github.com/hookgate/hookgate/controlplane/tail"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
)

// EventTailer streams a tenant's inbound events as they are published;
// *tail.Tailer implements it.
type EventTailer interface {
	Tail(ctx context.Context, f tail.Filter, listening func() error, send func(*hookgatev1.InboundEvent) error) error
	// Limit is how many tails of one tenant may run at once.
	Limit() int
}

var _ EventTailer = (*tail.Tailer)(nil)

// WithTail serves TailEvents from t; without it TailEvents answers
// Unavailable.
func WithTail(t EventTailer) WebhookOption {
	return func(s *WebhookService) { s.tail = t }
}

// TailEvents implements hookgatev1connect.InboundWebhookServiceHandler. The
// authorization interceptor has checked the tenant before the handler got
// the request. A webhook named in the filter must exist in the tenant, so
// a typo answers NotFound instead of a tail that never shows anything.
func (s *WebhookService) TailEvents(ctx context.Context, req *connect.Request[hookgatev1.TailEventsRequest], stream *connect.ServerStream[hookgatev1.TailEventsResponse]) error {
	m := req.Msg
	if err := validateTenantSlug("tenant", m.GetTenant()); err != nil {
		return err
	}
	if p := m.GetProcessId(); p != "" && !processID.MatchString(p) {
		return invalid("process_id", "%q must be 1–128 characters of A-Z, a-z, 0-9, '_' and '-'", p)
	}
	if id := m.GetWebhookId(); id != "" {
		if err := validateWebhookID(id); err != nil {
			return err
		}
		// Streams have no call deadline; the lookup gets a unary call's.
		lctx, cancel := context.WithTimeout(ctx, DefaultCallTimeout)
		_, _, err := s.store.Webhook(lctx, m.GetTenant(), id)
		cancel()
		if err != nil {
			return toConnect(ctx, s.log, err)
		}
	}
	if s.tail == nil {
		return connect.NewError(connect.CodeUnavailable, errors.New("event tails are not served by this control plane"))
	}
	f := tail.Filter{Tenant: m.GetTenant(), ProcessID: m.GetProcessId(), WebhookID: m.GetWebhookId()}
	err := s.tail.Tail(ctx, f,
		func() error { return stream.Send(&hookgatev1.TailEventsResponse{}) },
		func(ev *hookgatev1.InboundEvent) error { return stream.Send(&hookgatev1.TailEventsResponse{Event: ev}) })
	switch {
	case err == nil:
		return nil
	case errors.Is(err, tail.ErrTooMany):
		return connect.NewError(connect.CodeResourceExhausted, fmt.Errorf(
			"tenant %s has as many event tails open on this control plane replica as it may (%d, or the replica's limit); end one and retry", f.Tenant, s.tail.Limit()))
	case errors.Is(err, tail.ErrNoStream), errors.Is(err, tail.ErrStopping):
		return connect.NewError(connect.CodeUnavailable, err)
	case ctx.Err() != nil:
		return nil // the client went away
	}
	var ce *connect.Error
	if errors.As(err, &ce) {
		return ce // a Send that failed
	}
	s.log.WarnContext(ctx, "event tail ended", "tenant", f.Tenant, "err", err)
	return connect.NewError(connect.CodeUnavailable, errors.New("inbound events could not be read from the event bus; retry"))
}
