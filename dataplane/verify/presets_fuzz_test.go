package verify_test

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/dataplane/verify"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
)

// morePresets are the HMAC presets FuzzHMACHeader does not drive, each
// with the headers its parser reads.
var morePresets = []struct {
	p       hookgatev1.Provider
	headers []string
}{
	{hookgatev1.Provider_PROVIDER_GITHUB, []string{"X-Hub-Signature-256", "X-Hub-Signature"}},
	{hookgatev1.Provider_PROVIDER_META, []string{"X-Hub-Signature-256", "X-Hub-Signature"}},
	{hookgatev1.Provider_PROVIDER_INTERCOM, []string{"X-Hub-Signature"}},
	{hookgatev1.Provider_PROVIDER_BITBUCKET, []string{"X-Hub-Signature"}},
	{hookgatev1.Provider_PROVIDER_TYPEFORM, []string{"Typeform-Signature"}},
	{hookgatev1.Provider_PROVIDER_CALENDLY, []string{"Calendly-Webhook-Signature"}},
}

// fuzzSecrets holds every secret name under values the fuzzer cannot have
// signed with.
func fuzzSecrets() verify.Secrets {
	sec := verify.Secrets{}
	for _, name := range []string{"secret", "signing_secret", "secret_token", "app_secret", "client_secret", "public_key", "verify_token"} {
		sec[name] = []string{"fuzz-secret-" + name + "-not-in-any-seed"}
	}
	return sec
}

// FuzzHMACPresetHeaders feeds any pair of signature headers and any body
// to the presets of morePresets: no panic, every refusal a
// *verify.Failure, nothing verifies under secrets the input does not know.
func FuzzHMACPresetHeaders(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	body := `{"id":"evt_1","hello":"world"}`
	for _, pc := range hmacProviders {
		for _, m := range morePresets {
			if pc.p != m.p {
				continue
			}
			h := pc.sign(body, now, secretOf(pc.p, "cur"), secretOf(pc.p, "old"))
			f.Add(h.Get(m.headers[0]), h.Get("X-Hub-Signature"), body)
			f.Add(pc.malformed, "", body)
		}
	}
	f.Add("sha256=", "sha1=", "")
	f.Add("sha256="+strings.Repeat("0", 64), "sha1="+strings.Repeat("z", 40), "{")
	f.Add("t=1800000000,v1=,v1="+strings.Repeat("a", 64)+",t=", "", "x")
	f.Add("sha256=====", "sha256=", "\xff")
	f.Fuzz(func(t *testing.T, sig, sig2, body string) {
		for _, m := range morePresets {
			s, ok := verify.For(m.p)
			if !ok {
				t.Fatalf("%v: no scheme", m.p)
			}
			h := http.Header{}
			h.Set(m.headers[0], sig)
			for _, name := range m.headers[1:] {
				h.Set(name, sig2)
			}
			r := &verify.Request{Method: http.MethodPost, URL: "https://edge.example/in/acme/wh_1", Header: h, Body: []byte(body), Now: now}
			err := s.Verify(r, fuzzSecrets())
			var fl *verify.Failure
			if err == nil || !errors.As(err, &fl) {
				t.Fatalf("%v: want a *Failure, got %v", m.p, err)
			}
			if d, ok := s.(verify.DeliveryIDer); ok {
				if id := d.DeliveryID(r); len(id) > 200 {
					t.Fatalf("%v: delivery id of %d bytes", m.p, len(id))
				}
			}
		}
	})
}

// handshakeProviders answer a provider's URL verification call.
var handshakeProviders = []hookgatev1.Provider{
	hookgatev1.Provider_PROVIDER_META, hookgatev1.Provider_PROVIDER_SLACK, hookgatev1.Provider_PROVIDER_ZOOM,
	hookgatev1.Provider_PROVIDER_TWITCH, hookgatev1.Provider_PROVIDER_DISCORD,
}

// FuzzHandshake sends any method, query and body to every scheme with a
// handshake: no panic; a POST (whose handshake the edge asks only after
// Verify passed) never verifies under secrets the fuzzer does not know;
// a GET answers 200 only when it carries Meta's verify token, which the
// fuzzer is not given.
func FuzzHandshake(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	f.Add("GET", "hub.mode=subscribe&hub.verify_token=tok&hub.challenge=123", "")
	f.Add("GET", "hub.mode=subscribe&hub.verify_token=fuzz-secret-verify_token-not-in-any-seed&hub.challenge="+strings.Repeat("9", 300), "")
	f.Add("GET", "hub.mode=subscribe&hub.challenge=%zz", "")
	f.Add("POST", "", `{"type":"url_verification","challenge":"abc","token":"t"}`)
	f.Add("POST", "", `{"event":"endpoint.url_validation","payload":{"plainToken":"p"}}`)
	f.Add("POST", "", `{"challenge":"c","subscription":{}}`)
	f.Add("POST", "", `{"type":1}`)
	f.Add("POST", "", `{"type":"url_verification","challenge":`)
	f.Fuzz(func(t *testing.T, method, query, body string) {
		q, err := url.ParseQuery(query)
		knowsToken := err == nil && q.Get("hub.verify_token") == "fuzz-secret-verify_token-not-in-any-seed"
		for _, p := range handshakeProviders {
			s, ok := verify.For(p)
			if !ok {
				t.Fatalf("%v: no scheme", p)
			}
			hs, ok := s.(verify.Handshaker)
			if !ok {
				continue
			}
			h := http.Header{}
			h.Set("Twitch-Eventsub-Message-Type", "webhook_callback_verification")
			h.Set("Twitch-Eventsub-Message-Id", "m-1")
			h.Set("Twitch-Eventsub-Message-Timestamp", now.Format(time.RFC3339))
			h.Set("Twitch-Eventsub-Message-Signature", "sha256="+strings.Repeat("0", 64))
			h.Set("X-Slack-Request-Timestamp", "1800000000")
			h.Set("X-Slack-Signature", "v0="+strings.Repeat("0", 64))
			h.Set("X-Zm-Request-Timestamp", "1800000000")
			h.Set("X-Zm-Signature", "v0="+strings.Repeat("0", 64))
			h.Set("Content-Type", "application/json")
			r := &verify.Request{Method: method, URL: "https://edge.example/in/acme/wh_1?" + query, Header: h, Body: []byte(body), Now: now}
			if method != http.MethodGet {
				var fl *verify.Failure
				if err := s.Verify(r, fuzzSecrets()); err == nil || !errors.As(err, &fl) {
					t.Fatalf("%v: a %s verified (%v) under unknown secrets", p, method, err)
				}
			}
			resp, ok := hs.Handshake(r, fuzzSecrets())
			if !ok {
				continue
			}
			if resp == nil {
				t.Fatalf("%v: handshake taken with no response", p)
			}
			if method == http.MethodGet && resp.Status == http.StatusOK && !(p == hookgatev1.Provider_PROVIDER_META && knowsToken) {
				t.Fatalf("%v: handshake answered 200 to %s ?%q %q", p, method, query, body)
			}
		}
	})
}
