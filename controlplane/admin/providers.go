package admin

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"maps"
	"net/textproto"
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
		if err := validateSecretFormat(field, p, name, value); err != nil {
			return providerSecretSet{}, err
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

// secretFormats checks the values of the secrets whose form the edge
// parses (dataplane/verify asymmetric.go and the Standard Webhooks key in
// hmac.go, which this module may not import): a value the edge cannot
// parse verifies nothing, and every call would be answered 401. Each
// returns "" or what the value must be, never the value.
var secretFormats = map[hookgatev1.Provider]map[string]func(string) string{
	hookgatev1.Provider_PROVIDER_DISCORD:           {"public_key": discordPublicKey},
	hookgatev1.Provider_PROVIDER_SENDGRID:          {"public_key": sendgridPublicKey},
	hookgatev1.Provider_PROVIDER_STANDARD_WEBHOOKS: {"signing_secret": standardSigningSecret, "public_key": standardPublicKey},
}

// validateSecretFormat checks a literal value of the secret name against
// the form the edge parses for the provider. References are not checked:
// the parameter's value can change after registration (and is checked by
// nobody then), so a parameter of the wrong form reads at the edge as
// secret_missing, like any unusable value.
func validateSecretFormat(field string, p hookgatev1.Provider, name, value string) error {
	check := secretFormats[p][name]
	if check == nil {
		return nil
	}
	if problem := check(value); problem != "" {
		return invalid(field, "%s secret %q %s", ProviderLabel(p), name, problem)
	}
	return nil
}

// discordPublicKey: the application's Ed25519 public key as the developer
// portal shows it, hex (either case), exactly as the edge decodes it.
func discordPublicKey(v string) string {
	const problem = "must be 64 hex characters: the application's 32-byte Ed25519 public key"
	if len(v) != 2*ed25519.PublicKeySize {
		return problem
	}
	if _, err := hex.DecodeString(v); err != nil {
		return problem
	}
	return ""
}

// sendgridPublicKey: the verification key as SendGrid shows it, base64 DER
// SubjectPublicKeyInfo, or PEM; blanks around it are ignored, as the edge
// ignores them.
func sendgridPublicKey(v string) string {
	const problem = "must be an ECDSA P-256 public key, base64 DER (SubjectPublicKeyInfo) as SendGrid shows it, or PEM"
	v = strings.TrimSpace(v)
	var der []byte
	if strings.HasPrefix(v, "-----BEGIN") {
		block, _ := pem.Decode([]byte(v))
		if block == nil {
			return problem
		}
		der = block.Bytes
	} else {
		var err error
		if der, err = base64.StdEncoding.DecodeString(v); err != nil {
			return problem
		}
	}
	key, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return problem
	}
	if pub, ok := key.(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
		return problem
	}
	return ""
}

// standardSigningSecret: whsec_ + base64, or bare base64, of 24 to 64
// bytes (the Standard Webhooks specification's bounds; the edge needs at
// least one byte).
func standardSigningSecret(v string) string {
	k, err := decodeStandardKey(v, "whsec_")
	if err != nil || len(k) < 24 || len(k) > 64 {
		return "must be whsec_ followed by base64 (or bare base64) of 24 to 64 bytes"
	}
	return ""
}

// standardPublicKey: whpk_ + base64, or bare base64, of a 32-byte Ed25519
// public key (for v1a signatures).
func standardPublicKey(v string) string {
	k, err := decodeStandardKey(v, "whpk_")
	if err != nil || len(k) != ed25519.PublicKeySize {
		return "must be whpk_ followed by base64 (or bare base64) of a 32-byte Ed25519 public key"
	}
	return ""
}

// decodeStandardKey reads a Standard Webhooks key as the edge does: the
// prefix stripped, up to two '=' of padding dropped, then unpadded
// standard base64.
func decodeStandardKey(v, prefix string) ([]byte, error) {
	v = strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(v, prefix), "="), "=")
	return base64.RawStdEncoding.DecodeString(v)
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

// CUSTOM_HMAC bounds. The edge compiles the same configuration with
// dataplane/verify (verify.Custom), which this module may not import; these
// rules are the edge's or tighter, so that everything registered here
// compiles there (cmd/hookgate/contract holds the two to it).
const (
	DefaultTolerance = 5 * time.Minute
	maxTolerance     = time.Hour
	maxTemplate      = 1024
	maxTemplateParts = 32
	maxAffix         = 32
	maxSeparator     = 4
)

// separatorForbidden are the characters a separator may not hold besides
// letters and digits: they occur in base64 and base64url signatures and in
// prefixes such as "sha256=", so splitting at them would cut entries.
const separatorForbidden = "+/-_="

// headerName is an HTTP field name (RFC 9110 token).
var headerName = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$")

// ValidateCustomHmac checks c as registration checks a CUSTOM_HMAC
// configuration and fills in the defaults registration stores (algorithm,
// encoding, template, and with a timestamp header its unit and tolerance),
// so c is then what the edge receives. The error is InvalidArgument naming
// webhook.custom_hmac.<field>. It exists for the contract test that holds
// the control plane to the edge's rules.
func ValidateCustomHmac(c *hookgatev1.CustomHmac) error {
	return validateCustomHmac(hookgatev1.Provider_PROVIDER_CUSTOM_HMAC, c)
}

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
	if err := validateAffixes(c); err != nil {
		return err
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

// validateAffixes checks prefix, timestamp_prefix and separator. The edge
// splits the signature header at the separator and trims each entry of
// blanks before it matches the prefixes, so a prefix that starts with a
// blank or holds the separator could never match.
func validateAffixes(c *hookgatev1.CustomHmac) error {
	prefixes := []struct{ field, value string }{{"prefix", c.Prefix}, {"timestamp_prefix", c.TimestampPrefix}}
	for _, a := range prefixes {
		if len(a.value) > maxAffix || !printable(a.value) {
			return invalid("webhook.custom_hmac."+a.field, "must be at most %d printable ASCII characters", maxAffix)
		}
		if strings.HasPrefix(a.value, " ") {
			return invalid("webhook.custom_hmac."+a.field, "must not start with a blank: signature entries are trimmed of blanks before prefixes are matched")
		}
	}
	sep := c.Separator
	if sep == "" {
		return nil
	}
	if len(sep) > maxSeparator || !printable(sep) {
		return invalid("webhook.custom_hmac.separator", "must be at most %d printable ASCII characters", maxSeparator)
	}
	for i := 0; i < len(sep); i++ {
		if alnum(sep[i]) || strings.IndexByte(separatorForbidden, sep[i]) >= 0 {
			return invalid("webhook.custom_hmac.separator", "%q must not contain letters, digits or any of %s: they occur in signatures and prefixes", sep, separatorForbidden)
		}
	}
	for _, a := range prefixes {
		if strings.Contains(a.value, sep) {
			return invalid("webhook.custom_hmac.separator", "%q appears in custom_hmac.%s: splitting entries at it would cut the prefix", sep, a.field)
		}
	}
	return nil
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
	// Header names compare as HTTP does (the edge reads both through
	// http.Header): "stripe-signature" is "Stripe-Signature".
	if textproto.CanonicalMIMEHeaderKey(c.TimestampHeader) == textproto.CanonicalMIMEHeaderKey(c.Header) {
		if err := validateTimestampEntry(c); err != nil {
			return err
		}
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

// validateTimestampEntry checks a timestamp carried in the signature header
// itself (Stripe's "t=…,v1=…"): the edge tells the timestamp entry from
// signature entries by their prefixes alone, so both are needed and neither
// may start the other.
func validateTimestampEntry(c *hookgatev1.CustomHmac) error {
	switch {
	case c.TimestampPrefix == "" || c.Separator == "":
		return invalid("webhook.custom_hmac.timestamp_prefix", "a timestamp in the signature header (timestamp_header is header, ignoring case) needs timestamp_prefix and separator")
	case c.Prefix == "":
		return invalid("webhook.custom_hmac.prefix", "is required when the timestamp is in the signature header, to tell signature entries from the timestamp entry")
	case strings.HasPrefix(c.TimestampPrefix, c.Prefix), strings.HasPrefix(c.Prefix, c.TimestampPrefix):
		return invalid("webhook.custom_hmac.timestamp_prefix", "%q and prefix %q: neither may start the other, or a signature entry could be read as the timestamp", c.TimestampPrefix, c.Prefix)
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

func alnum(b byte) bool {
	return b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}

// validateTemplate accepts {body}, {timestamp} (with a timestamp header),
// {id} (with an id header), {url}, {method} and {header:Name} placeholders
// in otherwise literal text, at most maxTemplateParts pieces counted as the
// edge compiles them (each placeholder and each run of text between them).
// {body} appears exactly once: a signature that does not cover the body
// authenticates nothing the consumer reads, and the edge streams the body
// once. With a timestamp header, {timestamp} is required: a timestamp the
// signature does not cover proves nothing about freshness.
func validateTemplate(t string, haveTimestamp, haveID bool) error {
	const field = "webhook.custom_hmac.template"
	if len(t) > maxTemplate || !utf8.ValidString(t) {
		return invalid(field, "must be UTF-8 of at most %d bytes", maxTemplate)
	}
	bodies, timestamps, parts := 0, 0, 0
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
		if i > 0 {
			parts++ // the text before the placeholder
		}
		parts++
		ph := rest[i+1 : i+1+j]
		switch {
		case ph == "body":
			bodies++
		case ph == "url", ph == "method":
		case ph == "timestamp":
			if !haveTimestamp {
				return invalid(field, "{timestamp} needs custom_hmac.timestamp_header")
			}
			timestamps++
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
	if rest != "" {
		parts++
	}
	switch {
	case bodies == 0:
		return invalid(field, "must contain {body}")
	case bodies > 1:
		return invalid(field, "must contain {body} exactly once, not %d times", bodies)
	case parts > maxTemplateParts:
		return invalid(field, "has %d parts (placeholders and the text between them): at most %d", parts, maxTemplateParts)
	case haveTimestamp && timestamps == 0:
		return invalid(field, "must contain {timestamp}: custom_hmac.timestamp_header is set, and a timestamp the signature does not cover proves nothing")
	}
	return nil
}
