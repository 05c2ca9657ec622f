package admin

import (
	"context"
	"testing"

	"connectrpc.com/connect"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"
)

// TestUndeclaredMethodFailsClosed: a method the interceptor does not know,
// whose request has no tenant, is refused for every caller, platform
// included, rather than let through.
func TestUndeclaredMethodFailsClosed(t *testing.T) {
	t.Parallel()
	a := authorizer{}
	for _, p := range []Principal{{TokenID: "tok_p"}, {TokenID: "tok_t", Tenant: "acme"}} {
		ctx := context.WithValue(context.Background(), principalKey{}, p)
		err := a.authorize(ctx, "/hookgate.v1.FutureService/DoThing", &hookgatev1.ListTenantsRequest{})
		if connect.CodeOf(err) != connect.CodeInternal {
			t.Fatalf("principal %+v: undeclared method answers %v, want Internal", p, err)
		}
	}
	// A declared path that does not exist in the request fails closed too.
	if _, ok := stringAt(&hookgatev1.CreateWebhookRequest{}, "webhook.tenant_id"); ok {
		t.Fatal("stringAt resolved a field that does not exist")
	}
	if _, ok := stringAt(&hookgatev1.CreateWebhookRequest{}, "webhook.bindings"); ok {
		t.Fatal("stringAt resolved a repeated field")
	}
}

// TestEveryMethodDeclaresAScope checks the scope table against the
// descriptors: each method has a scope, each declared field path names a
// string field of its request, and no entry names a method that is gone.
func TestEveryMethodDeclaresAScope(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	protoregistry.GlobalFiles.RangeFilesByPackage("hookgate.v1", func(fd protoreflect.FileDescriptor) bool {
		for i := range fd.Services().Len() {
			sd := fd.Services().Get(i)
			for j := range sd.Methods().Len() {
				md := sd.Methods().Get(j)
				procedure := "/" + string(sd.FullName()) + "/" + string(md.Name())
				seen[procedure] = true
				mt, err := protoregistry.GlobalTypes.FindMessageByName(md.Input().FullName())
				if err != nil {
					t.Fatal(err)
				}
				req := mt.New().Interface()
				s, ok := scopeOf(procedure, req)
				if !ok {
					t.Errorf("%s declares no scope: add it to scopes in authz.go", procedure)
					continue
				}
				streaming := md.IsStreamingClient() || md.IsStreamingServer()
				if streaming && s.kind != scopeNode && s.kind != scopePlatform {
					t.Errorf("%s streams: its scope must need no request field", procedure)
				}
				if s.kind == scopeTenant || s.kind == scopeTokenID {
					if _, ok := stringAt(req, s.field); !ok {
						t.Errorf("%s: %q is not a string field of %s", procedure, s.field, md.Input().FullName())
					}
				}
			}
		}
		return true
	})
	for procedure := range scopes {
		if !seen[procedure] {
			t.Errorf("scopes names %s, which no service has", procedure)
		}
	}
	// dynamicpb messages (no generated accessor) are not tenant-scoped by
	// default: the default keys on the generated GetTenant() accessor.
	md := (&hookgatev1.GetTenantRequest{}).ProtoReflect().Descriptor()
	if _, ok := scopeOf("/x.Y/Z", dynamicpb.NewMessage(md)); ok {
		t.Fatal("a request without GetTenant() got a default scope")
	}
}
