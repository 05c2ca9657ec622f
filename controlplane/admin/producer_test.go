package admin_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"github.com/hookgate/hookgate/controlplane/secrets"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

func TestCreateProducerToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	createTenant(t, e, "acme")
	createTenant(t, e, "globex")
	acmeAdmin, err := e.tenants(e.platform).CreateAdminToken(ctx, connect.NewRequest(&hookgatev1.CreateAdminTokenRequest{Tenant: "acme"}))
	if err != nil {
		t.Fatal(err)
	}
	producer := hookgatev1.AdminTokenKind_ADMIN_TOKEN_KIND_PRODUCER
	tests := []struct {
		name       string
		caller     string
		req        *hookgatev1.CreateAdminTokenRequest
		code       connect.Code // 0: success
		field      string
		wantPrefix string
		wantKind   hookgatev1.AdminTokenKind
	}{
		{name: "platform creates a producer token", caller: e.platform, req: &hookgatev1.CreateAdminTokenRequest{Tenant: "acme", Kind: producer, Description: "orders service"}, wantPrefix: "hgp_", wantKind: producer},
		{name: "tenant token creates its own producer token", caller: acmeAdmin.Msg.Token, req: &hookgatev1.CreateAdminTokenRequest{Tenant: "acme", Kind: producer}, wantPrefix: "hgp_", wantKind: producer},
		{name: "unset kind is an admin token", caller: e.platform, req: &hookgatev1.CreateAdminTokenRequest{Tenant: "acme"}, wantPrefix: "hga_", wantKind: hookgatev1.AdminTokenKind_ADMIN_TOKEN_KIND_ADMIN},
		{name: "producer token needs a tenant", caller: e.platform, req: &hookgatev1.CreateAdminTokenRequest{Kind: producer}, code: connect.CodeInvalidArgument, field: "tenant"},
		{name: "unknown kind", caller: e.platform, req: &hookgatev1.CreateAdminTokenRequest{Tenant: "acme", Kind: 99}, code: connect.CodeInvalidArgument, field: "kind"},
		{name: "tenant token for another tenant", caller: acmeAdmin.Msg.Token, req: &hookgatev1.CreateAdminTokenRequest{Tenant: "globex", Kind: producer}, code: connect.CodePermissionDenied},
		{name: "unknown tenant", caller: e.platform, req: &hookgatev1.CreateAdminTokenRequest{Tenant: "nobody", Kind: producer}, code: connect.CodeNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := e.tenants(tt.caller).CreateAdminToken(ctx, connect.NewRequest(tt.req))
			if tt.code != 0 {
				wantCode(t, err, tt.code)
				if !strings.Contains(err.Error(), tt.field) {
					t.Fatalf("error %q does not name %q", err, tt.field)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(resp.Msg.Token, tt.wantPrefix) || resp.Msg.AdminToken.Kind != tt.wantKind || resp.Msg.AdminToken.Prefix != resp.Msg.Token[:8] {
				t.Fatalf("token %s… kind %s prefix %q", resp.Msg.Token[:4], resp.Msg.AdminToken.Kind, resp.Msg.AdminToken.Prefix)
			}
			// Only the digest is stored.
			rec, err := e.store.Token(ctx, resp.Msg.AdminToken.Id)
			if err != nil {
				t.Fatal(err)
			}
			if !secrets.Equal(rec.GetSha256(), secrets.Digest(resp.Msg.Token)) || strings.Contains(rec.String(), resp.Msg.Token) {
				t.Fatal("stored record is not the digest alone")
			}
		})
	}
	// Listing shows producer tokens with their kind.
	list, err := e.tenants(e.platform).ListAdminTokens(ctx, connect.NewRequest(&hookgatev1.ListAdminTokensRequest{Tenant: "acme"}))
	if err != nil {
		t.Fatal(err)
	}
	producers := 0
	for _, tok := range list.Msg.AdminTokens {
		if tok.Kind == producer {
			producers++
		}
	}
	if producers != 2 {
		t.Fatalf("listed %d producer tokens, want 2", producers)
	}
}

// TestEveryMethodRefusesProducerToken sweeps every method of every service
// with a producer token of the tenant the request names: each is refused
// (PermissionDenied), ListTenants included, and nothing gets past
// authentication.
func TestEveryMethodRefusesProducerToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	createTenant(t, e, "acme")
	prod, err := e.tenants(e.platform).CreateAdminToken(ctx, connect.NewRequest(&hookgatev1.CreateAdminTokenRequest{
		Tenant: "acme", Kind: hookgatev1.AdminTokenKind_ADMIN_TOKEN_KIND_PRODUCER,
	}))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(e.mux)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	ids := sweepIDs{webhookID: "wh_acme", tokenID: prod.Msg.AdminToken.Id}
	methods := 0
	protoregistry.GlobalFiles.RangeFilesByPackage("hookgate.v1", func(fd protoreflect.FileDescriptor) bool {
		for i := range fd.Services().Len() {
			sd := fd.Services().Get(i)
			for j := range sd.Methods().Len() {
				md := sd.Methods().Get(j)
				methods++
				procedure := "/" + string(sd.FullName()) + "/" + string(md.Name())
				t.Run(procedure, func(t *testing.T) {
					mt, err := protoregistry.GlobalTypes.FindMessageByName(md.Input().FullName())
					if err != nil {
						t.Fatal(err)
					}
					req := mt.New()
					fill(req, ids, 0)
					msg, err := protojson.Marshal(req.Interface())
					if err != nil {
						t.Fatal(err)
					}
					streaming := md.IsStreamingClient() || md.IsStreamingServer()
					code, body := call(t, srv.Client(), srv.URL, procedure, streaming, msg, prod.Msg.Token)
					// The config stream authenticates nodes itself and
					// refuses any token that is not a node credential.
					if code != "permission_denied" && !(streaming && code == "unauthenticated") {
						t.Fatalf("request %s: code %s (%s), want permission_denied", msg, code, body)
					}
				})
			}
		}
		return true
	})
	if methods < 40 {
		t.Fatalf("swept %d methods", methods)
	}
	// Not vacuous: the same call with an admin token of acme answers.
	acmeTok, err := e.tenants(e.platform).CreateAdminToken(ctx, connect.NewRequest(&hookgatev1.CreateAdminTokenRequest{Tenant: "acme"}))
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := call(t, srv.Client(), srv.URL, "/hookgate.v1.TenantService/GetTenant", false, []byte(`{"tenant":"acme"}`), acmeTok.Msg.Token); code != "ok" {
		t.Fatalf("acme admin token on GetTenant: %s", code)
	}
}
