package admin_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/hookgate/hookgate/controlplane/admin"
	"github.com/hookgate/hookgate/controlplane/tail"
	"github.com/hookgate/hookgate/controlplane/tail/tailtest"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/gen/hookgate/v1/hookgatev1connect"
	"github.com/hookgate/hookgate/testkit/natstest"
	"github.com/hookgate/hookgate/testkit/poll"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// tailEnv is the admin API with TailEvents served from a real JetStream.
type tailEnv struct {
	*env
	js jetstream.JetStream
}

func newTailEnv(t *testing.T, cfg tail.Config) *tailEnv {
	t.Helper()
	js := natstest.Start(t).JetStream(t)
	tl := tailtest.Start(t, js, cfg)
	return &tailEnv{env: newEnvWith(t, admin.WithTail(tl)), js: js}
}

// publish puts an envelope on the stream as the edge does.
func (e *tailEnv) publish(t *testing.T, id, tenant, webhookID, process string, headers string) {
	t.Helper()
	msg := nats.NewMsg("hookgate.in." + tenant + "." + process + ".start")
	msg.Data = []byte(`{"id":"` + id + `","tenant":"` + tenant + `","webhookId":"` + webhookID + `","provider":"SLACK","processId":"` + process +
		`","threadId":"main","trigger":"START_PROCESS","correlationKey":null,"configVersion":1,"webhookMessage":{"dateTime":"2026-03-23T15:30:00Z","payload":{"n":1},"headers":` + headers + `}}`)
	msg.Header.Set("Hookgate-Webhook-Id", webhookID)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := e.js.PublishMsg(ctx, msg); err != nil {
		t.Fatal(err)
	}
}

// openTail starts a tail and returns it once the first (listening)
// response arrived, or the error that ended it.
func openTail(t *testing.T, client hookgatev1connect.InboundWebhookServiceClient, req *hookgatev1.TailEventsRequest) (*connect.ServerStreamForClient[hookgatev1.TailEventsResponse], context.CancelFunc, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	stream, err := client.TailEvents(ctx, connect.NewRequest(req))
	if err != nil {
		cancel()
		return nil, nil, err
	}
	if !stream.Receive() {
		cancel()
		return nil, nil, stream.Err()
	}
	if stream.Msg().Event != nil {
		t.Fatalf("first response carries an event: %v", stream.Msg())
	}
	return stream, cancel, nil
}

func nextEvent(t *testing.T, stream *connect.ServerStreamForClient[hookgatev1.TailEventsResponse]) *hookgatev1.InboundEvent {
	t.Helper()
	if !stream.Receive() {
		t.Fatalf("tail ended: %v", stream.Err())
	}
	return stream.Msg().Event
}

func TestTailEvents(t *testing.T) {
	t.Parallel()
	e := newTailEnv(t, tail.Config{MaxPerTenant: 2})
	ctx := context.Background()
	createTenant(t, e.env, "acme")
	createTenant(t, e.env, "other")
	wh, err := e.webhooks(e.platform).CreateWebhook(ctx, connect.NewRequest(&hookgatev1.CreateWebhookRequest{Webhook: slackWebhook("acme", "Slack events")}))
	if err != nil {
		t.Fatal(err)
	}
	otherWh, err := e.webhooks(e.platform).CreateWebhook(ctx, connect.NewRequest(&hookgatev1.CreateWebhookRequest{Webhook: slackWebhook("other", "Slack events")}))
	if err != nil {
		t.Fatal(err)
	}
	acmeTok, err := e.tenants(e.platform).CreateAdminToken(ctx, connect.NewRequest(&hookgatev1.CreateAdminTokenRequest{Tenant: "acme"}))
	if err != nil {
		t.Fatal(err)
	}
	otherTok, err := e.tenants(e.platform).CreateAdminToken(ctx, connect.NewRequest(&hookgatev1.CreateAdminTokenRequest{Tenant: "other"}))
	if err != nil {
		t.Fatal(err)
	}
	id := wh.Msg.Webhook.Id

	// Connect over HTTP/1.1 (what a browser's fetch speaks to a cleartext
	// port) and gRPC over HTTP/2.
	srv := httptest.NewUnstartedServer(e.mux)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	h1 := &http.Client{Transport: &http.Transport{TLSClientConfig: srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()}}
	clients := map[string]hookgatev1connect.InboundWebhookServiceClient{
		"connect over HTTP/1.1": hookgatev1connect.NewInboundWebhookServiceClient(h1, srv.URL, connect.WithInterceptors(bearer(acmeTok.Msg.Token))),
		"gRPC":                  hookgatev1connect.NewInboundWebhookServiceClient(srv.Client(), srv.URL, connect.WithGRPC(), connect.WithInterceptors(bearer(acmeTok.Msg.Token))),
	}
	for name, client := range clients {
		t.Run(name, func(t *testing.T) {
			stream, cancel, err := openTail(t, client, &hookgatev1.TailEventsRequest{Tenant: "acme", ProcessId: "orders", WebhookId: id})
			if err != nil {
				t.Fatal(err)
			}
			e.publish(t, "evt_chat", "acme", id, "chat", `{}`)
			e.publish(t, "evt_other", "other", otherWh.Msg.Webhook.Id, "orders", `{}`)
			e.publish(t, "evt_orders", "acme", id, "orders", `{"Content-Type":["application/json"],"X-Slack-Signature":["v0=abc"],"Authorization":["Bearer xoxb-1"]}`)
			ev := nextEvent(t, stream)
			if ev.Id != "evt_orders" || ev.ProcessId != "orders" || ev.WebhookId != id || ev.ContentType != "application/json" || string(ev.Body) != `{"n":1}` {
				t.Fatalf("event %v", ev)
			}
			for _, h := range []string{"X-Slack-Signature", "Authorization"} {
				if v := ev.Headers[h].GetValues(); len(v) != 1 || v[0].GetStringValue() != "REDACTED" {
					t.Fatalf("header %s: %v", h, v)
				}
			}
			cancel()
		})
	}

	tests := []struct {
		name  string
		token string
		req   *hookgatev1.TailEventsRequest
		code  connect.Code
	}{
		{"another tenant's token", otherTok.Msg.Token, &hookgatev1.TailEventsRequest{Tenant: "acme"}, connect.CodePermissionDenied},
		{"another tenant's token naming its own webhook", otherTok.Msg.Token, &hookgatev1.TailEventsRequest{Tenant: "acme", WebhookId: otherWh.Msg.Webhook.Id}, connect.CodePermissionDenied},
		{"another tenant's webhook", e.platform, &hookgatev1.TailEventsRequest{Tenant: "acme", WebhookId: otherWh.Msg.Webhook.Id}, connect.CodeNotFound},
		{"no such webhook", acmeTok.Msg.Token, &hookgatev1.TailEventsRequest{Tenant: "acme", WebhookId: "wh_nope"}, connect.CodeNotFound},
		{"no tenant", e.platform, &hookgatev1.TailEventsRequest{}, connect.CodeInvalidArgument},
		{"process with a wildcard", acmeTok.Msg.Token, &hookgatev1.TailEventsRequest{Tenant: "acme", ProcessId: "orders.>"}, connect.CodeInvalidArgument},
		{"bad webhook id", acmeTok.Msg.Token, &hookgatev1.TailEventsRequest{Tenant: "acme", WebhookId: "x"}, connect.CodeInvalidArgument},
		{"no token", "", &hookgatev1.TailEventsRequest{Tenant: "acme"}, connect.CodeUnauthenticated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := openTail(t, hookgatev1connect.NewInboundWebhookServiceClient(srv.Client(), srv.URL, connect.WithInterceptors(bearer(tt.token))), tt.req)
			wantCode(t, err, tt.code)
		})
	}

	// At most two tails of acme at once; another tenant is not affected,
	// and a tail that ends frees its place.
	client := clients["gRPC"]
	_, first, err := openTail(t, client, &hookgatev1.TailEventsRequest{Tenant: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := openTail(t, client, &hookgatev1.TailEventsRequest{Tenant: "acme"}); err != nil {
		t.Fatal(err)
	}
	_, _, err = openTail(t, client, &hookgatev1.TailEventsRequest{Tenant: "acme"})
	wantCode(t, err, connect.CodeResourceExhausted)
	if !strings.Contains(err.Error(), "2") {
		t.Fatalf("refusal does not say the limit: %v", err)
	}
	otherClient := hookgatev1connect.NewInboundWebhookServiceClient(srv.Client(), srv.URL, connect.WithGRPC(), connect.WithInterceptors(bearer(otherTok.Msg.Token)))
	if _, _, err := openTail(t, otherClient, &hookgatev1.TailEventsRequest{Tenant: "other"}); err != nil {
		t.Fatalf("other tenant's tail: %v", err)
	}
	first()
	// The server notices the client left when its stream ends; until then
	// the place is taken.
	poll.Until(t, 10*time.Second, "a tail of acme to be admitted after one ended", func() bool {
		_, _, err := openTail(t, client, &hookgatev1.TailEventsRequest{Tenant: "acme"})
		if err != nil && connect.CodeOf(err) != connect.CodeResourceExhausted {
			t.Fatalf("tail after one ended: %v", err)
		}
		return err == nil
	})
}
