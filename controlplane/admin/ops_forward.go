package admin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/hookgate/hookgate/controlplane/outbound"
	"github.com/hookgate/hookgate/controlplane/store"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Operational events delivered to a tenant's own endpoints (docs/design.md
// "Operational events", "Delivered to the tenant's endpoints"). The
// control plane may not import the data plane, so the outbound subject and
// stream are mirrored here; cmd/hookgate/contract checks that the
// dispatchers parse what OpsOutbound builds.
const (
	// OpsFilter is every operational event of every tenant.
	OpsFilter = "hookgate.ops.*.>"
	// OpsMessageIDPrefix starts the id of a forwarded event's message.
	OpsMessageIDPrefix = "ops_"
	// opsForwardQueue makes one replica forward each event. It is not
	// opsQueue: OpsConsumer's group must still get every disable request.
	opsForwardQueue    = "hookgate-controlplane-ops-forward"
	opsOutboundPrefix  = "hookgate.out."
	opsOutboundStream  = "HOOKGATE_OUTBOUND"
	opsForwardTimeout  = 10 * time.Second
	opsEventExhausted  = "message.attempt.exhausted"
	opsMessageIDHexLen = 32
)

// opsForwardEvents are the events a tenant's operational application
// receives; anything else on hookgate.ops is not forwarded.
var opsForwardEvents = map[string]bool{
	"endpoint.disabled": true,
	"endpoint.enabled":  true,
	opsEventExhausted:   true,
}

// errNotForwarded means an event is not for any tenant's endpoints: not
// one of opsForwardEvents, or a body that does not name the subject's
// tenant.
var errNotForwarded = errors.New("not a forwarded operational event")

// opsEvent is what the forwarder reads of an event's body.
type opsEvent struct {
	Tenant string    `json:"tenant"`
	AppID  string    `json:"appId"`
	Time   time.Time `json:"time"`
}

// OpsEvent is one operational event read from its subject and body.
type OpsEvent struct {
	Tenant    string
	EventType string
	// AppID is the application of the message a message.attempt.exhausted
	// event is about; empty for the others.
	AppID string
	Time  time.Time
	Body  []byte
	// ID is the id of its outbound message: ops_ and a digest of subject
	// and body, so a duplicated event (a dispatcher's retried request, a
	// second publish) is one message within the stream's duplicate window.
	ID string
}

// ParseOpsEvent reads an event published on subject; errNotForwarded
// (wrapped) for one that is not forwarded.
func ParseOpsEvent(subject string, data []byte) (OpsEvent, error) {
	parts := strings.SplitN(subject, ".", 4)
	if len(parts) != 4 || parts[0] != "hookgate" || parts[1] != "ops" || !opsForwardEvents[parts[3]] {
		return OpsEvent{}, fmt.Errorf("subject %q: %w", subject, errNotForwarded)
	}
	var ev opsEvent
	if err := json.Unmarshal(data, &ev); err != nil {
		return OpsEvent{}, fmt.Errorf("%s event: body is not a JSON object: %w", parts[3], errNotForwarded)
	}
	if ev.Tenant != parts[2] {
		return OpsEvent{}, fmt.Errorf("%s event: tenant %q does not match the subject: %w", parts[3], ev.Tenant, errNotForwarded)
	}
	sum := sha256.Sum256([]byte(subject + "\n" + string(data)))
	return OpsEvent{
		Tenant: parts[2], EventType: parts[3], AppID: ev.AppID, Time: ev.Time, Body: data,
		ID: OpsMessageIDPrefix + hex.EncodeToString(sum[:])[:opsMessageIDHexLen],
	}, nil
}

// OpsOutbound is the outbound message carrying ev to application appID:
// its subject in HOOKGATE_OUTBOUND and its body in the outbound format
// ({"id","eventType","payload","timestamp"}, payload the event's body).
func OpsOutbound(ev OpsEvent, appID string, now time.Time) (string, []byte, error) {
	ts := ev.Time
	if ts.IsZero() {
		ts = now
	}
	ts = ts.UTC()
	b, err := json.Marshal(outbound.Message{ID: ev.ID, EventType: ev.EventType, Payload: json.RawMessage(ev.Body), Timestamp: &ts})
	if err != nil {
		return "", nil, fmt.Errorf("encode %s event: %w", ev.EventType, err)
	}
	return opsOutboundPrefix + ev.Tenant + "." + appID + "." + ev.EventType, b, nil
}

// OpsForwarder sends each tenant's operational events to its operational
// application (Tenant.ops_app_id) as outbound messages, which the
// dispatchers deliver, signed, to that application's endpoints subscribed
// to the event type. It never answers a request: the dispatchers'
// endpoint.disabled requests are OpsConsumer's to answer.
type OpsForwarder struct {
	store *store.Store
	clock Clock
	log   *slog.Logger
}

// NewOpsForwarder returns an OpsForwarder; Run starts it.
func NewOpsForwarder(st *store.Store, clock Clock, log *slog.Logger) *OpsForwarder {
	return &OpsForwarder{store: st, clock: clock, log: log}
}

// Run forwards the events seen on nc until ctx ends. Every control-plane
// replica runs one, in one queue group, so each event is forwarded once.
func (f *OpsForwarder) Run(ctx context.Context, nc *nats.Conn) error {
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("ops forwarder: jetstream: %w", err)
	}
	// The handler never calls Respond: a second reply to a dispatcher's
	// request would race OpsConsumer's.
	sub, err := nc.QueueSubscribe(OpsFilter, opsForwardQueue, func(m *nats.Msg) {
		fctx, cancel := context.WithTimeout(ctx, opsForwardTimeout)
		defer cancel()
		f.forward(fctx, js, m.Subject, m.Data)
	})
	if err != nil {
		return fmt.Errorf("subscribe %s: %w", OpsFilter, err)
	}
	<-ctx.Done()
	_ = sub.Unsubscribe()
	return nil
}

// forward sends one event to its tenant's operational application, if the
// tenant has one. Core NATS keeps nothing, so a failed publish loses the
// notice (logged), never the state it reports.
func (f *OpsForwarder) forward(ctx context.Context, js jetstream.JetStream, subject string, data []byte) {
	ev, err := ParseOpsEvent(subject, data)
	if err != nil {
		f.log.DebugContext(ctx, "operational event not forwarded", "err", err)
		return
	}
	appID, err := f.opsApp(ctx, ev)
	if err != nil {
		f.log.WarnContext(ctx, "operational event not forwarded", "tenant", ev.Tenant, "err", err)
		return
	}
	if appID == "" {
		return
	}
	outSubject, body, err := OpsOutbound(ev, appID, f.clock.Now())
	if err != nil {
		f.log.WarnContext(ctx, "operational event not forwarded", "tenant", ev.Tenant, "err", err)
		return
	}
	m := &nats.Msg{Subject: outSubject, Data: body, Header: nats.Header{}}
	m.Header.Set(jetstream.MsgIDHeader, ev.ID)
	if _, err := js.PublishMsg(ctx, m, jetstream.WithExpectStream(opsOutboundStream)); err != nil {
		f.log.WarnContext(ctx, "forward operational event", "tenant", ev.Tenant, "message_id", ev.ID, "err", err)
		return
	}
	f.log.DebugContext(ctx, "operational event forwarded", "tenant", ev.Tenant, "message_id", ev.ID)
}

// opsApp is the application ev goes to, or "" for none: the tenant has no
// operational application, it was deleted, or ev is a
// message.attempt.exhausted of that application's own messages (a failing
// operational endpoint would otherwise be told of its failures forever).
func (f *OpsForwarder) opsApp(ctx context.Context, ev OpsEvent) (string, error) {
	t, err := f.store.Tenant(ctx, ev.Tenant)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read tenant: %w", err)
	}
	appID := t.GetOpsAppId()
	if appID == "" || (ev.EventType == opsEventExhausted && ev.AppID == appID) {
		return "", nil
	}
	if _, _, err := f.store.App(ctx, ev.Tenant, appID); errors.Is(err, store.ErrNotFound) {
		return "", nil
	} else if err != nil {
		return "", fmt.Errorf("read operational application: %w", err)
	}
	return appID, nil
}
