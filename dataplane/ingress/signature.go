package ingress

import (
	"errors"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/hookgate/hookgate/dataplane/verify"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
)

// signature is what a hook derives for its provider's scheme: the scheme
// (nil for GENERIC and for a configuration the edge cannot use), its
// optional handshake and delivery id, and the secrets it verifies with.
type signature struct {
	scheme     verify.Scheme
	handshaker verify.Handshaker
	deliveryID verify.DeliveryIDer
	// broken is set when the webhook names a scheme the edge could not
	// build (a CUSTOM_HMAC the control plane should have refused): every
	// call is refused rather than let through unverified.
	broken bool
	// secrets holds current values, then previous ones; previous lists
	// each previous value's expiry so expired ones stop verifying even
	// before the control plane's sweep removes them.
	secrets  verify.Secrets
	previous []previousSecret
	// requireKey is the webhook's require_key (default true).
	requireKey bool
	// signsURL is set for schemes that sign the URL the provider called;
	// others are spared rebuilding it per call.
	signsURL bool
}

type previousSecret struct {
	name   string
	value  string
	expire time.Time
}

func newSignature(w *hookgatev1.EdgeWebhook) signature {
	sig := signature{requireKey: w.RequireKey == nil || w.GetRequireKey()}
	switch p := w.GetProvider(); p {
	case hookgatev1.Provider_PROVIDER_GENERIC, hookgatev1.Provider_PROVIDER_UNSPECIFIED:
		sig.requireKey = true // nothing else authenticates the call
		return sig
	case hookgatev1.Provider_PROVIDER_CUSTOM_HMAC:
		s, err := verify.Custom(w.GetCustomHmac())
		if err != nil {
			sig.broken = true
			return sig
		}
		sig.scheme = s
	default:
		s, ok := verify.For(p)
		if !ok {
			sig.broken = true
			return sig
		}
		sig.scheme = s
	}
	sig.signsURL = verify.SignsURL(w.GetProvider(), w.GetCustomHmac())
	sig.handshaker, _ = sig.scheme.(verify.Handshaker)
	sig.deliveryID, _ = sig.scheme.(verify.DeliveryIDer)
	sig.secrets = make(verify.Secrets, len(w.GetProviderSecrets()))
	for name, v := range w.GetProviderSecrets() {
		sig.secrets[name] = []string{v}
	}
	for name, prev := range w.GetPreviousProviderSecrets() {
		sig.secrets[name] = append(sig.secrets[name], prev.GetValue())
		sig.previous = append(sig.previous, previousSecret{name: name, value: prev.GetValue(), expire: prev.GetExpireTime().AsTime()})
	}
	return sig
}

// secretsAt returns the secrets that verify at now: previous values past
// their expiry are left out. Without previous values it is the shared map.
func (s *signature) secretsAt(now time.Time) verify.Secrets {
	expired := false
	for _, p := range s.previous {
		if !now.Before(p.expire) {
			expired = true
		}
	}
	if !expired {
		return s.secrets
	}
	out := make(verify.Secrets, len(s.secrets))
	for name, values := range s.secrets {
		out[name] = values[:1]
	}
	for _, p := range s.previous {
		if now.Before(p.expire) {
			out[p.name] = append(out[p.name][:len(out[p.name]):len(out[p.name])], p.value)
		}
	}
	return out
}

// publicURL rebuilds the URL the provider called, which URL-signing
// schemes sign: the configured public base URL and the path and query as
// received. Without a base URL the scheme and host are the request's own,
// or X-Forwarded-Proto and X-Forwarded-Host when the peer is a trusted
// proxy.
func (e *Edge) publicURL(r *http.Request) string {
	base := e.cfg.PublicURL
	if base == "" {
		scheme, host := "http", r.Host
		if r.TLS != nil {
			scheme = "https"
		}
		if e.trustedPeer(r) {
			if p := r.Header["X-Forwarded-Proto"]; len(p) > 0 && (p[0] == "https" || p[0] == "http") {
				scheme = p[0]
			}
			if h := r.Header["X-Forwarded-Host"]; len(h) > 0 && h[0] != "" {
				host = h[0]
			}
		}
		base = scheme + "://" + host
	}
	u := base + r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		u += "?" + r.URL.RawQuery
	}
	return u
}

// trustedPeer reports whether the call came from a proxy in
// TrustedProxies, whose X-Forwarded-* headers the edge believes.
func (e *Edge) trustedPeer(r *http.Request) bool {
	if len(e.cfg.TrustedProxies) == 0 {
		return false
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	addr = addr.Unmap()
	for _, p := range e.cfg.TrustedProxies {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// maxDeliveryID bounds a provider delivery id used as a dedup id.
const maxDeliveryID = 200

// verifyCall checks the call's signature and answers a handshake. It
// returns the verify request (for the delivery id) and reasonAccepted when
// the call goes on to be published.
func (e *Edge) verifyCall(r *http.Request, h *hook, body []byte, now time.Time, fail outcome) (*verify.Request, outcome) {
	if h.sig.broken {
		fail.reason, fail.verifyReason = reasonBadSignature, verify.SecretMissing
		return nil, fail
	}
	req := &verify.Request{Method: r.Method, Header: r.Header, Body: body, Now: now}
	// The URL is for schemes that sign it and for GET handshakes, which
	// carry their parameters in the query (Meta's hub.*).
	if h.sig.signsURL || r.Method == http.MethodGet {
		req.URL = e.publicURL(r)
	}
	secrets := h.sig.secretsAt(now)
	if r.Method == http.MethodGet {
		// GET carries no signature: the handshake checks its own token.
		return req, e.handshake(req, h, secrets, fail)
	}
	if err := h.sig.scheme.Verify(req, secrets); err != nil {
		fail.reason, fail.verifyReason = reasonBadSignature, verify.SignatureMismatch
		var f *verify.Failure
		if errors.As(err, &f) {
			fail.verifyReason, fail.detail = f.Reason, ""
		}
		return req, fail
	}
	if h.sig.handshaker != nil {
		if out := e.handshake(req, h, secrets, fail); out.reason != reasonMethod {
			return req, out
		}
	}
	return req, outcome{reason: reasonAccepted}
}

// handshake answers a provider handshake; reasonMethod when req is none.
func (e *Edge) handshake(req *verify.Request, h *hook, secrets verify.Secrets, fail outcome) outcome {
	if h.sig.handshaker == nil {
		return outcome{reason: reasonMethod}
	}
	resp, ok := h.sig.handshaker.Handshake(req, secrets)
	if !ok {
		return outcome{reason: reasonMethod}
	}
	if resp.Status == http.StatusOK {
		return outcome{reason: reasonHandshake, handshake: resp}
	}
	fail.reason, fail.handshake, fail.verifyReason = reasonHandshakeRefused, resp, resp.Reason
	return fail
}

// failureReason is a failed trigger's reason: the precise verification
// reason where there is one, else the table's label.
func failureReason(out outcome) string {
	if out.verifyReason != "" {
		return string(out.verifyReason)
	}
	return reasons[out.reason].label
}
