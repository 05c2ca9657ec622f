package ingress

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hookgate/hookgate/dataplane/configsync"
)

// maxKeyValues bounds how many key-bearing values one call may carry; a
// call with more is refused (401) rather than hashing each.
const maxKeyValues = 16

// authenticate looks at every value that may carry the API key: each
// X-Hookgate-Key header, each Authorization header with the Bearer scheme,
// and each key query parameter, in any order (DESIGN.md names all three).
// Any value that is a valid key authenticates the call: other values are
// the sender's own (a provider's Authorization, a stale key) and are no
// reason to refuse. It returns the stored digest of the matched key, or nil.
func authenticate(w *configsync.Webhook, r *http.Request, now time.Time) []byte {
	var matched []byte
	n := 0
	for _, v := range r.Header["X-Hookgate-Key"] {
		if n++; n > maxKeyValues {
			return nil
		}
		if d := matchKey(w, strings.TrimSpace(v), now); d != nil {
			matched = d
		}
	}
	for _, v := range r.Header["Authorization"] {
		tok, ok := bearer(v)
		if !ok {
			continue
		}
		if n++; n > maxKeyValues {
			return nil
		}
		if d := matchKey(w, tok, now); d != nil {
			matched = d
		}
	}
	for raw := r.URL.RawQuery; raw != ""; {
		var kv string
		kv, raw, _ = strings.Cut(raw, "&")
		k, v, _ := strings.Cut(kv, "=")
		if k != "key" {
			continue
		}
		if n++; n > maxKeyValues {
			return nil
		}
		if strings.ContainsAny(v, "%+") {
			u, err := url.QueryUnescape(v)
			if err != nil {
				continue
			}
			v = u
		}
		if d := matchKey(w, v, now); d != nil {
			matched = d
		}
	}
	return matched
}

// bearer returns the token of an Authorization value with the Bearer scheme.
func bearer(v string) (string, bool) {
	if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		return strings.TrimSpace(v[7:]), true
	}
	return "", false
}

// matchKey returns the digest of the webhook key that key is: the current
// key, or a previous key before its expiry. Digests are compared in
// constant time, and every digest is compared so timing does not tell
// which matched.
func matchKey(w *configsync.Webhook, key string, now time.Time) []byte {
	if key == "" {
		return nil
	}
	d := sha256.Sum256([]byte(key))
	var matched []byte
	keys := w.Keys()
	for i := range keys {
		k := &keys[i]
		match := subtle.ConstantTimeCompare(d[:], k.SHA256[:])
		if k.Expired(now) {
			match = 0
		}
		if match == 1 {
			matched = k.SHA256[:]
		}
	}
	return matched
}

// keyPrefix starts every inbound API key (DESIGN.md, "Identifiers and
// secrets").
const keyPrefix = "hgk_"

// stripKeys removes every value that carries an API key from the headers
// that enter the envelope: all X-Hookgate-Key values, and each
// Authorization value whose Bearer token is a Hookgate key (valid or not).
// Other Authorization values (Basic, a provider's token) stay. The query
// string never enters the envelope.
func stripKeys(h http.Header) {
	delete(h, "X-Hookgate-Key")
	vals, ok := h["Authorization"]
	if !ok {
		return
	}
	kept := vals[:0]
	for _, v := range vals {
		if tok, ok := bearer(v); ok && strings.HasPrefix(tok, keyPrefix) {
			continue
		}
		kept = append(kept, v)
	}
	if len(kept) == 0 {
		delete(h, "Authorization")
		return
	}
	h["Authorization"] = kept
}

// hasKey reports whether the call sends a Hookgate key at all: an
// X-Hookgate-Key header, a Bearer hgk_ token or a key query parameter. A
// webhook that does not require the key still refuses a wrong one.
func hasKey(r *http.Request) bool {
	if len(r.Header["X-Hookgate-Key"]) > 0 {
		return true
	}
	for _, v := range r.Header["Authorization"] {
		if tok, ok := bearer(v); ok && strings.HasPrefix(tok, "hgk_") {
			return true
		}
	}
	q := r.URL.RawQuery
	return strings.HasPrefix(q, "key=") || strings.Contains(q, "&key=")
}
