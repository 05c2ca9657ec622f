package ingress_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/hookgate/hookgate/dataplane/configsync"
	"github.com/hookgate/hookgate/dataplane/ingress"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"
)

// TestCompactTableKeepsWebhooksApart drives an edge served from a real
// configsync Table through updates and deletes, so that what the table
// shares between webhooks (the interned tenant, the one encoding of equal
// bindings) and what the edge caches per webhook never lets one webhook's
// key or secret verify another's, or a deleted webhook's verify its
// successor. Every Slack webhook has the same bindings and tenant; they
// differ only in key and signing secret.
func TestCompactTableKeepsWebhooksApart(t *testing.T) {
	e := newEdgeEnv(t)
	table := configsync.NewTable()
	edge, err := ingress.New(ingress.DefaultConfig(), ingress.Deps{
		Routes: tableRoutes{table}, Conn: e.nc, Log: slog.New(slog.DiscardHandler),
		Metrics: prometheus.NewRegistry(), Now: e.clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	// As the edge wiring does: derived state goes with its webhook.
	table.OnUpdate(func(u configsync.Update) {
		for _, d := range u.Deleted {
			edge.Forget(d.Tenant, d.ID)
		}
	})
	srv := httptest.NewServer(edge.PublicHandler())
	t.Cleanup(srv.Close)
	e.url = srv.URL

	slack := func(id, key, secret string) *hookgatev1.ConfigResource {
		return &hookgatev1.ConfigResource{
			Key: configsync.ResourceKey("acme", id),
			Resource: &hookgatev1.ConfigResource_Webhook{Webhook: &hookgatev1.EdgeWebhook{
				Tenant: "acme", Id: id, Active: true, Provider: hookgatev1.Provider_PROVIDER_SLACK,
				Keys:            []*hookgatev1.KeyDigest{{Sha256: digest(key)}},
				Bindings:        []*hookgatev1.Binding{{ProcessId: "orders", ThreadId: "main", Trigger: hookgatev1.Trigger_TRIGGER_START_PROCESS}},
				ProviderSecrets: map[string]string{"signing_secret": secret},
				MaxBodyBytes:    1024, RequireKey: proto.Bool(true),
			}},
		}
	}
	const keyA, keyB, keyA2 = "hgk_key-a-0123456789", "hgk_key-b-0123456789", "hgk_key-a2-0123456789"
	// call signs with secret and sends key; it returns the status.
	call := func(id, key, secret string) int {
		body := fmt.Sprintf(`{"id":%q}`, id+key+secret)
		ts := fmt.Sprint(e.clock().Unix())
		m := hmac.New(sha256.New, []byte(secret))
		fmt.Fprintf(m, "v0:%s:%s", ts, body)
		status, _, _ := e.raw(t, callOf("/in/acme/"+id+"?key="+key, body,
			map[string]string{"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v0=" + hex.EncodeToString(m.Sum(nil))}))
		return status
	}
	type check struct {
		id, key, secret string
		want            int
	}
	steps := []struct {
		name   string
		update *hookgatev1.StreamConfigResponse
		checks []check
	}{
		{
			name:   "snapshot of two webhooks sharing everything but key and secret",
			update: &hookgatev1.StreamConfigResponse{Revision: 1, Snapshot: true, Upserts: []*hookgatev1.ConfigResource{slack("wh_a", keyA, "secret-a"), slack("wh_b", keyB, "secret-b")}},
			checks: []check{
				{"wh_a", keyA, "secret-a", 200},
				{"wh_b", keyB, "secret-b", 200},
				{"wh_a", keyB, "secret-a", 401}, // b's key on a
				{"wh_a", keyA, "secret-b", 401}, // b's secret on a
				{"wh_b", keyA, "secret-b", 401},
				{"wh_b", keyB, "secret-a", 401},
			},
		},
		{
			name:   "delete a",
			update: &hookgatev1.StreamConfigResponse{Revision: 2, Deletes: []string{configsync.ResourceKey("acme", "wh_a")}},
			checks: []check{
				{"wh_a", keyA, "secret-a", 404},
				{"wh_b", keyB, "secret-b", 200},
			},
		},
		{
			name:   "re-create a with another key and secret",
			update: &hookgatev1.StreamConfigResponse{Revision: 3, Upserts: []*hookgatev1.ConfigResource{slack("wh_a", keyA2, "secret-a2")}},
			checks: []check{
				{"wh_a", keyA2, "secret-a2", 200},
				{"wh_a", keyA, "secret-a", 401},  // the deleted webhook's pair
				{"wh_a", keyA2, "secret-a", 401}, // its old secret
				{"wh_a", keyA, "secret-a2", 401}, // its old key
				{"wh_b", keyB, "secret-b", 200},
			},
		},
		{
			name:   "b takes a's old secret: only b verifies with it",
			update: &hookgatev1.StreamConfigResponse{Revision: 4, Upserts: []*hookgatev1.ConfigResource{slack("wh_b", keyB, "secret-a")}},
			checks: []check{
				{"wh_b", keyB, "secret-a", 200},
				{"wh_b", keyB, "secret-b", 401},
				{"wh_a", keyA2, "secret-a", 401},
				{"wh_a", keyA2, "secret-a2", 200},
			},
		},
		{
			name: "a snapshot swaps both at once",
			update: &hookgatev1.StreamConfigResponse{Revision: 5, Snapshot: true, Upserts: []*hookgatev1.ConfigResource{
				slack("wh_a", keyB, "secret-b"), slack("wh_b", keyA, "secret-a")}},
			checks: []check{
				{"wh_a", keyB, "secret-b", 200},
				{"wh_b", keyA, "secret-a", 200},
				{"wh_a", keyA2, "secret-a2", 401},
				{"wh_b", keyB, "secret-a", 401},
			},
		},
	}
	for _, st := range steps {
		if _, err := table.Apply(st.update); err != nil {
			t.Fatalf("%s: apply: %v", st.name, err)
		}
		for _, c := range st.checks {
			if got := call(c.id, c.key, c.secret); got != c.want {
				t.Errorf("%s: %s with key %s and secret %s: %d, want %d", st.name, c.id, c.key, c.secret, got, c.want)
			}
		}
	}
}

func callOf(path, body string, headers map[string]string) call {
	return call{path: path, body: body, headers: headers}
}
