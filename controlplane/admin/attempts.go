package admin

import (
	"context"
	"log/slog"
	"time"

	"connectrpc.com/connect"
	"github.com/hookgate/hookgate/controlplane/outbound"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/gen/hookgate/v1/hookgatev1connect"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// AttemptReader reads attempt records (outbound.Reader).
type AttemptReader interface {
	ListAttempts(ctx context.Context, f outbound.AttemptFilter, size int, token string) ([]*hookgatev1.Attempt, string, error)
	GetAttempt(ctx context.Context, tenant, attemptID string) (*hookgatev1.Attempt, error)
}

var _ AttemptReader = (*outbound.Reader)(nil)

// AttemptService serves the delivery history from JetStream, and replays
// and recovery jobs (replay.go).
type AttemptService struct {
	hookgatev1connect.UnimplementedAttemptServiceHandler
	attempts AttemptReader
	log      *slog.Logger
	// replay serves ResendMessage, RecoverEndpoint and GetRecovery
	// (WithReplay, replay.go); nil answers Unavailable.
	replay *replayDeps
}

// NewAttemptService returns an AttemptService reading through r; a nil r
// answers Unavailable.
func NewAttemptService(r AttemptReader, log *slog.Logger, opts ...AttemptOption) *AttemptService {
	s := &AttemptService{attempts: r, log: log}
	for _, o := range opts {
		o(s)
	}
	return s
}

// maxAttemptsPageSize caps ListAttempts pages (a larger page_size is
// served as this many).
const maxAttemptsPageSize = 250

// ListAttempts implements hookgatev1connect.AttemptServiceHandler: newest
// first, optionally of one endpoint, one message, one event type, a time
// range, and only succeeded, failed or pending (failed, retry waiting)
// ones.
func (s *AttemptService) ListAttempts(ctx context.Context, req *connect.Request[hookgatev1.ListAttemptsRequest]) (*connect.Response[hookgatev1.ListAttemptsResponse], error) {
	m := req.Msg
	if err := validateTenantSlug("tenant", m.GetTenant()); err != nil {
		return nil, err
	}
	if m.GetEndpointId() != "" && !endpointID.MatchString(m.GetEndpointId()) {
		return nil, invalid("endpoint_id", "%q is not an endpoint id (ep_…)", m.GetEndpointId())
	}
	if m.GetMessageId() != "" {
		if err := validateMessageID("message_id", m.GetMessageId()); err != nil {
			return nil, err
		}
	}
	if m.GetEventType() != "" {
		if err := validateEventTypeName("event_type", m.GetEventType()); err != nil {
			return nil, err
		}
	}
	if _, ok := hookgatev1.AttemptStatus_name[int32(m.GetStatus())]; !ok {
		return nil, invalid("status", "%d is not succeeded, failed or pending", m.GetStatus())
	}
	since, until, err := timeRange(m.GetSince(), m.GetUntil())
	if err != nil {
		return nil, err
	}
	page, err := pageOf(m.GetPageSize(), m.GetPageToken())
	if err != nil {
		return nil, err
	}
	page.Size = min(page.Size, maxAttemptsPageSize)
	if s.attempts == nil {
		return nil, unreadable("attempts")
	}
	f := outbound.AttemptFilter{
		Tenant: m.GetTenant(), EndpointID: m.GetEndpointId(), MessageID: m.GetMessageId(), EventType: m.GetEventType(),
		Status: m.GetStatus(), Since: since, Until: until,
	}
	atts, next, err := s.attempts.ListAttempts(ctx, f, page.Size, page.Token)
	if err != nil {
		return nil, outboundError(ctx, s.log, err)
	}
	return connect.NewResponse(&hookgatev1.ListAttemptsResponse{Attempts: atts, NextPageToken: next}), nil
}

// GetAttempt implements hookgatev1connect.AttemptServiceHandler. Another
// tenant's attempt id is NotFound, so ids cannot be probed.
func (s *AttemptService) GetAttempt(ctx context.Context, req *connect.Request[hookgatev1.GetAttemptRequest]) (*connect.Response[hookgatev1.GetAttemptResponse], error) {
	m := req.Msg
	if err := validateTenantSlug("tenant", m.GetTenant()); err != nil {
		return nil, err
	}
	if m.GetAttemptId() == "" {
		return nil, invalid("attempt_id", "is required")
	}
	if s.attempts == nil {
		return nil, unreadable("attempts")
	}
	a, err := s.attempts.GetAttempt(ctx, m.GetTenant(), m.GetAttemptId())
	if err != nil {
		return nil, outboundError(ctx, s.log, err)
	}
	return connect.NewResponse(&hookgatev1.GetAttemptResponse{Attempt: a}), nil
}

// timeRange checks an optional [since, until) range; zero times are
// unbounded.
func timeRange(since, until *timestamppb.Timestamp) (time.Time, time.Time, error) {
	var from, to time.Time
	if since != nil {
		if err := since.CheckValid(); err != nil {
			return from, to, invalid("since", "%v", err)
		}
		from = since.AsTime()
	}
	if until != nil {
		if err := until.CheckValid(); err != nil {
			return from, to, invalid("until", "%v", err)
		}
		to = until.AsTime()
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		return from, to, invalid("until", "%s is not after since %s", to.Format(time.RFC3339), from.Format(time.RFC3339))
	}
	return from, to, nil
}
