package envelope_test

import (
	"fmt"
	"net/http"
	"time"

	"github.com/hookgate/hookgate/dataplane/envelope"
)

func ExampleParsePath() {
	tenant, webhookID, ok := envelope.ParsePath("/in/acme/wh_0123456789abcdefghij")
	fmt.Println(tenant, webhookID, ok)
	_, _, ok = envelope.ParsePath("/in/acme/wh_0123456789abcdefghij/")
	fmt.Println(ok)
	// Output:
	// acme wh_0123456789abcdefghij true
	// false
}

func ExampleCorrelationPath_Resolve() {
	p, err := envelope.ParseCorrelationPath("entry[0].changes[0].value.messages[0].id")
	if err != nil {
		fmt.Println(err)
		return
	}
	body := []byte(`{"entry":[{"changes":[{"value":{"messages":[{"id":"wamid.1"}]}}]}]}`)
	key, err := p.Resolve(body)
	fmt.Println(key, err)
	_, err = p.Resolve([]byte(`{"entry":[]}`))
	fmt.Println(err)
	// Output:
	// wamid.1 <nil>
	// correlation path entry[0].changes[0].value.messages[0].id: entry[0] is missing
}

func ExamplePayload() {
	for _, body := range []struct{ contentType, body string }{
		{"application/json; charset=utf-8", `{"orderId": "ORD-12345"}`},
		{"application/x-www-form-urlencoded", "text=hi+there&user=U1&user=U2"},
		{"text/plain", "hello\n"},
		{"application/json", `{"orderId":`},
	} {
		payload, err := envelope.Payload(body.contentType, []byte(body.body))
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(string(payload))
	}
	// Output:
	// {"orderId": "ORD-12345"}
	// {"text":["hi there"],"user":["U1","U2"]}
	// "hello\n"
	// invalid JSON body: unexpected end of input looking for value at offset 11
}

func ExampleEnvelope_AppendJSON() {
	payload, _ := envelope.Payload("application/json", []byte(`{"orderId":"ORD-12345"}`))
	e := envelope.Envelope{
		ID: "evt_1", Tenant: "acme", WebhookID: "wh_1", Provider: "STRIPE",
		ProcessID: "proc-orders-main", ThreadID: "main", Trigger: "START_PROCESS",
		ConfigVersion: 7, DateTime: time.Date(2026, 3, 23, 15, 30, 0, 0, time.UTC),
		Payload: payload, Headers: http.Header{"Content-Type": {"application/json"}},
	}
	buf := make([]byte, 0, 1024) // a pooled buffer in the edge
	buf = e.AppendJSON(buf)
	fmt.Println(string(buf))
	// Output:
	// {"id":"evt_1","tenant":"acme","webhookId":"wh_1","provider":"STRIPE","processId":"proc-orders-main","threadId":"main","trigger":"START_PROCESS","correlationKey":null,"configVersion":7,"webhookMessage":{"dateTime":"2026-03-23T15:30:00Z","payload":{"orderId":"ORD-12345"},"headers":{"Content-Type":["application/json"]}}}
}
