// Package verifytest signs webhook calls the way each provider does, so
// tests of the verify package and of the edge can send what providers
// send. Its signers are written from shared/providers.md alone and share no
// code with package verify: a bug in one is not repeated in the other.
//
// Every provider preset of verify.Providers() and CUSTOM_HMAC has at least
// one Signer (Signers); some have variants (Twilio's JSON bodySHA256 form,
// Svix's header names, Standard Webhooks v1a, GitLab's signing token). A
// Signer makes keys in the provider's form (NewKey), signs a call with one
// or several keys (Sign), spoils a call in every way the scheme can be
// spoiled, with the failed-trigger reason each must give (Bad), and builds
// the provider's handshake with the answer expected (Handshake).
//
// It does no I/O beyond crypto/rand and is meant for tests only.
package verifytest

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"

	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
)

// Key is one value of the secret a webhook verifies with, and for an
// asymmetric scheme the private key that signs for it.
type Key struct {
	// Secret is what the webhook holds: the shared secret in the
	// provider's form, or the public key as the provider shows it.
	Secret string
	ed     ed25519.PrivateKey
	ec     *ecdsa.PrivateKey
}

// Input is a call to sign.
type Input struct {
	// Method is "" for POST.
	Method string
	// URL is the public URL the provider calls (the webhook's URL).
	URL  string
	Body []byte
	// Time is when the provider signs.
	Time time.Time
	// ID is the delivery id, for schemes that send one ("" makes one up).
	ID string
}

// Call is a signed call, ready to send.
type Call struct {
	Method string
	// URL is Input.URL, or for Twilio JSON the URL with bodySHA256.
	URL    string
	Header http.Header
	// Body is Input.Body, or the body with its signature fields (Mailgun)
	// or its timestamp field (Linear).
	Body []byte
}

// Clone returns a deep copy of c, to spoil without touching c.
func (c Call) Clone() Call {
	return Call{Method: c.Method, URL: c.URL, Header: c.Header.Clone(), Body: append([]byte(nil), c.Body...)}
}

// Failed-trigger reasons, as the edge records them (the values of
// verify.Reason, written out so this package does not import verify).
const (
	SignatureMissing          = "signature_missing"
	SignatureMalformed        = "signature_malformed"
	SignatureMismatch         = "signature_mismatch"
	TimestampOutsideTolerance = "timestamp_outside_tolerance"
	TokenMismatch             = "token_mismatch"
)

// Bad is a spoiled call and the reason it must be refused with.
type Bad struct {
	// Case is "tampered body", "wrong secret", "stale timestamp",
	// "future timestamp", "missing header" or "malformed header".
	Case   string
	Reason string
	Call   Call
}

// Signer signs the calls of one provider preset (or variant of one).
type Signer struct {
	// Name is the provider's label ("STRIPE") or a variant's
	// ("TWILIO_JSON", "SVIX").
	Name     string
	Provider hookgatev1.Provider
	// Secret names the secret Key.Secret is the value of; Extra holds
	// the other secrets the webhook needs, fixed for the signer (Meta's
	// verify_token, Standard Webhooks' signing_secret beside a v1a
	// public_key, GitLab's signing_token).
	Secret string
	Extra  map[string]string
	// Headers are the headers that carry a signature or a secret: a failed
	// trigger shows them REDACTED. Empty for Mailgun (in the body).
	Headers []string
	// MaxAge and MaxAhead are the timestamp tolerance the edge applies
	// (providers.md, or docs/design.md where a provider documents none);
	// zero for schemes without a signed timestamp.
	MaxAge, MaxAhead time.Duration
	// Multi: the scheme sends one signature per active secret during a
	// rotation (Stripe, Paddle, PagerDuty, Standard Webhooks); Sign then
	// signs with every key given. Others sign with the first.
	Multi bool
	// CustomHmac is the configuration of a CUSTOM_HMAC row.
	CustomHmac *hookgatev1.CustomHmac
	// ContentType is that of the bodies the provider sends.
	ContentType string

	newKey    func() Key
	sign      func(s *Signer, in Input, keys []Key) Call
	tamper    func(c Call) Call // nil: the body is not signed
	malformed func(c Call) Call // nil: nothing can be malformed
	missing   func(c Call) Call // nil: delete Headers
	body      func(n int) []byte
	// wrongReason is the reason for a wrong secret ("" is
	// SignatureMismatch).
	wrongReason string
	handshake   func(s *Signer, in Input, key Key) (Handshake, bool)
}

// NewKey makes a fresh key in the provider's form.
func (s *Signer) NewKey() Key { return s.newKey() }

// Sign signs in with keys: every key for a Multi scheme, else the first.
func (s *Signer) Sign(in Input, keys ...Key) Call {
	if len(keys) == 0 {
		panic("verifytest: Sign needs a key")
	}
	if in.Method == "" {
		in.Method = http.MethodPost
	}
	if in.ID == "" {
		in.ID = "dlv_" + randomText(12)
	}
	if !s.Multi {
		keys = keys[:1]
	}
	c := s.sign(s, in, keys)
	if c.Method == "" {
		c.Method = in.Method
	}
	if c.URL == "" {
		c.URL = in.URL
	}
	if c.Body == nil {
		c.Body = in.Body
	}
	if c.Header.Get("Content-Type") == "" && s.ContentType != "" {
		c.Header.Set("Content-Type", s.ContentType)
	}
	return c
}

// Secrets are the webhook's provider secrets for key: name → value, as
// `hookgate webhooks create --secret name=value` takes them.
func (s *Signer) Secrets(key Key) map[string]string {
	out := map[string]string{s.Secret: key.Secret}
	for k, v := range s.Extra {
		out[k] = v
	}
	return out
}

// Body is a typical body of the provider, different for every n (bodies
// carry the delivery ids of providers that put them there).
func (s *Signer) Body(n int) []byte {
	if s.body != nil {
		return s.body(n)
	}
	return jsonBody(n)
}

// jsonBody is an event as most providers send one: ids where Stripe
// (id), Slack and Typeform (event_id), Paddle (notification_id) and
// Square (event_id) read theirs, and a type that is no handshake's.
func jsonBody(n int) []byte {
	return fmt.Appendf(nil, `{"id":"evt_%d_%s","event_id":"ev_%d_%s","notification_id":"ntf_%d","type":"order.created","data":{"n":%d,"text":"h\u00e9llo"}}`,
		n, randomText(6), n, randomText(6), n, n)
}

// Bad returns every spoiled variant of the call in would be, for key:
// tampered body, wrong secret, stale and future timestamp (when the scheme
// signs one), missing and malformed signature.
func (s *Signer) Bad(in Input, key Key) []Bad {
	valid := s.Sign(in, key)
	var out []Bad
	if s.tamper != nil {
		out = append(out, Bad{Case: "tampered body", Reason: SignatureMismatch, Call: s.tamper(valid.Clone())})
	}
	wrong := SignatureMismatch
	if s.wrongReason != "" {
		wrong = s.wrongReason
	}
	out = append(out, Bad{Case: "wrong secret", Reason: wrong, Call: s.Sign(in, s.NewKey())})
	if s.MaxAge > 0 {
		stale, future := in, in
		stale.Time = in.Time.Add(-s.MaxAge - time.Minute)
		future.Time = in.Time.Add(s.MaxAhead + time.Minute)
		out = append(out,
			Bad{Case: "stale timestamp", Reason: TimestampOutsideTolerance, Call: s.Sign(stale, key)},
			Bad{Case: "future timestamp", Reason: TimestampOutsideTolerance, Call: s.Sign(future, key)})
	}
	missing := valid.Clone()
	if s.missing != nil {
		missing = s.missing(missing)
	} else {
		for _, h := range s.Headers {
			missing.Header.Del(h)
		}
	}
	out = append(out, Bad{Case: "missing header", Reason: SignatureMissing, Call: missing})
	if s.malformed != nil {
		out = append(out, Bad{Case: "malformed header", Reason: SignatureMalformed, Call: s.malformed(valid.Clone())})
	}
	return out
}

// Signers returns a fresh table of every signer: one per provider preset,
// variants, and CUSTOM_HMAC.
func Signers() []*Signer {
	var out []*Signer
	for _, family := range [][]*Signer{hmacSigners(), urlSigners(), asymmetricSigners(), otherSigners()} {
		out = append(out, family...)
	}
	return out
}

// Find returns the signer named name ("STRIPE", "TWILIO_JSON"); nil when
// there is none.
func Find(name string) *Signer {
	for _, s := range Signers() {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// tamperBody changes one byte of the body: the last letter or digit is
// swapped for another, so the body stays what it was (JSON, a form).
func tamperBody(c Call) Call {
	for i := len(c.Body) - 1; i >= 0; i-- {
		b := c.Body[i]
		switch {
		case b >= '0' && b <= '8', b >= 'a' && b <= 'y', b >= 'A' && b <= 'Y':
			c.Body[i] = b + 1
			return c
		case b == '9', b == 'z', b == 'Z':
			c.Body[i] = b - 1
			return c
		}
	}
	c.Body = append(c.Body, ' ')
	return c
}

// setHeader returns a spoiler that sets header to the value made from the
// valid call's header value.
func setHeader(header string, value func(valid string) string) func(Call) Call {
	return func(c Call) Call {
		c.Header.Set(header, value(c.Header.Get(header)))
		return c
	}
}

// fixed returns value whatever the valid one was.
func fixed(value string) func(string) string { return func(string) string { return value } }

func header(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

// randomText is n random letters and digits.
func randomText(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// textKey makes keys that are plain text: prefix and random characters.
func textKey(prefix string, n int) func() Key {
	return func() Key { return Key{Secret: prefix + randomText(n)} }
}

var (
	b64    = base64.StdEncoding
	hexStr = hex.EncodeToString
)

// unixS and unixMS are a time as the decimal Unix seconds and
// milliseconds providers send.
func unixS(t time.Time) string  { return fmt.Sprint(t.Unix()) }
func unixMS(t time.Time) string { return fmt.Sprint(t.UnixMilli()) }

// appendQuery adds name=value to u's query.
func appendQuery(u, kv string) string {
	if strings.Contains(u, "?") {
		return u + "&" + kv
	}
	return u + "?" + kv
}

// SecretKey is a key of a shared-secret scheme with the given value, for
// published vectors.
func SecretKey(secret string) Key { return Key{Secret: secret} }

// Ed25519SeedKey is the Ed25519 key of a 32-byte seed; Secret is the
// public key in hex (Discord's form).
func Ed25519SeedKey(seed []byte) Key {
	priv := ed25519.NewKeyFromSeed(seed)
	return Key{Secret: hexStr(priv.Public().(ed25519.PublicKey)), ed: priv}
}
