package ingress_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/hookgate/hookgate/dataplane/configsync"
	"github.com/hookgate/hookgate/dataplane/ingress"
	"github.com/hookgate/hookgate/dataplane/streams"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/gen/hookgate/v1/hookgatev1connect"
	"github.com/hookgate/hookgate/testkit/natstest"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/structpb"
)

// Tokens of the catalog below; only their digests are in the configuration.
const (
	acmeProducer   = "hgp_acme-producer-0123456789abcdefghijklmnopqrst"
	globexProducer = "hgp_globex-producer-0123456789abcdefghijklmnopqr"
	acmeAdmin      = "hga_acme-admin-0123456789abcdefghijklmnopqrstuvw"
	platformAdmin  = "hga_platform-admin-0123456789abcdefghijklmnopqrs"
	// unknownToken has no digest in the configuration.
	unknownToken = "hgp_unknown-0123456789abcdefghijklmnopqrstuvwxyz"
)

// tableSource serves a configsync.Table to Messages, as the edge wiring does.
type tableSource struct{ t *configsync.Table }

func (s tableSource) Outbound() (ingress.ResourceSet, bool) {
	snap := s.t.Snapshot()
	if snap == nil {
		return nil, false
	}
	return snap, true
}

type messagesEnv struct {
	js     jetstream.JetStream
	table  *configsync.Table
	url    string
	client *http.Client
}

func mustStruct(t testing.TB, v map[string]any) *structpb.Struct {
	t.Helper()
	s, err := structpb.NewStruct(v)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func catalogResources(t testing.TB) []*hookgatev1.ConfigResource {
	t.Helper()
	token := func(id, tenant, secret string, kind hookgatev1.AdminTokenKind) *hookgatev1.ConfigResource {
		scope := tenant
		if scope == "" {
			scope = "_platform"
		}
		return &hookgatev1.ConfigResource{Key: "token/" + scope + "/" + id, Resource: &hookgatev1.ConfigResource_Token{Token: &hookgatev1.EdgeToken{
			Id: id, Tenant: tenant, Kind: kind, Sha256: digest(secret)}}}
	}
	app := func(tenant, id string) *hookgatev1.ConfigResource {
		return &hookgatev1.ConfigResource{Key: "application/" + tenant + "/" + id, Resource: &hookgatev1.ConfigResource_Application{Application: &hookgatev1.OutboundApplication{Tenant: tenant, Id: id}}}
	}
	et := func(tenant, name string, schema *structpb.Struct, archived bool) *hookgatev1.ConfigResource {
		return &hookgatev1.ConfigResource{Key: "event-type/" + tenant + "/" + name, Resource: &hookgatev1.ConfigResource_EventType{EventType: &hookgatev1.EdgeEventType{
			Tenant: tenant, Name: name, Schema: schema, Archived: archived}}}
	}
	orderSchema := mustStruct(t, map[string]any{
		"type":     "object",
		"required": []any{"orderId", "amount"},
		"properties": map[string]any{
			"orderId": map[string]any{"type": "string"},
			"amount":  map[string]any{"type": "number", "minimum": 0},
			"items":   map[string]any{"type": "array", "items": map[string]any{"type": "object", "required": []any{"sku"}}},
		},
	})
	return []*hookgatev1.ConfigResource{
		token("tok_p", "acme", acmeProducer, hookgatev1.AdminTokenKind_ADMIN_TOKEN_KIND_PRODUCER),
		token("tok_g", "globex", globexProducer, hookgatev1.AdminTokenKind_ADMIN_TOKEN_KIND_PRODUCER),
		token("tok_a", "acme", acmeAdmin, hookgatev1.AdminTokenKind_ADMIN_TOKEN_KIND_ADMIN),
		token("tok_x", "", platformAdmin, hookgatev1.AdminTokenKind_ADMIN_TOKEN_KIND_ADMIN),
		app("acme", "app_acme"),
		app("globex", "app_globex"),
		et("acme", "order.created", orderSchema, false),
		et("acme", "order.legacy", nil, true),
		et("acme", "ping", nil, false),
	}
}

func newMessagesEnv(t testing.TB, withStream bool) *messagesEnv {
	t.Helper()
	ns := natstest.Start(t)
	nc := ns.Conn(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	cfg := streams.DefaultConfig()
	if withStream {
		if _, err := streams.Ensure(context.Background(), js, cfg.OutboundConfig()); err != nil {
			t.Fatal(err)
		}
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
	msgs, err := ingress.NewMessages(mcfg, ingress.MessagesDeps{
		Source: tableSource{table}, Conn: nc, Log: log,
		Now: func() time.Time { return time.Date(2026, 3, 23, 15, 30, 0, 0, time.UTC) },
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(edge.PublicHandler(ingress.WithMessages(msgs)))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return &messagesEnv{js: js, table: table, url: srv.URL, client: srv.Client()}
}

// tableRoutes serves webhooks from the table, as the edge wiring does.
type tableRoutes struct{ t *configsync.Table }

func (r tableRoutes) Webhook(tenant, id string) (*configsync.Webhook, int64, bool) {
	s := r.t.Snapshot()
	if s == nil {
		return nil, 0, false
	}
	w, _ := s.Lookup(tenant, id)
	return w, s.Revision, true
}

func (e *messagesEnv) load(t testing.TB, rev int64, rs []*hookgatev1.ConfigResource) {
	t.Helper()
	if _, err := e.table.Apply(&hookgatev1.StreamConfigResponse{Revision: rev, Snapshot: true, Upserts: rs}); err != nil {
		t.Fatal(err)
	}
}

func (e *messagesEnv) send(t testing.TB, token string, msg *hookgatev1.Message, opts ...connect.ClientOption) (*hookgatev1.Message, error) {
	t.Helper()
	client := hookgatev1connect.NewMessageServiceClient(e.client, e.url, opts...)
	req := connect.NewRequest(&hookgatev1.SendMessageRequest{Message: msg})
	if token != "" {
		req.Header().Set("Authorization", "Bearer "+token)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := client.SendMessage(ctx, req)
	if err != nil {
		return nil, err
	}
	return resp.Msg.GetMessage(), nil
}

// stored reads every message of HOOKGATE_OUTBOUND.
func (e *messagesEnv) stored(t testing.TB) []rawMsg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := e.js.Stream(ctx, streams.Outbound)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []rawMsg
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		raw, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rawMsg{raw})
	}
	return out
}

// rawMsg adapts a stored message to the fields the tests read.
type rawMsg struct{ *jetstream.RawStreamMsg }

func (m rawMsg) Subject() string { return m.RawStreamMsg.Subject }
func (m rawMsg) Data() []byte    { return m.RawStreamMsg.Data }
func (m rawMsg) Headers() map[string][]string {
	return m.Header
}

func payloadOf(t testing.TB, v map[string]any) *structpb.Value {
	t.Helper()
	s := mustStruct(t, v)
	return structpb.NewStructValue(s)
}

var msgID = regexp.MustCompile(`^msg_[0-9a-v]{20}$`)

func TestSendMessagePublishesTheOutboundFormat(t *testing.T) {
	t.Parallel()
	e := newMessagesEnv(t, true)
	e.load(t, 7, catalogResources(t))
	tests := []struct {
		name  string
		token string
		opts  []connect.ClientOption
	}{
		{"producer token, Connect JSON", acmeProducer, []connect.ClientOption{connect.WithProtoJSON()}},
		{"tenant admin token, gRPC", acmeAdmin, []connect.ClientOption{connect.WithGRPC()}},
		{"platform admin token, gRPC-Web", platformAdmin, []connect.ClientOption{connect.WithGRPCWeb()}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.send(t, tt.token, &hookgatev1.Message{
				Tenant: "acme", ApplicationId: "app_acme", EventType: "order.created",
				Payload: payloadOf(t, map[string]any{"orderId": "ORD-1", "amount": 12.5, "n": i}),
			}, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if !msgID.MatchString(got.GetId()) || got.GetTenant() != "acme" || got.GetApplicationId() != "app_acme" || got.GetCreateTime() == nil {
				t.Fatalf("answer %v", got)
			}
			all := e.stored(t)
			if len(all) != i+1 {
				t.Fatalf("stream holds %d messages, want %d", len(all), i+1)
			}
			m := all[i]
			if m.Subject() != "hookgate.out.acme.app_acme.order.created" {
				t.Fatalf("subject %s", m.Subject())
			}
			if h := m.Headers(); h["Nats-Msg-Id"][0] != got.GetId() || h["Hookgate-Tenant"][0] != "acme" {
				t.Fatalf("headers %v", h)
			}
			want := `{"id":"` + got.GetId() + `","eventType":"order.created","payload":{"amount":12.5,"n":` + string(rune('0'+i)) + `,"orderId":"ORD-1"},"timestamp":"2026-03-23T15:30:00Z"}`
			if string(m.Data()) != want {
				t.Fatalf("data\n%s\nwant\n%s", m.Data(), want)
			}
		})
	}
}

func TestSendMessageRefusals(t *testing.T) {
	t.Parallel()
	e := newMessagesEnv(t, true)
	e.load(t, 7, catalogResources(t))
	order := func(p map[string]any) *hookgatev1.Message {
		return &hookgatev1.Message{Tenant: "acme", ApplicationId: "app_acme", EventType: "order.created", Payload: payloadOf(t, p)}
	}
	valid := map[string]any{"orderId": "ORD-1", "amount": 1}
	tests := []struct {
		name  string
		token string
		msg   *hookgatev1.Message
		code  connect.Code
		want  string // in the message
	}{
		{"no token", "", order(valid), connect.CodeUnauthenticated, "Bearer"},
		{"unknown token", unknownToken, order(valid), connect.CodeUnauthenticated, "token"},
		{"not a hookgate token", "hgk_an-inbound-key", order(valid), connect.CodeUnauthenticated, "token"},
		{"producer of another tenant", globexProducer, order(valid), connect.CodePermissionDenied, "tenant"},
		{"admin token of another tenant", acmeAdmin, &hookgatev1.Message{Tenant: "globex", ApplicationId: "app_globex", EventType: "ping", Payload: structpb.NewBoolValue(true)}, connect.CodePermissionDenied, "tenant"},
		{"payload fails the schema", acmeProducer, order(map[string]any{"orderId": "ORD-1", "amount": -3}), connect.CodeInvalidArgument, "/amount"},
		{"nested pointer", acmeProducer, order(map[string]any{"orderId": "ORD-1", "amount": 1, "items": []any{map[string]any{"sku": "a"}, map[string]any{}}}), connect.CodeInvalidArgument, "/items/1"},
		{"wrong type", acmeProducer, order(map[string]any{"orderId": 5, "amount": 1}), connect.CodeInvalidArgument, "/orderId"},
		{"missing required", acmeProducer, order(map[string]any{"amount": 1}), connect.CodeInvalidArgument, "message.payload"},
		{"unknown application", acmeProducer, &hookgatev1.Message{Tenant: "acme", ApplicationId: "app_nope", EventType: "ping", Payload: structpb.NewBoolValue(true)}, connect.CodeNotFound, "app_nope"},
		{"application of another tenant", acmeProducer, &hookgatev1.Message{Tenant: "acme", ApplicationId: "app_globex", EventType: "ping", Payload: structpb.NewBoolValue(true)}, connect.CodeNotFound, "app_globex"},
		{"unknown event type", acmeProducer, &hookgatev1.Message{Tenant: "acme", ApplicationId: "app_acme", EventType: "order.nope", Payload: structpb.NewBoolValue(true)}, connect.CodeNotFound, "order.nope"},
		{"archived event type", acmeProducer, &hookgatev1.Message{Tenant: "acme", ApplicationId: "app_acme", EventType: "order.legacy", Payload: structpb.NewBoolValue(true)}, connect.CodeFailedPrecondition, "archived"},
		{"no payload", acmeProducer, &hookgatev1.Message{Tenant: "acme", ApplicationId: "app_acme", EventType: "ping"}, connect.CodeInvalidArgument, "message.payload"},
		{"null payload", acmeProducer, &hookgatev1.Message{Tenant: "acme", ApplicationId: "app_acme", EventType: "ping", Payload: structpb.NewNullValue()}, connect.CodeInvalidArgument, "message.payload"},
		{"no tenant", acmeProducer, &hookgatev1.Message{ApplicationId: "app_acme", EventType: "ping", Payload: structpb.NewBoolValue(true)}, connect.CodeInvalidArgument, "message.tenant"},
		{"no application", acmeProducer, &hookgatev1.Message{Tenant: "acme", EventType: "ping", Payload: structpb.NewBoolValue(true)}, connect.CodeInvalidArgument, "message.application_id"},
		{"no event type", acmeProducer, &hookgatev1.Message{Tenant: "acme", ApplicationId: "app_acme", Payload: structpb.NewBoolValue(true)}, connect.CodeInvalidArgument, "message.event_type"},
		{"idempotency key too long", acmeProducer, &hookgatev1.Message{Tenant: "acme", ApplicationId: "app_acme", EventType: "ping", EventId: strings.Repeat("k", 257), Payload: structpb.NewBoolValue(true)}, connect.CodeInvalidArgument, "message.event_id"},
		{"request over the limit", acmeProducer, &hookgatev1.Message{Tenant: "acme", ApplicationId: "app_acme", EventType: "ping", Payload: structpb.NewStringValue(strings.Repeat("x", 32<<10))}, connect.CodeResourceExhausted, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.send(t, tt.token, tt.msg)
			var ce *connect.Error
			if !errors.As(err, &ce) || ce.Code() != tt.code {
				t.Fatalf("error %v, want code %s", err, tt.code)
			}
			if !strings.Contains(ce.Message(), tt.want) {
				t.Fatalf("message %q does not name %q", ce.Message(), tt.want)
			}
			for _, secret := range []string{acmeProducer, globexProducer, acmeAdmin, unknownToken} {
				if strings.Contains(ce.Message(), secret) {
					t.Fatal("the error holds a token")
				}
			}
		})
	}
	// A refused message publishes nothing.
	if n := len(e.stored(t)); n != 0 {
		t.Fatalf("refusals stored %d messages", n)
	}
	// Not vacuous: the same producer sends a valid one.
	if _, err := e.send(t, acmeProducer, order(valid)); err != nil {
		t.Fatal(err)
	}
}

func TestSendMessageIdempotencyKey(t *testing.T) {
	t.Parallel()
	e := newMessagesEnv(t, true)
	e.load(t, 7, catalogResources(t))
	send := func(app, key string, n int) *hookgatev1.Message {
		t.Helper()
		got, err := e.send(t, acmeProducer, &hookgatev1.Message{Tenant: "acme", ApplicationId: app, EventType: "ping", EventId: key,
			Payload: payloadOf(t, map[string]any{"n": n})})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	first := send("app_acme", "order-1", 1)
	again := send("app_acme", "order-1", 2)
	if first.Id != again.Id || !msgID.MatchString(first.Id) || first.EventId != "order-1" {
		t.Fatalf("ids %s, %s", first.Id, again.Id)
	}
	// The repeat answers with the first message, not the second payload.
	if again.Payload.GetStructValue().Fields["n"].GetNumberValue() != 1 {
		t.Fatalf("repeat answered payload %v", again.Payload)
	}
	other := send("app_acme", "order-2", 3)
	noKey1, noKey2 := send("app_acme", "", 4), send("app_acme", "", 4)
	if other.Id == first.Id || noKey1.Id == noKey2.Id {
		t.Fatalf("distinct messages share ids: %s %s %s %s", first.Id, other.Id, noKey1.Id, noKey2.Id)
	}
	all := e.stored(t)
	if len(all) != 4 {
		t.Fatalf("stream holds %d messages, want 4 (the repeat stored nothing)", len(all))
	}
	var om struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(all[0].Data(), &om); err != nil || om.ID != first.Id {
		t.Fatalf("first stored message %s: %v", all[0].Data(), err)
	}
}

func TestSendMessageUnavailable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		withStream bool
		loaded     bool
	}{
		{"no configuration yet", true, false},
		{"no stream acknowledges", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newMessagesEnv(t, tt.withStream)
			if tt.loaded {
				e.load(t, 7, catalogResources(t))
			}
			_, err := e.send(t, acmeProducer, &hookgatev1.Message{Tenant: "acme", ApplicationId: "app_acme", EventType: "ping", Payload: structpb.NewBoolValue(true)})
			if connect.CodeOf(err) != connect.CodeUnavailable {
				t.Fatalf("error %v, want unavailable", err)
			}
		})
	}
}

// TestSendMessageFollowsTheConfiguration: a new revision (a revoked token,
// an archived type, a new schema) takes effect on the next call.
func TestSendMessageFollowsTheConfiguration(t *testing.T) {
	t.Parallel()
	e := newMessagesEnv(t, true)
	rs := catalogResources(t)
	e.load(t, 7, rs)
	msg := &hookgatev1.Message{Tenant: "acme", ApplicationId: "app_acme", EventType: "ping", Payload: structpb.NewBoolValue(true)}
	if _, err := e.send(t, acmeProducer, msg); err != nil {
		t.Fatal(err)
	}
	var next []*hookgatev1.ConfigResource
	for _, r := range rs {
		switch {
		case r.GetKey() == "token/acme/tok_p":
			continue // revoked
		case r.GetKey() == "event-type/acme/ping":
			r = &hookgatev1.ConfigResource{Key: r.Key, Resource: &hookgatev1.ConfigResource_EventType{EventType: &hookgatev1.EdgeEventType{
				Tenant: "acme", Name: "ping", Schema: mustStruct(t, map[string]any{"type": "string"})}}}
		}
		next = append(next, r)
	}
	e.load(t, 8, next)
	if _, err := e.send(t, acmeProducer, msg); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Fatalf("revoked token: %v", err)
	}
	if _, err := e.send(t, acmeAdmin, msg); connect.CodeOf(err) != connect.CodeInvalidArgument {
		t.Fatalf("new schema: %v", err)
	}
	if _, err := e.send(t, acmeAdmin, &hookgatev1.Message{Tenant: "acme", ApplicationId: "app_acme", EventType: "ping", Payload: structpb.NewStringValue("pong")}); err != nil {
		t.Fatalf("new schema, valid payload: %v", err)
	}
}
