package admin

import (
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"google.golang.org/protobuf/types/known/durationpb"
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
	hookgatev1.Provider_PROVIDER_STANDARD_WEBHOOKS: {required: []string{"signing_secret"}, optional: []string{"public_key"}},
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

// ProviderSecrets returns the secret names a provider requires and those it
// may take, as registration checks them.
func ProviderSecrets(p hookgatev1.Provider) (required, optional []string) {
	s := providerSecrets[p]
	return slices.Clone(s.required), slices.Clone(s.optional)
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

// secretRef is a provider secret given as a reference to a tenant config
// parameter; a value that starts like one but does not match is refused,
// so a typo is not stored as a literal secret.
var secretRef = regexp.MustCompile(`^\$\{configParam\.([a-z0-9_]{1,64})\}$`)

const secretRefStart = "${configParam."

// parseSecretRef returns the parameter a value refers to; ok is false for
// a literal. A malformed reference is an error naming the secret.
func parseSecretRef(field, name, value string) (param string, ok bool, err error) {
	if !strings.HasPrefix(value, secretRefStart) {
		return "", false, nil
	}
	m := secretRef.FindStringSubmatch(value)
	if m == nil {
		return "", false, invalid(field, "secret %q is not a reference ${configParam.NAME} with NAME of 1–64 characters of a-z, 0-9 and '_'", name)
	}
	return m[1], true, nil
}

// providerSecretSet is a validated set of provider secrets: literal values
// to seal and references to config parameters.
type providerSecretSet struct {
	literals map[string]string
	refs     map[string]string
}

// validateProviderSecrets checks that the set is complete for the provider
// and names nothing it does not use, and splits literals from references.
// Values never appear in errors.
func validateProviderSecrets(p hookgatev1.Provider, given map[string]string) (providerSecretSet, error) {
	const field = "webhook.provider_secrets"
	spec := providerSecrets[p]
	for _, name := range spec.required {
		if given[name] == "" {
			return providerSecretSet{}, invalid(field, "%s needs %s", ProviderLabel(p), name)
		}
	}
	var set providerSecretSet
	for _, name := range slices.Sorted(maps.Keys(given)) {
		value := given[name]
		if !slices.Contains(spec.required, name) && !slices.Contains(spec.optional, name) {
			return providerSecretSet{}, invalid(field, "%s does not use a secret named %q", ProviderLabel(p), name)
		}
		if err := validateSecretValue(field, name, value); err != nil {
			return providerSecretSet{}, err
		}
		param, isRef, err := parseSecretRef(field, name, value)
		if err != nil {
			return providerSecretSet{}, err
		}
		if isRef {
			if set.refs == nil {
				set.refs = map[string]string{}
			}
			set.refs[name] = param
			continue
		}
		if set.literals == nil {
			set.literals = map[string]string{}
		}
		set.literals[name] = value
	}
	return set, nil
}

func validateSecretValue(field, name, value string) error {
	if value == "" {
		return invalid(field, "secret %q is empty", name)
	}
	if len(value) > maxSecretLen || !utf8.ValidString(value) {
		return invalid(field, "secret %q must be UTF-8 of at most %d bytes", name, maxSecretLen)
	}
	return nil
}

// usesSecret reports whether the provider takes a secret of that name.
func usesSecret(p hookgatev1.Provider, name string) bool {
	spec := providerSecrets[p]
	return slices.Contains(spec.required, name) || slices.Contains(spec.optional, name)
}

// validateRequireKey refuses require_key false for a provider that checks
// no signature: the API key would then be the only check, and there would
// be none.
func validateRequireKey(p hookgatev1.Provider, requireKey *bool) error {
	if requireKey == nil || *requireKey {
		return nil
	}
	if p == hookgatev1.Provider_PROVIDER_GENERIC || p == hookgatev1.Provider_PROVIDER_UNSPECIFIED {
		return invalid("webhook.require_key", "false needs a provider that verifies a signature; %s verifies none, so the API key is required", ProviderLabel(p))
	}
	return nil
}

// ProviderLabel is the provider's name as people write it: "STRIPE".
func ProviderLabel(p hookgatev1.Provider) string {
	return strings.TrimPrefix(p.String(), "PROVIDER_")
}

var (
	customAlgorithms = []string{"sha1", "sha256", "sha512"}
	customEncodings  = []string{"hex", "base64", "base64url"}
	customUnits      = []string{"s", "ms", "rfc3339"}
)

// CUSTOM_HMAC bounds.
const (
	DefaultTolerance = 5 * time.Minute
	maxTolerance     = time.Hour
	maxTemplate      = 1024
	maxAffix         = 32
)

// headerName is an HTTP field name (RFC 9110 token).
var headerName = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$")

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
	if !headerName.MatchString(c.Header) {
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
	if !slices.Contains(customEncodings, c.Encoding) {
		return invalid("webhook.custom_hmac.encoding", "%q: want hex, base64 or base64url", c.Encoding)
	}
	for _, h := range []struct{ field, value string }{{"timestamp_header", c.TimestampHeader}, {"id_header", c.IdHeader}} {
		if h.value != "" && !headerName.MatchString(h.value) {
			return invalid("webhook.custom_hmac."+h.field, "must name an HTTP header")
		}
	}
	for _, a := range []struct{ field, value string }{{"prefix", c.Prefix}, {"separator", c.Separator}, {"timestamp_prefix", c.TimestampPrefix}} {
		if len(a.value) > maxAffix || !printable(a.value) {
			return invalid("webhook.custom_hmac."+a.field, "must be at most %d printable ASCII characters", maxAffix)
		}
	}
	haveTimestamp := c.TimestampHeader != ""
	if err := validateTimestamp(c, haveTimestamp); err != nil {
		return err
	}
	if c.Template == "" {
		c.Template = "{body}"
	}
	return validateTemplate(c.Template, haveTimestamp, c.IdHeader != "")
}

// validateTimestamp checks and defaults the unit, the tolerance and the
// timestamp prefix, which all need a timestamp header.
func validateTimestamp(c *hookgatev1.CustomHmac, haveTimestamp bool) error {
	if !haveTimestamp {
		switch {
		case c.TimestampUnit != "":
			return invalid("webhook.custom_hmac.timestamp_unit", "needs custom_hmac.timestamp_header")
		case c.Tolerance != nil:
			return invalid("webhook.custom_hmac.tolerance", "needs custom_hmac.timestamp_header")
		case c.TimestampPrefix != "":
			return invalid("webhook.custom_hmac.timestamp_prefix", "needs custom_hmac.timestamp_header")
		}
		return nil
	}
	if c.TimestampUnit == "" {
		c.TimestampUnit = "s"
	}
	if !slices.Contains(customUnits, c.TimestampUnit) {
		return invalid("webhook.custom_hmac.timestamp_unit", "%q: want s, ms or rfc3339", c.TimestampUnit)
	}
	if c.TimestampHeader == c.Header && (c.TimestampPrefix == "" || c.Separator == "") {
		return invalid("webhook.custom_hmac.timestamp_prefix", "a timestamp in the signature header needs timestamp_prefix and separator")
	}
	if c.Tolerance == nil {
		c.Tolerance = durationpb.New(DefaultTolerance)
	}
	if err := c.Tolerance.CheckValid(); err != nil {
		return invalid("webhook.custom_hmac.tolerance", "is not a valid duration")
	}
	if d := c.Tolerance.AsDuration(); d <= 0 || d > maxTolerance {
		return invalid("webhook.custom_hmac.tolerance", "must be more than 0 and at most %s, got %s", maxTolerance, d)
	}
	return nil
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// validateTemplate accepts {body}, {timestamp} (with a timestamp header),
// {id} (with an id header), {url}, {method} and {header:Name} placeholders
// in otherwise literal text. {body} is required: a signature that does not
// cover the body authenticates nothing the consumer reads.
func validateTemplate(t string, haveTimestamp, haveID bool) error {
	const field = "webhook.custom_hmac.template"
	if len(t) > maxTemplate || !utf8.ValidString(t) {
		return invalid(field, "must be UTF-8 of at most %d bytes", maxTemplate)
	}
	rest := t
	for {
		i := strings.IndexAny(rest, "{}")
		if i < 0 {
			break
		}
		if rest[i] == '}' {
			return invalid(field, "'}' without '{'")
		}
		j := strings.IndexAny(rest[i+1:], "{}")
		if j < 0 || rest[i+1+j] == '{' {
			return invalid(field, "unclosed '{'")
		}
		ph := rest[i+1 : i+1+j]
		switch {
		case ph == "body", ph == "url", ph == "method":
		case ph == "timestamp":
			if !haveTimestamp {
				return invalid(field, "{timestamp} needs custom_hmac.timestamp_header")
			}
		case ph == "id":
			if !haveID {
				return invalid(field, "{id} needs custom_hmac.id_header")
			}
		case strings.HasPrefix(ph, "header:"):
			if !headerName.MatchString(strings.TrimPrefix(ph, "header:")) {
				return invalid(field, "{%s} must name an HTTP header", ph)
			}
		default:
			return invalid(field, "unknown placeholder {%s}: use {body}, {timestamp}, {id}, {url}, {method} or {header:Name}", ph)
		}
		rest = rest[i+1+j+1:]
	}
	if !strings.Contains(t, "{body}") {
		return invalid(field, "must contain {body}")
	}
	return nil
}
