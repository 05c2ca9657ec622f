package verify

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"net/http"
	"strings"
	"time"

	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
)

// asymmetricSchemes are the presets of this family by provider: the
// provider signs with a private key and the webhook holds its public key.
var asymmetricSchemes = map[hookgatev1.Provider]preset{
	hookgatev1.Provider_PROVIDER_DISCORD: {scheme: discord{}, info: Info{
		Scheme:    "Ed25519 (hex) of {timestamp}{body}, timestamp in s, 5 min",
		Secrets:   []string{discordSecret},
		Handshake: `PING {"type":1} answered {"type":1}; webhook-event PING {"type":0} answered 204`,
	}},
	hookgatev1.Provider_PROVIDER_SENDGRID: {scheme: sendgrid{}, info: Info{
		Scheme:  "ECDSA P-256 SHA-256 (base64 DER) of {timestamp}{body}, timestamp in s, 24 h",
		Secrets: []string{sendgridSecret},
	}},
}

// Discord (shared/providers.md "Discord"): X-Signature-Ed25519 is the hex
// Ed25519 signature of X-Signature-Timestamp ‖ body, checked with the
// application's public key (hex, 32 bytes). Discord documents no
// tolerance and its library checks none; interactions are never retried
// (they must be answered within 3 s), so 5 minutes either way refuses
// replays without refusing Discord.
const (
	discordSecret          = "public_key"
	discordHeader          = "X-Signature-Ed25519"
	discordTimestampHeader = "X-Signature-Timestamp"
	discordTolerance       = 5 * time.Minute
	// discordStack is the size of signed content built on the stack;
	// ed25519.Verify needs it in one piece, so larger bodies are copied
	// once to the heap.
	discordStack = 4096
)

type discord struct{}

func (discord) Verify(r *Request, s Secrets) error {
	keys, err := secretValues(s, discordSecret)
	if err != nil {
		return err
	}
	v := r.Header.Get(discordHeader)
	if v == "" {
		return fail(SignatureMissing, discordHeader)
	}
	var sig [ed25519.SignatureSize]byte
	if !decodeHexInto(sig[:], v) {
		return fail(SignatureMalformed, discordHeader)
	}
	ts := r.Header.Get(discordTimestampHeader)
	if err := checkUnix(r.Now, ts, time.Second, discordTolerance, discordTolerance, discordTimestampHeader); err != nil {
		return err
	}
	var buf [discordStack]byte
	msg := append(append(buf[:0], ts...), r.Body...)
	usable := false
	for _, k := range keys {
		// A hex key needs no parsing beyond decoding: nothing to cache.
		var pub [ed25519.PublicKeySize]byte
		if !decodeHexInto(pub[:], k) {
			continue
		}
		usable = true
		if ed25519.Verify(pub[:], msg, sig[:]) {
			return nil
		}
	}
	if !usable {
		return fail(SecretMissing, discordSecret)
	}
	return fail(SignatureMismatch, discordHeader)
}

// Handshake answers Discord's PINGs once the signature verified: an
// interactions PING ({"type":1}, no "event") gets the PONG {"type":1}; a
// webhook-events PING ({"type":0}) gets 204. Webhook events ({"type":1,
// "event":{…}}) and other interactions are ordinary calls.
func (discord) Handshake(r *Request, _ Secrets) (*Response, bool) {
	if r.Method != http.MethodPost {
		return nil, false
	}
	typ, ok := jsonMember(r.Body, "type")
	if !ok {
		return nil, false
	}
	if _, hasEvent := jsonMember(r.Body, "event"); hasEvent {
		return nil, false
	}
	switch string(typ) {
	case "1":
		return &Response{Status: http.StatusOK, ContentType: "application/json", Body: []byte(`{"type":1}`)}, true
	case "0":
		return &Response{Status: http.StatusNoContent}, true
	}
	return nil, false
}

// SendGrid (shared/providers.md "SendGrid"): X-Twilio-Email-Event-Webhook-
// Signature is the base64 DER ECDSA P-256 signature of SHA-256(timestamp
// ‖ body), checked with the verification key (base64 DER
// SubjectPublicKeyInfo as SendGrid shows it; PEM is accepted too).
// SendGrid documents no tolerance and retries a failed call for up to 24
// hours after the event, without saying whether a retry is signed anew,
// so a timestamp may be up to 24 h 5 min old (5 min ahead).
//
// Keys are parsed on every call: parsing costs about 2% of the ECDSA
// verification (BenchmarkSendGrid: 1.1 µs of 59 µs), not worth a cache (mutable
// state shared by every webhook, bounded and keyed by secret values).
const (
	sendgridSecret          = "public_key"
	sendgridHeader          = "X-Twilio-Email-Event-Webhook-Signature"
	sendgridTimestampHeader = "X-Twilio-Email-Event-Webhook-Timestamp"
	sendgridPast            = 24*time.Hour + 5*time.Minute
	sendgridFuture          = 5 * time.Minute
	// sendgridMaxSignature bounds the header: a DER P-256 signature is at
	// most 72 bytes (96 in base64).
	sendgridMaxSignature = 128
)

type sendgrid struct{}

func (sendgrid) Verify(r *Request, s Secrets) error {
	keys, err := secretValues(s, sendgridSecret)
	if err != nil {
		return err
	}
	v := r.Header.Get(sendgridHeader)
	if v == "" {
		return fail(SignatureMissing, sendgridHeader)
	}
	if len(v) > sendgridMaxSignature {
		return fail(SignatureMalformed, sendgridHeader)
	}
	var sigBuf [sendgridMaxSignature]byte
	n, err := base64.StdEncoding.Decode(sigBuf[:], []byte(v))
	if err != nil || n == 0 {
		return fail(SignatureMalformed, sendgridHeader)
	}
	sig := sigBuf[:n]
	ts := r.Header.Get(sendgridTimestampHeader)
	if err := checkUnix(r.Now, ts, time.Second, sendgridPast, sendgridFuture, sendgridTimestampHeader); err != nil {
		return err
	}
	h := sha256.New()
	h.Write([]byte(ts))
	h.Write(r.Body)
	var digest [sha256.Size]byte
	h.Sum(digest[:0])
	usable := false
	for _, k := range keys {
		pub, ok := parseECDSAP256(k)
		if !ok {
			continue
		}
		usable = true
		if ecdsa.VerifyASN1(pub, digest[:], sig) {
			return nil
		}
	}
	if !usable {
		return fail(SecretMissing, sendgridSecret)
	}
	return fail(SignatureMismatch, sendgridHeader)
}

// parseECDSAP256 parses a P-256 public key given as base64 DER
// SubjectPublicKeyInfo or as PEM.
func parseECDSAP256(v string) (*ecdsa.PublicKey, bool) {
	v = strings.TrimSpace(v)
	var der []byte
	if strings.HasPrefix(v, "-----BEGIN") {
		block, _ := pem.Decode([]byte(v))
		if block == nil {
			return nil, false
		}
		der = block.Bytes
	} else {
		var err error
		if der, err = base64.StdEncoding.DecodeString(v); err != nil {
			return nil, false
		}
	}
	key, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, false
	}
	pub, ok := key.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return nil, false
	}
	return pub, true
}
