package outbound

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Message is the JSON of an outbound message on
// hookgate.out.{tenant}.{app_id}.{event_type} (dispatch.Message's wire
// form); Nats-Msg-Id is the id.
type Message struct {
	ID        string          `json:"id"`
	EventType string          `json:"eventType"`
	Payload   json.RawMessage `json:"payload"`
	Timestamp *time.Time      `json:"timestamp,omitempty"`
}

// Reader reads outbound messages, attempts and delivery states.
type Reader struct {
	js jetstream.JetStream
}

// NewReader returns a Reader on a JetStream context.
func NewReader(js jetstream.JetStream) *Reader { return &Reader{js: js} }

// MessageFilter selects messages; empty fields match everything. AppID and
// EventType must be subject tokens (the caller validates them).
type MessageFilter struct {
	Tenant, AppID, EventType string
	// Since and Until bound when the message was stored to [Since, Until);
	// zero is unbounded.
	Since, Until time.Time
}

func (f MessageFilter) subject() string {
	switch {
	case f.EventType != "":
		app := f.AppID
		if app == "" {
			app = "*"
		}
		return outboundPrefix + f.Tenant + "." + app + "." + f.EventType
	case f.AppID != "":
		return outboundPrefix + f.Tenant + "." + f.AppID + ".>"
	default:
		return outboundPrefix + f.Tenant + ".>"
	}
}

// ListMessages returns up to size messages newest first, older than the
// page token (a stream sequence), and the next token. Stored messages the
// dispatchers refuse (bad JSON, a bad id, ...) are not listed: they are
// recorded as rejected.
func (r *Reader) ListMessages(ctx context.Context, f MessageFilter, size int, token string) ([]*hookgatev1.Message, string, error) {
	below, err := parseToken(token)
	if err != nil {
		return nil, "", err
	}
	s, err := openStream(ctx, r.js, OutboundStream)
	if err != nil || s == nil {
		return nil, "", err
	}
	decode := func(m *jetstream.RawStreamMsg) (*hookgatev1.Message, bool) {
		if (!f.Since.IsZero() && m.Time.Before(f.Since)) || (!f.Until.IsZero() && !m.Time.Before(f.Until)) {
			return nil, false
		}
		return decodeStored(m)
	}
	items, more, err := listBackExact(ctx, s, f.subject(), below, f.Since, f.Until, size, decode)
	if err != nil {
		return nil, "", fmt.Errorf("list messages of %s: %w", f.Tenant, err)
	}
	out, next := page(items, more)
	return out, next, nil
}

// GetMessage finds a message by id, the newest copy when a producer sent
// one id twice past the duplicate window. hint narrows the scan to one
// application and event type when known (from a delivery state); without
// it the tenant's messages are read newest first until the id is found.
func (r *Reader) GetMessage(ctx context.Context, tenant, messageID string, hint MessageFilter) (*hookgatev1.Message, error) {
	f := MessageFilter{Tenant: tenant, AppID: hint.AppID, EventType: hint.EventType}
	match := func(m *jetstream.RawStreamMsg) (*hookgatev1.Message, bool) {
		// The id is the Nats-Msg-Id; checking it first skips decoding others.
		if id := m.Header.Get(jetstream.MsgIDHeader); id != "" && id != messageID {
			return nil, false
		}
		msg, ok := decodeStored(m)
		return msg, ok && msg.Id == messageID
	}
	s, err := openStream(ctx, r.js, OutboundStream)
	if err != nil {
		return nil, fmt.Errorf("get message %s: %w", messageID, err)
	}
	var items []item[*hookgatev1.Message]
	if s != nil {
		items, _, err = listBackExact(ctx, s, f.subject(), 0, time.Time{}, time.Time{}, 1, match)
	}
	if err != nil {
		return nil, fmt.Errorf("get message %s: %w", messageID, err)
	}
	if len(items) == 0 && (hint.AppID != "" || hint.EventType != "") {
		return r.GetMessage(ctx, tenant, messageID, MessageFilter{})
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("message %s: %w", messageID, ErrNotFound)
	}
	return items[0].v, nil
}

// listBackExact is listBack over stored times: a message's time range is
// when the stream stored it, which the stream's time index finds exactly.
func listBackExact[T any](ctx context.Context, s jetstream.Stream, filter string, below uint64, since, until time.Time, size int, decode decoder[T]) ([]item[T], bool, error) {
	lo, hi, ok, err := span(ctx, s, filter, below, since, until)
	if err != nil || !ok {
		return nil, false, err
	}
	return scanBack(ctx, s, filter, lo, hi, size, decode)
}

func decodeStored(m *jetstream.RawStreamMsg) (*hookgatev1.Message, bool) {
	msg, err := DecodeMessage(m.Subject, m.Data, m.Time)
	return msg, err == nil
}

// DecodeMessage reads a stored outbound message: tenant, application and
// event type from its subject, the rest from its JSON; stored is the
// stream's time, the create time when the message has no timestamp.
func DecodeMessage(subject string, data []byte, stored time.Time) (*hookgatev1.Message, error) {
	rest, ok := strings.CutPrefix(subject, outboundPrefix)
	if !ok {
		return nil, fmt.Errorf("subject %q: not an outbound message", subject)
	}
	parts := strings.SplitN(rest, ".", 3)
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return nil, fmt.Errorf("subject %q: want hookgate.out.{tenant}.{app_id}.{event_type}", subject)
	}
	var w Message
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&w); err != nil {
		return nil, fmt.Errorf("decode message: %w", err)
	}
	if w.ID == "" || w.EventType != parts[2] || len(w.Payload) == 0 || bytes.Equal(w.Payload, []byte("null")) {
		return nil, fmt.Errorf("message on %q: missing id, payload or a matching event type", subject)
	}
	payload := &structpb.Value{}
	if err := protojson.Unmarshal(w.Payload, payload); err != nil {
		return nil, fmt.Errorf("decode payload of %s: %w", w.ID, err)
	}
	created := stored
	if w.Timestamp != nil && !w.Timestamp.IsZero() {
		created = *w.Timestamp
	}
	return &hookgatev1.Message{
		Id: w.ID, Tenant: parts[0], ApplicationId: parts[1], EventType: parts[2],
		Payload: payload, CreateTime: timestamppb.New(created),
	}, nil
}

func parseToken(token string) (uint64, error) {
	if token == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(token, 10, 64)
	if err != nil || n == 0 {
		return 0, ErrBadPageToken
	}
	return n, nil
}
