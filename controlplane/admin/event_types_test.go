package admin_test

import (
	"context"
	"strings"
	"testing"

	"connectrpc.com/connect"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/structpb"
)

func mustStruct(t *testing.T, js string) *structpb.Struct {
	t.Helper()
	s := &structpb.Struct{}
	if err := protojson.Unmarshal([]byte(js), s); err != nil {
		t.Fatalf("struct %s: %v", js, err)
	}
	return s
}

func mustValue(t *testing.T, js string) *structpb.Value {
	t.Helper()
	v := &structpb.Value{}
	if err := protojson.Unmarshal([]byte(js), v); err != nil {
		t.Fatalf("value %s: %v", js, err)
	}
	return v
}

const orderSchema = `{"type":"object","required":["orderId","amount"],"properties":{"orderId":{"type":"string"},"amount":{"type":"number","minimum":0},"items":{"type":"array","items":{"type":"object","properties":{"sku":{"type":"string"}}}}}}`

func createEventType(t *testing.T, e *env, tenant, name string) *hookgatev1.EventType {
	t.Helper()
	resp, err := e.eventTypes(e.platform).CreateEventType(context.Background(), connect.NewRequest(&hookgatev1.CreateEventTypeRequest{EventType: &hookgatev1.EventType{Tenant: tenant, Name: name}}))
	if err != nil {
		t.Fatalf("create event type %s: %v", name, err)
	}
	return resp.Msg.EventType
}

func TestEventTypeLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	createTenant(t, e, "acme")
	ets := e.eventTypes(e.platform)

	created, err := ets.CreateEventType(ctx, connect.NewRequest(&hookgatev1.CreateEventTypeRequest{EventType: &hookgatev1.EventType{
		Tenant: "acme", Name: "order.created", Description: "An order was placed",
		Schema: mustStruct(t, orderSchema), Example: mustValue(t, `{"orderId":"ORD-1","amount":12.5}`),
	}}))
	if err != nil {
		t.Fatal(err)
	}
	et := created.Msg.EventType
	if et.Etag == "" || et.Archived || et.Schema == nil {
		t.Fatalf("created %v", et)
	}
	_, err = ets.CreateEventType(ctx, connect.NewRequest(&hookgatev1.CreateEventTypeRequest{EventType: &hookgatev1.EventType{Tenant: "acme", Name: "order.created"}}))
	wantCode(t, err, connect.CodeAlreadyExists)
	createEventType(t, e, "acme", "order.paid")

	// An update whose schema the stored example fails is refused.
	_, err = ets.UpdateEventType(ctx, connect.NewRequest(&hookgatev1.UpdateEventTypeRequest{
		EventType:  &hookgatev1.EventType{Tenant: "acme", Name: "order.created", Schema: mustStruct(t, `{"type":"object","properties":{"amount":{"type":"integer"}}}`)},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"schema"}},
	}))
	wantCode(t, err, connect.CodeInvalidArgument)
	if !strings.Contains(err.Error(), `"/amount"`) {
		t.Fatalf("error %q does not name /amount", err)
	}
	upd, err := ets.UpdateEventType(ctx, connect.NewRequest(&hookgatev1.UpdateEventTypeRequest{
		EventType:  &hookgatev1.EventType{Tenant: "acme", Name: "order.created", Description: "placed", Etag: et.Etag},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"description"}},
	}))
	if err != nil || upd.Msg.EventType.Description != "placed" || upd.Msg.EventType.Schema == nil {
		t.Fatalf("update %v %v", upd, err)
	}

	arch, err := ets.ArchiveEventType(ctx, connect.NewRequest(&hookgatev1.ArchiveEventTypeRequest{Tenant: "acme", Name: "order.paid"}))
	if err != nil || !arch.Msg.EventType.Archived {
		t.Fatalf("archive %v %v", arch, err)
	}
	list := func(all bool) int {
		resp, err := ets.ListEventTypes(ctx, connect.NewRequest(&hookgatev1.ListEventTypesRequest{Tenant: "acme", IncludeArchived: all}))
		if err != nil {
			t.Fatal(err)
		}
		return len(resp.Msg.EventTypes)
	}
	if n, all := list(false), list(true); n != 1 || all != 2 {
		t.Fatalf("listed %d active, %d in all", n, all)
	}
	// Archived types keep their record.
	got, err := ets.GetEventType(ctx, connect.NewRequest(&hookgatev1.GetEventTypeRequest{Tenant: "acme", Name: "order.paid"}))
	if err != nil || !got.Msg.EventType.Archived {
		t.Fatalf("get archived %v %v", got, err)
	}
	if _, err := ets.UnarchiveEventType(ctx, connect.NewRequest(&hookgatev1.UnarchiveEventTypeRequest{Tenant: "acme", Name: "order.paid"})); err != nil {
		t.Fatal(err)
	}
	if n := list(false); n != 2 {
		t.Fatalf("listed %d after unarchive", n)
	}
	_, err = ets.DeleteEventType(ctx, connect.NewRequest(&hookgatev1.DeleteEventTypeRequest{Tenant: "acme", Name: "order.paid"}))
	wantCode(t, err, connect.CodeFailedPrecondition)
	_, err = ets.ArchiveEventType(ctx, connect.NewRequest(&hookgatev1.ArchiveEventTypeRequest{Tenant: "acme", Name: "order.none"}))
	wantCode(t, err, connect.CodeNotFound)
	_, err = ets.ArchiveEventType(ctx, connect.NewRequest(&hookgatev1.ArchiveEventTypeRequest{Tenant: "acme", Name: "order.paid", Etag: et.Etag}))
	wantCode(t, err, connect.CodeAborted)
}

func TestEventTypeValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	createTenant(t, e, "acme")
	ets := e.eventTypes(e.platform)
	tests := []struct {
		name    string
		et      *hookgatev1.EventType
		field   string
		message string
	}{
		{"no tenant", &hookgatev1.EventType{Name: "a.b"}, "event_type.tenant", ""},
		{"empty name", &hookgatev1.EventType{Tenant: "acme"}, "event_type.name", ""},
		{"upper case", &hookgatev1.EventType{Tenant: "acme", Name: "Order.Created"}, "event_type.name", ""},
		{"empty segment", &hookgatev1.EventType{Tenant: "acme", Name: "order..created"}, "event_type.name", ""},
		{"trailing dot", &hookgatev1.EventType{Tenant: "acme", Name: "order."}, "event_type.name", ""},
		{"wildcard", &hookgatev1.EventType{Tenant: "acme", Name: "order.*"}, "event_type.name", ""},
		{"space", &hookgatev1.EventType{Tenant: "acme", Name: "order created"}, "event_type.name", ""},
		{"too long", &hookgatev1.EventType{Tenant: "acme", Name: strings.Repeat("a", 129)}, "event_type.name", ""},
		{"long description", &hookgatev1.EventType{Tenant: "acme", Name: "a.b", Description: strings.Repeat("d", 1025)}, "event_type.description", ""},
		{"bad schema type", &hookgatev1.EventType{Tenant: "acme", Name: "a.b", Schema: mustStruct(t, `{"type":5}`)}, "event_type.schema", ""},
		{"bad schema pattern", &hookgatev1.EventType{Tenant: "acme", Name: "a.b", Schema: mustStruct(t, `{"type":"string","pattern":"("}`)}, "event_type.schema", ""},
		{"schema refers to a file", &hookgatev1.EventType{Tenant: "acme", Name: "a.b", Schema: mustStruct(t, `{"$ref":"file:///etc/passwd"}`)}, "event_type.schema", "refer to themselves"},
		{"schema refers to a URL", &hookgatev1.EventType{Tenant: "acme", Name: "a.b", Schema: mustStruct(t, `{"$ref":"https://example.com/s.json"}`)}, "event_type.schema", "refer to themselves"},
		{"example misses a field", &hookgatev1.EventType{Tenant: "acme", Name: "a.b", Schema: mustStruct(t, orderSchema), Example: mustValue(t, `{"orderId":"x"}`)}, "event_type.example", `""`},
		{"example wrong type", &hookgatev1.EventType{Tenant: "acme", Name: "a.b", Schema: mustStruct(t, orderSchema), Example: mustValue(t, `{"orderId":"x","amount":"12"}`)}, "event_type.example", `"/amount"`},
		{"example nested", &hookgatev1.EventType{Tenant: "acme", Name: "a.b", Schema: mustStruct(t, orderSchema), Example: mustValue(t, `{"orderId":"x","amount":1,"items":[{"sku":"a"},{"sku":2}]}`)}, "event_type.example", `"/items/1/sku"`},
		{"example below minimum", &hookgatev1.EventType{Tenant: "acme", Name: "a.b", Schema: mustStruct(t, orderSchema), Example: mustValue(t, `{"orderId":"x","amount":-1}`)}, "event_type.example", `"/amount"`},
		{"huge schema", &hookgatev1.EventType{Tenant: "acme", Name: "a.b", Schema: mustStruct(t, `{"description":"`+strings.Repeat("x", 70000)+`"}`)}, "event_type.schema", "at most"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ets.CreateEventType(ctx, connect.NewRequest(&hookgatev1.CreateEventTypeRequest{EventType: tt.et}))
			wantCode(t, err, connect.CodeInvalidArgument)
			if !strings.Contains(err.Error(), tt.field) || !strings.Contains(err.Error(), tt.message) {
				t.Fatalf("error %q does not name %s / %s", err, tt.field, tt.message)
			}
		})
	}
	// Good names, for contrast.
	for _, name := range []string{"order.created", "a", "user_profile-v2.updated.now", "x.1"} {
		createEventType(t, e, "acme", name)
	}
	_, err := ets.GetEventType(ctx, connect.NewRequest(&hookgatev1.GetEventTypeRequest{Tenant: "acme", Name: "Bad"}))
	wantCode(t, err, connect.CodeInvalidArgument)
	_, err = ets.UpdateEventType(ctx, connect.NewRequest(&hookgatev1.UpdateEventTypeRequest{EventType: &hookgatev1.EventType{Tenant: "acme", Name: "a"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"name"}}}))
	wantCode(t, err, connect.CodeInvalidArgument)
}
