package store

// Key layout under Prefix (documented in docs/design.md). The config
// distributor watches WebhooksPrefix; nothing else may write below it.
const (
	TenantsPrefix = Prefix + "tenants/"
	// TokensPrefix holds token records by scope: {tenant or _platform}/{id}.
	TokensPrefix       = Prefix + "admin-tokens/"
	TokenIDsPrefix     = Prefix + "admin-token-ids/"
	TokenDigestsPrefix = Prefix + "admin-token-digests/"
	WebhooksPrefix     = Prefix + "webhooks/"
	WebhookNamesPrefix = Prefix + "webhook-names/"
	// KeyExpiriesPrefix indexes previous API keys by expiry, for the sweep.
	KeyExpiriesPrefix = Prefix + "key-expiries/"
)

// WebhookKey is where the WebhookRecord of one webhook is stored.
func WebhookKey(tenant, id string) string { return WebhooksPrefix + tenant + "/" + id }

// SecretAAD is the additional data a webhook's provider secret is sealed
// with: the record's key and the secret's name, so a ciphertext opens only
// in the record and under the name it was written for.
func SecretAAD(tenant, webhookID, name string) []byte {
	return []byte(WebhookKey(tenant, webhookID) + "#" + name)
}
