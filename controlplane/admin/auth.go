package admin

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"connectrpc.com/connect"
	"github.com/hookgate/hookgate/controlplane/secrets"
	"github.com/hookgate/hookgate/controlplane/store"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
)

// Principal is the caller an admin token stands for.
type Principal struct {
	TokenID string
	// Tenant is the token's tenant; empty for a platform token.
	Tenant string
}

// Platform reports whether the principal may act on every tenant.
func (p Principal) Platform() bool { return p.Tenant == "" }

type principalKey struct{}

// PrincipalFrom returns the authenticated caller of an admin request.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// Authenticator checks "Authorization: Bearer hga_…" (and refuses producer
// tokens, hgp_…, with PermissionDenied) before a request body
// is read, by digest lookup (the stored value is a SHA-256 digest; the index
// lookup by digest compares the full 256-bit value, and the record's digest
// is compared again in constant time).
type Authenticator struct {
	store *store.Store
	log   *slog.Logger
	errw  *connect.ErrorWriter
}

// NewAuthenticator returns middleware for the admin services.
func NewAuthenticator(st *store.Store, log *slog.Logger) *Authenticator {
	return &Authenticator{store: st, log: log, errw: connect.NewErrorWriter()}
}

// Wrap authenticates each request and puts its Principal in the context.
func (a *Authenticator) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := a.authenticate(r)
		if err != nil {
			_ = a.errw.Write(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

var errUnauthenticated = connect.NewError(connect.CodeUnauthenticated,
	errors.New("missing or invalid admin token: send Authorization: Bearer hga_…"))

// errProducerToken refuses a producer token on every admin method: it may
// only send messages, and only at the edge (DESIGN.md "Identifiers and
// secrets").
var errProducerToken = connect.NewError(connect.CodePermissionDenied,
	errors.New("a producer token (hgp_…) may only send messages through the edge; the admin API needs an admin token (hga_…)"))

func (a *Authenticator) authenticate(r *http.Request) (Principal, error) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || !strings.HasPrefix(token, secrets.AdminTokenPrefix) && !strings.HasPrefix(token, secrets.ProducerTokenPrefix) {
		return Principal{}, errUnauthenticated
	}
	digest := secrets.Digest(strings.TrimSpace(token))
	rec, err := a.store.TokenByDigest(r.Context(), digest)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Principal{}, errUnauthenticated
	case err != nil:
		a.log.WarnContext(r.Context(), "admin token lookup", "err", err)
		return Principal{}, connect.NewError(connect.CodeUnavailable, errors.New("cannot check admin token now"))
	case !secrets.Equal(rec.GetSha256(), digest):
		return Principal{}, errUnauthenticated
	case rec.GetToken().GetKind() == hookgatev1.AdminTokenKind_ADMIN_TOKEN_KIND_PRODUCER:
		return Principal{}, errProducerToken
	}
	return Principal{TokenID: rec.GetToken().GetId(), Tenant: rec.GetToken().GetTenant()}, nil
}
