package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"

	"connectrpc.com/connect"
	"github.com/hookgate/hookgate/controlplane/outbound"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/gen/hookgate/v1/hookgatev1connect"
)

// messageID is the outbound message id rule of docs/design.md ("Outbound
// message format"): a subject token, a KV key segment and webhook-id.
var messageID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)

// MessageReader reads outbound messages and their delivery states
// (outbound.Reader).
type MessageReader interface {
	ListMessages(ctx context.Context, f outbound.MessageFilter, size int, token string) ([]*hookgatev1.Message, string, error)
	GetMessage(ctx context.Context, tenant, messageID string, hint outbound.MessageFilter) (*hookgatev1.Message, error)
	Deliveries(ctx context.Context, tenant, messageID string) ([]*hookgatev1.Delivery, error)
}

var _ MessageReader = (*outbound.Reader)(nil)

// MessageService serves MessageService's reads from JetStream. SendMessage
// is the edges' (docs/design.md "Outbound contract"): the control plane is
// never on the path of a message.
type MessageService struct {
	hookgatev1connect.UnimplementedMessageServiceHandler
	messages MessageReader
	log      *slog.Logger
}

// NewMessageService returns a MessageService reading through r; a nil r
// answers Unavailable.
func NewMessageService(r MessageReader, log *slog.Logger) *MessageService {
	return &MessageService{messages: r, log: log}
}

// SendMessage implements hookgatev1connect.MessageServiceHandler: it points
// the caller at the edge.
func (s *MessageService) SendMessage(context.Context, *connect.Request[hookgatev1.SendMessageRequest]) (*connect.Response[hookgatev1.SendMessageResponse], error) {
	return nil, connect.NewError(connect.CodeUnimplemented, errors.New("SendMessage is served by the edges on the edge port, not by the control plane"))
}

// ListMessages implements hookgatev1connect.MessageServiceHandler: newest
// first, with every listed message's deliveries.
func (s *MessageService) ListMessages(ctx context.Context, req *connect.Request[hookgatev1.ListMessagesRequest]) (*connect.Response[hookgatev1.ListMessagesResponse], error) {
	m := req.Msg
	if err := validateTenantSlug("tenant", m.GetTenant()); err != nil {
		return nil, err
	}
	if m.GetApplicationId() != "" {
		if err := validateAppID("application_id", m.GetApplicationId()); err != nil {
			return nil, err
		}
	}
	if m.GetEventType() != "" {
		if err := validateEventTypeName("event_type", m.GetEventType()); err != nil {
			return nil, err
		}
	}
	since, until, err := timeRange(m.GetSince(), m.GetUntil())
	if err != nil {
		return nil, err
	}
	page, err := pageOf(m.GetPageSize(), m.GetPageToken())
	if err != nil {
		return nil, err
	}
	if s.messages == nil {
		return nil, unreadable("messages")
	}
	f := outbound.MessageFilter{Tenant: m.GetTenant(), AppID: m.GetApplicationId(), EventType: m.GetEventType(), Since: since, Until: until}
	msgs, next, err := s.messages.ListMessages(ctx, f, page.Size, page.Token)
	if err != nil {
		return nil, outboundError(ctx, s.log, err)
	}
	resp := &hookgatev1.ListMessagesResponse{Messages: msgs, NextPageToken: next}
	for _, msg := range msgs {
		ds, err := s.messages.Deliveries(ctx, m.GetTenant(), msg.GetId())
		if err != nil {
			return nil, outboundError(ctx, s.log, err)
		}
		resp.Deliveries = append(resp.Deliveries, ds...)
	}
	return connect.NewResponse(resp), nil
}

// GetMessage implements hookgatev1connect.MessageServiceHandler: the message
// and its deliveries, one per endpoint. A message whose record aged out
// while deliveries are kept is NotFound.
func (s *MessageService) GetMessage(ctx context.Context, req *connect.Request[hookgatev1.GetMessageRequest]) (*connect.Response[hookgatev1.GetMessageResponse], error) {
	m := req.Msg
	if err := validateMessageRef(m.GetTenant(), m.GetMessageId()); err != nil {
		return nil, err
	}
	if s.messages == nil {
		return nil, unreadable("messages")
	}
	deliveries, err := s.messages.Deliveries(ctx, m.GetTenant(), m.GetMessageId())
	if err != nil {
		return nil, outboundError(ctx, s.log, err)
	}
	// A delivery names the message's application and type, which narrows
	// the stream read to one subject.
	var hint outbound.MessageFilter
	if len(deliveries) > 0 {
		hint = outbound.MessageFilter{AppID: deliveries[0].GetApplicationId(), EventType: deliveries[0].GetEventType()}
	}
	msg, err := s.messages.GetMessage(ctx, m.GetTenant(), m.GetMessageId(), hint)
	if err != nil {
		return nil, outboundError(ctx, s.log, err)
	}
	return connect.NewResponse(&hookgatev1.GetMessageResponse{Message: msg, Deliveries: deliveries}), nil
}

func validateMessageRef(tenant, id string) error {
	if err := validateTenantSlug("tenant", tenant); err != nil {
		return err
	}
	return validateMessageID("message_id", id)
}

func validateMessageID(field, id string) error {
	if !messageID.MatchString(id) {
		return invalid(field, "%q is not a message id: 1 to 128 of A-Z, a-z, 0-9, _ and -", id)
	}
	return nil
}

// unreadable answers a control plane wired without JetStream.
func unreadable(what string) error {
	return connect.NewError(connect.CodeUnavailable, fmt.Errorf("%s are not readable from this control plane", what))
}

// outboundError adds the outbound reader's conditions to toConnect's table.
func outboundError(ctx context.Context, log *slog.Logger, err error) error {
	switch {
	case errors.Is(err, outbound.ErrBadPageToken):
		return invalid("page_token", "%v", outbound.ErrBadPageToken)
	case errors.Is(err, outbound.ErrNotFound):
		return connect.NewError(connect.CodeNotFound, err)
	}
	return toConnect(ctx, log, err)
}
