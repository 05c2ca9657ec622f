// Package replay sends outbound messages again and tests endpoints for the
// admin API: it re-queues deliveries as tasks the dispatchers run
// (ResendMessage, RecoverEndpoint jobs) and asks a dispatcher for test
// sends over NATS (docs/design.md "Replay, recovery and test sends"). It
// mirrors the data plane's formats and never imports data-plane code.
package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hookgate/hookgate/controlplane/outbound"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Task headers and subjects shared with the dispatchers (dataplane/dispatch
// Task*, streams.DeliverSubject); cmd/hookgate/contract checks both sides
// agree.
const (
	DeliverStream     = "HOOKGATE_DELIVER"
	HeaderMessageID   = "Hookgate-Message-Id"
	HeaderAppID       = "Hookgate-App-Id"
	HeaderEventType   = "Hookgate-Event-Type"
	HeaderTimestamp   = "Hookgate-Timestamp"
	HeaderTrigger     = "Hookgate-Trigger"
	TriggerManual     = "manual"
	TriggerRecover    = "recover"
	deliverPrefix     = "hookgate.deliver."
	outboundPrefix    = "hookgate.out."
	minWindow         = 64
	maxWindow         = 1 << 20
	defaultRecordWait = 8 * time.Second
)

// Errors callers act on.
var (
	// ErrMessageNotFound: the message is not (or no longer) in
	// HOOKGATE_OUTBOUND.
	ErrMessageNotFound = errors.New("message not found in the outbound stream")
)

// DeliverSubject is the subject of an endpoint's delivery tasks.
func DeliverSubject(tenant, endpointID string) string {
	return deliverPrefix + tenant + "." + endpointID
}

// Task is a delivery sent again.
type Task struct {
	Tenant, EndpointID, MessageID, AppID, EventType string
	// Trigger is TriggerManual or TriggerRecover.
	Trigger string
	Payload []byte
	// DedupID, when set, is the task's Nats-Msg-Id; it starts with the
	// trigger so it never meets the fan-out's {message}.{endpoint}.
	DedupID string
}

// Publish stores t on its endpoint's deliver subject in HOOKGATE_DELIVER.
func Publish(ctx context.Context, js jetstream.JetStream, t Task) error {
	m := nats.NewMsg(DeliverSubject(t.Tenant, t.EndpointID))
	m.Header.Set(HeaderMessageID, t.MessageID)
	m.Header.Set(HeaderAppID, t.AppID)
	m.Header.Set(HeaderEventType, t.EventType)
	m.Header.Set(HeaderTimestamp, time.Now().UTC().Format(time.RFC3339Nano))
	m.Header.Set(HeaderTrigger, t.Trigger)
	if t.DedupID != "" {
		m.Header.Set(jetstream.MsgIDHeader, t.DedupID)
	}
	m.Data = t.Payload
	if _, err := js.PublishMsg(ctx, m); err != nil {
		return fmt.Errorf("queue %s of %s to endpoint %s: %w", t.Trigger, t.MessageID, t.EndpointID, err)
	}
	return nil
}

// Stored is an outbound message as the stream holds it.
type Stored struct {
	ID, AppID, EventType string
	// Payload is the message's payload, byte for byte.
	Payload []byte
}

// Payloads finds the newest stored copy of each message id in want among a
// tenant's outbound messages of one application and event type (empty:
// any), reading the stream backwards in growing windows of sequences until
// every id is found or the subject's first message is passed. Ids not
// found are absent from the result.
func Payloads(ctx context.Context, js jetstream.JetStream, tenant, appID, eventType string, want map[string]bool) (map[string]Stored, error) {
	filter := outboundPrefix + tenant + ".>"
	if appID != "" && eventType != "" {
		filter = outboundPrefix + tenant + "." + appID + "." + eventType
	}
	found := map[string]Stored{}
	s, err := js.Stream(ctx, outbound.OutboundStream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return found, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open stream %s: %w", outbound.OutboundStream, err)
	}
	last, err := s.GetLastMsgForSubject(ctx, filter)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return found, nil
	}
	if err != nil {
		return nil, fmt.Errorf("last message of %s: %w", filter, err)
	}
	first, err := s.GetMsg(ctx, 1, jetstream.WithGetMsgSubject(filter))
	if err != nil {
		return nil, fmt.Errorf("first message of %s: %w", filter, err)
	}
	lo, hi, w := first.Sequence, last.Sequence, uint64(minWindow)
	for hi >= lo && len(found) < len(want) {
		start := lo
		if hi-lo+1 > w {
			start = hi - w + 1
		}
		window := map[string]Stored{}
		for seq := start; seq <= hi; {
			m, err := s.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(filter))
			if errors.Is(err, jetstream.ErrMsgNotFound) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("read %s at %d: %w", filter, seq, err)
			}
			if m.Sequence > hi {
				break
			}
			if st, ok := decode(m, want); ok {
				window[st.ID] = st // later in the window is newer
			}
			seq = m.Sequence + 1
		}
		for id, st := range window {
			if _, ok := found[id]; !ok {
				found[id] = st
			}
		}
		if start == lo {
			break
		}
		hi, w = start-1, min(w*2, maxWindow)
	}
	return found, nil
}

func decode(m *jetstream.RawStreamMsg, want map[string]bool) (Stored, bool) {
	if id := m.Header.Get(jetstream.MsgIDHeader); id != "" && !want[id] {
		return Stored{}, false
	}
	var w outbound.Message
	if err := json.Unmarshal(m.Data, &w); err != nil || !want[w.ID] || len(w.Payload) == 0 || bytes.Equal(w.Payload, []byte("null")) {
		return Stored{}, false
	}
	msg, err := outbound.DecodeMessage(m.Subject, m.Data, m.Time)
	if err != nil {
		return Stored{}, false
	}
	return Stored{ID: w.ID, AppID: msg.GetApplicationId(), EventType: msg.GetEventType(), Payload: w.Payload}, true
}
