package admin_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/hookgate/hookgate/controlplane/secrets"
	"github.com/hookgate/hookgate/controlplane/store"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// wantInvalid fails unless err is InvalidArgument whose message contains
// every part.
func wantInvalid(t *testing.T, err error, parts ...string) {
	t.Helper()
	wantCode(t, err, connect.CodeInvalidArgument)
	msg := connect.NewError(connect.CodeOf(err), err).Message()
	for _, p := range parts {
		if !strings.Contains(msg, p) {
			t.Fatalf("error %q does not contain %q", msg, p)
		}
	}
}

func stripeWebhook(name string, secret string) *hookgatev1.Webhook {
	return &hookgatev1.Webhook{
		Tenant: "acme", Name: name, Provider: hookgatev1.Provider_PROVIDER_STRIPE, Bindings: startBindings(),
		ProviderSecrets: map[string]string{"signing_secret": secret},
	}
}

func customHmac(c *hookgatev1.CustomHmac) func(w *hookgatev1.Webhook) {
	return func(w *hookgatev1.Webhook) {
		w.Provider = hookgatev1.Provider_PROVIDER_CUSTOM_HMAC
		w.ProviderSecrets = map[string]string{"secret": "s3cr3t-value"}
		w.CustomHmac = c
	}
}

func TestCreateWebhookSecretRules(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	createTenant(t, e, "acme")
	if _, err := e.params(e.platform).SetConfigParam(ctx, connect.NewRequest(&hookgatev1.SetConfigParamRequest{Tenant: "acme", Name: "stripe_live", Value: "whsec_live"})); err != nil {
		t.Fatal(err)
	}
	ts := "X-Ts"
	tests := []struct {
		name  string
		mod   func(w *hookgatev1.Webhook)
		parts []string
	}{
		{"require_key false for GENERIC", func(w *hookgatev1.Webhook) {
			w.Provider, w.ProviderSecrets, w.RequireKey = hookgatev1.Provider_PROVIDER_GENERIC, nil, proto.Bool(false)
		}, []string{"webhook.require_key", "GENERIC"}},
		{"META without verify_token", func(w *hookgatev1.Webhook) {
			w.Provider, w.ProviderSecrets = hookgatev1.Provider_PROVIDER_META, map[string]string{"app_secret": "a"}
		}, []string{"webhook.provider_secrets: META needs verify_token"}},
		{"META without app_secret", func(w *hookgatev1.Webhook) {
			w.Provider, w.ProviderSecrets = hookgatev1.Provider_PROVIDER_META, map[string]string{"verify_token": "v"}
		}, []string{"webhook.provider_secrets: META needs app_secret"}},
		{"GITLAB without token", func(w *hookgatev1.Webhook) {
			w.Provider, w.ProviderSecrets = hookgatev1.Provider_PROVIDER_GITLAB, map[string]string{"signing_token": "v"}
		}, []string{"GITLAB needs token"}},
		{"empty required secret", func(w *hookgatev1.Webhook) { w.ProviderSecrets["signing_secret"] = "" }, []string{"STRIPE needs signing_secret"}},
		{"oversize secret", func(w *hookgatev1.Webhook) { w.ProviderSecrets["signing_secret"] = strings.Repeat("s", 4097) }, []string{"webhook.provider_secrets", "4096"}},
		{"reference to a missing parameter", func(w *hookgatev1.Webhook) { w.ProviderSecrets["signing_secret"] = "${configParam.nope}" },
			[]string{"webhook.provider_secrets", `"signing_secret"`, `"nope"`}},
		{"malformed reference", func(w *hookgatev1.Webhook) { w.ProviderSecrets["signing_secret"] = "${configParam.Bad-Name}" },
			[]string{"webhook.provider_secrets", `"signing_secret"`}},
		{"unclosed reference", func(w *hookgatev1.Webhook) { w.ProviderSecrets["signing_secret"] = "${configParam.stripe_live" },
			[]string{"webhook.provider_secrets"}},
		{"custom hmac without header", customHmac(&hookgatev1.CustomHmac{}), []string{"webhook.custom_hmac.header"}},
		{"custom hmac header with space", customHmac(&hookgatev1.CustomHmac{Header: "X Sig"}), []string{"webhook.custom_hmac.header"}},
		{"custom hmac sha384", customHmac(&hookgatev1.CustomHmac{Header: "X-Sig", Algorithm: "sha384"}), []string{"webhook.custom_hmac.algorithm"}},
		{"custom hmac base32", customHmac(&hookgatev1.CustomHmac{Header: "X-Sig", Encoding: "base32"}), []string{"webhook.custom_hmac.encoding"}},
		{"custom hmac unit us", customHmac(&hookgatev1.CustomHmac{Header: "X-Sig", TimestampHeader: ts, TimestampUnit: "us"}), []string{"webhook.custom_hmac.timestamp_unit"}},
		{"custom hmac unit without timestamp header", customHmac(&hookgatev1.CustomHmac{Header: "X-Sig", TimestampUnit: "s"}), []string{"webhook.custom_hmac.timestamp_unit"}},
		{"custom hmac {timestamp} without header", customHmac(&hookgatev1.CustomHmac{Header: "X-Sig", Template: "{timestamp}.{body}"}), []string{"{timestamp} needs"}},
		{"custom hmac {id} without id header", customHmac(&hookgatev1.CustomHmac{Header: "X-Sig", Template: "{id}.{body}"}), []string{"{id} needs custom_hmac.id_header"}},
		{"custom hmac unknown placeholder", customHmac(&hookgatev1.CustomHmac{Header: "X-Sig", Template: "{query}{body}"}), []string{"webhook.custom_hmac.template", "{query}"}},
		{"custom hmac bad header placeholder", customHmac(&hookgatev1.CustomHmac{Header: "X-Sig", Template: "{header:}{body}"}), []string{"webhook.custom_hmac.template"}},
		{"custom hmac stray brace", customHmac(&hookgatev1.CustomHmac{Header: "X-Sig", Template: "}{body}"}), []string{"webhook.custom_hmac.template"}},
		{"custom hmac without body", customHmac(&hookgatev1.CustomHmac{Header: "X-Sig", Template: "{url}"}), []string{"must contain {body}"}},
		{"custom hmac zero tolerance", customHmac(&hookgatev1.CustomHmac{Header: "X-Sig", TimestampHeader: ts, Tolerance: durationpb.New(0)}), []string{"webhook.custom_hmac.tolerance"}},
		{"custom hmac tolerance over 1h", customHmac(&hookgatev1.CustomHmac{Header: "X-Sig", TimestampHeader: ts, Tolerance: durationpb.New(time.Hour + time.Second)}), []string{"webhook.custom_hmac.tolerance"}},
		{"custom hmac tolerance without timestamp header", customHmac(&hookgatev1.CustomHmac{Header: "X-Sig", Tolerance: durationpb.New(time.Minute)}), []string{"webhook.custom_hmac.tolerance"}},
		{"custom hmac timestamp in signature header without prefix", customHmac(&hookgatev1.CustomHmac{Header: "X-Sig", TimestampHeader: "X-Sig", Separator: ","}), []string{"webhook.custom_hmac.timestamp_prefix"}},
		{"custom hmac bad id header", customHmac(&hookgatev1.CustomHmac{Header: "X-Sig", IdHeader: "a:b"}), []string{"webhook.custom_hmac.id_header"}},
		{"custom hmac separator with newline", customHmac(&hookgatev1.CustomHmac{Header: "X-Sig", Separator: "\n"}), []string{"webhook.custom_hmac.separator"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := stripeWebhook(fmt.Sprintf("rules %d", i), "whsec_abc")
			tt.mod(w)
			_, err := e.webhooks(e.platform).CreateWebhook(ctx, connect.NewRequest(&hookgatev1.CreateWebhookRequest{Webhook: w}))
			wantInvalid(t, err, tt.parts...)
			if strings.Contains(err.Error(), "whsec_") || strings.Contains(err.Error(), "s3cr3t") {
				t.Fatalf("error %q shows a secret value", err)
			}
		})
	}

	// Valid rows: defaults are filled in and read back.
	w := stripeWebhook("stripe by reference", "${configParam.stripe_live}")
	w.RequireKey = proto.Bool(false)
	created, err := e.webhooks(e.platform).CreateWebhook(ctx, connect.NewRequest(&hookgatev1.CreateWebhookRequest{Webhook: w}))
	if err != nil {
		t.Fatal(err)
	}
	got := created.Msg.Webhook
	if got.RequireKey == nil || *got.RequireKey || got.ProviderSecretRefs["signing_secret"] != "stripe_live" ||
		len(got.ProviderSecretNames) != 1 || got.ProviderSecretNames[0] != "signing_secret" || len(got.ProviderSecrets) != 0 {
		t.Fatalf("created %v", got)
	}
	c := &hookgatev1.CustomHmac{Header: "webhook-signature", Encoding: "base64url", IdHeader: "webhook-id", TimestampHeader: "webhook-timestamp",
		Separator: " ", Prefix: "v1,", Template: "{id}.{timestamp}.{body}{header:X-Extra}{url}{method}"}
	hm := stripeWebhook("custom hmac", "x")
	customHmac(c)(hm)
	created, err = e.webhooks(e.platform).CreateWebhook(ctx, connect.NewRequest(&hookgatev1.CreateWebhookRequest{Webhook: hm}))
	if err != nil {
		t.Fatal(err)
	}
	got = created.Msg.Webhook
	if got.RequireKey == nil || !*got.RequireKey || got.CustomHmac.TimestampUnit != "s" || got.CustomHmac.Tolerance.AsDuration() != 5*time.Minute || got.CustomHmac.Algorithm != "sha256" {
		t.Fatalf("defaults: require_key %v, custom %v", got.RequireKey, got.CustomHmac)
	}
}

func TestUpdateWebhookSecretRules(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	createTenant(t, e, "acme")
	wh := e.webhooks(e.platform)
	generic, err := wh.CreateWebhook(ctx, connect.NewRequest(&hookgatev1.CreateWebhookRequest{Webhook: &hookgatev1.Webhook{
		Tenant: "acme", Name: "generic", Provider: hookgatev1.Provider_PROVIDER_GENERIC, Bindings: startBindings()}}))
	if err != nil {
		t.Fatal(err)
	}
	meta, err := wh.CreateWebhook(ctx, connect.NewRequest(&hookgatev1.CreateWebhookRequest{Webhook: &hookgatev1.Webhook{
		Tenant: "acme", Name: "meta", Provider: hookgatev1.Provider_PROVIDER_META, Bindings: startBindings(),
		ProviderSecrets: map[string]string{"app_secret": "a", "verify_token": "v"}}}))
	if err != nil {
		t.Fatal(err)
	}
	update := func(w *hookgatev1.Webhook, paths ...string) (*hookgatev1.Webhook, error) {
		r, err := wh.UpdateWebhook(ctx, connect.NewRequest(&hookgatev1.UpdateWebhookRequest{Webhook: w, UpdateMask: &fieldmaskpb.FieldMask{Paths: paths}}))
		if err != nil {
			return nil, err
		}
		return r.Msg.Webhook, nil
	}
	gid, mid := generic.Msg.Webhook.Id, meta.Msg.Webhook.Id
	_, err = update(&hookgatev1.Webhook{Tenant: "acme", Id: gid, RequireKey: proto.Bool(false)}, "require_key")
	wantInvalid(t, err, "webhook.require_key")
	_, err = update(&hookgatev1.Webhook{Tenant: "acme", Id: mid, ProviderSecrets: map[string]string{"app_secret": "a2"}}, "provider_secrets")
	wantInvalid(t, err, "META needs verify_token")
	_, err = update(&hookgatev1.Webhook{Tenant: "acme", Id: mid, ProviderSecrets: map[string]string{"app_secret": "a2", "verify_token": "${configParam.missing}"}}, "provider_secrets")
	wantInvalid(t, err, `"verify_token"`, `"missing"`)

	got, err := update(&hookgatev1.Webhook{Tenant: "acme", Id: mid, RequireKey: proto.Bool(false)}, "require_key")
	if err != nil || got.RequireKey == nil || *got.RequireKey {
		t.Fatalf("require_key false for META: %v, %v", got, err)
	}
	// Unset in the request means true.
	got, err = update(&hookgatev1.Webhook{Tenant: "acme", Id: mid}, "require_key")
	if err != nil || got.RequireKey == nil || !*got.RequireKey {
		t.Fatalf("require_key unset: %v, %v", got, err)
	}
}

func TestConfigParams(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	createTenant(t, e, "acme")
	p := e.params(e.platform)
	set := func(tenant, name, value string) error {
		_, err := p.SetConfigParam(ctx, connect.NewRequest(&hookgatev1.SetConfigParamRequest{Tenant: tenant, Name: name, Value: value}))
		return err
	}
	bad := []struct {
		name, tenant, param, value string
		code                       connect.Code
		field                      string
	}{
		{"upper-case name", "acme", "Stripe", "v", connect.CodeInvalidArgument, "name"},
		{"dash in name", "acme", "a-b", "v", connect.CodeInvalidArgument, "name"},
		{"empty name", "acme", "", "v", connect.CodeInvalidArgument, "name"},
		{"name over 64", "acme", strings.Repeat("a", 65), "v", connect.CodeInvalidArgument, "name"},
		{"empty value", "acme", "p", "", connect.CodeInvalidArgument, "value"},
		{"value over 4 KiB", "acme", "p", strings.Repeat("v", 4097), connect.CodeInvalidArgument, "value"},
		{"bad tenant", "ACME", "p", "v", connect.CodeInvalidArgument, "tenant"},
		{"missing tenant", "nope", "p", "v", connect.CodeNotFound, ""},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			err := set(tt.tenant, tt.param, tt.value)
			wantCode(t, err, tt.code)
			if tt.field != "" && !strings.HasPrefix(err.Error(), "invalid_argument: "+tt.field+":") {
				t.Fatalf("error %q does not name %s", err, tt.field)
			}
		})
	}
	if err := set("acme", strings.Repeat("a", 64), strings.Repeat("v", 4096)); err != nil {
		t.Fatalf("largest name and value: %v", err)
	}
	if err := set("acme", "stripe_live", "whsec_one"); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	if err := set("acme", "stripe_live", "whsec_two"); err != nil {
		t.Fatal(err)
	}
	list, err := p.ListConfigParams(ctx, connect.NewRequest(&hookgatev1.ListConfigParamsRequest{Tenant: "acme"}))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(list.Msg.ConfigParams); n != 2 {
		t.Fatalf("%d parameters listed", n)
	}
	sp := list.Msg.ConfigParams[1]
	if sp.Name != "stripe_live" || !sp.UpdateTime.AsTime().Equal(e.clock.Now()) || sp.UpdateTime.AsTime().Equal(sp.CreateTime.AsTime()) {
		t.Fatalf("listed %v", sp)
	}
	if b, _ := proto.Marshal(list.Msg); strings.Contains(string(b), "whsec_") {
		t.Fatal("the listing carries a value")
	}
	// The stored value is sealed and the previous one kept for 24 h.
	rec, _, err := e.store.ConfigParam(ctx, "acme", "stripe_live")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(rec.GetValue().GetSealed()), "whsec") || rec.GetPreviousValue() == nil ||
		!rec.GetPreviousExpireTime().AsTime().Equal(e.clock.Now().Add(24*time.Hour)) {
		t.Fatalf("stored %v", rec)
	}

	created, err := e.webhooks(e.platform).CreateWebhook(ctx, connect.NewRequest(&hookgatev1.CreateWebhookRequest{Webhook: stripeWebhook("stripe", "${configParam.stripe_live}")}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.DeleteConfigParam(ctx, connect.NewRequest(&hookgatev1.DeleteConfigParamRequest{Tenant: "acme", Name: "stripe_live"}))
	wantCode(t, err, connect.CodeFailedPrecondition)
	if !strings.Contains(err.Error(), created.Msg.Webhook.Id) {
		t.Fatalf("error %q does not name the webhook", err)
	}
	_, err = p.DeleteConfigParam(ctx, connect.NewRequest(&hookgatev1.DeleteConfigParamRequest{Tenant: "acme", Name: "Bad"}))
	wantCode(t, err, connect.CodeInvalidArgument)
	_, err = p.DeleteConfigParam(ctx, connect.NewRequest(&hookgatev1.DeleteConfigParamRequest{Tenant: "acme", Name: "nope"}))
	wantCode(t, err, connect.CodeNotFound)
	if _, err := e.webhooks(e.platform).DeleteWebhook(ctx, connect.NewRequest(&hookgatev1.DeleteWebhookRequest{Tenant: "acme", WebhookId: created.Msg.Webhook.Id})); err != nil {
		t.Fatal(err)
	}
	if _, err := p.DeleteConfigParam(ctx, connect.NewRequest(&hookgatev1.DeleteConfigParamRequest{Tenant: "acme", Name: "stripe_live"})); err != nil {
		t.Fatalf("delete once free: %v", err)
	}
}

func TestRotateProviderSecret(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	createTenant(t, e, "acme")
	wh := e.webhooks(e.platform)
	created, err := wh.CreateWebhook(ctx, connect.NewRequest(&hookgatev1.CreateWebhookRequest{Webhook: stripeWebhook("stripe", "whsec_old")}))
	if err != nil {
		t.Fatal(err)
	}
	id := created.Msg.Webhook.Id
	rotate := func(name, value string, grace *durationpb.Duration) (*hookgatev1.RotateProviderSecretResponse, error) {
		r, err := wh.RotateProviderSecret(ctx, connect.NewRequest(&hookgatev1.RotateProviderSecretRequest{Tenant: "acme", WebhookId: id, Name: name, Value: value, GracePeriod: grace}))
		if err != nil {
			return nil, err
		}
		return r.Msg, nil
	}
	bad := []struct {
		name, secret, value string
		grace               *durationpb.Duration
		parts               []string
	}{
		{"negative grace", "signing_secret", "whsec_new", durationpb.New(-time.Second), []string{"grace_period"}},
		{"grace over 30 days", "signing_secret", "whsec_new", durationpb.New(30*24*time.Hour + time.Second), []string{"grace_period"}},
		{"invalid grace", "signing_secret", "whsec_new", &durationpb.Duration{Seconds: 1, Nanos: -1}, []string{"grace_period"}},
		{"no name", "", "whsec_new", nil, []string{"name"}},
		{"secret the provider does not use", "app_secret", "whsec_new", nil, []string{"name", "STRIPE"}},
		{"empty value", "signing_secret", "", nil, []string{"value"}},
		{"oversize value", "signing_secret", strings.Repeat("v", 4097), nil, []string{"value"}},
		{"missing parameter", "signing_secret", "${configParam.nope}", nil, []string{"value", `"signing_secret"`, `"nope"`}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := rotate(tt.secret, tt.value, tt.grace)
			wantInvalid(t, err, tt.parts...)
		})
	}
	r, err := rotate("signing_secret", "whsec_new", durationpb.New(30*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if !r.PreviousExpireTime.AsTime().Equal(e.clock.Now().Add(30 * 24 * time.Hour)) {
		t.Fatalf("previous expires %v", r.PreviousExpireTime.AsTime())
	}
	if b, _ := proto.Marshal(r); strings.Contains(string(b), "whsec_") {
		t.Fatal("the response carries a secret")
	}
	rec, _, err := e.store.Webhook(ctx, "acme", id)
	if err != nil {
		t.Fatal(err)
	}
	open := func(c interface {
		GetKeyId() string
		GetNonce() []byte
		GetSealed() []byte
	}) string {
		t.Helper()
		return openSecret(t, e, id, "signing_secret", c)
	}
	if open(rec.GetProviderSecrets()["signing_secret"]) != "whsec_new" || open(rec.GetPreviousProviderSecrets()["signing_secret"].GetValue()) != "whsec_old" {
		t.Fatal("stored current and previous are not the new and old values")
	}
	// The default grace is 24 h, and rotating again replaces the previous.
	r, err = rotate("signing_secret", "whsec_third", nil)
	if err != nil || !r.PreviousExpireTime.AsTime().Equal(e.clock.Now().Add(24*time.Hour)) {
		t.Fatalf("default grace: %v, %v", r, err)
	}
	rec, _, _ = e.store.Webhook(ctx, "acme", id)
	if open(rec.GetPreviousProviderSecrets()["signing_secret"].GetValue()) != "whsec_new" {
		t.Fatal("the previous value is not the one just replaced")
	}
	// The sweep drops it once due.
	e.clock.Advance(24 * time.Hour)
	if _, err := e.store.ExpirePreviousKeys(ctx, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	rec, _, _ = e.store.Webhook(ctx, "acme", id)
	if len(rec.GetPreviousProviderSecrets()) != 0 {
		t.Fatal("the sweep left the expired previous secret")
	}
	// Grace 0 ends the previous value at once; rotating to a reference
	// stores the reference.
	if _, err := e.params(e.platform).SetConfigParam(ctx, connect.NewRequest(&hookgatev1.SetConfigParamRequest{Tenant: "acme", Name: "live", Value: "whsec_param"})); err != nil {
		t.Fatal(err)
	}
	r, err = rotate("signing_secret", "${configParam.live}", durationpb.New(0))
	if err != nil || r.PreviousExpireTime != nil || r.Webhook.ProviderSecretRefs["signing_secret"] != "live" {
		t.Fatalf("grace 0 to a reference: %v, %v", r, err)
	}
	rec, _, _ = e.store.Webhook(ctx, "acme", id)
	if len(rec.GetPreviousProviderSecrets()) != 0 || len(rec.GetProviderSecrets()) != 0 {
		t.Fatalf("stored %v", rec)
	}
	// Rotating away from a reference keeps the parameter's value as previous.
	if _, err := rotate("signing_secret", "whsec_literal", nil); err != nil {
		t.Fatal(err)
	}
	rec, _, _ = e.store.Webhook(ctx, "acme", id)
	if open(rec.GetPreviousProviderSecrets()["signing_secret"].GetValue()) != "whsec_param" || len(rec.GetProviderSecretRefs()) != 0 {
		t.Fatal("rotating from a reference did not keep its value as previous")
	}
}

// openSecret opens a webhook's sealed provider secret with the env's keyring.
func openSecret(t *testing.T, e *env, id, name string, c interface {
	GetKeyId() string
	GetNonce() []byte
	GetSealed() []byte
}) string {
	t.Helper()
	plain, err := e.keyring.Open(secrets.Sealed{KeyID: c.GetKeyId(), Nonce: c.GetNonce(), Data: c.GetSealed()}, store.SecretAAD("acme", id, name))
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	return string(plain)
}

func startBindings() []*hookgatev1.Binding {
	return []*hookgatev1.Binding{{ProcessId: "orders", Trigger: hookgatev1.Trigger_TRIGGER_START_PROCESS}}
}

// TestRotateChecksKeyFormat: a rotation is refused a key the edge could not
// parse, as a create is, so the new value verifies once the old one ends.
func TestRotateChecksKeyFormat(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	createTenant(t, e, "acme")
	wh := e.webhooks(e.platform)
	key := strings.Repeat("ab", 32)
	created, err := wh.CreateWebhook(ctx, connect.NewRequest(&hookgatev1.CreateWebhookRequest{Webhook: &hookgatev1.Webhook{
		Tenant: "acme", Name: "discord", Provider: hookgatev1.Provider_PROVIDER_DISCORD, Bindings: startBindings(),
		ProviderSecrets: map[string]string{"public_key": key},
	}}))
	if err != nil {
		t.Fatal(err)
	}
	rotate := func(value string) error {
		_, err := wh.RotateProviderSecret(ctx, connect.NewRequest(&hookgatev1.RotateProviderSecretRequest{
			Tenant: "acme", WebhookId: created.Msg.Webhook.Id, Name: "public_key", Value: value}))
		return err
	}
	wantInvalid(t, rotate("not-hex"), "value", "public_key")
	wantInvalid(t, rotate(strings.Repeat("ab", 31)), "value", "public_key")
	if err := rotate(strings.Repeat("cd", 32)); err != nil {
		t.Fatalf("rotate to a valid key: %v", err)
	}
}
