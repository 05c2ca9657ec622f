package replay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hookgate/hookgate/controlplane/outbound"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ErrWrongApplication: the endpoint is not of the message's application.
var ErrWrongApplication = errors.New("the endpoint belongs to another application than the message")

// Replayer sends deliveries again and asks dispatchers for test sends.
type Replayer struct {
	js jetstream.JetStream
	nc *nats.Conn
}

// New returns a Replayer on a NATS connection and its JetStream context.
func New(nc *nats.Conn, js jetstream.JetStream) *Replayer { return &Replayer{js: js, nc: nc} }

// Delivery reads one delivery state; false when there is none.
func Delivery(ctx context.Context, js jetstream.JetStream, tenant, messageID, endpointID string) (outbound.Delivery, bool, error) {
	var d outbound.Delivery
	kv, err := js.KeyValue(ctx, outbound.DeliveriesKV)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return d, false, nil
	}
	if err != nil {
		return d, false, fmt.Errorf("open bucket %s: %w", outbound.DeliveriesKV, err)
	}
	e, err := kv.Get(ctx, tenant+"."+messageID+"."+endpointID)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return recordedDelivery(ctx, js, tenant, messageID, endpointID)
	}
	if err != nil {
		return d, false, fmt.Errorf("read delivery of %s to %s: %w", messageID, endpointID, err)
	}
	if err := json.Unmarshal(e.Value(), &d); err != nil {
		return d, false, fmt.Errorf("decode delivery of %s to %s: %w", messageID, endpointID, err)
	}
	return d, true, nil
}

// recordedDelivery reads a delivery the bucket holds no state of from its
// newest attempt record (a first attempt that succeeded has no state).
func recordedDelivery(ctx context.Context, js jetstream.JetStream, tenant, messageID, endpointID string) (outbound.Delivery, bool, error) {
	s, err := js.Stream(ctx, outbound.AttemptsStream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return outbound.Delivery{}, false, nil
	}
	if err != nil {
		return outbound.Delivery{}, false, fmt.Errorf("open stream %s: %w", outbound.AttemptsStream, err)
	}
	return outbound.LastRecordedDelivery(ctx, s, tenant, endpointID, messageID)
}

// Resend queues message messageID for the endpoint (of application appID)
// with trigger manual and waits, within ctx and at most 8 s, for the
// attempt's record; a nil attempt with a nil error means it was queued and
// not made yet. ErrMessageNotFound and ErrWrongApplication are the
// caller's errors.
func (r *Replayer) Resend(ctx context.Context, tenant, messageID, endpointID, appID string) (*hookgatev1.Attempt, error) {
	d, found, err := Delivery(ctx, r.js, tenant, messageID, endpointID)
	if err != nil {
		return nil, err
	}
	want := map[string]bool{messageID: true}
	var got map[string]Stored
	if found && d.AppID != "" && d.EventType != "" {
		if got, err = Payloads(ctx, r.js, tenant, d.AppID, d.EventType, want); err != nil {
			return nil, err
		}
	}
	if len(got) == 0 {
		if got, err = Payloads(ctx, r.js, tenant, "", "", want); err != nil {
			return nil, err
		}
	}
	msg, ok := got[messageID]
	if !ok {
		return nil, fmt.Errorf("message %s: %w", messageID, ErrMessageNotFound)
	}
	if msg.AppID != appID {
		return nil, fmt.Errorf("message %s of application %s, endpoint %s of %s: %w", messageID, msg.AppID, endpointID, appID, ErrWrongApplication)
	}
	subject := attemptSubject(tenant, endpointID, messageID)
	before, err := lastSeq(ctx, r.js, subject)
	if err != nil {
		return nil, err
	}
	err = Publish(ctx, r.js, Task{Tenant: tenant, EndpointID: endpointID, MessageID: messageID, AppID: msg.AppID,
		EventType: msg.EventType, Trigger: TriggerManual, Payload: msg.Payload})
	if err != nil {
		return nil, err
	}
	return waitRecord(ctx, r.js, subject, before, TriggerManual)
}

func attemptSubject(tenant, endpointID, messageID string) string {
	return "hookgate.attempts." + tenant + "." + endpointID + "." + messageID
}

// lastSeq is the sequence of the newest message on subject in
// HOOKGATE_ATTEMPTS, 0 when there is none.
func lastSeq(ctx context.Context, js jetstream.JetStream, subject string) (uint64, error) {
	s, err := js.Stream(ctx, outbound.AttemptsStream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("open stream %s: %w", outbound.AttemptsStream, err)
	}
	m, err := s.GetLastMsgForSubject(ctx, subject)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("last record of %s: %w", subject, err)
	}
	return m.Sequence, nil
}

// waitRecord polls for a record with the trigger on subject after
// sequence before, until ctx's deadline less a second (at most
// defaultRecordWait); nil when none came.
func waitRecord(ctx context.Context, js jetstream.JetStream, subject string, before uint64, trigger string) (*hookgatev1.Attempt, error) {
	wait := defaultRecordWait
	if dl, ok := ctx.Deadline(); ok {
		wait = min(wait, time.Until(dl)-time.Second)
	}
	wctx, cancel := context.WithTimeout(ctx, max(wait, 0))
	defer cancel()
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		s, err := js.Stream(wctx, outbound.AttemptsStream)
		if err == nil {
			m, err := s.GetMsg(wctx, before+1, jetstream.WithGetMsgSubject(subject))
			if err == nil {
				a, err := outbound.DecodeAttempt(m.Sequence, m.Data)
				if err == nil && a.GetTrigger() == triggerEnum(trigger) {
					return a, nil
				}
				before = m.Sequence
				continue
			}
		}
		select {
		case <-wctx.Done():
			return nil, nil
		case <-t.C:
		}
	}
}

func triggerEnum(t string) hookgatev1.AttemptTrigger {
	switch t {
	case TriggerManual:
		return hookgatev1.AttemptTrigger_ATTEMPT_TRIGGER_MANUAL
	case TriggerRecover:
		return hookgatev1.AttemptTrigger_ATTEMPT_TRIGGER_RECOVER
	}
	return hookgatev1.AttemptTrigger_ATTEMPT_TRIGGER_UNSPECIFIED
}
