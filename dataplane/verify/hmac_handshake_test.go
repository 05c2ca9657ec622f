package verify_test

import (
	"crypto/ed25519"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/dataplane/verify"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
)

func hmacScheme(t *testing.T, p hookgatev1.Provider) verify.Scheme {
	t.Helper()
	s, ok := verify.For(p)
	if !ok {
		t.Fatalf("no scheme for %v", p)
	}
	return s
}

// TestHMACHandshakes checks Slack, Zoom, Twitch and Meta answers, and
// that ordinary calls are not handshakes.
func TestHMACHandshakes(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	ts := strconv.FormatInt(now.Unix(), 10)
	slack := func(body, key string) *verify.Request {
		return &verify.Request{Method: http.MethodPost, Body: []byte(body), Now: now,
			Header: hmacHdr("X-Slack-Request-Timestamp", ts, "X-Slack-Signature", "v0="+hexMAC(key, "v0:", ts, ":", body))}
	}
	zoom := func(body, key string) *verify.Request {
		return &verify.Request{Method: http.MethodPost, Body: []byte(body), Now: now,
			Header: hmacHdr("X-Zm-Request-Timestamp", ts, "X-Zm-Signature", "v0="+hexMAC(key, "v0:", ts, ":", body))}
	}
	rfc := now.UTC().Format(time.RFC3339Nano)
	twitch := func(typ, body, key string) *verify.Request {
		return &verify.Request{Method: http.MethodPost, Body: []byte(body), Now: now,
			Header: hmacHdr("Twitch-Eventsub-Message-Type", typ, "Twitch-Eventsub-Message-Id", "m-1", "Twitch-Eventsub-Message-Timestamp", rfc,
				"Twitch-Eventsub-Message-Signature", "sha256="+hexMAC(key, "m-1", rfc, body))}
	}
	meta := func(query string) *verify.Request {
		return &verify.Request{Method: http.MethodGet, URL: "https://edge.example/in/acme/wh_1?" + query, Header: http.Header{}, Now: now}
	}
	slackURL := `{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}`
	zoomURL := `{"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1654503849680,"event":"endpoint.url_validation"}`
	twitchURL := `{"challenge":"pogchamp-kappa-360noscope-vohiyo","subscription":{"id":"f1c2a387-161a-49f9-a165-0f21d7a4e1c4","type":"channel.follow"}}`
	tests := []struct {
		name    string
		p       hookgatev1.Provider
		secrets verify.Secrets
		r       *verify.Request
		ok      bool
		status  int
		ctype   string
		body    string
		reason  verify.Reason
	}{
		{"slack url_verification", hookgatev1.Provider_PROVIDER_SLACK, verify.Secrets{"signing_secret": {"ss"}}, slack(slackURL, "ss"),
			true, 200, "application/json", `{"challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}`, ""},
		{"slack url_verification unsigned", hookgatev1.Provider_PROVIDER_SLACK, verify.Secrets{"signing_secret": {"ss"}}, slack(slackURL, "other"),
			true, 401, "", "", verify.SignatureMismatch},
		{"slack url_verification without challenge", hookgatev1.Provider_PROVIDER_SLACK, verify.Secrets{"signing_secret": {"ss"}}, slack(`{"type":"url_verification"}`, "ss"),
			true, 400, "", "", verify.HandshakeMalformed},
		{"slack event mentioning url_verification", hookgatev1.Provider_PROVIDER_SLACK, verify.Secrets{"signing_secret": {"ss"}},
			slack(`{"type":"event_callback","event":{"text":"url_verification"}}`, "ss"), false, 0, "", "", ""},
		{"slack event", hookgatev1.Provider_PROVIDER_SLACK, verify.Secrets{"signing_secret": {"ss"}}, slack(`{"type":"event_callback"}`, "ss"), false, 0, "", "", ""},
		{"zoom url_validation (fact sheet encryptedToken)", hookgatev1.Provider_PROVIDER_ZOOM, verify.Secrets{"secret_token": {"zoom-secret-token"}}, zoom(zoomURL, "zoom-secret-token"),
			true, 200, "application/json", `{"plainToken":"qgg8vlvZRS6UYooatFL8Aw","encryptedToken":"d9e0d764a78494688ba3f2d5c0ed4ca311394b4834d959759213424d2df961e3"}`, ""},
		{"zoom url_validation keyed by the previous secret that signed", hookgatev1.Provider_PROVIDER_ZOOM, verify.Secrets{"secret_token": {"new-token", "zoom-secret-token"}}, zoom(zoomURL, "zoom-secret-token"),
			true, 200, "application/json", `{"plainToken":"qgg8vlvZRS6UYooatFL8Aw","encryptedToken":"d9e0d764a78494688ba3f2d5c0ed4ca311394b4834d959759213424d2df961e3"}`, ""},
		{"zoom url_validation without plainToken", hookgatev1.Provider_PROVIDER_ZOOM, verify.Secrets{"secret_token": {"z"}}, zoom(`{"event":"endpoint.url_validation","payload":{}}`, "z"),
			true, 400, "", "", verify.HandshakeMalformed},
		{"zoom event", hookgatev1.Provider_PROVIDER_ZOOM, verify.Secrets{"secret_token": {"z"}}, zoom(`{"event":"meeting.started"}`, "z"), false, 0, "", "", ""},
		{"twitch verification", hookgatev1.Provider_PROVIDER_TWITCH, verify.Secrets{"secret": {"twitch-secret"}}, twitch("webhook_callback_verification", twitchURL, "twitch-secret"),
			true, 200, "text/plain; charset=utf-8", "pogchamp-kappa-360noscope-vohiyo", ""},
		{"twitch verification wrong secret", hookgatev1.Provider_PROVIDER_TWITCH, verify.Secrets{"secret": {"twitch-secret"}}, twitch("webhook_callback_verification", twitchURL, "x"),
			true, 401, "", "", verify.SignatureMismatch},
		{"twitch verification without challenge", hookgatev1.Provider_PROVIDER_TWITCH, verify.Secrets{"secret": {"twitch-secret"}}, twitch("webhook_callback_verification", `{"subscription":{}}`, "twitch-secret"),
			true, 400, "", "", verify.HandshakeMalformed},
		{"twitch notification", hookgatev1.Provider_PROVIDER_TWITCH, verify.Secrets{"secret": {"twitch-secret"}}, twitch("notification", twitchURL, "twitch-secret"), false, 0, "", "", ""},
		{"meta subscribe", hookgatev1.Provider_PROVIDER_META, verify.Secrets{"app_secret": {"a"}, "verify_token": {"my-token"}},
			meta("hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=my-token"), true, 200, "text/plain; charset=utf-8", "1158201444", ""},
		{"meta subscribe previous token", hookgatev1.Provider_PROVIDER_META, verify.Secrets{"app_secret": {"a"}, "verify_token": {"new", "my-token"}},
			meta("key=hgk_x&hub.mode=subscribe&hub.challenge=42&hub.verify_token=my-token"), true, 200, "text/plain; charset=utf-8", "42", ""},
		{"meta token mismatch", hookgatev1.Provider_PROVIDER_META, verify.Secrets{"app_secret": {"a"}, "verify_token": {"my-token"}},
			meta("hub.mode=subscribe&hub.challenge=1&hub.verify_token=my-tokeN"), true, 403, "", "", verify.TokenMismatch},
		{"meta no verify_token secret", hookgatev1.Provider_PROVIDER_META, verify.Secrets{"app_secret": {"a"}},
			meta("hub.mode=subscribe&hub.challenge=1&hub.verify_token=t"), true, 403, "", "", verify.SecretMissing},
		{"meta wrong mode", hookgatev1.Provider_PROVIDER_META, verify.Secrets{"verify_token": {"t"}},
			meta("hub.mode=unsubscribe&hub.challenge=1&hub.verify_token=t"), true, 400, "", "", verify.HandshakeMalformed},
		{"meta no challenge", hookgatev1.Provider_PROVIDER_META, verify.Secrets{"verify_token": {"t"}},
			meta("hub.mode=subscribe&hub.verify_token=t"), true, 400, "", "", verify.HandshakeMalformed},
		{"meta no token", hookgatev1.Provider_PROVIDER_META, verify.Secrets{"verify_token": {"t"}},
			meta("hub.mode=subscribe&hub.challenge=1"), true, 400, "", "", verify.HandshakeMalformed},
		{"meta bad escape", hookgatev1.Provider_PROVIDER_META, verify.Secrets{"verify_token": {"t"}},
			meta("hub.mode=subscribe&hub.challenge=%zz&hub.verify_token=t"), true, 400, "", "", verify.HandshakeMalformed},
		{"meta no query", hookgatev1.Provider_PROVIDER_META, verify.Secrets{"verify_token": {"t"}},
			&verify.Request{Method: http.MethodGet, URL: "https://edge.example/in/acme/wh_1"}, true, 400, "", "", verify.HandshakeMalformed},
		{"meta long challenge", hookgatev1.Provider_PROVIDER_META, verify.Secrets{"verify_token": {"t"}},
			meta("hub.mode=subscribe&hub.verify_token=t&hub.challenge=" + strings.Repeat("1", 1025)), true, 400, "", "", verify.HandshakeMalformed},
		{"meta POST is an event", hookgatev1.Provider_PROVIDER_META, verify.Secrets{"verify_token": {"t"}},
			&verify.Request{Method: http.MethodPost, URL: "https://edge.example/in/acme/wh_1?hub.mode=subscribe", Body: []byte(`{}`)}, false, 0, "", "", ""},
		{"github ping is an event", hookgatev1.Provider_PROVIDER_GITHUB, verify.Secrets{"secret": {"s"}},
			&verify.Request{Method: http.MethodPost, Header: hmacHdr("X-GitHub-Event", "ping"), Body: []byte(`{"zen":"Keep it logically awesome."}`)}, false, 0, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs, isHS := hmacScheme(t, tt.p).(verify.Handshaker)
			if !isHS {
				t.Fatalf("%v is not a Handshaker", tt.p)
			}
			resp, ok := hs.Handshake(tt.r, tt.secrets)
			if ok != tt.ok {
				t.Fatalf("handshake %v, want %v", ok, tt.ok)
			}
			if !ok {
				return
			}
			if resp.Status != tt.status || resp.Reason != tt.reason {
				t.Fatalf("got %d %q, want %d %q", resp.Status, resp.Reason, tt.status, tt.reason)
			}
			if tt.status == 200 && (resp.ContentType != tt.ctype || string(resp.Body) != tt.body) {
				t.Fatalf("got %s %s, want %s %s", resp.ContentType, resp.Body, tt.ctype, tt.body)
			}
		})
	}
}

// TestHMACDeliveryIDs checks each provider's dedup id.
func TestHMACDeliveryIDs(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 201)
	tests := []struct {
		name string
		p    hookgatev1.Provider
		h    http.Header
		body string
		want string
	}{
		{"stripe event id", hookgatev1.Provider_PROVIDER_STRIPE, nil, `{"object":{"id":"in_1"},"id":"evt_1NG8Du2eZvKYlo2C","type":"x"}`, "evt_1NG8Du2eZvKYlo2C"},
		{"stripe nested id only", hookgatev1.Provider_PROVIDER_STRIPE, nil, `{"data":{"id":"x"}}`, ""},
		{"stripe escaped id", hookgatev1.Provider_PROVIDER_STRIPE, nil, `{"id":"evt\u0031"}`, ""},
		{"stripe numeric id", hookgatev1.Provider_PROVIDER_STRIPE, nil, `{"id":12}`, ""},
		{"stripe long id", hookgatev1.Provider_PROVIDER_STRIPE, nil, `{"id":"` + long + `"}`, ""},
		{"stripe not json", hookgatev1.Provider_PROVIDER_STRIPE, nil, `id=evt_1`, ""},
		{"stripe array", hookgatev1.Provider_PROVIDER_STRIPE, nil, `[{"id":"evt_1"}]`, ""},
		{"slack event_id", hookgatev1.Provider_PROVIDER_SLACK, nil, ` { "token" : "t", "event" : {"event_id":"no"} , "event_id" : "Ev08MFMKH6" }`, "Ev08MFMKH6"},
		{"slack slash command", hookgatev1.Provider_PROVIDER_SLACK, nil, slackVectorBody, ""},
		{"github", hookgatev1.Provider_PROVIDER_GITHUB, hmacHdr("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"), "{}", "72d3162e-cc78-11e3-81ab-4c9367dc0958"},
		{"github long", hookgatev1.Provider_PROVIDER_GITHUB, hmacHdr("X-GitHub-Delivery", long), "{}", ""},
		{"standard webhooks", hookgatev1.Provider_PROVIDER_STANDARD_WEBHOOKS, hmacHdr("webhook-id", "msg_1", "svix-id", "msg_2"), "{}", "msg_1"},
		{"svix", hookgatev1.Provider_PROVIDER_STANDARD_WEBHOOKS, hmacHdr("svix-id", "msg_2"), "{}", "msg_2"},
		{"twitch", hookgatev1.Provider_PROVIDER_TWITCH, hmacHdr("Twitch-Eventsub-Message-Id", "m-1"), "{}", "m-1"},
		{"shopify", hookgatev1.Provider_PROVIDER_SHOPIFY, hmacHdr("X-Shopify-Webhook-Id", "b54557e4"), "{}", "b54557e4"},
		{"shopify events", hookgatev1.Provider_PROVIDER_SHOPIFY, hmacHdr("shopify-event-id", "e-1"), "{}", "e-1"},
		{"linear", hookgatev1.Provider_PROVIDER_LINEAR, hmacHdr("Linear-Delivery", "234d1a4e"), "{}", "234d1a4e"},
		{"bitbucket", hookgatev1.Provider_PROVIDER_BITBUCKET, hmacHdr("X-Request-UUID", "u-1", "X-Hook-UUID", "hook"), "{}", "u-1"},
		{"typeform", hookgatev1.Provider_PROVIDER_TYPEFORM, nil, `{"event_id":"01GZ","event_type":"form_response"}`, "01GZ"},
		{"paddle", hookgatev1.Provider_PROVIDER_PADDLE, nil, `{"event_id":"evt_1","notification_id":"ntf_1"}`, "ntf_1"},
		{"meta has none", hookgatev1.Provider_PROVIDER_META, nil, `{"id":"x"}`, ""},
		{"truncated body", hookgatev1.Provider_PROVIDER_STRIPE, nil, `{"a":{"b":"c`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, ok := hmacScheme(t, tt.p).(verify.DeliveryIDer)
			if !ok {
				t.Fatalf("%v is not a DeliveryIDer", tt.p)
			}
			if tt.h == nil {
				tt.h = http.Header{}
			}
			if got := d.DeliveryID(&verify.Request{Header: tt.h, Body: []byte(tt.body)}); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestHMACFallbacksAndEd25519 covers the presets' options: legacy SHA-1
// headers, Svix names, Standard Webhooks keys and v1a.
func TestHMACFallbacksAndEd25519(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_614_265_330, 0)
	body := `{"test": 2432232314}`
	swKey := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	v1 := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	v1a := "v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg=="
	pub := "whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4="
	_, otherPriv, _ := ed25519.GenerateKey(nil)
	otherPub := base64.StdEncoding.EncodeToString(otherPriv.Public().(ed25519.PublicKey))
	sw := func(sig string) http.Header {
		return hmacHdr("Webhook-Id", "msg_p5jXN8AQM9LWM0D4loKWxJek", "Webhook-Timestamp", "1614265330", "Webhook-Signature", sig)
	}
	swRaw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(swKey, "whsec_"))
	legacy := "sha1=" + hex.EncodeToString(mac(sha1.New, []byte("s"), "hello"))
	tests := []struct {
		name    string
		p       hookgatev1.Provider
		secrets verify.Secrets
		h       http.Header
		body    string
		want    verify.Reason
	}{
		{"github legacy sha1 alone", hookgatev1.Provider_PROVIDER_GITHUB, verify.Secrets{"secret": {"s"}}, hmacHdr("X-Hub-Signature", legacy), "hello", ""},
		{"github sha256 wins over legacy", hookgatev1.Provider_PROVIDER_GITHUB, verify.Secrets{"secret": {"s"}},
			hmacHdr("X-Hub-Signature-256", "sha256="+hexMAC("other", "hello"), "X-Hub-Signature", legacy), "hello", verify.SignatureMismatch},
		{"meta legacy sha1 alone", hookgatev1.Provider_PROVIDER_META, verify.Secrets{"app_secret": {"s"}}, hmacHdr("X-Hub-Signature", legacy), "hello", ""},
		{"shopify events header", hookgatev1.Provider_PROVIDER_SHOPIFY, verify.Secrets{"secret": {"s"}}, hmacHdr("shopify-hmac-sha256", b64MAC("s", "hello")), "hello", ""},
		{"sw v1 and v1a, v1 key only", hookgatev1.Provider_PROVIDER_STANDARD_WEBHOOKS, verify.Secrets{"signing_secret": {swKey}}, sw(v1a + " " + v1), body, ""},
		{"sw v1a only, no public key", hookgatev1.Provider_PROVIDER_STANDARD_WEBHOOKS, verify.Secrets{"signing_secret": {swKey}}, sw(v1a), body, verify.SecretMissing},
		{"sw v1a, previous public key", hookgatev1.Provider_PROVIDER_STANDARD_WEBHOOKS, verify.Secrets{"signing_secret": {swKey}, "public_key": {otherPub, pub}}, sw(v1a), body, ""},
		{"sw v1a, wrong public key", hookgatev1.Provider_PROVIDER_STANDARD_WEBHOOKS, verify.Secrets{"signing_secret": {swKey}, "public_key": {otherPub}}, sw(v1a), body, verify.SignatureMismatch},
		{"sw v1a tampered", hookgatev1.Provider_PROVIDER_STANDARD_WEBHOOKS, verify.Secrets{"signing_secret": {swKey}, "public_key": {pub}}, sw(v1a), body + " ", verify.SignatureMismatch},
		{"sw v1a malformed", hookgatev1.Provider_PROVIDER_STANDARD_WEBHOOKS, verify.Secrets{"signing_secret": {swKey}, "public_key": {pub}}, sw("v1a,abcd"), body, verify.SignatureMalformed},
		{"sw unknown version only", hookgatev1.Provider_PROVIDER_STANDARD_WEBHOOKS, verify.Secrets{"signing_secret": {swKey}}, sw("v2,abcd"), body, verify.SignatureMalformed},
		{"sw key not base64", hookgatev1.Provider_PROVIDER_STANDARD_WEBHOOKS, verify.Secrets{"signing_secret": {"whsec_***"}}, sw(v1), body, verify.SecretMissing},
		{"sw one key not base64, the other verifies", hookgatev1.Provider_PROVIDER_STANDARD_WEBHOOKS, verify.Secrets{"signing_secret": {"whsec_***", swKey}}, sw(v1), body, ""},
		{"sw key with whsec_ twice", hookgatev1.Provider_PROVIDER_STANDARD_WEBHOOKS, verify.Secrets{"signing_secret": {"whsec_" + swKey}}, sw(v1), body, verify.SecretMissing},
		{"stripe keys with the whole whsec_ string, not its decoding", hookgatev1.Provider_PROVIDER_STRIPE, verify.Secrets{"signing_secret": {swKey}},
			hmacHdr("Stripe-Signature", "t=1614265330,v1="+hex.EncodeToString(mac(sha256.New, swRaw, "1614265330.", body))), body, verify.SignatureMismatch},
		{"sw no id", hookgatev1.Provider_PROVIDER_STANDARD_WEBHOOKS, verify.Secrets{"signing_secret": {swKey}}, without(sw(v1), "Webhook-Id"), body, verify.SignatureMalformed},
		{"sw no timestamp", hookgatev1.Provider_PROVIDER_STANDARD_WEBHOOKS, verify.Secrets{"signing_secret": {swKey}}, without(sw(v1), "Webhook-Timestamp"), body, verify.TimestampMissing},
		{"sw timestamp with sign", hookgatev1.Provider_PROVIDER_STANDARD_WEBHOOKS, verify.Secrets{"signing_secret": {swKey}}, with(sw(v1), "Webhook-Timestamp", "+1614265330"), body, verify.TimestampMalformed},
		{"stripe v0 only", hookgatev1.Provider_PROVIDER_STRIPE, verify.Secrets{"signing_secret": {"s"}}, hmacHdr("Stripe-Signature", "t=1614265330,v0="+hexMAC("s", "1614265330.", body)), body, verify.SignatureMalformed},
		{"stripe no t", hookgatev1.Provider_PROVIDER_STRIPE, verify.Secrets{"signing_secret": {"s"}}, hmacHdr("Stripe-Signature", "v1="+hexMAC("s", "1614265330.", body)), body, verify.TimestampMissing},
		{"stripe two timestamps", hookgatev1.Provider_PROVIDER_STRIPE, verify.Secrets{"signing_secret": {"s"}},
			hmacHdr("Stripe-Signature", "t=1614265330,t=1614265331,v1="+hexMAC("s", "1614265330.", body)), body, verify.SignatureMalformed},
		{"stripe sha1-length signature", hookgatev1.Provider_PROVIDER_STRIPE, verify.Secrets{"signing_secret": {"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}},
			hmacHdr("Stripe-Signature", "t=1614265330,v1="+hex.EncodeToString(mac(sha1.New, []byte("x"), ""))), body, verify.SignatureMalformed},
		{"linear timestamp as string", hookgatev1.Provider_PROVIDER_LINEAR, verify.Secrets{"secret": {"s"}},
			hmacHdr("Linear-Signature", hexMAC("s", `{"webhookTimestamp":"1614265330000"}`)), `{"webhookTimestamp":"1614265330000"}`, ""},
		{"linear timestamp malformed", hookgatev1.Provider_PROVIDER_LINEAR, verify.Secrets{"secret": {"s"}},
			hmacHdr("Linear-Signature", hexMAC("s", `{"webhookTimestamp":1.6e12}`)), `{"webhookTimestamp":1.6e12}`, verify.TimestampMalformed},
		{"zoom milliseconds", hookgatev1.Provider_PROVIDER_ZOOM, verify.Secrets{"secret_token": {"z"}},
			hmacHdr("X-Zm-Request-Timestamp", "1614265330000", "X-Zm-Signature", "v0="+hexMAC("z", "v0:1614265330000:", body)), body, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &verify.Request{Method: http.MethodPost, Header: tt.h, Body: []byte(tt.body), Now: now}
			hmacWantReason(t, hmacScheme(t, tt.p).Verify(r, tt.secrets), tt.want)
		})
	}
}

// TestHMACProvidersInfo checks that every HMAC preset describes itself
// with the control plane's secret names.
func TestHMACProvidersInfo(t *testing.T) {
	t.Parallel()
	want := map[hookgatev1.Provider][]string{}
	for _, pc := range hmacProviders {
		want[pc.p] = nil
	}
	for _, info := range verify.Providers() {
		if _, ok := want[info.Provider]; !ok {
			continue
		}
		if info.Scheme == "" || len(info.Secrets) == 0 {
			t.Errorf("%v: incomplete info %+v", info.Provider, info)
		}
		delete(want, info.Provider)
	}
	if len(want) != 0 {
		t.Fatalf("providers without info: %v", want)
	}
}
