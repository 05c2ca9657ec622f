package verify

import (
	"fmt"

	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
)

// ConfigError is a bad HMAC or CUSTOM_HMAC configuration. Field is the
// field at fault as CustomHmac names it ("template", "timestamp_unit"),
// so the control plane can answer InvalidArgument naming
// "webhook.custom_hmac.<field>". It never carries a secret.
type ConfigError struct {
	Field   string
	Problem string
}

func (e *ConfigError) Error() string { return e.Field + ": " + e.Problem }

func configErr(field, format string, args ...any) error {
	return &ConfigError{Field: field, Problem: fmt.Sprintf(format, args...)}
}

// CustomSecret is the secret name of CUSTOM_HMAC webhooks.
const CustomSecret = "secret"

// Custom compiles a CUSTOM_HMAC configuration. The error is a
// *ConfigError naming the field. The scheme's secret is "secret".
func Custom(c *hookgatev1.CustomHmac) (Scheme, error) {
	if c == nil {
		return nil, &ConfigError{Field: "custom_hmac", Problem: "is required for CUSTOM_HMAC"}
	}
	s, err := NewHMAC(HMAC{
		Header:          c.GetHeader(),
		Algorithm:       c.GetAlgorithm(),
		Encoding:        c.GetEncoding(),
		Prefix:          c.GetPrefix(),
		Template:        c.GetTemplate(),
		TimestampHeader: c.GetTimestampHeader(),
		TimestampPrefix: c.GetTimestampPrefix(),
		TimestampUnit:   customUnit(c.GetTimestampUnit()),
		Tolerance:       c.GetTolerance().AsDuration(),
		IDHeader:        c.GetIdHeader(),
		Separator:       c.GetSeparator(),
		Secret:          CustomSecret,
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// customUnit keeps presets' "auto" out of CUSTOM_HMAC: it is not a unit
// people configure, so it is hmacRefused like any unknown one.
func customUnit(u string) string {
	if u == "auto" {
		return "auto?"
	}
	return u
}

// ValidateCustom reports whether Custom would accept c; the control plane
// runs it at registration so a webhook the edge cannot verify is hmacRefused
// there (InvalidArgument naming the *ConfigError's field).
func ValidateCustom(c *hookgatev1.CustomHmac) error {
	_, err := Custom(c)
	return err
}
