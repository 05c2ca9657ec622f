package admin

import (
	"context"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"regexp"

	"connectrpc.com/connect"
	"github.com/hookgate/hookgate/controlplane/secrets"
	"github.com/hookgate/hookgate/controlplane/store"
	storagev1 "github.com/hookgate/hookgate/gen/hookgate/storage/v1"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/gen/hookgate/v1/hookgatev1connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// paramName is a config parameter's name, as references spell it.
var paramName = regexp.MustCompile(`^[a-z0-9_]{1,64}$`)

// ConfigParamService implements hookgatev1connect.ConfigParamServiceHandler:
// a tenant's named, write-only, encrypted values that provider secrets
// refer to as ${configParam.NAME}.
type ConfigParamService struct {
	store   *store.Store
	keyring *secrets.Keyring
	clock   Clock
	log     *slog.Logger
}

var _ hookgatev1connect.ConfigParamServiceHandler = (*ConfigParamService)(nil)

// NewConfigParamService returns the config parameter API.
func NewConfigParamService(st *store.Store, keyring *secrets.Keyring, clock Clock, log *slog.Logger) *ConfigParamService {
	return &ConfigParamService{store: st, keyring: keyring, clock: clock, log: log}
}

func validateParamName(name string) error {
	if !paramName.MatchString(name) {
		return invalid("name", "%q must be 1–64 characters of a-z, 0-9 and '_'", name)
	}
	return nil
}

// SetConfigParam implements hookgatev1connect.ConfigParamServiceHandler.
// A changed value moves the old one to previous for DefaultGracePeriod, so
// webhooks that refer to the parameter accept both meanwhile; setting the
// value it already has changes nothing but the update time.
func (s *ConfigParamService) SetConfigParam(ctx context.Context, req *connect.Request[hookgatev1.SetConfigParamRequest]) (*connect.Response[hookgatev1.SetConfigParamResponse], error) {
	m := req.Msg
	if err := validateTenantSlug("tenant", m.GetTenant()); err != nil {
		return nil, err
	}
	if err := validateParamName(m.GetName()); err != nil {
		return nil, err
	}
	if err := validateSecretValue("value", m.GetName(), m.GetValue()); err != nil {
		return nil, err
	}
	tenant, name := m.GetTenant(), m.GetName()
	aad := store.ParamAAD(tenant, name)
	rec, _, err := s.store.SetConfigParam(ctx, tenant, name, func(old *storagev1.ConfigParamRecord) (*storagev1.ConfigParamRecord, error) {
		now := s.clock.Now()
		if old == nil {
			return &storagev1.ConfigParamRecord{
				Param: &hookgatev1.ConfigParam{Tenant: tenant, Name: name, CreateTime: timestamppb.New(now), UpdateTime: timestamppb.New(now)},
				Value: ciphertextOf(s.keyring.Seal([]byte(m.GetValue()), aad)),
			}, nil
		}
		rec := proto.CloneOf(old)
		rec.Param.UpdateTime = timestamppb.New(now)
		plain, err := s.keyring.Open(sealedOf(old.GetValue()), aad)
		if err != nil {
			return nil, fmt.Errorf("open config parameter %s: %w", name, err)
		}
		if subtle.ConstantTimeCompare(plain, []byte(m.GetValue())) == 1 {
			return rec, nil
		}
		rec.PreviousValue = old.GetValue()
		rec.PreviousExpireTime = timestamppb.New(now.Add(DefaultGracePeriod))
		rec.Value = ciphertextOf(s.keyring.Seal([]byte(m.GetValue()), aad))
		return rec, nil
	})
	if err != nil {
		return nil, toConnect(ctx, s.log, err)
	}
	s.log.InfoContext(ctx, "config parameter set", "tenant", tenant, "param", name)
	return connect.NewResponse(&hookgatev1.SetConfigParamResponse{ConfigParam: rec.GetParam()}), nil
}

// ListConfigParams implements hookgatev1connect.ConfigParamServiceHandler:
// names and times only, never values.
func (s *ConfigParamService) ListConfigParams(ctx context.Context, req *connect.Request[hookgatev1.ListConfigParamsRequest]) (*connect.Response[hookgatev1.ListConfigParamsResponse], error) {
	m := req.Msg
	if err := validateTenantSlug("tenant", m.GetTenant()); err != nil {
		return nil, err
	}
	page, err := pageOf(m.GetPageSize(), m.GetPageToken())
	if err != nil {
		return nil, err
	}
	if _, err := s.store.Tenant(ctx, m.GetTenant()); err != nil {
		return nil, toConnect(ctx, s.log, err)
	}
	items, next, err := s.store.ListConfigParams(ctx, m.GetTenant(), page)
	if err != nil {
		return nil, toConnect(ctx, s.log, err)
	}
	out := make([]*hookgatev1.ConfigParam, 0, len(items))
	for _, it := range items {
		out = append(out, it.Record.GetParam())
	}
	return connect.NewResponse(&hookgatev1.ListConfigParamsResponse{ConfigParams: out, NextPageToken: next}), nil
}

// DeleteConfigParam implements hookgatev1connect.ConfigParamServiceHandler.
// A parameter a webhook refers to is FailedPrecondition naming the webhook.
func (s *ConfigParamService) DeleteConfigParam(ctx context.Context, req *connect.Request[hookgatev1.DeleteConfigParamRequest]) (*connect.Response[hookgatev1.DeleteConfigParamResponse], error) {
	m := req.Msg
	if err := validateTenantSlug("tenant", m.GetTenant()); err != nil {
		return nil, err
	}
	if err := validateParamName(m.GetName()); err != nil {
		return nil, err
	}
	if err := s.store.DeleteConfigParam(ctx, m.GetTenant(), m.GetName()); err != nil {
		return nil, toConnect(ctx, s.log, err)
	}
	s.log.InfoContext(ctx, "config parameter deleted", "tenant", m.GetTenant(), "param", m.GetName())
	return connect.NewResponse(&hookgatev1.DeleteConfigParamResponse{}), nil
}
