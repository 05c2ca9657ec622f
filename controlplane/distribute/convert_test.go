package distribute

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/controlplane/secrets"
	"github.com/hookgate/hookgate/controlplane/store"
	storagev1 "github.com/hookgate/hookgate/gen/hookgate/storage/v1"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func testKeyring(t *testing.T) *secrets.Keyring {
	t.Helper()
	kr, err := secrets.ParseKeyring(secrets.NewKeyringJSON())
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

func sealed(kr *secrets.Keyring, tenant, id, name, value string) *storagev1.Ciphertext {
	s := kr.Seal([]byte(value), store.SecretAAD(tenant, id, name))
	return &storagev1.Ciphertext{KeyId: s.KeyID, Nonce: s.Nonce, Sealed: s.Data}
}

func testRecord(kr *secrets.Keyring) *storagev1.WebhookRecord {
	return &storagev1.WebhookRecord{
		Webhook: &hookgatev1.Webhook{
			Id: "wh_1", Tenant: "acme", Name: "orders", Description: "not for edges",
			Provider: hookgatev1.Provider_PROVIDER_STRIPE, Active: true, MaxBodyBytes: 2048, RawBody: true,
			Bindings:  []*hookgatev1.Binding{{ProcessId: "proc", ThreadId: "main", Trigger: hookgatev1.Trigger_TRIGGER_START_PROCESS}},
			RateLimit: &hookgatev1.RateLimit{RequestsPerSecond: 5, Burst: 10},
			Url:       "https://hooks.example.com/in/acme/wh_1",
			KeyPrefix: "hgk_abcd",
		},
		Key:             &storagev1.APIKey{Sha256: bytes.Repeat([]byte{1}, 32), Prefix: "hgk_abcd", CreateTime: timestamppb.New(time.Unix(100, 0))},
		PreviousKey:     &storagev1.APIKey{Sha256: bytes.Repeat([]byte{2}, 32), ExpireTime: timestamppb.New(time.Unix(200, 0))},
		ProviderSecrets: map[string]*storagev1.Ciphertext{"signing_secret": sealed(kr, "acme", "wh_1", "signing_secret", "whsec_provider")},
	}
}

func TestEdgeWebhook(t *testing.T) {
	kr := testKeyring(t)
	w, err := edgeWebhook(kr, "acme", "wh_1", testRecord(kr))
	if err != nil {
		t.Fatal(err)
	}
	want := &hookgatev1.EdgeWebhook{
		Tenant: "acme", Id: "wh_1", Active: true, Provider: hookgatev1.Provider_PROVIDER_STRIPE,
		Keys: []*hookgatev1.KeyDigest{
			{Sha256: bytes.Repeat([]byte{1}, 32)},
			{Sha256: bytes.Repeat([]byte{2}, 32), ExpireTime: timestamppb.New(time.Unix(200, 0))},
		},
		Bindings:        []*hookgatev1.Binding{{ProcessId: "proc", ThreadId: "main", Trigger: hookgatev1.Trigger_TRIGGER_START_PROCESS}},
		MaxBodyBytes:    2048,
		RateLimit:       &hookgatev1.RateLimit{RequestsPerSecond: 5, Burst: 10},
		RawBody:         true,
		ProviderSecrets: map[string]string{"signing_secret": "whsec_provider"},
		Url:             "https://hooks.example.com/in/acme/wh_1",
		// An absent require_key in the record reaches the edge as true.
		RequireKey: proto.Bool(true),
	}
	if !proto.Equal(w, want) {
		t.Errorf("edgeWebhook =\n%v\nwant\n%v", w, want)
	}
}

func TestEdgeWebhookRejects(t *testing.T) {
	kr, other := testKeyring(t), testKeyring(t)
	for _, tc := range []struct {
		name   string
		modify func(*storagev1.WebhookRecord)
		want   string
	}{
		{"no webhook", func(r *storagev1.WebhookRecord) { r.Webhook = nil }, "no webhook"},
		{"stored under another id", func(r *storagev1.WebhookRecord) { r.Webhook.Id = "wh_2" }, "stored at"},
		{"secret sealed for another webhook", func(r *storagev1.WebhookRecord) {
			r.ProviderSecrets["signing_secret"] = sealed(kr, "acme", "wh_2", "signing_secret", "x")
		}, "open provider secret"},
		{"secret sealed under another name", func(r *storagev1.WebhookRecord) {
			r.ProviderSecrets["signing_secret"] = sealed(kr, "acme", "wh_1", "verify_token", "x")
		}, "open provider secret"},
		{"unknown keyring key", func(r *storagev1.WebhookRecord) {
			r.ProviderSecrets["signing_secret"] = sealed(other, "acme", "wh_1", "signing_secret", "x")
		}, "open provider secret"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := testRecord(kr)
			tc.modify(rec)
			_, err := edgeWebhook(kr, "acme", "wh_1", rec)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("edgeWebhook: %v; want an error containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "whsec_provider") || strings.Contains(err.Error(), "x\"") {
				t.Errorf("error shows a secret: %v", err)
			}
		})
	}
}

func TestProject(t *testing.T) {
	kr := testKeyring(t)
	good, _ := proto.Marshal(testRecord(kr))
	for _, tc := range []struct {
		name     string
		key      string
		value    []byte
		deleted  bool
		edgeKey  string
		wantRes  bool
		wantErr  error
		anyError bool
	}{
		{"put", store.WebhookKey("acme", "wh_1"), good, false, "webhook/acme/wh_1", true, nil, false},
		{"delete", store.WebhookKey("acme", "wh_1"), nil, true, "webhook/acme/wh_1", false, nil, false},
		{"undecodable", store.WebhookKey("acme", "wh_1"), []byte{0xff, 0xff}, false, "webhook/acme/wh_1", false, nil, true},
		{"no id", store.WebhooksPrefix + "acme/", good, false, "", false, errNotDistributed, true},
		{"nested key", store.WebhooksPrefix + "acme/wh_1/x", good, false, "", false, errNotDistributed, true},
		{"outside the prefix", "/hookgate/endpoints/acme/ep_1", good, false, "", false, errNotDistributed, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := project(kr, tc.key, tc.value, 7, tc.deleted)
			if r.keys[roleEdge] != tc.edgeKey {
				t.Errorf("edge key %q, want %q", r.keys[roleEdge], tc.edgeKey)
			}
			// Least privilege: no webhook ever projects onto dispatchers.
			if r.keys[roleDispatcher] != "" || r.res[roleDispatcher] != nil {
				t.Errorf("dispatcher would see %q", r.keys[roleDispatcher])
			}
			if (r.res[roleEdge] != nil) != tc.wantRes {
				t.Errorf("edge resource %v, want one: %v", r.res[roleEdge], tc.wantRes)
			}
			if tc.anyError != (r.err != nil) || (tc.wantErr != nil && !errors.Is(r.err, tc.wantErr)) {
				t.Errorf("err = %v", r.err)
			}
		})
	}
}
