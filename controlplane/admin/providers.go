package admin

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
)

// providerSecrets names the write-only secrets each provider needs
// (required) and may take (optional). The edge's verifiers read the same
// names; ../shared/providers.md has the facts of each scheme.
var providerSecrets = map[hookgatev1.Provider]struct{ required, optional []string }{
	hookgatev1.Provider_PROVIDER_GENERIC:           {},
	hookgatev1.Provider_PROVIDER_SLACK:             {required: []string{"signing_secret"}},
	hookgatev1.Provider_PROVIDER_META:              {required: []string{"app_secret", "verify_token"}},
	hookgatev1.Provider_PROVIDER_GITHUB:            {required: []string{"secret"}},
	hookgatev1.Provider_PROVIDER_STRIPE:            {required: []string{"signing_secret"}},
	hookgatev1.Provider_PROVIDER_STANDARD_WEBHOOKS: {required: []string{"signing_secret"}},
	hookgatev1.Provider_PROVIDER_SHOPIFY:           {required: []string{"secret"}},
	hookgatev1.Provider_PROVIDER_TWILIO:            {required: []string{"auth_token"}},
	hookgatev1.Provider_PROVIDER_ZOOM:              {required: []string{"secret_token"}},
	hookgatev1.Provider_PROVIDER_DISCORD:           {required: []string{"public_key"}},
	hookgatev1.Provider_PROVIDER_CUSTOM_HMAC:       {required: []string{"secret"}},
	hookgatev1.Provider_PROVIDER_SQUARE:            {required: []string{"signature_key"}},
	hookgatev1.Provider_PROVIDER_PADDLE:            {required: []string{"secret"}},
	hookgatev1.Provider_PROVIDER_LINEAR:            {required: []string{"secret"}},
	hookgatev1.Provider_PROVIDER_HUBSPOT:           {required: []string{"client_secret"}},
	hookgatev1.Provider_PROVIDER_INTERCOM:          {required: []string{"client_secret"}},
	hookgatev1.Provider_PROVIDER_PAGERDUTY:         {required: []string{"secret"}},
	hookgatev1.Provider_PROVIDER_MAILGUN:           {required: []string{"signing_key"}},
	hookgatev1.Provider_PROVIDER_SENDGRID:          {required: []string{"public_key"}},
	hookgatev1.Provider_PROVIDER_TWITCH:            {required: []string{"secret"}},
	hookgatev1.Provider_PROVIDER_GITLAB:            {required: []string{"token"}, optional: []string{"signing_token"}},
	hookgatev1.Provider_PROVIDER_BITBUCKET:         {required: []string{"secret"}},
	hookgatev1.Provider_PROVIDER_TYPEFORM:          {required: []string{"secret"}},
	hookgatev1.Provider_PROVIDER_CALENDLY:          {required: []string{"signing_key"}},
}

// ProviderFromName parses "stripe", "STRIPE" or "PROVIDER_STRIPE".
func ProviderFromName(s string) (hookgatev1.Provider, bool) {
	name := strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(s), "-", "_"))
	if !strings.HasPrefix(name, "PROVIDER_") {
		name = "PROVIDER_" + name
	}
	v, ok := hookgatev1.Provider_value[name]
	if !ok || v == 0 {
		return 0, false
	}
	return hookgatev1.Provider(v), true
}

func validateProvider(p hookgatev1.Provider) error {
	if _, ok := providerSecrets[p]; !ok {
		return invalid("webhook.provider", "unknown provider %d: choose one of GENERIC, SLACK, META, GITHUB, STRIPE, STANDARD_WEBHOOKS, SHOPIFY, TWILIO, ZOOM, DISCORD, CUSTOM_HMAC, …", p)
	}
	return nil
}

// validateProviderSecrets checks that the set is complete for the provider
// and names nothing it does not use. Values never appear in errors.
func validateProviderSecrets(p hookgatev1.Provider, given map[string]string) error {
	spec := providerSecrets[p]
	for _, name := range spec.required {
		if given[name] == "" {
			return invalid("webhook.provider_secrets", "%s needs the secret %q", ProviderLabel(p), name)
		}
	}
	for name, value := range given {
		if !slices.Contains(spec.required, name) && !slices.Contains(spec.optional, name) {
			return invalid("webhook.provider_secrets", "%s does not use a secret named %q", ProviderLabel(p), name)
		}
		if len(value) > maxSecretLen || !utf8.ValidString(value) {
			return invalid("webhook.provider_secrets", "secret %q must be UTF-8 of at most %d bytes", name, maxSecretLen)
		}
	}
	return nil
}

// ProviderLabel is the provider's name as people write it: "STRIPE".
func ProviderLabel(p hookgatev1.Provider) string {
	return strings.TrimPrefix(p.String(), "PROVIDER_")
}

var customAlgorithms = []string{"sha1", "sha256", "sha512"}

func validateCustomHmac(p hookgatev1.Provider, c *hookgatev1.CustomHmac) error {
	if p != hookgatev1.Provider_PROVIDER_CUSTOM_HMAC {
		if c != nil {
			return invalid("webhook.custom_hmac", "applies only to PROVIDER_CUSTOM_HMAC")
		}
		return nil
	}
	if c == nil {
		return invalid("webhook.custom_hmac", "is required for PROVIDER_CUSTOM_HMAC")
	}
	if c.Header == "" || strings.ContainsAny(c.Header, " :\r\n") {
		return invalid("webhook.custom_hmac.header", "must name an HTTP header")
	}
	if c.Algorithm == "" {
		c.Algorithm = "sha256"
	}
	if !slices.Contains(customAlgorithms, c.Algorithm) {
		return invalid("webhook.custom_hmac.algorithm", "%q: want sha1, sha256 or sha512", c.Algorithm)
	}
	if c.Encoding == "" {
		c.Encoding = "hex"
	}
	if c.Encoding != "hex" && c.Encoding != "base64" {
		return invalid("webhook.custom_hmac.encoding", "%q: want hex or base64", c.Encoding)
	}
	if c.Template == "" {
		c.Template = "{body}"
	}
	if err := validateTemplate(c.Template, c.TimestampHeader != ""); err != nil {
		return err
	}
	if c.Tolerance != nil {
		d := c.Tolerance.AsDuration()
		if d < 0 || d > 24*time.Hour {
			return invalid("webhook.custom_hmac.tolerance", "must be 0 to 24h")
		}
	}
	return nil
}

// validateTemplate accepts {body}, {timestamp} (with a timestamp header) and
// {header:Name} placeholders in otherwise literal text.
func validateTemplate(t string, haveTimestamp bool) error {
	const field = "webhook.custom_hmac.template"
	rest := t
	for {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return invalid(field, "unclosed '{'")
		}
		ph := rest[i+1 : i+j]
		switch {
		case ph == "body":
		case ph == "timestamp":
			if !haveTimestamp {
				return invalid(field, "{timestamp} needs custom_hmac.timestamp_header")
			}
		case strings.HasPrefix(ph, "header:") && len(ph) > len("header:"):
		default:
			return invalid(field, "unknown placeholder {%s}: use {body}, {timestamp} or {header:Name}", ph)
		}
		rest = rest[i+j+1:]
	}
	if !strings.Contains(t, "{body}") {
		return invalid(field, "must contain {body}")
	}
	return nil
}
