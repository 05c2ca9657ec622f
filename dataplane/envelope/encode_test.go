package envelope_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hookgate/hookgate/dataplane/envelope"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

func ptr(s string) *string { return &s }

var received = time.Date(2026, 3, 23, 15, 30, 0, 0, time.UTC)

var appendJSONTests = []struct {
	name string
	env  envelope.Envelope
	want string
}{
	{
		name: "start",
		env: envelope.Envelope{
			ID: "evt_0123456789abcdefghij", Tenant: "acme", WebhookID: "wh_0123456789abcdefghij",
			Provider: "STRIPE", ProcessID: "proc-orders-main", ThreadID: "main", Trigger: "START_PROCESS",
			ConfigVersion: 42, DateTime: received, Payload: []byte(`{"orderId": "ORD-12345"}`),
			Headers: http.Header{
				"X-Request-Id":    {"r1"},
				"Content-Type":    {"application/json"},
				"X-Forwarded-For": {"203.0.113.7", "10.0.0.1"},
			},
		},
		want: `{"id":"evt_0123456789abcdefghij","tenant":"acme","webhookId":"wh_0123456789abcdefghij",` +
			`"provider":"STRIPE","processId":"proc-orders-main","threadId":"main","trigger":"START_PROCESS",` +
			`"correlationKey":null,"configVersion":42,"webhookMessage":{"dateTime":"2026-03-23T15:30:00Z",` +
			`"payload":{"orderId": "ORD-12345"},"headers":{"Content-Type":["application/json"],` +
			`"X-Forwarded-For":["203.0.113.7","10.0.0.1"],"X-Request-Id":["r1"]}}}`,
	},
	{
		name: "resume with raw body",
		env: envelope.Envelope{
			ID: "evt_1", Tenant: "acme", WebhookID: "wh_1", Provider: "META", ProcessID: "p", ThreadID: "t",
			Trigger: "RESUME_PROCESS", CorrelationKey: ptr("wamid.1"), ConfigVersion: -1,
			DateTime: time.Date(2026, 3, 23, 16, 30, 0, 123456700, time.FixedZone("CET", 3600)),
			Payload:  []byte(`"a=1"`), Headers: http.Header{"Content-Type": {"text/plain"}}, RawBody: []byte("a=1\xff"),
		},
		want: `{"id":"evt_1","tenant":"acme","webhookId":"wh_1","provider":"META","processId":"p","threadId":"t",` +
			`"trigger":"RESUME_PROCESS","correlationKey":"wamid.1","configVersion":-1,"webhookMessage":` +
			`{"dateTime":"2026-03-23T15:30:00.1234567Z","payload":"a=1","headers":{"Content-Type":["text/plain"]},` +
			`"rawBody":"YT0x/w=="}}`,
	},
	{
		name: "zero",
		want: `{"id":"","tenant":"","webhookId":"","provider":"","processId":"","threadId":"","trigger":"",` +
			`"correlationKey":null,"configVersion":0,"webhookMessage":{"dateTime":"0001-01-01T00:00:00Z",` +
			`"payload":null,"headers":{}}}`,
	},
	{
		name: "empty raw body and header without values",
		env:  envelope.Envelope{RawBody: []byte{}, CorrelationKey: ptr(""), Headers: http.Header{"X-Empty": nil, "X-Blank": {""}}},
		want: `{"id":"","tenant":"","webhookId":"","provider":"","processId":"","threadId":"","trigger":"",` +
			`"correlationKey":"","configVersion":0,"webhookMessage":{"dateTime":"0001-01-01T00:00:00Z",` +
			`"payload":null,"headers":{"X-Blank":[""],"X-Empty":[]},"rawBody":""}}`,
	},
	{
		name: "hostile strings",
		env: envelope.Envelope{
			ID: "\"}", Tenant: "a\\b", WebhookID: "\x00\x1f\x7f", Provider: "\n\r\t\b\f", ProcessID: "<>&",
			ThreadID: "\xff\xc3", Trigger: "\u2028\u2029", CorrelationKey: ptr("é😀\xed\xa0\x80"),
			Headers: http.Header{"X-\"Quote": {"v\"\\\n"}, "": {"\xff"}},
		},
		want: `{"id":"\"}","tenant":"a\\b","webhookId":"\u0000\u001f` + "\x7f" + `","provider":"\n\r\t\b\f",` +
			`"processId":"<>&","threadId":"\ufffd\ufffd","trigger":"\u2028\u2029","correlationKey":"é😀\ufffd\ufffd\ufffd",` +
			`"configVersion":0,"webhookMessage":{"dateTime":"0001-01-01T00:00:00Z","payload":null,` +
			`"headers":{"":["\ufffd"],"X-\"Quote":["v\"\\\n"]}}}`,
	},
}

func TestAppendJSON(t *testing.T) {
	t.Parallel()
	for _, tt := range appendJSONTests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := tt.env.AppendJSON([]byte("prefix:"))
			if string(got) != "prefix:"+tt.want {
				t.Fatalf("AppendJSON =\n%s\nwant\n%s", got, tt.want)
			}
			if !json.Valid(got[len("prefix:"):]) {
				t.Fatal("output is not valid JSON")
			}
			// The output is what encoding/json writes for the same values.
			if want := encodingJSON(t, &tt.env); string(got[len("prefix:"):]) != want {
				t.Fatalf("AppendJSON =\n%s\nencoding/json writes\n%s", got, want)
			}
		})
	}
}

// encodingJSON encodes e with encoding/json: the oracle of AppendJSON. It
// copies header values into non-nil slices (encoding/json writes null for a
// nil slice, AppendJSON []) and puts back the payload that encoding/json
// compacts.
func encodingJSON(t *testing.T, e *envelope.Envelope) string {
	t.Helper()
	type message struct {
		DateTime time.Time           `json:"dateTime"`
		Payload  json.RawMessage     `json:"payload"`
		Headers  map[string][]string `json:"headers"`
		RawBody  *[]byte             `json:"rawBody,omitempty"`
	}
	type env struct {
		ID             string  `json:"id"`
		Tenant         string  `json:"tenant"`
		WebhookID      string  `json:"webhookId"`
		Provider       string  `json:"provider"`
		ProcessID      string  `json:"processId"`
		ThreadID       string  `json:"threadId"`
		Trigger        string  `json:"trigger"`
		CorrelationKey *string `json:"correlationKey"`
		ConfigVersion  int64   `json:"configVersion"`
		WebhookMessage message `json:"webhookMessage"`
	}
	v := env{e.ID, e.Tenant, e.WebhookID, e.Provider, e.ProcessID, e.ThreadID, e.Trigger, e.CorrelationKey, e.ConfigVersion,
		message{DateTime: e.DateTime.UTC(), Payload: e.Payload, Headers: map[string][]string{}}}
	if len(e.Payload) == 0 {
		v.WebhookMessage.Payload = json.RawMessage("null")
	}
	if e.RawBody != nil {
		v.WebhookMessage.RawBody = &e.RawBody
	}
	for name, values := range e.Headers {
		v.WebhookMessage.Headers[name] = append([]string{}, values...)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	out := strings.TrimSuffix(b.String(), "\n")
	// encoding/json compacts a RawMessage; AppendJSON embeds it verbatim.
	if len(e.Payload) > 0 {
		var compact bytes.Buffer
		if json.Compact(&compact, e.Payload) == nil {
			out = strings.Replace(out, `"payload":`+compact.String(), `"payload":`+string(e.Payload), 1)
		}
	}
	return out
}

// TestAppendJSONDecodes decodes envelopes as consumers do, with protojson
// into hookgate.v1.InboundEnvelope, and with encoding/json.
func TestAppendJSONDecodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, contentType, body string
	}{
		{"json", "application/json", `{"orderId":"ORD-12345","items":[{"sku":"A","qty":2}],"paid":true,"note":null}`},
		{"form", "application/x-www-form-urlencoded", "b=2&a=1&a=%C3%A9"},
		{"text", "text/plain", "hello \"world\"\n\xff"},
		{"empty text", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			payload, err := envelope.Payload(tt.contentType, []byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			e := envelope.Envelope{
				ID: "evt_0123456789abcdefghij", Tenant: "acme", WebhookID: "wh_0123456789abcdefghij",
				Provider: "GITHUB", ProcessID: "proc-orders-main", ThreadID: "main", Trigger: "RESUME_PROCESS",
				CorrelationKey: ptr("ORD-12345"), ConfigVersion: 1<<53 + 1,
				DateTime: time.Date(2026, 3, 23, 15, 30, 0, 5000, time.UTC), Payload: payload,
				Headers: http.Header{
					"Content-Type":      {tt.contentType},
					"X-Github-Delivery": {"d1"},
					"X-Forwarded-For":   {"203.0.113.7", "10.0.0.1"},
					"X-Odd":             {"caf\xe9"},
				},
				RawBody: []byte(tt.body),
			}
			out := e.AppendJSON(nil)

			var got hookgatev1.InboundEnvelope
			if err := protojson.Unmarshal(out, &got); err != nil {
				t.Fatalf("protojson.Unmarshal(%s): %v", out, err)
			}
			checkInbound(t, &e, &got)

			var m map[string]any
			if err := json.Unmarshal(out, &m); err != nil {
				t.Fatalf("json.Unmarshal(%s): %v", out, err)
			}
			var wantPayload any
			if err := json.Unmarshal(payload, &wantPayload); err != nil {
				t.Fatal(err)
			}
			msg, _ := m["webhookMessage"].(map[string]any)
			if m["id"] != e.ID || m["tenant"] != e.Tenant || m["webhookId"] != e.WebhookID ||
				m["provider"] != e.Provider || m["processId"] != e.ProcessID || m["threadId"] != e.ThreadID ||
				m["trigger"] != e.Trigger || m["correlationKey"] != *e.CorrelationKey ||
				m["configVersion"] != float64(e.ConfigVersion) || msg["dateTime"] != "2026-03-23T15:30:00.000005Z" ||
				!reflect.DeepEqual(msg["payload"], wantPayload) {
				t.Fatalf("encoding/json reads %v", m)
			}
			headers, _ := msg["headers"].(map[string]any)
			if len(headers) != len(e.Headers) || !reflect.DeepEqual(headers["X-Forwarded-For"], []any{"203.0.113.7", "10.0.0.1"}) ||
				!reflect.DeepEqual(headers["X-Odd"], []any{"caf\uFFFD"}) {
				t.Fatalf("encoding/json reads headers %v", headers)
			}
		})
	}
}

// checkInbound compares what protojson decoded with the envelope encoded.
func checkInbound(t *testing.T, e *envelope.Envelope, got *hookgatev1.InboundEnvelope) {
	t.Helper()
	if got.GetId() != e.ID || got.GetTenant() != e.Tenant || got.GetWebhookId() != e.WebhookID ||
		got.GetProvider() != e.Provider || got.GetProcessId() != e.ProcessID || got.GetThreadId() != e.ThreadID ||
		got.GetTrigger() != e.Trigger || got.GetConfigVersion() != e.ConfigVersion {
		t.Fatalf("protojson reads %v", got)
	}
	if (e.CorrelationKey == nil) != (got.CorrelationKey == nil) ||
		e.CorrelationKey != nil && got.GetCorrelationKey() != *e.CorrelationKey {
		t.Fatalf("correlation key %v, want %v", got.CorrelationKey, e.CorrelationKey)
	}
	msg := got.GetWebhookMessage()
	if !msg.GetDateTime().AsTime().Equal(e.DateTime) {
		t.Fatalf("date time %v, want %v", msg.GetDateTime().AsTime(), e.DateTime)
	}
	var wantPayload any
	if err := json.Unmarshal(e.Payload, &wantPayload); err != nil {
		t.Fatal(err)
	}
	if p := msg.GetPayload().AsInterface(); !reflect.DeepEqual(p, wantPayload) {
		t.Fatalf("payload %#v, want %#v", p, wantPayload)
	}
	if len(msg.GetHeaders()) != len(e.Headers) {
		t.Fatalf("headers %v, want %v", msg.GetHeaders(), e.Headers)
	}
	for name, values := range e.Headers {
		want := make([]any, len(values))
		for i, v := range values {
			want[i] = validUTF8(v)
		}
		if lv := msg.GetHeaders()[name]; lv == nil || !reflect.DeepEqual(lv.AsSlice(), want) {
			t.Fatalf("header %s = %v, want %v", name, lv, want)
		}
	}
	if !bytes.Equal(msg.GetRawBody(), e.RawBody) {
		t.Fatalf("raw body %q, want %q", msg.GetRawBody(), e.RawBody)
	}
}

// benchEnvelope is an envelope with a 1 KiB JSON payload and 8 headers.
func benchEnvelope() *envelope.Envelope {
	payload := []byte(`{"id":"evt_1","type":"payment_intent.succeeded","data":{"object":{"id":"pi_3","amount":2000,` +
		`"currency":"usd","description":"` + strings.Repeat("x", 850) + `","metadata":{"orderId":"ORD-12345"}}}}`)
	return &envelope.Envelope{
		ID: "evt_0123456789abcdefghij", Tenant: "acme", WebhookID: "wh_0123456789abcdefghij",
		Provider: "STRIPE", ProcessID: "proc-orders-main", ThreadID: "main", Trigger: "START_PROCESS",
		ConfigVersion: 1234, DateTime: received, Payload: payload,
		Headers: http.Header{
			"Content-Type":     {"application/json; charset=utf-8"},
			"User-Agent":       {"Stripe/1.0 (+https://stripe.com/docs/webhooks)"},
			"Stripe-Signature": {"t=1711207800,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd"},
			"Accept":           {"*/*; q=0.5, application/xml"},
			"Content-Length":   {"1024"},
			"X-Forwarded-For":  {"203.0.113.7"},
			"X-Forwarded-Host": {"hooks.example.com"},
			"X-Request-Id":     {"req_0123456789abcdefghij"},
		},
	}
}

// TestAppendJSONDoesNotAllocate is not parallel: testing.AllocsPerRun
// refuses to run in a parallel test.
func TestAppendJSONDoesNotAllocate(t *testing.T) {
	e := benchEnvelope()
	buf := make([]byte, 0, 8<<10)
	allocs := testing.AllocsPerRun(100, func() {
		buf = e.AppendJSON(buf[:0])
	})
	if allocs != 0 {
		t.Fatalf("AppendJSON allocates %.0f times", allocs)
	}
}

func FuzzEnvelope(f *testing.F) {
	for _, tt := range appendJSONTests {
		e := tt.env
		var name, value, key string
		for k, vs := range e.Headers {
			name, value = k, strings.Join(vs, ",")
		}
		if e.CorrelationKey != nil {
			key = *e.CorrelationKey
		}
		f.Add(e.ID, e.Provider, e.ThreadID, key, e.CorrelationKey != nil, e.ConfigVersion,
			e.DateTime.Unix(), name, value, string(e.Payload), e.RawBody)
	}
	f.Fuzz(func(t *testing.T, id, provider, threadID, key string, hasKey bool, version, unix int64,
		headerName, headerValue, body string, raw []byte) {
		payload, err := envelope.Payload("text/plain", []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		// Keep the time within what RFC 3339, encoding/json and protojson
		// can write: years 1 to 9999.
		const first, last = -62135596800, 253402300799
		unix = first + (unix%(last-first)+(last-first))%(last-first)
		e := envelope.Envelope{
			ID: id, Tenant: id + "t", WebhookID: "wh_" + id, Provider: provider, ProcessID: provider + threadID,
			ThreadID: threadID, Trigger: key, ConfigVersion: version,
			DateTime: time.Unix(unix, version&0x3fffffff%1e9), Payload: payload,
			Headers: http.Header{headerName: {headerValue, key}, "X-" + headerName: {}},
			RawBody: raw,
		}
		if hasKey {
			e.CorrelationKey = &key
		}
		out := e.AppendJSON(nil)
		if !json.Valid(out) || !utf8.Valid(out) {
			t.Fatalf("AppendJSON wrote %q: not valid JSON in UTF-8", out)
		}
		if want := encodingJSON(t, &e); string(out) != want {
			t.Fatalf("AppendJSON =\n%s\nencoding/json writes\n%s", out, want)
		}
		var got hookgatev1.InboundEnvelope
		if err := protojson.Unmarshal(out, &got); err != nil {
			t.Fatalf("protojson.Unmarshal(%s): %v", out, err)
		}
	})
}

func BenchmarkAppendJSON(b *testing.B) {
	e := benchEnvelope()
	buf := make([]byte, 0, 8<<10)
	b.ReportAllocs()
	for b.Loop() {
		buf = e.AppendJSON(buf[:0])
	}
	b.SetBytes(int64(len(buf)))
}
