package distribute

import (
	"testing"

	"github.com/hookgate/hookgate/controlplane/secrets"
	"github.com/hookgate/hookgate/controlplane/store"
	storagev1 "github.com/hookgate/hookgate/gen/hookgate/storage/v1"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"google.golang.org/protobuf/proto"
)

func paramKV(t *testing.T, kr *secrets.Keyring, name, value string, rev int64) kv {
	t.Helper()
	s := kr.Seal([]byte(value), store.ParamAAD("acme", name))
	b, err := proto.Marshal(&storagev1.ConfigParamRecord{
		Param: &hookgatev1.ConfigParam{Tenant: "acme", Name: name},
		Value: &storagev1.Ciphertext{KeyId: s.KeyID, Nonce: s.Nonce, Sealed: s.Data},
	})
	if err != nil {
		t.Fatal(err)
	}
	return kv{key: store.ConfigParamKey("acme", name), value: b, modRev: rev}
}

func refKV(t *testing.T, id, param string, rev int64) kv {
	t.Helper()
	b, err := proto.Marshal(&storagev1.WebhookRecord{
		Webhook:            &hookgatev1.Webhook{Tenant: "acme", Id: id, Provider: hookgatev1.Provider_PROVIDER_STRIPE},
		ProviderSecretRefs: map[string]string{"signing_secret": param},
	})
	if err != nil {
		t.Fatal(err)
	}
	return kv{key: store.WebhookKey("acme", id), value: b, modRev: rev}
}

// A reload (after the watch lost its history) must see a parameter that
// changed meanwhile as a change of every webhook referring to it, though
// the webhooks' own records did not change; and see no change when nothing
// did.
func TestResolverReloadSeesParamChanges(t *testing.T) {
	kr, err := secrets.ParseKeyring(secrets.NewKeyringJSON())
	if err != nil {
		t.Fatal(err)
	}
	noErr := func(r record) { t.Errorf("record %s: %v", r.etcdKey, r.err) }
	v := newView(100)
	// Parameters come last here: batch resolves whatever the order.
	first := []kv{refKV(t, "wh_1", "p", 5), refKV(t, "wh_2", "q", 6), paramKV(t, kr, "p", "one", 3), paramKV(t, kr, "q", "x", 4)}
	v.load(10, cluster, newResolver(kr).batch(first, noErr))
	if got := v.state[roleEdge][WebhookResourceKey("acme", "wh_1")].res.GetWebhook().GetProviderSecrets()["signing_secret"]; got != "one" {
		t.Fatalf("resolved %q", got)
	}
	if n := v.load(11, cluster, newResolver(kr).batch(first, noErr)); n != 0 {
		t.Fatalf("a reload without changes changed %d records", n)
	}
	changed := []kv{first[0], first[1], paramKV(t, kr, "p", "two", 12), first[3]}
	if n := v.load(12, cluster, newResolver(kr).batch(changed, noErr)); n != 2 {
		t.Fatalf("reload after a parameter change changed %d records, want 2 (the parameter and wh_1)", n)
	}
	it := v.state[roleEdge][WebhookResourceKey("acme", "wh_1")]
	if got := it.res.GetWebhook().GetProviderSecrets()["signing_secret"]; got != "two" || it.modRev != 12 {
		t.Fatalf("after reload: %q at %d", got, it.modRev)
	}

	// A missing parameter keeps the webhook's last good resource.
	var failed []string
	res := newResolver(kr)
	recs := res.batch([]kv{refKV(t, "wh_3", "gone", 13)}, func(r record) { failed = append(failed, r.etcdKey) })
	v.apply(13, recs)
	if len(failed) != 1 || v.state[roleEdge][WebhookResourceKey("acme", "wh_3")].res != nil {
		t.Fatalf("unresolvable reference: failed %v", failed)
	}
}
