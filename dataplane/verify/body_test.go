package verify_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/dataplane/verify"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
)

const (
	// Self-made vector, providers.md §3.
	mailgunKey   = "key-test-signing"
	mailgunTSV   = "1700000000"
	mailgunToken = "e0b5477167110d68991efc6b9f89f0a11066af27834600e123"
	mailgunSigV  = "dd2cc8ecd382b570fc827bed3d5c5e1374c762d323601acabf69edad67155fbb"
)

// mailgunSign is an independent signer: hex HMAC-SHA256 of timestamp ‖ token.
func mailgunSign(key, ts, token string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(ts + token))
	return hex.EncodeToString(m.Sum(nil))
}

func mailgunJSON(ts, token, sig, extra string) string {
	return `{"signature":{"token":"` + token + `","timestamp":` + ts + `,"signature":"` + sig + `"` + extra + `},"event-data":{"event":"delivered","id":"evt-1"}}`
}

func TestMailgun(t *testing.T) {
	t.Parallel()
	key := verify.Secrets{"signing_key": one(mailgunKey)}
	q := `"` + mailgunTSV + `"`
	req := func(now time.Time, ct, body string) *verify.Request {
		r := discordReq(now, body)
		if ct != "" {
			r.Header.Set("Content-Type", ct)
		}
		return r
	}
	j := func(now time.Time, body string) *verify.Request { return req(now, "application/json", body) }
	form := url.Values{"timestamp": {mailgunTSV}, "token": {mailgunToken}, "signature": {mailgunSigV}, "event": {"delivered"}}.Encode()
	cases := []familyCase{
		{"vector JSON", j(familyNow, mailgunJSON(q, mailgunToken, mailgunSigV, "")), key, ""},
		{"vector JSON numeric timestamp", j(familyNow, mailgunJSON(mailgunTSV, mailgunToken, mailgunSigV, "")), key, ""},
		{"vector form", req(familyNow, formCT, form), key, ""},
		{"vector JSON with whitespace and order", j(familyNow, ` {"event-data":{"signature":"x"}, "signature" : { "signature":"`+mailgunSigV+`", "timestamp":"`+mailgunTSV+`", "token":"`+mailgunToken+`" } }`), key, ""},
		{"fresh", j(familyNow, mailgunJSON(`"1700000100"`, "tok", mailgunSign("k2", "1700000100", "tok"), "")), verify.Secrets{"signing_key": one("k2")}, ""},
		{"parent-signature with primary key", j(familyNow, mailgunJSON(q, mailgunToken, strings.Repeat("0", 64), `,"parent-signature":"`+mailgunSigV+`"`)), key, ""},
		{"rotation previous key", j(familyNow, mailgunJSON(q, mailgunToken, mailgunSigV, "")), verify.Secrets{"signing_key": one("new", mailgunKey)}, ""},
		{"55 min old", j(familyNow.Add(55*time.Minute), mailgunJSON(q, mailgunToken, mailgunSigV, "")), key, ""},
		// The signature does not cover event-data (documented): only the
		// signed fields are tampered with below.
		{"event-data not signed", j(familyNow, strings.Replace(mailgunJSON(q, mailgunToken, mailgunSigV, ""), "delivered", "failed", 1)), key, ""},
		{"tampered token", j(familyNow, mailgunJSON(q, mailgunToken[:49]+"4", mailgunSigV, "")), key, verify.SignatureMismatch},
		{"tampered timestamp", j(familyNow, mailgunJSON(`"1700000001"`, mailgunToken, mailgunSigV, "")), key, verify.SignatureMismatch},
		{"tampered form", req(familyNow, formCT, strings.Replace(form, "e0b5", "e0b6", 1)), key, verify.SignatureMismatch},
		{"wrong key", j(familyNow, mailgunJSON(q, mailgunToken, mailgunSigV, "")), verify.Secrets{"signing_key": one("other")}, verify.SignatureMismatch},
		{"stale", j(familyNow.Add(61*time.Minute), mailgunJSON(q, mailgunToken, mailgunSigV, "")), key, verify.TimestampOutsideTolerance},
		{"future", j(familyNow.Add(-6*time.Minute), mailgunJSON(q, mailgunToken, mailgunSigV, "")), key, verify.TimestampOutsideTolerance},
		{"timestamp missing", j(familyNow, `{"signature":{"token":"t","signature":"`+mailgunSigV+`"}}`), key, verify.TimestampMissing},
		{"timestamp malformed", j(familyNow, mailgunJSON(`"soon"`, mailgunToken, mailgunSigV, "")), key, verify.TimestampMalformed},
		{"timestamp not a string or number", j(familyNow, mailgunJSON(`{"a":1}`, mailgunToken, mailgunSigV, "")), key, verify.TimestampMalformed},
		{"token missing", j(familyNow, `{"signature":{"timestamp":"1700000000","signature":"`+mailgunSigV+`"}}`), key, verify.SignatureMalformed},
		{"signature missing", j(familyNow, `{"signature":{"timestamp":"1700000000","token":"t"}}`), key, verify.SignatureMissing},
		{"signature object missing", j(familyNow, `{"event-data":{}}`), key, verify.SignatureMissing},
		{"signature not an object", j(familyNow, `{"signature":"`+mailgunSigV+`"}`), key, verify.SignatureMalformed},
		{"signature not hex", j(familyNow, mailgunJSON(q, mailgunToken, strings.Repeat("z", 64), "")), key, verify.SignatureMalformed},
		{"form without fields", req(familyNow, formCT, "event=delivered"), key, verify.SignatureMissing},
		{"neither JSON nor form", req(familyNow, "text/plain", "hello"), key, verify.SignatureMissing},
		{"no secret", j(familyNow, mailgunJSON(q, mailgunToken, mailgunSigV, "")), verify.Secrets{}, verify.SecretMissing},
	}
	runFamily(t, hookgatev1.Provider_PROVIDER_MAILGUN, cases)
	s := familyScheme(t, hookgatev1.Provider_PROVIDER_MAILGUN).(verify.DeliveryIDer)
	if got := s.DeliveryID(j(familyNow, mailgunJSON(q, mailgunToken, mailgunSigV, ""))); got != "evt-1" {
		t.Fatalf("DeliveryID = %q", got)
	}
	if got := s.DeliveryID(req(familyNow, formCT, form)); got != "" {
		t.Fatalf("DeliveryID of a form = %q", got)
	}
}

// FuzzMailgun checks Verify and DeliveryID on arbitrary bodies.
func FuzzMailgun(f *testing.F) {
	f.Add("application/json", mailgunJSON(`"`+mailgunTSV+`"`, mailgunToken, mailgunSigV, ""))
	f.Add(formCT, "timestamp=1700000000&token=t&signature=%zz")
	f.Add("application/json", `{"signature":{"token":"\u0061","timestamp":"1","signature":"\"}`)
	f.Add("application/json", `{"signature":[{"a":"}"}]}`)
	s := familyScheme(f, hookgatev1.Provider_PROVIDER_MAILGUN)
	f.Fuzz(func(t *testing.T, ct, body string) {
		r := discordReq(familyNow, body, "Content-Type", ct)
		var fl *verify.Failure
		if err := s.Verify(r, verify.Secrets{"signing_key": one(mailgunKey)}); err != nil && !errors.As(err, &fl) {
			t.Fatalf("Verify = %v, not a *Failure", err)
		}
		_ = s.(verify.DeliveryIDer).DeliveryID(r)
	})
}
