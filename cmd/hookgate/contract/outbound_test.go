package contract

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/controlplane/admin"
	"github.com/hookgate/hookgate/controlplane/outbound"
	"github.com/hookgate/hookgate/controlplane/replay"
	"github.com/hookgate/hookgate/dataplane/dispatch"
	"github.com/hookgate/hookgate/dataplane/streams"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
)

// jsonNames lists a struct's JSON field names.
func jsonNames(v any) []string {
	var names []string
	rt := reflect.TypeOf(v)
	for i := range rt.NumField() {
		name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// The control plane mirrors the dispatchers' records field for field: a
// field added on either side fails here until the other side reads it.
func TestOutboundRecordShapesAgree(t *testing.T) {
	pairs := []struct {
		name      string
		dataplane any
		control   any
	}{
		{"outbound message", dispatch.OutboundMessage{}, outbound.Message{}},
		{"attempt record", dispatch.AttemptRecord{}, outbound.AttemptRecord{}},
		{"delivery state", dispatch.Delivery{}, outbound.Delivery{}},
	}
	for _, p := range pairs {
		if d, c := jsonNames(p.dataplane), jsonNames(p.control); !slices.Equal(d, c) {
			t.Errorf("%s: dataplane fields %v, control plane reads %v", p.name, d, c)
		}
	}
}

func TestOutboundMessageDecodes(t *testing.T) {
	at := time.Date(2026, 3, 23, 15, 30, 0, 0, time.UTC)
	b, err := json.Marshal(dispatch.OutboundMessage{ID: "msg_1", EventType: "order.created", Payload: json.RawMessage(`{"orderId":"ORD-1"}`), Timestamp: at})
	if err != nil {
		t.Fatal(err)
	}
	m, err := outbound.DecodeMessage("hookgate.out.acme.app_a.order.created", b, at.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if m.Id != "msg_1" || m.Tenant != "acme" || m.ApplicationId != "app_a" || m.EventType != "order.created" ||
		m.Payload.GetStructValue().GetFields()["orderId"].GetStringValue() != "ORD-1" || !m.CreateTime.AsTime().Equal(at) {
		t.Fatalf("decoded %v", m)
	}
	// Without a timestamp (omitzero) the stream's time is the create time.
	b, _ = json.Marshal(dispatch.OutboundMessage{ID: "msg_2", EventType: "a", Payload: json.RawMessage(`1`)})
	if m, err := outbound.DecodeMessage("hookgate.out.acme.app_a.a", b, at); err != nil || !m.CreateTime.AsTime().Equal(at) {
		t.Fatalf("no timestamp: %v %v", m, err)
	}
}

func TestAttemptRecordDecodes(t *testing.T) {
	at := time.Date(2026, 3, 23, 15, 30, 0, 0, time.UTC)
	triggers := map[dispatch.Trigger]hookgatev1.AttemptTrigger{
		dispatch.TriggerScheduled: hookgatev1.AttemptTrigger_ATTEMPT_TRIGGER_SCHEDULED,
		dispatch.TriggerManual:    hookgatev1.AttemptTrigger_ATTEMPT_TRIGGER_MANUAL,
		dispatch.TriggerRecover:   hookgatev1.AttemptTrigger_ATTEMPT_TRIGGER_RECOVER,
		dispatch.TriggerTest:      hookgatev1.AttemptTrigger_ATTEMPT_TRIGGER_TEST,
	}
	for trig, want := range triggers {
		for state, wantState := range deliveryStates {
			rec := dispatch.AttemptRecord{
				Tenant: "acme", MessageID: "msg_1", EndpointID: "ep_1", Number: 2, Trigger: trig, Time: at,
				DurationMS: 1.5, URL: "https://example.com/h", StatusCode: 429, ErrorClass: dispatch.ErrorClass("http_status"),
				Response: "slow down", RetryAfterMS: 2000, Disable: "gone", NextRetry: at.Add(5 * time.Second), State: state,
			}
			b, err := json.Marshal(rec)
			if err != nil {
				t.Fatal(err)
			}
			a, err := outbound.DecodeAttempt(7, b)
			if err != nil {
				t.Fatal(err)
			}
			if a.Id != "att_7" || a.Tenant != "acme" || a.MessageId != "msg_1" || a.EndpointId != "ep_1" || a.AttemptNumber != 2 ||
				a.Trigger != want || !a.Time.AsTime().Equal(at) || a.Duration.AsDuration() != 1500*time.Microsecond ||
				a.Url != rec.URL || a.ResponseStatusCode != 429 || a.ErrorClass != "http_status" || string(a.ResponseBody) != "slow down" ||
				a.RetryAfter.AsDuration() != 2*time.Second || a.DisableReason != "gone" || !a.NextAttemptTime.AsTime().Equal(rec.NextRetry) ||
				a.DeliveryState != wantState || a.Status != hookgatev1.AttemptStatus_ATTEMPT_STATUS_FAILED {
				t.Fatalf("trigger %s state %s: decoded %v", trig, state, a)
			}
		}
	}
}

var deliveryStates = map[dispatch.State]hookgatev1.DeliveryState{
	dispatch.StatePending:   hookgatev1.DeliveryState_DELIVERY_STATE_PENDING,
	dispatch.StateSucceeded: hookgatev1.DeliveryState_DELIVERY_STATE_SUCCEEDED,
	dispatch.StateFailed:    hookgatev1.DeliveryState_DELIVERY_STATE_FAILED,
	dispatch.StateCancelled: hookgatev1.DeliveryState_DELIVERY_STATE_CANCELLED,
}

func TestDeliveryStateDecodes(t *testing.T) {
	at := time.Date(2026, 3, 23, 15, 30, 0, 0, time.UTC)
	for state, want := range deliveryStates {
		d := dispatch.Delivery{
			Tenant: "acme", MessageID: "msg_1", EndpointID: "ep_1", AppID: "app_a", EventType: "order.created",
			State: state, Reason: dispatch.ReasonExhausted, Attempts: 3, LastStatusCode: 500,
			LastErrorClass: dispatch.ErrorClass("http_status"), NextRetry: at.Add(time.Minute), CreatedAt: at, UpdatedAt: at.Add(time.Second),
		}
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		got, err := outbound.DecodeDelivery(b)
		if err != nil {
			t.Fatal(err)
		}
		if got.Tenant != "acme" || got.MessageId != "msg_1" || got.EndpointId != "ep_1" || got.ApplicationId != "app_a" ||
			got.EventType != "order.created" || got.State != want || got.Reason != "exhausted" || got.AttemptCount != 3 ||
			got.LastStatusCode != 500 || got.LastErrorClass != "http_status" || !got.NextAttemptTime.AsTime().Equal(d.NextRetry) ||
			!got.CreateTime.AsTime().Equal(at) || !got.UpdateTime.AsTime().Equal(d.UpdatedAt) {
			t.Fatalf("state %s: decoded %v", state, got)
		}
	}
}

// TestAttemptIndexSubjectsAgree: the dispatcher writes index copies where
// the control plane's history reads them.
func TestAttemptIndexSubjectsAgree(t *testing.T) {
	if streams.AttemptSeqHeader != outbound.AttemptSeqHeader {
		t.Fatalf("sequence header %q (dispatcher) vs %q (control plane)", streams.AttemptSeqHeader, outbound.AttemptSeqHeader)
	}
	if streams.AttemptSeqsHeader != outbound.AttemptSeqsHeader {
		t.Fatalf("batch sequences header %q (dispatcher) vs %q (control plane)", streams.AttemptSeqsHeader, outbound.AttemptSeqsHeader)
	}
	for _, tt := range []struct {
		outcome, state string
		rec            outbound.AttemptRecord
	}{
		{"succeeded", "succeeded", outbound.AttemptRecord{Tenant: "acme", EndpointID: "ep_1", StatusCode: 200, State: "succeeded"}},
		{"failed", "pending", outbound.AttemptRecord{Tenant: "acme", EndpointID: "ep_1", StatusCode: 500, ErrorClass: "http_status", State: "pending"}},
		{"failed", "failed", outbound.AttemptRecord{Tenant: "acme", EndpointID: "ep_1", ErrorClass: "timeout", State: "failed"}},
	} {
		want := outbound.IndexSubject(tt.rec, "order.created")
		if got := streams.AttemptIndexSubject(tt.rec.Tenant, tt.rec.EndpointID, tt.outcome, tt.state, "order.created"); got != want {
			t.Errorf("index subject %q (dispatcher), want %q (control plane)", got, want)
		}
		if outbound.Outcome(tt.rec) != tt.outcome {
			t.Errorf("outcome of %+v is %q, want %q", tt.rec, outbound.Outcome(tt.rec), tt.outcome)
		}
	}
}

// Replay, recovery and test sends: the control plane writes delivery tasks
// and test-send requests in the dispatchers' forms and reads their replies
// (docs/design.md "Replay, recovery and test sends").
func TestReplayShapesAgree(t *testing.T) {
	for _, p := range []struct {
		name               string
		dataplane, control any
	}{
		{"test request", dispatch.TestRequest{}, replay.TestRequest{}},
		{"test reply", dispatch.TestReply{}, replay.TestReply{}},
	} {
		if d, c := jsonNames(p.dataplane), jsonNames(p.control); !slices.Equal(d, c) {
			t.Errorf("%s: dispatch has %v, the control plane %v", p.name, d, c)
		}
	}
	for _, h := range []struct{ name, dataplane, control string }{
		{"message id header", dispatch.TaskMessageID, replay.HeaderMessageID},
		{"app id header", dispatch.TaskAppID, replay.HeaderAppID},
		{"event type header", dispatch.TaskEventType, replay.HeaderEventType},
		{"timestamp header", dispatch.TaskTimestamp, replay.HeaderTimestamp},
		{"trigger header", dispatch.TaskTrigger, replay.HeaderTrigger},
		{"manual trigger", string(dispatch.TriggerManual), replay.TriggerManual},
		{"recover trigger", string(dispatch.TriggerRecover), replay.TriggerRecover},
		{"deliver subject", streams.DeliverSubject("acme", "ep_1"), replay.DeliverSubject("acme", "ep_1")},
		{"deliver stream", streams.Deliver, replay.DeliverStream},
		{"test subject", dispatch.TestSubjectPrefix, replay.TestSubjectPrefix},
	} {
		if h.dataplane != h.control {
			t.Errorf("%s: dispatch %q, control plane %q", h.name, h.dataplane, h.control)
		}
	}
	// A reply the dispatcher encodes is an attempt the control plane reads.
	rec := dispatch.AttemptRecord{Tenant: "acme", MessageID: "msg_test_1", EndpointID: "ep_1", Number: 1, Trigger: dispatch.TriggerTest,
		Time: time.Now().UTC(), StatusCode: 500, ErrorClass: dispatch.ClassHTTPStatus, Response: "down", State: dispatch.StateFailed}
	b, err := json.Marshal(dispatch.TestReply{Sequence: 7, Record: &rec})
	if err != nil {
		t.Fatal(err)
	}
	var rep replay.TestReply
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	a, err := outbound.DecodeAttempt(rep.Sequence, rep.Record)
	if err != nil || a.GetId() != "att_7" || a.GetTrigger() != hookgatev1.AttemptTrigger_ATTEMPT_TRIGGER_TEST || a.GetResponseStatusCode() != 500 ||
		a.GetErrorClass() != "http_status" || string(a.GetResponseBody()) != "down" {
		t.Fatalf("decoded reply %v (%v)", a, err)
	}
}

// Endpoint health: the control plane reads the dispatchers' value field
// for field, in the same bucket.
func TestHealthShapesAgree(t *testing.T) {
	pairs := []struct {
		name      string
		dataplane any
		control   any
	}{
		{"health", dispatch.Health{}, admin.HealthRecord{}},
		{"health status", dispatch.HealthStatus{}, admin.HealthStatusJSON{}},
		{"health sample", dispatch.HealthSample{}, admin.HealthSampleJSON{}},
	}
	for _, p := range pairs {
		if d, c := jsonNames(p.dataplane), jsonNames(p.control); !slices.Equal(d, c) {
			t.Errorf("%s: dataplane fields %v, control plane reads %v", p.name, d, c)
		}
	}
	if dispatch.DefaultHealthBucket != admin.HealthBucket {
		t.Errorf("dispatchers write %s, the control plane reads %s", dispatch.DefaultHealthBucket, admin.HealthBucket)
	}
}

func TestHealthDecodes(t *testing.T) {
	at := time.Date(2026, 3, 23, 15, 30, 0, 0, time.UTC)
	attempts := []*dispatch.Attempt{
		{EndpointID: "ep_1", Time: at, Duration: 10 * time.Millisecond, StatusCode: 200},
		{EndpointID: "ep_1", Time: at.Add(time.Second), Duration: 30 * time.Millisecond, StatusCode: 503, ErrorClass: dispatch.ClassHTTPStatus, NextRetry: at.Add(time.Minute)},
		{EndpointID: "ep_1", Time: at.Add(2 * time.Second), Duration: 50 * time.Millisecond, ErrorClass: dispatch.ClassTimeout},
	}
	h := &dispatch.Health{}
	for _, a := range attempts {
		h = dispatch.MergeHealth(h, dispatch.HealthOf("acme", a), at)
	}
	b, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	got, err := admin.DecodeHealth(b, at.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if got.SuccessCount != 1 || got.FailureCount != 2 || got.ConsecutiveFailures != 2 || got.ErrorsSinceLastSuccess != 1 ||
		got.AvgResponseTimeMs != 30 || got.LastResponseTimeMs != 50 || got.SampledAttempts != 3 {
		t.Errorf("decoded %v", got)
	}
	if !got.LastSuccessTime.AsTime().Equal(at) || !got.FailingSince.AsTime().Equal(at.Add(time.Second)) || !got.LastFailureTime.AsTime().Equal(at.Add(2*time.Second)) {
		t.Errorf("times %v", got)
	}
	if st := got.LastStatus; st.GetCode() != 0 || st.GetMessage() != "timeout" || st.GetErrorClass() != "timeout" || !st.GetTime().AsTime().Equal(at.Add(2*time.Second)) {
		t.Errorf("last status %v", st)
	}
	// A day later no sample is in the window: no average.
	if late, _ := admin.DecodeHealth(b, at.Add(25*time.Hour)); late.AvgResponseTimeMs != 0 || late.SampledAttempts != 0 {
		t.Errorf("a day later: %v", late)
	}
	if _, err := admin.DecodeHealth([]byte("{"), at); err == nil {
		t.Errorf("bad JSON decoded")
	}
}

// The control plane's ops forwarder builds outbound messages without the
// data plane's code: the dispatchers must parse every one it makes.
func TestOpsForwardMessageParses(t *testing.T) {
	now := time.Date(2026, 3, 23, 15, 30, 0, 0, time.UTC)
	events := []struct{ subject, body string }{
		{"hookgate.ops.acme.endpoint.disabled", `{"tenant":"acme","endpointId":"ep_1","reason":"gone","time":"2026-03-23T15:30:00Z"}`},
		{"hookgate.ops.acme.endpoint.enabled", `{"tenant":"acme","endpointId":"ep_1"}`},
		{"hookgate.ops.acme.message.attempt.exhausted", `{"tenant":"acme","messageId":"msg_1","endpointId":"ep_1","appId":"app_b","eventType":"order.created","attempts":8,"time":"2026-03-23T15:30:00Z"}`},
	}
	for _, ev := range events {
		t.Run(ev.subject, func(t *testing.T) {
			oe, err := admin.ParseOpsEvent(ev.subject, []byte(ev.body))
			if err != nil {
				t.Fatal(err)
			}
			subject, data, err := admin.OpsOutbound(oe, "app_ops", now)
			if err != nil {
				t.Fatal(err)
			}
			msg, ts, reason := dispatch.ParseOutbound(subject, data)
			if reason != "" {
				t.Fatalf("dispatchers refuse %s: %s", data, reason)
			}
			if msg.ID != oe.ID || msg.Tenant != "acme" || msg.AppID != "app_ops" || msg.EventType != oe.EventType || string(msg.Payload) != ev.body || !ts.Equal(now) {
				t.Fatalf("parsed %+v at %v from %s %s", msg, ts, subject, data)
			}
		})
	}
}
