package admin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"connectrpc.com/connect"
	"github.com/hookgate/hookgate/controlplane/secrets"
	"github.com/hookgate/hookgate/gen/hookgate/v1/hookgatev1connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// scopeKind says how a method's caller is authorized.
type scopeKind int

const (
	// scopeTenant: the request names its tenant in a field; platform tokens
	// and tokens of that tenant pass, others get PermissionDenied.
	scopeTenant scopeKind = iota + 1
	// scopePlatform: platform tokens only.
	scopePlatform
	// scopeCaller: any admin token; the handler answers only with what the
	// caller's scope holds (ListTenants lists a tenant token's own tenant).
	scopeCaller
	// scopeTokenID: the request names an admin token by id; its tenant is
	// read from the store, and another tenant's token is NotFound, so a
	// tenant token cannot tell it from a missing one.
	scopeTokenID
	// scopeNode: not an admin call. Data-plane nodes authenticate in the
	// handler with their own credential; an admin token is refused.
	scopeNode
)

// scope is how one method is authorized.
type scope struct {
	kind scopeKind
	// field is the request's field path holding the tenant (scopeTenant) or
	// the token id (scopeTokenID), e.g. "tenant", "webhook.tenant".
	field string
	// platformFields are update_mask paths only a platform token may set.
	platformFields []string
}

// scopes declares the scope of every method whose request has no
// GetTenant() string accessor, or whose tenant field does not suffice. A
// request with that accessor is scopeTenant on "tenant" unless listed here.
// A method that is in neither is refused (fail closed): adding a method
// means adding its scope. The sweep test in authz_test.go calls every method
// of every service with another tenant's token.
var scopes = map[string]scope{
	hookgatev1connect.TenantServiceCreateTenantProcedure:     {kind: scopePlatform},
	hookgatev1connect.TenantServiceListTenantsProcedure:      {kind: scopeCaller},
	hookgatev1connect.TenantServiceUpdateTenantProcedure:     {kind: scopeTenant, field: "tenant.id", platformFields: []string{"allow_http_endpoints"}},
	hookgatev1connect.TenantServiceDeleteTenantProcedure:     {kind: scopePlatform},
	hookgatev1connect.TenantServiceRevokeAdminTokenProcedure: {kind: scopeTokenID, field: "id"},
	// CreateAdminToken and ListAdminTokens use the default: their tenant ""
	// means platform tokens, which only a platform token matches.

	hookgatev1connect.InboundWebhookServiceCreateWebhookProcedure: {kind: scopeTenant, field: "webhook.tenant"},
	hookgatev1connect.InboundWebhookServiceUpdateWebhookProcedure: {kind: scopeTenant, field: "webhook.tenant"},

	hookgatev1connect.ApplicationServiceCreateApplicationProcedure: {kind: scopeTenant, field: "application.tenant"},
	hookgatev1connect.ApplicationServiceUpdateApplicationProcedure: {kind: scopeTenant, field: "application.tenant"},
	hookgatev1connect.EndpointServiceCreateEndpointProcedure:       {kind: scopeTenant, field: "endpoint.tenant"},
	hookgatev1connect.EndpointServiceUpdateEndpointProcedure:       {kind: scopeTenant, field: "endpoint.tenant"},
	hookgatev1connect.EventTypeServiceCreateEventTypeProcedure:     {kind: scopeTenant, field: "event_type.tenant"},
	hookgatev1connect.EventTypeServiceUpdateEventTypeProcedure:     {kind: scopeTenant, field: "event_type.tenant"},
	hookgatev1connect.MessageServiceSendMessageProcedure:           {kind: scopeTenant, field: "message.tenant"},

	hookgatev1connect.EdgeServiceListNodesProcedure:               {kind: scopePlatform},
	hookgatev1connect.ConfigDiscoveryServiceStreamConfigProcedure: {kind: scopeNode},
}

// tenantScoped is the accessor every tenant-scoped request has.
type tenantScoped interface{ GetTenant() string }

// scopeOf returns the declared scope of a method, or the default for a
// request with a tenant; false when the method declares none.
func scopeOf(procedure string, msg any) (scope, bool) {
	if s, ok := scopes[procedure]; ok {
		return s, true
	}
	if _, ok := msg.(tenantScoped); ok {
		return scope{kind: scopeTenant, field: "tenant"}, true
	}
	return scope{}, false
}

// tokenScoper tells the tenant of an admin token by id ("" for a platform
// token), answering Connect errors. TenantService implements it.
type tokenScoper interface {
	tokenTenant(ctx context.Context, id string) (string, error)
}

// authorizer is the one authorization interceptor of the admin API: it
// checks every call's scope against the Principal the authentication
// middleware put in the context, before the handler runs.
type authorizer struct {
	tokens tokenScoper // nil: scopeTokenID calls by tenant tokens fail closed
}

var _ connect.Interceptor = authorizer{}

var errNoScope = errors.New("this method declares no tenant scope")

func (a authorizer) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if err := a.authorize(ctx, req.Spec().Procedure, req.Any()); err != nil {
			return nil, err
		}
		return next(ctx, req)
	}
}

func (authorizer) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

// WrapStreamingHandler authorizes client and bidirectional streams before
// their first message, so only scopes that need no request field are
// allowed for them. A server stream has one request message: it is
// authorized like a unary call's as it is received, before the handler
// sees it (authorizingConn).
func (a authorizer) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		procedure := conn.Spec().Procedure
		s, ok := scopes[procedure]
		switch {
		case ok && s.kind == scopeNode:
			if isAdminToken(conn.RequestHeader().Get("Authorization")) {
				return connect.NewError(connect.CodePermissionDenied, errors.New("an admin token is not a node credential"))
			}
		case ok && s.kind == scopePlatform:
			p, err := principal(ctx)
			if err != nil {
				return err
			}
			if !p.Platform() {
				return errNeedsPlatform
			}
		case conn.Spec().StreamType == connect.StreamTypeServer:
			return next(ctx, &authorizingConn{StreamingHandlerConn: conn, check: func(msg any) error {
				return a.authorize(ctx, procedure, msg)
			}})
		default:
			return failClosed(procedure)
		}
		return next(ctx, conn)
	}
}

// authorizingConn authorizes a server stream's request message when it is
// received. A refusal is returned by that Receive and every later one, so
// the handler, which receives its request before doing anything else, ends
// with it.
type authorizingConn struct {
	connect.StreamingHandlerConn
	check   func(msg any) error
	checked bool
	denied  error
}

func (c *authorizingConn) Receive(msg any) error {
	if c.denied != nil {
		return c.denied
	}
	if err := c.StreamingHandlerConn.Receive(msg); err != nil {
		return err
	}
	if !c.checked {
		c.checked = true
		c.denied = c.check(msg)
	}
	return c.denied
}

var (
	errNeedsPlatform = connect.NewError(connect.CodePermissionDenied, errors.New("this call needs a platform admin token"))
	errOtherTenant   = connect.NewError(connect.CodePermissionDenied, errors.New("the admin token is scoped to another tenant"))
)

// failClosed refuses a method whose scope is unknown: a forgotten entry is
// a bug to see in tests, never an open method.
func failClosed(procedure string) error {
	return connect.NewError(connect.CodeInternal, fmt.Errorf("%s: %w", procedure, errNoScope))
}

func principal(ctx context.Context) (Principal, error) {
	p, ok := PrincipalFrom(ctx)
	if !ok {
		return Principal{}, errUnauthenticated
	}
	return p, nil
}

func (a authorizer) authorize(ctx context.Context, procedure string, msg any) error {
	s, ok := scopeOf(procedure, msg)
	if !ok {
		return failClosed(procedure)
	}
	if s.kind == scopeNode {
		// A node method reached as a unary call: never with an admin token.
		return connect.NewError(connect.CodePermissionDenied, errors.New("an admin token is not a node credential"))
	}
	p, err := principal(ctx)
	if err != nil {
		return err
	}
	m, _ := msg.(proto.Message)
	switch s.kind {
	case scopePlatform:
		if !p.Platform() {
			return errNeedsPlatform
		}
		return nil
	case scopeCaller:
		return nil
	case scopeTenant:
		tenant, ok := stringAt(m, s.field)
		if !ok {
			return failClosed(procedure)
		}
		if p.Platform() {
			return nil
		}
		if tenant != p.Tenant {
			return errOtherTenant
		}
		if mask, ok := msg.(interface{ GetUpdateMask() *fieldmaskpb.FieldMask }); ok {
			for _, path := range mask.GetUpdateMask().GetPaths() {
				if slices.Contains(s.platformFields, path) {
					return connect.NewError(connect.CodePermissionDenied, fmt.Errorf("update_mask: %s needs a platform admin token", path))
				}
			}
		}
		return nil
	case scopeTokenID:
		id, ok := stringAt(m, s.field)
		if !ok {
			return failClosed(procedure)
		}
		if p.Platform() || id == "" {
			return nil // the handler answers NotFound or InvalidArgument
		}
		if a.tokens == nil {
			return failClosed(procedure)
		}
		tenant, err := a.tokens.tokenTenant(ctx, id)
		if err != nil {
			return err
		}
		if tenant != p.Tenant {
			return tokenNotFound(id)
		}
		return nil
	}
	return failClosed(procedure)
}

func tokenNotFound(id string) error {
	return connect.NewError(connect.CodeNotFound, errors.New("admin token "+id+": not found"))
}

func isAdminToken(authorization string) bool {
	token, ok := strings.CutPrefix(authorization, "Bearer ")
	token = strings.TrimSpace(token)
	return ok && (strings.HasPrefix(token, secrets.AdminTokenPrefix) || strings.HasPrefix(token, secrets.ProducerTokenPrefix))
}

// stringAt reads the string field at a dotted path of singular fields; an
// unset message on the way reads as "". It reports false when the path does
// not name a string field of the message's type.
func stringAt(m proto.Message, path string) (string, bool) {
	if m == nil {
		return "", false
	}
	r := m.ProtoReflect()
	names := strings.Split(path, ".")
	for i, name := range names {
		fd := r.Descriptor().Fields().ByName(protoreflect.Name(name))
		if fd == nil || fd.IsList() || fd.IsMap() {
			return "", false
		}
		if i == len(names)-1 {
			if fd.Kind() != protoreflect.StringKind {
				return "", false
			}
			return r.Get(fd).String(), true
		}
		if fd.Kind() != protoreflect.MessageKind {
			return "", false
		}
		// Get on an unset message field returns an empty read-only message.
		r = r.Get(fd).Message()
	}
	return "", false
}
