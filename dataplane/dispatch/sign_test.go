package dispatch_test

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/dataplane/dispatch"
	"github.com/hookgate/hookgate/dataplane/verify"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
)

// The published Standard Webhooks vectors (shared/providers.md).
const (
	vecSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vecSK     = "whsk_6Xb/dCcHpPea21PS1N9VY/NZW723CEc77N4rJCubMbfVKIDij2HKpMKkioLlX0dRqSKJp4AJ6p9lMicMFs6Kvg=="
	vecPK     = "whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4="
	vecID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vecTS     = 1614265330
	vecBody   = `{"test": 2432232314}`
	vecV1     = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	vecV1a    = "v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg=="
)

func mustSecret(t *testing.T, s string) dispatch.Secret {
	t.Helper()
	sec, err := dispatch.ParseSecret(s)
	if err != nil {
		t.Fatalf("parse secret: %v", err)
	}
	return sec
}

// newWhsec returns a fresh "whsec_" secret of n random bytes.
func newWhsec(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

// recompute is an independent Standard Webhooks v1 signer: the scheme as
// the spec states it, without the package's code.
func recompute(secret, id string, ts int64, body string) string {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		panic(err)
	}
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "%s.%d.%s", id, ts, body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func TestSignatureVectors(t *testing.T) {
	t.Parallel()
	ts := time.Unix(vecTS, 0)
	tests := []struct {
		name    string
		secrets []string
		want    string
	}{
		{"v1 published", []string{vecSecret}, vecV1},
		{"v1a published", []string{vecSK}, vecV1a},
		{"v1 and v1a", []string{vecSecret, vecSK}, vecV1 + " " + vecV1a},
		{"none", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var secs []dispatch.Secret
			for _, s := range tt.secrets {
				secs = append(secs, mustSecret(t, s))
			}
			if got := dispatch.Signature(vecID, ts, []byte(vecBody), secs); got != tt.want {
				t.Fatalf("signature = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSignatureRecomputed(t *testing.T) {
	t.Parallel()
	cur, old := newWhsec(t, 32), newWhsec(t, 24)
	bodies := []string{``, `{}`, `{"order":"ORD-1","note":"ünïcode \u00e9"}`, strings.Repeat("x", 70000)}
	for i, body := range bodies {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			ts := time.Unix(1700000000+int64(i), 0)
			got := dispatch.Signature("msg_abc", ts, []byte(body), []dispatch.Secret{mustSecret(t, cur), mustSecret(t, old)})
			want := recompute(cur, "msg_abc", ts.Unix(), body) + " " + recompute(old, "msg_abc", ts.Unix(), body)
			if got != want {
				t.Fatalf("signature = %q, want %q", got, want)
			}
		})
	}
}

// TestSignatureVerifiedByReceiver sends what the dispatcher signs through
// the edge's own Standard Webhooks verifier, unchanged: the receiver side
// must accept it, with one secret, during a rotation and with v1a.
func TestSignatureVerifiedByReceiver(t *testing.T) {
	t.Parallel()
	scheme, ok := verify.For(hookgatev1.Provider_PROVIDER_STANDARD_WEBHOOKS)
	if !ok {
		t.Fatal("no Standard Webhooks scheme")
	}
	cur, old := newWhsec(t, 32), newWhsec(t, 32)
	seed := make([]byte, ed25519.SeedSize)
	if _, err := rand.Read(seed); err != nil {
		t.Fatal(err)
	}
	sk := "whsk_" + base64.StdEncoding.EncodeToString(seed)
	edSecret := mustSecret(t, sk)
	now := time.Now()
	body := []byte(`{"type":"order.created","data":{"id":"ORD-12345"}}`)
	tests := []struct {
		name     string
		sign     []string
		receiver verify.Secrets
		want     verify.Reason // "" = verified
	}{
		{"current", []string{cur}, verify.Secrets{"signing_secret": {cur}}, ""},
		{"rotation receiver knows new", []string{cur, old}, verify.Secrets{"signing_secret": {cur}}, ""},
		{"rotation receiver knows old", []string{cur, old}, verify.Secrets{"signing_secret": {old}}, ""},
		// The edge's verifier insists on a signing_secret even when only v1a
		// is sent; give it an unrelated one.
		{"v1a", []string{sk}, verify.Secrets{"signing_secret": {old}, "public_key": {edSecret.PublicKey()}}, ""},
		{"v1 and v1a, receiver knows v1a", []string{cur, sk}, verify.Secrets{"signing_secret": {old}, "public_key": {edSecret.PublicKey()}}, ""},
		{"wrong secret", []string{cur}, verify.Secrets{"signing_secret": {old}}, verify.SignatureMismatch},
		{"v1a wrong key", []string{sk}, verify.Secrets{"signing_secret": {old}, "public_key": {vecPK}}, verify.SignatureMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var secs []dispatch.Secret
			for _, s := range tt.sign {
				secs = append(secs, mustSecret(t, s))
			}
			h := http.Header{}
			dispatch.SetSignatureHeaders(h, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", now, body, secs)
			err := scheme.Verify(&verify.Request{Method: http.MethodPost, Header: h, Body: body, Now: now}, tt.receiver)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("receiver refused: %v", err)
				}
				return
			}
			var f *verify.Failure
			if !errors.As(err, &f) || f.Reason != tt.want {
				t.Fatalf("receiver: %v, want %s", err, tt.want)
			}
		})
	}
	// A body changed in transit must not verify.
	h := http.Header{}
	dispatch.SetSignatureHeaders(h, "msg_x", now, body, []dispatch.Secret{mustSecret(t, cur)})
	err := scheme.Verify(&verify.Request{Method: http.MethodPost, Header: h, Body: append([]byte{' '}, body...), Now: now}, verify.Secrets{"signing_secret": {cur}})
	if err == nil {
		t.Fatal("tampered body verified")
	}
}

func TestSignatureHeaders(t *testing.T) {
	t.Parallel()
	h := http.Header{}
	dispatch.SetSignatureHeaders(h, vecID, time.Unix(vecTS, 0), []byte(vecBody), []dispatch.Secret{mustSecret(t, vecSecret)})
	for name, want := range map[string]string{"webhook-id": vecID, "webhook-timestamp": "1614265330", "webhook-signature": vecV1} {
		if got := h.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
}

func TestParseSecret(t *testing.T) {
	t.Parallel()
	pub := mustSecret(t, vecSK).PublicKey()
	if pub != vecPK {
		t.Fatalf("public key = %q, want %q", pub, vecPK)
	}
	if mustSecret(t, vecSecret).PublicKey() != "" || mustSecret(t, vecSecret).IsAsymmetric() {
		t.Fatal("symmetric secret has a public key")
	}
	skBytes, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(vecSK, "whsk_"))
	mismatched := append([]byte{}, skBytes...)
	mismatched[40] ^= 1
	tests := []struct {
		name, in string
		ok       bool
	}{
		{"whsec 24", vecSecret, true},
		{"whsec 64", newWhsec(t, 64), true},
		{"whsk 64", vecSK, true},
		{"whsk seed", "whsk_" + base64.StdEncoding.EncodeToString(skBytes[:32]), true},
		{"empty", "", false},
		{"no prefix", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", false},
		{"whsec empty", "whsec_", false},
		{"whsec short", newWhsec(t, 16), false},
		{"whsec long", newWhsec(t, 65), false},
		{"whsec not base64", "whsec_!!!!", false},
		{"whsk not base64", "whsk_***", false},
		{"whsk wrong size", "whsk_" + base64.StdEncoding.EncodeToString(skBytes[:40]), false},
		{"whsk public half mismatch", "whsk_" + base64.StdEncoding.EncodeToString(mismatched), false},
		{"whpk is no secret", vecPK, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sec, err := dispatch.ParseSecret(tt.in)
			if (err == nil) != tt.ok {
				t.Fatalf("ParseSecret err = %v, want ok %v", err, tt.ok)
			}
			if err == nil {
				// Reveal reads back to a secret that signs the same.
				again, err := dispatch.ParseSecret(sec.Reveal())
				if err != nil {
					t.Fatalf("ParseSecret(Reveal()): %v", err)
				}
				ts := time.Unix(1700000000, 0)
				if got, want := dispatch.Signature("msg_1", ts, []byte("{}"), []dispatch.Secret{again}),
					dispatch.Signature("msg_1", ts, []byte("{}"), []dispatch.Secret{sec}); got != want {
					t.Fatalf("revealed secret signs %q, want %q", got, want)
				}
			}
			if err != nil {
				if !errors.Is(err, dispatch.ErrSecret) {
					t.Fatalf("error %v is not ErrSecret", err)
				}
				if tt.in != "" && len(tt.in) > 8 && strings.Contains(err.Error(), tt.in[6:]) {
					t.Fatalf("error %q carries the value", err)
				}
			}
		})
	}
}

func TestSecretRedacted(t *testing.T) {
	t.Parallel()
	s := mustSecret(t, vecSecret)
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "secret", s)
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s %x", s, s, s, s, s), logged.String()} {
		if strings.Contains(out, "MfKQ") || !strings.Contains(out, "REDACTED") {
			t.Fatalf("secret printed as %q", out)
		}
	}
}
