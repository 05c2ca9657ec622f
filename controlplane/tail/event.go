package tail

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// BodyBytes is how much of a body an event shows, as failed triggers do.
const BodyBytes = 4 << 10

// redacted replaces the value of a header that may carry a credential.
const redacted = "REDACTED"

// credentialWords mark a header name whose value is shown as REDACTED. The
// envelope never holds the Hookgate key or a provider's secret header (the
// edge drops them), but it keeps what consumers may need: signatures to
// verify again, a sender's own Authorization or cookies. A tail is shown in
// a browser, so it redacts them as failed triggers do (the same words as
// dataplane/ingress, which the control plane may not import).
var credentialWords = []string{"authorization", "cookie", "signature", "token", "secret", "key", "hmac", "auth"}

// CredentialHeader reports whether a header's value is shown as REDACTED:
// its name holds one of the credential words (cmd/hookgate/contract checks
// that the edge's failed triggers redact the same names).
func CredentialHeader(name string) bool {
	n := strings.ToLower(name)
	for _, w := range credentialWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// envelope is the part of the edge's envelope JSON (DESIGN.md; the edge's
// dataplane/envelope writes it) a tail shows. encoding/json, not protojson,
// so that the payload stays the bytes the edge embedded verbatim.
type envelope struct {
	ID             string  `json:"id"`
	Tenant         string  `json:"tenant"`
	WebhookID      string  `json:"webhookId"`
	Provider       string  `json:"provider"`
	ProcessID      string  `json:"processId"`
	ThreadID       string  `json:"threadId"`
	Trigger        string  `json:"trigger"`
	CorrelationKey *string `json:"correlationKey"`
	WebhookMessage struct {
		DateTime time.Time           `json:"dateTime"`
		Payload  json.RawMessage     `json:"payload"`
		Headers  map[string][]string `json:"headers"`
		RawBody  []byte              `json:"rawBody"`
	} `json:"webhookMessage"`
}

var errNotEnvelope = errors.New("no event id or tenant")

// Decode turns an envelope as the edge publishes it into the event a tail
// shows: its routing fields, redacted headers and the body's first
// BodyBytes.
func Decode(data []byte) (*hookgatev1.InboundEvent, error) {
	var env envelope
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, fmt.Errorf("decode envelope: %w", err)
	}
	if env.ID == "" || env.Tenant == "" {
		return nil, errNotEnvelope
	}
	msg := env.WebhookMessage
	body, err := bodyOf(msg.RawBody, msg.Payload)
	if err != nil {
		return nil, err
	}
	ev := &hookgatev1.InboundEvent{
		Id:             env.ID,
		Tenant:         env.Tenant,
		WebhookId:      env.WebhookID,
		Provider:       hookgatev1.Provider(hookgatev1.Provider_value["PROVIDER_"+env.Provider]),
		ProcessId:      env.ProcessID,
		ThreadId:       env.ThreadID,
		Trigger:        hookgatev1.Trigger(hookgatev1.Trigger_value["TRIGGER_"+env.Trigger]),
		CorrelationKey: env.CorrelationKey,
		BodySize:       int64(len(body)),
		Body:           body[:min(len(body), BodyBytes)],
		Headers:        make(map[string]*structpb.ListValue, len(msg.Headers)),
	}
	if !msg.DateTime.IsZero() {
		ev.ReceiveTime = timestamppb.New(msg.DateTime)
	}
	for name, values := range msg.Headers {
		lv := &structpb.ListValue{Values: make([]*structpb.Value, len(values))}
		for i, v := range values {
			if CredentialHeader(name) {
				v = redacted
			}
			lv.Values[i] = structpb.NewStringValue(v)
		}
		ev.Headers[name] = lv
		if strings.EqualFold(name, "Content-Type") && len(values) > 0 {
			ev.ContentType = values[0]
		}
	}
	return ev, nil
}

// bodyOf is the body as the envelope carries it: the exact bytes when the
// webhook keeps them, else the payload: a JSON body verbatim, a text body
// (a JSON string) decoded, a form body as its JSON object.
func bodyOf(raw []byte, payload json.RawMessage) ([]byte, error) {
	if raw != nil {
		return raw, nil
	}
	p := bytes.TrimSpace(payload)
	switch {
	case len(p) == 0 || bytes.Equal(p, []byte("null")):
		return nil, nil
	case p[0] == '"':
		var s string
		if err := json.Unmarshal(p, &s); err != nil {
			return nil, fmt.Errorf("decode text payload: %w", err)
		}
		return []byte(s), nil
	}
	return p, nil
}
