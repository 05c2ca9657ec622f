package tail_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/controlplane/tail"
	"github.com/hookgate/hookgate/controlplane/tail/tailtest"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/testkit/natstest"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// env is a real JetStream with the inbound stream as the edge makes it.
type env struct {
	js jetstream.JetStream
	t  *tail.Tailer
}

func newEnv(t *testing.T, cfg tail.Config) *env {
	t.Helper()
	js := natstest.Start(t).JetStream(t)
	tl := tailtest.Start(t, js, cfg)
	return &env{js: js, t: tl}
}

// envelope is an event as the edge publishes it.
type envelope struct {
	id, tenant, webhook, process, trigger string
	correlation                           *string
	payload                               string
	headers                               map[string][]string
	raw                                   []byte
}

func (e envelope) publish(t *testing.T, js jetstream.JetStream) {
	t.Helper()
	headers := e.headers
	if headers == nil {
		headers = map[string][]string{"Content-Type": {"application/json"}}
	}
	hj, _ := json.Marshal(headers)
	corr := "null"
	if e.correlation != nil {
		b, _ := json.Marshal(*e.correlation)
		corr = string(b)
	}
	trigger, suffix := "START_PROCESS", "start"
	if e.trigger == "resume" {
		trigger, suffix = "RESUME_PROCESS", "resume"
	}
	data := `{"id":"` + e.id + `","tenant":"` + e.tenant + `","webhookId":"` + e.webhook + `","provider":"STRIPE","processId":"` + e.process +
		`","threadId":"main","trigger":"` + trigger + `","correlationKey":` + corr + `,"configVersion":7,"webhookMessage":{"dateTime":"2026-03-23T15:30:00.25Z","payload":` +
		e.payload + `,"headers":` + string(hj)
	if e.raw != nil {
		data += `,"rawBody":"` + base64.StdEncoding.EncodeToString(e.raw) + `"`
	}
	data += `}}`
	msg := nats.NewMsg("hookgate.in." + e.tenant + "." + e.process + "." + suffix)
	msg.Data = []byte(data)
	msg.Header.Set("Hookgate-Tenant", e.tenant)
	msg.Header.Set("Hookgate-Webhook-Id", e.webhook)
	msg.Header.Set("Hookgate-Event-Id", e.id)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := js.PublishMsg(ctx, msg); err != nil {
		t.Fatal(err)
	}
}

// running is a tail in a goroutine: its events arrive on events, its end
// on done.
type running struct {
	events chan *hookgatev1.InboundEvent
	done   chan error
	cancel context.CancelFunc
}

// start runs a tail and waits until it listens (or has ended).
func (e *env) start(t *testing.T, f tail.Filter) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{events: make(chan *hookgatev1.InboundEvent, 64), done: make(chan error, 1), cancel: cancel}
	listening := make(chan struct{})
	go func() {
		r.done <- e.t.Tail(ctx, f, func() error { close(listening); return nil }, func(ev *hookgatev1.InboundEvent) error {
			r.events <- ev
			return nil
		})
	}()
	t.Cleanup(cancel)
	select {
	case <-listening:
	case err := <-r.done:
		r.done <- err
	case <-time.After(10 * time.Second):
		t.Fatal("tail not listening after 10 s")
	}
	return r
}

func (r *running) next(t *testing.T) *hookgatev1.InboundEvent {
	t.Helper()
	select {
	case ev := <-r.events:
		return ev
	case err := <-r.done:
		t.Fatalf("tail ended: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10 s")
	}
	return nil
}

func TestTailStreamsNewEventsRedacted(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tail.Config{})
	envelope{id: "evt_before", tenant: "acme", webhook: "wh_a", process: "orders", payload: `{"n":0}`}.publish(t, e.js)
	r := e.start(t, tail.Filter{Tenant: "acme"})

	envelope{id: "evt_other", tenant: "other", webhook: "wh_o", process: "orders", payload: `{"n":1}`}.publish(t, e.js)
	key := "+4915112345678"
	envelope{id: "evt_json", tenant: "acme", webhook: "wh_a", process: "orders", trigger: "resume", correlation: &key,
		payload: `{"orderId": "ORD-1"}`,
		headers: map[string][]string{
			"Content-Type":        {"application/json"},
			"Stripe-Signature":    {"t=1,v1=abc"},
			"Authorization":       {"Basic dXNlcjpwYXNz"},
			"Cookie":              {"session=s3cr3t"},
			"X-Api-Key":           {"sk_live_123"},
			"X-Request-Id":        {"req-1"},
			"X-Forwarded-For":     {"192.0.2.1"},
			"X-Custom-Hmac":       {"deadbeef"},
			"X-Shopify-Topic":     {"orders/create"},
			"X-Slack-Auth-Header": {"xoxb"},
		}}.publish(t, e.js)
	big := strings.Repeat("x", tail.BodyBytes+100)
	envelope{id: "evt_text", tenant: "acme", webhook: "wh_b", process: "chat", payload: `"` + big + `"`,
		headers: map[string][]string{"Content-Type": {"text/plain"}}}.publish(t, e.js)
	envelope{id: "evt_raw", tenant: "acme", webhook: "wh_a", process: "orders", payload: `{"a":1}`, raw: []byte(`{"a": 1}`)}.publish(t, e.js)

	ev := r.next(t)
	if ev.Id != "evt_json" {
		t.Fatalf("first event %s, want evt_json (nothing from before the tail, nothing of another tenant)", ev.Id)
	}
	if ev.Tenant != "acme" || ev.WebhookId != "wh_a" || ev.ProcessId != "orders" || ev.ThreadId != "main" ||
		ev.Trigger != hookgatev1.Trigger_TRIGGER_RESUME_PROCESS || ev.GetCorrelationKey() != key ||
		ev.Provider != hookgatev1.Provider_PROVIDER_STRIPE || ev.ContentType != "application/json" ||
		!ev.ReceiveTime.AsTime().Equal(time.Date(2026, 3, 23, 15, 30, 0, 250e6, time.UTC)) || ev.Sequence == 0 {
		t.Fatalf("event fields: %v", ev)
	}
	if string(ev.Body) != `{"orderId": "ORD-1"}` || ev.BodySize != int64(len(ev.Body)) {
		t.Fatalf("body %q (%d), want the JSON as received", ev.Body, ev.BodySize)
	}
	for name, want := range map[string]string{
		"Stripe-Signature": "REDACTED", "Authorization": "REDACTED", "Cookie": "REDACTED", "X-Api-Key": "REDACTED",
		"X-Custom-Hmac": "REDACTED", "X-Slack-Auth-Header": "REDACTED",
		"X-Request-Id": "req-1", "X-Forwarded-For": "192.0.2.1", "Content-Type": "application/json", "X-Shopify-Topic": "orders/create",
	} {
		vs := ev.Headers[name].GetValues()
		if len(vs) != 1 || vs[0].GetStringValue() != want {
			t.Errorf("header %s: %v, want %q", name, vs, want)
		}
	}
	for _, secret := range []string{"abc", "dXNlcjpwYXNz", "s3cr3t", "sk_live_123", "deadbeef", "xoxb"} {
		for name, lv := range ev.Headers {
			for _, v := range lv.GetValues() {
				if strings.Contains(v.GetStringValue(), secret) {
					t.Errorf("header %s shows %q", name, secret)
				}
			}
		}
	}

	ev = r.next(t)
	if ev.Id != "evt_text" || len(ev.Body) != tail.BodyBytes || ev.BodySize != int64(len(big)) || ev.ContentType != "text/plain" ||
		ev.Trigger != hookgatev1.Trigger_TRIGGER_START_PROCESS || ev.CorrelationKey != nil {
		t.Fatalf("text event: id %s, %d bytes of %d, %q, %v", ev.Id, len(ev.Body), ev.BodySize, ev.ContentType, ev.Trigger)
	}
	ev = r.next(t)
	if ev.Id != "evt_raw" || string(ev.Body) != `{"a": 1}` || ev.BodySize != 8 {
		t.Fatalf("raw event: %s %q %d, want the exact bytes", ev.Id, ev.Body, ev.BodySize)
	}
	r.cancel()
	if err := <-r.done; err != nil {
		t.Fatalf("tail ended with %v when its client left, want nil", err)
	}
	// The tail's consumer went with it.
	s, err := e.js.Stream(context.Background(), tail.Stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Consumers != 0 {
		t.Fatalf("%d consumers left after the tail, want 0", info.State.Consumers)
	}
}

// TestTailFilters: a process filter is the subject, a webhook filter the
// edge's header; events are streamed in stream order, so the first event a
// filtered tail sees proves it skipped the ones published before it.
func TestTailFilters(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tail.Config{})
	tests := []struct {
		name   string
		filter tail.Filter
		want   string
	}{
		{"process", tail.Filter{Tenant: "acme", ProcessID: "orders"}, "evt_orders"},
		{"webhook", tail.Filter{Tenant: "acme", WebhookID: "wh_b"}, "evt_wh_b"},
		{"process and webhook", tail.Filter{Tenant: "acme", ProcessID: "orders", WebhookID: "wh_b"}, "evt_both"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.start(t, tt.filter)
			envelope{id: "evt_chat", tenant: "acme", webhook: "wh_a", process: "chat", payload: `1`}.publish(t, e.js)
			envelope{id: "evt_ordersx", tenant: "acme", webhook: "wh_a", process: "ordersx", payload: `1`}.publish(t, e.js)
			switch tt.want {
			case "evt_orders":
				envelope{id: "evt_orders", tenant: "acme", webhook: "wh_a", process: "orders", payload: `1`}.publish(t, e.js)
			case "evt_wh_b":
				envelope{id: "evt_wh_b", tenant: "acme", webhook: "wh_b", process: "chat", payload: `1`}.publish(t, e.js)
			case "evt_both":
				envelope{id: "evt_a", tenant: "acme", webhook: "wh_a", process: "orders", payload: `1`}.publish(t, e.js)
				envelope{id: "evt_both", tenant: "acme", webhook: "wh_b", process: "orders", payload: `1`}.publish(t, e.js)
			}
			if ev := r.next(t); ev.Id != tt.want {
				t.Fatalf("first event %s (process %s, webhook %s), want %s", ev.Id, ev.ProcessId, ev.WebhookId, tt.want)
			}
			r.cancel()
			<-r.done
		})
	}
}

func TestTailBounds(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tail.Config{MaxPerTenant: 2, MaxTotal: 3})
	a1 := e.start(t, tail.Filter{Tenant: "acme"})
	e.start(t, tail.Filter{Tenant: "acme", ProcessID: "orders"})
	refused := e.start(t, tail.Filter{Tenant: "acme"})
	if err := <-refused.done; !errors.Is(err, tail.ErrTooMany) {
		t.Fatalf("third tail of acme: %v, want ErrTooMany", err)
	}
	e.start(t, tail.Filter{Tenant: "other"})
	if err := <-e.start(t, tail.Filter{Tenant: "third"}).done; !errors.Is(err, tail.ErrTooMany) {
		t.Fatalf("fourth tail of the replica: %v, want ErrTooMany", err)
	}
	// A tail that ends frees its place.
	a1.cancel()
	if err := <-a1.done; err != nil {
		t.Fatal(err)
	}
	if n := e.t.Open("acme"); n != 1 {
		t.Fatalf("%d tails of acme open after one ended, want 1", n)
	}
	again := e.start(t, tail.Filter{Tenant: "acme"})
	envelope{id: "evt_again", tenant: "acme", webhook: "wh_a", process: "orders", payload: `1`}.publish(t, e.js)
	if ev := again.next(t); ev.Id != "evt_again" {
		t.Fatalf("event %s", ev.Id)
	}
}

func TestTailEndsWhenTheReplicaStops(t *testing.T) {
	t.Parallel()
	js := natstest.Start(t).JetStream(t)
	tl, err := tail.New(js, tail.Config{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	runDone := make(chan error, 1)
	go func() { runDone <- tl.Run(ctx) }()
	// Before any edge made the stream.
	err = tl.Tail(context.Background(), tail.Filter{Tenant: "acme"}, func() error { return nil }, func(*hookgatev1.InboundEvent) error { return nil })
	if !errors.Is(err, tail.ErrNoStream) {
		t.Fatalf("tail without the stream: %v, want ErrNoStream", err)
	}
	if _, err := js.CreateStream(context.Background(), jetstream.StreamConfig{Name: tail.Stream, Subjects: []string{"hookgate.in.>"}}); err != nil {
		t.Fatal(err)
	}
	e := &env{js: js, t: tl}
	r := e.start(t, tail.Filter{Tenant: "acme"})
	stop()
	if err := <-r.done; !errors.Is(err, tail.ErrStopping) {
		t.Fatalf("tail when the replica stops: %v, want ErrStopping", err)
	}
	if err := <-runDone; err != nil {
		t.Fatal(err)
	}
	err = tl.Tail(context.Background(), tail.Filter{Tenant: "acme"}, func() error { return nil }, func(*hookgatev1.InboundEvent) error { return nil })
	if !errors.Is(err, tail.ErrStopping) {
		t.Fatalf("tail after stop: %v, want ErrStopping", err)
	}
}
