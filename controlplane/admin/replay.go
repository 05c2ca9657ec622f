package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"connectrpc.com/connect"
	"github.com/hookgate/hookgate/controlplane/replay"
	"github.com/hookgate/hookgate/controlplane/secrets"
	"github.com/hookgate/hookgate/controlplane/store"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Replay, recovery and test sends (docs/design.md "Replay, recovery and
// test sends"): ResendMessage, RecoverEndpoint and GetRecovery on the
// AttemptService, SendTestPing and SendExample on the EndpointService.

// replayer re-queues deliveries and asks dispatchers for test sends
// (replay.Replayer).
type replayer interface {
	Resend(ctx context.Context, tenant, messageID, endpointID, appID string) (*hookgatev1.Attempt, error)
	SendTest(ctx context.Context, req replay.TestRequest) (*hookgatev1.Attempt, error)
}

var _ replayer = (*replay.Replayer)(nil)

// replayDeps are what the replay methods of AttemptService need.
type replayDeps struct {
	store *store.Store
	r     replayer
	clock Clock
}

// AttemptOption sets an optional knob of the AttemptService.
type AttemptOption func(*AttemptService)

// WithReplay makes ResendMessage, RecoverEndpoint and GetRecovery work:
// endpoints and recovery jobs are in st, tasks go out through r. Without
// it they answer Unavailable.
func WithReplay(st *store.Store, r *replay.Replayer, clock Clock) AttemptOption {
	return func(s *AttemptService) { s.replay = &replayDeps{store: st, r: r, clock: clock} }
}

// WithTestSends makes SendTestPing and SendExample ask a dispatcher
// through r. Without it they answer Unavailable.
func WithTestSends(r *replay.Replayer) EndpointOption {
	return func(s *EndpointService) { s.tests = r }
}

// sendable reads an endpoint that may be sent to: NotFound when absent,
// FailedPrecondition when disabled.
func sendable(ctx context.Context, st *store.Store, log *slog.Logger, tenant, id string) (*hookgatev1.Endpoint, error) {
	if err := validateTenantSlug("tenant", tenant); err != nil {
		return nil, err
	}
	if !endpointID.MatchString(id) {
		return nil, invalid("endpoint_id", "%q is not an endpoint id (ep_…)", id)
	}
	rec, _, err := st.Endpoint(ctx, tenant, id)
	if err != nil {
		return nil, toConnect(ctx, log, err)
	}
	ep := rec.GetEndpoint()
	if ep.GetStatus() != hookgatev1.EndpointStatus_ENDPOINT_STATUS_ENABLED {
		return nil, connect.NewError(connect.CodeFailedPrecondition, fmt.Errorf("endpoint %s is %s: enable it first", id, ep.GetStatus()))
	}
	return ep, nil
}

// replayError adds the replay package's conditions to toConnect's table.
func replayError(ctx context.Context, log *slog.Logger, err error) error {
	switch {
	case errors.Is(err, replay.ErrMessageNotFound):
		return connect.NewError(connect.CodeNotFound, err)
	case errors.Is(err, replay.ErrWrongApplication):
		return connect.NewError(connect.CodeFailedPrecondition, err)
	case errors.Is(err, replay.ErrNoDispatcher):
		return connect.NewError(connect.CodeUnavailable, err)
	case errors.Is(err, replay.ErrEndpointUnknown), errors.Is(err, replay.ErrRateLimited):
		return connect.NewError(connect.CodeFailedPrecondition, err)
	case errors.Is(err, context.DeadlineExceeded):
		return connect.NewError(connect.CodeDeadlineExceeded, errors.New("no answer within the call's deadline"))
	}
	return toConnect(ctx, log, err)
}

// ResendMessage implements hookgatev1connect.AttemptServiceHandler: one
// attempt now with trigger manual, whatever the delivery's state; the
// answer carries the attempt when it was made within the call (else only
// queued: no attempt).
func (s *AttemptService) ResendMessage(ctx context.Context, req *connect.Request[hookgatev1.ResendMessageRequest]) (*connect.Response[hookgatev1.ResendMessageResponse], error) {
	m := req.Msg
	if err := validateMessageID("message_id", m.GetMessageId()); err != nil {
		return nil, err
	}
	if s.replay == nil {
		return nil, connect.NewError(connect.CodeUnavailable, errors.New("replay is not available on this control plane"))
	}
	ep, err := sendable(ctx, s.replay.store, s.log, m.GetTenant(), m.GetEndpointId())
	if err != nil {
		return nil, err
	}
	a, err := s.replay.r.Resend(ctx, m.GetTenant(), m.GetMessageId(), m.GetEndpointId(), ep.GetApplicationId())
	if err != nil {
		return nil, replayError(ctx, s.log, err)
	}
	return connect.NewResponse(&hookgatev1.ResendMessageResponse{Attempt: a}), nil
}

// RecoverEndpoint implements hookgatev1connect.AttemptServiceHandler: it
// stores a job that one control-plane replica runs in the background.
func (s *AttemptService) RecoverEndpoint(ctx context.Context, req *connect.Request[hookgatev1.RecoverEndpointRequest]) (*connect.Response[hookgatev1.RecoverEndpointResponse], error) {
	m := req.Msg
	if m.GetSince() == nil {
		return nil, invalid("since", "is required")
	}
	since, until, err := timeRange(m.GetSince(), m.GetUntil())
	if err != nil {
		return nil, err
	}
	if s.replay == nil {
		return nil, connect.NewError(connect.CodeUnavailable, errors.New("recovery is not available on this control plane"))
	}
	now := s.replay.clock.Now().UTC()
	if until.IsZero() || until.After(now) {
		until = now
	}
	if !since.Before(until) {
		return nil, invalid("since", "%s is not before now", since.Format(time.RFC3339))
	}
	if _, err := sendable(ctx, s.replay.store, s.log, m.GetTenant(), m.GetEndpointId()); err != nil {
		return nil, err
	}
	rec := &hookgatev1.Recovery{
		Id: secrets.NewID("rcv_"), Tenant: m.GetTenant(), EndpointId: m.GetEndpointId(),
		Since: timestamppb.New(since), Until: timestamppb.New(until), State: hookgatev1.RecoveryState_RECOVERY_STATE_QUEUED,
		CreateTime: timestamppb.New(now), UpdateTime: timestamppb.New(now),
	}
	if _, err := s.replay.store.CreateRecovery(ctx, rec); err != nil {
		return nil, toConnect(ctx, s.log, err)
	}
	s.log.Info("recovery queued", "tenant", rec.GetTenant(), "endpoint_id", rec.GetEndpointId(), "recovery_id", rec.GetId())
	return connect.NewResponse(&hookgatev1.RecoverEndpointResponse{RecoveryId: rec.GetId(), Recovery: rec}), nil
}

// GetRecovery implements hookgatev1connect.AttemptServiceHandler.
func (s *AttemptService) GetRecovery(ctx context.Context, req *connect.Request[hookgatev1.GetRecoveryRequest]) (*connect.Response[hookgatev1.GetRecoveryResponse], error) {
	m := req.Msg
	if err := validateTenantSlug("tenant", m.GetTenant()); err != nil {
		return nil, err
	}
	if m.GetRecoveryId() == "" {
		return nil, invalid("recovery_id", "is required")
	}
	if s.replay == nil {
		return nil, connect.NewError(connect.CodeUnavailable, errors.New("recovery is not available on this control plane"))
	}
	rec, _, err := s.replay.store.Recovery(ctx, m.GetTenant(), m.GetRecoveryId())
	if err != nil {
		return nil, toConnect(ctx, s.log, err)
	}
	return connect.NewResponse(&hookgatev1.GetRecoveryResponse{Recovery: rec}), nil
}

// SendTestPing implements hookgatev1connect.EndpointServiceHandler: a
// webhook.test event, sent now by a dispatcher, answered with the attempt.
func (s *EndpointService) SendTestPing(ctx context.Context, req *connect.Request[hookgatev1.SendTestPingRequest]) (*connect.Response[hookgatev1.SendTestPingResponse], error) {
	m := req.Msg
	if _, err := sendable(ctx, s.store, s.log, m.GetTenant(), m.GetEndpointId()); err != nil {
		return nil, err
	}
	a, err := s.sendTest(ctx, m.GetTenant(), m.GetEndpointId(), replay.TestEventType, replay.PingPayload(m.GetTenant(), m.GetEndpointId(), s.clock.Now()))
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&hookgatev1.SendTestPingResponse{Attempt: a}), nil
}

// SendExample implements hookgatev1connect.EndpointServiceHandler: the
// catalog example of an event type, sent now by a dispatcher.
func (s *EndpointService) SendExample(ctx context.Context, req *connect.Request[hookgatev1.SendExampleRequest]) (*connect.Response[hookgatev1.SendExampleResponse], error) {
	m := req.Msg
	if err := validateEventTypeName("event_type", m.GetEventType()); err != nil {
		return nil, err
	}
	if _, err := sendable(ctx, s.store, s.log, m.GetTenant(), m.GetEndpointId()); err != nil {
		return nil, err
	}
	et, _, err := s.store.EventType(ctx, m.GetTenant(), m.GetEventType())
	if err != nil {
		return nil, toConnect(ctx, s.log, err)
	}
	ex := et.GetEventType().GetExample()
	if ex == nil {
		return nil, connect.NewError(connect.CodeFailedPrecondition, fmt.Errorf("event type %s has no example", m.GetEventType()))
	}
	payload, err := protojson.Marshal(ex)
	if err != nil {
		return nil, toConnect(ctx, s.log, fmt.Errorf("encode example of %s: %w", m.GetEventType(), err))
	}
	a, err := s.sendTest(ctx, m.GetTenant(), m.GetEndpointId(), m.GetEventType(), payload)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&hookgatev1.SendExampleResponse{Attempt: a}), nil
}

func (s *EndpointService) sendTest(ctx context.Context, tenant, endpointID, eventType string, payload []byte) (*hookgatev1.Attempt, error) {
	if s.tests == nil {
		return nil, connect.NewError(connect.CodeUnavailable, errors.New("test sends are not available on this control plane"))
	}
	a, err := s.tests.SendTest(ctx, replay.TestRequest{
		Tenant: tenant, EndpointID: endpointID, MessageID: secrets.NewID("msg_test_"), EventType: eventType, Payload: payload,
	})
	if err != nil {
		return nil, replayError(ctx, s.log, err)
	}
	return a, nil
}
