package admin_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"github.com/hookgate/hookgate/controlplane/admin"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/gen/hookgate/v1/hookgatev1connect"
	"github.com/hookgate/hookgate/testkit/natstest"
	"github.com/nats-io/nats.go"
)

// TestEndpointStatusEvents: enabling and disabling an endpoint publish
// endpoint.enabled and endpoint.disabled (reason manual) once per change
// of status; a call that changes nothing or fails publishes nothing.
func TestEndpointStatusEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	appID := outboundSetup(t, e)
	nc := natstest.Start(t).Conn(t)
	log := slog.New(slog.DiscardHandler)
	mux := admin.NewHandler(admin.Services{
		Endpoints: admin.NewEndpointService(e.store, e.keyring, e.clock, log, admin.WithEndpointOps(nc)),
	}, admin.NewAuthenticator(e.store, log).Wrap, grpchealth.NewStaticChecker())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	eps := hookgatev1connect.NewEndpointServiceClient(&http.Client{}, srv.URL, connect.WithInterceptors(bearer(e.platform)))

	r, err := eps.CreateEndpoint(ctx, connect.NewRequest(&hookgatev1.CreateEndpointRequest{Endpoint: &hookgatev1.Endpoint{
		Tenant: "acme", ApplicationId: appID, Url: "https://example.com/hooks", EventTypes: []string{"order.created"},
	}}))
	if err != nil {
		t.Fatal(err)
	}
	id := r.Msg.Endpoint.Id

	msgs := make(chan *nats.Msg, 64)
	sub, err := nc.ChanSubscribe("hookgate.ops.>", msgs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	// events returns what was published since the last call: the service
	// publishes on nc too, so a marker sent after the call comes after its
	// events.
	events := func(t *testing.T) []*nats.Msg {
		t.Helper()
		if err := nc.Publish("hookgate.ops.acme.marker", nil); err != nil {
			t.Fatal(err)
		}
		var out []*nats.Msg
		timeout := time.After(10 * time.Second)
		for {
			select {
			case m := <-msgs:
				if m.Subject == "hookgate.ops.acme.marker" {
					return out
				}
				out = append(out, m)
			case <-timeout:
				t.Fatal("marker never came back")
			}
		}
	}
	disable := func(id, etag string) error {
		_, err := eps.DisableEndpoint(ctx, connect.NewRequest(&hookgatev1.DisableEndpointRequest{Tenant: "acme", EndpointId: id, Etag: etag}))
		return err
	}
	enable := func(id, etag string) error {
		_, err := eps.EnableEndpoint(ctx, connect.NewRequest(&hookgatev1.EnableEndpointRequest{Tenant: "acme", EndpointId: id, Etag: etag}))
		return err
	}
	tests := []struct {
		name        string
		call        func() error
		wantCode    connect.Code // 0: success
		wantSubject string       // "": no event
		wantReason  string
	}{
		{"disable", func() error { return disable(id, "") }, 0, "hookgate.ops.acme.endpoint.disabled", "manual"},
		{"disable again: no change", func() error { return disable(id, "") }, 0, "", ""},
		{"enable", func() error { return enable(id, "") }, 0, "hookgate.ops.acme.endpoint.enabled", ""},
		{"enable again: no change", func() error { return enable(id, "") }, 0, "", ""},
		{"stale etag", func() error { return disable(id, "1") }, connect.CodeAborted, "", ""},
		{"unknown endpoint", func() error { return disable("ep_doesnotexist", "") }, connect.CodeNotFound, "", ""},
		{"bad id", func() error { return disable("wh_1", "") }, connect.CodeInvalidArgument, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if tt.wantCode == 0 && err != nil {
				t.Fatal(err)
			}
			if tt.wantCode != 0 {
				wantCode(t, err, tt.wantCode)
			}
			got := events(t)
			if tt.wantSubject == "" {
				if len(got) != 0 {
					t.Fatalf("published %d events (first on %s), want none", len(got), got[0].Subject)
				}
				return
			}
			if len(got) != 1 || got[0].Subject != tt.wantSubject {
				t.Fatalf("published %d events, want one on %s", len(got), tt.wantSubject)
			}
			var ev admin.EndpointStatusEvent
			if err := json.Unmarshal(got[0].Data, &ev); err != nil {
				t.Fatalf("event %q: %v", got[0].Data, err)
			}
			if ev.Tenant != "acme" || ev.EndpointID != id || ev.Reason != tt.wantReason || !ev.Time.Equal(e.clock.Now()) {
				t.Fatalf("event %+v, want tenant acme, endpoint %s, reason %q, time %v", ev, id, tt.wantReason, e.clock.Now())
			}
		})
	}
}
