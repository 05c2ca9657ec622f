package verify_test

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/dataplane/verify"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
)

// familyCase is one row of a scheme's table: a request, the secrets and
// the reason expected ("" = verified).
type familyCase struct {
	name    string
	req     *verify.Request
	secrets verify.Secrets
	want    verify.Reason
}

// familyScheme returns the preset of p, failing the test when it is absent.
func familyScheme(t testing.TB, p hookgatev1.Provider) verify.Scheme {
	t.Helper()
	s, ok := verify.For(p)
	if !ok {
		t.Fatalf("no preset for %v", p)
	}
	return s
}

// runFamily runs a table against the preset of p and asserts the exact
// reason, and that a failure's text carries no secret or signature value.
func runFamily(t *testing.T, p hookgatev1.Provider, cases []familyCase) {
	t.Helper()
	scheme := familyScheme(t, p)
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			err := scheme.Verify(tt.req, tt.secrets)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Verify = %v, want verified", err)
				}
				return
			}
			var f *verify.Failure
			if !errors.As(err, &f) {
				t.Fatalf("Verify = %v, want a *Failure with %s", err, tt.want)
			}
			if f.Reason != tt.want {
				t.Fatalf("reason = %s (%v), want %s", f.Reason, err, tt.want)
			}
			for _, values := range tt.secrets {
				for _, v := range values {
					if len(v) > 3 && strings.Contains(err.Error(), v) {
						t.Fatalf("error %q carries a secret value", err)
					}
				}
			}
			for _, values := range tt.req.Header {
				for _, v := range values {
					if len(v) > 8 && strings.Contains(err.Error(), v) {
						t.Fatalf("error %q carries a header value", err)
					}
				}
			}
		})
	}
}

// hdr builds a header from name, value pairs.
func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

func one(v ...string) []string { return v }

// twilioSign is an independent signer from the fact sheet: base64
// HMAC-SHA1 of the URL followed by the params sorted by name, each
// name's distinct values sorted.
func twilioSign(token, u string, params url.Values) string {
	var b strings.Builder
	b.WriteString(u)
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		vs := slices.Clone(params[k])
		sort.Strings(vs)
		vs = slices.Compact(vs)
		for _, v := range vs {
			b.WriteString(k + v)
		}
	}
	m := hmac.New(sha1.New, []byte(token))
	m.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

const (
	twilioURL  = "https://mycompany.com/myapp.php?foo=1&bar=2"
	twilioForm = "To=%2B18005551212&CallSid=CA1234567890ABCDE&Digits=1234&Caller=%2B14158675309&From=%2B14158675309"
	twilioJSON = `{"property": "value", "boolean": true}`
	twilioHash = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
)

var familyNow = time.Unix(1700000000, 0)

func twilioReq(u, ct, body string, h ...string) *verify.Request {
	header := hdr(h...)
	if ct != "" {
		header.Set("Content-Type", ct)
	}
	return &verify.Request{Method: http.MethodPost, URL: u, Header: header, Body: []byte(body), Now: familyNow}
}

const formCT = "application/x-www-form-urlencoded"

func TestTwilio(t *testing.T) {
	t.Parallel()
	tok := verify.Secrets{"auth_token": one("12345")}
	sig := "X-Twilio-Signature"
	jsonURL := twilioURL + "&bodySHA256=" + twilioHash
	fresh := url.Values{"Body": {"héllo wörld & more"}, "a": {"2", "1", "2"}, "From": {"+1 555"}}
	freshBody := "a=2&Body=h%C3%A9llo+w%C3%B6rld+%26+more&a=1&From=%2B1%20555&a=2"
	cases := []familyCase{
		// Official vectors, twilio-node spec/validation.spec.js.
		{"vector form", twilioReq(twilioURL, formCT, twilioForm, sig, "RSOYDt4T1cUTdK1PDd93/VVr8B8="), tok, ""},
		{"vector form edge URL with :443, signed without", twilioReq("https://mycompany.com:443/myapp.php?foo=1&bar=2", formCT, twilioForm, sig, "RSOYDt4T1cUTdK1PDd93/VVr8B8="), tok, ""},
		{"vector form signed with :443", twilioReq(twilioURL, formCT, twilioForm, sig, "kvajT1Ptam85bY51eRf/AJRuM3w="), tok, ""},
		{"vector form port 1234", twilioReq("http://mycompany.com:1234/myapp.php?foo=1&bar=2", formCT, twilioForm, sig, "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="), tok, ""},
		{"vector json", twilioReq(jsonURL, "application/json", twilioJSON, sig, "a9nBmqA0ju/hNViExpshrM61xv4="), tok, ""},
		{"vector json {} signed with :443", twilioReq(twilioURL+"&bodySHA256=44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", "application/json", "{}", sig, "Ldidvp12m26NI7eqEvxnEpkd9Hc="), tok, ""},
		{"vector json only hash", twilioReq("https://mycompany.com/myapp.php?bodySHA256="+twilioHash, "application/json", twilioJSON, sig, "y77kIzt2vzLz71DgmJGsen2scGs="), tok, ""},
		// Freshly signed.
		{"fresh form, escapes, repeated names", twilioReq(twilioURL, formCT+"; charset=utf-8", freshBody, sig, twilioSign("s3cr3t", twilioURL, fresh)), verify.Secrets{"auth_token": one("s3cr3t")}, ""},
		{"fresh GET query only", &verify.Request{Method: http.MethodGet, URL: twilioURL, Header: hdr(sig, twilioSign("12345", twilioURL, nil)), Now: familyNow}, tok, ""},
		{"fresh non-form body signs no params", twilioReq(twilioURL, "text/plain", twilioForm, sig, twilioSign("12345", twilioURL, nil)), tok, ""},
		{"rotation previous token", twilioReq(twilioURL, formCT, twilioForm, sig, "RSOYDt4T1cUTdK1PDd93/VVr8B8="), verify.Secrets{"auth_token": one("new-token", "12345")}, ""},
		{"rotation current token", twilioReq(twilioURL, formCT, twilioForm, sig, "RSOYDt4T1cUTdK1PDd93/VVr8B8="), verify.Secrets{"auth_token": one("12345", "old")}, ""},
		// Refusals.
		{"tampered form body", twilioReq(twilioURL, formCT, strings.Replace(twilioForm, "Digits=1234", "Digits=1235", 1), sig, "RSOYDt4T1cUTdK1PDd93/VVr8B8="), tok, verify.SignatureMismatch},
		{"tampered json body", twilioReq(jsonURL, "application/json", `{"property": "evil", "boolean": true}`, sig, "a9nBmqA0ju/hNViExpshrM61xv4="), tok, verify.SignatureMismatch},
		{"tampered url", twilioReq(twilioURL+"&x=1", formCT, twilioForm, sig, "RSOYDt4T1cUTdK1PDd93/VVr8B8="), tok, verify.SignatureMismatch},
		{"form signed as other scheme host", twilioReq("https://evil.com/myapp.php?foo=1&bar=2", formCT, twilioForm, sig, "RSOYDt4T1cUTdK1PDd93/VVr8B8="), tok, verify.SignatureMismatch},
		{"wrong token", twilioReq(twilioURL, formCT, twilioForm, sig, "RSOYDt4T1cUTdK1PDd93/VVr8B8="), verify.Secrets{"auth_token": one("54321")}, verify.SignatureMismatch},
		{"missing header", twilioReq(twilioURL, formCT, twilioForm), tok, verify.SignatureMissing},
		{"empty header", twilioReq(twilioURL, formCT, twilioForm, sig, ""), tok, verify.SignatureMissing},
		{"malformed header", twilioReq(twilioURL, formCT, twilioForm, sig, "not base64!"), tok, verify.SignatureMalformed},
		{"header wrong length", twilioReq(twilioURL, formCT, twilioForm, sig, "AAAA"), tok, verify.SignatureMalformed},
		{"bodySHA256 not hex", twilioReq(twilioURL+"&bodySHA256=zz", "application/json", "{}", sig, "a9nBmqA0ju/hNViExpshrM61xv4="), tok, verify.SignatureMalformed},
		{"bodySHA256 escaped", twilioReq(twilioURL+"&bodySHA256=%30", "application/json", "{}", sig, "a9nBmqA0ju/hNViExpshrM61xv4="), tok, verify.SignatureMalformed},
		{"no secret", twilioReq(twilioURL, formCT, twilioForm, sig, "RSOYDt4T1cUTdK1PDd93/VVr8B8="), verify.Secrets{}, verify.SecretMissing},
		{"empty secret", twilioReq(twilioURL, formCT, twilioForm, sig, "RSOYDt4T1cUTdK1PDd93/VVr8B8="), verify.Secrets{"auth_token": one("")}, verify.SecretMissing},
	}
	runFamily(t, hookgatev1.Provider_PROVIDER_TWILIO, cases)
}

func TestTwilioDeliveryID(t *testing.T) {
	t.Parallel()
	s := familyScheme(t, hookgatev1.Provider_PROVIDER_TWILIO).(verify.DeliveryIDer)
	r := twilioReq(twilioURL, formCT, twilioForm, "I-Twilio-Idempotency-Token", "idem-1")
	if got := s.DeliveryID(r); got != "idem-1" {
		t.Fatalf("DeliveryID = %q, want idem-1", got)
	}
	if got := s.DeliveryID(twilioReq(twilioURL, formCT, twilioForm)); got != "" {
		t.Fatalf("DeliveryID without header = %q, want empty", got)
	}
}

// hmacB64 is an independent HMAC signer for tests: base64 of HMAC over
// the parts concatenated.
func hmacB64(sha string, key string, parts ...string) string {
	h := hmac.New(sha256.New, []byte(key))
	if sha == "sha1" {
		h = hmac.New(sha1.New, []byte(key))
	}
	for _, p := range parts {
		h.Write([]byte(p))
	}
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

const (
	squareURL1  = "https://webhook.site/679a4f3a-dcfa-49ee-bac5-9d0edad886b9"
	squareBody1 = `{"merchant_id":"MLEFBHHSJGVHD","type":"webhooks.test_notification","event_id":"ac3ac95b-f97d-458c-a6e6-18981597e05f","created_at":"2022-07-13T20:30:59.037339943Z","data":{"type":"webhooks","id":"bc368e64-01aa-407e-b46e-3231809b1129"}}`
	squareSig1  = "GF4YkrJgGBDZ9NIYbNXBnMzqb2HoL4RW/S6vkZ9/2N4="
	squareH     = "x-square-hmacsha256-signature"
)

func squareReq(u, body string, h ...string) *verify.Request {
	return &verify.Request{Method: http.MethodPost, URL: u, Header: hdr(h...), Body: []byte(body), Now: familyNow}
}

func TestSquare(t *testing.T) {
	t.Parallel()
	key1 := verify.Secrets{"signature_key": one("Ibxx_5AKakO-3qeNVR61Dw")}
	key2 := verify.Secrets{"signature_key": one("signature-key")}
	fresh := hmacB64("sha256", "k", "https://hooks.example.com/in/acme/wh_1?key=hgk_x", `{"a":1}`)
	cases := []familyCase{
		// Official vectors, square-nodejs-sdk tests/integration/webhooks.test.ts.
		{"vector 1", squareReq(squareURL1, squareBody1, squareH, squareSig1), key1, ""},
		{"vector 2", squareReq("https://webhook.site/webhooks", `{"data":{"type":"webhooks","id":"fake_id"}}`, squareH, "W3FlCNk5IA3ZQ2LHTWoajvzfaDu/OwY2tNHIHC3IUOA="), key2, ""},
		{"vector 3", squareReq("https://webhook.site/webhooks", `{"data":{"type":"webhooks","id":">id<"}}`, squareH, "Cxt7+aTi4rKgcA0bC4g9EHdVtLSDWdqccmL5MvihU4U="), key2, ""},
		{"fresh with query", squareReq("https://hooks.example.com/in/acme/wh_1?key=hgk_x", `{"a":1}`, squareH, fresh), verify.Secrets{"signature_key": one("k")}, ""},
		{"legacy sha1", squareReq(squareURL1, squareBody1, "x-square-signature", hmacB64("sha1", "Ibxx_5AKakO-3qeNVR61Dw", squareURL1, squareBody1)), key1, ""},
		{"rotation previous key", squareReq(squareURL1, squareBody1, squareH, squareSig1), verify.Secrets{"signature_key": one("new", "Ibxx_5AKakO-3qeNVR61Dw")}, ""},
		{"tampered body", squareReq(squareURL1, strings.Replace(squareBody1, "MLEF", "MLEG", 1), squareH, squareSig1), key1, verify.SignatureMismatch},
		{"other URL", squareReq(squareURL1+"/", squareBody1, squareH, squareSig1), key1, verify.SignatureMismatch},
		{"wrong key", squareReq(squareURL1, squareBody1, squareH, squareSig1), key2, verify.SignatureMismatch},
		{"key base64-decoded is wrong", squareReq(squareURL1, squareBody1, squareH, squareSig1), verify.Secrets{"signature_key": one("Ibxx/5AKakO+3qeNVR61Dw==")}, verify.SignatureMismatch},
		{"sha256 header wins over legacy", squareReq(squareURL1, squareBody1, squareH, "W3FlCNk5IA3ZQ2LHTWoajvzfaDu/OwY2tNHIHC3IUOA=", "x-square-signature", hmacB64("sha1", "Ibxx_5AKakO-3qeNVR61Dw", squareURL1, squareBody1)), key1, verify.SignatureMismatch},
		{"legacy tampered", squareReq(squareURL1, squareBody1+" ", "x-square-signature", hmacB64("sha1", "Ibxx_5AKakO-3qeNVR61Dw", squareURL1, squareBody1)), key1, verify.SignatureMismatch},
		{"missing header", squareReq(squareURL1, squareBody1), key1, verify.SignatureMissing},
		{"malformed header", squareReq(squareURL1, squareBody1, squareH, "%%%"), key1, verify.SignatureMalformed},
		{"sha1-length in sha256 header", squareReq(squareURL1, squareBody1, squareH, hmacB64("sha1", "x", "y")), key1, verify.SignatureMalformed},
		{"no secret", squareReq(squareURL1, squareBody1, squareH, squareSig1), verify.Secrets{"other": one("x")}, verify.SecretMissing},
	}
	runFamily(t, hookgatev1.Provider_PROVIDER_SQUARE, cases)
	s := familyScheme(t, hookgatev1.Provider_PROVIDER_SQUARE).(verify.DeliveryIDer)
	if got := s.DeliveryID(squareReq(squareURL1, squareBody1)); got != "ac3ac95b-f97d-458c-a6e6-18981597e05f" {
		t.Fatalf("DeliveryID = %q", got)
	}
	if got := s.DeliveryID(squareReq(squareURL1, `[1]`)); got != "" {
		t.Fatalf("DeliveryID of an array = %q", got)
	}
}

const (
	hubspotSecretV = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"
	hubspotURL     = "https://www.example.com/webhook_uri"
	hubspotBody    = `{"example_field":"example_value"}`
	hubspotSigV    = "rQEKkaNUiu+1qGF//O/pw4BCzstSqO1PyUnGICmf+7o="
	hubspotH       = "X-HubSpot-Signature-v3"
	hubspotTS      = "X-HubSpot-Request-Timestamp"
)

func hubspotReq(now time.Time, u, body string, h ...string) *verify.Request {
	return &verify.Request{Method: http.MethodPost, URL: u, Header: hdr(h...), Body: []byte(body), Now: now}
}

func TestHubSpot(t *testing.T) {
	t.Parallel()
	sec := verify.Secrets{"client_secret": one(hubspotSecretV)}
	ts := "1700000000000"
	escaped := "https://www.example.com/webhook_uri?email=a%40b.com&t=x%3Ay"
	decoded := "https://www.example.com/webhook_uri?email=a@b.com&t=x:y"
	cases := []familyCase{
		// Self-made vector, providers.md §3.
		{"vector v3", hubspotReq(familyNow, hubspotURL, hubspotBody, hubspotH, hubspotSigV, hubspotTS, ts), sec, ""},
		{"4 min old", hubspotReq(familyNow.Add(4*time.Minute), hubspotURL, hubspotBody, hubspotH, hubspotSigV, hubspotTS, ts), sec, ""},
		{"fresh, URI decoded as HubSpot signs", hubspotReq(familyNow, escaped, hubspotBody, hubspotH, hmacB64("sha256", "cs", "POST", decoded, hubspotBody, ts), hubspotTS, ts), verify.Secrets{"client_secret": one("cs")}, ""},
		{"fresh, URI as given (api-client)", hubspotReq(familyNow, escaped, hubspotBody, hubspotH, hmacB64("sha256", "cs", "POST", escaped, hubspotBody, ts), hubspotTS, ts), verify.Secrets{"client_secret": one("cs")}, ""},
		{"fresh empty body", hubspotReq(familyNow, hubspotURL, "", hubspotH, hmacB64("sha256", "cs", "POST", hubspotURL, ts), hubspotTS, ts), verify.Secrets{"client_secret": one("cs")}, ""},
		{"rotation previous secret", hubspotReq(familyNow, hubspotURL, hubspotBody, hubspotH, hubspotSigV, hubspotTS, ts), verify.Secrets{"client_secret": one("new", hubspotSecretV)}, ""},
		{"tampered body", hubspotReq(familyNow, hubspotURL, hubspotBody+" ", hubspotH, hubspotSigV, hubspotTS, ts), sec, verify.SignatureMismatch},
		{"tampered timestamp", hubspotReq(familyNow, hubspotURL, hubspotBody, hubspotH, hubspotSigV, hubspotTS, "1700000000001"), sec, verify.SignatureMismatch},
		{"wrong secret", hubspotReq(familyNow, hubspotURL, hubspotBody, hubspotH, hubspotSigV, hubspotTS, ts), verify.Secrets{"client_secret": one("x")}, verify.SignatureMismatch},
		{"stale", hubspotReq(familyNow.Add(6*time.Minute), hubspotURL, hubspotBody, hubspotH, hubspotSigV, hubspotTS, ts), sec, verify.TimestampOutsideTolerance},
		{"future", hubspotReq(familyNow.Add(-6*time.Minute), hubspotURL, hubspotBody, hubspotH, hubspotSigV, hubspotTS, ts), sec, verify.TimestampOutsideTolerance},
		{"timestamp in seconds", hubspotReq(familyNow, hubspotURL, hubspotBody, hubspotH, hubspotSigV, hubspotTS, "1700000000"), sec, verify.TimestampOutsideTolerance},
		{"timestamp missing", hubspotReq(familyNow, hubspotURL, hubspotBody, hubspotH, hubspotSigV), sec, verify.TimestampMissing},
		{"timestamp malformed", hubspotReq(familyNow, hubspotURL, hubspotBody, hubspotH, hubspotSigV, hubspotTS, "-1700000000000"), sec, verify.TimestampMalformed},
		{"timestamp huge", hubspotReq(familyNow, hubspotURL, hubspotBody, hubspotH, hubspotSigV, hubspotTS, "99999999999999999999999"), sec, verify.TimestampMalformed},
		{"missing header", hubspotReq(familyNow, hubspotURL, hubspotBody, hubspotTS, ts), sec, verify.SignatureMissing},
		{"malformed header", hubspotReq(familyNow, hubspotURL, hubspotBody, hubspotH, "rQEK", hubspotTS, ts), sec, verify.SignatureMalformed},
		// Legacy v1/v2 (official vectors, @hubspot/api-client) are refused:
		// no timestamp, and SHA-256(secret ‖ …) allows length extension.
		{"legacy v1 vector refused", hubspotReq(familyNow, hubspotURL, `[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,"changeSource":"CRM","changeFlag":"NEW","appId":54321}]`, "X-HubSpot-Signature", "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de", "X-HubSpot-Signature-Version", "v1"), sec, verify.SignatureMissing},
		{"legacy v2 vector refused", hubspotReq(familyNow, hubspotURL, hubspotBody, "X-HubSpot-Signature", "9569219f8ba981ffa6f6f16aa0f48637d35d728c7e4d93d0d52efaa512af7900", "X-HubSpot-Signature-Version", "v2"), sec, verify.SignatureMissing},
		{"no secret", hubspotReq(familyNow, hubspotURL, hubspotBody, hubspotH, hubspotSigV, hubspotTS, ts), verify.Secrets{}, verify.SecretMissing},
	}
	runFamily(t, hookgatev1.Provider_PROVIDER_HUBSPOT, cases)
}

// TestHubSpotLegacyVectors keeps the fact sheet's v1/v2 vectors honest: the
// preset refuses them (above), but they are what HubSpot computes.
func TestHubSpotLegacyVectors(t *testing.T) {
	t.Parallel()
	sum := sha256.Sum256([]byte(hubspotSecretV + "POST" + hubspotURL + hubspotBody))
	if got := hex.EncodeToString(sum[:]); got != "9569219f8ba981ffa6f6f16aa0f48637d35d728c7e4d93d0d52efaa512af7900" {
		t.Fatalf("v2 = %s", got)
	}
}

func BenchmarkTwilioForm(b *testing.B) {
	s := familyScheme(b, hookgatev1.Provider_PROVIDER_TWILIO)
	r := twilioReq(twilioURL, formCT, twilioForm, "X-Twilio-Signature", "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
	sec := verify.Secrets{"auth_token": one("12345")}
	b.SetBytes(int64(len(r.Body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Verify(r, sec); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzTwilio checks that Verify never panics and answers nil or a
// *Failure, and that a call signed by the independent signer over a form
// body Go's url.ParseQuery reads alike verifies.
func FuzzTwilio(f *testing.F) {
	f.Add(twilioURL, formCT, twilioForm, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
	f.Add("https://mycompany.com:443/myapp.php?foo=1&bar=2", formCT, twilioForm, "kvajT1Ptam85bY51eRf/AJRuM3w=")
	f.Add(twilioURL+"&bodySHA256="+twilioHash, "application/json", twilioJSON, "a9nBmqA0ju/hNViExpshrM61xv4=")
	f.Add("http://[::1]:80", formCT, "a=%zz&&b&=c+d", "")
	f.Add("x://", formCT, "%", "====")
	s := familyScheme(f, hookgatev1.Provider_PROVIDER_TWILIO)
	f.Fuzz(func(t *testing.T, u, ct, body, sig string) {
		r := twilioReq(u, ct, body, "X-Twilio-Signature", sig)
		sec := verify.Secrets{"auth_token": one("12345")}
		var fl *verify.Failure
		if err := s.Verify(r, sec); err != nil && !errors.As(err, &fl) {
			t.Fatalf("Verify = %v, not a *Failure", err)
		}
		if strings.Contains(u, "bodySHA256") || strings.Contains(body, ";") {
			return
		}
		params, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		r = twilioReq(u, formCT, body, "X-Twilio-Signature", twilioSign("12345", u, params))
		if err := s.Verify(r, sec); err != nil {
			t.Fatalf("freshly signed call: %v", err)
		}
	})
}

// FuzzHubSpot checks Verify on arbitrary URLs and headers.
func FuzzHubSpot(f *testing.F) {
	f.Add(hubspotURL, hubspotBody, hubspotSigV, "1700000000000")
	f.Add("https://x/%3a%2F%zz%", "", "", "")
	f.Add(hubspotURL, hubspotBody, "====", "17e9")
	s := familyScheme(f, hookgatev1.Provider_PROVIDER_HUBSPOT)
	f.Fuzz(func(t *testing.T, u, body, sig, ts string) {
		r := hubspotReq(familyNow, u, body, hubspotH, sig, hubspotTS, ts)
		var fl *verify.Failure
		if err := s.Verify(r, verify.Secrets{"client_secret": one("cs")}); err != nil && !errors.As(err, &fl) {
			t.Fatalf("Verify = %v, not a *Failure", err)
		}
	})
}

// FuzzSquare checks Verify on arbitrary headers.
func FuzzSquare(f *testing.F) {
	f.Add(squareBody1, squareSig1, "")
	f.Add("", "", "AAAA")
	s := familyScheme(f, hookgatev1.Provider_PROVIDER_SQUARE)
	f.Fuzz(func(t *testing.T, body, sig, legacy string) {
		r := squareReq(squareURL1, body, squareH, sig, "x-square-signature", legacy)
		var fl *verify.Failure
		if err := s.Verify(r, verify.Secrets{"signature_key": one("k")}); err != nil && !errors.As(err, &fl) {
			t.Fatalf("Verify = %v, not a *Failure", err)
		}
		_ = s.(verify.DeliveryIDer).DeliveryID(r)
	})
}
