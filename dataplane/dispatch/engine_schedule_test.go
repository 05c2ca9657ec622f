package dispatch_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hookgate/hookgate/dataplane/dispatch"
	"github.com/hookgate/hookgate/dataplane/streams"
	"github.com/hookgate/hookgate/testkit/poll"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// opsEvent is one exhausted event as a subscriber saw it.
type opsEvent struct {
	subject string
	ev      dispatch.AttemptExhausted
	raw     map[string]any
}

// TestEngineTenantSchedule: a tenant with its own schedule (2 attempts)
// fails after 2 attempts while the default tenant makes the engine's 4;
// each exhausted delivery publishes one message.attempt.exhausted event
// with its fields, and a 410 (failed, not exhausted) and a success
// publish none.
func TestEngineTenantSchedule(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	const tiny = "tiny"
	short, err := dispatch.NewSchedule([]time.Duration{0, time.Millisecond}, 1)
	if err != nil {
		t.Fatal(err)
	}
	var asked sync.Map
	schedules := func(tenant string) (dispatch.Schedule, bool) {
		asked.Store(tenant, true)
		if tenant == tiny {
			return short, true
		}
		return dispatch.Schedule{}, false
	}

	nc := r.js.Conn()
	var mu sync.Mutex
	var events []opsEvent
	sub, err := nc.Subscribe("hookgate.ops.*."+dispatch.OpsAttemptExhausted, func(m *nats.Msg) {
		var e opsEvent
		e.subject = m.Subject
		if err := json.Unmarshal(m.Data, &e.ev); err != nil {
			t.Errorf("event %q: %v", m.Data, err)
		}
		if err := json.Unmarshal(m.Data, &e.raw); err != nil {
			t.Errorf("event %q: %v", m.Data, err)
		}
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}

	tb := newTable()
	failTiny, failDefault, gone, ok := newSink(t, status(500)), newSink(t, status(503)), newSink(t, status(410)), newSink(t, status(200))
	epTiny := failTiny.endpoint(t, "ep_tiny")
	epTiny.Tenant = tiny
	tb.add(epTiny, "app_s", "order.created")
	tb.add(failDefault.endpoint(t, "ep_default"), "app_s", "order.created")
	tb.add(gone.endpoint(t, "ep_gone"), "app_g", "order.created")
	tb.add(ok.endpoint(t, "ep_ok"), "app_g", "order.created")
	eng := r.startDeps(t, testConfig(), dispatch.EngineDeps{Endpoints: tb, Schedules: schedules})

	start := time.Now().UTC()
	publishTo(t, r.js, tiny, "app_s", "order.created", "msg_tiny")
	r.publish(t, "app_s", "order.created", "msg_default", `{}`)
	r.publish(t, "app_g", "order.created", "msg_gone", `{}`)

	tests := []struct {
		name, tenant, msg, ep string
		sink                  *sink
		state                 dispatch.State
		reason                string
		attempts              int
	}{
		{"tenant override: 2 attempts", tiny, "msg_tiny", "ep_tiny", failTiny, dispatch.StateFailed, dispatch.ReasonExhausted, 2},
		{"default tenant keeps the engine's 4", testTenant, "msg_default", "ep_default", failDefault, dispatch.StateFailed, dispatch.ReasonExhausted, 4},
		{"410: failed at once, not exhausted", testTenant, "msg_gone", "ep_gone", gone, dispatch.StateFailed, dispatch.ReasonEndpointGone, 1},
		{"success", testTenant, "msg_gone", "ep_ok", ok, dispatch.StateSucceeded, "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := waitTenantState(t, eng, tt.tenant, tt.msg, tt.ep, tt.state)
			if d.Attempts != tt.attempts || d.Reason != tt.reason {
				t.Fatalf("delivery %+v, want %d attempts, reason %q", d, tt.attempts, tt.reason)
			}
			if n := tt.sink.count(); n != tt.attempts {
				t.Fatalf("receiver got %d requests, want %d", n, tt.attempts)
			}
		})
	}
	for _, tenant := range []string{tiny, testTenant} {
		if _, ok := asked.Load(tenant); !ok {
			t.Errorf("schedule of tenant %s never asked for", tenant)
		}
	}

	poll.NoError(t, waitLong, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(events) < 2 {
			return fmt.Errorf("%d exhausted events, want 2", len(events))
		}
		return nil
	})
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := map[string]dispatch.AttemptExhausted{
		"ep_tiny":    {Tenant: tiny, MessageID: "msg_tiny", EndpointID: "ep_tiny", AppID: "app_s", EventType: "order.created", Attempts: 2, LastStatusCode: 500, LastErrorClass: dispatch.ClassHTTPStatus},
		"ep_default": {Tenant: testTenant, MessageID: "msg_default", EndpointID: "ep_default", AppID: "app_s", EventType: "order.created", Attempts: 4, LastStatusCode: 503, LastErrorClass: dispatch.ClassHTTPStatus},
	}
	if len(events) != len(want) {
		t.Fatalf("events %+v, want one each for ep_tiny and ep_default", events)
	}
	for _, e := range events {
		w, ok := want[e.ev.EndpointID]
		if !ok {
			t.Fatalf("unexpected exhausted event %+v", e)
		}
		delete(want, e.ev.EndpointID)
		if e.subject != "hookgate.ops."+w.Tenant+".message.attempt.exhausted" {
			t.Errorf("subject %q for tenant %s", e.subject, w.Tenant)
		}
		got := e.ev
		if got.Time.Before(start) || got.Time.After(time.Now().UTC()) || got.Time.Location() != time.UTC {
			t.Errorf("event time %v, want between %v and now, UTC", got.Time, start)
		}
		got.Time = time.Time{}
		if got != w {
			t.Errorf("event %+v, want %+v", got, w)
		}
		for _, k := range []string{"tenant", "messageId", "endpointId", "attempts", "lastStatusCode", "lastErrorClass", "time"} {
			if _, ok := e.raw[k]; !ok {
				t.Errorf("event %v lacks JSON field %q", e.raw, k)
			}
		}
	}
}

func publishTo(t *testing.T, js jetstream.JetStream, tenant, app, eventType, id string) {
	t.Helper()
	body := []byte(`{"id":"` + id + `","eventType":"` + eventType + `","payload":{},"timestamp":"` + time.Now().UTC().Format(time.RFC3339Nano) + `"}`)
	m := nats.NewMsg(streams.OutboundMessageSubject(tenant, app, eventType))
	m.Header.Set(jetstream.MsgIDHeader, id)
	m.Data = body
	if _, err := js.PublishMsg(context.Background(), m); err != nil {
		t.Fatal(err)
	}
}

func waitTenantState(t *testing.T, eng *running, tenant, msgID, epID string, want dispatch.State) dispatch.Delivery {
	t.Helper()
	var d dispatch.Delivery
	poll.NoError(t, waitLong, func() error {
		ds, err := eng.Deliveries(context.Background(), tenant, msgID)
		if err != nil {
			return err
		}
		for _, x := range ds {
			if x.EndpointID == epID {
				d = x
			}
		}
		if d.State != want {
			return fmt.Errorf("delivery %s to %s is %+v, want %s", msgID, epID, d, want)
		}
		return nil
	})
	return d
}
