package e2e

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/testkit/poll"
	"github.com/nats-io/nats.go/jetstream"
)

var messageIDLine = regexp.MustCompile(`^msg_[0-9a-v]{20}\n$`)

// TestSendMessageThroughTheEdge: an application and an event type with a
// schema made with the CLI reach the edge; `hookgate messages send` sends
// through the edge's MessageService with the admin token and with a
// producer token, a payload that fails the schema names its JSON pointer,
// a repeated idempotency key stores one message, and HOOKGATE_OUTBOUND
// holds the documented format.
func TestSendMessageThroughTheEdge(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	d := startDev(t, dir)
	env := []string{"HOOKGATE_SERVER=" + d.admin, "HOOKGATE_EDGE=" + d.edge}
	mustRun(t, dir, env, "tenants", "create", "acme")
	mustRun(t, dir, env, "tenants", "create", "globex")
	var app hookgatev1.CreateApplicationResponse
	protoOut(t, dir, env, &app, "apps", "create", "--tenant", "acme", "--name", "Acme Corp")
	appID := app.GetApplication().GetId()
	schema := writeTestFile(t, dir, "schema.json", `{"type":"object","required":["orderId"],"properties":{"orderId":{"type":"string"},"amount":{"type":"number","minimum":0}}}`)
	mustRun(t, dir, env, "event-types", "create", "order.created", "--tenant", "acme", "--schema", schema)

	send := func(extraEnv []string, args ...string) (string, string, error) {
		return run(t, dir, append(append([]string{}, env...), extraEnv...),
			append([]string{"messages", "send", "--tenant", "acme", "--app", appID, "--event-type", "order.created"}, args...)...)
	}
	// The catalog reaches the edge through the config stream: poll until
	// it knows the application and type. The idempotency key makes the
	// retries one message.
	var id string
	poll.Until(t, 30*time.Second, "the edge to accept a message for the new application", func() bool {
		out, errOut, err := send(nil, "--payload", `{"orderId":"ORD-1","amount":12.5}`, "--idempotency-key", "order-1")
		if err != nil {
			if !strings.Contains(errOut, "not_found") {
				t.Fatalf("messages send: %v\n%s", err, errOut)
			}
			return false
		}
		id = out
		return true
	})
	if !messageIDLine.MatchString(id) {
		t.Fatalf("messages send printed %q, want a message id", id)
	}
	id = strings.TrimSpace(id)
	again, errOut, err := send(nil, "--payload", `{"orderId":"ORD-1","amount":99}`, "--idempotency-key", "order-1")
	if err != nil || strings.TrimSpace(again) != id {
		t.Fatalf("repeat with the same key: %q %v %s", again, err, errOut)
	}

	// A producer token of acme sends (payload from a file); one of globex
	// may not.
	producer := func(tenant string) string {
		t.Helper()
		out := mustRun(t, dir, env, "tokens", "create", "--tenant", tenant, "--producer", "--description", "shop backend")
		tok := regexp.MustCompile(`hgp_[A-Za-z0-9_-]{43}`).FindString(out)
		if tok == "" {
			t.Fatalf("tokens create --producer printed no hgp_ token:\n%s", out)
		}
		if list := mustRun(t, dir, env, "tokens", "list", "--tenant", tenant); !strings.Contains(list, "producer") {
			t.Fatalf("tokens list does not show the producer kind:\n%s", list)
		}
		return tok
	}
	acmeProducer, globexProducer := producer("acme"), producer("globex")
	payload := writeTestFile(t, dir, "payload.json", `{"orderId":"ORD-2"}`)
	var byProducer string
	poll.Until(t, 30*time.Second, "the edge to know the new producer token", func() bool {
		out, errOut, err := send([]string{"HOOKGATE_TOKEN=" + acmeProducer}, "--payload", "@"+payload, "--idempotency-key", "order-2")
		if err != nil {
			if !strings.Contains(errOut, "unauthenticated") {
				t.Fatalf("messages send with a producer token: %v\n%s", err, errOut)
			}
			return false
		}
		byProducer = strings.TrimSpace(out)
		return true
	})
	poll.Until(t, 30*time.Second, "the edge to know globex's producer token", func() bool {
		_, errOut, _ := send([]string{"HOOKGATE_TOKEN=" + globexProducer}, "--payload", `{"orderId":"ORD-3"}`)
		return strings.Contains(errOut, "permission_denied")
	})
	// The admin API refuses producer tokens.
	mustFail(t, dir, append(env, "HOOKGATE_TOKEN="+acmeProducer), []string{"permission_denied"}, "apps", "list", "--tenant", "acme")

	for _, tc := range []struct {
		name  string
		args  []string
		wants []string
	}{
		{"payload fails the schema", []string{"--payload", `{"orderId":"ORD-4","amount":-1}`}, []string{"invalid_argument", "/amount"}},
		{"payload not JSON", []string{"--payload", `{"orderId":`}, []string{"flag --payload", "not JSON"}},
		{"no payload", nil, []string{"flag --payload"}},
		{"unknown event type", []string{"--payload", `{}`, "--event-type", "order.nope"}, []string{"not_found", "order.nope"}},
		{"unknown application", []string{"--payload", `{"orderId":"x"}`, "--app", "app_nope"}, []string{"not_found", "app_nope"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mustFail(t, dir, env, tc.wants, append([]string{"messages", "send", "--tenant", "acme", "--app", appID, "--event-type", "order.created"}, tc.args...)...)
		})
	}

	// HOOKGATE_OUTBOUND holds two messages, in the documented format.
	nc := d.natsConn(t)
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, "HOOKGATE_OUTBOUND")
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 2 {
		t.Fatalf("HOOKGATE_OUTBOUND holds %d messages, want 2", info.State.Msgs)
	}
	type outbound struct {
		ID        string          `json:"id"`
		EventType string          `json:"eventType"`
		Payload   json.RawMessage `json:"payload"`
		Timestamp time.Time       `json:"timestamp"`
	}
	for i, want := range []struct{ id, payload string }{{id, `{"amount":12.5,"orderId":"ORD-1"}`}, {byProducer, `{"orderId":"ORD-2"}`}} {
		raw, err := st.GetMsg(ctx, info.State.FirstSeq+uint64(i))
		if err != nil {
			t.Fatal(err)
		}
		var m outbound
		if err := json.Unmarshal(raw.Data, &m); err != nil {
			t.Fatalf("message %d is not JSON: %s", i, raw.Data)
		}
		if raw.Subject != "hookgate.out.acme."+appID+".order.created" || m.ID != want.id || raw.Header.Get("Nats-Msg-Id") != want.id ||
			m.EventType != "order.created" || string(m.Payload) != want.payload || m.Timestamp.IsZero() {
			t.Fatalf("message %d: subject %s data %s", i, raw.Subject, raw.Data)
		}
	}
}
