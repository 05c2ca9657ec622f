package verify_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/dataplane/verify"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
)

func BenchmarkStripe1KiB(b *testing.B)  { benchStripe(b, 1<<10) }
func BenchmarkStripe64KiB(b *testing.B) { benchStripe(b, 64<<10) }

// benchStripe verifies a Stripe call with a fresh timestamp and one v1
// signature, as the edge does on every call.
func benchStripe(b *testing.B, size int) {
	s, _ := verify.For(hookgatev1.Provider_PROVIDER_STRIPE)
	now := time.Unix(1_800_000_000, 0)
	body := `{"id":"evt_1","object":"event","data":"` + strings.Repeat("x", size-40) + `"}`
	t := strconv.FormatInt(now.Unix(), 10)
	h := http.Header{}
	h.Set("Stripe-Signature", "t="+t+",v1="+hexMAC("whsec_bench", t, ".", body))
	r := &verify.Request{Method: http.MethodPost, Header: h, Body: []byte(body), Now: now}
	sec := verify.Secrets{"signing_secret": {"whsec_bench"}}
	if err := s.Verify(r, sec); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Verify(r, sec); err != nil {
			b.Fatal(err)
		}
	}
}
