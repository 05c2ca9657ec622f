package configsync

import (
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// TestEncodeCacheRoundTrip: the cache, encoded a resource at a time, is
// one StreamConfigResponse that applies to the same table: every webhook
// field the table keeps and every other resource.
func TestEncodeCacheRoundTrip(t *testing.T) {
	exp := timestamppb.New(time.Date(2026, 3, 23, 16, 0, 0, 0, time.UTC))
	u := &hookgatev1.StreamConfigResponse{Revision: 9, ClusterId: 0xc1, Snapshot: true}
	for i := range 300 {
		id := fmt.Sprintf("wh_%d", i)
		d, p := sha256.Sum256([]byte(id)), sha256.Sum256([]byte("prev"+id))
		w := &hookgatev1.EdgeWebhook{Tenant: []string{"acme", "beta"}[i%2], Id: id, Active: i%3 != 0, Provider: hookgatev1.Provider_PROVIDER_SLACK,
			Keys:            []*hookgatev1.KeyDigest{{Sha256: d[:]}, {Sha256: p[:], ExpireTime: exp}},
			Bindings:        []*hookgatev1.Binding{{ProcessId: fmt.Sprintf("proc-%d", i%7), Trigger: hookgatev1.Trigger_TRIGGER_START_PROCESS}},
			ProviderSecrets: map[string]string{"signing_secret": "s-" + id}, MaxBodyBytes: int64(i), RequireKey: proto.Bool(i%2 == 0),
			PreviousProviderSecrets: map[string]*hookgatev1.PreviousSecret{"signing_secret": {Value: "old-" + id, ExpireTime: exp}}}
		u.Upserts = append(u.Upserts, &hookgatev1.ConfigResource{Key: ResourceKey(w.Tenant, id), Resource: &hookgatev1.ConfigResource_Webhook{Webhook: w}})
	}
	u.Upserts = append(u.Upserts, &hookgatev1.ConfigResource{Key: "application/acme/app_1",
		Resource: &hookgatev1.ConfigResource_Application{Application: &hookgatev1.OutboundApplication{Id: "app_1"}}})
	a := NewTable()
	if _, err := a.Apply(u); err != nil {
		t.Fatal(err)
	}
	data, err := encodeCache(a.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	var back hookgatev1.StreamConfigResponse
	if err := proto.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if back.GetRevision() != 9 || back.GetClusterId() != 0xc1 || !back.GetSnapshot() || len(back.GetUpserts()) != len(u.Upserts) {
		t.Fatalf("cache holds revision %d of cluster %x, snapshot %v, %d resources; want 9, c1, true, %d",
			back.GetRevision(), back.GetClusterId(), back.GetSnapshot(), len(back.GetUpserts()), len(u.Upserts))
	}
	b := NewTable()
	if _, err := b.Apply(&back); err != nil {
		t.Fatal(err)
	}
	for _, r := range u.Upserts {
		if w := r.GetWebhook(); w != nil {
			got, _ := b.Webhook(w.GetTenant(), w.GetId())
			want, _ := a.Webhook(w.GetTenant(), w.GetId())
			if !proto.Equal(got, want) || got.GetMaxBodyBytes() != w.GetMaxBodyBytes() {
				t.Fatalf("%s after the cache differs", r.GetKey())
			}
			continue
		}
		if got, ok := b.Snapshot().Resource(r.GetKey()); !ok || !proto.Equal(got, r) {
			t.Fatalf("%s after the cache: %v", r.GetKey(), got)
		}
	}
}
