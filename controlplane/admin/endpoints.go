package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"net/textproto"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"connectrpc.com/connect"
	"github.com/hookgate/hookgate/controlplane/secrets"
	"github.com/hookgate/hookgate/controlplane/store"
	storagev1 "github.com/hookgate/hookgate/gen/hookgate/storage/v1"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/gen/hookgate/v1/hookgatev1connect"
	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Limits of endpoints (docs/design.md lists them).
const (
	DefaultEndpointTimeoutMS = 5000
	maxEndpointTimeoutMS     = 30000
	minEndpointTimeoutMS     = 100
	maxEndpointURL           = 2048
	maxEndpointName          = 128
	maxEndpointEventTypes    = 64
	maxEndpointHeaders       = 32
	maxHeaderValue           = 4096
	maxInFlight              = 10_000
	// signingSecretBytes is the size of a generated signing secret.
	signingSecretBytes = 32
	// SigningSecretPrefix starts a Standard Webhooks signing secret.
	SigningSecretPrefix = "whsec_"
	// Redacted stands for a write-only header value in reads.
	Redacted = "REDACTED"
	// signingAAD names the signing secrets in EndpointSecretAAD.
	signingAAD = "signing"
)

var endpointID = regexp.MustCompile(`^ep_[0-9a-z]{1,64}$`)

// headerToken is an RFC 9110 field name (a token).
var headerToken = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$")

// refusedHeaders are header names an endpoint may not set: hop-by-hop
// headers (RFC 9110 7.6.1), what the dispatcher writes itself, and
// anything of the Standard Webhooks scheme (webhook-*, checked apart).
var refusedHeaders = []string{
	"Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Proxy-Connection",
	"Te", "Trailer", "Transfer-Encoding", "Upgrade",
	"Host", "Content-Length", "Content-Type", "Content-Encoding", "User-Agent",
}

// sealedHeaders are write-only header values, sealed in the record and
// shown as Redacted.
var sealedHeaders = []string{"Authorization"}

// EndpointService implements hookgatev1connect.EndpointServiceHandler.
type EndpointService struct {
	hookgatev1connect.UnimplementedEndpointServiceHandler
	store   *store.Store
	keyring *secrets.Keyring
	clock   Clock
	log     *slog.Logger
	// health reads and resets endpoint health and purges a deleted
	// endpoint's attempts (health.go); set with WithEndpointOps.
	health *healthStore
	// ops publishes endpoint.enabled and endpoint.disabled; nil publishes
	// nothing.
	ops *nats.Conn
	// tests sends SendTestPing and SendExample (WithTestSends); nil
	// answers Unavailable.
	tests replayer
}

var _ hookgatev1connect.EndpointServiceHandler = (*EndpointService)(nil)

// EndpointOption sets an optional knob of the EndpointService.
type EndpointOption func(*EndpointService)

// WithEndpointOps makes EnableEndpoint and DisableEndpoint publish the
// operational events hookgate.ops.{tenant}.endpoint.enabled and
// .endpoint.disabled (reason manual) on nc, core NATS, fire and forget,
// after the store accepted a change of status. Without it nothing is
// published. Over the same connection the service reads endpoint health
// (HOOKGATE_HEALTH), resets it on EnableEndpoint, and purges a deleted
// endpoint's attempts and health.
func WithEndpointOps(nc *nats.Conn) EndpointOption {
	return func(s *EndpointService) { s.ops, s.health = nc, newHealthStore(nc) }
}

// NewEndpointService returns the endpoint API.
func NewEndpointService(st *store.Store, keyring *secrets.Keyring, clock Clock, log *slog.Logger, opts ...EndpointOption) *EndpointService {
	s := &EndpointService{store: st, keyring: keyring, clock: clock, log: log}
	for _, o := range opts {
		o(s)
	}
	return s
}

// CreateEndpoint implements hookgatev1connect.EndpointServiceHandler. The
// signing secret is returned here and by rotation only.
func (s *EndpointService) CreateEndpoint(ctx context.Context, req *connect.Request[hookgatev1.CreateEndpointRequest]) (*connect.Response[hookgatev1.CreateEndpointResponse], error) {
	in := req.Msg.GetEndpoint()
	if in == nil {
		return nil, invalid("endpoint", "is required")
	}
	if err := validateTenantSlug("endpoint.tenant", in.Tenant); err != nil {
		return nil, err
	}
	if err := validateAppID("endpoint.application_id", in.ApplicationId); err != nil {
		return nil, err
	}
	now := timestamppb.New(s.clock.Now())
	ep := &hookgatev1.Endpoint{
		Id:                 secrets.NewID("ep_"),
		Tenant:             in.Tenant,
		ApplicationId:      in.ApplicationId,
		Url:                in.Url,
		Name:               in.Name,
		Description:        in.Description,
		EventTypes:         in.EventTypes,
		RateLimitPerSecond: in.RateLimitPerSecond,
		Burst:              in.Burst,
		MaxInFlight:        in.MaxInFlight,
		TimeoutMs:          in.TimeoutMs,
		Status:             hookgatev1.EndpointStatus_ENDPOINT_STATUS_ENABLED,
		CreateTime:         now,
		UpdateTime:         now,
		SecretCreateTime:   now,
	}
	if ep.TimeoutMs == 0 {
		ep.TimeoutMs = DefaultEndpointTimeoutMS
	}
	for _, f := range []string{"name", "description", "event_types", "rate_limit_per_second", "burst", "max_in_flight", "timeout_ms"} {
		if err := validateEndpointField(f, ep); err != nil {
			return nil, err
		}
	}
	headers, err := normalizeHeaders(in.Headers)
	if err != nil {
		return nil, err
	}
	scheme, err := signatureScheme("endpoint.signature_scheme", in.SignatureScheme, hookgatev1.SignatureScheme_SIGNATURE_SCHEME_HMAC_SHA256)
	if err != nil {
		return nil, err
	}
	key := newSigningKey(scheme)
	if given := req.Msg.GetSecret(); given != "" {
		if key, err = parseSigningKey("secret", scheme, given); err != nil {
			return nil, err
		}
	}
	key.apply(ep)
	tenant, err := s.store.Tenant(ctx, ep.Tenant)
	if err != nil {
		return nil, toConnect(ctx, s.log, err)
	}
	if err := validateEndpointURL(ep.Url, tenant.GetAllowHttpEndpoints()); err != nil {
		return nil, err
	}
	rec := &storagev1.EndpointRecord{Endpoint: ep, Secret: s.sealSigning(ep, key.secret)}
	s.setHeaders(rec, headers)
	rev, err := s.store.CreateEndpoint(ctx, rec)
	if err != nil {
		return nil, toConnect(ctx, s.log, err)
	}
	s.log.InfoContext(ctx, "endpoint created", "tenant", ep.Tenant, "app_id", ep.ApplicationId, "endpoint_id", ep.Id, "signature_scheme", scheme.String())
	return connect.NewResponse(&hookgatev1.CreateEndpointResponse{Endpoint: endpointPublic(rec, rev), Secret: key.secret}), nil
}

// GetEndpoint implements hookgatev1connect.EndpointServiceHandler.
func (s *EndpointService) GetEndpoint(ctx context.Context, req *connect.Request[hookgatev1.GetEndpointRequest]) (*connect.Response[hookgatev1.GetEndpointResponse], error) {
	rec, rev, err := s.read(ctx, req.Msg.GetTenant(), req.Msg.GetEndpointId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&hookgatev1.GetEndpointResponse{Endpoint: s.withHealth(ctx, endpointPublic(rec, rev))}), nil
}

// ListEndpoints implements hookgatev1connect.EndpointServiceHandler: a
// tenant's endpoints, or one application's.
func (s *EndpointService) ListEndpoints(ctx context.Context, req *connect.Request[hookgatev1.ListEndpointsRequest]) (*connect.Response[hookgatev1.ListEndpointsResponse], error) {
	m := req.Msg
	if err := validateTenantSlug("tenant", m.GetTenant()); err != nil {
		return nil, err
	}
	if m.GetApplicationId() != "" {
		if err := validateAppID("application_id", m.GetApplicationId()); err != nil {
			return nil, err
		}
	}
	page, err := pageOf(m.GetPageSize(), m.GetPageToken())
	if err != nil {
		return nil, err
	}
	items, next, err := s.store.ListEndpoints(ctx, m.GetTenant(), m.GetApplicationId(), page)
	if err != nil {
		return nil, toConnect(ctx, s.log, err)
	}
	out := make([]*hookgatev1.Endpoint, 0, len(items))
	for _, it := range items {
		out = append(out, s.withHealth(ctx, endpointPublic(it.Record, it.Revision)))
	}
	return connect.NewResponse(&hookgatev1.ListEndpointsResponse{Endpoints: out, NextPageToken: next}), nil
}

// endpointUpdatable lists the update_mask paths UpdateEndpoint accepts.
// The signature scheme is not among them: a new scheme needs a new secret,
// which only RotateEndpointSecret issues.
var endpointUpdatable = []string{"url", "name", "description", "event_types", "rate_limit_per_second", "burst", "max_in_flight", "timeout_ms", "headers"}

// UpdateEndpoint implements hookgatev1connect.EndpointServiceHandler.
// Headers are replaced as a set; an Authorization value of "REDACTED"
// keeps the stored one, so what a read returned can be written back.
func (s *EndpointService) UpdateEndpoint(ctx context.Context, req *connect.Request[hookgatev1.UpdateEndpointRequest]) (*connect.Response[hookgatev1.UpdateEndpointResponse], error) {
	in := req.Msg.GetEndpoint()
	if in == nil {
		return nil, invalid("endpoint", "is required")
	}
	if err := validateEndpointRef("endpoint.id", in.Tenant, in.Id); err != nil {
		return nil, err
	}
	for _, p := range req.Msg.GetUpdateMask().GetPaths() {
		if p == "signature_scheme" || p == "public_key" {
			return nil, invalid("update_mask", "%s changes only with a new secret: use RotateEndpointSecret with signature_scheme", p)
		}
	}
	paths, err := maskPaths(req.Msg.GetUpdateMask().GetPaths(), endpointUpdatable)
	if err != nil {
		return nil, err
	}
	for _, p := range paths {
		if err := validateEndpointField(p, in); err != nil {
			return nil, err
		}
	}
	var headers map[string]string
	if slices.Contains(paths, "headers") {
		if headers, err = normalizeHeaders(in.Headers); err != nil {
			return nil, err
		}
	}
	if slices.Contains(paths, "url") {
		tenant, err := s.store.Tenant(ctx, in.Tenant)
		if err != nil {
			return nil, toConnect(ctx, s.log, err)
		}
		if err := validateEndpointURL(in.Url, tenant.GetAllowHttpEndpoints()); err != nil {
			return nil, err
		}
	}
	ifRev, err := etagOf("endpoint.etag", in.Etag)
	if err != nil {
		return nil, err
	}
	rec, rev, err := s.store.UpdateEndpoint(ctx, in.Tenant, in.Id, ifRev, func(rec *storagev1.EndpointRecord) error {
		ep := rec.Endpoint
		for _, p := range paths {
			switch p {
			case "url":
				ep.Url = in.Url
			case "name":
				ep.Name = in.Name
			case "description":
				ep.Description = in.Description
			case "event_types":
				ep.EventTypes = in.EventTypes
			case "rate_limit_per_second":
				ep.RateLimitPerSecond = in.RateLimitPerSecond
			case "burst":
				ep.Burst = in.Burst
			case "max_in_flight":
				ep.MaxInFlight = in.MaxInFlight
			case "timeout_ms":
				ep.TimeoutMs = in.TimeoutMs
			case "headers":
				s.setHeaders(rec, headers)
			}
		}
		ep.UpdateTime = timestamppb.New(s.clock.Now())
		return nil
	})
	if err != nil {
		return nil, toConnect(ctx, s.log, err)
	}
	s.log.InfoContext(ctx, "endpoint updated", "tenant", in.Tenant, "endpoint_id", in.Id, "fields", strings.Join(paths, ","))
	return connect.NewResponse(&hookgatev1.UpdateEndpointResponse{Endpoint: endpointPublic(rec, rev)}), nil
}

// DeleteEndpoint implements hookgatev1connect.EndpointServiceHandler.
func (s *EndpointService) DeleteEndpoint(ctx context.Context, req *connect.Request[hookgatev1.DeleteEndpointRequest]) (*connect.Response[hookgatev1.DeleteEndpointResponse], error) {
	m := req.Msg
	if err := validateEndpointRef("endpoint_id", m.GetTenant(), m.GetEndpointId()); err != nil {
		return nil, err
	}
	ifRev, err := etagOf("etag", m.GetEtag())
	if err != nil {
		return nil, err
	}
	if err := s.store.DeleteEndpoint(ctx, m.GetTenant(), m.GetEndpointId(), ifRev); err != nil {
		return nil, toConnect(ctx, s.log, err)
	}
	s.purgeEndpoint(ctx, m.GetTenant(), m.GetEndpointId())
	s.log.InfoContext(ctx, "endpoint deleted", "tenant", m.GetTenant(), "endpoint_id", m.GetEndpointId())
	return connect.NewResponse(&hookgatev1.DeleteEndpointResponse{}), nil
}

// EnableEndpoint implements hookgatev1connect.EndpointServiceHandler.
func (s *EndpointService) EnableEndpoint(ctx context.Context, req *connect.Request[hookgatev1.EnableEndpointRequest]) (*connect.Response[hookgatev1.EnableEndpointResponse], error) {
	ep, err := s.setStatus(ctx, req.Msg.GetTenant(), req.Msg.GetEndpointId(), req.Msg.GetEtag(), true)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&hookgatev1.EnableEndpointResponse{Endpoint: ep}), nil
}

// DisableEndpoint implements hookgatev1connect.EndpointServiceHandler.
func (s *EndpointService) DisableEndpoint(ctx context.Context, req *connect.Request[hookgatev1.DisableEndpointRequest]) (*connect.Response[hookgatev1.DisableEndpointResponse], error) {
	ep, err := s.setStatus(ctx, req.Msg.GetTenant(), req.Msg.GetEndpointId(), req.Msg.GetEtag(), false)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&hookgatev1.DisableEndpointResponse{Endpoint: ep}), nil
}

func (s *EndpointService) setStatus(ctx context.Context, tenant, id, etag string, enabled bool) (*hookgatev1.Endpoint, error) {
	if err := validateEndpointRef("endpoint_id", tenant, id); err != nil {
		return nil, err
	}
	ifRev, err := etagOf("etag", etag)
	if err != nil {
		return nil, err
	}
	var changed bool
	rec, rev, err := s.store.UpdateEndpoint(ctx, tenant, id, ifRev, func(rec *storagev1.EndpointRecord) error {
		ep := rec.Endpoint
		now := timestamppb.New(s.clock.Now())
		changed = (ep.Status == hookgatev1.EndpointStatus_ENDPOINT_STATUS_ENABLED) != enabled
		if enabled {
			ep.Status = hookgatev1.EndpointStatus_ENDPOINT_STATUS_ENABLED
			ep.DisabledReason = hookgatev1.EndpointDisabledReason_ENDPOINT_DISABLED_REASON_UNSPECIFIED
			ep.DisableTime = nil
		} else {
			ep.Status = hookgatev1.EndpointStatus_ENDPOINT_STATUS_DISABLED
			ep.DisabledReason = hookgatev1.EndpointDisabledReason_ENDPOINT_DISABLED_REASON_MANUAL
			ep.DisableTime = now
		}
		ep.UpdateTime = now
		return nil
	})
	if err != nil {
		return nil, toConnect(ctx, s.log, err)
	}
	s.log.InfoContext(ctx, "endpoint status changed", "tenant", tenant, "endpoint_id", id, "enabled", enabled)
	if changed && enabled {
		s.resetHealth(ctx, tenant, id)
	}
	if changed {
		s.publishStatus(ctx, tenant, id, enabled, rec.Endpoint.GetUpdateTime().AsTime())
	}
	return endpointPublic(rec, rev), nil
}

// Endpoint status events: hookgate.ops.{tenant}.endpoint.enabled and
// .endpoint.disabled (DESIGN.md "Outbound contract").
const (
	opsEndpointEnabled  = "endpoint.enabled"
	opsEndpointDisabled = "endpoint.disabled"
	reasonManual        = "manual"
)

// EndpointStatusEvent is the body of the endpoint.enabled and
// endpoint.disabled events the admin API publishes; Reason is "manual" on
// a disable and empty on an enable. (A dispatcher's endpoint.disabled,
// reason gone, is a request to OpsConsumer; this one is a notice, which
// OpsConsumer refuses by its reason.)
type EndpointStatusEvent struct {
	Tenant     string    `json:"tenant"`
	EndpointID string    `json:"endpointId"`
	Reason     string    `json:"reason,omitempty"`
	Time       time.Time `json:"time"`
}

// publishStatus sends an endpoint's status event, fire and forget: the
// store is the record, the event a notice.
func (s *EndpointService) publishStatus(ctx context.Context, tenant, id string, enabled bool, at time.Time) {
	if s.ops == nil {
		return
	}
	event, ev := opsEndpointDisabled, EndpointStatusEvent{Tenant: tenant, EndpointID: id, Reason: reasonManual, Time: at.UTC()}
	if enabled {
		event, ev.Reason = opsEndpointEnabled, ""
	}
	data, err := json.Marshal(ev)
	if err != nil {
		s.log.ErrorContext(ctx, "encode ops event", "err", err)
		return
	}
	if err := s.ops.Publish("hookgate.ops."+tenant+"."+event, data); err != nil {
		s.log.WarnContext(ctx, "publish ops event", "event", event, "tenant", tenant, "endpoint_id", id, "err", err)
	}
}

var errSecretReadDenied = connect.NewError(connect.CodePermissionDenied,
	errors.New("this tenant does not allow reading endpoint signing secrets (allow_endpoint_secret_read); rotate the secret to get a new one"))

// GetEndpointSecret implements hookgatev1connect.EndpointServiceHandler:
// the current signing secret, when the tenant allows reading it.
func (s *EndpointService) GetEndpointSecret(ctx context.Context, req *connect.Request[hookgatev1.GetEndpointSecretRequest]) (*connect.Response[hookgatev1.GetEndpointSecretResponse], error) {
	m := req.Msg
	if err := validateEndpointRef("endpoint_id", m.GetTenant(), m.GetEndpointId()); err != nil {
		return nil, err
	}
	tenant, err := s.store.Tenant(ctx, m.GetTenant())
	if err != nil {
		return nil, toConnect(ctx, s.log, err)
	}
	if tenant.AllowEndpointSecretRead != nil && !tenant.GetAllowEndpointSecretRead() {
		return nil, errSecretReadDenied
	}
	rec, _, err := s.store.Endpoint(ctx, m.GetTenant(), m.GetEndpointId())
	if err != nil {
		return nil, toConnect(ctx, s.log, err)
	}
	secret, err := s.open(rec.GetEndpoint(), signingAAD, rec.GetSecret())
	if err != nil {
		return nil, toConnect(ctx, s.log, err)
	}
	s.log.InfoContext(ctx, "endpoint secret read", "tenant", m.GetTenant(), "endpoint_id", m.GetEndpointId())
	return connect.NewResponse(&hookgatev1.GetEndpointSecretResponse{Secret: secret, PublicKey: rec.GetEndpoint().GetPublicKey()}), nil
}

// RotateEndpointSecret implements hookgatev1connect.EndpointServiceHandler.
// Without a grace period the old secret ends now; with one, both sign
// until it ends. At most one previous secret exists: rotating during a
// grace period ends the older one at once. A signature_scheme issues a
// secret of that scheme (unset keeps the endpoint's); the old secret
// keeps signing in its own scheme during the grace period.
func (s *EndpointService) RotateEndpointSecret(ctx context.Context, req *connect.Request[hookgatev1.RotateEndpointSecretRequest]) (*connect.Response[hookgatev1.RotateEndpointSecretResponse], error) {
	m := req.Msg
	if err := validateEndpointRef("endpoint_id", m.GetTenant(), m.GetEndpointId()); err != nil {
		return nil, err
	}
	grace, err := endpointGracePeriod(m.GetGracePeriod())
	if err != nil {
		return nil, err
	}
	if _, err := signatureScheme("signature_scheme", m.GetSignatureScheme(), 0); err != nil {
		return nil, err
	}
	var key signingKey
	rec, rev, err := s.store.UpdateEndpoint(ctx, m.GetTenant(), m.GetEndpointId(), 0, func(rec *storagev1.EndpointRecord) error {
		now := s.clock.Now()
		ep := rec.Endpoint
		scheme, _ := signatureScheme("signature_scheme", m.GetSignatureScheme(), schemeOf(ep))
		key = newSigningKey(scheme)
		rec.PreviousSecret, ep.PreviousSecretExpireTime = nil, nil
		if grace > 0 {
			rec.PreviousSecret = &storagev1.PreviousSecret{Value: rec.Secret, ExpireTime: timestamppb.New(now.Add(grace))}
			ep.PreviousSecretExpireTime = rec.PreviousSecret.ExpireTime
		}
		rec.Secret = s.sealSigning(ep, key.secret)
		key.apply(ep)
		ep.SecretCreateTime = timestamppb.New(now)
		ep.UpdateTime = ep.SecretCreateTime
		return nil
	})
	if err != nil {
		return nil, toConnect(ctx, s.log, err)
	}
	s.log.InfoContext(ctx, "endpoint secret rotated", "tenant", m.GetTenant(), "endpoint_id", m.GetEndpointId(), "grace", grace, "signature_scheme", key.scheme.String())
	return connect.NewResponse(&hookgatev1.RotateEndpointSecretResponse{Secret: key.secret, Endpoint: endpointPublic(rec, rev)}), nil
}

// endpointGracePeriod reads a rotation's grace period: unset or 0 ends the
// old secret at once (DESIGN: the documents require it), at most 30 days.
func endpointGracePeriod(d *durationpb.Duration) (time.Duration, error) {
	if d == nil {
		return 0, nil
	}
	if err := d.CheckValid(); err != nil {
		return 0, invalid("grace_period", "is not a valid duration")
	}
	grace := d.AsDuration()
	if grace < 0 || grace > maxGracePeriod {
		return 0, invalid("grace_period", "must be 0 to %s, got %s", maxGracePeriod, grace)
	}
	return grace, nil
}

func (s *EndpointService) read(ctx context.Context, tenant, id string) (*storagev1.EndpointRecord, int64, error) {
	if err := validateEndpointRef("endpoint_id", tenant, id); err != nil {
		return nil, 0, err
	}
	rec, rev, err := s.store.Endpoint(ctx, tenant, id)
	if err != nil {
		return nil, 0, toConnect(ctx, s.log, err)
	}
	return rec, rev, nil
}

func (s *EndpointService) seal(ep *hookgatev1.Endpoint, name, value string) *storagev1.Ciphertext {
	sealed := s.keyring.Seal([]byte(value), store.EndpointSecretAAD(ep.GetTenant(), ep.GetId(), name))
	return &storagev1.Ciphertext{KeyId: sealed.KeyID, Nonce: sealed.Nonce, Sealed: sealed.Data}
}

func (s *EndpointService) sealSigning(ep *hookgatev1.Endpoint, secret string) *storagev1.Ciphertext {
	return s.seal(ep, signingAAD, secret)
}

func (s *EndpointService) open(ep *hookgatev1.Endpoint, name string, c *storagev1.Ciphertext) (string, error) {
	plain, err := s.keyring.Open(secrets.Sealed{KeyID: c.GetKeyId(), Nonce: c.GetNonce(), Data: c.GetSealed()}, store.EndpointSecretAAD(ep.GetTenant(), ep.GetId(), name))
	if err != nil {
		return "", fmt.Errorf("open %s of endpoint %s: %w", name, ep.GetId(), err)
	}
	return string(plain), nil
}

// setHeaders stores normalized headers: write-only values sealed apart,
// a Redacted value keeping what is stored.
func (s *EndpointService) setHeaders(rec *storagev1.EndpointRecord, headers map[string]string) {
	plain := make(map[string]string, len(headers))
	sealed := make(map[string]*storagev1.Ciphertext)
	for name, value := range headers {
		if !slices.Contains(sealedHeaders, name) {
			plain[name] = value
			continue
		}
		if value == Redacted {
			if old, ok := rec.GetSealedHeaders()[name]; ok {
				sealed[name] = old
			}
			continue
		}
		sealed[name] = s.seal(rec.Endpoint, "header:"+name, value)
	}
	rec.Endpoint.Headers = plain
	rec.SealedHeaders = sealed
	if len(plain) == 0 {
		rec.Endpoint.Headers = nil
	}
	if len(sealed) == 0 {
		rec.SealedHeaders = nil
	}
}

func validateEndpointRef(idField, tenant, id string) error {
	if err := validateTenantSlug("tenant", tenant); err != nil {
		return err
	}
	if !endpointID.MatchString(id) {
		return invalid(idField, "%q is not an endpoint id (ep_…)", id)
	}
	return nil
}

// validateEndpointURL accepts absolute https URLs, and http ones when the
// tenant allows them. Where the host resolves is checked by the
// dispatcher at dial time, so DNS cannot get round it.
func validateEndpointURL(raw string, allowHTTP bool) error {
	if len(raw) > maxEndpointURL {
		return invalid("endpoint.url", "is %d characters, at most %d allowed", len(raw), maxEndpointURL)
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Hostname() == "" {
		return invalid("endpoint.url", "must be an absolute URL such as https://example.com/webhooks")
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && allowHTTP:
	case u.Scheme == "http":
		return invalid("endpoint.url", "must use https; this tenant does not allow http endpoints (allow_http_endpoints)")
	default:
		return invalid("endpoint.url", "scheme %q is not allowed: use https", u.Scheme)
	}
	if u.User != nil {
		return invalid("endpoint.url", "must not carry credentials; use an Authorization header")
	}
	if u.Fragment != "" {
		return invalid("endpoint.url", "must not have a fragment")
	}
	if host := u.Hostname(); endsInNumber(host) {
		// An IP literal in its standard form (dotted quad, or IPv6 in
		// brackets) parses; every other numeric host is ambiguous.
		if _, err := netip.ParseAddr(host); err != nil {
			return invalid("endpoint.url", "host %q is an IPv4 address in a non-standard form (decimal, octal, hex or shortened), which resolvers and URL parsers read differently; write it as four decimal numbers such as 192.0.2.1", host)
		}
	}
	return nil
}

// endsInNumber reports whether host's last label (a final dot ignored) is
// a number, decimal or 0x hex: the WHATWG URL standard's test for a host
// to be parsed as an IPv4 address, under which 2130706433, 0177.0.0.1,
// 0x7f.1 and 127.1 all mean 127.0.0.1. Go's dialer would look such a
// host up in DNS instead, and no real DNS name ends in a number
// (RFC 3696 §2), so anything but the canonical dotted quad is refused.
func endsInNumber(host string) bool {
	host = strings.TrimSuffix(host, ".")
	last := host[strings.LastIndexByte(host, '.')+1:]
	if l := strings.ToLower(last); strings.HasPrefix(l, "0x") {
		return strings.Trim(l[2:], "0123456789abcdef") == ""
	}
	return last != "" && strings.Trim(last, "0123456789") == ""
}

// validateEndpointField checks one field of an endpoint.
func validateEndpointField(field string, ep *hookgatev1.Endpoint) error {
	switch field {
	case "name":
		if !utf8.ValidString(ep.Name) || utf8.RuneCountInString(ep.Name) > maxEndpointName {
			return invalid("endpoint.name", "must be UTF-8 of at most %d characters", maxEndpointName)
		}
	case "description":
		return validateDescription("endpoint.description", ep.Description)
	case "event_types":
		if len(ep.EventTypes) == 0 {
			return invalid("endpoint.event_types", "subscribe to at least one event type")
		}
		if len(ep.EventTypes) > maxEndpointEventTypes {
			return invalid("endpoint.event_types", "at most %d event types, got %d", maxEndpointEventTypes, len(ep.EventTypes))
		}
		for i, name := range ep.EventTypes {
			if err := validateEventTypeName(fmt.Sprintf("endpoint.event_types[%d]", i), name); err != nil {
				return err
			}
			if slices.Index(ep.EventTypes, name) != i {
				return invalid("endpoint.event_types", "%q is listed twice", name)
			}
		}
	case "rate_limit_per_second":
		if ep.RateLimitPerSecond < 0 || ep.RateLimitPerSecond > maxRate {
			return invalid("endpoint.rate_limit_per_second", "must be 0 (no limit) to %d", maxRate)
		}
	case "burst":
		if ep.Burst < 0 || ep.Burst > maxRate {
			return invalid("endpoint.burst", "must be 0 (the rate) to %d", maxRate)
		}
	case "max_in_flight":
		if ep.MaxInFlight < 0 || ep.MaxInFlight > maxInFlight {
			return invalid("endpoint.max_in_flight", "must be 0 (no cap) to %d", maxInFlight)
		}
	case "timeout_ms":
		if ep.TimeoutMs < minEndpointTimeoutMS || ep.TimeoutMs > maxEndpointTimeoutMS {
			return invalid("endpoint.timeout_ms", "must be %d to %d, got %d", minEndpointTimeoutMS, maxEndpointTimeoutMS, ep.TimeoutMs)
		}
	}
	return nil
}

// normalizeHeaders checks custom headers and returns them under canonical
// names. Errors name the header, never its value.
func normalizeHeaders(in map[string]string) (map[string]string, error) {
	if len(in) > maxEndpointHeaders {
		return nil, invalid("endpoint.headers", "at most %d headers, got %d", maxEndpointHeaders, len(in))
	}
	out := make(map[string]string, len(in))
	for _, name := range slices.Sorted(maps.Keys(in)) {
		if !headerToken.MatchString(name) {
			return nil, invalid("endpoint.headers", "%q is not a header name (an RFC 9110 token)", name)
		}
		canon := textproto.CanonicalMIMEHeaderKey(name)
		if slices.Contains(refusedHeaders, canon) || strings.HasPrefix(strings.ToLower(canon), "webhook-") {
			return nil, invalid("endpoint.headers", "%s cannot be set: the dispatcher writes it or it is hop-by-hop", canon)
		}
		if _, dup := out[canon]; dup {
			return nil, invalid("endpoint.headers", "%s is given twice", canon)
		}
		v := in[name]
		if len(v) > maxHeaderValue {
			return nil, invalid("endpoint.headers", "the value of %s is over %d bytes", canon, maxHeaderValue)
		}
		// net/http refuses to send a control character other than a tab
		// (RFC 9110 field-value), so such a value would fail every delivery.
		if strings.ContainsFunc(v, func(r rune) bool { return (r < ' ' && r != '\t') || r == 0x7f }) || !utf8.ValidString(v) {
			return nil, invalid("endpoint.headers", "the value of %s holds a control character (CR, LF, NUL, …) or is not UTF-8", canon)
		}
		out[canon] = v
	}
	return out, nil
}

// endpointPublic is the API view of a record: write-only headers
// redacted, no secret (an Ed25519 public key is no secret), the scheme
// always set, the etag.
func endpointPublic(rec *storagev1.EndpointRecord, rev int64) *hookgatev1.Endpoint {
	ep := proto.CloneOf(rec.GetEndpoint())
	ep.SignatureScheme = schemeOf(ep)
	for name := range rec.GetSealedHeaders() {
		if ep.Headers == nil {
			ep.Headers = make(map[string]string)
		}
		ep.Headers[name] = Redacted
	}
	ep.Etag = strconvRev(rev)
	return ep
}
