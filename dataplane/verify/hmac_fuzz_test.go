package verify_test

import (
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/dataplane/verify"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
)

// fuzzProviders are the presets whose header parsers FuzzHMACHeader drives.
var fuzzProviders = []hookgatev1.Provider{
	hookgatev1.Provider_PROVIDER_STRIPE, hookgatev1.Provider_PROVIDER_PADDLE, hookgatev1.Provider_PROVIDER_STANDARD_WEBHOOKS,
	hookgatev1.Provider_PROVIDER_SLACK, hookgatev1.Provider_PROVIDER_PAGERDUTY, hookgatev1.Provider_PROVIDER_TWITCH,
	hookgatev1.Provider_PROVIDER_SHOPIFY, hookgatev1.Provider_PROVIDER_LINEAR, hookgatev1.Provider_PROVIDER_ZOOM,
}

// FuzzHMACHeader feeds any signature header, timestamp and body to the
// HMAC presets: no panic, every refusal a *verify.Failure, and nothing
// verifies under a secret the input does not know.
func FuzzHMACHeader(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	body := `{"id":"evt_1","webhookTimestamp":1799999999000,"hello":"world"}`
	for _, pc := range hmacProviders {
		h := pc.sign(body, now, secretOf(pc.p, "cur"), secretOf(pc.p, "old"))
		f.Add(h.Get(pc.header), h.Get("X-Slack-Request-Timestamp")+h.Get("Webhook-Timestamp"), body)
		f.Add(pc.malformed, "1800000000", body)
	}
	f.Add("t=1800000000,,,v1=,v1= ,t=", "", "")
	f.Add("v1a,"+strings.Repeat("A", 88)+" v1,AAAA", "-1", "{")
	f.Add(strings.Repeat("h1=00;", 40), "99999999999999999999", `{"webhookTimestamp":"x`)
	f.Fuzz(func(t *testing.T, sig, ts, body string) {
		for _, p := range fuzzProviders {
			s, _ := verify.For(p)
			h := http.Header{}
			for _, name := range []string{"Stripe-Signature", "Paddle-Signature", "Webhook-Signature", "X-Slack-Signature", "X-PagerDuty-Signature",
				"Twitch-Eventsub-Message-Signature", "X-Shopify-Hmac-Sha256", "Linear-Signature", "X-Zm-Signature"} {
				h.Set(name, sig)
			}
			for _, name := range []string{"Webhook-Timestamp", "X-Slack-Request-Timestamp", "Twitch-Eventsub-Message-Timestamp", "X-Zm-Request-Timestamp"} {
				h.Set(name, ts)
			}
			h.Set("Webhook-Id", "msg_1")
			h.Set("Twitch-Eventsub-Message-Id", "m-1")
			r := &verify.Request{Method: http.MethodPost, Header: h, Body: []byte(body), Now: now}
			// Secrets the fuzzer cannot have signed with (the seeds use
			// cur/old, not these).
			sec := verify.Secrets{}
			for _, name := range []string{"secret", "signing_secret", "secret_token", "public_key"} {
				sec[name] = []string{"whsec_ZnV6ei1rZXktZnV6ei1rZXktZnV6ei1rZXk="}
			}
			err := s.Verify(r, sec)
			var fl *verify.Failure
			if err == nil || !errors.As(err, &fl) {
				t.Fatalf("%v: want a *Failure, got %v", p, err)
			}
			if d, ok := s.(verify.DeliveryIDer); ok {
				if id := d.DeliveryID(r); len(id) > 200 {
					t.Fatalf("%v: delivery id of %d bytes", p, len(id))
				}
			}
			if hs, ok := s.(verify.Handshaker); ok {
				if resp, ok := hs.Handshake(r, sec); ok && resp.Status == http.StatusOK {
					t.Fatalf("%v: handshake answered 200 for an unverified call", p)
				}
			}
		}
	})
}

// placeholderRE matches a placeholder as the template language defines
// it: from '{' to the next '}'.
var placeholderRE = regexp.MustCompile(`\{[^}]*\}`)

// FuzzCustomTemplate compiles any template, prefix and separator:
// ValidateCustom and Custom agree, and an accepted configuration verifies
// a call signed by the independent renderer below.
func FuzzCustomTemplate(f *testing.F) {
	f.Add("{body}", "", "", "")
	f.Add("v0:{timestamp}:{body}", "v0=", "", "")
	f.Add("{id}.{timestamp}.{body}", "v1,", " ", "")
	f.Add("{timestamp}.{body}", "v1=", ",", "t=")
	f.Add("{method}{url}{header:X-A}{body}}{", "", ";", "ts=")
	f.Add("{header:}{body}", "sha256=", "=", "")
	f.Add("{{body}}", "", "", "")
	f.Fuzz(func(t *testing.T, tmpl, prefix, sep, tsPrefix string) {
		c := &hookgatev1.CustomHmac{Header: "X-Sig", Template: tmpl, Prefix: prefix, Separator: sep,
			TimestampHeader: "X-Ts", IdHeader: "X-Id"}
		if tsPrefix != "" {
			c.TimestampHeader, c.TimestampPrefix = "X-Sig", tsPrefix
		}
		verr := verify.ValidateCustom(c)
		s, err := verify.Custom(c)
		if (verr == nil) != (err == nil) {
			t.Fatalf("ValidateCustom %v, Custom %v", verr, err)
		}
		if err != nil {
			var ce *verify.ConfigError
			if !errors.As(err, &ce) || ce.Field == "" {
				t.Fatalf("want a *ConfigError, got %v", err)
			}
			return
		}
		now := time.Unix(1_800_000_000, 0)
		ts := strconv.FormatInt(now.Unix(), 10)
		body := "the body"
		h := http.Header{}
		h.Set("X-Ts", ts)
		h.Set("X-Id", "id-1")
		signed := placeholderRE.ReplaceAllStringFunc(tmpl, func(m string) string {
			switch name := m[1 : len(m)-1]; {
			case name == "body":
				return body
			case name == "timestamp":
				return ts
			case name == "id":
				return "id-1"
			case name == "url":
				return "https://edge.example/in/a/wh_1"
			case name == "method":
				return http.MethodPost
			case strings.HasPrefix(name, "header:"):
				switch hn := http.CanonicalHeaderKey(name[len("header:"):]); hn {
				case "X-Ts":
					return ts
				case "X-Id":
					return "id-1"
				default:
					v := "value-of-" + strings.ToLower(hn)
					h.Set(hn, v)
					return v
				}
			}
			t.Fatalf("accepted unknown placeholder %s", m)
			return ""
		})
		v := prefix + hexMAC("k", signed)
		if tsPrefix != "" {
			v = tsPrefix + ts + sep + v
		}
		h.Set("X-Sig", v)
		r := &verify.Request{Method: http.MethodPost, URL: "https://edge.example/in/a/wh_1", Header: h, Body: []byte(body), Now: now}
		if strings.Contains(strings.ToLower(tmpl), "{header:x-sig}") {
			return // the signature cannot sign itself
		}
		if err := s.Verify(r, verify.Secrets{verify.CustomSecret: {"k"}}); err != nil {
			t.Fatalf("template %q: signed call refused: %v", tmpl, err)
		}
	})
}

// FuzzHMACBodyField reads delivery ids from any body: no panic, and an id
// found is a quoted string of the body of at most 200 bytes.
func FuzzHMACBodyField(f *testing.F) {
	for _, b := range []string{`{"id":"evt_1"}`, ` {"a":[1,{"id":"x"}],"id" : "evt_2"}`, `{"id":"a\"b"}`, `{"a":"\\","id":"c"}`, `[`, `{"a":{`, `{"id":`, ``} {
		f.Add(b)
	}
	s, _ := verify.For(hookgatev1.Provider_PROVIDER_STRIPE)
	d := s.(verify.DeliveryIDer)
	f.Fuzz(func(t *testing.T, body string) {
		id := d.DeliveryID(&verify.Request{Header: http.Header{}, Body: []byte(body)})
		if id == "" {
			return
		}
		if len(id) > 200 || !strings.Contains(body, `"`+id+`"`) || strings.ContainsAny(id, "\\\"") {
			t.Fatalf("id %q from %q", id, body)
		}
	})
}
