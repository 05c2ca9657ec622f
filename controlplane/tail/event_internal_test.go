package tail

import (
	"strings"
	"testing"
)

const envelopeHead = `{"id":"evt_1","tenant":"acme","webhookId":"wh_a","provider":"GITHUB","processId":"orders","threadId":"main","trigger":"START_PROCESS","correlationKey":null,"configVersion":3,"webhookMessage":{"dateTime":"2026-03-23T15:30:00Z",`

func TestDecode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		data    string
		body    string
		size    int64
		wantErr bool
	}{
		{"json body verbatim", envelopeHead + `"payload":{"b": [1, 2]},"headers":{}}}`, `{"b": [1, 2]}`, 13, false},
		{"text body", envelopeHead + `"payload":"line\n\u00e9","headers":{}}}`, "line\né", 7, false},
		{"form body as its JSON", envelopeHead + `"payload":{"a":["1"]},"headers":{}}}`, `{"a":["1"]}`, 11, false},
		{"empty body", envelopeHead + `"payload":null,"headers":{}}}`, "", 0, false},
		{"raw body wins", envelopeHead + `"payload":{"a":1},"headers":{},"rawBody":"eyJhIjogMX0="}}`, `{"a": 1}`, 8, false},
		{"number body", envelopeHead + `"payload":42,"headers":{}}}`, "42", 2, false},
		{"not JSON", `evt_1 acme`, "", 0, true},
		{"no id", `{"tenant":"acme","webhookMessage":{"payload":1}}`, "", 0, true},
		{"no tenant", `{"id":"evt_1","webhookMessage":{"payload":1}}`, "", 0, true},
		{"bad raw body", envelopeHead + `"payload":1,"headers":{},"rawBody":"%%%"}}`, "", 0, true},
		{"headers not arrays", envelopeHead + `"payload":1,"headers":{"A":"b"}}}`, "", 0, true},
		{"bad time", `{"id":"evt_1","tenant":"acme","webhookMessage":{"dateTime":"yesterday"}}`, "", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := Decode([]byte(tt.data))
			if tt.wantErr {
				if err == nil {
					t.Fatalf("decoded %v, want an error", ev)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(ev.Body) != tt.body || ev.BodySize != tt.size {
				t.Fatalf("body %q (%d), want %q (%d)", ev.Body, ev.BodySize, tt.body, tt.size)
			}
			if ev.Provider.String() != "PROVIDER_GITHUB" || ev.Trigger.String() != "TRIGGER_START_PROCESS" || ev.CorrelationKey != nil {
				t.Fatalf("provider %v, trigger %v, correlation %v", ev.Provider, ev.Trigger, ev.CorrelationKey)
			}
		})
	}
}

// FuzzDecode: whatever a NATS publisher sends, decoding does not panic, a
// body is never longer than BodyBytes, and a header whose name may carry a
// credential never shows its value.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(envelopeHead + `"payload":{"a":1},"headers":{"Authorization":["Bearer x"],"X-Request-Id":["1"]}}}`))
	f.Add([]byte(envelopeHead + `"payload":"` + strings.Repeat("y", 5000) + `","headers":{}}}`))
	f.Add([]byte(envelopeHead + `"payload":null,"headers":{"X-Hub-Signature-256":["sha256=00"]},"rawBody":"AAEC"}}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := Decode(data)
		if err != nil {
			return
		}
		if len(ev.Body) > BodyBytes || ev.BodySize < int64(len(ev.Body)) {
			t.Fatalf("body of %d bytes, size %d", len(ev.Body), ev.BodySize)
		}
		for name, lv := range ev.Headers {
			if !CredentialHeader(name) {
				continue
			}
			for _, v := range lv.GetValues() {
				if v.GetStringValue() != redacted {
					t.Fatalf("header %q shows its value", name)
				}
			}
		}
	})
}
