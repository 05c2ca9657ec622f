package admin

import (
	"context"
	"testing"

	"connectrpc.com/connect"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"google.golang.org/protobuf/proto"
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
				// A server stream's one request is authorized as it is
				// received; a client stream is authorized before its first
				// message, so by no request field.
				if md.IsStreamingClient() && s.kind != scopeNode && s.kind != scopePlatform {
					t.Errorf("%s streams requests: its scope must need no request field", procedure)
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

// fakeStream is a handler-side stream that holds one request message.
type fakeStream struct {
	connect.StreamingHandlerConn
	spec connect.Spec
	req  proto.Message
}

func (f *fakeStream) Spec() connect.Spec { return f.spec }

func (f *fakeStream) Receive(msg any) error {
	proto.Merge(msg.(proto.Message), f.req)
	return nil
}

// TestUndeclaredStreamFailsClosed: a server stream is authorized on its
// request as it is received, and one whose request declares no scope is
// refused there, before the handler gets past Receive; a client stream
// without a declared scope is refused before the handler runs at all.
func TestUndeclaredStreamFailsClosed(t *testing.T) {
	t.Parallel()
	a := authorizer{}
	ctx := context.WithValue(context.Background(), principalKey{}, Principal{TokenID: "tok_p"})
	reached := false
	handler := a.WrapStreamingHandler(func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		var req hookgatev1.ListTenantsRequest
		if err := conn.Receive(&req); err != nil {
			return err
		}
		reached = true
		return nil
	})
	server := &fakeStream{spec: connect.Spec{Procedure: "/hookgate.v1.FutureService/Watch", StreamType: connect.StreamTypeServer}, req: &hookgatev1.ListTenantsRequest{}}
	if err := handler(ctx, server); connect.CodeOf(err) != connect.CodeInternal || reached {
		t.Fatalf("undeclared server stream: %v (handler went on: %v), want Internal", err, reached)
	}
	client := &fakeStream{spec: connect.Spec{Procedure: "/hookgate.v1.FutureService/Upload", StreamType: connect.StreamTypeClient}, req: &hookgatev1.ListTenantsRequest{}}
	if err := handler(ctx, client); connect.CodeOf(err) != connect.CodeInternal || reached {
		t.Fatalf("undeclared client stream: %v (handler went on: %v), want Internal", err, reached)
	}
	// A tenant-scoped server stream: the tenant's own token passes, another
	// tenant's is refused at Receive.
	tail := &fakeStream{spec: connect.Spec{Procedure: "/hookgate.v1.InboundWebhookService/TailEvents", StreamType: connect.StreamTypeServer},
		req: &hookgatev1.TailEventsRequest{Tenant: "acme"}}
	tailHandler := a.WrapStreamingHandler(func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		var req hookgatev1.TailEventsRequest
		return conn.Receive(&req)
	})
	for _, tt := range []struct {
		tenant string
		code   connect.Code
	}{{"acme", 0}, {"other", connect.CodePermissionDenied}} {
		ctx := context.WithValue(context.Background(), principalKey{}, Principal{TokenID: "tok_t", Tenant: tt.tenant})
		if err := tailHandler(ctx, tail); connect.CodeOf(err) != tt.code && !(tt.code == 0 && err == nil) {
			t.Fatalf("token of %s on acme's tail: %v, want %v", tt.tenant, err, tt.code)
		}
	}
}
