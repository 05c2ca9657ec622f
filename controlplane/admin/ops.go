package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/hookgate/hookgate/controlplane/store"
	storagev1 "github.com/hookgate/hookgate/gen/hookgate/storage/v1"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Ops events from the data plane (DESIGN.md "Outbound contract":
// hookgate.ops.{tenant}.{event}). A dispatcher sends endpoint.disabled as a
// request and retries until a control-plane replica answers: an empty
// reply means applied, any other reply is the reason it was not.
const (
	EndpointDisabledFilter = "hookgate.ops.*.endpoint.disabled"
	// opsQueue makes one replica handle each event.
	opsQueue       = "hookgate-controlplane-ops"
	opsCallTimeout = 10 * time.Second
)

// EndpointDisabledEvent is the body of hookgate.ops.{tenant}.endpoint.disabled.
type EndpointDisabledEvent struct {
	Tenant     string `json:"tenant"`
	EndpointID string `json:"endpointId"`
	Reason     string `json:"reason"`
}

// OpsConsumer applies the dispatchers' operational events to the store:
// an endpoint that answered 410 Gone is disabled with reason GONE, one
// that failed every attempt for the auto-disable span (reason auto) with
// reason FAILING.
type OpsConsumer struct {
	store *store.Store
	clock Clock
	log   *slog.Logger
}

// NewOpsConsumer returns an OpsConsumer; Run starts it.
func NewOpsConsumer(st *store.Store, clock Clock, log *slog.Logger) *OpsConsumer {
	return &OpsConsumer{store: st, clock: clock, log: log}
}

// Run answers ops events on nc until ctx ends.
func (c *OpsConsumer) Run(ctx context.Context, nc *nats.Conn) error {
	sub, err := nc.QueueSubscribe(EndpointDisabledFilter, opsQueue, func(m *nats.Msg) {
		hctx, cancel := context.WithTimeout(ctx, opsCallTimeout)
		defer cancel()
		var reply []byte
		if err := c.endpointDisabled(hctx, m.Subject, m.Data); err != nil {
			reply = []byte(err.Error())
		}
		if m.Reply != "" {
			_ = m.Respond(reply)
		}
	})
	if err != nil {
		return fmt.Errorf("subscribe %s: %w", EndpointDisabledFilter, err)
	}
	<-ctx.Done()
	_ = sub.Unsubscribe()
	return nil
}

var errAlreadyDisabled = errors.New("endpoint already disabled")

// opsDisableReasons are the reasons a dispatcher may disable an endpoint
// for; "manual" (the admin API's own notice) is not among them, so that
// notice never loops back into a disable.
var opsDisableReasons = map[string]hookgatev1.EndpointDisabledReason{
	"gone": hookgatev1.EndpointDisabledReason_ENDPOINT_DISABLED_REASON_GONE,
	"auto": hookgatev1.EndpointDisabledReason_ENDPOINT_DISABLED_REASON_FAILING,
}

// endpointDisabled marks the endpoint of one event disabled; an endpoint
// already disabled keeps its reason (a manual disable stays manual), and a
// deleted one needs nothing.
func (c *OpsConsumer) endpointDisabled(ctx context.Context, subject string, data []byte) error {
	var ev EndpointDisabledEvent
	if err := json.Unmarshal(data, &ev); err != nil {
		return fmt.Errorf("endpoint.disabled event: not JSON")
	}
	parts := strings.Split(subject, ".")
	if len(parts) != 5 || parts[2] != ev.Tenant {
		return fmt.Errorf("endpoint.disabled event: tenant %q does not match the subject", ev.Tenant)
	}
	if err := validateEndpointRef("endpointId", ev.Tenant, ev.EndpointID); err != nil {
		return fmt.Errorf("endpoint.disabled event: bad tenant or endpoint id")
	}
	reason, ok := opsDisableReasons[ev.Reason]
	if !ok {
		return fmt.Errorf("endpoint.disabled event: reason %q, want gone or auto", ev.Reason)
	}
	_, _, err := c.store.UpdateEndpoint(ctx, ev.Tenant, ev.EndpointID, 0, func(rec *storagev1.EndpointRecord) error {
		ep := rec.Endpoint
		if ep.Status == hookgatev1.EndpointStatus_ENDPOINT_STATUS_DISABLED {
			return errAlreadyDisabled
		}
		now := timestamppb.New(c.clock.Now())
		ep.Status = hookgatev1.EndpointStatus_ENDPOINT_STATUS_DISABLED
		ep.DisabledReason = reason
		ep.DisableTime = now
		ep.UpdateTime = now
		return nil
	})
	switch {
	case err == nil:
		c.log.InfoContext(ctx, "endpoint disabled by a dispatcher", "tenant", ev.Tenant, "endpoint_id", ev.EndpointID, "reason", ev.Reason)
		return nil
	case errors.Is(err, errAlreadyDisabled), errors.Is(err, store.ErrNotFound):
		return nil
	default:
		c.log.WarnContext(ctx, "disable endpoint from ops event", "tenant", ev.Tenant, "endpoint_id", ev.EndpointID, "err", err)
		return fmt.Errorf("disable endpoint %s: unavailable", ev.EndpointID)
	}
}
