package verifytest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"strconv"
	"strings"
	"time"

	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
)

// ed25519Key makes an Ed25519 key pair; public renders the public key as
// the provider shows it.
func ed25519Key(public func(ed25519.PublicKey) string) func() Key {
	return func() Key {
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			panic("verifytest: ed25519 key: " + err.Error())
		}
		return Key{Secret: public(pub), ed: priv}
	}
}

// asymmetricSigners are the providers that sign with a private key.
func asymmetricSigners() []*Signer {
	return []*Signer{
		{
			// Ed25519 of timestamp ‖ body, hex; the public key in hex as
			// the Developer Portal shows it.
			Name: "DISCORD", Provider: hookgatev1.Provider_PROVIDER_DISCORD, Secret: "public_key", ContentType: "application/json",
			Headers: []string{"X-Signature-Ed25519"}, MaxAge: 5 * time.Minute, MaxAhead: 5 * time.Minute,
			newKey: ed25519Key(func(p ed25519.PublicKey) string { return hexStr(p) }),
			// An application command, not a PING.
			body: func(n int) []byte {
				return []byte(`{"type":2,"id":"` + randomText(18) + `","data":{"name":"order","n":` + strconv.Itoa(n) + `}}`)
			},
			sign: func(_ *Signer, in Input, k []Key) Call {
				ts := unixS(in.Time)
				sig := ed25519.Sign(k[0].ed, append([]byte(ts), in.Body...))
				return Call{Header: header("X-Signature-Ed25519", hexStr(sig), "X-Signature-Timestamp", ts)}
			},
			tamper: tamperBody, malformed: setHeader("X-Signature-Ed25519", fixed("zz")),
			handshake: discordHandshake,
		},
		{
			// ECDSA P-256 over SHA-256 of timestamp ‖ body, base64 DER; the
			// verification key is base64 DER SubjectPublicKeyInfo. The body
			// is a JSON array with \r\n after each event.
			Name: "SENDGRID", Provider: hookgatev1.Provider_PROVIDER_SENDGRID, Secret: "public_key", ContentType: "application/json",
			Headers: []string{"X-Twilio-Email-Event-Webhook-Signature"}, MaxAge: 24*time.Hour + 5*time.Minute, MaxAhead: 5 * time.Minute,
			newKey: func() Key {
				priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
				if err != nil {
					panic("verifytest: ecdsa key: " + err.Error())
				}
				der, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
				if err != nil {
					panic("verifytest: marshal ecdsa key: " + err.Error())
				}
				return Key{Secret: b64.EncodeToString(der), ec: priv}
			},
			body: func(n int) []byte {
				return []byte(`[{"email":"hello@world.com","event":"delivered","sg_event_id":"` + randomText(22) + `","n":` + strconv.Itoa(n) + "}]\r\n")
			},
			sign: func(_ *Signer, in Input, k []Key) Call {
				ts := unixS(in.Time)
				digest := sha256.Sum256(append([]byte(ts), in.Body...))
				sig, err := k[0].ec.Sign(rand.Reader, digest[:], crypto.SHA256)
				if err != nil {
					panic("verifytest: ecdsa sign: " + err.Error())
				}
				return Call{Header: header("X-Twilio-Email-Event-Webhook-Signature", b64.EncodeToString(sig),
					"X-Twilio-Email-Event-Webhook-Timestamp", ts)}
			},
			tamper: tamperBody, malformed: setHeader("X-Twilio-Email-Event-Webhook-Signature", fixed("***")),
		},
	}
}

// standardWebhooksV1a signs Standard Webhooks v1a: Ed25519 of
// id.timestamp.body, "v1a," + base64, checked with the public key
// (whpk_ + base64). The webhook still needs a signing_secret.
func standardWebhooksV1a() *Signer {
	return &Signer{
		Name: "STANDARD_WEBHOOKS_V1A", Provider: hookgatev1.Provider_PROVIDER_STANDARD_WEBHOOKS, Secret: "public_key",
		Extra:       map[string]string{"signing_secret": "whsec_" + b64.EncodeToString(randomBytes(32))},
		ContentType: "application/json",
		Headers:     []string{"webhook-signature"}, MaxAge: 5 * time.Minute, MaxAhead: 5 * time.Minute, Multi: true,
		newKey: ed25519Key(func(p ed25519.PublicKey) string { return "whpk_" + b64.EncodeToString(p) }),
		sign: func(_ *Signer, in Input, k []Key) Call {
			ts := unixS(in.Time)
			msg := append([]byte(in.ID+"."+ts+"."), in.Body...)
			var vs []string
			for _, key := range k {
				vs = append(vs, "v1a,"+b64.EncodeToString(ed25519.Sign(key.ed, msg)))
			}
			return Call{Header: header("webhook-id", in.ID, "webhook-timestamp", ts, "webhook-signature", strings.Join(vs, " "))}
		},
		tamper: tamperBody, malformed: setHeader("webhook-signature", fixed("v1a,AAAA")),
	}
}
