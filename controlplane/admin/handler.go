// Package admin serves the admin API: the Connect handlers of every service
// (gRPC, gRPC-Web and Connect JSON on one http.Handler), gRPC health and
// reflection, authentication of admin tokens and translation of domain
// errors into status codes. It never sits on the path of a webhook request.
package admin

import (
	"net/http"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"connectrpc.com/grpcreflect"
	"github.com/hookgate/hookgate/gen/hookgate/v1/hookgatev1connect"
)

// Services holds the implementation of each admin service. A nil field is
// served by the generated Unimplemented handler, which answers every method
// with CodeUnimplemented until a later change provides it.
type Services struct {
	Tenants     hookgatev1connect.TenantServiceHandler
	Webhooks    hookgatev1connect.InboundWebhookServiceHandler
	Apps        hookgatev1connect.ApplicationServiceHandler
	EventTypes  hookgatev1connect.EventTypeServiceHandler
	Endpoints   hookgatev1connect.EndpointServiceHandler
	Messages    hookgatev1connect.MessageServiceHandler
	Attempts    hookgatev1connect.AttemptServiceHandler
	Edges       hookgatev1connect.EdgeServiceHandler
	ConfigNodes hookgatev1connect.ConfigDiscoveryServiceHandler
	Params      hookgatev1connect.ConfigParamServiceHandler
}

// ServiceNames lists every service the admin port serves, for health and
// reflection.
var ServiceNames = []string{
	hookgatev1connect.TenantServiceName,
	hookgatev1connect.InboundWebhookServiceName,
	hookgatev1connect.ApplicationServiceName,
	hookgatev1connect.EventTypeServiceName,
	hookgatev1connect.EndpointServiceName,
	hookgatev1connect.MessageServiceName,
	hookgatev1connect.AttemptServiceName,
	hookgatev1connect.EdgeServiceName,
	hookgatev1connect.ConfigDiscoveryServiceName,
	hookgatev1connect.ConfigParamServiceName,
}

// NewHandler is New with the default Config.
func NewHandler(s Services, auth func(http.Handler) http.Handler, checker grpchealth.Checker, opts ...connect.HandlerOption) *http.ServeMux {
	return New(Config{}, s, auth, checker, opts...)
}

// New mounts every service, gRPC health and gRPC reflection on one mux.
// auth wraps the admin services (every service but health, reflection and
// the config stream, which authenticates nodes itself) and runs before a
// body is read; the authorization interceptor (authz.go) then checks every
// call's tenant scope before its handler runs; each unary call is bounded by
// cfg.CallTimeout. checker answers grpc.health.v1; opts apply to every
// service handler. Validate cfg first.
func New(cfg Config, s Services, auth func(http.Handler) http.Handler, checker grpchealth.Checker, opts ...connect.HandlerOption) *http.ServeMux {
	mux := http.NewServeMux()
	admin := &authMux{mux: mux, auth: auth, timeout: cfg.callTimeout()}
	authz := authorizer{}
	if ts, ok := s.Tenants.(tokenScoper); ok {
		authz.tokens = ts
	}
	// Authorization is the outermost interceptor, so nothing runs before it.
	opts = append([]connect.HandlerOption{connect.WithInterceptors(authz)}, opts...)
	admin.Handle(hookgatev1connect.NewTenantServiceHandler(
		or[hookgatev1connect.TenantServiceHandler](s.Tenants, hookgatev1connect.UnimplementedTenantServiceHandler{}), opts...))
	admin.Handle(hookgatev1connect.NewInboundWebhookServiceHandler(
		or[hookgatev1connect.InboundWebhookServiceHandler](s.Webhooks, hookgatev1connect.UnimplementedInboundWebhookServiceHandler{}), opts...))
	admin.Handle(hookgatev1connect.NewApplicationServiceHandler(
		or[hookgatev1connect.ApplicationServiceHandler](s.Apps, hookgatev1connect.UnimplementedApplicationServiceHandler{}), opts...))
	admin.Handle(hookgatev1connect.NewEventTypeServiceHandler(
		or[hookgatev1connect.EventTypeServiceHandler](s.EventTypes, hookgatev1connect.UnimplementedEventTypeServiceHandler{}), opts...))
	admin.Handle(hookgatev1connect.NewEndpointServiceHandler(
		or[hookgatev1connect.EndpointServiceHandler](s.Endpoints, hookgatev1connect.UnimplementedEndpointServiceHandler{}), opts...))
	admin.Handle(hookgatev1connect.NewMessageServiceHandler(
		or[hookgatev1connect.MessageServiceHandler](s.Messages, hookgatev1connect.UnimplementedMessageServiceHandler{}), opts...))
	admin.Handle(hookgatev1connect.NewAttemptServiceHandler(
		or[hookgatev1connect.AttemptServiceHandler](s.Attempts, hookgatev1connect.UnimplementedAttemptServiceHandler{}), opts...))
	admin.Handle(hookgatev1connect.NewEdgeServiceHandler(
		or[hookgatev1connect.EdgeServiceHandler](s.Edges, hookgatev1connect.UnimplementedEdgeServiceHandler{}), opts...))
	admin.Handle(hookgatev1connect.NewConfigParamServiceHandler(
		or[hookgatev1connect.ConfigParamServiceHandler](s.Params, hookgatev1connect.UnimplementedConfigParamServiceHandler{}), opts...))
	// Nodes authenticate in the handler; the interceptor refuses admin tokens.
	mux.Handle(hookgatev1connect.NewConfigDiscoveryServiceHandler(
		or[hookgatev1connect.ConfigDiscoveryServiceHandler](s.ConfigNodes, hookgatev1connect.UnimplementedConfigDiscoveryServiceHandler{}), opts...))

	mux.Handle(grpchealth.NewHandler(checker))
	reflector := grpcreflect.NewStaticReflector(ServiceNames...)
	mux.Handle(grpcreflect.NewHandlerV1(reflector))
	mux.Handle(grpcreflect.NewHandlerV1Alpha(reflector))
	return mux
}

// or returns impl unless it is nil, else fallback.
func or[T any](impl, fallback T) T {
	if any(impl) == nil {
		return fallback
	}
	return impl
}

// authMux mounts handlers behind the call deadline and the
// authentication middleware.
type authMux struct {
	mux     *http.ServeMux
	auth    func(http.Handler) http.Handler
	timeout time.Duration
}

func (a *authMux) Handle(pattern string, h http.Handler) {
	a.mux.Handle(pattern, withCallDeadline(a.timeout, a.auth(h)))
}
