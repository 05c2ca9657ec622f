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
)

// Test sends: a NATS request to one dispatcher (queue group), mirroring
// dispatch.TestRequest and dispatch.TestReply.
const (
	TestSubjectPrefix = "hookgate.dispatch.test."
	// TestEventType is the event type of SendTestPing.
	TestEventType = "webhook.test"
)

// TestRequest mirrors dispatch.TestRequest.
type TestRequest struct {
	Tenant     string          `json:"tenant"`
	EndpointID string          `json:"endpointId"`
	MessageID  string          `json:"messageId"`
	EventType  string          `json:"eventType"`
	Payload    json.RawMessage `json:"payload"`
}

// TestReply mirrors dispatch.TestReply; Record is an attempt record's JSON.
type TestReply struct {
	Sequence uint64          `json:"sequence,omitempty"`
	Record   json.RawMessage `json:"record,omitempty"`
	Code     string          `json:"code,omitempty"`
	Error    string          `json:"error,omitempty"`
}

// Errors of a test send callers act on.
var (
	// ErrNoDispatcher: no dispatcher answered.
	ErrNoDispatcher = errors.New("no dispatcher answered the test send")
	// ErrEndpointUnknown: the dispatcher does not deliver to the endpoint
	// (disabled, or its configuration has not reached the dispatchers).
	ErrEndpointUnknown = errors.New("the dispatcher does not deliver to this endpoint (disabled, or its configuration has not reached the dispatchers yet)")
	// ErrRateLimited: the endpoint's rate limit or in-flight cap left no
	// room within the dispatcher's wait.
	ErrRateLimited = errors.New("the endpoint's rate limit or in-flight cap left no room for the test send")
)

// PingPayload is the payload of a test ping.
func PingPayload(tenant, endpointID string, now time.Time) []byte {
	b, _ := json.Marshal(map[string]any{
		"type": TestEventType, "timestamp": now.UTC().Format(time.RFC3339),
		"data": map[string]string{"tenant": tenant, "endpointId": endpointID},
	})
	return b
}

// SendTest asks one dispatcher to make a test attempt of the message and
// answers the attempt. ctx bounds the wait (the attempt's timeout plus the
// dispatcher's rate-limit wait should fit in it).
func (r *Replayer) SendTest(ctx context.Context, req TestRequest) (*hookgatev1.Attempt, error) {
	b, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encode test send: %w", err)
	}
	m, err := r.nc.RequestWithContext(ctx, TestSubjectPrefix+req.Tenant, b)
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return nil, ErrNoDispatcher
	case err != nil:
		return nil, fmt.Errorf("test send to %s: %w", req.EndpointID, err)
	}
	var rep TestReply
	if err := json.Unmarshal(m.Data, &rep); err != nil {
		return nil, fmt.Errorf("decode test send reply: %w", err)
	}
	switch rep.Code {
	case "":
	case "endpoint_unknown":
		return nil, ErrEndpointUnknown
	case "rate_limited":
		return nil, ErrRateLimited
	default:
		return nil, fmt.Errorf("test send to %s: dispatcher answered %s: %s", req.EndpointID, rep.Code, rep.Error)
	}
	a, err := outbound.DecodeAttempt(rep.Sequence, rep.Record)
	if err != nil {
		return nil, fmt.Errorf("test send to %s: %w", req.EndpointID, err)
	}
	return a, nil
}
