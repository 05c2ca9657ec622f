package ingress_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/hookgate/hookgate/gen/openapi"
)

// TestSendMessageRESTParamsNotUTF8: path and query parameters that are not
// UTF-8 are a 400 invalid_argument naming the rule, not vanguard's 500.
func TestSendMessageRESTParamsNotUTF8(t *testing.T) {
	t.Parallel()
	e := newRESTEnv(t)
	e.load(t, 7, catalogResources(t))
	for _, path := range []string{
		"/v1/tenants/acme/apps/%c0%ae%ff/messages",
		"/v1/tenants/%ff/apps/app_acme/messages",
		"/v1/tenants/acme/apps/app_acme/messages?x=%ff",
	} {
		t.Run(path, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, e.url+path, strings.NewReader(`{"eventType":"ping","payload":true}`))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+acmeProducer)
			resp, err := e.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var re openapi.Error
			if resp.StatusCode != http.StatusBadRequest || json.Unmarshal(body, &re) != nil || re.Code != "invalid_argument" || !strings.Contains(re.Message, "UTF-8") {
				t.Fatalf("%d %s, want 400 invalid_argument naming UTF-8", resp.StatusCode, body)
			}
		})
	}
	if n := len(e.stored(t)); n != 0 {
		t.Fatalf("stored %d messages, want none", n)
	}
}
