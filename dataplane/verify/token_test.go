package verify_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"testing"
	"time"

	"github.com/hookgate/hookgate/dataplane/verify"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
)

// gitlabSign is an independent Standard Webhooks v1 signer.
func gitlabSign(key []byte, id, ts, body string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + ts + "." + body))
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func TestGitLab(t *testing.T) {
	t.Parallel()
	tok := verify.Secrets{"token": one("glt-secret")}
	body := `{"object_kind":"push"}`
	req := func(now time.Time, h ...string) *verify.Request { return discordReq(now, body, h...) }
	raw := []byte("0123456789abcdef0123456789abcdef")
	whsec := "whsec_" + base64.StdEncoding.EncodeToString(raw)
	ts := "1700000000"
	id := "d0b3c4a2-1"
	sigWhsec := gitlabSign(raw, id, ts, body)
	signed := func(values ...string) verify.Secrets {
		return verify.Secrets{"token": one("glt-secret"), "signing_token": values}
	}
	sw := func(now time.Time, sig string, more ...string) *verify.Request {
		return req(now, append([]string{"X-Gitlab-Token", "glt-secret", "webhook-id", id, "webhook-timestamp", ts, "webhook-signature", sig}, more...)...)
	}
	cases := []familyCase{
		{"token", req(familyNow, "X-Gitlab-Token", "glt-secret"), tok, ""},
		{"rotation previous token", req(familyNow, "X-Gitlab-Token", "glt-secret"), verify.Secrets{"token": one("new", "glt-secret")}, ""},
		{"wrong token", req(familyNow, "X-Gitlab-Token", "glt-secre"), tok, verify.TokenMismatch},
		{"token prefix of secret", req(familyNow, "X-Gitlab-Token", "glt-secret-longer"), tok, verify.TokenMismatch},
		{"missing token", req(familyNow), tok, verify.SignatureMissing},
		{"empty token", req(familyNow, "X-Gitlab-Token", ""), tok, verify.SignatureMissing},
		{"no secret", req(familyNow, "X-Gitlab-Token", "glt-secret"), verify.Secrets{}, verify.SecretMissing},
		{"empty signing token ignored", req(familyNow, "X-Gitlab-Token", "glt-secret"), signed(""), ""},
		// Signing token (Standard Webhooks v1).
		{"signed whsec_ key", sw(familyNow, sigWhsec), signed(whsec), ""},
		{"signed bare base64 key", sw(familyNow, sigWhsec), signed(base64.StdEncoding.EncodeToString(raw)), ""},
		{"signed raw key", sw(familyNow, gitlabSign([]byte("plain signing token"), id, ts, body)), signed("plain signing token"), ""},
		{"two signatures during rotation", sw(familyNow, gitlabSign([]byte("other"), id, ts, body)+" "+sigWhsec), signed(whsec), ""},
		{"rotation previous signing token", sw(familyNow, sigWhsec), signed("whsec_bmV3LWtleQ==", whsec), ""},
		{"unknown versions skipped", sw(familyNow, "v2,abc v1a,xyz "+sigWhsec), signed(whsec), ""},
		{"token wrong, signature fine", req(familyNow, "X-Gitlab-Token", "bad", "webhook-id", id, "webhook-timestamp", ts, "webhook-signature", sigWhsec), signed(whsec), verify.TokenMismatch},
		{"signature missing", req(familyNow, "X-Gitlab-Token", "glt-secret"), signed(whsec), verify.SignatureMissing},
		{"tampered body", func() *verify.Request { r := sw(familyNow, sigWhsec); r.Body = []byte(body + " "); return r }(), signed(whsec), verify.SignatureMismatch},
		{"wrong signing token", sw(familyNow, sigWhsec), signed("whsec_d3Jvbmc="), verify.SignatureMismatch},
		{"stale", sw(familyNow.Add(6*time.Minute), sigWhsec), signed(whsec), verify.TimestampOutsideTolerance},
		{"future", sw(familyNow.Add(-6*time.Minute), sigWhsec), signed(whsec), verify.TimestampOutsideTolerance},
		{"timestamp missing", req(familyNow, "X-Gitlab-Token", "glt-secret", "webhook-id", id, "webhook-signature", sigWhsec), signed(whsec), verify.TimestampMissing},
		{"id missing", req(familyNow, "X-Gitlab-Token", "glt-secret", "webhook-timestamp", ts, "webhook-signature", sigWhsec), signed(whsec), verify.SignatureMalformed},
		{"no v1 entry", sw(familyNow, "v1a,abc"), signed(whsec), verify.SignatureMalformed},
		{"v1 not base64", sw(familyNow, "v1,!!!"), signed(whsec), verify.SignatureMalformed},
		{"whsec_ not base64", sw(familyNow, sigWhsec), signed("whsec_!!"), verify.SignatureMismatch},
	}
	runFamily(t, hookgatev1.Provider_PROVIDER_GITLAB, cases)
	s := familyScheme(t, hookgatev1.Provider_PROVIDER_GITLAB).(verify.DeliveryIDer)
	if got := s.DeliveryID(req(familyNow, "X-Gitlab-Event-UUID", "uuid-1")); got != "uuid-1" {
		t.Fatalf("DeliveryID = %q", got)
	}
}

// FuzzGitLab checks Verify on arbitrary token and signature headers.
func FuzzGitLab(f *testing.F) {
	f.Add("glt-secret", "1700000000", "v1,AAAA v1a,x")
	f.Add("", "", ",,, v1,")
	s := familyScheme(f, hookgatev1.Provider_PROVIDER_GITLAB)
	f.Fuzz(func(t *testing.T, token, ts, sig string) {
		r := discordReq(familyNow, "{}", "X-Gitlab-Token", token, "webhook-id", "id", "webhook-timestamp", ts, "webhook-signature", sig)
		var fl *verify.Failure
		err := s.Verify(r, verify.Secrets{"token": one("glt-secret"), "signing_token": one("whsec_AAAA", "raw")})
		if err != nil && !errors.As(err, &fl) {
			t.Fatalf("Verify = %v, not a *Failure", err)
		}
		if err == nil && token != "glt-secret" {
			t.Fatal("verified with another token")
		}
	})
}
