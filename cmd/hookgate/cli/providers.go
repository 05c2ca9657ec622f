package cli

import (
	"strings"

	"github.com/hookgate/hookgate/controlplane/admin"
	"github.com/hookgate/hookgate/dataplane/verify"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/spf13/cobra"
)

// providerRows are the providers' table: name, scheme, required secrets,
// handshake and dedup id, GENERIC and CUSTOM_HMAC included.
func providerRows() [][]string {
	rows := [][]string{{"generic", "API key only", "-", "-", "webhook-id, Idempotency-Key, … headers"}}
	for _, p := range verify.Providers() {
		secrets := strings.Join(p.Secrets, ", ")
		if len(p.Optional) > 0 {
			secrets += " (optional: " + strings.Join(p.Optional, ", ") + ")"
		}
		rows = append(rows, []string{flagName(p.Provider), p.Scheme, orDash(secrets), orDash(p.Handshake), orDash(p.DeliveryID)})
	}
	rows = append(rows, []string{"custom-hmac", "HMAC of a template (--custom-* settings)", "secret", "-", "its id header"})
	return rows
}

// flagName is a provider as --provider takes it: "standard-webhooks".
func flagName(p hookgatev1.Provider) string {
	return strings.ToLower(strings.ReplaceAll(admin.ProviderLabel(p), "_", "-"))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// providerHelp lists every provider with its secrets, for the help of
// --provider.
func providerHelp() string {
	var b strings.Builder
	for _, r := range providerRows() {
		b.WriteString("\n  " + r[0] + ": " + r[2])
	}
	return b.String()
}

func newProvidersCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "providers",
		Short: "List the providers whose signatures the edge verifies: scheme, secrets, handshake and dedup id",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c := &cli{out: cmd.OutOrStdout()}
			return c.table([]string{"PROVIDER", "SCHEME", "SECRETS", "HANDSHAKE", "DEDUP ID"}, providerRows())
		},
	}
}
