package admin

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"connectrpc.com/connect"
	"github.com/hookgate/hookgate/controlplane/failures"
	"github.com/hookgate/hookgate/controlplane/secrets"
	"github.com/hookgate/hookgate/controlplane/store"
	storagev1 "github.com/hookgate/hookgate/gen/hookgate/storage/v1"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/gen/hookgate/v1/hookgatev1connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Rotation grace periods.
const (
	DefaultGracePeriod = 24 * time.Hour
	maxGracePeriod     = 30 * 24 * time.Hour
)

// WebhookService implements hookgatev1connect.InboundWebhookServiceHandler.
type WebhookService struct {
	hookgatev1connect.UnimplementedInboundWebhookServiceHandler
	store     *store.Store
	keyring   *secrets.Keyring
	clock     Clock
	log       *slog.Logger
	publicURL string
	failures  FailureLister
	// maxPayload is the NATS max_payload envelopes must fit.
	maxPayload int64
	// tail serves TailEvents; nil answers Unavailable.
	tail EventTailer
}

// WebhookOption sets an optional knob of the WebhookService.
type WebhookOption func(*WebhookService)

// WithMaxPayload sets the NATS max_payload (nc.MaxPayload() of the server
// the edges publish to) that a webhook's largest envelope must fit;
// DefaultMaxPayload without it. A value of 0 or less keeps the default.
func WithMaxPayload(n int64) WebhookOption {
	return func(s *WebhookService) {
		if n > 0 {
			s.maxPayload = n
		}
	}
}

// FailureLister reads recorded failed triggers, newest first.
type FailureLister interface {
	List(ctx context.Context, tenant, webhookID string, size int, token string) ([]*hookgatev1.FailedTrigger, string, error)
}

var _ hookgatev1connect.InboundWebhookServiceHandler = (*WebhookService)(nil)

// NewWebhookService returns the inbound webhook API. publicURL is the
// edge's public base URL, e.g. "https://hooks.example.com".
// failures may be nil, and then ListFailedTriggers answers Unavailable.
func NewWebhookService(st *store.Store, keyring *secrets.Keyring, clock Clock, log *slog.Logger, publicURL string, failures FailureLister, opts ...WebhookOption) *WebhookService {
	s := &WebhookService{store: st, keyring: keyring, clock: clock, log: log, publicURL: strings.TrimRight(publicURL, "/"), failures: failures, maxPayload: DefaultMaxPayload}
	for _, opt := range opts {
		opt(s)
	}
	return s
}

// ListFailedTriggers implements hookgatev1connect.InboundWebhookServiceHandler.
// Records outlive a deleted webhook until they age out, but are listed only
// while the webhook exists, so a tenant token cannot probe ids.
func (s *WebhookService) ListFailedTriggers(ctx context.Context, req *connect.Request[hookgatev1.ListFailedTriggersRequest]) (*connect.Response[hookgatev1.ListFailedTriggersResponse], error) {
	m := req.Msg
	if err := validateWebhookRef(m.GetTenant(), m.GetWebhookId()); err != nil {
		return nil, err
	}
	page, err := pageOf(m.GetPageSize(), m.GetPageToken())
	if err != nil {
		return nil, err
	}
	if _, _, err := s.store.Webhook(ctx, m.GetTenant(), m.GetWebhookId()); err != nil {
		return nil, toConnect(ctx, s.log, err)
	}
	if s.failures == nil {
		return nil, connect.NewError(connect.CodeUnavailable, errors.New("failed triggers are not readable from this control plane"))
	}
	fts, next, err := s.failures.List(ctx, m.GetTenant(), m.GetWebhookId(), page.Size, page.Token)
	if errors.Is(err, failures.ErrBadPageToken) {
		return nil, invalid("page_token", "%v", err)
	}
	if err != nil {
		return nil, toConnect(ctx, s.log, err)
	}
	return connect.NewResponse(&hookgatev1.ListFailedTriggersResponse{FailedTriggers: fts, NextPageToken: next}), nil
}

// CreateWebhook implements hookgatev1connect.InboundWebhookServiceHandler.
func (s *WebhookService) CreateWebhook(ctx context.Context, req *connect.Request[hookgatev1.CreateWebhookRequest]) (*connect.Response[hookgatev1.CreateWebhookResponse], error) {
	in := req.Msg.GetWebhook()
	if in == nil {
		return nil, invalid("webhook", "is required")
	}
	if err := validateTenantSlug("webhook.tenant", in.Tenant); err != nil {
		return nil, err
	}
	w := &hookgatev1.Webhook{
		Id:          secrets.NewID("wh_"),
		Tenant:      in.Tenant,
		Name:        in.Name,
		Description: in.Description,
		Provider:    in.Provider,
		Bindings:    in.Bindings,
		Active:      true,
		RateLimit:   in.RateLimit,
		RawBody:     in.RawBody,
		CustomHmac:  in.CustomHmac,
		RequireKey:  proto.Bool(in.RequireKey == nil || *in.RequireKey),
	}
	if err := validateName(w.Name); err != nil {
		return nil, err
	}
	if err := validateDescription("webhook.description", w.Description); err != nil {
		return nil, err
	}
	if err := validateProvider(w.Provider); err != nil {
		return nil, err
	}
	if err := normalizeBindings(w.Bindings); err != nil {
		return nil, err
	}
	var err error
	if w.MaxBodyBytes, err = normalizeMaxBody(in.MaxBodyBytes); err != nil {
		return nil, err
	}
	if err := validateEnvelopeFits(w.MaxBodyBytes, w.RawBody, s.maxPayload); err != nil {
		return nil, err
	}
	if err := normalizeRateLimit(w.RateLimit); err != nil {
		return nil, err
	}
	if err := validateCustomHmac(w.Provider, w.CustomHmac); err != nil {
		return nil, err
	}
	if err := validateRequireKey(w.Provider, w.RequireKey); err != nil {
		return nil, err
	}
	secretSet, err := validateProviderSecrets(w.Provider, in.ProviderSecrets)
	if err != nil {
		return nil, err
	}

	now := s.clock.Now()
	key := secrets.NewSecret(secrets.APIKeyPrefix)
	w.Url = s.webhookURL(w.Tenant, w.Id)
	w.CreateTime = timestamppb.New(now)
	w.UpdateTime = w.CreateTime
	w.KeyPrefix = key.Prefix(8)
	w.KeyCreateTime = w.CreateTime
	rec := &storagev1.WebhookRecord{
		Webhook:            w,
		Key:                &storagev1.APIKey{Sha256: key.Digest(), Prefix: key.Prefix(8), CreateTime: w.CreateTime},
		ProviderSecrets:    s.seal(w.Tenant, w.Id, secretSet.literals),
		ProviderSecretRefs: secretSet.refs,
	}
	rev, err := s.store.CreateWebhook(ctx, rec)
	if err != nil {
		return nil, toConnect(ctx, s.log, err)
	}
	s.log.InfoContext(ctx, "webhook created", "tenant", w.Tenant, "webhook_id", w.Id)
	return connect.NewResponse(&hookgatev1.CreateWebhookResponse{
		Webhook:    s.public(rec, rev),
		ApiKey:     key.Reveal(),
		UrlWithKey: w.Url + "?key=" + url.QueryEscape(key.Reveal()),
	}), nil
}

// GetWebhook implements hookgatev1connect.InboundWebhookServiceHandler.
func (s *WebhookService) GetWebhook(ctx context.Context, req *connect.Request[hookgatev1.GetWebhookRequest]) (*connect.Response[hookgatev1.GetWebhookResponse], error) {
	if err := validateWebhookRef(req.Msg.GetTenant(), req.Msg.GetWebhookId()); err != nil {
		return nil, err
	}
	rec, rev, err := s.store.Webhook(ctx, req.Msg.GetTenant(), req.Msg.GetWebhookId())
	if err != nil {
		return nil, toConnect(ctx, s.log, err)
	}
	return connect.NewResponse(&hookgatev1.GetWebhookResponse{Webhook: s.public(rec, rev)}), nil
}

// ListWebhooks implements hookgatev1connect.InboundWebhookServiceHandler.
func (s *WebhookService) ListWebhooks(ctx context.Context, req *connect.Request[hookgatev1.ListWebhooksRequest]) (*connect.Response[hookgatev1.ListWebhooksResponse], error) {
	m := req.Msg
	if err := validateTenantSlug("tenant", m.GetTenant()); err != nil {
		return nil, err
	}
	if m.Provider != hookgatev1.Provider_PROVIDER_UNSPECIFIED {
		if err := validateProvider(m.Provider); err != nil {
			return nil, err
		}
	}
	page, err := pageOf(m.GetPageSize(), m.GetPageToken())
	if err != nil {
		return nil, err
	}
	items, next, err := s.store.ListWebhooks(ctx, m.GetTenant(), page, func(rec *storagev1.WebhookRecord) bool {
		w := rec.GetWebhook()
		if m.Active != nil && w.GetActive() != m.GetActive() {
			return false
		}
		if m.Provider != hookgatev1.Provider_PROVIDER_UNSPECIFIED && w.GetProvider() != m.Provider {
			return false
		}
		if m.ProcessId != "" && !slices.ContainsFunc(w.GetBindings(), func(b *hookgatev1.Binding) bool { return b.GetProcessId() == m.ProcessId }) {
			return false
		}
		return true
	})
	if err != nil {
		return nil, toConnect(ctx, s.log, err)
	}
	out := make([]*hookgatev1.Webhook, 0, len(items))
	for _, it := range items {
		out = append(out, s.public(it.Record, it.Revision))
	}
	return connect.NewResponse(&hookgatev1.ListWebhooksResponse{Webhooks: out, NextPageToken: next}), nil
}

// updatable lists the update_mask paths UpdateWebhook accepts.
var updatable = []string{"description", "active", "bindings", "max_body_bytes", "rate_limit", "raw_body", "provider_secrets", "custom_hmac", "require_key"}

// UpdateWebhook implements hookgatev1connect.InboundWebhookServiceHandler.
func (s *WebhookService) UpdateWebhook(ctx context.Context, req *connect.Request[hookgatev1.UpdateWebhookRequest]) (*connect.Response[hookgatev1.UpdateWebhookResponse], error) {
	in := req.Msg.GetWebhook()
	if in == nil {
		return nil, invalid("webhook", "is required")
	}
	if err := validateWebhookRef(in.Tenant, in.Id); err != nil {
		return nil, err
	}
	paths := req.Msg.GetUpdateMask().GetPaths()
	if len(paths) == 0 {
		return nil, invalid("update_mask", "name at least one field: %s", strings.Join(updatable, ", "))
	}
	for _, p := range paths {
		if p == "provider" {
			return nil, invalid("update_mask", "provider cannot change after creation; create a new webhook")
		}
		if !slices.Contains(updatable, p) {
			return nil, invalid("update_mask", "field %q cannot be updated; updatable: %s", p, strings.Join(updatable, ", "))
		}
	}
	ifRev, err := etagOf("webhook.etag", in.Etag)
	if err != nil {
		return nil, err
	}
	// Validate the request's values before touching the store, so nothing
	// is half-written; the provider-dependent checks run in mutate.
	if slices.Contains(paths, "description") {
		if err := validateDescription("webhook.description", in.Description); err != nil {
			return nil, err
		}
	}
	if slices.Contains(paths, "bindings") {
		if err := normalizeBindings(in.Bindings); err != nil {
			return nil, err
		}
	}
	maxBody := in.MaxBodyBytes
	if slices.Contains(paths, "max_body_bytes") {
		if maxBody, err = normalizeMaxBody(in.MaxBodyBytes); err != nil {
			return nil, err
		}
	}
	if slices.Contains(paths, "rate_limit") {
		if err := normalizeRateLimit(in.RateLimit); err != nil {
			return nil, err
		}
	}
	rec, rev, err := s.store.UpdateWebhook(ctx, in.Tenant, in.Id, ifRev, func(rec *storagev1.WebhookRecord) error {
		w := rec.Webhook
		for _, p := range paths {
			switch p {
			case "description":
				w.Description = in.Description
			case "active":
				w.Active = in.Active
			case "bindings":
				w.Bindings = in.Bindings
			case "max_body_bytes":
				w.MaxBodyBytes = maxBody
			case "rate_limit":
				w.RateLimit = in.RateLimit
			case "raw_body":
				w.RawBody = in.RawBody
			case "custom_hmac":
				if err := validateCustomHmac(w.Provider, in.CustomHmac); err != nil {
					return err
				}
				w.CustomHmac = in.CustomHmac
			case "provider_secrets":
				// The whole set is replaced and checked, so an update cannot
				// drop a required secret. Previous values of secrets still
				// named keep their grace period.
				set, err := validateProviderSecrets(w.Provider, in.ProviderSecrets)
				if err != nil {
					return err
				}
				rec.ProviderSecrets = s.seal(w.Tenant, w.Id, set.literals)
				rec.ProviderSecretRefs = set.refs
				for name := range rec.PreviousProviderSecrets {
					if _, ok := in.ProviderSecrets[name]; !ok {
						delete(rec.PreviousProviderSecrets, name)
					}
				}
			case "require_key":
				if err := validateRequireKey(w.Provider, in.RequireKey); err != nil {
					return err
				}
				w.RequireKey = proto.Bool(in.RequireKey == nil || *in.RequireKey)
			}
		}
		// The limit and raw_body may change separately: check the result.
		if slices.Contains(paths, "max_body_bytes") || slices.Contains(paths, "raw_body") {
			if err := validateEnvelopeFits(w.MaxBodyBytes, w.RawBody, s.maxPayload); err != nil {
				return err
			}
		}
		w.UpdateTime = timestamppb.New(s.clock.Now())
		return nil
	})
	if err != nil {
		return nil, toConnect(ctx, s.log, err)
	}
	s.log.InfoContext(ctx, "webhook updated", "tenant", in.Tenant, "webhook_id", in.Id, "fields", strings.Join(paths, ","))
	return connect.NewResponse(&hookgatev1.UpdateWebhookResponse{Webhook: s.public(rec, rev)}), nil
}

// RotateWebhookKey implements hookgatev1connect.InboundWebhookServiceHandler.
// At most one previous key exists: rotating during a grace period ends the
// older previous key at once.
func (s *WebhookService) RotateWebhookKey(ctx context.Context, req *connect.Request[hookgatev1.RotateWebhookKeyRequest]) (*connect.Response[hookgatev1.RotateWebhookKeyResponse], error) {
	m := req.Msg
	if err := validateWebhookRef(m.GetTenant(), m.GetWebhookId()); err != nil {
		return nil, err
	}
	grace, err := gracePeriod(m.GracePeriod)
	if err != nil {
		return nil, err
	}
	key := secrets.NewSecret(secrets.APIKeyPrefix)
	rec, rev, err := s.store.UpdateWebhook(ctx, m.GetTenant(), m.GetWebhookId(), 0, func(rec *storagev1.WebhookRecord) error {
		now := s.clock.Now()
		w := rec.Webhook
		rec.PreviousKey = nil
		w.PreviousKeyPrefix = ""
		w.PreviousKeyExpireTime = nil
		if grace > 0 {
			rec.PreviousKey = proto.CloneOf(rec.Key)
			rec.PreviousKey.ExpireTime = timestamppb.New(now.Add(grace))
			w.PreviousKeyPrefix = rec.PreviousKey.GetPrefix()
			w.PreviousKeyExpireTime = rec.PreviousKey.ExpireTime
		}
		rec.Key = &storagev1.APIKey{Sha256: key.Digest(), Prefix: key.Prefix(8), CreateTime: timestamppb.New(now)}
		w.KeyPrefix = key.Prefix(8)
		w.KeyCreateTime = rec.Key.CreateTime
		w.UpdateTime = rec.Key.CreateTime
		return nil
	})
	if err != nil {
		return nil, toConnect(ctx, s.log, err)
	}
	s.log.InfoContext(ctx, "webhook key rotated", "tenant", m.GetTenant(), "webhook_id", m.GetWebhookId(), "grace", grace)
	pub := s.public(rec, rev)
	return connect.NewResponse(&hookgatev1.RotateWebhookKeyResponse{
		Webhook:    pub,
		ApiKey:     key.Reveal(),
		UrlWithKey: pub.Url + "?key=" + url.QueryEscape(key.Reveal()),
	}), nil
}

// gracePeriod reads a rotation's grace period: unset is the default, 0
// ends the previous value at once, at most 30 days.
func gracePeriod(d *durationpb.Duration) (time.Duration, error) {
	grace := DefaultGracePeriod
	if d != nil {
		if err := d.CheckValid(); err != nil {
			return 0, invalid("grace_period", "is not a valid duration")
		}
		grace = d.AsDuration()
	}
	if grace < 0 || grace > maxGracePeriod {
		return 0, invalid("grace_period", "must be 0 to %s, got %s", maxGracePeriod, grace)
	}
	return grace, nil
}

// DeleteWebhook implements hookgatev1connect.InboundWebhookServiceHandler.
func (s *WebhookService) DeleteWebhook(ctx context.Context, req *connect.Request[hookgatev1.DeleteWebhookRequest]) (*connect.Response[hookgatev1.DeleteWebhookResponse], error) {
	m := req.Msg
	if err := validateWebhookRef(m.GetTenant(), m.GetWebhookId()); err != nil {
		return nil, err
	}
	ifRev, err := etagOf("etag", m.GetEtag())
	if err != nil {
		return nil, err
	}
	if err := s.store.DeleteWebhook(ctx, m.GetTenant(), m.GetWebhookId(), ifRev); err != nil {
		return nil, toConnect(ctx, s.log, err)
	}
	s.log.InfoContext(ctx, "webhook deleted", "tenant", m.GetTenant(), "webhook_id", m.GetWebhookId())
	return connect.NewResponse(&hookgatev1.DeleteWebhookResponse{}), nil
}

// validateWebhookRef checks the tenant and id naming one webhook.
func validateWebhookRef(tenant, id string) error {
	if err := validateTenantSlug("tenant", tenant); err != nil {
		return err
	}
	return validateWebhookID(id)
}

func (s *WebhookService) webhookURL(tenant, id string) string {
	return s.publicURL + "/in/" + tenant + "/" + id
}

// seal encrypts each provider secret under its own name; the plaintext is
// never stored.
func (s *WebhookService) seal(tenant, id string, plain map[string]string) map[string]*storagev1.Ciphertext {
	if len(plain) == 0 {
		return nil
	}
	out := make(map[string]*storagev1.Ciphertext, len(plain))
	for name, value := range plain {
		sealed := s.keyring.Seal([]byte(value), store.SecretAAD(tenant, id, name))
		out[name] = &storagev1.Ciphertext{KeyId: sealed.KeyID, Nonce: sealed.Nonce, Sealed: sealed.Data}
	}
	return out
}

// public is the API view of a record: no key, no secret, names of the
// secrets that are set, and the etag.
func (s *WebhookService) public(rec *storagev1.WebhookRecord, rev int64) *hookgatev1.Webhook {
	w := proto.CloneOf(rec.GetWebhook())
	w.ProviderSecrets = nil
	names := slices.Collect(maps.Keys(rec.GetProviderSecrets()))
	names = append(names, slices.Collect(maps.Keys(rec.GetProviderSecretRefs()))...)
	slices.Sort(names)
	w.ProviderSecretNames = slices.Compact(names)
	w.ProviderSecretRefs = maps.Clone(rec.GetProviderSecretRefs())
	if w.RequireKey == nil {
		w.RequireKey = proto.Bool(true)
	}
	w.Url = s.webhookURL(w.Tenant, w.Id)
	w.Etag = strconvRev(rev)
	return w
}
