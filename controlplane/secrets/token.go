// Package secrets makes and protects the control plane's secrets: random
// keys and tokens, their SHA-256 digests, and the AES-256-GCM keyring that
// seals provider and signing secrets at rest. It does no network I/O.
package secrets

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"log/slog"
)

// Prefixes of the secrets Hookgate issues (DESIGN.md, "Identifiers and secrets").
const (
	APIKeyPrefix     = "hgk_"
	AdminTokenPrefix = "hga_"
	// ProducerTokenPrefix starts producer tokens, which may only send
	// messages for one tenant through the edge.
	ProducerTokenPrefix = "hgp_"
)

// Secret is a bearer secret such as an API key or an admin token. Its
// String, Format and LogValue print REDACTED so it cannot leak into logs by
// accident; Reveal returns the value for the one response that shows it.
type Secret struct {
	// value is a slice, not a string, so Secret values are not comparable
	// with ==: compare digests with Equal instead.
	value []byte
}

// NewSecret returns prefix followed by base64url of 32 random bytes.
func NewSecret(prefix string) Secret {
	var b [32]byte
	// crypto/rand.Read never returns an error on supported platforms.
	_, _ = rand.Read(b[:])
	return Secret{value: []byte(prefix + base64.RawURLEncoding.EncodeToString(b[:]))}
}

// Reveal returns the secret's text.
func (s Secret) Reveal() string { return string(s.value) }

// Digest returns the SHA-256 digest of the secret.
func (s Secret) Digest() []byte { return Digest(string(s.value)) }

// Prefix returns the first n characters, enough to tell secrets apart.
func (s Secret) Prefix(n int) string {
	if n > len(s.value) {
		n = len(s.value)
	}
	return string(s.value[:n])
}

// String implements fmt.Stringer without revealing the secret.
func (Secret) String() string { return "REDACTED" }

// Format implements fmt.Formatter so every verb prints REDACTED.
func (Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte("REDACTED")) }

// LogValue implements slog.LogValuer.
func (Secret) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// Digest returns the SHA-256 digest of a presented secret. Keys are 256-bit
// random values, so a fast digest is as safe as a slow password hash.
func Digest(secret string) []byte {
	d := sha256.Sum256([]byte(secret))
	return d[:]
}

// Equal compares two digests in constant time.
func Equal(a, b []byte) bool {
	return len(a) == len(b) && subtle.ConstantTimeCompare(a, b) == 1
}

// NewID returns prefix followed by 20 random base32-like characters that are
// safe as a NATS subject token and in a URL path.
func NewID(prefix string) string {
	const alphabet = "0123456789abcdefghijklmnopqrstuv"
	var b [20]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[b[i]&31]
	}
	return prefix + string(b[:])
}
