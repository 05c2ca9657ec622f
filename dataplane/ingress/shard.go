package ingress

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"connectrpc.com/connect"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
)

// Bounds of a shard, the same as the control plane's.
const (
	MaxShardTenants = 10000
	MaxShardCount   = 1 << 16
)

// Shard is the slice of tenants an edge serves (docs/design.md, "Sharded
// edges"): an explicit list, or shard index of count of a hash of the
// tenant slug. The control plane sends a sharded edge only its tenants'
// configuration, and the edge answers a call for any other tenant 421
// Misdirected Request, so that a load balancer's routing mistake shows as
// such and not as 404 or 401. The zero Shard is every tenant. A Shard is
// immutable.
type Shard struct {
	tenants      map[string]struct{}
	index, count uint32
}

// TenantsShard is the shard of exactly these tenants (slugs; duplicates
// are ignored).
func TenantsShard(tenants []string) (Shard, error) {
	if len(tenants) == 0 {
		return Shard{}, errors.New("shard: no tenants")
	}
	if len(tenants) > MaxShardTenants {
		return Shard{}, fmt.Errorf("shard: %d tenants, at most %d", len(tenants), MaxShardTenants)
	}
	set := make(map[string]struct{}, len(tenants))
	for _, t := range tenants {
		if !validShardTenant(t) {
			return Shard{}, fmt.Errorf("shard: %q is not a tenant slug (3–50 characters of a-z, 0-9 and '-')", t)
		}
		set[t] = struct{}{}
	}
	return Shard{tenants: set}, nil
}

// HashShard is shard index of count: the tenants t with
// TenantShard(t, count) == index.
func HashShard(index, count uint32) (Shard, error) {
	switch {
	case count == 0:
		return Shard{}, errors.New("shard: count must be at least 1")
	case count > MaxShardCount:
		return Shard{}, fmt.Errorf("shard: count %d, at most %d", count, MaxShardCount)
	case index >= count:
		return Shard{}, fmt.Errorf("shard: index %d must be below count %d", index, count)
	}
	return Shard{index: index, count: count}, nil
}

// All reports whether the shard is every tenant.
func (s Shard) All() bool { return s.count == 0 && s.tenants == nil }

// Serves reports whether the edge serves tenant.
func (s Shard) Serves(tenant string) bool {
	switch {
	case s.count > 0:
		return TenantShard(tenant, s.count) == s.index
	case s.tenants != nil:
		_, ok := s.tenants[tenant]
		return ok
	}
	return true
}

// Proto is the shard as the config stream's hello declares it; nil for
// every tenant.
func (s Shard) Proto() *hookgatev1.EdgeShard {
	switch {
	case s.count > 0:
		return &hookgatev1.EdgeShard{Index: s.index, Count: s.count}
	case s.tenants != nil:
		return &hookgatev1.EdgeShard{Tenants: s.sortedTenants()}
	}
	return nil
}

// String is "1/4", "tenants acme,globex" or "every tenant".
func (s Shard) String() string {
	switch {
	case s.count > 0:
		return strconv.FormatUint(uint64(s.index), 10) + "/" + strconv.FormatUint(uint64(s.count), 10)
	case s.tenants != nil:
		return "tenants " + strings.Join(s.sortedTenants(), ",")
	}
	return "every tenant"
}

func (s Shard) sortedTenants() []string {
	out := make([]string, 0, len(s.tenants))
	for t := range s.tenants {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

func validShardTenant(s string) bool {
	if len(s) < 3 || len(s) > 50 {
		return false
	}
	for _, c := range []byte(s) {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// TenantShard is the hash shard, of count, that tenant belongs to: Lamping
// and Veach's jump consistent hash of the 64-bit FNV-1a of the slug's
// bytes. It is the control plane's distribute.TenantShard (the modules
// share no code; both test the same vectors), and what a load balancer
// that routes by hash must compute. count 0 is treated as 1.
func TenantShard(tenant string, count uint32) uint32 {
	const (
		offset64 = 14695981039346656037
		prime64  = 1099511628211
	)
	h := uint64(offset64)
	for i := 0; i < len(tenant); i++ {
		h ^= uint64(tenant[i])
		h *= prime64
	}
	b, j := int64(-1), int64(0)
	for j < int64(max(count, 1)) {
		b = j
		h = h*2862933555777941757 + 1
		j = int64(float64(b+1) * (float64(int64(1)<<31) / float64((h>>33)+1)))
	}
	return uint32(b)
}

// misdirectedText is what a call outside the shard is told: the reason,
// never which tenants the edge serves.
const misdirectedText = "misdirected request: this edge does not serve the tenant (the load balancer routed the call to an edge of another shard)"

// errMisdirected is SendMessage's answer for a tenant outside the shard.
// Over gRPC it is FailedPrecondition (gRPC answers HTTP 200); over the
// Connect protocol and REST the HTTP status becomes 421 (misdirect).
var errMisdirected = connect.NewError(connect.CodeFailedPrecondition, errors.New(misdirectedText))

// misdirectKey carries a *misdirect from authenticate to send.
type misdirectKey struct{}

// misdirect rewrites the HTTP status of a SendMessage error answer to 421
// once send has found the message's tenant outside the shard. Connect
// writes an error's status from its code; a unary Connect or REST error is
// the only answer, so its status can be replaced. A gRPC answer is 200
// with the status in trailers and stays as it is.
type misdirect struct {
	http.ResponseWriter
	set bool
}

func (m *misdirect) WriteHeader(code int) {
	if m.set && code >= 400 {
		code = http.StatusMisdirectedRequest
	}
	m.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection (Flush,
// deadlines).
func (m *misdirect) Unwrap() http.ResponseWriter { return m.ResponseWriter }

// Flush passes through for streaming protocols.
func (m *misdirect) Flush() {
	if f, ok := m.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// TenantHeader names the tenant of a SendMessage call for routing: a
// producer behind a load balancer that routes by tenant sets it (the CLI
// does), since the Connect and gRPC paths carry the tenant only in the
// body. A sharded edge answers 421 at once when it names another shard's
// tenant; the message's own tenant is checked all the same.
const TenantHeader = "Hookgate-Tenant"

// refuseMisdirected answers a SendMessage call for a tenant outside the
// shard before its body is read.
func (m *Messages) refuseMisdirected(w http.ResponseWriter, r *http.Request) {
	m.misdirected.Inc()
	_ = connect.NewErrorWriter().Write(&misdirect{ResponseWriter: w, set: true}, r, errMisdirected)
}

// restTenant is the {tenant} of a REST path /v1/tenants/{tenant}/…, as
// received (a slug has nothing to unescape).
func restTenant(path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, RESTPrefix+"tenants/")
	if !ok {
		return "", false
	}
	tenant, _, ok := strings.Cut(rest, "/")
	return tenant, ok && tenant != ""
}
