package distribute

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"

	"connectrpc.com/connect"
)

type verifiedCertKey struct{}

// WithVerifiedClientCert marks requests that arrived over TLS with a client
// certificate the server verified, so that StreamConfig accepts the node
// without a token (mTLS). Wrap the handler that serves
// ConfigDiscoveryService with it when the server verifies client
// certificates against a CA that issues node certificates only.
func WithVerifiedClientCert(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 {
			r = r.WithContext(context.WithValue(r.Context(), verifiedCertKey{}, true))
		}
		next.ServeHTTP(w, r)
	})
}

// authenticate admits a node with a verified client certificate or the
// configured node token; with no token configured it admits every node (the
// caller allows that only on loopback). It runs before the stream's first
// message is decoded.
func (d *Distributor) authenticate(ctx context.Context, h http.Header) error {
	if d.cfg.NodeToken == "" {
		return nil
	}
	if ok, _ := ctx.Value(verifiedCertKey{}).(bool); ok {
		return nil
	}
	scheme, token, found := strings.Cut(h.Get("Authorization"), " ")
	if found && strings.EqualFold(scheme, "Bearer") && d.tokenMatches(strings.TrimSpace(token)) {
		return nil
	}
	return connect.NewError(connect.CodeUnauthenticated, errors.New("node token missing or wrong"))
}

// tokenMatches compares digests in constant time, so neither the token's
// content nor its length leaks through timing.
func (d *Distributor) tokenMatches(token string) bool {
	got := sha256.Sum256([]byte(token))
	want := sha256.Sum256([]byte(d.cfg.NodeToken))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}
