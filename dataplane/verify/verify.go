// Package verify checks inbound webhook calls against their provider's
// signature scheme (DESIGN.md "Inbound contract"; the facts of each scheme
// are in shared/providers.md) and computes the answers to providers'
// handshakes. It does no I/O and runs no server: it takes the exact raw
// bytes, the headers, the public URL the provider called, the time and the
// webhook's secrets, and says verified or why not. The edge calls it before
// it parses anything.
//
// Schemes are grouped by family, one file each: body-only and
// timestamp+body HMAC (hmac.go, with the CUSTOM_HMAC template engine and
// the presets that are CUSTOM_HMAC configurations in a table), URL signing
// (url.go), asymmetric signatures (asymmetric.go), token comparison
// (token.go) and signatures carried in the body (body.go).
package verify

import (
	"crypto/subtle"
	"net/http"
	"slices"
	"strings"
	"time"

	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
)

// Request is what a scheme sees of a call.
type Request struct {
	Method string
	// URL is the public URL the provider called and signed: scheme, host,
	// path and raw query, rebuilt by the edge from its public base URL.
	URL    string
	Header http.Header
	// Body is the exact bytes received; schemes never modify it.
	Body []byte
	Now  time.Time
}

// Secrets are a webhook's provider secrets by name (the names of the
// provider's table, e.g. "signing_secret"). Each name holds its current
// value first, then a previous value during a rotation's grace period: a
// call verifies when any value does.
type Secrets map[string][]string

// Reason is why a call did not verify; it is the failed-trigger reason and
// a metric label, so it never carries a value.
type Reason string

// Reasons, in the order a scheme checks them.
const (
	// SecretMissing: the webhook lacks a secret its scheme needs (a
	// configuration fault, not the caller's).
	SecretMissing Reason = "secret_missing"
	// SignatureMissing: the header (or field) that carries the signature
	// is absent or empty.
	SignatureMissing Reason = "signature_missing"
	// SignatureMalformed: it is present but cannot be parsed or decoded.
	SignatureMalformed Reason = "signature_malformed"
	// TimestampMissing, TimestampMalformed and TimestampOutsideTolerance
	// concern the signed timestamp; the tolerance holds in both
	// directions.
	TimestampMissing          Reason = "timestamp_missing"
	TimestampMalformed        Reason = "timestamp_malformed"
	TimestampOutsideTolerance Reason = "timestamp_outside_tolerance"
	// SignatureMismatch: well formed, but no expected signature matches
	// any secret value.
	SignatureMismatch Reason = "signature_mismatch"
	// TokenMismatch: a token compared as a whole (GitLab, Meta's
	// hub.verify_token) does not match.
	TokenMismatch Reason = "token_mismatch"
)

// Failure is the error a scheme returns. Its text names the reason and
// where (a header name, a field), never a value: "signature mismatch in
// X-Hub-Signature-256".
type Failure struct {
	Reason Reason
	// Where names the header or field concerned, e.g. "Stripe-Signature".
	Where string
}

func (f *Failure) Error() string {
	text := string(f.Reason)
	for i := range len(text) {
		if text[i] == '_' {
			text = text[:i] + " " + text[i+1:]
		}
	}
	if f.Where == "" {
		return text
	}
	return text + " in " + f.Where
}

// fail returns a *Failure.
func fail(r Reason, where string) error { return &Failure{Reason: r, Where: where} }

// Scheme verifies the calls of one provider (or one CUSTOM_HMAC
// configuration). Verify returns nil when the call verified and a *Failure
// otherwise.
type Scheme interface {
	Verify(r *Request, s Secrets) error
}

// Handshaker is a scheme whose provider sends handshakes that the edge
// answers itself and never forwards (Slack url_verification, Meta's GET
// hub.challenge, Zoom endpoint.url_validation, Discord PING, Twitch
// webhook_callback_verification).
type Handshaker interface {
	// Handshake reports whether r is a handshake and, if so, the answer.
	// For a POST it is called only after Verify passed. A handshake that is
	// malformed or whose token does not match returns a Response with the
	// status to answer (400, 403).
	Handshake(r *Request, s Secrets) (resp *Response, ok bool)
}

// DeliveryIDer is a scheme that knows the provider's own delivery id of a
// call (Stripe's event id, Slack's event_id, X-GitHub-Delivery, …), which
// the edge uses as the dedup id. "" means none.
type DeliveryIDer interface {
	DeliveryID(r *Request) string
}

// Response is a handshake's answer.
type Response struct {
	Status      int
	ContentType string
	Body        []byte
	// Reason names a refused handshake for the failed-trigger record
	// (e.g. TokenMismatch); empty when Status is 200.
	Reason Reason
}

// Info describes a provider's scheme for people: `hookgate providers` and
// the CLI's help print it.
type Info struct {
	Provider hookgatev1.Provider
	// Scheme is the family and algorithm, e.g. "HMAC-SHA256 of {t}.{body}".
	Scheme string
	// Secrets are the secret names the scheme needs; Optional those it uses
	// when given.
	Secrets, Optional []string
	// Handshake describes what the edge answers itself, "" for none.
	Handshake string
	// DeliveryID names where the dedup id comes from, "" for none.
	DeliveryID string
}

// preset is one provider's scheme and its description.
type preset struct {
	scheme Scheme
	info   Info
}

// For returns the scheme of a provider preset; false for GENERIC (key
// only), CUSTOM_HMAC (see Custom) and unknown providers.
func For(p hookgatev1.Provider) (Scheme, bool) {
	for _, family := range families {
		if e, ok := family[p]; ok {
			return e.scheme, true
		}
	}
	return nil, false
}

// Providers describes every provider preset, in the enum's order.
func Providers() []Info {
	var out []Info
	for p := range hookgatev1.Provider_name {
		for _, family := range families {
			if e, ok := family[hookgatev1.Provider(p)]; ok {
				e.info.Provider = hookgatev1.Provider(p)
				out = append(out, e.info)
			}
		}
	}
	slices.SortFunc(out, func(a, b Info) int { return int(a.Provider) - int(b.Provider) })
	return out
}

// families are the per-family tables of presets, each in its family's
// file.
var families = []map[hookgatev1.Provider]preset{hmacSchemes, urlSchemes, asymmetricSchemes, tokenSchemes, bodySchemes}

// equal compares in constant time; lengths may differ (a length mismatch
// is not secret here: signatures have a fixed length per scheme).
func equal(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

// SignsURL reports whether a provider's scheme (or a CUSTOM_HMAC
// configuration c) signs the URL the provider called, so that callers
// rebuild Request.URL only where it matters.
func SignsURL(p hookgatev1.Provider, c *hookgatev1.CustomHmac) bool {
	if p == hookgatev1.Provider_PROVIDER_CUSTOM_HMAC {
		return strings.Contains(c.GetTemplate(), "{url}")
	}
	_, ok := urlSchemes[p]
	return ok
}
