package admin

import (
	"context"
	"log/slog"
	"maps"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"connectrpc.com/connect"
	"github.com/hookgate/hookgate/controlplane/secrets"
	"github.com/hookgate/hookgate/controlplane/store"
	storagev1 "github.com/hookgate/hookgate/gen/hookgate/storage/v1"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/gen/hookgate/v1/hookgatev1connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Limits of applications (docs/design.md lists them).
const (
	maxAppName       = 256
	maxMetadata      = 32
	maxMetadataKey   = 64
	maxMetadataValue = 512
)

var (
	appID = regexp.MustCompile(`^app_[0-9a-z]{1,64}$`)
	// appUID is the tenant's own id for a customer (Svix's uid rule).
	appUID      = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,256}$`)
	metadataKey = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
)

// AppService implements hookgatev1connect.ApplicationServiceHandler.
type AppService struct {
	hookgatev1connect.UnimplementedApplicationServiceHandler
	store *store.Store
	clock Clock
	log   *slog.Logger
}

var _ hookgatev1connect.ApplicationServiceHandler = (*AppService)(nil)

// NewAppService returns the application API.
func NewAppService(st *store.Store, clock Clock, log *slog.Logger) *AppService {
	return &AppService{store: st, clock: clock, log: log}
}

// CreateApplication implements hookgatev1connect.ApplicationServiceHandler.
func (s *AppService) CreateApplication(ctx context.Context, req *connect.Request[hookgatev1.CreateApplicationRequest]) (*connect.Response[hookgatev1.CreateApplicationResponse], error) {
	in := req.Msg.GetApplication()
	if in == nil {
		return nil, invalid("application", "is required")
	}
	if err := validateTenantSlug("application.tenant", in.Tenant); err != nil {
		return nil, err
	}
	now := timestamppb.New(s.clock.Now())
	a := &hookgatev1.Application{
		Id:                 secrets.NewID("app_"),
		Tenant:             in.Tenant,
		Name:               in.Name,
		Uid:                in.Uid,
		Metadata:           in.Metadata,
		RateLimitPerSecond: in.RateLimitPerSecond,
		CreateTime:         now,
		UpdateTime:         now,
	}
	for _, f := range []string{"name", "uid", "metadata", "rate_limit_per_second"} {
		if err := validateAppField(f, a); err != nil {
			return nil, err
		}
	}
	rec := &storagev1.ApplicationRecord{Application: a}
	rev, err := s.store.CreateApp(ctx, rec)
	if err != nil {
		return nil, toConnect(ctx, s.log, err)
	}
	s.log.InfoContext(ctx, "application created", "tenant", a.Tenant, "app_id", a.Id)
	return connect.NewResponse(&hookgatev1.CreateApplicationResponse{Application: appPublic(rec, rev)}), nil
}

// GetApplication implements hookgatev1connect.ApplicationServiceHandler.
func (s *AppService) GetApplication(ctx context.Context, req *connect.Request[hookgatev1.GetApplicationRequest]) (*connect.Response[hookgatev1.GetApplicationResponse], error) {
	if err := validateAppRef("application_id", req.Msg.GetTenant(), req.Msg.GetApplicationId()); err != nil {
		return nil, err
	}
	rec, rev, err := s.store.App(ctx, req.Msg.GetTenant(), req.Msg.GetApplicationId())
	if err != nil {
		return nil, toConnect(ctx, s.log, err)
	}
	return connect.NewResponse(&hookgatev1.GetApplicationResponse{Application: appPublic(rec, rev)}), nil
}

// ListApplications implements hookgatev1connect.ApplicationServiceHandler.
func (s *AppService) ListApplications(ctx context.Context, req *connect.Request[hookgatev1.ListApplicationsRequest]) (*connect.Response[hookgatev1.ListApplicationsResponse], error) {
	m := req.Msg
	if err := validateTenantSlug("tenant", m.GetTenant()); err != nil {
		return nil, err
	}
	page, err := pageOf(m.GetPageSize(), m.GetPageToken())
	if err != nil {
		return nil, err
	}
	items, next, err := s.store.ListApps(ctx, m.GetTenant(), page)
	if err != nil {
		return nil, toConnect(ctx, s.log, err)
	}
	out := make([]*hookgatev1.Application, 0, len(items))
	for _, it := range items {
		out = append(out, appPublic(it.Record, it.Revision))
	}
	return connect.NewResponse(&hookgatev1.ListApplicationsResponse{Applications: out, NextPageToken: next}), nil
}

// appUpdatable lists the update_mask paths UpdateApplication accepts.
var appUpdatable = []string{"name", "uid", "metadata", "rate_limit_per_second"}

// UpdateApplication implements hookgatev1connect.ApplicationServiceHandler.
func (s *AppService) UpdateApplication(ctx context.Context, req *connect.Request[hookgatev1.UpdateApplicationRequest]) (*connect.Response[hookgatev1.UpdateApplicationResponse], error) {
	in := req.Msg.GetApplication()
	if in == nil {
		return nil, invalid("application", "is required")
	}
	if err := validateAppRef("application.id", in.Tenant, in.Id); err != nil {
		return nil, err
	}
	paths, err := maskPaths(req.Msg.GetUpdateMask().GetPaths(), appUpdatable)
	if err != nil {
		return nil, err
	}
	for _, p := range paths {
		if err := validateAppField(p, in); err != nil {
			return nil, err
		}
	}
	ifRev, err := etagOf("application.etag", in.Etag)
	if err != nil {
		return nil, err
	}
	rec, rev, err := s.store.UpdateApp(ctx, in.Tenant, in.Id, ifRev, func(rec *storagev1.ApplicationRecord) error {
		a := rec.Application
		for _, p := range paths {
			switch p {
			case "name":
				a.Name = in.Name
			case "uid":
				a.Uid = in.Uid
			case "metadata":
				a.Metadata = in.Metadata
			case "rate_limit_per_second":
				a.RateLimitPerSecond = in.RateLimitPerSecond
			}
		}
		a.UpdateTime = timestamppb.New(s.clock.Now())
		return nil
	})
	if err != nil {
		return nil, toConnect(ctx, s.log, err)
	}
	s.log.InfoContext(ctx, "application updated", "tenant", in.Tenant, "app_id", in.Id, "fields", strings.Join(paths, ","))
	return connect.NewResponse(&hookgatev1.UpdateApplicationResponse{Application: appPublic(rec, rev)}), nil
}

// DeleteApplication implements hookgatev1connect.ApplicationServiceHandler.
// Its endpoints go with it, in the same transaction.
func (s *AppService) DeleteApplication(ctx context.Context, req *connect.Request[hookgatev1.DeleteApplicationRequest]) (*connect.Response[hookgatev1.DeleteApplicationResponse], error) {
	m := req.Msg
	if err := validateAppRef("application_id", m.GetTenant(), m.GetApplicationId()); err != nil {
		return nil, err
	}
	ifRev, err := etagOf("etag", m.GetEtag())
	if err != nil {
		return nil, err
	}
	if err := s.store.DeleteApp(ctx, m.GetTenant(), m.GetApplicationId(), ifRev); err != nil {
		return nil, toConnect(ctx, s.log, err)
	}
	s.log.InfoContext(ctx, "application deleted", "tenant", m.GetTenant(), "app_id", m.GetApplicationId())
	return connect.NewResponse(&hookgatev1.DeleteApplicationResponse{}), nil
}

// maskPaths checks an update mask against the updatable paths.
func maskPaths(paths, updatable []string) ([]string, error) {
	if len(paths) == 0 {
		return nil, invalid("update_mask", "name at least one field: %s", strings.Join(updatable, ", "))
	}
	for _, p := range paths {
		if !slices.Contains(updatable, p) {
			return nil, invalid("update_mask", "field %q cannot be updated; updatable: %s", p, strings.Join(updatable, ", "))
		}
	}
	return paths, nil
}

func validateAppRef(idField, tenant, id string) error {
	if err := validateTenantSlug("tenant", tenant); err != nil {
		return err
	}
	return validateAppID(idField, id)
}

func validateAppID(field, id string) error {
	if !appID.MatchString(id) {
		return invalid(field, "%q is not an application id (app_…)", id)
	}
	return nil
}

// validateAppField checks one field of an application.
func validateAppField(field string, a *hookgatev1.Application) error {
	switch field {
	case "name":
		if !utf8.ValidString(a.Name) {
			return invalid("application.name", "must be UTF-8")
		}
		if n := utf8.RuneCountInString(strings.TrimSpace(a.Name)); n == 0 || n > maxAppName {
			return invalid("application.name", "must be 1–%d characters", maxAppName)
		}
	case "uid":
		if a.Uid != "" && !appUID.MatchString(a.Uid) {
			return invalid("application.uid", "must be 1–256 characters of A-Z, a-z, 0-9 and _ . -")
		}
		if strings.HasPrefix(a.Uid, "app_") {
			return invalid("application.uid", "must not start with \"app_\", which is how application ids start")
		}
	case "metadata":
		return validateMetadata(a.Metadata)
	case "rate_limit_per_second":
		if a.RateLimitPerSecond < 0 || a.RateLimitPerSecond > maxRate {
			return invalid("application.rate_limit_per_second", "must be 0 to %d", maxRate)
		}
	}
	return nil
}

func validateMetadata(md map[string]string) error {
	if len(md) > maxMetadata {
		return invalid("application.metadata", "at most %d entries, got %d", maxMetadata, len(md))
	}
	for _, k := range slices.Sorted(maps.Keys(md)) {
		if !metadataKey.MatchString(k) {
			return invalid("application.metadata", "key %q must be 1–%d characters of A-Z, a-z, 0-9 and _ . -", k, maxMetadataKey)
		}
		v := md[k]
		if !utf8.ValidString(v) || utf8.RuneCountInString(v) > maxMetadataValue {
			return invalid("application.metadata", "value of %q must be UTF-8 of at most %d characters", k, maxMetadataValue)
		}
	}
	return nil
}

// appPublic is the API view of a record, with its etag.
func appPublic(rec *storagev1.ApplicationRecord, rev int64) *hookgatev1.Application {
	a := proto.CloneOf(rec.GetApplication())
	a.Etag = strconvRev(rev)
	return a
}
