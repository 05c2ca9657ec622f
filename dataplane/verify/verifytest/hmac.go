package verifytest

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"
	"strings"
	"time"

	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"google.golang.org/protobuf/types/known/durationpb"
)

// mac is the HMAC of the parts, in order.
func mac(newHash func() hash.Hash, key []byte, parts ...[]byte) []byte {
	m := hmac.New(newHash, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// hexSHA256 and b64SHA256 are HMAC-SHA256 keyed with the secret's bytes,
// over text parts and the body, hex or base64.
func hexSHA256(key string, parts ...[]byte) string {
	return hexStr(mac(sha256.New, []byte(key), parts...))
}

func b64SHA256(key string, parts ...[]byte) string {
	return b64.EncodeToString(mac(sha256.New, []byte(key), parts...))
}

func s(text string) []byte { return []byte(text) }

// hmacSigners are the body-only and timestamp+body HMAC providers
// (providers.md §2) and CUSTOM_HMAC.
func hmacSigners() []*Signer {
	hubSHA1 := func(key string, body []byte) string { return "sha1=" + hexStr(mac(sha1.New, []byte(key), body)) }
	return []*Signer{
		{
			// GitHub sends X-Hub-Signature-256 and the legacy SHA-1
			// X-Hub-Signature beside it.
			Name: "GITHUB", Provider: hookgatev1.Provider_PROVIDER_GITHUB, Secret: "secret", ContentType: "application/json",
			Headers: []string{"X-Hub-Signature-256", "X-Hub-Signature"},
			newKey:  textKey("gh-", 24),
			sign: func(_ *Signer, in Input, k []Key) Call {
				return Call{Header: header("X-Hub-Signature-256", "sha256="+hexSHA256(k[0].Secret, in.Body),
					"X-Hub-Signature", hubSHA1(k[0].Secret, in.Body), "X-GitHub-Delivery", in.ID, "X-GitHub-Event", "push")}
			},
			tamper: tamperBody, malformed: setHeader("X-Hub-Signature-256", fixed("sha256=not-hex")),
		},
		{
			Name: "META", Provider: hookgatev1.Provider_PROVIDER_META, Secret: "app_secret", ContentType: "application/json",
			Extra:   map[string]string{"verify_token": "meta-verify-" + randomText(10)},
			Headers: []string{"X-Hub-Signature-256", "X-Hub-Signature"},
			newKey:  textKey("", 32),
			sign: func(_ *Signer, in Input, k []Key) Call {
				return Call{Header: header("X-Hub-Signature-256", "sha256="+hexSHA256(k[0].Secret, in.Body),
					"X-Hub-Signature", hubSHA1(k[0].Secret, in.Body))}
			},
			tamper: tamperBody, malformed: setHeader("X-Hub-Signature-256", fixed("sha256="+strings.Repeat("0", 63))),
			handshake: metaHandshake,
		},
		{
			Name: "SHOPIFY", Provider: hookgatev1.Provider_PROVIDER_SHOPIFY, Secret: "secret", ContentType: "application/json",
			Headers: []string{"X-Shopify-Hmac-Sha256"},
			newKey:  textKey("shpss_", 32),
			sign: func(_ *Signer, in Input, k []Key) Call {
				return Call{Header: header("X-Shopify-Hmac-Sha256", b64SHA256(k[0].Secret, in.Body),
					"X-Shopify-Webhook-Id", in.ID, "X-Shopify-Topic", "orders/create")}
			},
			tamper: tamperBody, malformed: setHeader("X-Shopify-Hmac-Sha256", fixed("@@not base64@@")),
		},
		{
			// Linear signs the body only; its timestamp is the body's
			// webhookTimestamp (ms), which the signer writes in.
			Name: "LINEAR", Provider: hookgatev1.Provider_PROVIDER_LINEAR, Secret: "secret", ContentType: "application/json",
			Headers: []string{"Linear-Signature"}, MaxAge: time.Minute, MaxAhead: time.Minute,
			newKey: textKey("lin_wh_", 32),
			sign: func(_ *Signer, in Input, k []Key) Call {
				body := withTimestampField(in.Body, "webhookTimestamp", unixMS(in.Time))
				return Call{Body: body, Header: header("Linear-Signature", hexSHA256(k[0].Secret, body),
					"Linear-Delivery", in.ID, "Linear-Event", "Issue")}
			},
			tamper: tamperBody, malformed: setHeader("Linear-Signature", fixed("xyz")),
		},
		{
			Name: "INTERCOM", Provider: hookgatev1.Provider_PROVIDER_INTERCOM, Secret: "client_secret", ContentType: "application/json",
			Headers: []string{"X-Hub-Signature"},
			newKey:  textKey("", 36),
			sign: func(_ *Signer, in Input, k []Key) Call {
				return Call{Header: header("X-Hub-Signature", hubSHA1(k[0].Secret, in.Body))}
			},
			tamper: tamperBody, malformed: setHeader("X-Hub-Signature", fixed("sha1=abc")),
		},
		{
			// One v1= entry per active secret, comma separated.
			Name: "PAGERDUTY", Provider: hookgatev1.Provider_PROVIDER_PAGERDUTY, Secret: "secret", ContentType: "application/json",
			Headers: []string{"X-PagerDuty-Signature"}, Multi: true,
			// PagerDuty's secrets look like base64 and are used as text.
			newKey: func() Key { return Key{Secret: b64.EncodeToString(randomBytes(48))} },
			sign: func(_ *Signer, in Input, k []Key) Call {
				var vs []string
				for _, key := range k {
					vs = append(vs, "v1="+hexSHA256(key.Secret, in.Body))
				}
				return Call{Header: header("X-PagerDuty-Signature", strings.Join(vs, ","))}
			},
			tamper: tamperBody, malformed: setHeader("X-PagerDuty-Signature", fixed("v1=nothex")),
		},
		{
			// Bitbucket uses the X-Hub-Signature name with SHA-256.
			Name: "BITBUCKET", Provider: hookgatev1.Provider_PROVIDER_BITBUCKET, Secret: "secret", ContentType: "application/json",
			Headers: []string{"X-Hub-Signature"},
			newKey:  textKey("bb-", 20),
			sign: func(_ *Signer, in Input, k []Key) Call {
				return Call{Header: header("X-Hub-Signature", "sha256="+hexSHA256(k[0].Secret, in.Body),
					"X-Request-UUID", in.ID, "X-Event-Key", "repo:push")}
			},
			tamper: tamperBody, malformed: setHeader("X-Hub-Signature", fixed("sha256=")),
		},
		{
			// Typeform: base64, despite the sha256= prefix.
			Name: "TYPEFORM", Provider: hookgatev1.Provider_PROVIDER_TYPEFORM, Secret: "secret", ContentType: "application/json",
			Headers: []string{"Typeform-Signature"},
			newKey:  textKey("tf-", 20),
			sign: func(_ *Signer, in Input, k []Key) Call {
				return Call{Header: header("Typeform-Signature", "sha256="+b64SHA256(k[0].Secret, in.Body))}
			},
			tamper: tamperBody, malformed: setHeader("Typeform-Signature", fixed("sha256=***")),
		},
		{
			Name: "SLACK", Provider: hookgatev1.Provider_PROVIDER_SLACK, Secret: "signing_secret", ContentType: "application/json",
			Headers: []string{"X-Slack-Signature"}, MaxAge: 5 * time.Minute, MaxAhead: 5 * time.Minute,
			newKey: func() Key { return Key{Secret: hexStr(randomBytes(16))} },
			sign: func(_ *Signer, in Input, k []Key) Call {
				ts := unixS(in.Time)
				return Call{Header: header("X-Slack-Request-Timestamp", ts,
					"X-Slack-Signature", "v0="+hexSHA256(k[0].Secret, s("v0:"+ts+":"), in.Body))}
			},
			tamper: tamperBody, malformed: setHeader("X-Slack-Signature", fixed("v0=zz")),
			handshake: slackHandshake,
		},
		{
			Name: "ZOOM", Provider: hookgatev1.Provider_PROVIDER_ZOOM, Secret: "secret_token", ContentType: "application/json",
			Headers: []string{"X-Zm-Signature"}, MaxAge: 5 * time.Minute, MaxAhead: 5 * time.Minute,
			newKey: textKey("", 22),
			sign: func(_ *Signer, in Input, k []Key) Call {
				ts := unixS(in.Time)
				return Call{Header: header("X-Zm-Request-Timestamp", ts,
					"X-Zm-Signature", "v0="+hexSHA256(k[0].Secret, s("v0:"+ts+":"), in.Body))}
			},
			tamper: tamperBody, malformed: setHeader("X-Zm-Signature", fixed("v0=zz")),
			handshake: zoomHandshake,
		},
		{
			// One v1= per active secret and, as in test mode, a fake v0=
			// that must be ignored. The whsec_ secret keys the HMAC whole.
			Name: "STRIPE", Provider: hookgatev1.Provider_PROVIDER_STRIPE, Secret: "signing_secret", ContentType: "application/json",
			Headers: []string{"Stripe-Signature"}, MaxAge: 300 * time.Second, MaxAhead: 300 * time.Second, Multi: true,
			newKey: textKey("whsec_", 32),
			sign: func(_ *Signer, in Input, k []Key) Call {
				ts := unixS(in.Time)
				v := "t=" + ts
				for _, key := range k {
					v += ",v1=" + hexSHA256(key.Secret, s(ts+"."), in.Body)
				}
				return Call{Header: header("Stripe-Signature", v+",v0="+hexSHA256("test-mode", s(ts+"."), in.Body))}
			},
			tamper: tamperBody,
			malformed: setHeader("Stripe-Signature", func(v string) string {
				ts, _, _ := strings.Cut(v, ",")
				return ts + ",v1=not-hex"
			}),
		},
		{
			Name: "CALENDLY", Provider: hookgatev1.Provider_PROVIDER_CALENDLY, Secret: "signing_key", ContentType: "application/json",
			Headers: []string{"Calendly-Webhook-Signature"}, MaxAge: 5 * time.Minute, MaxAhead: 5 * time.Minute,
			newKey: textKey("cal-", 24),
			sign: func(_ *Signer, in Input, k []Key) Call {
				ts := unixS(in.Time)
				return Call{Header: header("Calendly-Webhook-Signature", "t="+ts+",v1="+hexSHA256(k[0].Secret, s(ts+"."), in.Body))}
			},
			tamper: tamperBody,
			malformed: setHeader("Calendly-Webhook-Signature", func(v string) string {
				ts, _, _ := strings.Cut(v, ",")
				return ts + ",v1=" + strings.Repeat("g", 64)
			}),
		},
		{
			// ts=…;h1=… with one h1 per active secret; 5 s tolerance.
			Name: "PADDLE", Provider: hookgatev1.Provider_PROVIDER_PADDLE, Secret: "secret", ContentType: "application/json",
			Headers: []string{"Paddle-Signature"}, MaxAge: 5 * time.Second, MaxAhead: 5 * time.Second, Multi: true,
			newKey: textKey("pdl_ntfset_", 26),
			sign: func(_ *Signer, in Input, k []Key) Call {
				ts := unixS(in.Time)
				v := "ts=" + ts
				for _, key := range k {
					v += ";h1=" + hexSHA256(key.Secret, s(ts+":"), in.Body)
				}
				return Call{Header: header("Paddle-Signature", v)}
			},
			tamper: tamperBody,
			malformed: setHeader("Paddle-Signature", func(v string) string {
				ts, _, _ := strings.Cut(v, ";")
				return ts + ";h1=1234"
			}),
		},
		standardWebhooksSigner("STANDARD_WEBHOOKS", "webhook-"),
		standardWebhooksSigner("SVIX", "svix-"),
		standardWebhooksV1a(),
		{
			Name: "TWITCH", Provider: hookgatev1.Provider_PROVIDER_TWITCH, Secret: "secret", ContentType: "application/json",
			Headers: []string{"Twitch-Eventsub-Message-Signature"}, MaxAge: 10 * time.Minute, MaxAhead: 10 * time.Minute,
			// The secret the subscriber chose: 10 to 100 characters.
			newKey: textKey("tw-", 30),
			sign: func(_ *Signer, in Input, k []Key) Call {
				ts := in.Time.UTC().Format(time.RFC3339Nano)
				return Call{Header: header("Twitch-Eventsub-Message-Id", in.ID, "Twitch-Eventsub-Message-Timestamp", ts,
					"Twitch-Eventsub-Message-Type", "notification",
					"Twitch-Eventsub-Message-Signature", "sha256="+hexSHA256(k[0].Secret, s(in.ID+ts), in.Body))}
			},
			tamper: tamperBody, malformed: setHeader("Twitch-Eventsub-Message-Signature", fixed("sha256:abc")),
			handshake: twitchHandshake,
		},
		customSigner(),
	}
}

// standardWebhooksSigner signs as Standard Webhooks v1 under the header
// names starting with prefix ("webhook-", or Svix's "svix-"): the key is
// the base64 after whsec_; one v1, entry per secret, space separated.
func standardWebhooksSigner(name, prefix string) *Signer {
	return &Signer{
		Name: name, Provider: hookgatev1.Provider_PROVIDER_STANDARD_WEBHOOKS, Secret: "signing_secret", ContentType: "application/json",
		Headers: []string{prefix + "signature"}, MaxAge: 5 * time.Minute, MaxAhead: 5 * time.Minute, Multi: true,
		newKey: func() Key { return Key{Secret: "whsec_" + b64.EncodeToString(randomBytes(24))} },
		sign: func(_ *Signer, in Input, k []Key) Call {
			ts := unixS(in.Time)
			var vs []string
			for _, key := range k {
				raw, err := b64.DecodeString(strings.TrimPrefix(key.Secret, "whsec_"))
				if err != nil {
					panic("verifytest: Standard Webhooks secret is not whsec_ and base64")
				}
				vs = append(vs, "v1,"+b64.EncodeToString(mac(sha256.New, raw, s(in.ID+"."+ts+"."), in.Body)))
			}
			return Call{Header: header(prefix+"id", in.ID, prefix+"timestamp", ts, prefix+"signature", strings.Join(vs, " "))}
		},
		tamper: tamperBody, malformed: setHeader(prefix+"signature", fixed("v1,!!!!")),
	}
}

// customConfig is the CUSTOM_HMAC row's configuration: every placeholder,
// SHA-512, base64url, a prefix, a comma list and a timestamp in ms.
func customConfig() *hookgatev1.CustomHmac {
	return &hookgatev1.CustomHmac{
		Header: "X-Acme-Signature", Algorithm: "sha512", Encoding: "base64url", Prefix: "s1=", Separator: ",",
		Template:        "{id}.{timestamp}.{method}.{url}.{header:X-Acme-Shop}.{body}",
		TimestampHeader: "X-Acme-Timestamp", TimestampUnit: "ms", IdHeader: "X-Acme-Id",
		Tolerance: durationpb.New(2 * time.Minute),
	}
}

func customSigner() *Signer {
	return &Signer{
		Name: "CUSTOM_HMAC", Provider: hookgatev1.Provider_PROVIDER_CUSTOM_HMAC, Secret: "secret", ContentType: "application/json",
		Headers: []string{"X-Acme-Signature"}, MaxAge: 2 * time.Minute, MaxAhead: 2 * time.Minute, Multi: true,
		CustomHmac: customConfig(),
		newKey:     textKey("acme-", 24),
		sign: func(_ *Signer, in Input, k []Key) Call {
			ts := unixMS(in.Time)
			var vs []string
			for _, key := range k {
				m := mac(sha512.New, []byte(key.Secret), s(fmt.Sprintf("%s.%s.%s.%s.%s.", in.ID, ts, in.Method, in.URL, "shop-7")), in.Body)
				vs = append(vs, "s1="+base64RawURL(m))
			}
			return Call{Header: header("X-Acme-Id", in.ID, "X-Acme-Timestamp", ts, "X-Acme-Shop", "shop-7",
				"X-Acme-Signature", strings.Join(vs, ","))}
		},
		tamper: tamperBody, malformed: setHeader("X-Acme-Signature", fixed("s1=+/+/")),
	}
}

// withTimestampField writes "name":value as the first member of a JSON
// object body.
func withTimestampField(body []byte, name, value string) []byte {
	if len(body) == 0 || body[0] != '{' {
		panic("verifytest: a timestamp field needs a JSON object body")
	}
	out := fmt.Appendf(nil, `{"%s":%s`, name, value)
	if len(body) > 2 {
		out = append(out, ',')
	}
	return append(out, body[1:]...)
}
