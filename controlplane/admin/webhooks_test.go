package admin_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/hookgate/hookgate/controlplane/admin"
	"github.com/hookgate/hookgate/controlplane/secrets"
	"github.com/hookgate/hookgate/controlplane/store"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

func createTenant(t *testing.T, e *env, id string) {
	t.Helper()
	if _, err := e.tenants(e.platform).CreateTenant(context.Background(), connect.NewRequest(&hookgatev1.CreateTenantRequest{Tenant: &hookgatev1.Tenant{Id: id}})); err != nil {
		t.Fatalf("create tenant %s: %v", id, err)
	}
}

func slackWebhook(tenant, name string) *hookgatev1.Webhook {
	return &hookgatev1.Webhook{
		Tenant:   tenant,
		Name:     name,
		Provider: hookgatev1.Provider_PROVIDER_SLACK,
		Bindings: []*hookgatev1.Binding{
			{ProcessId: "orders", Trigger: hookgatev1.Trigger_TRIGGER_START_PROCESS},
			{ProcessId: "chat", Trigger: hookgatev1.Trigger_TRIGGER_RESUME_PROCESS, CorrelationPath: "event.thread_ts"},
		},
		ProviderSecrets: map[string]string{"signing_secret": "8f742231b10e8888abcd99yyyzzz85a5"},
	}
}

func TestWebhookLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	createTenant(t, e, "acme")
	wh := e.webhooks(e.platform)

	created, err := wh.CreateWebhook(ctx, connect.NewRequest(&hookgatev1.CreateWebhookRequest{Webhook: slackWebhook("acme", "Slack events (prod)")}))
	if err != nil {
		t.Fatal(err)
	}
	w, key1 := created.Msg.Webhook, created.Msg.ApiKey
	if !strings.HasPrefix(key1, "hgk_") || w.KeyPrefix != key1[:8] {
		t.Fatalf("key %q, prefix %q", key1[:4], w.KeyPrefix)
	}
	wantURL := "https://hooks.example.com/in/acme/" + w.Id
	if w.Url != wantURL || created.Msg.UrlWithKey != wantURL+"?key="+key1 {
		t.Fatalf("url %q, with key %q", w.Url, created.Msg.UrlWithKey)
	}
	if !w.Active || w.MaxBodyBytes != 1<<20 || w.Bindings[0].ThreadId != "main" || len(w.ProviderSecrets) != 0 ||
		strings.Join(w.ProviderSecretNames, ",") != "signing_secret" || w.Etag == "" {
		t.Fatalf("created webhook %v", w)
	}

	// Later reads show no key and no secret.
	got, err := wh.GetWebhook(ctx, connect.NewRequest(&hookgatev1.GetWebhookRequest{Tenant: "acme", WebhookId: w.Id}))
	if err != nil {
		t.Fatal(err)
	}
	if s := got.Msg.Webhook.String(); strings.Contains(s, key1) || strings.Contains(s, "8f742231b10e") {
		t.Fatalf("GetWebhook leaks a secret: %s", s)
	}
	if got.Msg.Webhook.Url != wantURL {
		t.Fatalf("get url %q", got.Msg.Webhook.Url)
	}
	_, err = wh.CreateWebhook(ctx, connect.NewRequest(&hookgatev1.CreateWebhookRequest{Webhook: slackWebhook("acme", "SLACK EVENTS (PROD)")}))
	wantCode(t, err, connect.CodeAlreadyExists)

	// Rotate with a grace period: both digests stored, the old one expiring.
	rot, err := wh.RotateWebhookKey(ctx, connect.NewRequest(&hookgatev1.RotateWebhookKeyRequest{Tenant: "acme", WebhookId: w.Id, GracePeriod: durationpb.New(time.Hour)}))
	if err != nil {
		t.Fatal(err)
	}
	key2 := rot.Msg.ApiKey
	if key2 == key1 || rot.Msg.Webhook.PreviousKeyPrefix != key1[:8] || rot.Msg.Webhook.KeyPrefix != key2[:8] {
		t.Fatalf("rotation: %v", rot.Msg.Webhook)
	}
	rec, _, err := e.store.Webhook(ctx, "acme", w.Id)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rec.Key.Sha256, secrets.Digest(key2)) || !bytes.Equal(rec.PreviousKey.Sha256, secrets.Digest(key1)) {
		t.Fatal("stored digests are not those of the new and previous keys")
	}
	if exp := rec.PreviousKey.ExpireTime.AsTime(); !exp.Equal(e.clock.Now().Add(time.Hour)) {
		t.Fatalf("previous key expires %v", exp)
	}
	// Before the grace period ends the sweep keeps it; after, removes it.
	if n, err := e.store.ExpirePreviousKeys(ctx, e.clock.Now()); err != nil || n != 0 {
		t.Fatalf("early sweep removed %d, %v", n, err)
	}
	e.clock.Advance(time.Hour + time.Second)
	if n, err := e.store.ExpirePreviousKeys(ctx, e.clock.Now()); err != nil || n != 1 {
		t.Fatalf("sweep removed %d, %v", n, err)
	}
	got, _ = wh.GetWebhook(ctx, connect.NewRequest(&hookgatev1.GetWebhookRequest{Tenant: "acme", WebhookId: w.Id}))
	if got.Msg.Webhook.PreviousKeyPrefix != "" || got.Msg.Webhook.KeyPrefix != key2[:8] {
		t.Fatalf("after sweep: %v", got.Msg.Webhook)
	}

	// Rotating during a grace period ends the older previous key; zero grace
	// ends the current one at once.
	r3, _ := wh.RotateWebhookKey(ctx, connect.NewRequest(&hookgatev1.RotateWebhookKeyRequest{Tenant: "acme", WebhookId: w.Id}))
	if r3.Msg.Webhook.PreviousKeyPrefix != key2[:8] || !r3.Msg.Webhook.PreviousKeyExpireTime.AsTime().Equal(e.clock.Now().Add(24*time.Hour)) {
		t.Fatalf("default grace: %v", r3.Msg.Webhook)
	}
	r4, err := wh.RotateWebhookKey(ctx, connect.NewRequest(&hookgatev1.RotateWebhookKeyRequest{Tenant: "acme", WebhookId: w.Id, GracePeriod: durationpb.New(0)}))
	if err != nil {
		t.Fatal(err)
	}
	rec, _, _ = e.store.Webhook(ctx, "acme", w.Id)
	if rec.PreviousKey != nil || r4.Msg.Webhook.PreviousKeyPrefix != "" || !bytes.Equal(rec.Key.Sha256, secrets.Digest(r4.Msg.ApiKey)) {
		t.Fatalf("zero grace kept a previous key: %v", r4.Msg.Webhook)
	}
	_, err = wh.RotateWebhookKey(ctx, connect.NewRequest(&hookgatev1.RotateWebhookKeyRequest{Tenant: "acme", WebhookId: w.Id, GracePeriod: durationpb.New(-time.Second)}))
	wantCode(t, err, connect.CodeInvalidArgument)

	// Deactivate and activate keep the key.
	for _, active := range []bool{false, true} {
		up, err := wh.UpdateWebhook(ctx, connect.NewRequest(&hookgatev1.UpdateWebhookRequest{
			Webhook:    &hookgatev1.Webhook{Tenant: "acme", Id: w.Id, Active: active},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"active"}},
		}))
		if err != nil {
			t.Fatal(err)
		}
		if up.Msg.Webhook.Active != active || up.Msg.Webhook.KeyPrefix != r4.Msg.ApiKey[:8] {
			t.Fatalf("active=%v: %v", active, up.Msg.Webhook)
		}
	}

	// Etags: a stale one is refused, the current one accepted.
	cur, _ := wh.GetWebhook(ctx, connect.NewRequest(&hookgatev1.GetWebhookRequest{Tenant: "acme", WebhookId: w.Id}))
	stale := w.Etag
	_, err = wh.UpdateWebhook(ctx, connect.NewRequest(&hookgatev1.UpdateWebhookRequest{
		Webhook:    &hookgatev1.Webhook{Tenant: "acme", Id: w.Id, Description: "x", Etag: stale},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"description"}},
	}))
	wantCode(t, err, connect.CodeAborted)
	up, err := wh.UpdateWebhook(ctx, connect.NewRequest(&hookgatev1.UpdateWebhookRequest{
		Webhook:    &hookgatev1.Webhook{Tenant: "acme", Id: w.Id, Description: "prod events", Etag: cur.Msg.Webhook.Etag},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"description"}},
	}))
	if err != nil || up.Msg.Webhook.Description != "prod events" {
		t.Fatalf("update with current etag: %v", err)
	}
	_, err = wh.DeleteWebhook(ctx, connect.NewRequest(&hookgatev1.DeleteWebhookRequest{Tenant: "acme", WebhookId: w.Id, Etag: cur.Msg.Webhook.Etag}))
	wantCode(t, err, connect.CodeAborted)

	// Provider is immutable; unknown fields are refused.
	_, err = wh.UpdateWebhook(ctx, connect.NewRequest(&hookgatev1.UpdateWebhookRequest{
		Webhook:    &hookgatev1.Webhook{Tenant: "acme", Id: w.Id, Provider: hookgatev1.Provider_PROVIDER_GITHUB},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"provider"}},
	}))
	wantCode(t, err, connect.CodeInvalidArgument)

	// Delete removes everything; the name is free again.
	if _, err := wh.DeleteWebhook(ctx, connect.NewRequest(&hookgatev1.DeleteWebhookRequest{Tenant: "acme", WebhookId: w.Id})); err != nil {
		t.Fatal(err)
	}
	_, err = wh.GetWebhook(ctx, connect.NewRequest(&hookgatev1.GetWebhookRequest{Tenant: "acme", WebhookId: w.Id}))
	wantCode(t, err, connect.CodeNotFound)
	left, _ := e.etcd.Get(ctx, store.Prefix, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	for _, kv := range left.Kvs {
		if strings.Contains(string(kv.Key), w.Id) || strings.Contains(string(kv.Key), "webhook-names/acme/") {
			t.Fatalf("delete left %s behind", kv.Key)
		}
	}
	if _, err := wh.CreateWebhook(ctx, connect.NewRequest(&hookgatev1.CreateWebhookRequest{Webhook: slackWebhook("acme", "Slack events (prod)")})); err != nil {
		t.Fatalf("name not freed by delete: %v", err)
	}
}

func TestWebhookTenantIsolation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	createTenant(t, e, "acme")
	createTenant(t, e, "globex")
	tokenOf := func(tenant string) string {
		r, err := e.tenants(e.platform).CreateAdminToken(ctx, connect.NewRequest(&hookgatev1.CreateAdminTokenRequest{Tenant: tenant}))
		if err != nil {
			t.Fatal(err)
		}
		return r.Msg.Token
	}
	acme, globex := e.webhooks(tokenOf("acme")), e.webhooks(tokenOf("globex"))
	a, err := acme.CreateWebhook(ctx, connect.NewRequest(&hookgatev1.CreateWebhookRequest{Webhook: slackWebhook("acme", "acme hook")}))
	if err != nil {
		t.Fatal(err)
	}
	g, err := globex.CreateWebhook(ctx, connect.NewRequest(&hookgatev1.CreateWebhookRequest{Webhook: slackWebhook("globex", "globex hook")}))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		client interface {
			GetWebhook(context.Context, *connect.Request[hookgatev1.GetWebhookRequest]) (*connect.Response[hookgatev1.GetWebhookResponse], error)
		}
		tenant, id string
	}{
		{"acme reads globex", acme, "globex", g.Msg.Webhook.Id},
		{"globex reads acme", globex, "acme", a.Msg.Webhook.Id},
	} {
		_, err := c.client.GetWebhook(ctx, connect.NewRequest(&hookgatev1.GetWebhookRequest{Tenant: c.tenant, WebhookId: c.id}))
		wantCode(t, err, connect.CodePermissionDenied)
	}
	// Asking for another tenant's id under one's own tenant finds nothing.
	_, err = acme.GetWebhook(ctx, connect.NewRequest(&hookgatev1.GetWebhookRequest{Tenant: "acme", WebhookId: g.Msg.Webhook.Id}))
	wantCode(t, err, connect.CodeNotFound)
	_, err = acme.ListWebhooks(ctx, connect.NewRequest(&hookgatev1.ListWebhooksRequest{Tenant: "globex"}))
	wantCode(t, err, connect.CodePermissionDenied)
	_, err = globex.CreateWebhook(ctx, connect.NewRequest(&hookgatev1.CreateWebhookRequest{Webhook: slackWebhook("acme", "planted")}))
	wantCode(t, err, connect.CodePermissionDenied)
	_, err = globex.RotateWebhookKey(ctx, connect.NewRequest(&hookgatev1.RotateWebhookKeyRequest{Tenant: "acme", WebhookId: a.Msg.Webhook.Id}))
	wantCode(t, err, connect.CodePermissionDenied)
	_, err = globex.DeleteWebhook(ctx, connect.NewRequest(&hookgatev1.DeleteWebhookRequest{Tenant: "acme", WebhookId: a.Msg.Webhook.Id}))
	wantCode(t, err, connect.CodePermissionDenied)
	_, err = globex.UpdateWebhook(ctx, connect.NewRequest(&hookgatev1.UpdateWebhookRequest{
		Webhook: &hookgatev1.Webhook{Tenant: "acme", Id: a.Msg.Webhook.Id}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"active"}},
	}))
	wantCode(t, err, connect.CodePermissionDenied)
	list, err := acme.ListWebhooks(ctx, connect.NewRequest(&hookgatev1.ListWebhooksRequest{Tenant: "acme"}))
	if err != nil || len(list.Msg.Webhooks) != 1 || list.Msg.Webhooks[0].Id != a.Msg.Webhook.Id {
		t.Fatalf("acme lists %v, %v", list, err)
	}
}

func TestListWebhooksFilters(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	createTenant(t, e, "acme")
	wh := e.webhooks(e.platform)
	ids := map[string]string{}
	for _, name := range []string{"one", "two", "three", "four", "five"} {
		in := &hookgatev1.Webhook{Tenant: "acme", Name: name, Provider: hookgatev1.Provider_PROVIDER_GENERIC,
			Bindings: []*hookgatev1.Binding{{ProcessId: "proc-" + name, Trigger: hookgatev1.Trigger_TRIGGER_START_PROCESS}}}
		if name == "two" || name == "four" {
			in.Provider = hookgatev1.Provider_PROVIDER_GITHUB
			in.ProviderSecrets = map[string]string{"secret": "s3cr3t"}
		}
		r, err := wh.CreateWebhook(ctx, connect.NewRequest(&hookgatev1.CreateWebhookRequest{Webhook: in}))
		if err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		ids[name] = r.Msg.Webhook.Id
	}
	_, err := wh.UpdateWebhook(ctx, connect.NewRequest(&hookgatev1.UpdateWebhookRequest{
		Webhook: &hookgatev1.Webhook{Tenant: "acme", Id: ids["four"]}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"active"}},
	}))
	if err != nil {
		t.Fatal(err)
	}
	count := func(req *hookgatev1.ListWebhooksRequest) int {
		t.Helper()
		n, token := 0, ""
		for {
			req.PageToken = token
			req.PageSize = 1
			r, err := wh.ListWebhooks(ctx, connect.NewRequest(req))
			if err != nil {
				t.Fatal(err)
			}
			n += len(r.Msg.Webhooks)
			if token = r.Msg.NextPageToken; token == "" {
				return n
			}
		}
	}
	active, inactive := true, false
	for name, c := range map[string]struct {
		req  *hookgatev1.ListWebhooksRequest
		want int
	}{
		"all":              {&hookgatev1.ListWebhooksRequest{Tenant: "acme"}, 5},
		"github":           {&hookgatev1.ListWebhooksRequest{Tenant: "acme", Provider: hookgatev1.Provider_PROVIDER_GITHUB}, 2},
		"inactive":         {&hookgatev1.ListWebhooksRequest{Tenant: "acme", Active: &inactive}, 1},
		"active github":    {&hookgatev1.ListWebhooksRequest{Tenant: "acme", Active: &active, Provider: hookgatev1.Provider_PROVIDER_GITHUB}, 1},
		"process proc-one": {&hookgatev1.ListWebhooksRequest{Tenant: "acme", ProcessId: "proc-one"}, 1},
		"no such process":  {&hookgatev1.ListWebhooksRequest{Tenant: "acme", ProcessId: "nope"}, 0},
	} {
		if got := count(c.req); got != c.want {
			t.Errorf("%s: listed %d, want %d", name, got, c.want)
		}
	}
}

func TestNoPlaintextSecretsInEtcd(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	createTenant(t, e, "acme")
	const appSecret, verifyToken = "meta-app-secret-0123456789", "meta-verify-token-abcdef"
	r, err := e.webhooks(e.platform).CreateWebhook(ctx, connect.NewRequest(&hookgatev1.CreateWebhookRequest{Webhook: &hookgatev1.Webhook{
		Tenant: "acme", Name: "whatsapp", Provider: hookgatev1.Provider_PROVIDER_META,
		Bindings:        []*hookgatev1.Binding{{ProcessId: "chat", Trigger: hookgatev1.Trigger_TRIGGER_START_PROCESS}},
		ProviderSecrets: map[string]string{"app_secret": appSecret, "verify_token": verifyToken},
	}}))
	if err != nil {
		t.Fatal(err)
	}
	rot, err := e.webhooks(e.platform).RotateWebhookKey(ctx, connect.NewRequest(&hookgatev1.RotateWebhookKeyRequest{Tenant: "acme", WebhookId: r.Msg.Webhook.Id}))
	if err != nil {
		t.Fatal(err)
	}
	all, err := e.etcd.Get(ctx, "", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Kvs) < 4 {
		t.Fatalf("etcd holds only %d keys; the check would prove nothing", len(all.Kvs))
	}
	for _, kv := range all.Kvs {
		blob := string(kv.Key) + string(kv.Value)
		for _, secret := range []string{appSecret, verifyToken, r.Msg.ApiKey, rot.Msg.ApiKey, e.platform} {
			if strings.Contains(blob, secret) {
				t.Fatalf("etcd key %s holds a plaintext secret", kv.Key)
			}
		}
	}
	// The sealed secret opens with the keyring, bound to its record.
	rec, _, err := e.store.Webhook(ctx, "acme", r.Msg.Webhook.Id)
	if err != nil {
		t.Fatal(err)
	}
	c := rec.ProviderSecrets["app_secret"]
	plain, err := e.keyring.Open(secrets.Sealed{KeyID: c.KeyId, Nonce: c.Nonce, Data: c.Sealed}, store.SecretAAD("acme", r.Msg.Webhook.Id, "app_secret"))
	if err != nil || string(plain) != appSecret {
		t.Fatalf("sealed app_secret does not open: %v", err)
	}
}

func TestCreateWebhookValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	createTenant(t, e, "acme")
	start := func() []*hookgatev1.Binding {
		return []*hookgatev1.Binding{{ProcessId: "p", Trigger: hookgatev1.Trigger_TRIGGER_START_PROCESS}}
	}
	tests := []struct {
		name  string
		mod   func(w *hookgatev1.Webhook)
		field string
	}{
		{"bad tenant slug", func(w *hookgatev1.Webhook) { w.Tenant = "Acme!" }, "webhook.tenant"},
		{"short name", func(w *hookgatev1.Webhook) { w.Name = "ab" }, "webhook.name"},
		{"long name", func(w *hookgatev1.Webhook) { w.Name = strings.Repeat("n", 51) }, "webhook.name"},
		{"name with slash", func(w *hookgatev1.Webhook) { w.Name = "a/b/c" }, "webhook.name"},
		{"no provider", func(w *hookgatev1.Webhook) { w.Provider = 0 }, "webhook.provider"},
		{"unknown provider", func(w *hookgatev1.Webhook) { w.Provider = 999 }, "webhook.provider"},
		{"empty bindings", func(w *hookgatev1.Webhook) { w.Bindings = nil }, "webhook.bindings"},
		{"bad process id", func(w *hookgatev1.Webhook) { w.Bindings[0].ProcessId = "a.b" }, "webhook.bindings[0].process_id"},
		{"no trigger", func(w *hookgatev1.Webhook) { w.Bindings[0].Trigger = 0 }, "webhook.bindings[0].trigger"},
		{"resume without path", func(w *hookgatev1.Webhook) {
			w.Bindings[0].Trigger = hookgatev1.Trigger_TRIGGER_RESUME_PROCESS
		}, "webhook.bindings[0].correlation_path"},
		{"malformed path", func(w *hookgatev1.Webhook) {
			w.Bindings[0].Trigger = hookgatev1.Trigger_TRIGGER_RESUME_PROCESS
			w.Bindings[0].CorrelationPath = "entry[0]..id"
		}, "webhook.bindings[0].correlation_path"},
		{"bad index", func(w *hookgatev1.Webhook) {
			w.Bindings[0].Trigger = hookgatev1.Trigger_TRIGGER_RESUME_PROCESS
			w.Bindings[0].CorrelationPath = "entry[x].id"
		}, "webhook.bindings[0].correlation_path"},
		{"oversize description", func(w *hookgatev1.Webhook) { w.Description = strings.Repeat("d", 1025) }, "webhook.description"},
		{"missing slack secret", func(w *hookgatev1.Webhook) {
			w.Provider = hookgatev1.Provider_PROVIDER_SLACK
		}, "webhook.provider_secrets"},
		{"missing meta verify token", func(w *hookgatev1.Webhook) {
			w.Provider = hookgatev1.Provider_PROVIDER_META
			w.ProviderSecrets = map[string]string{"app_secret": "x"}
		}, "webhook.provider_secrets"},
		{"secret the provider does not use", func(w *hookgatev1.Webhook) { w.ProviderSecrets = map[string]string{"secret": "x"} }, "webhook.provider_secrets"},
		{"body limit too small", func(w *hookgatev1.Webhook) { w.MaxBodyBytes = 10 }, "webhook.max_body_bytes"},
		{"zero rate", func(w *hookgatev1.Webhook) { w.RateLimit = &hookgatev1.RateLimit{} }, "webhook.rate_limit.requests_per_second"},
		{"tiny rate", func(w *hookgatev1.Webhook) { w.RateLimit = &hookgatev1.RateLimit{RequestsPerSecond: 1e-300} }, "webhook.rate_limit.requests_per_second"},
		{"rate below 0.01", func(w *hookgatev1.Webhook) { w.RateLimit = &hookgatev1.RateLimit{RequestsPerSecond: 0.009} }, "webhook.rate_limit.requests_per_second"},
		{"negative rate", func(w *hookgatev1.Webhook) { w.RateLimit = &hookgatev1.RateLimit{RequestsPerSecond: -1} }, "webhook.rate_limit.requests_per_second"},
		{"NaN rate", func(w *hookgatev1.Webhook) { w.RateLimit = &hookgatev1.RateLimit{RequestsPerSecond: math.NaN()} }, "webhook.rate_limit.requests_per_second"},
		{"infinite rate", func(w *hookgatev1.Webhook) { w.RateLimit = &hookgatev1.RateLimit{RequestsPerSecond: math.Inf(1)} }, "webhook.rate_limit.requests_per_second"},
		{"rate over 100000", func(w *hookgatev1.Webhook) { w.RateLimit = &hookgatev1.RateLimit{RequestsPerSecond: 100_000.5} }, "webhook.rate_limit.requests_per_second"},
		{"negative burst", func(w *hookgatev1.Webhook) { w.RateLimit = &hookgatev1.RateLimit{RequestsPerSecond: 1, Burst: -1} }, "webhook.rate_limit.burst"},
		{"burst over 100000", func(w *hookgatev1.Webhook) { w.RateLimit = &hookgatev1.RateLimit{RequestsPerSecond: 1, Burst: 100_001} }, "webhook.rate_limit.burst"},
		{"raw body that cannot fit NATS", func(w *hookgatev1.Webhook) { w.MaxBodyBytes, w.RawBody = 4<<20, true }, "webhook.max_body_bytes"},
		{"custom hmac without config", func(w *hookgatev1.Webhook) {
			w.Provider = hookgatev1.Provider_PROVIDER_CUSTOM_HMAC
			w.ProviderSecrets = map[string]string{"secret": "x"}
		}, "webhook.custom_hmac"},
		{"custom hmac bad placeholder", func(w *hookgatev1.Webhook) {
			w.Provider = hookgatev1.Provider_PROVIDER_CUSTOM_HMAC
			w.ProviderSecrets = map[string]string{"secret": "x"}
			w.CustomHmac = &hookgatev1.CustomHmac{Header: "X-Sig", Template: "{nope}.{body}"}
		}, "webhook.custom_hmac.template"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &hookgatev1.Webhook{Tenant: "acme", Name: "valid name", Provider: hookgatev1.Provider_PROVIDER_GENERIC, Bindings: start()}
			tt.mod(w)
			_, err := e.webhooks(e.platform).CreateWebhook(ctx, connect.NewRequest(&hookgatev1.CreateWebhookRequest{Webhook: w}))
			wantCode(t, err, connect.CodeInvalidArgument)
			if !strings.Contains(connect.NewError(connect.CodeOf(err), err).Message(), tt.field) {
				t.Fatalf("error %q does not name %s", err, tt.field)
			}
			if strings.Contains(err.Error(), "x\"") && strings.Contains(tt.field, "secrets") {
				t.Fatalf("error %q shows a secret value", err)
			}
		})
	}
	// Nothing was written by any of them.
	list, err := e.webhooks(e.platform).ListWebhooks(ctx, connect.NewRequest(&hookgatev1.ListWebhooksRequest{Tenant: "acme"}))
	if err != nil || len(list.Msg.Webhooks) != 0 {
		t.Fatalf("rejected creates left %v, %v", list, err)
	}
	// A valid one with a nested resume path and a rate limit works.
	w := &hookgatev1.Webhook{Tenant: "acme", Name: "WhatsApp [prod] (v2)", Provider: hookgatev1.Provider_PROVIDER_GENERIC,
		Bindings: []*hookgatev1.Binding{{ProcessId: "chat", ThreadId: "t1", Trigger: hookgatev1.Trigger_TRIGGER_RESUME_PROCESS,
			CorrelationPath: "entry[0].changes[0].value.messages[0].text.body"}},
		RateLimit: &hookgatev1.RateLimit{RequestsPerSecond: 2.5}}
	r, err := e.webhooks(e.platform).CreateWebhook(ctx, connect.NewRequest(&hookgatev1.CreateWebhookRequest{Webhook: w}))
	if err != nil {
		t.Fatal(err)
	}
	if r.Msg.Webhook.RateLimit.Burst != 3 {
		t.Fatalf("burst defaulted to %d, want 3", r.Msg.Webhook.RateLimit.Burst)
	}
	_, err = e.webhooks(e.platform).CreateWebhook(ctx, connect.NewRequest(&hookgatev1.CreateWebhookRequest{Webhook: &hookgatev1.Webhook{
		Tenant: "nope", Name: "valid name", Provider: hookgatev1.Provider_PROVIDER_GENERIC, Bindings: start()}}))
	wantCode(t, err, connect.CodeNotFound)
}

// The sweep reads an expiry index kept in step with the records; rotating
// again replaces the entry, and entries left by a deleted tenant are dropped.
func TestKeyExpiryIndex(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	createTenant(t, e, "acme")
	wh := e.webhooks(e.platform)
	index := func() []string {
		t.Helper()
		resp, err := e.etcd.Get(ctx, store.KeyExpiriesPrefix, clientv3.WithPrefix(), clientv3.WithKeysOnly())
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, kv := range resp.Kvs {
			keys = append(keys, string(kv.Key))
		}
		return keys
	}
	w, err := wh.CreateWebhook(ctx, connect.NewRequest(&hookgatev1.CreateWebhookRequest{Webhook: slackWebhook("acme", "indexed")}))
	if err != nil {
		t.Fatal(err)
	}
	id := w.Msg.Webhook.Id
	rotate := func(grace time.Duration) {
		t.Helper()
		if _, err := wh.RotateWebhookKey(ctx, connect.NewRequest(&hookgatev1.RotateWebhookKeyRequest{Tenant: "acme", WebhookId: id, GracePeriod: durationpb.New(grace)})); err != nil {
			t.Fatal(err)
		}
	}
	rotate(time.Hour)
	first := index()
	if len(first) != 1 || !strings.HasSuffix(first[0], "/acme/"+id) {
		t.Fatalf("index after rotation: %v", first)
	}
	rotate(2 * time.Hour)
	if second := index(); len(second) != 1 || second[0] == first[0] {
		t.Fatalf("index after a second rotation: %v (was %v)", second, first)
	}
	rotate(0)
	if got := index(); len(got) != 0 {
		t.Fatalf("zero grace left index entries %v", got)
	}
	rotate(time.Hour)
	e.clock.Advance(2 * time.Hour)
	if n, err := e.store.ExpirePreviousKeys(ctx, e.clock.Now()); err != nil || n != 1 || len(index()) != 0 {
		t.Fatalf("sweep removed %d (%v), index %v", n, err, index())
	}

	// A deleted tenant's records go by prefix; the sweep drops what is left.
	rotate(time.Hour)
	if _, err := e.tenants(e.platform).DeleteTenant(ctx, connect.NewRequest(&hookgatev1.DeleteTenantRequest{Tenant: "acme"})); err != nil {
		t.Fatal(err)
	}
	if len(index()) != 1 {
		t.Fatalf("index after tenant deletion: %v", index())
	}
	e.clock.Advance(2 * time.Hour)
	if n, err := e.store.ExpirePreviousKeys(ctx, e.clock.Now()); err != nil || n != 0 || len(index()) != 0 {
		t.Fatalf("sweep of an orphan: removed %d (%v), index %v", n, err, index())
	}
}

// TestBodyLimitMustFitNATS: a 4 MiB limit with raw_body makes envelopes of
// about 9.4 MiB (body, its base64, headers), which NATS refuses at 8 MiB;
// it used to be accepted and then failed every large request.
func TestBodyLimitMustFitNATS(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	createTenant(t, e, "acme")
	wh := e.webhooks(e.platform)
	hook := func(name string, maxBody int64, raw bool) *hookgatev1.Webhook {
		return &hookgatev1.Webhook{Tenant: "acme", Name: name, Provider: hookgatev1.Provider_PROVIDER_GENERIC,
			Bindings:     []*hookgatev1.Binding{{ProcessId: "p", Trigger: hookgatev1.Trigger_TRIGGER_START_PROCESS}},
			MaxBodyBytes: maxBody, RawBody: raw}
	}
	tests := []struct {
		name    string
		maxBody int64
		raw     bool
		ok      bool
	}{
		{"4 MiB with raw body", 4 << 20, true, false},
		{"4 MiB without raw body", 4 << 20, false, true},
		{"3 MiB with raw body", 3 << 20, true, true},
		{"default with raw body", 0, true, true},
	}
	for _, tt := range tests {
		_, err := wh.CreateWebhook(ctx, connect.NewRequest(&hookgatev1.CreateWebhookRequest{Webhook: hook(tt.name, tt.maxBody, tt.raw)}))
		if tt.ok {
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			continue
		}
		wantCode(t, err, connect.CodeInvalidArgument)
		if msg := connect.NewError(connect.CodeOf(err), err).Message(); !strings.Contains(msg, "webhook.max_body_bytes") || !strings.Contains(msg, "raw_body") {
			t.Fatalf("%s: error %q does not name the field and raw_body", tt.name, msg)
		}
	}

	// Turning raw_body on for the 4 MiB webhook is refused the same way.
	list, err := wh.ListWebhooks(ctx, connect.NewRequest(&hookgatev1.ListWebhooksRequest{Tenant: "acme"}))
	if err != nil {
		t.Fatal(err)
	}
	var big *hookgatev1.Webhook
	for _, w := range list.Msg.Webhooks {
		if w.Name == "4 MiB without raw body" {
			big = w
		}
	}
	if big == nil {
		t.Fatal("the 4 MiB webhook is not listed")
	}
	big.RawBody = true
	_, err = wh.UpdateWebhook(ctx, connect.NewRequest(&hookgatev1.UpdateWebhookRequest{Webhook: big, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"raw_body"}}}))
	wantCode(t, err, connect.CodeInvalidArgument)
	got, err := wh.GetWebhook(ctx, connect.NewRequest(&hookgatev1.GetWebhookRequest{Tenant: "acme", WebhookId: big.Id}))
	if err != nil || got.Msg.Webhook.RawBody {
		t.Fatalf("refused update changed the webhook: %v, %v", got, err)
	}
	// Lowering the limit in the same update makes it fit.
	big.MaxBodyBytes = 2 << 20
	if _, err := wh.UpdateWebhook(ctx, connect.NewRequest(&hookgatev1.UpdateWebhookRequest{Webhook: big,
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"raw_body", "max_body_bytes"}}})); err != nil {
		t.Fatalf("2 MiB with raw body: %v", err)
	}
}

// TestMaxPayloadOption: the limit follows the NATS server the wiring
// passes, e.g. one left at NATS's 1 MiB default.
func TestMaxPayloadOption(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	createTenant(t, e, "acme")
	log := slog.New(slog.DiscardHandler)
	svc := admin.NewWebhookService(e.store, e.keyring, e.clock, log, "https://hooks.example.com", nil, admin.WithMaxPayload(2<<20))
	tests := []struct {
		maxBody int64
		raw     bool
		ok      bool
	}{
		{1 << 20, true, false}, // 1 MiB + 1.33 MiB + 64 KiB > 2 MiB
		{1 << 20, false, true},
		{512 << 10, true, true},
		{2 << 20, false, false},
	}
	for i, tt := range tests {
		_, err := svc.CreateWebhook(ctx, connect.NewRequest(&hookgatev1.CreateWebhookRequest{Webhook: &hookgatev1.Webhook{
			Tenant: "acme", Name: fmt.Sprintf("hook %d", i), Provider: hookgatev1.Provider_PROVIDER_GENERIC,
			Bindings:     []*hookgatev1.Binding{{ProcessId: "p", Trigger: hookgatev1.Trigger_TRIGGER_START_PROCESS}},
			MaxBodyBytes: tt.maxBody, RawBody: tt.raw}}))
		if tt.ok != (err == nil) {
			t.Errorf("max body %d raw %v: %v, want ok=%v", tt.maxBody, tt.raw, err, tt.ok)
		}
		if !tt.ok {
			wantCode(t, err, connect.CodeInvalidArgument)
		}
	}
}
