package admin_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/hookgate/hookgate/controlplane/secrets"
	"github.com/hookgate/hookgate/controlplane/store"
	storagev1 "github.com/hookgate/hookgate/gen/hookgate/storage/v1"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

const (
	schemeHMAC = hookgatev1.SignatureScheme_SIGNATURE_SCHEME_HMAC_SHA256
	schemeEd   = hookgatev1.SignatureScheme_SIGNATURE_SCHEME_ED25519
)

// edKeyOf decodes a "whsk_" secret key (32-byte seed or 64-byte seed ‖
// public key) and a "whpk_" public key, failing the test on any other form.
func edKeyOf(t *testing.T, secret, public string) (ed25519.PrivateKey, ed25519.PublicKey) {
	t.Helper()
	raw, ok := strings.CutPrefix(secret, "whsk_")
	if !ok {
		t.Fatal("secret is not whsk_…")
	}
	b, err := base64.StdEncoding.DecodeString(raw)
	if err != nil || (len(b) != ed25519.SeedSize && len(b) != ed25519.PrivateKeySize) {
		t.Fatalf("whsk_ secret of %d bytes (%v)", len(b), err)
	}
	praw, ok := strings.CutPrefix(public, "whpk_")
	if !ok {
		t.Fatalf("public key %q is not whpk_…", public)
	}
	pub, err := base64.StdEncoding.DecodeString(praw)
	if err != nil || len(pub) != ed25519.PublicKeySize {
		t.Fatalf("whpk_ public key of %d bytes (%v)", len(pub), err)
	}
	return ed25519.NewKeyFromSeed(b[:ed25519.SeedSize]), pub
}

// pairs reports whether a signature by priv verifies with pub.
func pairs(priv ed25519.PrivateKey, pub ed25519.PublicKey) bool {
	msg := []byte("msg_1.1700000000.{}")
	return ed25519.Verify(pub, msg, ed25519.Sign(priv, msg))
}

// storedSecrets opens an endpoint's sealed current and previous secrets.
func storedSecrets(t *testing.T, e *env, id string) (current, previous string) {
	t.Helper()
	rec, _, err := e.store.Endpoint(context.Background(), "acme", id)
	if err != nil {
		t.Fatal(err)
	}
	open := func(c *storagev1.Ciphertext) string {
		if c == nil {
			return ""
		}
		b, err := e.keyring.Open(secrets.Sealed{KeyID: c.GetKeyId(), Nonce: c.GetNonce(), Data: c.GetSealed()}, store.EndpointSecretAAD("acme", id, "signing"))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	return open(rec.GetSecret()), open(rec.GetPreviousSecret().GetValue())
}

func TestEndpointEd25519(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	appID := outboundSetup(t, e)
	eps := e.endpoints(e.platform)

	created, err := eps.CreateEndpoint(ctx, connect.NewRequest(&hookgatev1.CreateEndpointRequest{Endpoint: &hookgatev1.Endpoint{
		Tenant: "acme", ApplicationId: appID, Url: "https://example.com/hooks", EventTypes: []string{"order.created"},
		SignatureScheme: schemeEd, PublicKey: "whpk_ignored",
	}}))
	if err != nil {
		t.Fatal(err)
	}
	ep, secret := created.Msg.Endpoint, created.Msg.Secret
	if ep.SignatureScheme != schemeEd {
		t.Fatalf("created scheme %v, want ED25519", ep.SignatureScheme)
	}
	priv, pub := edKeyOf(t, secret, ep.PublicKey)
	if raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsk_")); len(raw) != ed25519.PrivateKeySize {
		t.Fatalf("generated whsk_ of %d bytes, want the 64-byte seed ‖ public key", len(raw))
	}
	if !pairs(priv, pub) {
		t.Fatal("the public key does not verify signatures of the secret key")
	}
	if cur, _ := storedSecrets(t, e, ep.Id); cur != secret {
		t.Fatal("the stored secret is not the one returned")
	}

	// Reads show the scheme and the public key, never the secret key.
	got, err := eps.GetEndpoint(ctx, connect.NewRequest(&hookgatev1.GetEndpointRequest{Tenant: "acme", EndpointId: ep.Id}))
	if err != nil {
		t.Fatal(err)
	}
	list, err := eps.ListEndpoints(ctx, connect.NewRequest(&hookgatev1.ListEndpointsRequest{Tenant: "acme"}))
	if err != nil || len(list.Msg.Endpoints) != 1 {
		t.Fatalf("list %v %v", list, err)
	}
	seed := base64.StdEncoding.EncodeToString(priv.Seed())
	for _, read := range []*hookgatev1.Endpoint{got.Msg.Endpoint, list.Msg.Endpoints[0]} {
		if read.PublicKey != ep.PublicKey || read.SignatureScheme != schemeEd {
			t.Errorf("read shows public key %q scheme %v, want %q ED25519", read.PublicKey, read.SignatureScheme, ep.PublicKey)
		}
		s := read.String()
		if strings.Contains(s, secret[len("whsk_"):]) || strings.Contains(s, "whsk_") || strings.Contains(s, seed[:16]) {
			t.Fatalf("a read leaks the secret key: %s", s)
		}
	}
	read, err := eps.GetEndpointSecret(ctx, connect.NewRequest(&hookgatev1.GetEndpointSecretRequest{Tenant: "acme", EndpointId: ep.Id}))
	if err != nil || read.Msg.Secret != secret || read.Msg.PublicKey != ep.PublicKey {
		t.Fatalf("secret read: %v, public key %q want %q", err, read.Msg.GetPublicKey(), ep.PublicKey)
	}

	// The scheme is not updatable: a new scheme needs a new secret.
	for _, path := range []string{"signature_scheme", "public_key"} {
		_, err = eps.UpdateEndpoint(ctx, connect.NewRequest(&hookgatev1.UpdateEndpointRequest{
			Endpoint:   &hookgatev1.Endpoint{Tenant: "acme", Id: ep.Id, SignatureScheme: schemeHMAC},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{path}},
		}))
		wantCode(t, err, connect.CodeInvalidArgument)
		if !strings.Contains(err.Error(), "RotateEndpointSecret") || !strings.Contains(err.Error(), path) {
			t.Errorf("update of %s: %q does not point to RotateEndpointSecret", path, err)
		}
	}

	// Rotation without a scheme keeps ED25519 with a new key.
	rot, err := eps.RotateEndpointSecret(ctx, connect.NewRequest(&hookgatev1.RotateEndpointSecretRequest{Tenant: "acme", EndpointId: ep.Id}))
	if err != nil {
		t.Fatal(err)
	}
	if rot.Msg.Endpoint.SignatureScheme != schemeEd || rot.Msg.Endpoint.PublicKey == ep.PublicKey || rot.Msg.Secret == secret {
		t.Fatalf("rotation keeping the scheme: scheme %v, public key changed %v, secret changed %v",
			rot.Msg.Endpoint.SignatureScheme, rot.Msg.Endpoint.PublicKey != ep.PublicKey, rot.Msg.Secret != secret)
	}
	if p, q := edKeyOf(t, rot.Msg.Secret, rot.Msg.Endpoint.PublicKey); !pairs(p, q) {
		t.Fatal("after rotation the public key does not match the secret key")
	}
	edSecret := rot.Msg.Secret

	// ED25519 → HMAC with grace: the new secret is whsec_, the public key
	// goes, and the old whsk_ is kept as the previous secret.
	rot, err = eps.RotateEndpointSecret(ctx, connect.NewRequest(&hookgatev1.RotateEndpointSecretRequest{
		Tenant: "acme", EndpointId: ep.Id, GracePeriod: durationpb.New(time.Hour), SignatureScheme: schemeHMAC,
	}))
	if err != nil {
		t.Fatal(err)
	}
	if m := rot.Msg; !strings.HasPrefix(m.Secret, "whsec_") || m.Endpoint.SignatureScheme != schemeHMAC || m.Endpoint.PublicKey != "" || m.Endpoint.PreviousSecretExpireTime == nil {
		t.Fatalf("rotation to HMAC: secret whsec_ %v, scheme %v, public key %q, previous expiry %v",
			strings.HasPrefix(m.Secret, "whsec_"), m.Endpoint.SignatureScheme, m.Endpoint.PublicKey, m.Endpoint.PreviousSecretExpireTime)
	}
	if cur, prev := storedSecrets(t, e, ep.Id); cur != rot.Msg.Secret || prev != edSecret {
		t.Fatal("after ED25519 → HMAC with grace the store does not hold the new secret current and the old whsk_ previous")
	}
	read, err = eps.GetEndpointSecret(ctx, connect.NewRequest(&hookgatev1.GetEndpointSecretRequest{Tenant: "acme", EndpointId: ep.Id}))
	if err != nil || read.Msg.Secret != rot.Msg.Secret || read.Msg.PublicKey != "" {
		t.Fatalf("secret read of an HMAC endpoint: %v, public key %q", err, read.Msg.GetPublicKey())
	}

	// HMAC → ED25519 without grace.
	rot, err = eps.RotateEndpointSecret(ctx, connect.NewRequest(&hookgatev1.RotateEndpointSecretRequest{Tenant: "acme", EndpointId: ep.Id, SignatureScheme: schemeEd}))
	if err != nil || rot.Msg.Endpoint.SignatureScheme != schemeEd || rot.Msg.Endpoint.PreviousSecretExpireTime != nil {
		t.Fatalf("rotation to ED25519: %v %v", rot, err)
	}
	edKeyOf(t, rot.Msg.Secret, rot.Msg.Endpoint.PublicKey)
	if _, prev := storedSecrets(t, e, ep.Id); prev != "" {
		t.Fatal("rotation without grace kept a previous secret")
	}

	_, err = eps.RotateEndpointSecret(ctx, connect.NewRequest(&hookgatev1.RotateEndpointSecretRequest{Tenant: "acme", EndpointId: ep.Id, SignatureScheme: 9}))
	wantCode(t, err, connect.CodeInvalidArgument)
	if !strings.Contains(err.Error(), "signature_scheme") {
		t.Errorf("rotation to scheme 9: %q does not name signature_scheme", err)
	}
}

// TestEndpointSchemeDefaults: unset means HMAC_SHA256 on create, and a
// record stored before schemes existed reads, and rotates, as HMAC_SHA256.
func TestEndpointSchemeDefaults(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	appID := outboundSetup(t, e)
	eps := e.endpoints(e.platform)
	created, err := eps.CreateEndpoint(ctx, connect.NewRequest(&hookgatev1.CreateEndpointRequest{Endpoint: &hookgatev1.Endpoint{
		Tenant: "acme", ApplicationId: appID, Url: "https://example.com/hooks", EventTypes: []string{"order.created"},
	}}))
	if err != nil {
		t.Fatal(err)
	}
	ep := created.Msg.Endpoint
	if ep.SignatureScheme != schemeHMAC || ep.PublicKey != "" || !strings.HasPrefix(created.Msg.Secret, "whsec_") {
		t.Fatalf("default endpoint: scheme %v public key %q", ep.SignatureScheme, ep.PublicKey)
	}
	if _, _, err := e.store.UpdateEndpoint(ctx, "acme", ep.Id, 0, func(rec *storagev1.EndpointRecord) error {
		rec.Endpoint.SignatureScheme = hookgatev1.SignatureScheme_SIGNATURE_SCHEME_UNSPECIFIED
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	got, err := eps.GetEndpoint(ctx, connect.NewRequest(&hookgatev1.GetEndpointRequest{Tenant: "acme", EndpointId: ep.Id}))
	if err != nil || got.Msg.Endpoint.SignatureScheme != schemeHMAC {
		t.Fatalf("an old record reads as %v (%v), want HMAC_SHA256", got.Msg.GetEndpoint().GetSignatureScheme(), err)
	}
	rot, err := eps.RotateEndpointSecret(ctx, connect.NewRequest(&hookgatev1.RotateEndpointSecretRequest{Tenant: "acme", EndpointId: ep.Id}))
	if err != nil || !strings.HasPrefix(rot.Msg.Secret, "whsec_") || rot.Msg.Endpoint.SignatureScheme != schemeHMAC {
		t.Fatalf("rotating an old record: %v %v", rot, err)
	}
}

func TestEndpointSecretSchemeValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	appID := outboundSetup(t, e)
	eps := e.endpoints(e.platform)

	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	_, other, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.StdEncoding.EncodeToString
	full, seed := "whsk_"+b64(priv), "whsk_"+b64(priv.Seed())
	mismatched := "whsk_" + b64(append(append([]byte{}, priv.Seed()...), other.Public().(ed25519.PublicKey)...))
	hmacSecret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	wantPub := "whpk_" + b64(pub)

	tests := []struct {
		name    string
		scheme  hookgatev1.SignatureScheme
		secret  string
		code    connect.Code // 0: accepted
		message string
	}{
		{"ed25519 64-byte key", schemeEd, full, 0, ""},
		{"ed25519 32-byte seed", schemeEd, seed, 0, ""},
		{"hmac given", schemeHMAC, hmacSecret, 0, ""},
		{"hmac by default", 0, hmacSecret, 0, ""},
		{"ed25519 with whsec_", schemeEd, hmacSecret, connect.CodeInvalidArgument, `secret: a "whsec_" secret is for HMAC_SHA256`},
		{"hmac with whsk_", schemeHMAC, full, connect.CodeInvalidArgument, `secret: a "whsk_" secret key needs signature_scheme ED25519`},
		{"default with whsk_", 0, seed, connect.CodeInvalidArgument, "secret: a \"whsk_\" secret key needs signature_scheme ED25519"},
		{"ed25519 no prefix", schemeEd, b64(priv), connect.CodeInvalidArgument, `secret: must start with "whsk_"`},
		{"ed25519 whpk_ given", schemeEd, wantPub, connect.CodeInvalidArgument, `secret: must start with "whsk_"`},
		{"ed25519 not base64", schemeEd, "whsk_!!!", connect.CodeInvalidArgument, "secret: must be \"whsk_\" followed by standard base64"},
		{"ed25519 unpadded", schemeEd, strings.TrimRight(seed, "="), connect.CodeInvalidArgument, "standard base64"},
		{"ed25519 short", schemeEd, "whsk_" + b64(priv[:31]), connect.CodeInvalidArgument, "secret: must encode an Ed25519 key of 32 or 64 bytes, got 31"},
		{"ed25519 long", schemeEd, "whsk_" + b64(append(append([]byte{}, priv...), 0)), connect.CodeInvalidArgument, "got 65"},
		{"ed25519 mismatched public half", schemeEd, mismatched, connect.CodeInvalidArgument, "secret: the public half"},
		{"unknown scheme", 7, "", connect.CodeInvalidArgument, "endpoint.signature_scheme: unknown signature scheme 7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := eps.CreateEndpoint(ctx, connect.NewRequest(&hookgatev1.CreateEndpointRequest{
				Endpoint: &hookgatev1.Endpoint{Tenant: "acme", ApplicationId: appID, Url: "https://example.com/h", EventTypes: []string{"order.created"}, SignatureScheme: tt.scheme},
				Secret:   tt.secret,
			}))
			if tt.code == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if resp.Msg.Secret != tt.secret {
					t.Fatal("the given secret is not the one returned")
				}
				if tt.scheme == schemeEd && resp.Msg.Endpoint.PublicKey != wantPub {
					t.Fatalf("public key %q, want %q derived from the given key", resp.Msg.Endpoint.PublicKey, wantPub)
				}
				return
			}
			wantCode(t, err, tt.code)
			if !strings.Contains(err.Error(), tt.message) {
				t.Fatalf("error %q, want %q", err, tt.message)
			}
			if tt.secret != "" && len(tt.secret) > 12 && strings.Contains(err.Error(), tt.secret[5:]) {
				t.Fatalf("the error carries the secret: %q", err)
			}
		})
	}
}
