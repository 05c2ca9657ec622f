package verifytest

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"slices"
	"strings"
	"time"

	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
)

func base64RawURL(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// twilioSign is base64 HMAC-SHA1 keyed with the auth token over the URL
// and then every POST parameter sorted by name, name ‖ value, a repeated
// name's values sorted too (providers.md "Twilio").
func twilioSign(token, u string, params url.Values) string {
	m := hmac.New(sha1.New, []byte(token))
	m.Write([]byte(u))
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range params {
			if !yield(k) {
				return
			}
		}
	}) {
		vs := slices.Clone(params[name])
		slices.Sort(vs)
		for _, v := range vs {
			m.Write([]byte(name))
			m.Write([]byte(v))
		}
	}
	return b64.EncodeToString(m.Sum(nil))
}

// urlSigners are the providers that sign the URL they call.
func urlSigners() []*Signer {
	twilioKey := func() Key { return Key{Secret: hexStr(randomBytes(16))} }
	return []*Signer{
		{
			// Form bodies: the URL and the sorted POST parameters.
			Name: "TWILIO", Provider: hookgatev1.Provider_PROVIDER_TWILIO, Secret: "auth_token",
			ContentType: "application/x-www-form-urlencoded",
			Headers:     []string{"X-Twilio-Signature"},
			newKey:      twilioKey,
			body: func(n int) []byte {
				return []byte(url.Values{"CallSid": {"CA" + randomText(32)}, "From": {"+14158675309"}, "To": {"+18005551212"},
					"Body": {"hello world " + randomText(4)}, "Digits": {"1234"}, "N": {string(rune('0' + n%10))}}.Encode())
			},
			sign: func(_ *Signer, in Input, k []Key) Call {
				params, err := url.ParseQuery(string(in.Body))
				if err != nil {
					panic("verifytest: Twilio form body: " + err.Error())
				}
				return Call{Header: header("X-Twilio-Signature", twilioSign(k[0].Secret, in.URL, params),
					"I-Twilio-Idempotency-Token", in.ID)}
			},
			tamper: tamperBody, malformed: setHeader("X-Twilio-Signature", fixed("not base64!")),
		},
		{
			// JSON bodies: bodySHA256 = hex SHA-256 of the body joins the
			// URL's query and only the URL is signed.
			Name: "TWILIO_JSON", Provider: hookgatev1.Provider_PROVIDER_TWILIO, Secret: "auth_token", ContentType: "application/json",
			Headers: []string{"X-Twilio-Signature"},
			newKey:  twilioKey,
			sign: func(_ *Signer, in Input, k []Key) Call {
				sum := sha256.Sum256(in.Body)
				u := appendQuery(in.URL, "bodySHA256="+hexStr(sum[:]))
				return Call{URL: u, Header: header("X-Twilio-Signature", twilioSign(k[0].Secret, u, nil),
					"I-Twilio-Idempotency-Token", in.ID)}
			},
			tamper: tamperBody, malformed: setHeader("X-Twilio-Signature", fixed("AAAA")),
		},
		{
			// The notification URL followed by the body; the signature key
			// looks like base64url and is used as text.
			Name: "SQUARE", Provider: hookgatev1.Provider_PROVIDER_SQUARE, Secret: "signature_key", ContentType: "application/json",
			Headers: []string{"X-Square-Hmacsha256-Signature"},
			newKey:  func() Key { return Key{Secret: base64RawURL(randomBytes(16))} },
			sign: func(_ *Signer, in Input, k []Key) Call {
				return Call{Header: header("X-Square-Hmacsha256-Signature", b64SHA256(k[0].Secret, []byte(in.URL), in.Body))}
			},
			tamper: tamperBody, malformed: setHeader("X-Square-Hmacsha256-Signature", fixed("%%%")),
		},
		{
			// v3: method ‖ URI ‖ body ‖ timestamp (ms), base64.
			Name: "HUBSPOT", Provider: hookgatev1.Provider_PROVIDER_HUBSPOT, Secret: "client_secret", ContentType: "application/json",
			Headers: []string{"X-HubSpot-Signature-v3"}, MaxAge: 5 * time.Minute, MaxAhead: 5 * time.Minute,
			newKey: func() Key {
				h := hexStr(randomBytes(16))
				return Key{Secret: strings.Join([]string{h[:8], h[8:12], h[12:16], h[16:20], h[20:]}, "-")}
			},
			sign: func(_ *Signer, in Input, k []Key) Call {
				ts := unixMS(in.Time)
				return Call{Header: header("X-HubSpot-Request-Timestamp", ts,
					"X-HubSpot-Signature-v3", b64SHA256(k[0].Secret, []byte(in.Method+in.URL), in.Body, []byte(ts)))}
			},
			tamper: tamperBody, malformed: setHeader("X-HubSpot-Signature-v3", fixed("short")),
		},
	}
}
