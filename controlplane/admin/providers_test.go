package admin_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"strings"
	"testing"

	"connectrpc.com/connect"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// TestCustomHmacEdgeRules: configurations the edge (dataplane/verify)
// cannot compile are refused at registration, on create and on update,
// naming the field; before, each was stored and then answered 401 on every
// call. cmd/hookgate/contract checks the same rules against the edge's code.
func TestCustomHmacEdgeRules(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	createTenant(t, e, "acme")
	wh := e.webhooks(e.platform)
	stripe := func(mod func(c *hookgatev1.CustomHmac)) *hookgatev1.CustomHmac {
		c := &hookgatev1.CustomHmac{Header: "Stripe-Signature", TimestampHeader: "Stripe-Signature", TimestampPrefix: "t=",
			Prefix: "v1=", Separator: ",", Template: "{timestamp}.{body}"}
		mod(c)
		return c
	}
	tests := []struct {
		name  string
		c     *hookgatev1.CustomHmac
		parts []string
	}{
		{"body twice", &hookgatev1.CustomHmac{Header: "X-Sig", Template: "{body}.{body}"},
			[]string{"webhook.custom_hmac.template: must contain {body} exactly once"}},
		{"33 parts", &hookgatev1.CustomHmac{Header: "X-Sig", Template: strings.Repeat("{url}.", 16) + "{body}"},
			[]string{"webhook.custom_hmac.template: has 33 parts", "at most 32"}},
		{"timestamp header not signed", &hookgatev1.CustomHmac{Header: "X-Sig", TimestampHeader: "X-Ts"},
			[]string{"webhook.custom_hmac.template: must contain {timestamp}"}},
		{"letter separator", &hookgatev1.CustomHmac{Header: "X-Sig", Separator: "a"},
			[]string{"webhook.custom_hmac.separator", "letters, digits"}},
		{"base64 separator", &hookgatev1.CustomHmac{Header: "X-Sig", Separator: "/"},
			[]string{"webhook.custom_hmac.separator", "+/-_="}},
		{"separator over 4", &hookgatev1.CustomHmac{Header: "X-Sig", Separator: ";;;;;"},
			[]string{"webhook.custom_hmac.separator: must be at most 4"}},
		{"separator in prefix", &hookgatev1.CustomHmac{Header: "X-Sig", Prefix: "v1,", Separator: ","},
			[]string{"webhook.custom_hmac.separator", "appears in custom_hmac.prefix"}},
		{"separator in timestamp prefix", &hookgatev1.CustomHmac{Header: "X-Sig", TimestampHeader: "X-Ts", Template: "{timestamp}{body}", TimestampPrefix: "t;", Separator: ";"},
			[]string{"webhook.custom_hmac.separator", "appears in custom_hmac.timestamp_prefix"}},
		{"prefix starts with a blank", &hookgatev1.CustomHmac{Header: "X-Sig", Prefix: " v1="},
			[]string{"webhook.custom_hmac.prefix: must not start with a blank"}},
		{"timestamp prefix starts with a blank", &hookgatev1.CustomHmac{Header: "X-Sig", TimestampHeader: "X-Ts", Template: "{timestamp}{body}", TimestampPrefix: " t="},
			[]string{"webhook.custom_hmac.timestamp_prefix: must not start with a blank"}},
		{"timestamp in signature header, other case, no timestamp prefix", stripe(func(c *hookgatev1.CustomHmac) {
			c.TimestampHeader, c.TimestampPrefix = "stripe-signature", ""
		}), []string{"webhook.custom_hmac.timestamp_prefix", "ignoring case"}},
		{"timestamp in signature header, other case, no separator", stripe(func(c *hookgatev1.CustomHmac) {
			c.TimestampHeader, c.Separator = "STRIPE-SIGNATURE", ""
		}), []string{"webhook.custom_hmac.timestamp_prefix", "needs timestamp_prefix and separator"}},
		{"timestamp in signature header without prefix", stripe(func(c *hookgatev1.CustomHmac) { c.Prefix = "" }),
			[]string{"webhook.custom_hmac.prefix: is required when the timestamp is in the signature header"}},
		{"prefix starts the timestamp prefix", stripe(func(c *hookgatev1.CustomHmac) { c.Prefix, c.TimestampPrefix = "v", "v1=" }),
			[]string{"webhook.custom_hmac.timestamp_prefix", "neither may start the other"}},
		{"timestamp prefix starts the prefix", stripe(func(c *hookgatev1.CustomHmac) { c.Prefix = "t=v1" }),
			[]string{"webhook.custom_hmac.timestamp_prefix", "neither may start the other"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := stripeWebhook(fmt.Sprintf("custom %d", i), "x")
			customHmac(tt.c)(w)
			_, err := wh.CreateWebhook(ctx, connect.NewRequest(&hookgatev1.CreateWebhookRequest{Webhook: w}))
			wantInvalid(t, err, tt.parts...)
		})
	}

	// Valid: Stripe's layout with the timestamp header in another case,
	// and a separator of four characters; then an update to a bad shape
	// is refused the same way and leaves the stored configuration.
	w := stripeWebhook("custom ok", "x")
	customHmac(stripe(func(c *hookgatev1.CustomHmac) { c.TimestampHeader = "stripe-signature" }))(w)
	created, err := wh.CreateWebhook(ctx, connect.NewRequest(&hookgatev1.CreateWebhookRequest{Webhook: w}))
	if err != nil {
		t.Fatal(err)
	}
	id := created.Msg.Webhook.Id
	w2 := stripeWebhook("custom ok 2", "x")
	customHmac(&hookgatev1.CustomHmac{Header: "X-Sig", Prefix: "v1=", Separator: " ;; "})(w2)
	if _, err := wh.CreateWebhook(ctx, connect.NewRequest(&hookgatev1.CreateWebhookRequest{Webhook: w2})); err != nil {
		t.Fatal(err)
	}
	_, err = wh.UpdateWebhook(ctx, connect.NewRequest(&hookgatev1.UpdateWebhookRequest{
		Webhook:    &hookgatev1.Webhook{Tenant: "acme", Id: id, CustomHmac: &hookgatev1.CustomHmac{Header: "X-Sig", Template: "{body}{body}"}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"custom_hmac"}},
	}))
	wantInvalid(t, err, "webhook.custom_hmac.template", "exactly once")
	got, err := wh.GetWebhook(ctx, connect.NewRequest(&hookgatev1.GetWebhookRequest{Tenant: "acme", WebhookId: id}))
	if err != nil {
		t.Fatal(err)
	}
	if c := got.Msg.Webhook.CustomHmac; c.GetHeader() != "Stripe-Signature" || c.GetTemplate() != "{timestamp}.{body}" {
		t.Fatalf("stored configuration changed by a refused update: %v", c)
	}
}

// TestProviderKeyFormats: DISCORD, SENDGRID and STANDARD_WEBHOOKS keys
// are refused at registration in any form the edge cannot parse (it would
// answer every call 401), naming the secret and never showing the value;
// references to config parameters are not checked.
func TestProviderKeyFormats(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	createTenant(t, e, "acme")
	wh := e.webhooks(e.platform)

	edPub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p256 := spki(t, elliptic.P256())
	p384 := spki(t, elliptic.P384())
	edSPKI, err := x509.MarshalPKIXPublicKey(edPub)
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.StdEncoding.EncodeToString
	raw := base64.RawStdEncoding.EncodeToString
	pemOf := func(der []byte) string {
		return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	}
	bytesOf := func(n int) []byte {
		b := make([]byte, n)
		if _, err := rand.Read(b); err != nil {
			t.Fatal(err)
		}
		return b
	}
	const (
		discord  = hookgatev1.Provider_PROVIDER_DISCORD
		sendgrid = hookgatev1.Provider_PROVIDER_SENDGRID
		standard = hookgatev1.Provider_PROVIDER_STANDARD_WEBHOOKS
	)
	sw := func(signing string) map[string]string { return map[string]string{"signing_secret": signing} }
	swPub := func(pub string) map[string]string {
		return map[string]string{"signing_secret": "whsec_" + b64(bytesOf(24)), "public_key": pub}
	}
	tests := []struct {
		name     string
		provider hookgatev1.Provider
		secrets  map[string]string
		bad      string // the secret refused, "" when accepted
	}{
		{"discord hex", discord, map[string]string{"public_key": hex.EncodeToString(edPub)}, ""},
		{"discord upper-case hex", discord, map[string]string{"public_key": strings.ToUpper(hex.EncodeToString(edPub))}, ""},
		{"discord 31 bytes", discord, map[string]string{"public_key": hex.EncodeToString(edPub[:31])}, "public_key"},
		{"discord 33 bytes", discord, map[string]string{"public_key": hex.EncodeToString(append(edPub, 0))}, "public_key"},
		{"discord not hex", discord, map[string]string{"public_key": strings.Repeat("zz", 32)}, "public_key"},
		{"discord base64 of 64 characters", discord, map[string]string{"public_key": b64(bytesOf(48))}, "public_key"},
		{"discord trailing newline", discord, map[string]string{"public_key": hex.EncodeToString(edPub) + "\n"}, "public_key"},

		{"sendgrid base64 DER", sendgrid, map[string]string{"public_key": b64(p256)}, ""},
		{"sendgrid base64 DER with blanks around", sendgrid, map[string]string{"public_key": " " + b64(p256) + "\n"}, ""},
		{"sendgrid PEM", sendgrid, map[string]string{"public_key": pemOf(p256)}, ""},
		{"sendgrid P-384", sendgrid, map[string]string{"public_key": b64(p384)}, "public_key"},
		{"sendgrid Ed25519 key", sendgrid, map[string]string{"public_key": b64(edSPKI)}, "public_key"},
		{"sendgrid base64url", sendgrid, map[string]string{"public_key": strings.TrimRight(base64.URLEncoding.EncodeToString(p256), "=") + "-_"}, "public_key"},
		{"sendgrid unpadded truncated", sendgrid, map[string]string{"public_key": b64(p256)[:40]}, "public_key"},
		{"sendgrid PEM of garbage", sendgrid, map[string]string{"public_key": pemOf([]byte("not a key"))}, "public_key"},
		{"sendgrid broken PEM", sendgrid, map[string]string{"public_key": "-----BEGIN PUBLIC KEY-----\n" + b64(p256)}, "public_key"},

		{"standard whsec_ 24 bytes", standard, sw("whsec_" + b64(bytesOf(24))), ""},
		{"standard whsec_ 64 bytes", standard, sw("whsec_" + b64(bytesOf(64))), ""},
		{"standard bare base64 32 bytes", standard, sw(b64(bytesOf(32))), ""},
		{"standard unpadded 25 bytes", standard, sw("whsec_" + raw(bytesOf(25))), ""},
		{"standard 23 bytes", standard, sw("whsec_" + b64(bytesOf(23))), "signing_secret"},
		{"standard 65 bytes", standard, sw("whsec_" + b64(bytesOf(65))), "signing_secret"},
		{"standard not base64", standard, sw("whsec_" + strings.Repeat("!", 32)), "signing_secret"},
		{"standard base64url", standard, sw("whsec_" + strings.Repeat("-_", 16)), "signing_secret"},
		{"standard Stripe-like secret", standard, sw("whsec_live"), "signing_secret"},
		{"standard public key whpk_", standard, swPub("whpk_" + b64(edPub)), ""},
		{"standard public key bare", standard, swPub(raw(edPub)), ""},
		{"standard public key 31 bytes", standard, swPub("whpk_" + b64(edPub[:31])), "public_key"},
		{"standard public key hex", standard, swPub(hex.EncodeToString(edPub)), "public_key"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &hookgatev1.Webhook{Tenant: "acme", Name: fmt.Sprintf("keys %d", i), Provider: tt.provider, Bindings: startBindings(), ProviderSecrets: tt.secrets}
			_, err := wh.CreateWebhook(ctx, connect.NewRequest(&hookgatev1.CreateWebhookRequest{Webhook: w}))
			if tt.bad == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			wantInvalid(t, err, "webhook.provider_secrets", fmt.Sprintf("secret %q", tt.bad), strings.TrimPrefix(tt.provider.String(), "PROVIDER_"))
			if v := strings.TrimSpace(tt.secrets[tt.bad]); len(v) > 8 && strings.Contains(err.Error(), v[:8]) {
				t.Fatalf("error %q shows the value", err)
			}
		})
	}

	// An update of provider_secrets is checked the same way.
	created, err := wh.CreateWebhook(ctx, connect.NewRequest(&hookgatev1.CreateWebhookRequest{Webhook: &hookgatev1.Webhook{
		Tenant: "acme", Name: "discord update", Provider: discord, Bindings: startBindings(),
		ProviderSecrets: map[string]string{"public_key": hex.EncodeToString(edPub)}}}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = wh.UpdateWebhook(ctx, connect.NewRequest(&hookgatev1.UpdateWebhookRequest{
		Webhook:    &hookgatev1.Webhook{Tenant: "acme", Id: created.Msg.Webhook.Id, ProviderSecrets: map[string]string{"public_key": "abc"}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"provider_secrets"}},
	}))
	wantInvalid(t, err, "webhook.provider_secrets", `DISCORD secret "public_key" must be 64 hex characters`)

	// A reference is not checked: the parameter may change after
	// registration, and the edge reads an unusable value as secret_missing.
	if _, err := e.params(e.platform).SetConfigParam(ctx, connect.NewRequest(&hookgatev1.SetConfigParamRequest{Tenant: "acme", Name: "discord_key", Value: "not hex"})); err != nil {
		t.Fatal(err)
	}
	_, err = wh.CreateWebhook(ctx, connect.NewRequest(&hookgatev1.CreateWebhookRequest{Webhook: &hookgatev1.Webhook{
		Tenant: "acme", Name: "discord by reference", Provider: discord, Bindings: startBindings(),
		ProviderSecrets: map[string]string{"public_key": "${configParam.discord_key}"}}}))
	if err != nil {
		t.Fatalf("reference refused: %v", err)
	}
}

// spki is a fresh ECDSA public key on curve as DER SubjectPublicKeyInfo.
func spki(t *testing.T, curve elliptic.Curve) []byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return der
}
