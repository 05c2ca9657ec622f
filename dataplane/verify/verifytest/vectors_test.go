package verifytest_test

import (
	"encoding/hex"
	"net/url"
	"testing"
	"time"

	"github.com/hookgate/hookgate/dataplane/verify/verifytest"
)

// TestSignersReproduceVectors: the signers give the published vectors of
// shared/providers.md (§2) and its self-made ones (§3), so they are right
// on their own, not merely in agreement with the verifier.
func TestSignersReproduceVectors(t *testing.T) {
	t.Parallel()
	hello := `{"hello":"world"}`
	twilioParams := url.Values{"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+14158675309"}, "Digits": {"1234"},
		"From": {"+14158675309"}, "To": {"+18005551212"}}.Encode()
	seed, _ := hex.DecodeString("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
	tests := []struct {
		signer, secret, url, body, id string
		ts                            time.Time
		header, want                  string
		key                           *verifytest.Key
	}{
		{signer: "GITHUB", secret: "It's a Secret to Everybody", body: "Hello, World!", header: "X-Hub-Signature-256",
			want: "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"},
		{signer: "SLACK", secret: "8f742231b10e8888abcd99yyyzzz85a5", ts: time.Unix(1531420618, 0), header: "X-Slack-Signature",
			body: "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c",
			want: "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"},
		{signer: "STANDARD_WEBHOOKS", secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", id: "msg_p5jXN8AQM9LWM0D4loKWxJek", ts: time.Unix(1614265330, 0),
			body: `{"test": 2432232314}`, header: "webhook-signature", want: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="},
		{signer: "TWILIO", secret: "12345", url: "https://mycompany.com/myapp.php?foo=1&bar=2", body: twilioParams,
			header: "X-Twilio-Signature", want: "RSOYDt4T1cUTdK1PDd93/VVr8B8="},
		{signer: "TWILIO_JSON", secret: "12345", url: "https://mycompany.com/myapp.php?foo=1&bar=2", body: `{"property": "value", "boolean": true}`,
			header: "X-Twilio-Signature", want: "a9nBmqA0ju/hNViExpshrM61xv4="},
		{signer: "SQUARE", secret: "signature-key", url: "https://webhook.site/webhooks", body: `{"data":{"type":"webhooks","id":"fake_id"}}`,
			header: "X-Square-Hmacsha256-Signature", want: "W3FlCNk5IA3ZQ2LHTWoajvzfaDu/OwY2tNHIHC3IUOA="},
		{signer: "PADDLE", secret: "VALID_SECRET", ts: time.Unix(1698796800, 0), body: `{"data": ["1", "2"]}`, header: "Paddle-Signature",
			want: "ts=1698796800;h1=a300428748dce5c70e4da19bffd60769591ea969c99dea3105d0ec9612cf43f9"},
		{signer: "SHOPIFY", secret: "hush", body: hello, header: "X-Shopify-Hmac-Sha256", want: "0qgAiZj+St/dOktwfRHyqrd5hPy1tVi7miu0TOYKc3s="},
		{signer: "META", secret: "meta-app-secret", body: hello, header: "X-Hub-Signature-256",
			want: "sha256=9a80f274cdf922bda93e97d61ba065cbedb86ed276e200ef86cb5593212cf7da"},
		{signer: "ZOOM", secret: "zoom-secret-token", ts: time.Unix(1700000000, 0), body: hello, header: "X-Zm-Signature",
			want: "v0=e4eb3074e58f6378939603ce6d89a91bef31584623978ef042c237ca3384627b"},
		{signer: "TWITCH", secret: "twitch-secret-123", id: "e76c6bd4-55c9-4987-8304-da1588d8988b", ts: time.Date(2019, 11, 16, 10, 11, 12, 634234626, time.UTC),
			body: hello, header: "Twitch-Eventsub-Message-Signature", want: "sha256=e768393cfae0c91f8b85943fb52b9171b5177fb0133dc389af46edb9428670e0"},
		{signer: "INTERCOM", secret: "intercom-client-secret", body: hello, header: "X-Hub-Signature", want: "sha1=885e3669670608450143fbbd758f8914406c1b45"},
		{signer: "BITBUCKET", secret: "bb-secret", body: hello, header: "X-Hub-Signature",
			want: "sha256=914f961be9c898d1b839b6085cce8dff6a6161858d86db7074c3d64480daa5b0"},
		{signer: "TYPEFORM", secret: "abc123", body: hello, header: "Typeform-Signature", want: "sha256=BcQQPd/YxSFBuAi5moSuh1VbUaQ3TqQfZoCxgE5Z7OE="},
		{signer: "CALENDLY", secret: "calendly-signing-key", ts: time.Unix(1700000000, 0), body: hello, header: "Calendly-Webhook-Signature",
			want: "t=1700000000,v1=69ef5c0b8fbb0b48f8aa12bf507e1a3a6d21990c66d96ad9e742ceaed45168a8"},
		{signer: "PAGERDUTY", secret: "pd-secret", body: hello, header: "X-PagerDuty-Signature",
			want: "v1=1495a8045513325560365e9275b635c31d551fd5413c7a374792e30388d036ec"},
		{signer: "HUBSPOT", secret: "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy", url: "https://www.example.com/webhook_uri", ts: time.UnixMilli(1700000000000),
			body: `{"example_field":"example_value"}`, header: "X-HubSpot-Signature-v3", want: "rQEKkaNUiu+1qGF//O/pw4BCzstSqO1PyUnGICmf+7o="},
		{signer: "DISCORD", key: ptr(verifytest.Ed25519SeedKey(seed)), ts: time.Unix(1700000000, 0), body: `{"type":1}`, header: "X-Signature-Ed25519",
			want: "1695961a47c91a1ec033b819b7e87e3dbc583dd0cee6d1fd0216f58ac87b6228ae531ddbf91fb7bc28d7edf7f08604da16f54624f38a6bc0614e4dc13cd47f0f"},
	}
	for _, tt := range tests {
		t.Run(tt.signer, func(t *testing.T) {
			s := verifytest.Find(tt.signer)
			key := verifytest.SecretKey(tt.secret)
			if tt.key != nil {
				key = *tt.key
			}
			c := s.Sign(verifytest.Input{URL: tt.url, Body: []byte(tt.body), Time: tt.ts, ID: tt.id}, key)
			got := c.Header.Get(tt.header)
			if got != tt.want {
				t.Fatalf("%s: %q, want %q", tt.header, got, tt.want)
			}
		})
	}
	if k := verifytest.Ed25519SeedKey(seed); k.Secret != "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a" {
		t.Fatalf("RFC 8032 public key %s", k.Secret)
	}
}

func ptr[T any](v T) *T { return &v }
