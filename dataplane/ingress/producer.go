package ingress

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"connectrpc.com/connect"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Prefixes of the tokens SendMessage accepts (DESIGN.md "Identifiers and
// secrets"): producer tokens, and admin tokens whose scope covers the
// tenant.
const (
	producerTokenPrefix = "hgp_"
	adminTokenPrefix    = "hga_"
)

// producer is the caller of SendMessage, as its token says.
type producer struct {
	// tenant is the token's tenant; "" for a platform admin token.
	tenant string
	// platform is set for a platform admin token, which covers every tenant.
	platform bool
}

func (p producer) covers(tenant string) bool { return p.platform || p.tenant == tenant }

type producerKey struct{}

var (
	errNoToken = connect.NewError(connect.CodeUnauthenticated,
		errors.New("missing or invalid token: send Authorization: Bearer hgp_… (a producer token) or an admin token of the tenant"))
	errTokenOtherTenant = connect.NewError(connect.CodePermissionDenied,
		errors.New("the token may not send messages for this tenant"))
)

// authenticate checks the bearer token before the body is read: its
// SHA-256 digest is looked up among the digests the edge received (the
// lookup compares all 256 bits) and compared again in constant time. Keys
// are 256-bit random values, so a fast digest is as safe as a slow hash.
func (m *Messages) authenticate(next http.Handler) http.Handler {
	errw := connect.NewErrorWriter()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Bound what the call may send before anything reads it.
		r.Body = http.MaxBytesReader(w, r.Body, m.cfg.MaxRequestBytes+5)
		// A caller (or load balancer) that names the tenant in
		// Hookgate-Tenant is told at once when it is outside the shard.
		if t := r.Header.Get(TenantHeader); t != "" && !m.cfg.Shard.Serves(t) {
			m.refuseMisdirected(w, r)
			return
		}
		cat, ok := m.catalog.current(m.source)
		if !ok {
			_ = errw.Write(w, r, errNoCatalog)
			return
		}
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		token = strings.TrimSpace(token)
		if !ok || !strings.HasPrefix(token, producerTokenPrefix) && !strings.HasPrefix(token, adminTokenPrefix) {
			_ = errw.Write(w, r, errNoToken)
			return
		}
		p, ok := cat.producer(token)
		if !ok {
			_ = errw.Write(w, r, errNoToken)
			return
		}
		// A tenant's token is for its tenant only: refused before the body
		// when that tenant is outside the shard (sharded edges hold every
		// token digest for this).
		if p.tenant != "" && !m.cfg.Shard.Serves(p.tenant) {
			m.refuseMisdirected(w, r)
			return
		}
		ctx := context.WithValue(r.Context(), producerKey{}, p)
		if !m.cfg.Shard.All() {
			md := &misdirect{ResponseWriter: w}
			w, ctx = md, context.WithValue(ctx, misdirectKey{}, md)
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// tokenEntry is one token digest the edge holds.
type tokenEntry struct {
	digest []byte
	who    producer
}

// compiledType is an event type with its schema compiled once.
type compiledType struct {
	res      *hookgatev1.EdgeEventType
	archived bool
	once     sync.Once
	schema   *jsonschema.Schema // nil: any JSON
	err      error
}

// catalog is one configuration revision's outbound catalog, indexed for
// SendMessage: token digests, applications and event types.
type catalog struct {
	rs     ResourceSet
	tokens map[[sha256.Size]byte]tokenEntry
	apps   map[string]struct{}      // tenant/app_id
	types  map[string]*compiledType // tenant/name
}

func (c *catalog) producer(token string) (producer, bool) {
	d := sha256.Sum256([]byte(token))
	e, ok := c.tokens[d]
	if !ok || subtle.ConstantTimeCompare(e.digest, d[:]) != 1 {
		return producer{}, false
	}
	return e.who, true
}

func (c *catalog) hasApp(tenant, id string) bool {
	_, ok := c.apps[tenant+"/"+id]
	return ok
}

func (c *catalog) eventType(tenant, name string) (*compiledType, bool) {
	t, ok := c.types[tenant+"/"+name]
	return t, ok
}

// catalogCache holds the catalog of the last configuration seen and
// rebuilds it when the configuration changes, on the first call after the
// change. Compiled schemas of unchanged event types carry over.
type catalogCache struct {
	cur atomic.Pointer[catalog]
	mu  sync.Mutex // serialises rebuilds
}

func (cc *catalogCache) current(src CatalogSource) (*catalog, bool) {
	rs, ok := src.Outbound()
	if !ok || rs == nil {
		return nil, false
	}
	if c := cc.cur.Load(); c != nil && c.rs == rs {
		return c, true
	}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	prev := cc.cur.Load()
	if prev != nil && prev.rs == rs {
		return prev, true
	}
	c := buildCatalog(rs, prev)
	cc.cur.Store(c)
	return c, true
}

func buildCatalog(rs ResourceSet, prev *catalog) *catalog {
	c := &catalog{rs: rs, tokens: map[[sha256.Size]byte]tokenEntry{}, apps: map[string]struct{}{}, types: map[string]*compiledType{}}
	rs.Resources("token/", func(r *hookgatev1.ConfigResource) bool {
		t := r.GetToken()
		if t == nil || len(t.GetSha256()) != sha256.Size {
			return true
		}
		var who producer
		switch t.GetKind() {
		case hookgatev1.AdminTokenKind_ADMIN_TOKEN_KIND_PRODUCER:
			if t.GetTenant() == "" {
				return true // a producer token always has a tenant
			}
			who = producer{tenant: t.GetTenant()}
		default:
			who = producer{tenant: t.GetTenant(), platform: t.GetTenant() == ""}
		}
		c.tokens[[sha256.Size]byte(t.GetSha256())] = tokenEntry{digest: t.GetSha256(), who: who}
		return true
	})
	rs.Resources("application/", func(r *hookgatev1.ConfigResource) bool {
		if a := r.GetApplication(); a != nil {
			c.apps[a.GetTenant()+"/"+a.GetId()] = struct{}{}
		}
		return true
	})
	rs.Resources("event-type/", func(r *hookgatev1.ConfigResource) bool {
		et := r.GetEventType()
		if et == nil {
			return true
		}
		k := et.GetTenant() + "/" + et.GetName()
		// Resources are immutable: the same pointer is the same schema.
		if prev != nil {
			if old, ok := prev.types[k]; ok && old.res == et {
				c.types[k] = old
				return true
			}
		}
		c.types[k] = &compiledType{res: et, archived: et.GetArchived()}
		return true
	})
	return c
}

// validate checks a payload (JSON) against the type's schema, compiling
// it on first use with the control plane's settings (draft 2020-12, no
// external references). The error names the failing JSON pointer and
// the schema's keyword message, never the value.
func (t *compiledType) validate(payload []byte) error {
	t.once.Do(func() {
		if t.res.GetSchema() == nil {
			return
		}
		raw, err := json.Marshal(t.res.GetSchema().AsMap())
		if err != nil {
			t.err = err
			return
		}
		t.schema, t.err = compileSchema(raw)
	})
	if t.err != nil {
		return connect.NewError(connect.CodeFailedPrecondition, fmt.Errorf("event type %s: its schema does not compile on this edge", t.res.GetName()))
	}
	if t.schema == nil {
		return nil
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(payload))
	if err != nil {
		return invalidMessage("message.payload", "is not JSON")
	}
	err = t.schema.Validate(v)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return invalidMessage("message.payload", "does not satisfy the schema of %s", t.res.GetName())
	}
	for len(ve.Causes) > 0 {
		ve = ve.Causes[0]
	}
	var ptr strings.Builder
	for _, tok := range ve.InstanceLocation {
		ptr.WriteByte('/')
		ptr.WriteString(strings.ReplaceAll(strings.ReplaceAll(tok, "~", "~0"), "/", "~1"))
	}
	pointer := ptr.String()
	if pointer == "" {
		pointer = "(root)"
	}
	return invalidMessage("message.payload", "at %s does not satisfy the schema of %s: %s",
		pointer, t.res.GetName(), ve.ErrorKind.LocalizedString(message.NewPrinter(language.English)))
}

// compileSchema compiles a JSON Schema as controlplane/admin's
// CompileSchema does: draft 2020-12 unless it names another with
// $schema, nothing outside the schema loaded.
func compileSchema(schemaJSON []byte) (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.UseLoader(refuseLoader{})
	const loc = "urn:hookgate:schema"
	if err := c.AddResource(loc, doc); err != nil {
		return nil, err
	}
	return c.Compile(loc)
}

// refuseLoader loads no schema from anywhere: a tenant's $ref must not make
// the edge read files or fetch URLs.
type refuseLoader struct{}

func (refuseLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("%s: schemas may only refer to themselves", url)
}
