package dispatch

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The Standard Webhooks headers (DESIGN.md "Outbound contract").
const (
	HeaderID        = "Webhook-Id"
	HeaderTimestamp = "Webhook-Timestamp"
	HeaderSignature = "Webhook-Signature"
)

// Secret prefixes of the Standard Webhooks secret forms: "whsec_" for a
// symmetric (v1, HMAC-SHA256) secret, "whsk_" for an Ed25519 (v1a) secret
// key, "whpk_" for its public key.
const (
	SymmetricPrefix  = "whsec_"
	SecretKeyPrefix  = "whsk_"
	PublicKeyPrefix  = "whpk_"
	minSymmetricKey  = 24
	maxSymmetricKey  = 64
	redacted         = "REDACTED"
	signatureV1      = "v1,"
	signatureV1a     = "v1a,"
	signedSeparator  = '.'
	maxSignatureSize = 4 + 88 // "v1a," + base64 of 64 bytes
)

// ErrSecret is returned by ParseSecret for a value that is no usable
// signing secret. Its text never carries the value.
var ErrSecret = errors.New("signing secret malformed")

// Secret is one signing secret of an endpoint: a Standard Webhooks v1
// HMAC key or a v1a Ed25519 private key. It prints as REDACTED and is not
// comparable with == (it holds slices).
type Secret struct {
	// key is the HMAC key, or the Ed25519 private key when ed is set: one
	// slice, not two, since a dispatcher holds one Secret an endpoint.
	key []byte
	ed  bool
}

func (s Secret) hmacKey() []byte {
	if s.ed {
		return nil
	}
	return s.key
}

func (s Secret) edKey() ed25519.PrivateKey {
	if !s.ed {
		return nil
	}
	return s.key
}

// ParseSecret parses "whsec_" + base64 (24–64 bytes, the key is the decoded
// bytes, providers.md "Standard Webhooks") or "whsk_" + base64 of an Ed25519
// key (the 64-byte seed ‖ public key of svix-server, or a 32-byte seed).
func ParseSecret(s string) (Secret, error) {
	switch {
	case strings.HasPrefix(s, SymmetricPrefix):
		k, err := base64.StdEncoding.DecodeString(s[len(SymmetricPrefix):])
		if err != nil {
			return Secret{}, fmt.Errorf("%w: %s is not base64", ErrSecret, SymmetricPrefix)
		}
		if len(k) < minSymmetricKey || len(k) > maxSymmetricKey {
			return Secret{}, fmt.Errorf("%w: %s key of %d bytes, want %d to %d", ErrSecret, SymmetricPrefix, len(k), minSymmetricKey, maxSymmetricKey)
		}
		// DecodeString leaves room for padding: keep the key alone.
		return Secret{key: bytes.Clone(k)}, nil
	case strings.HasPrefix(s, SecretKeyPrefix):
		k, err := base64.StdEncoding.DecodeString(s[len(SecretKeyPrefix):])
		if err != nil {
			return Secret{}, fmt.Errorf("%w: %s is not base64", ErrSecret, SecretKeyPrefix)
		}
		switch len(k) {
		case ed25519.SeedSize:
			return Secret{key: ed25519.NewKeyFromSeed(k), ed: true}, nil
		case ed25519.PrivateKeySize:
			priv := ed25519.NewKeyFromSeed(k[:ed25519.SeedSize])
			if !hmac.Equal(priv[ed25519.SeedSize:], k[ed25519.SeedSize:]) {
				return Secret{}, fmt.Errorf("%w: %s public half does not match its seed", ErrSecret, SecretKeyPrefix)
			}
			return Secret{key: priv, ed: true}, nil
		default:
			return Secret{}, fmt.Errorf("%w: %s key of %d bytes, want %d or %d", ErrSecret, SecretKeyPrefix, len(k), ed25519.SeedSize, ed25519.PrivateKeySize)
		}
	default:
		return Secret{}, fmt.Errorf("%w: want prefix %s or %s", ErrSecret, SymmetricPrefix, SecretKeyPrefix)
	}
}

// IsAsymmetric reports whether s signs v1a (Ed25519).
func (s Secret) IsAsymmetric() bool { return s.edKey() != nil }

// PublicKey is the "whpk_" form of an Ed25519 secret's public key, "" for
// a symmetric secret. The public key is no secret: receivers verify with it.
func (s Secret) PublicKey() string {
	if s.edKey() == nil {
		return ""
	}
	return PublicKeyPrefix + base64.StdEncoding.EncodeToString(s.edKey().Public().(ed25519.PublicKey))
}

// Reveal is the secret in a form ParseSecret reads back to an equal
// secret: "whsec_" + base64 of the HMAC key, or "whsk_" + base64 of the
// 64-byte Ed25519 key (seed ‖ public key). It exists for the node's own
// config cache file, which holds secrets by design (mode 0600); never log
// or send it. The zero Secret reveals "".
func (s Secret) Reveal() string {
	switch {
	case s.hmacKey() != nil:
		return SymmetricPrefix + base64.StdEncoding.EncodeToString(s.hmacKey())
	case s.edKey() != nil:
		return SecretKeyPrefix + base64.StdEncoding.EncodeToString(s.edKey())
	}
	return ""
}

// String prints REDACTED.
func (s Secret) String() string { return redacted }

// GoString prints REDACTED.
func (s Secret) GoString() string { return redacted }

// Format prints REDACTED whatever the verb.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// LogValue prints REDACTED.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

var _ slog.LogValuer = Secret{}

// Signature returns the webhook-signature value of a message: one
// space-separated entry per usable secret, in the order given ("v1," +
// base64 HMAC-SHA256 or "v1a," + base64 Ed25519 of "{id}.{timestamp}.{body}").
// During a rotation's grace period an endpoint has several secrets and
// receivers accept any entry. Zero secrets give "".
func Signature(msgID string, ts time.Time, body []byte, secrets []Secret) string {
	if len(secrets) == 0 {
		return ""
	}
	head := signedHead(msgID, ts)
	var b strings.Builder
	b.Grow(len(secrets) * maxSignatureSize)
	var msg []byte // head ‖ body, built once for Ed25519, which takes it whole
	for _, s := range secrets {
		var sig []byte
		var prefix string
		switch {
		case s.hmacKey() != nil:
			m := hmac.New(sha256.New, s.hmacKey())
			m.Write(head)
			m.Write(body)
			sig, prefix = m.Sum(nil), signatureV1
		case s.edKey() != nil:
			if msg == nil {
				msg = append(append(make([]byte, 0, len(head)+len(body)), head...), body...)
			}
			sig, prefix = ed25519.Sign(s.edKey(), msg), signatureV1a
		default:
			continue // the zero Secret signs nothing
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(prefix)
		b.WriteString(base64.StdEncoding.EncodeToString(sig))
	}
	return b.String()
}

// SetSignatureHeaders sets webhook-id, webhook-timestamp (Unix seconds) and
// webhook-signature on h. msgID is the message id, the same on every retry,
// so receivers can deduplicate; ts is the time of this attempt.
func SetSignatureHeaders(h http.Header, msgID string, ts time.Time, body []byte, secrets []Secret) {
	h.Set(HeaderID, msgID)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(HeaderSignature, Signature(msgID, ts, body, secrets))
}

// signedHead is "{id}.{timestamp}." of the signed content.
func signedHead(msgID string, ts time.Time) []byte {
	head := make([]byte, 0, len(msgID)+24)
	head = append(head, msgID...)
	head = append(head, signedSeparator)
	head = strconv.AppendInt(head, ts.Unix(), 10)
	return append(head, signedSeparator)
}
