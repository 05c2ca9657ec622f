package verify

import (
	"time"

	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
)

// hmacSchemes are the presets of this family by provider: each one a
// CUSTOM_HMAC configuration (HMAC) plus where its delivery id is and which
// handshake it answers. The facts are shared/providers.md's; secret names
// are controlplane/admin/providers.go's.
var hmacSchemes = map[hookgatev1.Provider]preset{
	hookgatev1.Provider_PROVIDER_GITHUB: hmacPreset(HMAC{
		Header: "X-Hub-Signature-256", Prefix: "sha256=",
		// GitHub sends the legacy SHA-1 header beside; it is used only
		// when the SHA-256 one is absent.
		Fallback: &HMAC{Header: "X-Hub-Signature", Algorithm: "sha1", Prefix: "sha1="},
	}, newHMACDeliveryIDs("", "X-GitHub-Delivery"), nil, Info{
		Scheme:     "HMAC-SHA256 of {body}, hex, X-Hub-Signature-256 sha256= (legacy X-Hub-Signature sha1=)",
		Secrets:    []string{"secret"},
		DeliveryID: "X-GitHub-Delivery header",
	}),
	hookgatev1.Provider_PROVIDER_META: hmacPreset(HMAC{
		Header: "X-Hub-Signature-256", Prefix: "sha256=", Secret: "app_secret",
		Fallback: &HMAC{Header: "X-Hub-Signature", Algorithm: "sha1", Prefix: "sha1="},
	}, hmacDeliveryIDs{}, metaHandshake, Info{
		Scheme:    "HMAC-SHA256 of {body}, hex, X-Hub-Signature-256 sha256= (legacy X-Hub-Signature sha1=)",
		Secrets:   []string{"app_secret", "verify_token"},
		Handshake: "GET hub.mode=subscribe: hub.verify_token compared, hub.challenge echoed as text/plain (403 on mismatch)",
	}),
	hookgatev1.Provider_PROVIDER_SHOPIFY: hmacPreset(HMAC{
		Header: "X-Shopify-Hmac-Sha256", Encoding: "base64",
		// The newer events delivery uses lower-case shopify-* names.
		Fallback: &HMAC{Header: "Shopify-Hmac-Sha256", Encoding: "base64"},
	}, newHMACDeliveryIDs("", "X-Shopify-Webhook-Id", "Shopify-Event-Id"), nil, Info{
		Scheme:     "HMAC-SHA256 of {body}, base64, X-Shopify-Hmac-Sha256",
		Secrets:    []string{"secret"},
		DeliveryID: "X-Shopify-Webhook-Id header (Shopify-Event-Id for events deliveries)",
	}),
	hookgatev1.Provider_PROVIDER_LINEAR: hmacPreset(HMAC{
		Header: "Linear-Signature",
		// The timestamp is the body's webhookTimestamp (ms), signed with
		// the body; the SDK allows 60 s.
		TimestampField: "webhookTimestamp", TimestampUnit: "ms", Tolerance: time.Minute,
	}, newHMACDeliveryIDs("", "Linear-Delivery"), nil, Info{
		Scheme:     "HMAC-SHA256 of {body}, hex, Linear-Signature; body webhookTimestamp (ms) within 60 s",
		Secrets:    []string{"secret"},
		DeliveryID: "Linear-Delivery header",
	}),
	hookgatev1.Provider_PROVIDER_INTERCOM: hmacPreset(HMAC{
		Header: "X-Hub-Signature", Algorithm: "sha1", Prefix: "sha1=", Secret: "client_secret",
	}, hmacDeliveryIDs{}, nil, Info{
		Scheme:  "HMAC-SHA1 of {body}, hex, X-Hub-Signature sha1=",
		Secrets: []string{"client_secret"},
	}),
	hookgatev1.Provider_PROVIDER_PAGERDUTY: hmacPreset(HMAC{
		Header: "X-PagerDuty-Signature", Prefix: "v1=", Separator: ",",
	}, hmacDeliveryIDs{}, nil, Info{
		Scheme:  "HMAC-SHA256 of {body}, hex, X-PagerDuty-Signature v1= (comma list, any matches)",
		Secrets: []string{"secret"},
	}),
	hookgatev1.Provider_PROVIDER_BITBUCKET: hmacPreset(HMAC{
		Header: "X-Hub-Signature", Prefix: "sha256=",
	}, newHMACDeliveryIDs("", "X-Request-UUID"), nil, Info{
		Scheme:     "HMAC-SHA256 of {body}, hex, X-Hub-Signature sha256=",
		Secrets:    []string{"secret"},
		DeliveryID: "X-Request-UUID header",
	}),
	hookgatev1.Provider_PROVIDER_TYPEFORM: hmacPreset(HMAC{
		Header: "Typeform-Signature", Prefix: "sha256=", Encoding: "base64",
	}, newHMACDeliveryIDs("event_id"), nil, Info{
		Scheme:     "HMAC-SHA256 of {body}, base64, Typeform-Signature sha256=",
		Secrets:    []string{"secret"},
		DeliveryID: "body event_id",
	}),
	hookgatev1.Provider_PROVIDER_SLACK: hmacPreset(HMAC{
		Header: "X-Slack-Signature", Prefix: "v0=", Template: "v0:{timestamp}:{body}",
		TimestampHeader: "X-Slack-Request-Timestamp", Secret: "signing_secret",
	}, newHMACDeliveryIDs("event_id"), slackHandshake, Info{
		Scheme:     "HMAC-SHA256 of v0:{timestamp}:{body}, hex, X-Slack-Signature v0=; X-Slack-Request-Timestamp within 5 min",
		Secrets:    []string{"signing_secret"},
		Handshake:  "POST url_verification: challenge echoed as JSON after the signature verified",
		DeliveryID: "body event_id",
	}),
	hookgatev1.Provider_PROVIDER_ZOOM: hmacPreset(HMAC{
		Header: "X-Zm-Signature", Prefix: "v0=", Template: "v0:{timestamp}:{body}",
		// Zoom does not document the unit; implementations treat it as
		// seconds, "auto" also takes milliseconds.
		TimestampHeader: "X-Zm-Request-Timestamp", TimestampUnit: "auto", Secret: "secret_token",
	}, hmacDeliveryIDs{}, zoomHandshake, Info{
		Scheme:    "HMAC-SHA256 of v0:{timestamp}:{body}, hex, x-zm-signature v0=; x-zm-request-timestamp within 5 min",
		Secrets:   []string{"secret_token"},
		Handshake: "POST endpoint.url_validation: plainToken and encryptedToken (HMAC-SHA256 hex) as JSON after the signature verified",
	}),
	hookgatev1.Provider_PROVIDER_STRIPE: hmacPreset(HMAC{
		Header: "Stripe-Signature", Prefix: "v1=", Separator: ",",
		TimestampHeader: "Stripe-Signature", TimestampPrefix: "t=", Template: "{timestamp}.{body}",
		Tolerance: 300 * time.Second, Secret: "signing_secret",
		// The whsec_ secret keys the HMAC whole (stripe-node); v0= is a
		// fake test-mode signature, ignored.
	}, newHMACDeliveryIDs("id"), nil, Info{
		Scheme:     "HMAC-SHA256 of {t}.{body}, hex, Stripe-Signature t=…,v1=… (any v1 matches, v0 ignored); t within 300 s",
		Secrets:    []string{"signing_secret"},
		DeliveryID: "body id (the event id)",
	}),
	hookgatev1.Provider_PROVIDER_CALENDLY: hmacPreset(HMAC{
		Header: "Calendly-Webhook-Signature", Prefix: "v1=", Separator: ",",
		TimestampHeader: "Calendly-Webhook-Signature", TimestampPrefix: "t=", Template: "{timestamp}.{body}",
		Secret: "signing_key",
	}, hmacDeliveryIDs{}, nil, Info{
		Scheme:  "HMAC-SHA256 of {t}.{body}, hex, Calendly-Webhook-Signature t=…,v1=…; t within 5 min",
		Secrets: []string{"signing_key"},
	}),
	hookgatev1.Provider_PROVIDER_PADDLE: hmacPreset(HMAC{
		Header: "Paddle-Signature", Prefix: "h1=", Separator: ";",
		TimestampHeader: "Paddle-Signature", TimestampPrefix: "ts=", Template: "{timestamp}:{body}",
		// paddle-node-sdk and Paddle's docs allow 5 s.
		Tolerance: 5 * time.Second,
	}, newHMACDeliveryIDs("notification_id"), nil, Info{
		Scheme:     "HMAC-SHA256 of {ts}:{body}, hex, Paddle-Signature ts=…;h1=… (any h1 matches); ts within 5 s",
		Secrets:    []string{"secret"},
		DeliveryID: "body notification_id",
	}),
	hookgatev1.Provider_PROVIDER_STANDARD_WEBHOOKS: hmacPreset(standardWebhooks("Webhook-", &HMAC{}),
		newHMACDeliveryIDs("", "Webhook-Id", "Svix-Id"), nil, Info{
			Scheme:     "Standard Webhooks: HMAC-SHA256 of {id}.{timestamp}.{body}, base64, webhook-signature v1,… (space list, any matches; key = base64 of whsec_…); v1a Ed25519 with public_key; svix-* names too; timestamp within 5 min",
			Secrets:    []string{"signing_secret"},
			Optional:   []string{"public_key"},
			DeliveryID: "webhook-id (svix-id) header",
		}),
	hookgatev1.Provider_PROVIDER_TWITCH: hmacPreset(HMAC{
		Header: "Twitch-Eventsub-Message-Signature", Prefix: "sha256=", Template: "{id}{timestamp}{body}",
		IDHeader: "Twitch-Eventsub-Message-Id", TimestampHeader: "Twitch-Eventsub-Message-Timestamp",
		TimestampUnit: "rfc3339", Tolerance: 10 * time.Minute,
	}, newHMACDeliveryIDs("", "Twitch-Eventsub-Message-Id"), twitchHandshake, Info{
		Scheme:     "HMAC-SHA256 of {id}{timestamp}{body}, hex, Twitch-Eventsub-Message-Signature sha256=; RFC 3339 timestamp within 10 min",
		Secrets:    []string{"secret"},
		Handshake:  "POST webhook_callback_verification: challenge echoed as text/plain after the signature verified",
		DeliveryID: "Twitch-Eventsub-Message-Id header",
	}),
}

// standardWebhooks is the Standard Webhooks configuration under the
// header names starting with prefix ("Webhook-", "Svix-"); the Webhook-
// one falls back to the Svix- one when webhook-signature is absent.
func standardWebhooks(prefix string, fallback *HMAC) HMAC {
	c := HMAC{
		Header: prefix + "Signature", IDHeader: prefix + "Id", TimestampHeader: prefix + "Timestamp",
		Template: "{id}.{timestamp}.{body}", Encoding: "base64", Prefix: "v1,", Separator: " ",
		StandardKey: true, Secret: "signing_secret",
		Ed25519Prefix: "v1a,", Ed25519Secret: "public_key",
	}
	if fallback != nil {
		sv := standardWebhooks("Svix-", nil)
		c.Fallback = &sv
	}
	return c
}

// hmacProvider is an HMAC preset: the compiled configuration, its delivery
// ids and its handshake (nil for none).
type hmacProvider struct {
	*HMACScheme
	ids       hmacDeliveryIDs
	handshake func(p *hmacProvider, r *Request, s Secrets) (*Response, bool)
}

var (
	_ Handshaker   = (*hmacProvider)(nil)
	_ DeliveryIDer = (*hmacProvider)(nil)
)

// Handshake answers the provider's handshake; false for other calls and
// for providers without one.
func (p *hmacProvider) Handshake(r *Request, s Secrets) (*Response, bool) {
	if p.handshake == nil {
		return nil, false
	}
	return p.handshake(p, r, s)
}

// DeliveryID is the provider's own id of the delivery, "" when none.
func (p *hmacProvider) DeliveryID(r *Request) string { return p.ids.of(r) }

// hmacPreset compiles a table entry; the table is fixed, so a bad entry is
// a programming error that TestPresetsCompile and every test of the
// package catch at start.
func hmacPreset(c HMAC, ids hmacDeliveryIDs, hs func(*hmacProvider, *Request, Secrets) (*Response, bool), info Info) preset {
	s, err := NewHMAC(c)
	if err != nil {
		panic("verify: bad HMAC preset " + c.Header + ": " + err.Error())
	}
	return preset{scheme: &hmacProvider{HMACScheme: s, ids: ids, handshake: hs}, info: info}
}
