package ingress

import (
	"crypto/rand"
	"crypto/sha256"
	"net"
	"net/http"
	"net/textproto"
	"strings"

	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
)

// deliveryIDHeaders are the providers' own delivery ids, in the order they
// are tried; a provider's retry carries the same id, so JetStream drops the
// duplicate (DESIGN.md).
var deliveryIDHeaders = []string{
	"Webhook-Id",                 // Standard Webhooks
	"Svix-Id",                    // Svix
	"X-Github-Delivery",          // GitHub
	"X-Shopify-Webhook-Id",       // Shopify
	"Twitch-Eventsub-Message-Id", // Twitch
	"Linear-Delivery",            // Linear
	"X-Gitlab-Event-Uuid",        // GitLab
	"Idempotency-Key",            // generic senders
}

// providerDeliveryID returns the sender's delivery id, or "". Ids longer than
// 200 bytes are ignored rather than trusted as dedup keys.
func providerDeliveryID(h http.Header) string {
	for _, name := range deliveryIDHeaders {
		// The names are canonical: index the map rather than Get, which
		// canonicalises each again.
		if vs := h[name]; len(vs) > 0 && vs[0] != "" && len(vs[0]) <= 200 {
			return vs[0]
		}
	}
	return ""
}

const idAlphabet = "0123456789abcdefghijklmnopqrstuv"

// deriveEventID returns "evt_" and 20 characters derived from what identifies the
// delivery, so that a sender's retry gets the same event id and the same
// Nats-Msg-Id, and JetStream drops the copy within its duplicate window:
// with a provider delivery id, from tenant, webhook and that id; without
// one, from tenant, webhook, the digest of the key that authenticated the
// call, the Content-Type and the body. Identical calls within the window
// are therefore one event, even when sent on purpose (docs/design.md).
func deriveEventID(tenant, webhookID, deliveryID string, keyDigest []byte, contentType string, body []byte) string {
	var sum [sha256.Size]byte
	if deliveryID != "" {
		sum = sha256.Sum256([]byte(tenant + "\x00" + webhookID + "\x00" + deliveryID))
	} else {
		// Each field with its length first, so no two field lists hash
		// the same input; the prefix is built on the stack.
		var stack [384]byte
		p := appendField(stack[:0], tenant)
		p = appendField(p, webhookID)
		p = appendField(p, string(keyDigest))
		p = appendField(p, contentType)
		h := sha256.New()
		h.Write(p)
		h.Write(body)
		h.Sum(sum[:0])
	}
	// "evt_" and the id in one allocation.
	var id [4 + 20]byte
	copy(id[:], "evt_")
	for i, c := range sum[:20] {
		id[4+i] = idAlphabet[c&31]
	}
	return string(id[:])
}

func appendField(dst []byte, f string) []byte {
	dst = append(dst, byte(len(f)>>24), byte(len(f)>>16), byte(len(f)>>8), byte(len(f)))
	return append(dst, f...)
}

// randomID returns 20 random characters of [0-9a-v] (100 bits).
func randomID() string {
	var src [20]byte
	_, _ = rand.Read(src[:])
	return encodeID(src[:])
}

func encodeID(src []byte) string {
	b := make([]byte, len(src))
	for i, c := range src {
		b[i] = idAlphabet[c&31]
	}
	return string(b)
}

// secretHeaders are, by provider, the headers that carry the provider's
// secret itself rather than a signature of the call: they never enter the
// envelope (and are redacted in failed triggers). Canonical names. Provider
// adapters (issue 10) add their rows here.
var secretHeaders = map[hookgatev1.Provider][]string{
	// GitLab sends the webhook's secret token in clear (shared/providers.md).
	hookgatev1.Provider_PROVIDER_GITLAB: {"X-Gitlab-Token"},
}

// prepareHeaders turns the request's headers into the envelope's: every
// value carrying the Hookgate key and the provider's secret headers are
// removed and the ingress headers are added.
func prepareHeaders(r *http.Request, hk *hook, trusted bool) {
	h := r.Header
	stripKeys(h)
	for _, name := range hk.secretHeaders {
		delete(h, name)
	}
	// The ingress headers' values share one backing array; each is set as
	// Header.Set would (the only value), with the canonical name.
	vals := make([]string, 4)
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		if prior := first(h, "X-Forwarded-For"); prior != "" {
			vals[0] = prior + ", " + host
		} else {
			vals[0] = host
		}
		h["X-Forwarded-For"] = vals[0:1:1]
	}
	// A client could claim any scheme or host: only a trusted proxy's
	// claims are kept.
	if !trusted {
		delete(h, "X-Forwarded-Proto")
		delete(h, "X-Forwarded-Host")
	}
	if first(h, "X-Forwarded-Proto") == "" {
		vals[1] = "http"
		if r.TLS != nil {
			vals[1] = "https"
		}
		h["X-Forwarded-Proto"] = vals[1:2:2]
	}
	if first(h, "X-Forwarded-Host") == "" && r.Host != "" {
		vals[2] = r.Host
		h["X-Forwarded-Host"] = vals[2:3:3]
	}
	if first(h, "X-Request-Id") == "" {
		vals[3] = randomID()
		h["X-Request-Id"] = vals[3:4:4]
	}
}

// first is h.Get(name) for a canonical name.
func first(h http.Header, name string) string {
	if vs := h[name]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// redacted reports whether a header may carry a credential: its value is
// never stored in a failed trigger. Beyond names that say so, the hook's
// own list covers its provider's secret headers and the headers a
// CUSTOM_HMAC configuration names.
func (hk *hook) redacted(name string) bool {
	if CredentialHeader(name) {
		return true
	}
	for _, r := range hk.redact {
		if strings.EqualFold(r, name) {
			return true
		}
	}
	return false
}

// CredentialHeader reports whether a header's name says it may carry a
// credential, whatever the webhook: failed triggers store its value as
// REDACTED, and so does the control plane's event tail (cmd/hookgate/contract
// checks that both redact the same names).
func CredentialHeader(name string) bool {
	n := strings.ToLower(name)
	for _, word := range []string{"authorization", "cookie", "signature", "token", "secret", "key", "hmac", "auth"} {
		if strings.Contains(n, word) {
			return true
		}
	}
	return false
}

// customHMACHeaders are the headers a CUSTOM_HMAC configuration names: the
// signature header, the timestamp header and every {header:Name} of the
// signed-content template, canonical.
func customHMACHeaders(c *hookgatev1.CustomHmac) []string {
	var out []string
	for _, name := range []string{c.GetHeader(), c.GetTimestampHeader()} {
		if name != "" {
			out = append(out, textproto.CanonicalMIMEHeaderKey(name))
		}
	}
	for rest := c.GetTemplate(); ; {
		_, after, ok := strings.Cut(rest, "{header:")
		if !ok {
			break
		}
		name, tail, ok := strings.Cut(after, "}")
		if !ok {
			break
		}
		if name != "" {
			out = append(out, textproto.CanonicalMIMEHeaderKey(name))
		}
		rest = tail
	}
	return out
}
