package ingress_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/dataplane/configsync"
	"github.com/hookgate/hookgate/dataplane/ingress"
	"github.com/hookgate/hookgate/dataplane/streams"
	"github.com/hookgate/hookgate/gen/openapi"
	"github.com/hookgate/hookgate/testkit/natstest"
	"github.com/nats-io/nats.go/jetstream"
)

// newRESTEnv is newMessagesEnv with the edge's REST path in front.
func newRESTEnv(t *testing.T) *messagesEnv {
	t.Helper()
	ns := natstest.Start(t)
	nc := ns.Conn(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := streams.Ensure(context.Background(), js, streams.DefaultConfig().OutboundConfig()); err != nil {
		t.Fatal(err)
	}
	table := configsync.NewTable()
	log := slog.New(slog.DiscardHandler)
	edge, err := ingress.New(ingress.DefaultConfig(), ingress.Deps{Routes: tableRoutes{table}, Conn: nc, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	mcfg := ingress.DefaultMessagesConfig()
	mcfg.MaxRequestBytes = 16 << 10
	mcfg.PublishTimeout = time.Second
	msgs, err := ingress.NewMessages(mcfg, ingress.MessagesDeps{Source: tableSource{table}, Conn: nc, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	h, err := ingress.WithREST(edge.PublicHandler(ingress.WithMessages(msgs)), msgs)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &messagesEnv{js: js, table: table, url: srv.URL, client: srv.Client()}
}

func TestSendMessageREST(t *testing.T) {
	t.Parallel()
	e := newRESTEnv(t)
	e.load(t, 7, catalogResources(t))
	const path = "/v1/tenants/acme/apps/app_acme/messages"
	valid := `{"eventType":"order.created","eventId":"k-1","payload":{"orderId":"ORD-1","amount":1}}`
	tests := []struct {
		name, method, path, token, body string
		status                          int
		code                            string // REST error code; "" for success
		want                            string // in the body
	}{
		{"sent", "POST", path, acmeProducer, valid, 200, "", `"id":"msg_`},
		{"repeat is the same message", "POST", path, acmeProducer, valid, 200, "", `"eventId":"k-1"`},
		{"no token", "POST", path, "", valid, 401, "unauthenticated", "Bearer"},
		{"unknown token", "POST", path, unknownToken, valid, 401, "unauthenticated", "token"},
		{"another tenant", "POST", "/v1/tenants/acme/apps/app_acme/messages", globexProducer, valid, 403, "permission_denied", "tenant"},
		{"schema", "POST", path, acmeProducer, `{"eventType":"order.created","payload":{"orderId":"ORD-1","amount":-1}}`, 400, "invalid_argument", "/amount"},
		{"unknown app", "POST", "/v1/tenants/acme/apps/app_nope/messages", acmeProducer, `{"eventType":"ping","payload":true}`, 404, "not_found", "app_nope"},
		{"archived type is 412", "POST", path, acmeProducer, `{"eventType":"order.legacy","payload":true}`, 412, "failed_precondition", "archived"},
		{"not json", "POST", path, acmeProducer, `{"eventType":`, 400, "invalid_argument", ""},
		{"too large", "POST", path, acmeProducer, `{"eventType":"ping","payload":"` + strings.Repeat("x", 32<<10) + `"}`, 429, "resource_exhausted", ""},
		{"reads are on the admin port", "GET", "/v1/tenants/acme/messages/msg_x", acmeAdmin, "", 404, "not_found", "admin port"},
		{"unknown REST path", "GET", "/v1/nothing", acmeAdmin, "", 404, "not_found", ""},
		{"webhook paths untouched", "GET", "/healthz", "", "", 200, "", "ok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, e.url+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			resp, err := e.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if !strings.Contains(string(body), tt.want) {
				t.Fatalf("body %s lacks %q", body, tt.want)
			}
			if tt.code == "" {
				return
			}
			var re openapi.Error
			if err := json.Unmarshal(body, &re); err != nil || re.Code != tt.code || re.Details == nil {
				t.Fatalf("error body %s (%v), want code %s", body, err, tt.code)
			}
			for _, secret := range []string{acmeProducer, globexProducer, acmeAdmin, unknownToken} {
				if strings.Contains(string(body), secret) {
					t.Fatal("the error holds a token")
				}
			}
		})
	}
	// The two sends with one idempotency key stored one message.
	if n := len(e.stored(t)); n != 1 {
		t.Fatalf("stored %d messages, want 1", n)
	}
}
