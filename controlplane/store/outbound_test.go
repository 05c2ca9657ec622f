package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hookgate/hookgate/controlplane/store"
	storagev1 "github.com/hookgate/hookgate/gen/hookgate/storage/v1"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/testkit/etcdtest"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func endpointRecord(tenant, app, id string, types ...string) *storagev1.EndpointRecord {
	return &storagev1.EndpointRecord{
		Endpoint: &hookgatev1.Endpoint{Tenant: tenant, ApplicationId: app, Id: id, Url: "https://example.com/" + id, EventTypes: types},
		Secret:   &storagev1.Ciphertext{Sealed: []byte("sealed")},
	}
}

func TestOutboundRecords(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	kv := etcdtest.Start(t).Client(t)
	st := store.New(kv)
	if _, err := st.CreateTenant(ctx, &hookgatev1.Tenant{Id: "acme"}); err != nil {
		t.Fatal(err)
	}
	if n := count(t, kv, store.TenantMirrorKey("acme")); n != 1 {
		t.Fatalf("tenant mirror count %d", n)
	}
	app := func(id, uid string) *storagev1.ApplicationRecord {
		return &storagev1.ApplicationRecord{Application: &hookgatev1.Application{Tenant: "acme", Id: id, Name: id, Uid: uid}}
	}
	if _, err := st.CreateApp(ctx, app("app_1", "cust-1")); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateApp(ctx, app("app_2", "cust-1")); !errors.Is(err, store.ErrAlreadyExists) {
		t.Fatalf("duplicate uid: %v", err)
	}
	if _, err := st.CreateApp(ctx, &storagev1.ApplicationRecord{Application: &hookgatev1.Application{Tenant: "nope", Id: "app_3"}}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing tenant: %v", err)
	}
	if _, err := st.CreateApp(ctx, app("app_2", "cust-2")); err != nil {
		t.Fatal(err)
	}
	// A uid moves only to a free one.
	if _, _, err := st.UpdateApp(ctx, "acme", "app_2", 0, func(r *storagev1.ApplicationRecord) error { r.Application.Uid = "cust-1"; return nil }); !errors.Is(err, store.ErrAlreadyExists) {
		t.Fatalf("uid taken on update: %v", err)
	}
	if _, _, err := st.UpdateApp(ctx, "acme", "app_2", 0, func(r *storagev1.ApplicationRecord) error { r.Application.Uid = "cust-3"; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateApp(ctx, app("app_4", "cust-2")); err != nil {
		t.Fatalf("freed uid: %v", err)
	}

	for _, name := range []string{"order.created", "order.paid"} {
		if _, err := st.CreateEventType(ctx, &storagev1.EventTypeRecord{EventType: &hookgatev1.EventType{Tenant: "acme", Name: name}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := st.UpdateEventType(ctx, "acme", "order.paid", 0, func(r *storagev1.EventTypeRecord) error { r.EventType.Archived = true; return nil }); err != nil {
		t.Fatal(err)
	}
	var ref *store.EventTypeRefError
	if _, err := st.CreateEndpoint(ctx, endpointRecord("acme", "app_1", "ep_x", "order.unknown")); !errors.As(err, &ref) || ref.Archived {
		t.Fatalf("unknown event type: %v", err)
	}
	if _, err := st.CreateEndpoint(ctx, endpointRecord("acme", "app_1", "ep_x", "order.paid")); !errors.As(err, &ref) || !ref.Archived {
		t.Fatalf("archived event type: %v", err)
	}
	if _, err := st.CreateEndpoint(ctx, endpointRecord("acme", "app_9", "ep_x", "order.created")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing application: %v", err)
	}
	for _, id := range []string{"ep_1", "ep_2"} {
		if _, err := st.CreateEndpoint(ctx, endpointRecord("acme", "app_1", id, "order.created")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.CreateEndpoint(ctx, endpointRecord("acme", "app_2", "ep_3", "order.created")); err != nil {
		t.Fatal(err)
	}
	got, _, err := st.Endpoint(ctx, "acme", "ep_2")
	if err != nil || got.GetEndpoint().GetApplicationId() != "app_1" {
		t.Fatalf("endpoint by id: %v %v", got, err)
	}
	items, _, err := st.ListEndpoints(ctx, "acme", "app_1", store.Page{Size: 10})
	if err != nil || len(items) != 2 {
		t.Fatalf("list app_1: %d %v", len(items), err)
	}
	// An endpoint subscribed before the archive keeps it; a new one is refused.
	if _, _, err := st.UpdateEndpoint(ctx, "acme", "ep_1", 0, func(r *storagev1.EndpointRecord) error {
		r.Endpoint.EventTypes = append(r.Endpoint.EventTypes, "order.paid")
		return nil
	}); !errors.As(err, &ref) || !ref.Archived {
		t.Fatalf("subscribe archived on update: %v", err)
	}

	// A previous secret expires through the sweep.
	if _, _, err := st.UpdateEndpoint(ctx, "acme", "ep_3", 0, func(r *storagev1.EndpointRecord) error {
		r.PreviousSecret = &storagev1.PreviousSecret{Value: r.Secret, ExpireTime: timestamppb.New(t0.Add(time.Hour))}
		r.Endpoint.PreviousSecretExpireTime = r.PreviousSecret.ExpireTime
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n, err := st.ExpirePreviousKeys(ctx, t0); err != nil || n != 0 {
		t.Fatalf("early sweep: %d %v", n, err)
	}
	if n, err := st.ExpirePreviousKeys(ctx, t0.Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("sweep: %d %v", n, err)
	}
	if got, _, _ := st.Endpoint(ctx, "acme", "ep_3"); got.GetPreviousSecret() != nil || got.GetEndpoint().GetPreviousSecretExpireTime() != nil {
		t.Fatalf("previous secret kept: %v", got)
	}
	if n := count(t, kv, store.KeyExpiriesPrefix); n != 0 {
		t.Fatalf("expiry entries left: %d", n)
	}

	// Deleting an application removes its endpoints and their index.
	if err := st.DeleteApp(ctx, "acme", "app_1", 0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.Endpoint(ctx, "acme", "ep_1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("endpoint of deleted app: %v", err)
	}
	if n := count(t, kv, store.EndpointsPrefix+"acme/app_1/"); n != 0 {
		t.Fatalf("endpoints left: %d", n)
	}
	if n := count(t, kv, store.EndpointIDsPrefix); n != 1 {
		t.Fatalf("id index entries: %d, want 1 (ep_3)", n)
	}
	if _, err := st.CreateApp(ctx, app("app_5", "cust-1")); err != nil {
		t.Fatalf("uid of deleted app: %v", err)
	}
	if err := st.DeleteEndpoint(ctx, "acme", "ep_3", 1); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale etag: %v", err)
	}

	if err := st.DeleteTenant(ctx, "acme", 0); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{store.AppsPrefix, store.AppUIDsPrefix, store.EventTypesPrefix, store.EndpointsPrefix, store.EndpointIDsPrefix, store.TenantMirrorsPrefix} {
		if n := count(t, kv, p); n != 0 {
			t.Errorf("%s: %d keys left", p, n)
		}
	}
}
