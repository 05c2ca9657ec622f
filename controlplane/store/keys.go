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
