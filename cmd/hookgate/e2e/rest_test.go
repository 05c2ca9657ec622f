package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/hookgate/hookgate/controlplane/failures"
	"github.com/hookgate/hookgate/testkit/poll"
	"github.com/nats-io/nats.go/jetstream"
)

// curl runs the curl binary: method, url, bearer token ("" for none), JSON
// body ("" for none). It returns the HTTP status and the body.
func curl(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	args := []string{"-sS", "-X", method, "-w", "\n%{http_code}", "--max-time", "10", url}
	if token != "" {
		args = append(args, "-H", "Authorization: Bearer "+token)
	}
	if body != "" {
		args = append(args, "-d", body) // no Content-Type: curl's form type is read as JSON
	}
	out, err := exec.Command("curl", args...).Output()
	if err != nil {
		t.Fatalf("curl %s %s: %v", method, url, err)
	}
	s := string(out)
	i := strings.LastIndexByte(s, '\n')
	code, err := strconv.Atoi(s[i+1:])
	if err != nil {
		t.Fatalf("curl %s %s: status %q", method, url, s[i+1:])
	}
	return code, s[:i]
}

// mustCurl is curl that wants status and decodes the JSON body into a map.
func mustCurl(t *testing.T, want int, method, url, token, body string) map[string]any {
	t.Helper()
	code, out := curl(t, method, url, token, body)
	if code != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, url, code, want, out)
	}
	m := map[string]any{}
	if out != "" {
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("%s %s: body %q: %v", method, url, out, err)
		}
	}
	return m
}

// restError checks a REST error body: {"code", "message", "details"}.
func restError(t *testing.T, m map[string]any, code string) {
	t.Helper()
	if m["code"] != code || m["message"] == "" || m["details"] == nil {
		t.Fatalf("error %v, want code %q with message and details", m, code)
	}
}

func needCurl(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("curl is not installed: `make test` installs it (make curl)")
	}
}

// TestRESTInboundLifecycleWithCurl: the whole inbound lifecycle with curl
// on the REST paths of `hookgate dev`: tenant, webhook, a call, key rotation,
// deactivation, failed triggers, delete.
func TestRESTInboundLifecycleWithCurl(t *testing.T) {
	needCurl(t)
	d := startDev(t, t.TempDir())
	a, tok := d.admin, d.token

	tenant := mustCurl(t, 200, "POST", a+"/v1/tenants", tok, `{"id":"acme","displayName":"Acme"}`)
	if tenant["tenant"].(map[string]any)["id"] != "acme" {
		t.Fatalf("create tenant: %v", tenant)
	}
	restError(t, mustCurl(t, 409, "POST", a+"/v1/tenants", tok, `{"id":"acme"}`), "already_exists")
	restError(t, mustCurl(t, 401, "POST", a+"/v1/tenants", "", `{"id":"other"}`), "unauthenticated")
	restError(t, mustCurl(t, 401, "GET", a+"/v1/tenants/acme", "hga_not-a-token", ""), "unauthenticated")

	created := mustCurl(t, 200, "POST", a+"/v1/tenants/acme/webhooks", tok,
		`{"name":"orders","provider":"PROVIDER_GENERIC","bindings":[{"processId":"orders","trigger":"TRIGGER_START_PROCESS"}]}`)
	wh := created["webhook"].(map[string]any)
	id, urlWithKey := wh["id"].(string), created["urlWithKey"].(string)
	if !strings.HasPrefix(id, "wh_") || !strings.Contains(urlWithKey, "key=hgk_") {
		t.Fatalf("create webhook: %v", created)
	}
	restError(t, mustCurl(t, 400, "POST", a+"/v1/tenants/acme/webhooks", tok, `{"name":"x"}`), "invalid_argument")
	restError(t, mustCurl(t, 400, "POST", a+"/v1/tenants/acme/webhooks", tok, `{"name":`), "invalid_argument")
	base := a + "/v1/tenants/acme/webhooks/" + id

	// The edge takes the key once the configuration reached it.
	poll.Until(t, 30*time.Second, "the edge to accept the new webhook", func() bool {
		code, _ := curl(t, "POST", urlWithKey, "", `{"order":1}`)
		return code == http.StatusOK
	})

	rotated := mustCurl(t, 200, "POST", base+":rotateKey", tok, `{"gracePeriod":"0s"}`)
	newURL := rotated["urlWithKey"].(string)
	if newURL == urlWithKey || rotated["webhook"].(map[string]any)["keyPrefix"] == wh["keyPrefix"] {
		t.Fatalf("rotate: %v", rotated)
	}
	// The old key ends now: the edge refuses it (a failed trigger) and takes
	// the new one.
	poll.Until(t, 30*time.Second, "the edge to refuse the old key", func() bool {
		code, _ := curl(t, "POST", urlWithKey, "", `{"order":2}`)
		return code == http.StatusUnauthorized
	})
	if code, out := curl(t, "POST", newURL, "", `{"order":3}`); code != http.StatusOK {
		t.Fatalf("new key: %d %s", code, out)
	}
	if code, out := curl(t, "POST", urlWithKey, "", `{"order":3}`); code != http.StatusUnauthorized {
		t.Fatalf("old key: %d %s", code, out)
	}

	// Deactivate: PATCH with the field in the body (the mask comes from it).
	patched := mustCurl(t, 200, "PATCH", base, tok, `{"active":false}`)
	if active, _ := patched["webhook"].(map[string]any)["active"].(bool); active {
		t.Fatalf("deactivate: %v", patched)
	}
	// And with ?update_mask= in snake case.
	renamed := mustCurl(t, 200, "PATCH", base+"?update_mask=description", tok, `{"description":"shop orders","active":true}`)
	if w := renamed["webhook"].(map[string]any); w["description"] != "shop orders" || w["active"] == true {
		t.Fatalf("update description only: %v", renamed)
	}
	poll.Until(t, 30*time.Second, "the edge to refuse the inactive webhook", func() bool {
		code, _ := curl(t, "POST", newURL, "", `{"order":4}`)
		return code == http.StatusGone
	})

	// Wait for the edge's two records in the stream (each listing call
	// costs a consumer, so the list is read once).
	js, err := jetstream.New(d.natsConn(t))
	if err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 30*time.Second, "two failed triggers in the stream", func() bool {
		s, err := js.Stream(context.Background(), failures.Stream)
		if err != nil {
			return false
		}
		info, err := s.Info(context.Background())
		return err == nil && info.State.Msgs >= 2
	})
	failed, _ := mustCurl(t, 200, "GET", base+"/failures?page_size=50", tok, "")["failedTriggers"].([]any)
	if len(failed) < 2 {
		t.Fatalf("failures: %v", failed)
	}
	if r := failed[0].(map[string]any)["reason"]; r == "" || r == nil {
		t.Fatalf("failed trigger without a reason: %v", failed[0])
	}

	list := mustCurl(t, 200, "GET", a+"/v1/tenants/acme/webhooks", tok, "")
	if n := len(list["webhooks"].([]any)); n != 1 {
		t.Fatalf("list: %d webhooks", n)
	}
	if code, out := curl(t, "DELETE", base, tok, ""); code != http.StatusNoContent || out != "" {
		t.Fatalf("delete: %d %q", code, out)
	}
	restError(t, mustCurl(t, 404, "GET", base, tok, ""), "not_found")
	restError(t, mustCurl(t, 404, "DELETE", base, tok, ""), "not_found")
}

// TestOpenAPIDocumentValidatesAndEveryPathAnswers: /openapi.json on the
// admin port validates with kin-openapi, and every operation it lists
// answers a good request with its documented success status and a body the
// document describes, and a request without a token with 401 in the
// documented error shape.
func TestOpenAPIDocumentValidatesAndEveryPathAnswers(t *testing.T) {
	d := startDev(t, t.TempDir())
	code, body := get(t, d.admin+"/openapi.json")
	if code != 200 {
		t.Fatalf("/openapi.json: %d", code)
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData([]byte(body))
	if err != nil {
		t.Fatalf("load OpenAPI document: %v", err)
	}
	ctx := context.Background()
	if err := doc.Validate(ctx); err != nil {
		t.Fatalf("OpenAPI document does not validate: %v", err)
	}
	if s := doc.Components.SecuritySchemes["bearer"]; s == nil || s.Value.Scheme != "bearer" {
		t.Fatal("no bearer security scheme")
	}

	ops := map[string]struct{ path, method string }{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			ops[op.OperationID] = struct{ path, method string }{path, method}
		}
	}
	steps := openAPISteps()
	var inSteps []string
	for _, s := range steps {
		inSteps = append(inSteps, s.op)
		if _, ok := ops[s.op]; !ok {
			t.Errorf("step %s: no such operation in the document", s.op)
		}
	}
	for op := range ops {
		if !slices.Contains(inSteps, op) {
			t.Errorf("operation %s (%s %s) has no step in openAPISteps", op, ops[op].method, ops[op].path)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer receiver.Close()
	vars := map[string]string{"tenant": "acme", "receiver": receiver.URL}
	for _, s := range steps {
		o := ops[s.op]
		url := d.admin
		if o.path == "/v1/tenants/{tenant}/apps/{applicationId}/messages" && o.method == "POST" {
			url = d.edge
		}
		path := fill(t, o.path, s.params, vars)
		query := fillString(s.query, vars)
		t.Run(s.op, func(t *testing.T) {
			if url == d.edge {
				edgeREST(t, url+path)
			}
			route := &routers.Route{Spec: doc, Path: o.path, PathItem: doc.Paths.Find(o.path), Method: o.method, Operation: doc.Paths.Find(o.path).GetOperation(o.method)}
			validate := func(req *http.Request, status int, header http.Header, body []byte) {
				t.Helper()
				in := &openapi3filter.ResponseValidationInput{
					RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, Route: route,
						Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}},
					Status: status, Header: header,
					Options: &openapi3filter.Options{IncludeResponseStatus: true},
				}
				in.SetBodyBytes(body)
				if err := openapi3filter.ValidateResponse(ctx, in); err != nil {
					t.Errorf("%d response does not match the document: %v\n%s", status, err, body)
				}
			}
			// Bad: no token.
			bad, _ := http.NewRequest(o.method, url+path+query, strings.NewReader(fillString(s.body, vars)))
			resp, err := http.DefaultClient.Do(bad)
			if err != nil {
				t.Fatal(err)
			}
			out, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("without a token: %d %s", resp.StatusCode, out)
			}
			var e map[string]any
			if err := json.Unmarshal(out, &e); err != nil || e["code"] != "unauthenticated" {
				t.Fatalf("without a token: %s", out)
			}
			validate(bad, resp.StatusCode, resp.Header, out)
			if s.skipGood != "" {
				return
			}
			// Good.
			req, _ := http.NewRequest(o.method, url+path+query, strings.NewReader(fillString(s.body, vars)))
			req.Header.Set("Authorization", "Bearer "+d.token)
			req.Header.Set("Content-Type", "application/json")
			resp, err = http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			respBody, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			want := s.status
			if want == 0 {
				want = 200
				if o.method == "DELETE" {
					want = 204
				}
			}
			if resp.StatusCode != want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, want, respBody)
			}
			if rs := doc.Paths.Find(o.path).GetOperation(o.method).Responses; rs.Status(want) == nil && rs.Default() == nil {
				t.Fatalf("status %d is not documented", want)
			}
			validate(req, resp.StatusCode, resp.Header, respBody)
			if s.save != nil {
				var m map[string]any
				_ = json.Unmarshal(respBody, &m)
				s.save(m, vars)
			}
		})
	}
}

// step is one call of TestOpenAPIDocumentValidatesAndEveryPathAnswers, in
// an order where each finds what it needs (create before get, delete last).
type step struct {
	op       string
	params   map[string]string // path parameters; {var} names a saved value
	query    string
	body     string
	status   int // 0: 200, or 204 for DELETE
	skipGood string
	save     func(resp map[string]any, vars map[string]string)
}

func openAPISteps() []step {
	str := func(m map[string]any, keys ...string) string {
		var v any = m
		for _, k := range keys {
			mm, _ := v.(map[string]any)
			v = mm[k]
		}
		s, _ := v.(string)
		return s
	}
	return []step{
		{op: "TenantService_CreateTenant", body: `{"id":"acme","displayName":"Acme","allowHttpEndpoints":true}`},
		{op: "TenantService_GetTenant"},
		{op: "TenantService_ListTenants"},
		{op: "TenantService_UpdateTenant", body: `{"displayName":"Acme Corp"}`},
		{op: "TenantService_CreateAdminToken", body: `{"description":"ci"}`, save: func(m map[string]any, v map[string]string) { v["token_id"] = str(m, "adminToken", "id") }},
		{op: "TenantService_ListAdminTokens"},
		{op: "TenantService_CreateAdminToken_2", body: `{"description":"platform ci"}`},
		{op: "TenantService_ListAdminTokens_2"},
		{op: "TenantService_RevokeAdminToken", params: map[string]string{"id": "{token_id}"}},
		{op: "ConfigParamService_SetConfigParam", params: map[string]string{"name": "shared_secret"}, body: `{"value":"s3cret-value"}`},
		{op: "ConfigParamService_ListConfigParams"},
		{op: "InboundWebhookService_CreateWebhook", body: `{"name":"orders","provider":"PROVIDER_GENERIC","bindings":[{"processId":"orders","trigger":"TRIGGER_START_PROCESS"}]}`,
			save: func(m map[string]any, v map[string]string) { v["webhook_id"] = str(m, "webhook", "id") }},
		{op: "InboundWebhookService_GetWebhook", params: map[string]string{"webhookId": "{webhook_id}"}},
		{op: "InboundWebhookService_ListWebhooks"},
		{op: "InboundWebhookService_UpdateWebhook", params: map[string]string{"webhookId": "{webhook_id}"}, body: `{"active":false}`},
		{op: "InboundWebhookService_RotateWebhookKey", params: map[string]string{"webhookId": "{webhook_id}"}, body: `{"gracePeriod":"60s"}`},
		{op: "InboundWebhookService_RotateProviderSecret", params: map[string]string{"webhookId": "{webhook_id}", "name": "signing_secret"}, body: `{"value":"x"}`, status: 400},
		{op: "InboundWebhookService_ListFailedTriggers", params: map[string]string{"webhookId": "{webhook_id}"}},
		{op: "InboundWebhookService_DeleteWebhook", params: map[string]string{"webhookId": "{webhook_id}"}},
		{op: "ApplicationService_CreateApplication", body: `{"name":"Customer 42"}`,
			save: func(m map[string]any, v map[string]string) { v["app_id"] = str(m, "application", "id") }},
		{op: "ApplicationService_GetApplication", params: map[string]string{"applicationId": "{app_id}"}},
		{op: "ApplicationService_ListApplications"},
		{op: "ApplicationService_UpdateApplication", params: map[string]string{"applicationId": "{app_id}"}, body: `{"name":"Customer 43"}`},
		{op: "EventTypeService_CreateEventType", body: `{"name":"order.created","schema":{"type":"object"},"example":{"id":1}}`},
		{op: "EventTypeService_GetEventType", params: map[string]string{"name": "order.created"}},
		{op: "EventTypeService_ListEventTypes", query: "?include_archived=true"},
		{op: "EventTypeService_UpdateEventType", params: map[string]string{"name": "order.created"}, body: `{"description":"An order"}`},
		{op: "EndpointService_CreateEndpoint", params: map[string]string{"applicationId": "{app_id}"},
			body: `{"endpoint":{"url":"{receiver}/hooks","eventTypes":["order.created"]}}`,
			save: func(m map[string]any, v map[string]string) { v["endpoint_id"] = str(m, "endpoint", "id") }},
		{op: "EndpointService_GetEndpoint", params: map[string]string{"endpointId": "{endpoint_id}"}},
		{op: "EndpointService_ListEndpoints", params: map[string]string{"applicationId": "{app_id}"}},
		{op: "EndpointService_ListEndpoints_2", query: "?application_id={app_id}"},
		{op: "EndpointService_UpdateEndpoint", params: map[string]string{"endpointId": "{endpoint_id}"}, body: `{"description":"orders"}`},
		{op: "EndpointService_GetEndpointHealth", params: map[string]string{"endpointId": "{endpoint_id}"}},
		{op: "EndpointService_GetEndpointSecret", params: map[string]string{"endpointId": "{endpoint_id}"}},
		{op: "EndpointService_RotateEndpointSecret", params: map[string]string{"endpointId": "{endpoint_id}"}, body: `{"gracePeriod":"0s"}`},
		{op: "EndpointService_SendTestPing", params: map[string]string{"endpointId": "{endpoint_id}"}, body: `{}`,
			save: func(m map[string]any, v map[string]string) { v["attempt_id"] = str(m, "attempt", "id") }},
		{op: "EndpointService_SendExample", params: map[string]string{"endpointId": "{endpoint_id}"}, body: `{"eventType":"order.created"}`},
		{op: "AttemptService_ListAttempts", query: "?endpoint_id={endpoint_id}&status=ATTEMPT_STATUS_SUCCEEDED&page_size=10"},
		{op: "AttemptService_ListAttempts_2", params: map[string]string{"endpointId": "{endpoint_id}"}, query: "?since=2020-01-01T00:00:00Z"},
		{op: "AttemptService_ListAttempts_3", params: map[string]string{"messageId": "msg_00000000000000000000"}},
		{op: "AttemptService_GetAttempt", params: map[string]string{"attemptId": "{attempt_id}"}},
		{op: "AttemptService_ResendMessage", params: map[string]string{"messageId": "msg_00000000000000000000"}, body: `{"endpointId":"{endpoint_id}"}`, status: 404},
		{op: "AttemptService_RecoverEndpoint", params: map[string]string{"endpointId": "{endpoint_id}"}, body: `{"since":"2020-01-01T00:00:00Z"}`,
			save: func(m map[string]any, v map[string]string) { v["recovery_id"] = str(m, "recoveryId") }},
		{op: "AttemptService_GetRecovery", params: map[string]string{"recoveryId": "{recovery_id}"}},
		{op: "EndpointService_DisableEndpoint", params: map[string]string{"endpointId": "{endpoint_id}"}, body: `{}`},
		{op: "EndpointService_EnableEndpoint", params: map[string]string{"endpointId": "{endpoint_id}"}, body: `{}`},
		{op: "EndpointService_DeleteEndpoint", params: map[string]string{"endpointId": "{endpoint_id}"}},
		{op: "MessageService_SendMessage", params: map[string]string{"applicationId": "{app_id}"},
			body: `{"eventType":"order.created","payload":{"id":1}}`, skipGood: "the edge needs a configuration with the new application first",
		},
		{op: "MessageService_ListMessages", params: map[string]string{"applicationId": "{app_id}"}},
		{op: "MessageService_ListMessages_2", params: map[string]string{"applicationId": "{app_id}"}},
		{op: "MessageService_GetMessage", params: map[string]string{"messageId": "msg_00000000000000000000"}, status: 404},
		{op: "EventTypeService_ArchiveEventType", params: map[string]string{"name": "order.created"}, body: `{}`},
		{op: "EventTypeService_UnarchiveEventType", params: map[string]string{"name": "order.created"}, body: `{}`},
		{op: "EventTypeService_DeleteEventType", params: map[string]string{"name": "order.created"}, status: http.StatusPreconditionFailed},
		{op: "ApplicationService_DeleteApplication", params: map[string]string{"applicationId": "{app_id}"}},
		{op: "ConfigParamService_DeleteConfigParam", params: map[string]string{"name": "shared_secret"}},
		{op: "EdgeService_ListNodes"},
		{op: "TenantService_DeleteTenant"},
	}
}

var pathParam = regexp.MustCompile(`\{([A-Za-z_.]+)\}`)

// fill puts the step's parameters (or a saved value of the same name) into
// a path template.
func fill(t *testing.T, tmpl string, params, vars map[string]string) string {
	t.Helper()
	return pathParam.ReplaceAllStringFunc(tmpl, func(m string) string {
		name := m[1 : len(m)-1]
		if v, ok := params[name]; ok {
			return fillString(v, vars)
		}
		if v, ok := vars[name]; ok {
			return v
		}
		t.Fatalf("path %s: no value for %s", tmpl, name)
		return ""
	})
}

func fillString(s string, vars map[string]string) string {
	return pathParam.ReplaceAllStringFunc(s, func(m string) string {
		if v, ok := vars[m[1:len(m)-1]]; ok {
			return v
		}
		return m
	})
}

// curlish is an HTTP call like curl's (no media type for the body).
func curlish(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = bytes.NewBufferString(body)
	}
	req, _ := http.NewRequest(method, url, r)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// edgeREST skips a test of the edge's REST path while the edge port does
// not serve it (ingress.WithREST wired in cmd/hookgate/app/edge).
func edgeREST(t *testing.T, url string) {
	t.Helper()
	code, out := curlish(t, "POST", url, "", "{}")
	var e map[string]any
	if code == http.StatusNotFound && json.Unmarshal([]byte(out), &e) == nil && e["details"] == nil {
		t.Fatal("the edge port does not serve REST paths: its public handler must be wrapped with ingress.WithREST (cmd/hookgate/app/edge)")
	}
}

// TestRESTOutboundLifecycleWithCurl: the outbound lifecycle with curl on
// the REST paths: tenant, application, event type, endpoint, a message sent
// at the edge, its delivery, attempts filtered by status and time, secret
// rotation, a test ping, a recovery and delete.
func TestRESTOutboundLifecycleWithCurl(t *testing.T) {
	needCurl(t)
	d := startDev(t, t.TempDir(), "--retry-time-scale", "0.001")
	a, tok := d.admin, d.token
	got := make(chan string, 16)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- string(b)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer receiver.Close()
	start := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)

	mustCurl(t, 200, "POST", a+"/v1/tenants", tok, `{"id":"shop","allowHttpEndpoints":true}`)
	app := mustCurl(t, 200, "POST", a+"/v1/tenants/shop/apps", tok, `{"name":"Customer 42"}`)["application"].(map[string]any)
	appID := app["id"].(string)
	mustCurl(t, 200, "POST", a+"/v1/tenants/shop/event-types", tok, `{"name":"order.created","schema":{"type":"object","required":["id"]},"example":{"id":1}}`)
	restError(t, mustCurl(t, 400, "POST", a+"/v1/tenants/shop/apps/"+appID+"/endpoints", tok, `{"endpoint":{"url":"ftp://x","eventTypes":["order.created"]}}`), "invalid_argument")
	ep := mustCurl(t, 200, "POST", a+"/v1/tenants/shop/apps/"+appID+"/endpoints", tok,
		`{"endpoint":{"url":"`+receiver.URL+`/hooks","eventTypes":["order.created"]}}`)["endpoint"].(map[string]any)
	epID := ep["id"].(string)
	eps := mustCurl(t, 200, "GET", a+"/v1/tenants/shop/apps/"+appID+"/endpoints", tok, "")
	if n := len(eps["endpoints"].([]any)); n != 1 {
		t.Fatalf("list endpoints: %v", eps)
	}
	epURL := a + "/v1/tenants/shop/endpoints/" + epID

	// Send at the edge, on its REST path.
	send := d.edge + "/v1/tenants/shop/apps/" + appID + "/messages"
	msg := map[string]any{}
	poll.Until(t, 30*time.Second, "the edge to take the message", func() bool {
		code, out := curl(t, "POST", send, tok, `{"eventType":"order.created","eventId":"order-1001","payload":{"id":1001}}`)
		if code == http.StatusNotFound && !strings.Contains(out, `"details"`) {
			t.Fatal("the edge port does not serve REST paths: its public handler must be wrapped with ingress.WithREST (cmd/hookgate/app/edge)")
		}
		if code != http.StatusOK {
			return false
		}
		_ = json.Unmarshal([]byte(out), &msg)
		return true
	})
	msgID := msg["message"].(map[string]any)["id"].(string)
	restError(t, mustCurl(t, 400, "POST", send, tok, `{"eventType":"order.created","payload":{"nope":1}}`), "invalid_argument")
	restError(t, mustCurl(t, 401, "POST", send, "", `{"eventType":"order.created","payload":{"id":1}}`), "unauthenticated")
	select {
	case body := <-got:
		if !strings.Contains(body, "1001") {
			t.Fatalf("receiver got %s", body)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the receiver got nothing")
	}

	var attempts []any
	poll.Until(t, 30*time.Second, "a succeeded attempt", func() bool {
		attempts, _ = mustCurl(t, 200, "GET", a+"/v1/tenants/shop/attempts?message_id="+msgID+"&status=ATTEMPT_STATUS_SUCCEEDED", tok, "")["attempts"].([]any)
		return len(attempts) == 1
	})
	if at := attempts[0].(map[string]any); at["endpointId"] != epID || at["responseStatusCode"] != float64(204) {
		t.Fatalf("attempt: %v", at)
	}
	byEndpoint, _ := mustCurl(t, 200, "GET", epURL+"/attempts?since="+start+"&page_size=10", tok, "")["attempts"].([]any)
	if len(byEndpoint) != 1 {
		t.Fatalf("attempts of the endpoint since %s: %v", start, byEndpoint)
	}
	failed, _ := mustCurl(t, 200, "GET", epURL+"/attempts?status=ATTEMPT_STATUS_FAILED", tok, "")["attempts"].([]any)
	if len(failed) != 0 {
		t.Fatalf("failed attempts: %v", failed)
	}
	restError(t, mustCurl(t, 400, "GET", epURL+"/attempts?page_token=nope", tok, ""), "invalid_argument")
	msgs := mustCurl(t, 200, "GET", a+"/v1/tenants/shop/apps/"+appID+"/messages", tok, "")
	if n := len(msgs["messages"].([]any)); n != 1 {
		t.Fatalf("messages: %v", msgs)
	}
	mustCurl(t, 200, "GET", a+"/v1/tenants/shop/messages/"+msgID, tok, "")

	rotated := mustCurl(t, 200, "POST", epURL+":rotateSecret", tok, `{"gracePeriod":"0s"}`)
	if s, _ := rotated["secret"].(string); !strings.HasPrefix(s, "whsec_") {
		t.Fatalf("rotate secret: %v", rotated)
	}
	ping := mustCurl(t, 200, "POST", epURL+":test", tok, `{}`)
	if at, _ := ping["attempt"].(map[string]any); at["responseStatusCode"] != float64(204) {
		t.Fatalf("test ping: %v", ping)
	}
	rec := mustCurl(t, 200, "POST", epURL+":recover", tok, `{"since":"`+start+`"}`)
	recID, _ := rec["recoveryId"].(string)
	if recID == "" {
		t.Fatalf("recover: %v", rec)
	}
	mustCurl(t, 200, "GET", a+"/v1/tenants/shop/recoveries/"+recID, tok, "")

	if code, out := curl(t, "DELETE", epURL, tok, ""); code != http.StatusNoContent {
		t.Fatalf("delete endpoint: %d %s", code, out)
	}
	restError(t, mustCurl(t, 404, "GET", epURL, tok, ""), "not_found")
}
