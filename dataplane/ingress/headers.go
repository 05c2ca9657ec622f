package ingress

import (
	"crypto/rand"
	"crypto/sha256"
	"net"
	"net/http"
	"strings"
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
		if v := h.Get(name); v != "" && len(v) <= 200 {
			return v
		}
	}
	return ""
}

const idAlphabet = "0123456789abcdefghijklmnopqrstuv"

// newEventID returns "evt_" and 20 characters. With a provider delivery id
// it is derived from tenant, webhook and delivery id, so a provider's retry
// of an accepted call is answered with the same event id.
func newEventID(tenant, webhookID, deliveryID string) string {
	if deliveryID == "" {
		return "evt_" + randomID()
	}
	src := sha256.Sum256([]byte(tenant + "\x00" + webhookID + "\x00" + deliveryID))
	return "evt_" + encodeID(src[:20])
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

// prepareHeaders turns the request's headers into the envelope's: the
// Hookgate key is removed and the ingress headers are added.
func prepareHeaders(r *http.Request) {
	h := r.Header
	h.Del("X-Hookgate-Key")
	if a := h.Get("Authorization"); len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		h.Del("Authorization")
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		if prior := h.Get("X-Forwarded-For"); prior != "" {
			h.Set("X-Forwarded-For", prior+", "+host)
		} else {
			h.Set("X-Forwarded-For", host)
		}
	}
	if h.Get("X-Forwarded-Proto") == "" {
		proto := "http"
		if r.TLS != nil {
			proto = "https"
		}
		h.Set("X-Forwarded-Proto", proto)
	}
	if h.Get("X-Forwarded-Host") == "" && r.Host != "" {
		h.Set("X-Forwarded-Host", r.Host)
	}
	if h.Get("X-Request-Id") == "" {
		h.Set("X-Request-Id", randomID())
	}
}

// redacted reports whether a header may carry a credential: its value is
// never stored in a failed trigger.
func redacted(name string) bool {
	n := strings.ToLower(name)
	for _, word := range []string{"authorization", "cookie", "signature", "token", "secret", "key", "hmac", "auth"} {
		if strings.Contains(n, word) {
			return true
		}
	}
	return false
}
