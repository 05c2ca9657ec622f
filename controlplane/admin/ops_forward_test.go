package admin_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/hookgate/hookgate/controlplane/admin"
	"github.com/hookgate/hookgate/controlplane/outbound"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/testkit/natstest"
	"github.com/hookgate/hookgate/testkit/poll"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// setOpsApp sets a tenant's operational application through the API.
func setOpsApp(ctx context.Context, e *env, tenant, appID string) (*hookgatev1.Tenant, error) {
	r, err := e.tenants(e.platform).UpdateTenant(ctx, connect.NewRequest(&hookgatev1.UpdateTenantRequest{
		Tenant:     &hookgatev1.Tenant{Id: tenant, OpsAppId: appID},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"ops_app_id"}},
	}))
	if err != nil {
		return nil, err
	}
	return r.Msg.Tenant, nil
}

func TestUpdateTenantOpsApp(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	appID := outboundSetup(t, e)
	createTenant(t, e, "globex")
	other, err := e.apps(e.platform).CreateApplication(ctx, connect.NewRequest(&hookgatev1.CreateApplicationRequest{Application: &hookgatev1.Application{Tenant: "globex", Name: "Other"}}))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		appID    string
		wantCode connect.Code // 0: accepted
		wantMsg  string
	}{
		{"set", appID, 0, ""},
		{"no such application", "app_doesnotexist", connect.CodeFailedPrecondition, "tenant.ops_app_id: tenant acme has no application app_doesnotexist"},
		{"another tenant's application", other.Msg.Application.Id, connect.CodeFailedPrecondition, "tenant.ops_app_id"},
		{"not an application id", "ep_123", connect.CodeInvalidArgument, "tenant.ops_app_id"},
		{"bad characters", "app_a.b", connect.CodeInvalidArgument, "tenant.ops_app_id"},
		{"cleared", "", 0, ""},
		{"set again", appID, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := setOpsApp(ctx, e, "acme", tt.appID)
			if tt.wantCode == 0 {
				if err != nil {
					t.Fatalf("update: %v", err)
				}
				if got.OpsAppId != tt.appID {
					t.Fatalf("ops_app_id = %q, want %q", got.OpsAppId, tt.appID)
				}
				return
			}
			if connect.CodeOf(err) != tt.wantCode || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("err = %v, want %v containing %q", err, tt.wantCode, tt.wantMsg)
			}
		})
	}
	// A refused update left the last accepted value.
	r, err := e.tenants(e.platform).GetTenant(ctx, connect.NewRequest(&hookgatev1.GetTenantRequest{Tenant: "acme"}))
	if err != nil || r.Msg.Tenant.OpsAppId != appID {
		t.Fatalf("get = %v, %v; want ops_app_id %s", r, err, appID)
	}
	_, err = e.tenants(e.platform).CreateTenant(ctx, connect.NewRequest(&hookgatev1.CreateTenantRequest{Tenant: &hookgatev1.Tenant{Id: "initech", OpsAppId: appID}}))
	if connect.CodeOf(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), "tenant.ops_app_id") {
		t.Fatalf("create with ops_app_id: %v, want InvalidArgument naming tenant.ops_app_id", err)
	}
}

func TestParseOpsEvent(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 23, 15, 30, 0, 0, time.UTC)
	disabled := []byte(`{"tenant":"acme","endpointId":"ep_1","reason":"gone","time":"2026-03-23T15:30:00Z"}`)
	tests := []struct {
		name    string
		subject string
		data    []byte
		want    string // event type; "" means refused
	}{
		{"endpoint.disabled", "hookgate.ops.acme.endpoint.disabled", disabled, "endpoint.disabled"},
		{"endpoint.enabled", "hookgate.ops.acme.endpoint.enabled", []byte(`{"tenant":"acme","endpointId":"ep_1","time":"2026-03-23T15:30:00Z"}`), "endpoint.enabled"},
		{"exhausted", "hookgate.ops.acme.message.attempt.exhausted", []byte(`{"tenant":"acme","messageId":"msg_1","appId":"app_1","time":"2026-03-23T15:30:00Z"}`), "message.attempt.exhausted"},
		{"unknown event", "hookgate.ops.acme.endpoint.bored", disabled, ""},
		{"no event", "hookgate.ops.acme", disabled, ""},
		{"not ops", "hookgate.out.acme.endpoint.disabled", disabled, ""},
		{"not JSON", "hookgate.ops.acme.endpoint.disabled", []byte("{"), ""},
		{"not an object", "hookgate.ops.acme.endpoint.disabled", []byte(`[1]`), ""},
		{"tenant differs", "hookgate.ops.globex.endpoint.disabled", disabled, ""},
		{"bad time", "hookgate.ops.acme.endpoint.disabled", []byte(`{"tenant":"acme","time":"yesterday"}`), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := admin.ParseOpsEvent(tt.subject, tt.data)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("parsed %+v, want a refusal", ev)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ev.EventType != tt.want || ev.Tenant != "acme" || !ev.Time.Equal(at) || !strings.HasPrefix(ev.ID, admin.OpsMessageIDPrefix) {
				t.Fatalf("parsed %+v", ev)
			}
		})
	}
	a, _ := admin.ParseOpsEvent("hookgate.ops.acme.endpoint.disabled", disabled)
	b, _ := admin.ParseOpsEvent("hookgate.ops.acme.endpoint.disabled", disabled)
	c, _ := admin.ParseOpsEvent("hookgate.ops.acme.endpoint.disabled", []byte(strings.Replace(string(disabled), "gone", "auto", 1)))
	if a.ID != b.ID || a.ID == c.ID {
		t.Fatalf("ids %s, %s, %s: want the same event to give the same id and another event another", a.ID, b.ID, c.ID)
	}
}

func TestOpsForwarder(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	appID := outboundSetup(t, e)
	if _, err := setOpsApp(ctx, e, "acme", appID); err != nil {
		t.Fatal(err)
	}
	createTenant(t, e, "globex")

	ns := natstest.Start(t)
	nc, js := ns.Conn(t), ns.JetStream(t)
	stream, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "HOOKGATE_OUTBOUND", Subjects: []string{"hookgate.out.>"}, Storage: jetstream.FileStorage})
	if err != nil {
		t.Fatal(err)
	}
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- admin.NewOpsForwarder(e.store, e.clock, slog.New(slog.DiscardHandler)).Run(rctx, nc) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})

	countOn := func(subject string) uint64 {
		t.Helper()
		info, err := stream.Info(ctx, jetstream.WithSubjectFilter(subject))
		if err != nil {
			t.Fatal(err)
		}
		var n uint64
		for _, c := range info.State.Subjects {
			n += c
		}
		return n
	}
	// One subscription handles events in order, so once a later marker
	// event has landed every earlier one has been handled.
	marker := 0
	sync := func() {
		t.Helper()
		marker++
		body, _ := json.Marshal(map[string]any{"tenant": "acme", "endpointId": "ep_marker", "n": marker})
		want := uint64(marker)
		// Published again until it lands (the first time, the subscription
		// may not be there yet); the copies have one id, so one message.
		poll.Until(t, 10*time.Second, "marker event forwarded", func() bool {
			if err := nc.Publish("hookgate.ops.acme.endpoint.enabled", body); err != nil {
				t.Fatal(err)
			}
			return countOn("hookgate.out.acme."+appID+".endpoint.enabled") == want
		})
	}
	sync()

	disabled := []byte(`{"tenant":"acme","endpointId":"ep_1","reason":"manual","time":"2026-03-23T15:30:00Z"}`)
	for range 2 {
		if err := nc.Publish("hookgate.ops.acme.endpoint.disabled", disabled); err != nil {
			t.Fatal(err)
		}
	}
	// A dispatcher's request is seen but never answered by the forwarder.
	_, err = nc.Request("hookgate.ops.acme.endpoint.disabled", disabled, 500*time.Millisecond)
	if !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, nats.ErrNoResponders) {
		t.Fatalf("request answered (%v): the forwarder must not reply", err)
	}
	for _, ev := range []struct{ subject, body string }{
		{"hookgate.ops.globex.endpoint.disabled", `{"tenant":"globex","endpointId":"ep_2","reason":"manual","time":"2026-03-23T15:30:00Z"}`},
		{"hookgate.ops.nosuch.endpoint.disabled", `{"tenant":"nosuch","endpointId":"ep_2","reason":"manual","time":"2026-03-23T15:30:00Z"}`},
		{"hookgate.ops.acme.message.attempt.exhausted", `{"tenant":"acme","messageId":"ops_x","endpointId":"ep_3","appId":"` + appID + `","eventType":"endpoint.disabled","attempts":8,"time":"2026-03-23T15:30:00Z"}`},
		{"hookgate.ops.acme.endpoint.bored", `{"tenant":"acme"}`},
	} {
		if err := nc.Publish(ev.subject, []byte(ev.body)); err != nil {
			t.Fatal(err)
		}
	}
	sync()

	if n := countOn("hookgate.out.acme." + appID + ".endpoint.disabled"); n != 1 {
		t.Fatalf("%d messages for endpoint.disabled, want 1 (the same event three times)", n)
	}
	if n := countOn("hookgate.out.globex.>"); n != 0 {
		t.Fatalf("%d messages for a tenant without an operational application", n)
	}
	if n := countOn("hookgate.out.acme.>"); n != 3 {
		t.Fatalf("%d messages for acme, want 3 (two markers, one disable; its own exhaustion and unknown events skipped)", n)
	}
	m, err := stream.GetLastMsgForSubject(ctx, "hookgate.out.acme."+appID+".endpoint.disabled")
	if err != nil {
		t.Fatal(err)
	}
	msg, err := outbound.DecodeMessage(m.Subject, m.Data, m.Time)
	if err != nil {
		t.Fatal(err)
	}
	ev, _ := admin.ParseOpsEvent("hookgate.ops.acme.endpoint.disabled", disabled)
	if msg.Id != ev.ID || m.Header.Get(jetstream.MsgIDHeader) != ev.ID || msg.EventType != "endpoint.disabled" || msg.ApplicationId != appID {
		t.Fatalf("message %+v, Nats-Msg-Id %q; want id %s", msg, m.Header.Get(jetstream.MsgIDHeader), ev.ID)
	}
	var om outbound.Message
	if err := json.Unmarshal(m.Data, &om); err != nil || string(om.Payload) != string(disabled) {
		t.Fatalf("payload %s (%v), want the event body %s", om.Payload, err, disabled)
	}

	// Cleared: nothing more is forwarded. globex's own operational
	// application then serves as the marker.
	gapp, err := e.apps(e.platform).CreateApplication(ctx, connect.NewRequest(&hookgatev1.CreateApplicationRequest{Application: &hookgatev1.Application{Tenant: "globex", Name: "Ops"}}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := setOpsApp(ctx, e, "globex", gapp.Msg.Application.Id); err != nil {
		t.Fatal(err)
	}
	if _, err := setOpsApp(ctx, e, "acme", ""); err != nil {
		t.Fatal(err)
	}
	if err := nc.Publish("hookgate.ops.acme.endpoint.disabled", []byte(strings.Replace(string(disabled), "ep_1", "ep_9", 1))); err != nil {
		t.Fatal(err)
	}
	if err := nc.Publish("hookgate.ops.globex.endpoint.enabled", []byte(`{"tenant":"globex","endpointId":"ep_2"}`)); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 10*time.Second, "globex event forwarded", func() bool {
		return countOn("hookgate.out.globex."+gapp.Msg.Application.Id+".endpoint.enabled") == 1
	})
	if n := countOn("hookgate.out.acme.>"); n != 3 {
		t.Fatalf("%d messages for acme after clearing its operational application, want still 3", n)
	}
}
