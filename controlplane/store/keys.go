package store

// Key layout under Prefix (documented in docs/design.md). The config
// distributor watches WebhooksPrefix, which holds webhook records and,
// below ConfigParamsPrefix, config parameters: one watch sees both in one
// revision order. Nothing else may write below it.
const (
	TenantsPrefix = Prefix + "tenants/"
	// TokensPrefix holds token records by scope: {tenant or _platform}/{id}.
	TokensPrefix       = Prefix + "admin-tokens/"
	TokenIDsPrefix     = Prefix + "admin-token-ids/"
	TokenDigestsPrefix = Prefix + "admin-token-digests/"
	WebhooksPrefix     = Prefix + "webhooks/"
	WebhookNamesPrefix = Prefix + "webhook-names/"
	// ConfigParamsPrefix holds config parameters: {tenant}/{name}. "_params"
	// is no tenant slug, so it never meets a tenant's webhooks.
	ConfigParamsPrefix = WebhooksPrefix + "_params/"
	// ConfigParamRefsPrefix indexes which webhook refers to which
	// parameter: {tenant}/{name}/{webhook_id}, empty values.
	ConfigParamRefsPrefix = Prefix + "config-param-refs/"
	// KeyExpiriesPrefix indexes previous API keys, provider secrets and
	// parameter values by expiry, for the sweep.
	KeyExpiriesPrefix = Prefix + "key-expiries/"
)

// WebhookKey is where the WebhookRecord of one webhook is stored.
func WebhookKey(tenant, id string) string { return WebhooksPrefix + tenant + "/" + id }

// ConfigParamKey is where the ConfigParamRecord of one parameter is stored.
func ConfigParamKey(tenant, name string) string { return ConfigParamsPrefix + tenant + "/" + name }

// SecretAAD is the additional data a webhook's provider secret is sealed
// with: the record's key and the secret's name, so a ciphertext opens only
// in the record and under the name it was written for.
func SecretAAD(tenant, webhookID, name string) []byte {
	return []byte(WebhookKey(tenant, webhookID) + "#" + name)
}

// ParamAAD is the additional data a config parameter's values (current and
// previous) are sealed with: the record's key.
func ParamAAD(tenant, name string) []byte { return []byte(ConfigParamKey(tenant, name)) }

func paramRefsPrefix(tenant, name string) string {
	return ConfigParamRefsPrefix + tenant + "/" + name + "/"
}

func paramRefKey(tenant, name, webhookID string) string {
	return paramRefsPrefix(tenant, name) + webhookID
}

// Outbound records live below WebhooksPrefix, like config parameters, so
// the one config watch sees them in the same revision order. Each prefix
// starts with "_", which no tenant slug does.
const (
	// AppsPrefix holds applications: {tenant}/{id}.
	AppsPrefix = WebhooksPrefix + "_apps/"
	// AppUIDsPrefix indexes applications by the tenant's uid:
	// {tenant}/{uid} → id.
	AppUIDsPrefix = Prefix + "app-uids/"
	// EventTypesPrefix holds event types: {tenant}/{name}.
	EventTypesPrefix = WebhooksPrefix + "_event-types/"
	// EndpointsPrefix holds endpoints below their application:
	// {tenant}/{app_id}/{id}, so deleting an application removes its
	// endpoints with one range delete.
	EndpointsPrefix = WebhooksPrefix + "_endpoints/"
	// EndpointIDsPrefix indexes endpoints by id: {tenant}/{id} → app_id.
	EndpointIDsPrefix = Prefix + "endpoint-ids/"
	// TenantMirrorsPrefix holds a copy of each tenant, {tenant}, written
	// with the tenant, for the config watch.
	TenantMirrorsPrefix = WebhooksPrefix + "_tenants/"
	// TokenMirrorsPrefix holds a copy of each admin and producer token
	// record (digest and scope, never the token), {tenant or
	// _platform}/{id}, written and deleted with the token, so that edges
	// can authenticate producers from their configuration.
	TokenMirrorsPrefix = WebhooksPrefix + "_tokens/"
)

// TokenMirrorKey is where the mirror of one token record is stored; tenant
// is "" for a platform token.
func TokenMirrorKey(tenant, id string) string {
	return TokenMirrorsPrefix + tokenScope(tenant) + "/" + id
}

// PlatformTokenScope is the scope segment of platform tokens in
// TokenMirrorKey.
const PlatformTokenScope = platformScope

// AppKey is where the ApplicationRecord of one application is stored.
func AppKey(tenant, id string) string { return AppsPrefix + tenant + "/" + id }

// EventTypeKey is where the EventTypeRecord of one event type is stored.
func EventTypeKey(tenant, name string) string { return EventTypesPrefix + tenant + "/" + name }

// EndpointKey is where the EndpointRecord of one endpoint is stored.
func EndpointKey(tenant, appID, id string) string {
	return EndpointsPrefix + tenant + "/" + appID + "/" + id
}

// TenantMirrorKey is where the TenantMirror of one tenant is stored.
func TenantMirrorKey(tenant string) string { return TenantMirrorsPrefix + tenant }

// EndpointSecretAAD is the additional data an endpoint's sealed values are
// sealed with: tenant, endpoint id and what the value is ("signing" for
// the signing secrets, "header:" + canonical name for a header), so a
// ciphertext opens only where it was written for.
func EndpointSecretAAD(tenant, endpointID, name string) []byte {
	return []byte("endpoint/" + tenant + "/" + endpointID + "#" + name)
}

func appUIDKey(tenant, uid string) string { return AppUIDsPrefix + tenant + "/" + uid }

func endpointIDKey(tenant, id string) string { return EndpointIDsPrefix + tenant + "/" + id }
