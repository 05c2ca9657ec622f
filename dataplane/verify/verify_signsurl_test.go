package verify_test

import (
	"testing"

	"github.com/hookgate/hookgate/dataplane/verify"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
)

func TestSignsURL(t *testing.T) {
	for p, want := range map[hookgatev1.Provider]bool{
		hookgatev1.Provider_PROVIDER_TWILIO: true, hookgatev1.Provider_PROVIDER_SQUARE: true, hookgatev1.Provider_PROVIDER_HUBSPOT: true,
		hookgatev1.Provider_PROVIDER_STRIPE: false, hookgatev1.Provider_PROVIDER_GITHUB: false, hookgatev1.Provider_PROVIDER_GENERIC: false,
	} {
		if got := verify.SignsURL(p, nil); got != want {
			t.Errorf("SignsURL(%v) = %v, want %v", p, got, want)
		}
	}
	if !verify.SignsURL(hookgatev1.Provider_PROVIDER_CUSTOM_HMAC, &hookgatev1.CustomHmac{Template: "{url}{body}"}) ||
		verify.SignsURL(hookgatev1.Provider_PROVIDER_CUSTOM_HMAC, &hookgatev1.CustomHmac{Template: "{body}"}) {
		t.Error("SignsURL of CUSTOM_HMAC does not follow its template")
	}
}
