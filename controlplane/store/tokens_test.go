package store_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/hookgate/hookgate/controlplane/store"
	storagev1 "github.com/hookgate/hookgate/gen/hookgate/storage/v1"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/testkit/etcdtest"
	clientv3 "go.etcd.io/etcd/client/v3"
)

func token(tenant string, n int) *storagev1.TokenRecord {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s-%d", tenant, n))
	return &storagev1.TokenRecord{
		Token:  &hookgatev1.AdminToken{Id: fmt.Sprintf("tok_%s%d", strings.ReplaceAll(tenant, "-", ""), n), Tenant: tenant},
		Sha256: sum[:],
	}
}

func createTenant(t *testing.T, st *store.Store, id string) {
	t.Helper()
	if _, err := st.CreateTenant(context.Background(), &hookgatev1.Tenant{Id: id}); err != nil {
		t.Fatalf("create tenant %s: %v", id, err)
	}
}

// TestDeleteTenantWithManyTokens: each token used to cost the deletion two
// operations, so past 63 tokens etcd's 128-operation limit refused it.
func TestDeleteTenantWithManyTokens(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	kv := etcdtest.Start(t).Client(t)
	st := store.New(kv)
	createTenant(t, st, "acme")
	createTenant(t, st, "globex")
	const n = 200
	for i := range n {
		if err := st.CreateToken(ctx, token("acme", i)); err != nil {
			t.Fatalf("create token %d: %v", i, err)
		}
	}
	other := token("globex", 0)
	platform := token("", 0)
	for _, rec := range []*storagev1.TokenRecord{other, platform} {
		if err := st.CreateToken(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	// Lookups by id, by digest and by scope work in the new layout.
	for _, rec := range []*storagev1.TokenRecord{token("acme", 7), other, platform} {
		byDigest, err := st.TokenByDigest(ctx, rec.Sha256)
		if err != nil || byDigest.GetToken().GetId() != rec.GetToken().GetId() {
			t.Fatalf("by digest %s: %v, %v", rec.GetToken().GetId(), byDigest, err)
		}
		tenant, err := st.TokenTenant(ctx, rec.GetToken().GetId())
		if err != nil || tenant != rec.GetToken().GetTenant() {
			t.Fatalf("tenant of %s: %q, %v", rec.GetToken().GetId(), tenant, err)
		}
	}
	all, next, err := st.ListTokens(ctx, "acme", store.Page{Size: 500})
	if err != nil || len(all) != n || next != "" {
		t.Fatalf("acme lists %d tokens, next %q, %v", len(all), next, err)
	}
	plat, _, err := st.ListTokens(ctx, "", store.Page{Size: 500})
	if err != nil || len(plat) != 1 || plat[0].GetToken().GetId() != platform.GetToken().GetId() {
		t.Fatalf("platform lists %v, %v", plat, err)
	}

	if err := st.DeleteTenant(ctx, "acme", 0); err != nil {
		t.Fatalf("delete tenant with %d tokens: %v", n, err)
	}
	for i := range n {
		rec := token("acme", i)
		if _, err := st.TokenByDigest(ctx, rec.Sha256); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("token %d by digest after delete: %v", i, err)
		}
		if _, err := st.Token(ctx, rec.GetToken().GetId()); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("token %d by id after delete: %v", i, err)
		}
	}
	// Nothing of acme's tokens is left, indexes included; the others stay.
	for _, prefix := range []string{store.TokensPrefix, store.TokenIDsPrefix, store.TokenDigestsPrefix} {
		resp, err := kv.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err != nil || resp.Count != 2 {
			t.Fatalf("%s holds %d keys after delete, want 2 (globex, platform): %v", prefix, resp.Count, err)
		}
	}
	if _, err := st.TokenByDigest(ctx, other.Sha256); err != nil {
		t.Fatalf("globex token after acme's delete: %v", err)
	}
}

// racingKV creates a token through other right after the deletion has read
// the tenant's tokens and before it commits: the window in which a
// concurrent CreateToken used to succeed and outlive the tenant.
type racingKV struct {
	clientv3.KV
	t     *testing.T
	other *store.Store
	rec   *storagev1.TokenRecord
	fired bool
}

func (k *racingKV) Get(ctx context.Context, key string, opts ...clientv3.OpOption) (*clientv3.GetResponse, error) {
	resp, err := k.KV.Get(ctx, key, opts...)
	if !k.fired && strings.HasPrefix(key, store.TokensPrefix) {
		k.fired = true
		if err := k.other.CreateToken(ctx, k.rec); err != nil {
			k.t.Errorf("concurrent create before the deletion commits: %v", err)
		}
	}
	return resp, err
}

func TestTokenCreatedDuringTenantDeleteDoesNotSurvive(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	kv := etcdtest.Start(t).Client(t)
	plain := store.New(kv)
	createTenant(t, plain, "acme")
	if err := plain.CreateToken(ctx, token("acme", 0)); err != nil {
		t.Fatal(err)
	}
	late := token("acme", 1)
	racing := &racingKV{KV: kv, t: t, other: plain, rec: late}
	if err := store.New(racing).DeleteTenant(ctx, "acme", 0); err != nil {
		t.Fatal(err)
	}
	if !racing.fired {
		t.Fatal("the deletion never read the tenant's tokens; the race was not exercised")
	}
	if rec, err := plain.TokenByDigest(ctx, late.Sha256); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("token created during the delete authenticates: %v, %v", rec, err)
	}
	// A tenant of the same name later does not inherit it.
	createTenant(t, plain, "acme")
	if recs, _, err := plain.ListTokens(ctx, "acme", store.Page{Size: 10}); err != nil || len(recs) != 0 {
		t.Fatalf("recreated tenant lists %v, %v", recs, err)
	}
	// After the delete, a create for the deleted tenant is refused.
	if err := plain.CreateToken(ctx, token("gone", 0)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("token for a missing tenant: %v", err)
	}
}

// TestTokenMirrors: every token has a mirror below the watched prefix
// (for the edges' producer authentication) that goes with the token: on
// revoke, on tenant deletion, and MirrorToken restores a missing one.
func TestTokenMirrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	kv := etcdtest.Start(t).Client(t)
	st := store.New(kv)
	createTenant(t, st, "acme")
	createTenant(t, st, "globex")
	acme, globex, platform := token("acme", 1), token("globex", 1), token("", 1)
	for _, rec := range []*storagev1.TokenRecord{acme, globex, platform} {
		if err := st.CreateToken(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	mirrored := func(rec *storagev1.TokenRecord) bool {
		t.Helper()
		resp, err := kv.Get(ctx, store.TokenMirrorKey(rec.GetToken().GetTenant(), rec.GetToken().GetId()))
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Kvs) == 0 {
			return false
		}
		if !strings.HasPrefix(string(resp.Kvs[0].Key), store.WebhooksPrefix) {
			t.Fatalf("mirror %s is outside the watched prefix", resp.Kvs[0].Key)
		}
		return true
	}
	tests := []struct {
		name string
		rec  *storagev1.TokenRecord
		want bool
	}{
		{"tenant token", acme, true},
		{"other tenant token", globex, true},
		{"platform token", platform, true},
		{"never created", token("acme", 2), false},
	}
	for _, tt := range tests {
		if got := mirrored(tt.rec); got != tt.want {
			t.Errorf("%s: mirrored %v, want %v", tt.name, got, tt.want)
		}
	}
	if err := st.DeleteToken(ctx, platform); err != nil {
		t.Fatal(err)
	}
	if mirrored(platform) {
		t.Error("revoked platform token keeps its mirror")
	}
	if err := st.DeleteTenant(ctx, "acme", 0); err != nil {
		t.Fatal(err)
	}
	if mirrored(acme) {
		t.Error("token of a deleted tenant keeps its mirror")
	}
	if !mirrored(globex) {
		t.Error("deleting acme removed globex's mirror")
	}
	// A mirror lost (a token from before mirrors) comes back; a token that
	// is gone gets none.
	if _, err := kv.Delete(ctx, store.TokenMirrorKey("globex", globex.GetToken().GetId())); err != nil {
		t.Fatal(err)
	}
	for _, rec := range []*storagev1.TokenRecord{globex, acme} {
		if err := st.MirrorToken(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	if !mirrored(globex) {
		t.Error("MirrorToken did not restore the mirror")
	}
	if mirrored(acme) {
		t.Error("MirrorToken mirrored a deleted token")
	}
}
