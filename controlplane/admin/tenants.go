package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"connectrpc.com/connect"
	"github.com/hookgate/hookgate/controlplane/secrets"
	"github.com/hookgate/hookgate/controlplane/store"
	storagev1 "github.com/hookgate/hookgate/gen/hookgate/storage/v1"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/gen/hookgate/v1/hookgatev1connect"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Clock tells the time; tests pass a fake they advance.
type Clock interface {
	Now() time.Time
}

// TenantService implements hookgatev1connect.TenantServiceHandler.
type TenantService struct {
	store *store.Store
	clock Clock
	log   *slog.Logger
}

var _ hookgatev1connect.TenantServiceHandler = (*TenantService)(nil)

// NewTenantService returns the tenant and admin-token API.
func NewTenantService(st *store.Store, clock Clock, log *slog.Logger) *TenantService {
	return &TenantService{store: st, clock: clock, log: log}
}

// CreateTenant implements hookgatev1connect.TenantServiceHandler.
func (s *TenantService) CreateTenant(ctx context.Context, req *connect.Request[hookgatev1.CreateTenantRequest]) (*connect.Response[hookgatev1.CreateTenantResponse], error) {
	in := req.Msg.GetTenant()
	if in == nil {
		return nil, invalid("tenant", "is required")
	}
	if err := validateTenantSlug("tenant.id", in.Id); err != nil {
		return nil, err
	}
	if err := validateDescription("tenant.display_name", in.DisplayName); err != nil {
		return nil, err
	}
	if in.OpsAppId != "" {
		return nil, invalid("tenant.ops_app_id", "set it with UpdateTenant once the application exists")
	}
	if in.RetrySchedule != nil {
		if err := validateRetrySchedule(in.RetrySchedule); err != nil {
			return nil, err
		}
	}
	now := timestamppb.New(s.clock.Now())
	t, err := s.store.CreateTenant(ctx, &hookgatev1.Tenant{
		Id:                      in.Id,
		DisplayName:             in.DisplayName,
		AllowHttpEndpoints:      in.AllowHttpEndpoints,
		AllowEndpointSecretRead: in.AllowEndpointSecretRead,
		RetrySchedule:           in.RetrySchedule,
		CreateTime:              now,
		UpdateTime:              now,
	})
	if err != nil {
		return nil, toConnect(ctx, s.log, err)
	}
	return connect.NewResponse(&hookgatev1.CreateTenantResponse{Tenant: t}), nil
}

// GetTenant implements hookgatev1connect.TenantServiceHandler.
func (s *TenantService) GetTenant(ctx context.Context, req *connect.Request[hookgatev1.GetTenantRequest]) (*connect.Response[hookgatev1.GetTenantResponse], error) {
	if err := validateTenantSlug("tenant", req.Msg.GetTenant()); err != nil {
		return nil, err
	}
	t, err := s.store.Tenant(ctx, req.Msg.GetTenant())
	if err != nil {
		return nil, toConnect(ctx, s.log, err)
	}
	return connect.NewResponse(&hookgatev1.GetTenantResponse{Tenant: t}), nil
}

// ListTenants implements hookgatev1connect.TenantServiceHandler. A tenant
// token sees only its own tenant (the method's scope is the caller's).
func (s *TenantService) ListTenants(ctx context.Context, req *connect.Request[hookgatev1.ListTenantsRequest]) (*connect.Response[hookgatev1.ListTenantsResponse], error) {
	page, err := pageOf(req.Msg.GetPageSize(), req.Msg.GetPageToken())
	if err != nil {
		return nil, err
	}
	p, _ := PrincipalFrom(ctx)
	if !p.Platform() {
		t, err := s.store.Tenant(ctx, p.Tenant)
		if err != nil {
			return nil, toConnect(ctx, s.log, err)
		}
		return connect.NewResponse(&hookgatev1.ListTenantsResponse{Tenants: []*hookgatev1.Tenant{t}}), nil
	}
	ts, next, err := s.store.ListTenants(ctx, page)
	if err != nil {
		return nil, toConnect(ctx, s.log, err)
	}
	return connect.NewResponse(&hookgatev1.ListTenantsResponse{Tenants: ts, NextPageToken: next}), nil
}

// UpdateTenant implements hookgatev1connect.TenantServiceHandler. A tenant
// token may change its display name; only a platform token may allow plain
// HTTP endpoints (declared in the interceptor's scope table).
func (s *TenantService) UpdateTenant(ctx context.Context, req *connect.Request[hookgatev1.UpdateTenantRequest]) (*connect.Response[hookgatev1.UpdateTenantResponse], error) {
	in := req.Msg.GetTenant()
	if in == nil {
		return nil, invalid("tenant", "is required")
	}
	if err := validateTenantSlug("tenant.id", in.Id); err != nil {
		return nil, err
	}
	paths := req.Msg.GetUpdateMask().GetPaths()
	if len(paths) == 0 {
		return nil, invalid("update_mask", "name at least one field: display_name, allow_http_endpoints, allow_endpoint_secret_read, retry_schedule, ops_app_id")
	}
	for _, path := range paths {
		switch path {
		case "display_name":
			if err := validateDescription("tenant.display_name", in.DisplayName); err != nil {
				return nil, err
			}
		case "allow_http_endpoints":
			// Platform tokens only: the authorization interceptor checks it.
		case "allow_endpoint_secret_read":
		case "retry_schedule":
			if err := validateRetrySchedule(in.RetrySchedule); err != nil {
				return nil, err
			}
		case "ops_app_id":
			if err := s.validateOpsApp(ctx, in.Id, in.OpsAppId); err != nil {
				return nil, err
			}
		default:
			return nil, invalid("update_mask", "field %q cannot be updated", path)
		}
	}
	rev, err := etagOf("tenant.etag", in.Etag)
	if err != nil {
		return nil, err
	}
	t, err := s.store.UpdateTenant(ctx, in.Id, rev, func(t *hookgatev1.Tenant) error {
		for _, path := range paths {
			switch path {
			case "display_name":
				t.DisplayName = in.DisplayName
			case "allow_http_endpoints":
				t.AllowHttpEndpoints = in.AllowHttpEndpoints
			case "allow_endpoint_secret_read":
				t.AllowEndpointSecretRead = in.AllowEndpointSecretRead
			case "retry_schedule":
				t.RetrySchedule = in.RetrySchedule
			case "ops_app_id":
				t.OpsAppId = in.OpsAppId
			}
		}
		t.UpdateTime = timestamppb.New(s.clock.Now())
		return nil
	})
	if err != nil {
		return nil, toConnect(ctx, s.log, err)
	}
	return connect.NewResponse(&hookgatev1.UpdateTenantResponse{Tenant: t}), nil
}

// validateOpsApp checks that id, unless empty (no operational application),
// names an application of tenant. The check is not in the tenant's
// transaction: an application deleted meanwhile is skipped by the forwarder
// (see OpsForwarder).
func (s *TenantService) validateOpsApp(ctx context.Context, tenant, id string) error {
	if id == "" {
		return nil
	}
	if err := validateAppID("tenant.ops_app_id", id); err != nil {
		return err
	}
	_, _, err := s.store.App(ctx, tenant, id)
	if errors.Is(err, store.ErrNotFound) {
		return connect.NewError(connect.CodeFailedPrecondition, fmt.Errorf("tenant.ops_app_id: tenant %s has no application %s", tenant, id))
	}
	if err != nil {
		return toConnect(ctx, s.log, err)
	}
	return nil
}

// DeleteTenant implements hookgatev1connect.TenantServiceHandler.
func (s *TenantService) DeleteTenant(ctx context.Context, req *connect.Request[hookgatev1.DeleteTenantRequest]) (*connect.Response[hookgatev1.DeleteTenantResponse], error) {
	if err := validateTenantSlug("tenant", req.Msg.GetTenant()); err != nil {
		return nil, err
	}
	rev, err := etagOf("etag", req.Msg.GetEtag())
	if err != nil {
		return nil, err
	}
	if err := s.store.DeleteTenant(ctx, req.Msg.GetTenant(), rev); err != nil {
		return nil, toConnect(ctx, s.log, err)
	}
	return connect.NewResponse(&hookgatev1.DeleteTenantResponse{}), nil
}

// CreateAdminToken implements hookgatev1connect.TenantServiceHandler.
func (s *TenantService) CreateAdminToken(ctx context.Context, req *connect.Request[hookgatev1.CreateAdminTokenRequest]) (*connect.Response[hookgatev1.CreateAdminTokenResponse], error) {
	tenant := req.Msg.GetTenant()
	if err := validateTokenScope(tenant); err != nil {
		return nil, err
	}
	if err := validateDescription("description", req.Msg.GetDescription()); err != nil {
		return nil, err
	}
	kind, prefix := req.Msg.GetKind(), secrets.AdminTokenPrefix
	switch kind {
	case hookgatev1.AdminTokenKind_ADMIN_TOKEN_KIND_UNSPECIFIED, hookgatev1.AdminTokenKind_ADMIN_TOKEN_KIND_ADMIN:
		kind = hookgatev1.AdminTokenKind_ADMIN_TOKEN_KIND_ADMIN
	case hookgatev1.AdminTokenKind_ADMIN_TOKEN_KIND_PRODUCER:
		if tenant == "" {
			return nil, invalid("tenant", "is required for a producer token: it sends messages for one tenant")
		}
		prefix = secrets.ProducerTokenPrefix
	default:
		return nil, invalid("kind", "%d is not a token kind", kind)
	}
	secret := secrets.NewSecret(prefix)
	rec := &storagev1.TokenRecord{
		Token: &hookgatev1.AdminToken{
			Id:          secrets.NewID("tok_"),
			Tenant:      tenant,
			Description: req.Msg.GetDescription(),
			Prefix:      secret.Prefix(8),
			CreateTime:  timestamppb.New(s.clock.Now()),
			Kind:        kind,
		},
		Sha256: secret.Digest(),
	}
	if err := s.store.CreateToken(ctx, rec); err != nil {
		return nil, toConnect(ctx, s.log, err)
	}
	return connect.NewResponse(&hookgatev1.CreateAdminTokenResponse{AdminToken: rec.Token, Token: secret.Reveal()}), nil
}

// ListAdminTokens implements hookgatev1connect.TenantServiceHandler.
func (s *TenantService) ListAdminTokens(ctx context.Context, req *connect.Request[hookgatev1.ListAdminTokensRequest]) (*connect.Response[hookgatev1.ListAdminTokensResponse], error) {
	tenant := req.Msg.GetTenant()
	if err := validateTokenScope(tenant); err != nil {
		return nil, err
	}
	page, err := pageOf(req.Msg.GetPageSize(), req.Msg.GetPageToken())
	if err != nil {
		return nil, err
	}
	recs, next, err := s.store.ListTokens(ctx, tenant, page)
	if err != nil {
		return nil, toConnect(ctx, s.log, err)
	}
	out := make([]*hookgatev1.AdminToken, 0, len(recs))
	for _, r := range recs {
		out = append(out, r.GetToken())
	}
	return connect.NewResponse(&hookgatev1.ListAdminTokensResponse{AdminTokens: out, NextPageToken: next}), nil
}

// RevokeAdminToken implements hookgatev1connect.TenantServiceHandler. The
// interceptor answers NotFound for another tenant's token, so a tenant
// token cannot tell it from a missing one.
func (s *TenantService) RevokeAdminToken(ctx context.Context, req *connect.Request[hookgatev1.RevokeAdminTokenRequest]) (*connect.Response[hookgatev1.RevokeAdminTokenResponse], error) {
	id := req.Msg.GetId()
	if id == "" {
		return nil, invalid("id", "is required")
	}
	rec, err := s.store.Token(ctx, id)
	if err == nil {
		err = s.store.DeleteToken(ctx, rec)
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, tokenNotFound(id)
	}
	if err != nil {
		return nil, toConnect(ctx, s.log, err)
	}
	return connect.NewResponse(&hookgatev1.RevokeAdminTokenResponse{}), nil
}

// validateTokenScope checks a token scope: a tenant slug, or "" for
// platform tokens.
func validateTokenScope(tenant string) error {
	if tenant == "" {
		return nil
	}
	return validateTenantSlug("tenant", tenant)
}

// tokenTenant implements tokenScoper for the authorization interceptor.
func (s *TenantService) tokenTenant(ctx context.Context, id string) (string, error) {
	tenant, err := s.store.TokenTenant(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return "", tokenNotFound(id)
	}
	if err != nil {
		return "", toConnect(ctx, s.log, err)
	}
	return tenant, nil
}
