package verify_test

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/dataplane/verify"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
)

// hmacWantReason fails unless err is a *verify.Failure with reason want
// (nil when want is "").
func hmacWantReason(t *testing.T, err error, want verify.Reason) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("want verified, got %v", err)
		}
		return
	}
	var f *verify.Failure
	if !errors.As(err, &f) {
		t.Fatalf("want %s, got %v", want, err)
	}
	if f.Reason != want {
		t.Fatalf("want %s, got %s (%v)", want, f.Reason, err)
	}
}

// The signer below is written from the fact sheet, apart from the package.
func mac(newHash func() hash.Hash, key []byte, parts ...string) []byte {
	m := hmac.New(newHash, key)
	for _, p := range parts {
		m.Write([]byte(p))
	}
	return m.Sum(nil)
}

func hexMAC(key string, parts ...string) string {
	return hex.EncodeToString(mac(sha256.New, []byte(key), parts...))
}

func b64MAC(key string, parts ...string) string {
	return base64.StdEncoding.EncodeToString(mac(sha256.New, []byte(key), parts...))
}

// signer signs body at ts with every key (several signatures where the
// provider sends several, else the first key only).
type signer func(body string, ts time.Time, keys ...string) http.Header

// hmacProviders are the fresh-signing rules of every HMAC preset.
var hmacProviders = []struct {
	p         hookgatev1.Provider
	secret    string
	header    string // the signature header
	malformed string // a malformed value of it
	tolerance time.Duration
	multi     bool // the header carries one signature per key
	sign      signer
}{
	{p: hookgatev1.Provider_PROVIDER_GITHUB, secret: "secret", header: "X-Hub-Signature-256", malformed: "sha256=xyz",
		sign: func(body string, _ time.Time, k ...string) http.Header {
			return hmacHdr("X-Hub-Signature-256", "sha256="+hexMAC(k[0], body),
				"X-Hub-Signature", "sha1="+hex.EncodeToString(mac(sha1.New, []byte(k[0]), body)), "X-GitHub-Delivery", "d-1")
		}},
	{p: hookgatev1.Provider_PROVIDER_META, secret: "app_secret", header: "X-Hub-Signature-256", malformed: "sha256=" + strings.Repeat("0", 63),
		sign: func(body string, _ time.Time, k ...string) http.Header {
			return hmacHdr("X-Hub-Signature-256", "sha256="+hexMAC(k[0], body))
		}},
	{p: hookgatev1.Provider_PROVIDER_SHOPIFY, secret: "secret", header: "X-Shopify-Hmac-Sha256", malformed: "@@@@",
		sign: func(body string, _ time.Time, k ...string) http.Header {
			return hmacHdr("X-Shopify-Hmac-Sha256", b64MAC(k[0], body))
		}},
	{p: hookgatev1.Provider_PROVIDER_LINEAR, secret: "secret", header: "Linear-Signature", malformed: "sha256=" + strings.Repeat("a", 64), tolerance: time.Minute,
		sign: func(body string, _ time.Time, k ...string) http.Header {
			return hmacHdr("Linear-Signature", hexMAC(k[0], body))
		}},
	{p: hookgatev1.Provider_PROVIDER_INTERCOM, secret: "client_secret", header: "X-Hub-Signature", malformed: "sha1=abc",
		sign: func(body string, _ time.Time, k ...string) http.Header {
			return hmacHdr("X-Hub-Signature", "sha1="+hex.EncodeToString(mac(sha1.New, []byte(k[0]), body)))
		}},
	{p: hookgatev1.Provider_PROVIDER_PAGERDUTY, secret: "secret", header: "X-PagerDuty-Signature", malformed: "v1=nothex", multi: true,
		sign: func(body string, _ time.Time, k ...string) http.Header {
			var vs []string
			for _, key := range k {
				vs = append(vs, "v1="+hexMAC(key, body))
			}
			return hmacHdr("X-PagerDuty-Signature", strings.Join(vs, ","))
		}},
	{p: hookgatev1.Provider_PROVIDER_BITBUCKET, secret: "secret", header: "X-Hub-Signature", malformed: "sha256=",
		sign: func(body string, _ time.Time, k ...string) http.Header {
			return hmacHdr("X-Hub-Signature", "sha256="+hexMAC(k[0], body))
		}},
	{p: hookgatev1.Provider_PROVIDER_TYPEFORM, secret: "secret", header: "Typeform-Signature", malformed: "sha256=" + hexMAC("x", "y"),
		sign: func(body string, _ time.Time, k ...string) http.Header {
			return hmacHdr("Typeform-Signature", "sha256="+b64MAC(k[0], body))
		}},
	{p: hookgatev1.Provider_PROVIDER_SLACK, secret: "signing_secret", header: "X-Slack-Signature", malformed: "v1=" + hexMAC("x", "y"), tolerance: 5 * time.Minute,
		sign: func(body string, ts time.Time, k ...string) http.Header {
			t := strconv.FormatInt(ts.Unix(), 10)
			return hmacHdr("X-Slack-Request-Timestamp", t, "X-Slack-Signature", "v0="+hexMAC(k[0], "v0:", t, ":", body))
		}},
	{p: hookgatev1.Provider_PROVIDER_ZOOM, secret: "secret_token", header: "X-Zm-Signature", malformed: "v0=zz", tolerance: 5 * time.Minute,
		sign: func(body string, ts time.Time, k ...string) http.Header {
			t := strconv.FormatInt(ts.Unix(), 10)
			return hmacHdr("X-Zm-Request-Timestamp", t, "X-Zm-Signature", "v0="+hexMAC(k[0], "v0:", t, ":", body))
		}},
	{p: hookgatev1.Provider_PROVIDER_STRIPE, secret: "signing_secret", header: "Stripe-Signature", malformed: "t=1,v1=abc", tolerance: 300 * time.Second, multi: true,
		sign: func(body string, ts time.Time, k ...string) http.Header {
			t := strconv.FormatInt(ts.Unix(), 10)
			v := "t=" + t
			for _, key := range k {
				v += ",v1=" + hexMAC(key, t, ".", body)
			}
			return hmacHdr("Stripe-Signature", v+",v0="+hexMAC("test-mode", t, ".", body))
		}},
	{p: hookgatev1.Provider_PROVIDER_CALENDLY, secret: "signing_key", header: "Calendly-Webhook-Signature", malformed: "t=1,v1=" + b64MAC("x", "y"), tolerance: 5 * time.Minute,
		sign: func(body string, ts time.Time, k ...string) http.Header {
			t := strconv.FormatInt(ts.Unix(), 10)
			return hmacHdr("Calendly-Webhook-Signature", "t="+t+",v1="+hexMAC(k[0], t, ".", body))
		}},
	{p: hookgatev1.Provider_PROVIDER_PADDLE, secret: "secret", header: "Paddle-Signature", malformed: "ts=1;h1=1234", tolerance: 5 * time.Second, multi: true,
		sign: func(body string, ts time.Time, k ...string) http.Header {
			t := strconv.FormatInt(ts.Unix(), 10)
			v := "ts=" + t
			for _, key := range k {
				v += ";h1=" + hexMAC(key, t, ":", body)
			}
			return hmacHdr("Paddle-Signature", v)
		}},
	{p: hookgatev1.Provider_PROVIDER_STANDARD_WEBHOOKS, secret: "signing_secret", header: "Webhook-Signature", malformed: "v1,!!!!", tolerance: 5 * time.Minute, multi: true,
		sign: func(body string, ts time.Time, k ...string) http.Header {
			t := strconv.FormatInt(ts.Unix(), 10)
			var vs []string
			for _, key := range k {
				raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(key, "whsec_"))
				if err != nil {
					panic(err)
				}
				vs = append(vs, "v1,"+base64.StdEncoding.EncodeToString(mac(sha256.New, raw, "msg_1", ".", t, ".", body)))
			}
			return hmacHdr("Webhook-Id", "msg_1", "Webhook-Timestamp", t, "Webhook-Signature", strings.Join(vs, " "))
		}},
	{p: hookgatev1.Provider_PROVIDER_TWITCH, secret: "secret", header: "Twitch-Eventsub-Message-Signature", malformed: "sha256:" + hexMAC("a", "b"), tolerance: 10 * time.Minute,
		sign: func(body string, ts time.Time, k ...string) http.Header {
			t := ts.UTC().Format(time.RFC3339Nano)
			return hmacHdr("Twitch-Eventsub-Message-Id", "m-1", "Twitch-Eventsub-Message-Timestamp", t,
				"Twitch-Eventsub-Message-Signature", "sha256="+hexMAC(k[0], "m-1", t, body))
		}},
}

// secretOf makes a secret value of the provider's form.
func secretOf(p hookgatev1.Provider, seed string) string {
	if p == hookgatev1.Provider_PROVIDER_STANDARD_WEBHOOKS {
		return "whsec_" + base64.StdEncoding.EncodeToString([]byte("key-of-24-bytes-" + seed + "........")[:24])
	}
	return seed + "-secret"
}

// TestHMACPresets runs every HMAC preset through the same rows: fresh
// valid, tampered body, wrong secret, stale and future timestamps,
// missing and malformed header, a previous secret value during rotation,
// and a second signature in the header.
func TestHMACPresets(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	for _, pc := range hmacProviders {
		s, ok := verify.For(pc.p)
		if !ok {
			t.Fatalf("no scheme for %v", pc.p)
		}
		cur, old, wrong := secretOf(pc.p, "cur"), secretOf(pc.p, "old"), secretOf(pc.p, "bad")
		body := fmt.Sprintf(`{"id":"evt_1","webhookTimestamp":%d,"hello":"world"}`, now.Add(-time.Second).UnixMilli())
		bodyAt := func(ts time.Time) string {
			return strings.Replace(body, strconv.FormatInt(now.Add(-time.Second).UnixMilli(), 10), strconv.FormatInt(ts.UnixMilli(), 10), 1)
		}
		type row struct {
			name    string
			secrets []string
			hdr     http.Header
			body    string
			want    verify.Reason
		}
		fresh := now.Add(-time.Second)
		rows := []row{
			{"fresh", []string{cur}, pc.sign(body, fresh, cur), body, ""},
			{"tampered body", []string{cur}, pc.sign(body, fresh, cur), strings.Replace(body, "world", "World", 1), verify.SignatureMismatch},
			{"wrong secret", []string{cur}, pc.sign(body, fresh, wrong), body, verify.SignatureMismatch},
			{"previous secret in grace", []string{cur, old}, pc.sign(body, fresh, old), body, ""},
			{"no secret", nil, pc.sign(body, fresh, cur), body, verify.SecretMissing},
			{"missing header", []string{cur}, without(pc.sign(body, fresh, cur), pc.header, "X-Hub-Signature"), body, verify.SignatureMissing},
			{"malformed header", []string{cur}, with(pc.sign(body, fresh, cur), pc.header, pc.malformed), body, verify.SignatureMalformed},
		}
		if pc.multi {
			rows = append(rows,
				row{"second signature matches", []string{cur}, pc.sign(body, fresh, wrong, cur), body, ""},
				row{"both rotating secrets", []string{cur, old}, pc.sign(body, fresh, cur, old), body, ""},
				row{"no signature matches", []string{cur}, pc.sign(body, fresh, wrong, old), body, verify.SignatureMismatch})
		}
		if pc.tolerance > 0 {
			stale, future := now.Add(-pc.tolerance-time.Second), now.Add(pc.tolerance+time.Second)
			edge := now.Add(-pc.tolerance + time.Second)
			rows = append(rows,
				row{"stale timestamp", []string{cur}, pc.sign(bodyAt(stale), stale, cur), bodyAt(stale), verify.TimestampOutsideTolerance},
				row{"future timestamp", []string{cur}, pc.sign(bodyAt(future), future, cur), bodyAt(future), verify.TimestampOutsideTolerance},
				row{"inside tolerance", []string{cur}, pc.sign(bodyAt(edge), edge, cur), bodyAt(edge), ""})
		}
		for _, tt := range rows {
			t.Run(pc.p.String()+"/"+tt.name, func(t *testing.T) {
				r := &verify.Request{Method: http.MethodPost, URL: "https://edge.example/in/acme/wh_1", Header: tt.hdr, Body: []byte(tt.body), Now: now}
				var sec verify.Secrets
				if tt.secrets != nil {
					sec = verify.Secrets{pc.secret: tt.secrets}
				}
				hmacWantReason(t, s.Verify(r, sec), tt.want)
			})
		}
	}
}

func without(h http.Header, names ...string) http.Header {
	for _, n := range names {
		h.Del(n)
	}
	return h
}

func with(h http.Header, name, value string) http.Header {
	h.Set(name, value)
	return h
}
