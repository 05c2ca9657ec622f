package distribute

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"connectrpc.com/connect"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
)

// Node authentication (docs/design.md, "Config distribution"). The stream
// carries decrypted provider secrets, so no caller is ever admitted without
// a credential, and a credential that names a role may only ask for that
// role: a leaked edge credential cannot read what dispatchers get.
//
// Credentials, strongest first:
//   - a client certificate the server verified, naming its role in its
//     Subject OrganizationalUnit ("edge" or "dispatcher");
//   - Config.EdgeToken or Config.DispatcherToken, one per role;
//   - Config.NodeToken, shared by every role (weaker: it names no role and
//     may ask for any).

// anyRole is the role of a credential that names none (the shared
// NodeToken): it may ask for either role.
const anyRole = -1

// Subject OrganizationalUnit values that name a node certificate's role.
const (
	CertRoleEdge       = "edge"
	CertRoleDispatcher = "dispatcher"
)

type verifiedCertKey struct{}

// certIdentity is what WithVerifiedClientCert learnt of a verified client
// certificate: the role its Subject OU names, or noRole.
type certIdentity struct{ role int }

// noRole marks a verified certificate that names no known role, or more
// than one.
const noRole = -2

// WithVerifiedClientCert passes StreamConfig the client certificate the
// server verified (a request over TLS with verified chains), so that it can
// admit the node by its certificate. The certificate's Subject
// OrganizationalUnit must name the node's role: CertRoleEdge or
// CertRoleDispatcher; a certificate naming neither (or both) is refused.
// Wrap the handler that serves ConfigDiscoveryService with it when the
// server verifies client certificates against a CA that issues node
// certificates only.
func WithVerifiedClientCert(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && len(r.TLS.VerifiedChains[0]) > 0 {
			id := certIdentity{role: certRole(r.TLS.VerifiedChains[0][0])}
			r = r.WithContext(context.WithValue(r.Context(), verifiedCertKey{}, id))
		}
		next.ServeHTTP(w, r)
	})
}

// certRole reads the role a node certificate names in its Subject OU.
func certRole(cert *x509.Certificate) int {
	role := noRole
	for _, ou := range cert.Subject.OrganizationalUnit {
		var r int
		switch ou {
		case CertRoleEdge:
			r = roleEdge
		case CertRoleDispatcher:
			r = roleDispatcher
		default:
			continue
		}
		if role != noRole && role != r {
			return noRole // two roles: ambiguous, so none
		}
		role = r
	}
	return role
}

// authenticate returns the role the caller's credential names (anyRole for
// the shared NodeToken), or Unauthenticated / PermissionDenied. It runs
// before the stream's first message is decoded. A verified client
// certificate decides on its own: a token beside it is not consulted.
func (d *Distributor) authenticate(ctx context.Context, h http.Header) (int, error) {
	if id, ok := ctx.Value(verifiedCertKey{}).(certIdentity); ok {
		if id.role == noRole {
			return 0, connect.NewError(connect.CodePermissionDenied,
				fmt.Errorf("client certificate names no node role: its Subject OU must be %q or %q", CertRoleEdge, CertRoleDispatcher))
		}
		return id.role, nil
	}
	if d.cfg.RequireClientCert {
		return 0, connect.NewError(connect.CodeUnauthenticated, errors.New("node client certificate required"))
	}
	scheme, token, found := strings.Cut(h.Get("Authorization"), " ")
	if found && strings.EqualFold(scheme, "Bearer") {
		if role, ok := d.tokenRole(strings.TrimSpace(token)); ok {
			return role, nil
		}
	}
	return 0, connect.NewError(connect.CodeUnauthenticated, errors.New("node token missing or wrong"))
}

// tokenRole finds which configured token the caller sent. It compares
// SHA-256 digests in constant time against every token, so neither a
// token's content, its length nor which one matched leaks through timing.
// An empty configured token never matches.
func (d *Distributor) tokenRole(token string) (int, bool) {
	got := sha256.Sum256([]byte(token))
	role, found := 0, false
	for _, t := range d.tokens {
		if subtle.ConstantTimeCompare(got[:], t.digest[:]) == 1 {
			role, found = t.role, true
		}
	}
	return role, found
}

// nodeToken is a configured token's digest and the role it names.
type nodeToken struct {
	digest [sha256.Size]byte
	role   int
}

func (c Config) nodeTokens() []nodeToken {
	var ts []nodeToken
	for _, t := range []struct {
		token string
		role  int
	}{{c.EdgeToken, roleEdge}, {c.DispatcherToken, roleDispatcher}, {c.NodeToken, anyRole}} {
		if t.token != "" {
			ts = append(ts, nodeToken{digest: sha256.Sum256([]byte(t.token)), role: t.role})
		}
	}
	return ts
}

// authorizeRole refuses a hello asking for another role than the
// credential's.
func authorizeRole(credRole int, asked hookgatev1.NodeRole) error {
	r := roleIndex(asked)
	if credRole == anyRole || credRole == r {
		return nil
	}
	return connect.NewError(connect.CodePermissionDenied,
		fmt.Errorf("credential for role %s may not ask for role %s", roleLabels[credRole], roleLabels[r]))
}
