package admin_test

import (
	"context"
	"strings"
	"testing"

	"connectrpc.com/connect"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

func TestApplicationLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	createTenant(t, e, "acme")
	apps := e.apps(e.platform)

	created, err := apps.CreateApplication(ctx, connect.NewRequest(&hookgatev1.CreateApplicationRequest{Application: &hookgatev1.Application{
		Tenant: "acme", Name: "Globex", Uid: "cust-42", Metadata: map[string]string{"plan": "gold"},
	}}))
	if err != nil {
		t.Fatal(err)
	}
	a := created.Msg.Application
	if !strings.HasPrefix(a.Id, "app_") || a.Etag == "" || a.Uid != "cust-42" || a.Metadata["plan"] != "gold" || a.CreateTime == nil {
		t.Fatalf("created %v", a)
	}
	_, err = apps.CreateApplication(ctx, connect.NewRequest(&hookgatev1.CreateApplicationRequest{Application: &hookgatev1.Application{Tenant: "acme", Name: "Other", Uid: "cust-42"}}))
	wantCode(t, err, connect.CodeAlreadyExists)
	_, err = apps.CreateApplication(ctx, connect.NewRequest(&hookgatev1.CreateApplicationRequest{Application: &hookgatev1.Application{Tenant: "nope", Name: "x"}}))
	wantCode(t, err, connect.CodeNotFound)

	got, err := apps.GetApplication(ctx, connect.NewRequest(&hookgatev1.GetApplicationRequest{Tenant: "acme", ApplicationId: a.Id}))
	if err != nil || got.Msg.Application.Name != "Globex" {
		t.Fatalf("get %v %v", got, err)
	}
	upd, err := apps.UpdateApplication(ctx, connect.NewRequest(&hookgatev1.UpdateApplicationRequest{
		Application: &hookgatev1.Application{Tenant: "acme", Id: a.Id, Name: "Globex Corp", Etag: a.Etag},
		UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"name"}},
	}))
	if err != nil || upd.Msg.Application.Name != "Globex Corp" || upd.Msg.Application.Uid != "cust-42" {
		t.Fatalf("update %v %v", upd, err)
	}
	// The old etag is stale now.
	_, err = apps.UpdateApplication(ctx, connect.NewRequest(&hookgatev1.UpdateApplicationRequest{
		Application: &hookgatev1.Application{Tenant: "acme", Id: a.Id, Name: "x", Etag: a.Etag},
		UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"name"}},
	}))
	wantCode(t, err, connect.CodeAborted)

	for i := range 3 {
		if _, err := apps.CreateApplication(ctx, connect.NewRequest(&hookgatev1.CreateApplicationRequest{Application: &hookgatev1.Application{Tenant: "acme", Name: "app " + string(rune('a'+i))}})); err != nil {
			t.Fatal(err)
		}
	}
	var seen []string
	token := ""
	for {
		page, err := apps.ListApplications(ctx, connect.NewRequest(&hookgatev1.ListApplicationsRequest{Tenant: "acme", PageSize: 3, PageToken: token}))
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range page.Msg.Applications {
			seen = append(seen, x.Id)
		}
		if token = page.Msg.NextPageToken; token == "" {
			break
		}
	}
	if len(seen) != 4 {
		t.Fatalf("listed %d applications, want 4", len(seen))
	}
	_, err = apps.DeleteApplication(ctx, connect.NewRequest(&hookgatev1.DeleteApplicationRequest{Tenant: "acme", ApplicationId: a.Id, Etag: a.Etag}))
	wantCode(t, err, connect.CodeAborted)
	if _, err := apps.DeleteApplication(ctx, connect.NewRequest(&hookgatev1.DeleteApplicationRequest{Tenant: "acme", ApplicationId: a.Id})); err != nil {
		t.Fatal(err)
	}
	_, err = apps.GetApplication(ctx, connect.NewRequest(&hookgatev1.GetApplicationRequest{Tenant: "acme", ApplicationId: a.Id}))
	wantCode(t, err, connect.CodeNotFound)
}

func TestApplicationValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	createTenant(t, e, "acme")
	apps := e.apps(e.platform)
	manyMeta := map[string]string{}
	for i := range 33 {
		manyMeta["k"+strings.Repeat("x", i)] = "v"
	}
	tests := []struct {
		name  string
		app   *hookgatev1.Application
		field string
	}{
		{"no tenant", &hookgatev1.Application{Name: "x"}, "application.tenant"},
		{"empty name", &hookgatev1.Application{Tenant: "acme", Name: "  "}, "application.name"},
		{"long name", &hookgatev1.Application{Tenant: "acme", Name: strings.Repeat("n", 257)}, "application.name"},
		{"uid with space", &hookgatev1.Application{Tenant: "acme", Name: "x", Uid: "a b"}, "application.uid"},
		{"uid like an id", &hookgatev1.Application{Tenant: "acme", Name: "x", Uid: "app_123"}, "application.uid"},
		{"too much metadata", &hookgatev1.Application{Tenant: "acme", Name: "x", Metadata: manyMeta}, "application.metadata"},
		{"metadata key", &hookgatev1.Application{Tenant: "acme", Name: "x", Metadata: map[string]string{"a b": "v"}}, "application.metadata"},
		{"metadata value", &hookgatev1.Application{Tenant: "acme", Name: "x", Metadata: map[string]string{"k": strings.Repeat("v", 513)}}, "application.metadata"},
		{"negative rate", &hookgatev1.Application{Tenant: "acme", Name: "x", RateLimitPerSecond: -1}, "application.rate_limit_per_second"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := apps.CreateApplication(ctx, connect.NewRequest(&hookgatev1.CreateApplicationRequest{Application: tt.app}))
			wantCode(t, err, connect.CodeInvalidArgument)
			if !strings.Contains(err.Error(), tt.field) {
				t.Fatalf("error %q does not name %s", err, tt.field)
			}
		})
	}
	refs := []struct {
		name string
		call func() error
	}{
		{"get bad id", func() error {
			_, err := apps.GetApplication(ctx, connect.NewRequest(&hookgatev1.GetApplicationRequest{Tenant: "acme", ApplicationId: "wh_1"}))
			return err
		}},
		{"update without mask", func() error {
			_, err := apps.UpdateApplication(ctx, connect.NewRequest(&hookgatev1.UpdateApplicationRequest{Application: &hookgatev1.Application{Tenant: "acme", Id: "app_1"}}))
			return err
		}},
		{"update unknown field", func() error {
			_, err := apps.UpdateApplication(ctx, connect.NewRequest(&hookgatev1.UpdateApplicationRequest{
				Application: &hookgatev1.Application{Tenant: "acme", Id: "app_1"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"id"}}}))
			return err
		}},
		{"delete bad etag", func() error {
			_, err := apps.DeleteApplication(ctx, connect.NewRequest(&hookgatev1.DeleteApplicationRequest{Tenant: "acme", ApplicationId: "app_1", Etag: "x"}))
			return err
		}},
		{"list bad token", func() error {
			_, err := apps.ListApplications(ctx, connect.NewRequest(&hookgatev1.ListApplicationsRequest{Tenant: "acme", PageToken: "!!"}))
			return err
		}},
	}
	for _, tt := range refs {
		t.Run(tt.name, func(t *testing.T) { wantCode(t, tt.call(), connect.CodeInvalidArgument) })
	}
}
