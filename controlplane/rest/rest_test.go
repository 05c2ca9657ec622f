package rest_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/hookgate/hookgate/controlplane/rest"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/gen/hookgate/v1/hookgatev1connect"
	"github.com/hookgate/hookgate/gen/openapi"
)

// tenants answers from a map and records the update masks it is sent.
type tenants struct {
	hookgatev1connect.UnimplementedTenantServiceHandler
	mu    sync.Mutex
	masks []string
}

func (t *tenants) GetTenant(_ context.Context, req *connect.Request[hookgatev1.GetTenantRequest]) (*connect.Response[hookgatev1.GetTenantResponse], error) {
	switch req.Msg.GetTenant() {
	case "acme":
		return connect.NewResponse(&hookgatev1.GetTenantResponse{Tenant: &hookgatev1.Tenant{Id: "acme", DisplayName: "Acme"}}), nil
	case "busy":
		return nil, connect.NewError(connect.CodeUnavailable, errors.New("etcd unreachable"))
	case "held":
		return nil, connect.NewError(connect.CodeFailedPrecondition, errors.New("tenant held has webhooks"))
	}
	return nil, connect.NewError(connect.CodeNotFound, errors.New("tenant "+req.Msg.GetTenant()+": not found"))
}

func (t *tenants) UpdateTenant(_ context.Context, req *connect.Request[hookgatev1.UpdateTenantRequest]) (*connect.Response[hookgatev1.UpdateTenantResponse], error) {
	t.mu.Lock()
	t.masks = append(t.masks, strings.Join(req.Msg.GetUpdateMask().GetPaths(), ","))
	t.mu.Unlock()
	return connect.NewResponse(&hookgatev1.UpdateTenantResponse{Tenant: req.Msg.GetTenant()}), nil
}

func (t *tenants) DeleteTenant(context.Context, *connect.Request[hookgatev1.DeleteTenantRequest]) (*connect.Response[hookgatev1.DeleteTenantResponse], error) {
	return connect.NewResponse(&hookgatev1.DeleteTenantResponse{}), nil
}

func (t *tenants) lastMask() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.masks) == 0 {
		return ""
	}
	return t.masks[len(t.masks)-1]
}

// auth admits "Bearer good" and counts its calls, as the admin
// authenticator does before any body is read.
type auth struct {
	mu    sync.Mutex
	calls int
}

func (a *auth) wrap(next http.Handler) http.Handler {
	errw := connect.NewErrorWriter()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.calls++
		a.mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer good" {
			_ = errw.Write(w, r, connect.NewError(connect.CodeUnauthenticated, errors.New("missing or invalid admin token")))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func newServer(t *testing.T) (*httptest.Server, *tenants) {
	t.Helper()
	svc := &tenants{}
	a := &auth{}
	mux := http.NewServeMux()
	path, h := hookgatev1connect.NewTenantServiceHandler(svc)
	mux.Handle(path, a.wrap(h))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	handler, err := rest.New(rest.Config{Services: []string{hookgatev1connect.TenantServiceName}}, mux, a.wrap)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	return srv, svc
}

func TestREST(t *testing.T) {
	srv, svc := newServer(t)
	cases := []struct {
		name, method, path, token, body string
		status                          int
		code                            string // error code, "" for success
		contains                        string
		mask                            string // the update mask the handler saw
	}{
		{name: "get", method: "GET", path: "/v1/tenants/acme", token: "good", status: 200, contains: `"displayName":"Acme"`},
		{name: "no token", method: "GET", path: "/v1/tenants/acme", status: 401, code: "unauthenticated"},
		{name: "bad token", method: "GET", path: "/v1/tenants/acme", token: "bad", status: 401, code: "unauthenticated"},
		{name: "unknown tenant", method: "GET", path: "/v1/tenants/nope", token: "good", status: 404, code: "not_found", contains: "tenant nope: not found"},
		{name: "unavailable", method: "GET", path: "/v1/tenants/busy", token: "good", status: 503, code: "unavailable"},
		{name: "failed precondition is 412", method: "GET", path: "/v1/tenants/held", token: "good", status: 412, code: "failed_precondition"},
		{name: "unknown path", method: "GET", path: "/v1/nothing", token: "good", status: 404, code: "not_found"},
		{name: "unimplemented", method: "GET", path: "/v1/tenants", token: "good", status: 501, code: "unimplemented"},
		{name: "delete is 204", method: "DELETE", path: "/v1/tenants/acme", token: "good", status: 204},
		{name: "delete without token", method: "DELETE", path: "/v1/tenants/acme", status: 401, code: "unauthenticated"},
		{name: "patch mask from body", method: "PATCH", path: "/v1/tenants/acme", token: "good", body: `{"display_name":"A","allowHttpEndpoints":true}`, status: 200, mask: "allow_http_endpoints,display_name"},
		{name: "patch mask in query, snake case", method: "PATCH", path: "/v1/tenants/acme?update_mask=display_name", token: "good", body: `{"displayName":"A","allowHttpEndpoints":true}`, status: 200, mask: "display_name"},
		{name: "patch mask in query, camel case", method: "PATCH", path: "/v1/tenants/acme?updateMask=displayName", token: "good", body: `{"displayName":"A"}`, status: 200, mask: "display_name"},
		{name: "patch empty body", method: "PATCH", path: "/v1/tenants/acme", token: "good", body: `{}`, status: 400, code: "invalid_argument", contains: "update_mask"},
		{name: "patch not json", method: "PATCH", path: "/v1/tenants/acme", token: "good", body: `nope`, status: 400, code: "invalid_argument"},
		{name: "patch without token", method: "PATCH", path: "/v1/tenants/acme", body: `{"displayName":"A"}`, status: 401, code: "unauthenticated"},
		{name: "passthrough", method: "GET", path: "/healthz", status: 200, contains: "ok"},
		{name: "path parameter not UTF-8", method: "GET", path: "/v1/tenants/%c0%ae%ff", token: "good", status: 400, code: "invalid_argument", contains: "UTF-8"},
		{name: "query parameter not UTF-8", method: "GET", path: "/v1/tenants?pageToken=%ff", token: "good", status: 400, code: "invalid_argument", contains: "UTF-8"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			if tc.body != "" {
				// curl -d sends a form media type; it is read as JSON.
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if tc.status == 204 && len(body) != 0 {
				t.Errorf("204 with body %q", body)
			}
			if tc.code != "" {
				var e openapi.Error
				if err := json.Unmarshal(body, &e); err != nil {
					t.Fatalf("error body %q: %v", body, err)
				}
				if e.Code != tc.code || e.Message == "" || e.Details == nil {
					t.Errorf("error %+v (%s), want code %s with message and details", e, body, tc.code)
				}
				if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("error content type %q", ct)
				}
			}
			if !strings.Contains(string(body), tc.contains) {
				t.Errorf("body %s lacks %q", body, tc.contains)
			}
			if tc.mask != "" && svc.lastMask() != tc.mask {
				t.Errorf("mask %q, want %q", svc.lastMask(), tc.mask)
			}
		})
	}
}

// TestAuthBeforeBody: a call without a token is refused while its body is
// still being sent, for a REST PATCH (whose mask comes from the body) as for
// a POST.
func TestAuthBeforeBody(t *testing.T) {
	srv, _ := newServer(t)
	for _, call := range []struct{ method, path string }{
		{"PATCH", "/v1/tenants/acme"},
		{"POST", "/v1/tenants"},
		{"DELETE", "/v1/tenants/acme"},
	} {
		t.Run(call.method, func(t *testing.T) {
			pr, pw := io.Pipe()
			defer pw.Close()
			go func() { _, _ = pw.Write([]byte(`{"displayName":`)) }() // and never more
			req, err := http.NewRequest(call.method, srv.URL+call.path, pr)
			if err != nil {
				t.Fatal(err)
			}
			// Larger than what net/http drains after a handler that left the
			// body unread, so the answer cannot wait for the body.
			req.ContentLength = 1 << 30
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			resp, err := srv.Client().Do(req.WithContext(ctx))
			if err != nil {
				t.Fatalf("no answer before the body ended: %v", err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", resp.StatusCode)
			}
		})
	}
}

func TestOpenAPIDocument(t *testing.T) {
	srv, _ := newServer(t)
	resp, err := srv.Client().Get(srv.URL + rest.DocumentPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		OpenAPI    string                     `json:"openapi"`
		Paths      map[string]json.RawMessage `json:"paths"`
		Components struct {
			SecuritySchemes map[string]struct {
				Type, Scheme string
			} `json:"securitySchemes"`
		} `json:"components"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(doc.OpenAPI, "3.") || len(doc.Paths) == 0 {
		t.Fatalf("status %d, openapi %q, %d paths", resp.StatusCode, doc.OpenAPI, len(doc.Paths))
	}
	if b := doc.Components.SecuritySchemes["bearer"]; b.Type != "http" || b.Scheme != "bearer" {
		t.Errorf("bearer scheme %+v", b)
	}
}
