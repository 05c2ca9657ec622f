package admin

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"strings"

	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
)

// Signing secret forms of Standard Webhooks (docs/design.md, "Outbound
// admin API"). The dispatcher's dispatch.ParseSecret reads the same forms;
// the control plane may not import it, so the rules are written twice.
const (
	// SecretKeyPrefix starts an Ed25519 (v1a) secret key.
	SecretKeyPrefix = "whsk_"
	// PublicKeyPrefix starts an Ed25519 public key.
	PublicKeyPrefix  = "whpk_"
	minSigningSecret = 24
	maxSigningSecret = 64
)

// signingKey is an endpoint's signing secret with its scheme and, for
// Ed25519, the public key receivers verify with.
type signingKey struct {
	scheme    hookgatev1.SignatureScheme
	secret    string
	publicKey string
}

// apply records the key's scheme and public key on the endpoint; the secret
// itself is sealed apart.
func (k signingKey) apply(ep *hookgatev1.Endpoint) {
	ep.SignatureScheme, ep.PublicKey = k.scheme, k.publicKey
}

// signatureScheme checks a requested scheme; unset is def.
func signatureScheme(field string, s, def hookgatev1.SignatureScheme) (hookgatev1.SignatureScheme, error) {
	switch s {
	case hookgatev1.SignatureScheme_SIGNATURE_SCHEME_UNSPECIFIED:
		return def, nil
	case hookgatev1.SignatureScheme_SIGNATURE_SCHEME_HMAC_SHA256, hookgatev1.SignatureScheme_SIGNATURE_SCHEME_ED25519:
		return s, nil
	default:
		return 0, invalid(field, "unknown signature scheme %d: use HMAC_SHA256 or ED25519", s)
	}
}

// schemeOf is the scheme of a stored endpoint; records from before schemes
// existed are HMAC_SHA256.
func schemeOf(ep *hookgatev1.Endpoint) hookgatev1.SignatureScheme {
	if ep.GetSignatureScheme() == hookgatev1.SignatureScheme_SIGNATURE_SCHEME_UNSPECIFIED {
		return hookgatev1.SignatureScheme_SIGNATURE_SCHEME_HMAC_SHA256
	}
	return ep.GetSignatureScheme()
}

// newSigningKey generates a secret of scheme: "whsec_" + base64 of 32
// random bytes, or "whsk_" + base64 of a new Ed25519 key's 64-byte seed ‖
// public key (as svix-server stores it).
func newSigningKey(scheme hookgatev1.SignatureScheme) signingKey {
	if scheme == hookgatev1.SignatureScheme_SIGNATURE_SCHEME_ED25519 {
		// ed25519.GenerateKey reads crypto/rand, which never fails on
		// supported platforms.
		pub, priv, _ := ed25519.GenerateKey(nil)
		return signingKey{
			scheme:    scheme,
			secret:    SecretKeyPrefix + base64.StdEncoding.EncodeToString(priv),
			publicKey: PublicKeyPrefix + base64.StdEncoding.EncodeToString(pub),
		}
	}
	var b [signingSecretBytes]byte
	// crypto/rand.Read never returns an error on supported platforms.
	_, _ = rand.Read(b[:])
	return signingKey{scheme: hookgatev1.SignatureScheme_SIGNATURE_SCHEME_HMAC_SHA256, secret: SigningSecretPrefix + base64.StdEncoding.EncodeToString(b[:])}
}

// parseSigningKey checks a given secret against scheme: for HMAC_SHA256
// "whsec_" + standard base64 of 24 to 64 bytes (DESIGN.md, Identifiers and
// secrets); for ED25519 "whsk_" + standard base64 of a 32-byte seed or of
// the 64-byte seed ‖ public key, whose public half must match the seed.
// Errors name field and never carry the value.
func parseSigningKey(field string, scheme hookgatev1.SignatureScheme, secret string) (signingKey, error) {
	if scheme == hookgatev1.SignatureScheme_SIGNATURE_SCHEME_ED25519 {
		return parseEd25519Key(field, secret)
	}
	raw, ok := strings.CutPrefix(secret, SigningSecretPrefix)
	if !ok {
		if strings.HasPrefix(secret, SecretKeyPrefix) {
			return signingKey{}, invalid(field, "a %q secret key needs signature_scheme ED25519", SecretKeyPrefix)
		}
		return signingKey{}, invalid(field, "must start with %q (signature scheme HMAC_SHA256)", SigningSecretPrefix)
	}
	b, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		return signingKey{}, invalid(field, "must be %q followed by standard base64", SigningSecretPrefix)
	}
	if len(b) < minSigningSecret || len(b) > maxSigningSecret {
		return signingKey{}, invalid(field, "must encode %d to %d bytes, got %d", minSigningSecret, maxSigningSecret, len(b))
	}
	return signingKey{scheme: hookgatev1.SignatureScheme_SIGNATURE_SCHEME_HMAC_SHA256, secret: secret}, nil
}

func parseEd25519Key(field, secret string) (signingKey, error) {
	raw, ok := strings.CutPrefix(secret, SecretKeyPrefix)
	if !ok {
		if strings.HasPrefix(secret, SigningSecretPrefix) {
			return signingKey{}, invalid(field, "a %q secret is for HMAC_SHA256; signature_scheme ED25519 needs a %q secret key", SigningSecretPrefix, SecretKeyPrefix)
		}
		return signingKey{}, invalid(field, "must start with %q (signature scheme ED25519)", SecretKeyPrefix)
	}
	b, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		return signingKey{}, invalid(field, "must be %q followed by standard base64", SecretKeyPrefix)
	}
	var priv ed25519.PrivateKey
	switch len(b) {
	case ed25519.SeedSize:
		priv = ed25519.NewKeyFromSeed(b)
	case ed25519.PrivateKeySize:
		priv = ed25519.NewKeyFromSeed(b[:ed25519.SeedSize])
		if subtle.ConstantTimeCompare(priv[ed25519.SeedSize:], b[ed25519.SeedSize:]) != 1 {
			return signingKey{}, invalid(field, "the public half of the %q key does not match its seed", SecretKeyPrefix)
		}
	default:
		return signingKey{}, invalid(field, "must encode an Ed25519 key of %d or %d bytes, got %d", ed25519.SeedSize, ed25519.PrivateKeySize, len(b))
	}
	return signingKey{
		scheme:    hookgatev1.SignatureScheme_SIGNATURE_SCHEME_ED25519,
		secret:    secret,
		publicKey: PublicKeyPrefix + base64.StdEncoding.EncodeToString(priv.Public().(ed25519.PublicKey)),
	}, nil
}
