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
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/types/known/timestamppb"
)

var t0 = time.Date(2026, 3, 23, 15, 30, 0, 0, time.UTC)

// setParam stores a parameter whose sealed value is the plain bytes (the
// store never looks inside), moving the old value to previous with expiry.
func setParam(t *testing.T, st *store.Store, tenant, name, value string, prevExpiry time.Time) {
	t.Helper()
	_, _, err := st.SetConfigParam(context.Background(), tenant, name, func(old *storagev1.ConfigParamRecord) (*storagev1.ConfigParamRecord, error) {
		rec := &storagev1.ConfigParamRecord{
			Param: &hookgatev1.ConfigParam{Tenant: tenant, Name: name, CreateTime: timestamppb.New(t0), UpdateTime: timestamppb.New(t0)},
			Value: &storagev1.Ciphertext{Sealed: []byte(value)},
		}
		if old != nil {
			rec.PreviousValue = old.Value
			rec.PreviousExpireTime = timestamppb.New(prevExpiry)
		}
		return rec, nil
	})
	if err != nil {
		t.Fatalf("set %s: %v", name, err)
	}
}

func webhookRecord(tenant, id string, refs map[string]string) *storagev1.WebhookRecord {
	return &storagev1.WebhookRecord{
		Webhook:            &hookgatev1.Webhook{Tenant: tenant, Id: id, Name: "hook " + id, Provider: hookgatev1.Provider_PROVIDER_STRIPE},
		ProviderSecretRefs: refs,
	}
}

func count(t *testing.T, kv clientv3.KV, prefix string) int64 {
	t.Helper()
	resp, err := kv.Get(context.Background(), prefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	return resp.Count
}

func TestConfigParamReferences(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	kv := etcdtest.Start(t).Client(t)
	st := store.New(kv)
	createTenant(t, st, "acme")

	// A reference to a missing parameter is refused, naming both.
	_, err := st.CreateWebhook(ctx, webhookRecord("acme", "wh_a", map[string]string{"signing_secret": "stripe_live"}))
	var missing *store.MissingParamError
	if !errors.As(err, &missing) || !errors.Is(err, store.ErrMissingParam) || missing.Secret != "signing_secret" || missing.Param != "stripe_live" {
		t.Fatalf("create with missing parameter: %v", err)
	}
	if _, _, err := st.SetConfigParam(ctx, "nope", "x", func(*storagev1.ConfigParamRecord) (*storagev1.ConfigParamRecord, error) {
		return &storagev1.ConfigParamRecord{Param: &hookgatev1.ConfigParam{Tenant: "nope", Name: "x"}}, nil
	}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("set in a missing tenant: %v", err)
	}

	setParam(t, st, "acme", "stripe_live", "v1", time.Time{})
	setParam(t, st, "acme", "other", "o1", time.Time{})
	if _, err := st.CreateWebhook(ctx, webhookRecord("acme", "wh_a", map[string]string{"signing_secret": "stripe_live"})); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteConfigParam(ctx, "acme", "stripe_live"); !errors.Is(err, store.ErrInUse) {
		t.Fatalf("delete a parameter in use: %v", err)
	} else if iu := (*store.InUseError)(nil); !errors.As(err, &iu) || iu.WebhookID != "wh_a" {
		t.Fatalf("in use error names %v", err)
	}
	// Moving the reference to another parameter frees the first.
	if _, _, err := st.UpdateWebhook(ctx, "acme", "wh_a", 0, func(rec *storagev1.WebhookRecord) error {
		rec.ProviderSecretRefs = map[string]string{"signing_secret": "other"}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteConfigParam(ctx, "acme", "stripe_live"); err != nil {
		t.Fatalf("delete a free parameter: %v", err)
	}
	// An update to a missing parameter is refused and changes nothing.
	_, _, err = st.UpdateWebhook(ctx, "acme", "wh_a", 0, func(rec *storagev1.WebhookRecord) error {
		rec.ProviderSecretRefs = map[string]string{"signing_secret": "stripe_live"}
		return nil
	})
	if !errors.Is(err, store.ErrMissingParam) {
		t.Fatalf("update to a missing parameter: %v", err)
	}
	if err := st.DeleteConfigParam(ctx, "acme", "other"); !errors.Is(err, store.ErrInUse) {
		t.Fatalf("the failed update dropped the reference: %v", err)
	}
	items, _, err := st.ListConfigParams(ctx, "acme", store.Page{Size: 10})
	if err != nil || len(items) != 1 || items[0].Record.GetParam().GetName() != "other" {
		t.Fatalf("list: %v, %v", items, err)
	}
	// Deleting the webhook drops its references.
	if err := st.DeleteWebhook(ctx, "acme", "wh_a", 0); err != nil {
		t.Fatal(err)
	}
	if n := count(t, kv, store.ConfigParamRefsPrefix); n != 0 {
		t.Fatalf("%d reference entries after the webhook was deleted", n)
	}
	if err := st.DeleteConfigParam(ctx, "acme", "other"); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteConfigParam(ctx, "acme", "other"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
}

func TestSweepPreviousSecretsAndParams(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	kv := etcdtest.Start(t).Client(t)
	st := store.New(kv)
	createTenant(t, st, "acme")
	setParam(t, st, "acme", "p", "v1", time.Time{})
	setParam(t, st, "acme", "p", "v2", t0.Add(time.Hour))

	rec := webhookRecord("acme", "wh_a", nil)
	if _, err := st.CreateWebhook(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.UpdateWebhook(ctx, "acme", "wh_a", 0, func(rec *storagev1.WebhookRecord) error {
		rec.PreviousProviderSecrets = map[string]*storagev1.PreviousSecret{
			"signing_secret": {Value: &storagev1.Ciphertext{Sealed: []byte("old")}, ExpireTime: timestamppb.New(t0.Add(time.Minute))},
			"other":          {Value: &storagev1.Ciphertext{Sealed: []byte("old2")}, ExpireTime: timestamppb.New(t0.Add(2 * time.Hour))},
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n := count(t, kv, store.KeyExpiriesPrefix); n != 3 {
		t.Fatalf("%d expiry entries, want 3 (two secrets, one parameter)", n)
	}
	tests := []struct {
		name       string
		at         time.Time
		wantPrev   []string
		wantParam  bool
		wantExpiry int64
	}{
		{"nothing due", t0, []string{"other", "signing_secret"}, true, 3},
		{"one secret due", t0.Add(time.Minute), []string{"other"}, true, 2},
		{"the parameter due", t0.Add(time.Hour), []string{"other"}, false, 1},
		{"all due", t0.Add(3 * time.Hour), nil, false, 0},
	}
	for _, tt := range tests {
		if _, err := st.ExpirePreviousKeys(ctx, tt.at); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		got, _, err := st.Webhook(ctx, "acme", "wh_a")
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, n := range []string{"other", "signing_secret"} {
			if got.GetPreviousProviderSecrets()[n] != nil {
				names = append(names, n)
			}
		}
		if len(names) != len(tt.wantPrev) || (len(names) > 0 && names[0] != tt.wantPrev[0]) {
			t.Errorf("%s: previous secrets %v, want %v", tt.name, names, tt.wantPrev)
		}
		p, _, err := st.ConfigParam(ctx, "acme", "p")
		if err != nil {
			t.Fatal(err)
		}
		if (p.GetPreviousValue() != nil) != tt.wantParam || string(p.GetValue().GetSealed()) != "v2" {
			t.Errorf("%s: parameter previous %v, value %q", tt.name, p.GetPreviousValue(), p.GetValue().GetSealed())
		}
		if n := count(t, kv, store.KeyExpiriesPrefix); n != tt.wantExpiry {
			t.Errorf("%s: %d expiry entries, want %d", tt.name, n, tt.wantExpiry)
		}
	}
}

func TestDeleteTenantRemovesParams(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	kv := etcdtest.Start(t).Client(t)
	st := store.New(kv)
	createTenant(t, st, "acme")
	createTenant(t, st, "globex")
	setParam(t, st, "acme", "p", "v1", time.Time{})
	setParam(t, st, "globex", "p", "v1", time.Time{})
	if _, err := st.CreateWebhook(ctx, webhookRecord("acme", "wh_a", map[string]string{"signing_secret": "p"})); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteTenant(ctx, "acme", 0); err != nil {
		t.Fatal(err)
	}
	if n := count(t, kv, store.ConfigParamsPrefix+"acme/"); n != 0 {
		t.Fatalf("%d parameters left", n)
	}
	if n := count(t, kv, store.ConfigParamRefsPrefix); n != 0 {
		t.Fatalf("%d references left", n)
	}
	if _, _, err := st.ConfigParam(ctx, "globex", "p"); err != nil {
		t.Fatalf("another tenant's parameter: %v", err)
	}
}
