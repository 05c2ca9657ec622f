package verify_test

import (
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/hookgate/hookgate/dataplane/verify"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
)

// hdr builds a header from name, value pairs.
func hmacHdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

const slackVectorBody = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"

// TestHMACVectors checks the providers' published vectors (P) and the fact
// sheet's self-made ones (S, shared/providers.md §3), each also with one
// byte of the signature changed.
func TestHMACVectors(t *testing.T) {
	t.Parallel()
	pd, err := os.ReadFile("testdata/pagerduty_incident_priority_updated.json")
	if err != nil {
		t.Fatal(err)
	}
	hello := `{"hello":"world"}`
	at := func(sec int64) time.Time { return time.Unix(sec, 0) }
	tests := []struct {
		name    string
		p       hookgatev1.Provider
		secrets verify.Secrets
		header  http.Header
		sigName string // the header whose last character is altered
		body    string
		now     time.Time
	}{
		{"P slack", hookgatev1.Provider_PROVIDER_SLACK, verify.Secrets{"signing_secret": {"8f742231b10e8888abcd99yyyzzz85a5"}},
			hmacHdr("X-Slack-Request-Timestamp", "1531420618", "X-Slack-Signature", "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"),
			"X-Slack-Signature", slackVectorBody, at(1531420618)},
		{"P github docs", hookgatev1.Provider_PROVIDER_GITHUB, verify.Secrets{"secret": {"It's a Secret to Everybody"}},
			hmacHdr("X-Hub-Signature-256", "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"),
			"X-Hub-Signature-256", "Hello, World!", at(0)},
		{"P github octokit data", hookgatev1.Provider_PROVIDER_GITHUB, verify.Secrets{"secret": {"secret"}},
			hmacHdr("X-Hub-Signature-256", "sha256=1b2c16b75bd2a870c114153ccda5bcfca63314bc722fa160d690de133ccbb9db"),
			"X-Hub-Signature-256", "data", at(0)},
		{"P github octokit json", hookgatev1.Provider_PROVIDER_GITHUB, verify.Secrets{"secret": {"mysecret"}},
			hmacHdr("X-Hub-Signature-256", "sha256=4864d2759938a15468b5df9ade20bf161da9b4f737ea61794142f3484236bda3"),
			"X-Hub-Signature-256", `{"foo":"bar"}`, at(0)},
		{"P bitbucket with github vector", hookgatev1.Provider_PROVIDER_BITBUCKET, verify.Secrets{"secret": {"It's a Secret to Everybody"}},
			hmacHdr("X-Hub-Signature", "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"),
			"X-Hub-Signature", "Hello, World!", at(0)},
		{"P standard webhooks v1", hookgatev1.Provider_PROVIDER_STANDARD_WEBHOOKS, verify.Secrets{"signing_secret": {"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}},
			hmacHdr("Webhook-Id", "msg_p5jXN8AQM9LWM0D4loKWxJek", "Webhook-Timestamp", "1614265330", "Webhook-Signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="),
			"Webhook-Signature", `{"test": 2432232314}`, at(1614265330)},
		{"P svix v1", hookgatev1.Provider_PROVIDER_STANDARD_WEBHOOKS, verify.Secrets{"signing_secret": {"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}},
			hmacHdr("Svix-Id", "msg_p5jXN8AQM9LWM0D4loKWxJek", "Svix-Timestamp", "1614265330", "Svix-Signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="),
			"Svix-Signature", `{"test": 2432232314}`, at(1614265330)},
		{"P standard webhooks v1 unpadded, bare base64 key", hookgatev1.Provider_PROVIDER_STANDARD_WEBHOOKS, verify.Secrets{"signing_secret": {"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}},
			hmacHdr("Webhook-Id", "msg_p5jXN8AQM9LWM0D4loKWxJek", "Webhook-Timestamp", "1614265330", "Webhook-Signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE"),
			"Webhook-Signature", `{"test": 2432232314}`, at(1614265330)},
		{"P standard webhooks v1a", hookgatev1.Provider_PROVIDER_STANDARD_WEBHOOKS, verify.Secrets{"signing_secret": {"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, "public_key": {"whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4="}},
			hmacHdr("Webhook-Id", "msg_p5jXN8AQM9LWM0D4loKWxJek", "Webhook-Timestamp", "1614265330", "Webhook-Signature", "v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg=="),
			"Webhook-Signature", `{"test": 2432232314}`, at(1614265330)},
		{"P paddle sdk array", hookgatev1.Provider_PROVIDER_PADDLE, verify.Secrets{"secret": {"VALID_SECRET"}},
			hmacHdr("Paddle-Signature", "ts=1698796800;h1=a300428748dce5c70e4da19bffd60769591ea969c99dea3105d0ec9612cf43f9"),
			"Paddle-Signature", `{"data": ["1", "2"]}`, at(1698796800)},
		{"P paddle sdk value", hookgatev1.Provider_PROVIDER_PADDLE, verify.Secrets{"secret": {"VALID_SECRET"}},
			hmacHdr("Paddle-Signature", "ts=1698796800;h1=28981e941fae76e53db32f3d2a83cb69db41476595e84e1970a1b5d98f62b261"),
			"Paddle-Signature", `{"data": "value"}`, at(1698796800)},
		{"P pagerduty go-pagerduty", hookgatev1.Provider_PROVIDER_PAGERDUTY, verify.Secrets{"secret": {"lDQHScfUeXUKaQRNF+8XIiDKZ7XX3itBAYzwU0TARw8lJqRnkKl2iB1anSb0Z+IK"}},
			hmacHdr("X-PagerDuty-Signature", "v1=0c0b9495b893a39e70d1fea2fe11fbe0a825f88b9f67846f6cc07dd2bc5476cd"),
			"X-PagerDuty-Signature", string(pd), at(0)},
		{"S stripe", hookgatev1.Provider_PROVIDER_STRIPE, verify.Secrets{"signing_secret": {"whsec_test_secret"}},
			hmacHdr("Stripe-Signature", "t=1700000000,v1=86748dbec9cc87a9219f8a96632da703271bf5e85aa0afa2b310c37ba059d514"),
			"Stripe-Signature", hello, at(1700000000)},
		{"S shopify", hookgatev1.Provider_PROVIDER_SHOPIFY, verify.Secrets{"secret": {"hush"}},
			hmacHdr("X-Shopify-Hmac-Sha256", "0qgAiZj+St/dOktwfRHyqrd5hPy1tVi7miu0TOYKc3s="),
			"X-Shopify-Hmac-Sha256", hello, at(0)},
		{"S meta", hookgatev1.Provider_PROVIDER_META, verify.Secrets{"app_secret": {"meta-app-secret"}, "verify_token": {"t"}},
			hmacHdr("X-Hub-Signature-256", "sha256=9a80f274cdf922bda93e97d61ba065cbedb86ed276e200ef86cb5593212cf7da"),
			"X-Hub-Signature-256", hello, at(0)},
		{"S zoom", hookgatev1.Provider_PROVIDER_ZOOM, verify.Secrets{"secret_token": {"zoom-secret-token"}},
			hmacHdr("X-Zm-Request-Timestamp", "1700000000", "X-Zm-Signature", "v0=e4eb3074e58f6378939603ce6d89a91bef31584623978ef042c237ca3384627b"),
			"X-Zm-Signature", hello, at(1700000000)},
		{"S twitch", hookgatev1.Provider_PROVIDER_TWITCH, verify.Secrets{"secret": {"twitch-secret-123"}},
			hmacHdr("Twitch-Eventsub-Message-Id", "e76c6bd4-55c9-4987-8304-da1588d8988b", "Twitch-Eventsub-Message-Timestamp", "2019-11-16T10:11:12.634234626Z",
				"Twitch-Eventsub-Message-Signature", "sha256=e768393cfae0c91f8b85943fb52b9171b5177fb0133dc389af46edb9428670e0"),
			"Twitch-Eventsub-Message-Signature", hello, time.Date(2019, 11, 16, 10, 15, 0, 0, time.UTC)},
		{"S intercom", hookgatev1.Provider_PROVIDER_INTERCOM, verify.Secrets{"client_secret": {"intercom-client-secret"}},
			hmacHdr("X-Hub-Signature", "sha1=885e3669670608450143fbbd758f8914406c1b45"),
			"X-Hub-Signature", hello, at(0)},
		{"S bitbucket", hookgatev1.Provider_PROVIDER_BITBUCKET, verify.Secrets{"secret": {"bb-secret"}},
			hmacHdr("X-Hub-Signature", "sha256=914f961be9c898d1b839b6085cce8dff6a6161858d86db7074c3d64480daa5b0"),
			"X-Hub-Signature", hello, at(0)},
		{"S typeform", hookgatev1.Provider_PROVIDER_TYPEFORM, verify.Secrets{"secret": {"abc123"}},
			hmacHdr("Typeform-Signature", "sha256=BcQQPd/YxSFBuAi5moSuh1VbUaQ3TqQfZoCxgE5Z7OE="),
			"Typeform-Signature", hello, at(0)},
		{"S calendly", hookgatev1.Provider_PROVIDER_CALENDLY, verify.Secrets{"signing_key": {"calendly-signing-key"}},
			hmacHdr("Calendly-Webhook-Signature", "t=1700000000,v1=69ef5c0b8fbb0b48f8aa12bf507e1a3a6d21990c66d96ad9e742ceaed45168a8"),
			"Calendly-Webhook-Signature", hello, at(1700000000)},
		{"S paddle", hookgatev1.Provider_PROVIDER_PADDLE, verify.Secrets{"secret": {"pdl_ntfset_test"}},
			hmacHdr("Paddle-Signature", "ts=1700000000;h1=ddd2a5e07ea8f24fd313060da1c0b9215d562cd32b250ae3548218fc040d6f98"),
			"Paddle-Signature", hello, at(1700000000)},
		{"S pagerduty", hookgatev1.Provider_PROVIDER_PAGERDUTY, verify.Secrets{"secret": {"pd-secret"}},
			hmacHdr("X-PagerDuty-Signature", "v1=1495a8045513325560365e9275b635c31d551fd5413c7a374792e30388d036ec"),
			"X-PagerDuty-Signature", hello, at(0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, ok := verify.For(tt.p)
			if !ok {
				t.Fatalf("no scheme for %v", tt.p)
			}
			r := &verify.Request{Method: http.MethodPost, URL: "https://edge.example/in/acme/wh_1", Header: tt.header, Body: []byte(tt.body), Now: tt.now}
			if err := s.Verify(r, tt.secrets); err != nil {
				t.Fatalf("vector: %v", err)
			}
			// One character of the signature changed must mismatch.
			h := tt.header.Clone()
			v := h.Get(tt.sigName)
			i := len(v) - 6
			alt := "0"
			if v[i] == '0' {
				alt = "1"
			}
			h.Set(tt.sigName, v[:i]+alt+v[i+1:])
			r.Header = h
			hmacWantReason(t, s.Verify(r, tt.secrets), verify.SignatureMismatch)
		})
	}
}

// TestLinearVector checks the fact sheet's self-made Linear signature
// (body {"hello":"world"}, which has no webhookTimestamp, so the preset
// itself answers timestamp_missing) through the same HMAC with the
// timestamp dropped.
func TestLinearVector(t *testing.T) {
	t.Parallel()
	s, err := verify.NewHMAC(verify.HMAC{Header: "Linear-Signature"})
	if err != nil {
		t.Fatal(err)
	}
	r := &verify.Request{Header: hmacHdr("Linear-Signature", "0d1441d3e100971fc7eec8551a85765e38f684f71612b6d5662cd26b47417074"), Body: []byte(`{"hello":"world"}`)}
	if err := s.Verify(r, verify.Secrets{"secret": {"lin_wh_test_secret"}}); err != nil {
		t.Fatal(err)
	}
	p, _ := verify.For(hookgatev1.Provider_PROVIDER_LINEAR)
	hmacWantReason(t, p.Verify(r, verify.Secrets{"secret": {"lin_wh_test_secret"}}), verify.TimestampMissing)
}
