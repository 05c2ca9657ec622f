package admin_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/hookgate/hookgate/controlplane/admin"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/testkit/natstest"
	"github.com/hookgate/hookgate/testkit/poll"
)

func TestOpsEndpointDisabled(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	appID := outboundSetup(t, e)
	eps := e.endpoints(e.platform)
	create := func() string {
		t.Helper()
		r, err := eps.CreateEndpoint(ctx, connect.NewRequest(&hookgatev1.CreateEndpointRequest{Endpoint: &hookgatev1.Endpoint{
			Tenant: "acme", ApplicationId: appID, Url: "https://example.com/hooks", EventTypes: []string{"order.created"},
		}}))
		if err != nil {
			t.Fatal(err)
		}
		return r.Msg.Endpoint.Id
	}
	gone, manual, failing := create(), create(), create()
	if _, err := eps.DisableEndpoint(ctx, connect.NewRequest(&hookgatev1.DisableEndpointRequest{Tenant: "acme", EndpointId: manual})); err != nil {
		t.Fatal(err)
	}

	nc := natstest.Start(t).Conn(t)
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- admin.NewOpsConsumer(e.store, e.clock, slog.New(slog.DiscardHandler)).Run(rctx, nc) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})

	event := func(tenant, id, reason string) []byte {
		b, _ := json.Marshal(admin.EndpointDisabledEvent{Tenant: tenant, EndpointID: id, Reason: reason})
		return b
	}
	tests := []struct {
		name      string
		subject   string
		data      []byte
		wantReply string // "" means applied
	}{
		{"gone", "hookgate.ops.acme.endpoint.disabled", event("acme", gone, "gone"), ""},
		{"again is fine", "hookgate.ops.acme.endpoint.disabled", event("acme", gone, "gone"), ""},
		{"manual stays manual", "hookgate.ops.acme.endpoint.disabled", event("acme", manual, "gone"), ""},
		{"auto", "hookgate.ops.acme.endpoint.disabled", event("acme", failing, "auto"), ""},
		{"manual reason refused", "hookgate.ops.acme.endpoint.disabled", event("acme", gone, "manual"), "want gone or auto"},
		{"deleted endpoint", "hookgate.ops.acme.endpoint.disabled", event("acme", "ep_doesnotexist", "gone"), ""},
		{"not JSON", "hookgate.ops.acme.endpoint.disabled", []byte("{"), "not JSON"},
		{"tenant differs from subject", "hookgate.ops.other.endpoint.disabled", event("acme", gone, "gone"), "does not match"},
		{"bad endpoint id", "hookgate.ops.acme.endpoint.disabled", event("acme", "wh_1", "gone"), "bad tenant or endpoint id"},
		{"unknown reason", "hookgate.ops.acme.endpoint.disabled", event("acme", gone, "bored"), "want gone"},
	}
	// The subscription is made asynchronously: wait until it answers.
	poll.Until(t, 10*time.Second, "ops consumer to answer", func() bool {
		_, err := nc.Request("hookgate.ops.acme.endpoint.disabled", []byte("{"), time.Second)
		return err == nil
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := nc.Request(tt.subject, tt.data, 5*time.Second)
			if err != nil {
				t.Fatalf("request: %v", err)
			}
			got := string(resp.Data)
			if tt.wantReply == "" && got != "" || tt.wantReply != "" && !strings.Contains(got, tt.wantReply) {
				t.Fatalf("reply %q, want %q", got, tt.wantReply)
			}
		})
	}
	for id, want := range map[string]hookgatev1.EndpointDisabledReason{
		gone:    hookgatev1.EndpointDisabledReason_ENDPOINT_DISABLED_REASON_GONE,
		manual:  hookgatev1.EndpointDisabledReason_ENDPOINT_DISABLED_REASON_MANUAL,
		failing: hookgatev1.EndpointDisabledReason_ENDPOINT_DISABLED_REASON_FAILING,
	} {
		got, err := eps.GetEndpoint(ctx, connect.NewRequest(&hookgatev1.GetEndpointRequest{Tenant: "acme", EndpointId: id}))
		if err != nil {
			t.Fatal(err)
		}
		if ep := got.Msg.Endpoint; ep.Status != hookgatev1.EndpointStatus_ENDPOINT_STATUS_DISABLED || ep.DisabledReason != want {
			t.Errorf("endpoint %s: status %v reason %v, want disabled %v", id, ep.Status, ep.DisabledReason, want)
		}
	}
}
