package contract

import (
	"slices"
	"testing"

	"github.com/hookgate/hookgate/controlplane/admin"
	"github.com/hookgate/hookgate/dataplane/verify"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
)

// TestProviderSecretNamesAgree: the control plane refuses secrets its
// table does not name, and the edge's schemes read secrets by name, so the
// two tables (one per plane, which may not import each other) must agree
// for every provider, and every provider but GENERIC and CUSTOM_HMAC must
// have a scheme.
func TestProviderSecretNamesAgree(t *testing.T) {
	schemes := map[hookgatev1.Provider]verify.Info{}
	for _, info := range verify.Providers() {
		schemes[info.Provider] = info
	}
	for v, name := range hookgatev1.Provider_name {
		p := hookgatev1.Provider(v)
		switch p {
		case hookgatev1.Provider_PROVIDER_UNSPECIFIED, hookgatev1.Provider_PROVIDER_GENERIC, hookgatev1.Provider_PROVIDER_CUSTOM_HMAC:
			if _, ok := schemes[p]; ok {
				t.Errorf("%s has a preset scheme", name)
			}
			continue
		}
		info, ok := schemes[p]
		if !ok {
			t.Errorf("%s: no scheme at the edge", name)
			continue
		}
		if _, ok := verify.For(p); !ok {
			t.Errorf("%s: verify.For finds no scheme", name)
		}
		required, optional := admin.ProviderSecrets(p)
		if !slices.Equal(required, info.Secrets) || !slices.Equal(optional, info.Optional) {
			t.Errorf("%s: control plane requires %v (optional %v), the edge's scheme %v (optional %v)",
				name, required, optional, info.Secrets, info.Optional)
		}
	}
}
