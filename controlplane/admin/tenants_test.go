package admin_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

func TestTenantsAndTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	ts := e.tenants(e.platform)

	// Unauthenticated calls fail before anything else.
	_, err := e.tenants("").ListTenants(ctx, connect.NewRequest(&hookgatev1.ListTenantsRequest{}))
	wantCode(t, err, connect.CodeUnauthenticated)
	_, err = e.tenants("hga_not-a-real-token").ListTenants(ctx, connect.NewRequest(&hookgatev1.ListTenantsRequest{}))
	wantCode(t, err, connect.CodeUnauthenticated)

	for _, id := range []string{"acme", "globex", "initech"} {
		if _, err := ts.CreateTenant(ctx, connect.NewRequest(&hookgatev1.CreateTenantRequest{Tenant: &hookgatev1.Tenant{Id: id, DisplayName: strings.ToUpper(id)}})); err != nil {
			t.Fatalf("create tenant %s: %v", id, err)
		}
	}
	_, err = ts.CreateTenant(ctx, connect.NewRequest(&hookgatev1.CreateTenantRequest{Tenant: &hookgatev1.Tenant{Id: "acme"}}))
	wantCode(t, err, connect.CodeAlreadyExists)
	for _, bad := range []string{"AC", "Acme", "a_b", strings.Repeat("x", 51), ""} {
		_, err = ts.CreateTenant(ctx, connect.NewRequest(&hookgatev1.CreateTenantRequest{Tenant: &hookgatev1.Tenant{Id: bad}}))
		wantCode(t, err, connect.CodeInvalidArgument)
		if !strings.Contains(err.Error(), "tenant.id") {
			t.Fatalf("error %q does not name the field", err)
		}
	}

	// Every settable field is kept at creation, none silently dropped; a bad
	// schedule is refused naming its delay.
	schedule := &hookgatev1.RetrySchedule{Delays: []*durationpb.Duration{durationpb.New(0), durationpb.New(time.Minute)}}
	created, err := ts.CreateTenant(ctx, connect.NewRequest(&hookgatev1.CreateTenantRequest{Tenant: &hookgatev1.Tenant{
		Id: "umbrella", AllowHttpEndpoints: true, AllowEndpointSecretRead: proto.Bool(false), RetrySchedule: schedule}}))
	if err != nil {
		t.Fatal(err)
	}
	got, err := ts.GetTenant(ctx, connect.NewRequest(&hookgatev1.GetTenantRequest{Tenant: "umbrella"}))
	if err != nil {
		t.Fatal(err)
	}
	for _, tn := range []*hookgatev1.Tenant{created.Msg.Tenant, got.Msg.Tenant} {
		if !tn.AllowHttpEndpoints || tn.AllowEndpointSecretRead == nil || *tn.AllowEndpointSecretRead || !proto.Equal(tn.RetrySchedule, schedule) {
			t.Errorf("created tenant lost fields: %v", tn)
		}
	}
	_, err = ts.CreateTenant(ctx, connect.NewRequest(&hookgatev1.CreateTenantRequest{Tenant: &hookgatev1.Tenant{
		Id: "hooli", RetrySchedule: &hookgatev1.RetrySchedule{Delays: []*durationpb.Duration{durationpb.New(-time.Second)}}}}))
	wantCode(t, err, connect.CodeInvalidArgument)
	if !strings.Contains(err.Error(), "tenant.retry_schedule.delays[0]") {
		t.Errorf("error %q does not name the delay", err)
	}
	if _, err := ts.DeleteTenant(ctx, connect.NewRequest(&hookgatev1.DeleteTenantRequest{Tenant: "umbrella"})); err != nil {
		t.Fatal(err)
	}

	// Paging walks every tenant exactly once.
	var seen []string
	token := ""
	for {
		resp, err := ts.ListTenants(ctx, connect.NewRequest(&hookgatev1.ListTenantsRequest{PageSize: 2, PageToken: token}))
		if err != nil {
			t.Fatal(err)
		}
		for _, tn := range resp.Msg.Tenants {
			seen = append(seen, tn.Id)
		}
		if token = resp.Msg.NextPageToken; token == "" {
			break
		}
	}
	if strings.Join(seen, ",") != "acme,globex,initech" {
		t.Fatalf("paged tenants %v", seen)
	}
	_, err = ts.ListTenants(ctx, connect.NewRequest(&hookgatev1.ListTenantsRequest{PageToken: "garbage"}))
	wantCode(t, err, connect.CodeInvalidArgument)

	// A tenant token sees and changes only its own tenant.
	tok, err := ts.CreateAdminToken(ctx, connect.NewRequest(&hookgatev1.CreateAdminTokenRequest{Tenant: "acme", Description: "ci"}))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok.Msg.Token, "hga_") || tok.Msg.AdminToken.Prefix != tok.Msg.Token[:8] {
		t.Fatalf("token %q prefix %q", tok.Msg.Token[:4], tok.Msg.AdminToken.Prefix)
	}
	acme := e.tenants(tok.Msg.Token)
	list, err := acme.ListTenants(ctx, connect.NewRequest(&hookgatev1.ListTenantsRequest{}))
	if err != nil || len(list.Msg.Tenants) != 1 || list.Msg.Tenants[0].Id != "acme" {
		t.Fatalf("tenant token lists %v, %v", list, err)
	}
	_, err = acme.GetTenant(ctx, connect.NewRequest(&hookgatev1.GetTenantRequest{Tenant: "globex"}))
	wantCode(t, err, connect.CodePermissionDenied)
	_, err = acme.CreateTenant(ctx, connect.NewRequest(&hookgatev1.CreateTenantRequest{Tenant: &hookgatev1.Tenant{Id: "evil"}}))
	wantCode(t, err, connect.CodePermissionDenied)
	_, err = acme.CreateAdminToken(ctx, connect.NewRequest(&hookgatev1.CreateAdminTokenRequest{Tenant: "globex"}))
	wantCode(t, err, connect.CodePermissionDenied)
	_, err = acme.CreateAdminToken(ctx, connect.NewRequest(&hookgatev1.CreateAdminTokenRequest{}))
	wantCode(t, err, connect.CodePermissionDenied)
	_, err = acme.DeleteTenant(ctx, connect.NewRequest(&hookgatev1.DeleteTenantRequest{Tenant: "globex"}))
	wantCode(t, err, connect.CodePermissionDenied)
	upd, err := acme.UpdateTenant(ctx, connect.NewRequest(&hookgatev1.UpdateTenantRequest{
		Tenant:     &hookgatev1.Tenant{Id: "acme", DisplayName: "Acme Corp"},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name"}},
	}))
	if err != nil || upd.Msg.Tenant.DisplayName != "Acme Corp" {
		t.Fatalf("tenant renames itself: %v", err)
	}
	_, err = acme.UpdateTenant(ctx, connect.NewRequest(&hookgatev1.UpdateTenantRequest{
		Tenant:     &hookgatev1.Tenant{Id: "acme", AllowHttpEndpoints: true},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"allow_http_endpoints"}},
	}))
	wantCode(t, err, connect.CodePermissionDenied)

	// A globex token cannot see or revoke acme's token: NotFound, not data.
	gtok, err := ts.CreateAdminToken(ctx, connect.NewRequest(&hookgatev1.CreateAdminTokenRequest{Tenant: "globex"}))
	if err != nil {
		t.Fatal(err)
	}
	globex := e.tenants(gtok.Msg.Token)
	_, err = globex.RevokeAdminToken(ctx, connect.NewRequest(&hookgatev1.RevokeAdminTokenRequest{Id: tok.Msg.AdminToken.Id}))
	wantCode(t, err, connect.CodeNotFound)
	_, err = globex.ListAdminTokens(ctx, connect.NewRequest(&hookgatev1.ListAdminTokensRequest{Tenant: "acme"}))
	wantCode(t, err, connect.CodePermissionDenied)
	lt, err := acme.ListAdminTokens(ctx, connect.NewRequest(&hookgatev1.ListAdminTokensRequest{Tenant: "acme"}))
	if err != nil || len(lt.Msg.AdminTokens) != 1 || lt.Msg.AdminTokens[0].Id != tok.Msg.AdminToken.Id {
		t.Fatalf("acme tokens %v, %v", lt, err)
	}

	// Revocation takes effect on the next call.
	if _, err := ts.RevokeAdminToken(ctx, connect.NewRequest(&hookgatev1.RevokeAdminTokenRequest{Id: tok.Msg.AdminToken.Id})); err != nil {
		t.Fatal(err)
	}
	_, err = acme.GetTenant(ctx, connect.NewRequest(&hookgatev1.GetTenantRequest{Tenant: "acme"}))
	wantCode(t, err, connect.CodeUnauthenticated)

	// Deleting a tenant removes its tokens too.
	if _, err := ts.DeleteTenant(ctx, connect.NewRequest(&hookgatev1.DeleteTenantRequest{Tenant: "globex"})); err != nil {
		t.Fatal(err)
	}
	_, err = globex.GetTenant(ctx, connect.NewRequest(&hookgatev1.GetTenantRequest{Tenant: "globex"}))
	wantCode(t, err, connect.CodeUnauthenticated)
	_, err = ts.GetTenant(ctx, connect.NewRequest(&hookgatev1.GetTenantRequest{Tenant: "globex"}))
	wantCode(t, err, connect.CodeNotFound)
	_, err = ts.CreateAdminToken(ctx, connect.NewRequest(&hookgatev1.CreateAdminTokenRequest{Tenant: "globex"}))
	wantCode(t, err, connect.CodeNotFound)
}
