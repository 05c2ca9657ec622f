package e2e

import (
	"strings"
	"testing"

	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
)

// TestProvidersCommand: `hookgate providers` and the help of
// `webhooks create --provider` list every provider, with its secrets.
func TestProvidersCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	table := mustRun(t, dir, nil, "providers")
	help := mustRun(t, dir, nil, "webhooks", "create", "--help")
	for v := range hookgatev1.Provider_name {
		p := hookgatev1.Provider(v)
		if p == hookgatev1.Provider_PROVIDER_UNSPECIFIED {
			continue
		}
		name := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(p.String(), "PROVIDER_"), "_", "-"))
		if !strings.Contains(table, "\n"+name+" ") {
			t.Errorf("hookgate providers does not list %s", name)
		}
		if !strings.Contains(help, name+":") {
			t.Errorf("webhooks create --help does not list %s", name)
		}
	}
	for _, want := range []string{"signing_secret", "app_secret, verify_token", "url_verification", "X-GitHub-Delivery"} {
		if !strings.Contains(table, want) {
			t.Errorf("hookgate providers does not mention %q:\n%s", want, table)
		}
	}
}
