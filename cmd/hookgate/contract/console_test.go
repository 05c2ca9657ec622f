package contract

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/controlplane/distribute"
	"github.com/hookgate/hookgate/controlplane/tail"
	"github.com/hookgate/hookgate/dataplane/configsync"
	"github.com/hookgate/hookgate/dataplane/envelope"
	"github.com/hookgate/hookgate/dataplane/ingress"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
)

// The event tail reads the envelope the edge writes: every kind of body,
// the routing fields, the headers.
func TestTailReadsTheEdgesEnvelope(t *testing.T) {
	key := "+4915112345678"
	for _, tt := range []struct {
		name, contentType, body string
		raw                     bool
		wantBody                string
	}{
		{"json", "application/json", `{"orderId": "ORD-1", "n": [1, 2]}`, false, `{"orderId": "ORD-1", "n": [1, 2]}`},
		{"text", "text/plain", "line one\nline \"two\"", false, "line one\nline \"two\""},
		{"form", "application/x-www-form-urlencoded", "b=2&a=1&a=x+y", false, `{"a":["1","x y"],"b":["2"]}`},
		{"raw body kept", "application/json", `{"a":  1}`, true, `{"a":  1}`},
		{"empty text", "text/plain", "", false, ""},
		{"large text", "text/plain", strings.Repeat("é", 3000), false, strings.Repeat("é", 3000)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			payload, err := envelope.Payload(tt.contentType, []byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			at := time.Date(2026, 3, 23, 15, 30, 0, 123456789, time.UTC)
			e := &envelope.Envelope{
				ID: "evt_1", Tenant: "acme", WebhookID: "wh_1", Provider: "STRIPE", ProcessID: "chat", ThreadID: "main",
				Trigger: "RESUME_PROCESS", CorrelationKey: &key, ConfigVersion: 9, DateTime: at, Payload: payload,
				Verification: "STRIPE",
				Headers:      http.Header{"Content-Type": {tt.contentType}, "Stripe-Signature": {"t=1,v1=ab"}, "X-Request-Id": {"r1", "r2"}},
			}
			if tt.raw {
				e.RawBody = []byte(tt.body)
			}
			ev, err := tail.Decode(e.AppendJSON(nil))
			if err != nil {
				t.Fatal(err)
			}
			want := []byte(tt.wantBody)
			if int(ev.BodySize) != len(want) || string(ev.Body) != string(want[:min(len(want), tail.BodyBytes)]) {
				t.Fatalf("body %q (%d), want the first %d bytes of %q (%d)", ev.Body, ev.BodySize, tail.BodyBytes, tt.wantBody, len(want))
			}
			if ev.Id != "evt_1" || ev.Tenant != "acme" || ev.WebhookId != "wh_1" || ev.Provider != hookgatev1.Provider_PROVIDER_STRIPE ||
				ev.ProcessId != "chat" || ev.ThreadId != "main" || ev.Trigger != hookgatev1.Trigger_TRIGGER_RESUME_PROCESS ||
				ev.GetCorrelationKey() != key || !ev.ReceiveTime.AsTime().Equal(at) || ev.ContentType != tt.contentType {
				t.Fatalf("event %v", ev)
			}
			if v := ev.Headers["X-Request-Id"].GetValues(); len(v) != 2 || v[1].GetStringValue() != "r2" {
				t.Fatalf("X-Request-Id %v", v)
			}
			if v := ev.Headers["Stripe-Signature"].GetValues(); len(v) != 1 || v[0].GetStringValue() != "REDACTED" {
				t.Fatalf("Stripe-Signature %v", v)
			}
		})
	}
}

// The tail redacts the headers failed triggers redact, whatever the
// webhook.
func TestRedactedHeadersAgree(t *testing.T) {
	for _, name := range []string{
		"Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie", "X-Hub-Signature-256", "Stripe-Signature",
		"X-Slack-Signature", "X-Gitlab-Token", "X-Hookgate-Key", "X-Api-Key", "X-Shopify-Hmac-Sha256", "Webhook-Signature",
		"X-Twilio-Signature", "X-Secret", "X-Auth-Token", "Idempotency-Key",
		"Content-Type", "User-Agent", "X-Request-Id", "X-Forwarded-For", "X-Github-Event", "Webhook-Id", "Webhook-Timestamp", "",
	} {
		if got, want := tail.CredentialHeader(name), ingress.CredentialHeader(name); got != want {
			t.Errorf("header %q: the tail redacts %v, failed triggers %v", name, got, want)
		}
	}
}

// The node reads the stats interval from the header the control plane sets.
func TestStatsHeaderAgrees(t *testing.T) {
	if configsync.StatsIntervalHeader != distribute.StatsIntervalHeader {
		t.Fatalf("node reads %q, control plane sets %q", configsync.StatsIntervalHeader, distribute.StatsIntervalHeader)
	}
}
