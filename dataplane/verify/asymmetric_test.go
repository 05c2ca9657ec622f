package verify_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/dataplane/verify"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
)

func withMethod(r *verify.Request, m string) *verify.Request { r.Method = m; return r }

const (
	// Self-made vector, providers.md §3: RFC 8032 test-1 key.
	discordSeed = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
	discordPub  = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
	discordSigV = "1695961a47c91a1ec033b819b7e87e3dbc583dd0cee6d1fd0216f58ac87b6228ae531ddbf91fb7bc28d7edf7f08604da16f54624f38a6bc0614e4dc13cd47f0f"
	discordH    = "X-Signature-Ed25519"
	discordTS   = "X-Signature-Timestamp"
)

func discordReq(now time.Time, body string, h ...string) *verify.Request {
	return &verify.Request{Method: http.MethodPost, URL: "https://h.example/in/a/wh", Header: hdr(h...), Body: []byte(body), Now: now}
}

// discordSign is an independent signer: Ed25519 of timestamp ‖ body.
func discordSign(priv ed25519.PrivateKey, ts, body string) string {
	return hex.EncodeToString(ed25519.Sign(priv, []byte(ts+body)))
}

func TestDiscord(t *testing.T) {
	t.Parallel()
	pub := verify.Secrets{"public_key": one(discordPub)}
	pk, sk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	freshPub := hex.EncodeToString(pk)
	body := `{"type":2,"data":{"name":"hello"}}`
	big := `{"type":2,"data":"` + strings.Repeat("x", 10000) + `"}`
	ts := "1700000000"
	cases := []familyCase{
		{"vector", discordReq(familyNow, `{"type":1}`, discordH, discordSigV, discordTS, ts), pub, ""},
		{"vector upper-case hex", discordReq(familyNow, `{"type":1}`, discordH, strings.ToUpper(discordSigV), discordTS, ts), verify.Secrets{"public_key": one(strings.ToUpper(discordPub))}, ""},
		{"fresh", discordReq(familyNow, body, discordH, discordSign(sk, ts, body), discordTS, ts), verify.Secrets{"public_key": one(freshPub)}, ""},
		{"fresh large body", discordReq(familyNow, big, discordH, discordSign(sk, ts, big), discordTS, ts), verify.Secrets{"public_key": one(freshPub)}, ""},
		{"rotation previous key", discordReq(familyNow, `{"type":1}`, discordH, discordSigV, discordTS, ts), verify.Secrets{"public_key": one(freshPub, discordPub)}, ""},
		{"4 min old", discordReq(familyNow.Add(4*time.Minute), `{"type":1}`, discordH, discordSigV, discordTS, ts), pub, ""},
		{"tampered body", discordReq(familyNow, `{"type":2}`, discordH, discordSigV, discordTS, ts), pub, verify.SignatureMismatch},
		{"tampered timestamp", discordReq(familyNow, `{"type":1}`, discordH, discordSigV, discordTS, "1700000001"), pub, verify.SignatureMismatch},
		{"wrong key", discordReq(familyNow, `{"type":1}`, discordH, discordSigV, discordTS, ts), verify.Secrets{"public_key": one(freshPub)}, verify.SignatureMismatch},
		{"stale", discordReq(familyNow.Add(6*time.Minute), `{"type":1}`, discordH, discordSigV, discordTS, ts), pub, verify.TimestampOutsideTolerance},
		{"future", discordReq(familyNow.Add(-6*time.Minute), `{"type":1}`, discordH, discordSigV, discordTS, ts), pub, verify.TimestampOutsideTolerance},
		{"timestamp missing", discordReq(familyNow, `{"type":1}`, discordH, discordSigV), pub, verify.TimestampMissing},
		{"timestamp malformed", discordReq(familyNow, `{"type":1}`, discordH, discordSigV, discordTS, "1700000000.5"), pub, verify.TimestampMalformed},
		{"missing signature", discordReq(familyNow, `{"type":1}`, discordTS, ts), pub, verify.SignatureMissing},
		{"malformed signature", discordReq(familyNow, `{"type":1}`, discordH, "zz"+discordSigV[2:], discordTS, ts), pub, verify.SignatureMalformed},
		{"short signature", discordReq(familyNow, `{"type":1}`, discordH, discordSigV[:126], discordTS, ts), pub, verify.SignatureMalformed},
		{"key not hex", discordReq(familyNow, `{"type":1}`, discordH, discordSigV, discordTS, ts), verify.Secrets{"public_key": one("not-a-key")}, verify.SecretMissing},
		{"no secret", discordReq(familyNow, `{"type":1}`, discordH, discordSigV, discordTS, ts), verify.Secrets{}, verify.SecretMissing},
	}
	runFamily(t, hookgatev1.Provider_PROVIDER_DISCORD, cases)
	if seed, _ := hex.DecodeString(discordSeed); hex.EncodeToString(ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)) != discordPub {
		t.Fatal("the vector's seed does not give its public key")
	}
}

func TestDiscordHandshake(t *testing.T) {
	t.Parallel()
	h := familyScheme(t, hookgatev1.Provider_PROVIDER_DISCORD).(verify.Handshaker)
	tests := []struct {
		name   string
		method string
		body   string
		ok     bool
		status int
		answer string
	}{
		{"interactions PING", http.MethodPost, `{"type":1}`, true, 200, `{"type":1}`},
		{"interactions PING with fields", http.MethodPost, ` { "id":"1", "application_id":"2", "type" : 1 , "version":1, "token":"t"}`, true, 200, `{"type":1}`},
		{"webhook-events PING", http.MethodPost, `{"version":1,"application_id":"2","type":0}`, true, 204, ""},
		{"webhook event", http.MethodPost, `{"version":1,"type":1,"event":{"type":"APPLICATION_AUTHORIZED"}}`, false, 0, ""},
		{"command", http.MethodPost, `{"type":2}`, false, 0, ""},
		{"type as string", http.MethodPost, `{"type":"1"}`, false, 0, ""},
		{"type 1.0", http.MethodPost, `{"type":1.0}`, false, 0, ""},
		{"nested type only", http.MethodPost, `{"data":{"type":1}}`, false, 0, ""},
		{"array", http.MethodPost, `[{"type":1}]`, false, 0, ""},
		{"not JSON", http.MethodPost, `type=1`, false, 0, ""},
		{"GET", http.MethodGet, `{"type":1}`, false, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, ok := h.Handshake(withMethod(discordReq(familyNow, tt.body), tt.method), nil)
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			if !ok {
				return
			}
			if resp.Status != tt.status || string(resp.Body) != tt.answer {
				t.Fatalf("answer %d %q, want %d %q", resp.Status, resp.Body, tt.status, tt.answer)
			}
			if tt.status == 200 && resp.ContentType != "application/json" {
				t.Fatalf("content type %q", resp.ContentType)
			}
		})
	}
}

const (
	sendgridKey  = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g=="
	sendgridSigV = "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM="
	sendgridTSV  = "1600112502"
	sendgridBody = `[{"email":"hello@world.com","event":"dropped","reason":"Bounced Address","sg_event_id":"ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA","sg_message_id":"LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0","smtp-id":"<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>","timestamp":1600112492}]` + "\r\n"
	sendgridH    = "X-Twilio-Email-Event-Webhook-Signature"
	sendgridTS   = "X-Twilio-Email-Event-Webhook-Timestamp"
)

// sendgridSign is an independent signer: ECDSA P-256 of SHA-256(ts ‖ body), DER, base64.
func sendgridSign(t testing.TB, k *ecdsa.PrivateKey, ts, body string) string {
	t.Helper()
	d := sha256.Sum256([]byte(ts + body))
	sig, err := ecdsa.SignASN1(rand.Reader, k, d[:])
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

func sendgridPub(t testing.TB, k *ecdsa.PrivateKey) (b64, pemText string) {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der), string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func TestSendGrid(t *testing.T) {
	t.Parallel()
	vnow := time.Unix(1600112502, 0)
	vkey := verify.Secrets{"public_key": one(sendgridKey)}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b64, pemText := sendgridPub(t, k)
	b384, _ := sendgridPub(t, k384)
	ts := "1700000000"
	body := `[{"event":"delivered","sg_event_id":"x"}]` + "\r\n"
	fresh := sendgridSign(t, k, ts, body)
	req := func(now time.Time, body string, h ...string) *verify.Request { return discordReq(now, body, h...) }
	cases := []familyCase{
		// Official vector, @sendgrid/eventwebhook eventwebhook.spec.js.
		{"vector", req(vnow, sendgridBody, sendgridH, sendgridSigV, sendgridTS, sendgridTSV), vkey, ""},
		{"fresh base64 DER key", req(familyNow, body, sendgridH, fresh, sendgridTS, ts), verify.Secrets{"public_key": one(b64)}, ""},
		{"fresh PEM key", req(familyNow, body, sendgridH, fresh, sendgridTS, ts), verify.Secrets{"public_key": one(pemText)}, ""},
		{"retry 24 h later", req(familyNow.Add(24*time.Hour), body, sendgridH, fresh, sendgridTS, ts), verify.Secrets{"public_key": one(b64)}, ""},
		{"rotation previous key", req(vnow, sendgridBody, sendgridH, sendgridSigV, sendgridTS, sendgridTSV), verify.Secrets{"public_key": one(b64, sendgridKey)}, ""},
		{"vector without CRLF", req(vnow, strings.TrimSuffix(sendgridBody, "\r\n"), sendgridH, sendgridSigV, sendgridTS, sendgridTSV), vkey, verify.SignatureMismatch},
		{"tampered body", req(familyNow, body+" ", sendgridH, fresh, sendgridTS, ts), verify.Secrets{"public_key": one(b64)}, verify.SignatureMismatch},
		{"tampered timestamp", req(familyNow, body, sendgridH, fresh, sendgridTS, "1700000001"), verify.Secrets{"public_key": one(b64)}, verify.SignatureMismatch},
		{"wrong key", req(vnow, sendgridBody, sendgridH, sendgridSigV, sendgridTS, sendgridTSV), verify.Secrets{"public_key": one(b64)}, verify.SignatureMismatch},
		{"stale", req(familyNow.Add(24*time.Hour+6*time.Minute), body, sendgridH, fresh, sendgridTS, ts), verify.Secrets{"public_key": one(b64)}, verify.TimestampOutsideTolerance},
		{"future", req(familyNow.Add(-6*time.Minute), body, sendgridH, fresh, sendgridTS, ts), verify.Secrets{"public_key": one(b64)}, verify.TimestampOutsideTolerance},
		{"timestamp missing", req(familyNow, body, sendgridH, fresh), verify.Secrets{"public_key": one(b64)}, verify.TimestampMissing},
		{"timestamp malformed", req(familyNow, body, sendgridH, fresh, sendgridTS, "now"), verify.Secrets{"public_key": one(b64)}, verify.TimestampMalformed},
		{"missing signature", req(familyNow, body, sendgridTS, ts), verify.Secrets{"public_key": one(b64)}, verify.SignatureMissing},
		{"signature not base64", req(familyNow, body, sendgridH, "!!", sendgridTS, ts), verify.Secrets{"public_key": one(b64)}, verify.SignatureMalformed},
		{"signature too long", req(familyNow, body, sendgridH, strings.Repeat("A", 200), sendgridTS, ts), verify.Secrets{"public_key": one(b64)}, verify.SignatureMalformed},
		{"signature not DER", req(familyNow, body, sendgridH, "AAAA", sendgridTS, ts), verify.Secrets{"public_key": one(b64)}, verify.SignatureMismatch},
		{"P-384 key", req(familyNow, body, sendgridH, fresh, sendgridTS, ts), verify.Secrets{"public_key": one(b384)}, verify.SecretMissing},
		{"key not base64", req(familyNow, body, sendgridH, fresh, sendgridTS, ts), verify.Secrets{"public_key": one("MFkw!")}, verify.SecretMissing},
		{"no secret", req(familyNow, body, sendgridH, fresh, sendgridTS, ts), verify.Secrets{}, verify.SecretMissing},
	}
	runFamily(t, hookgatev1.Provider_PROVIDER_SENDGRID, cases)
}

func BenchmarkDiscord(b *testing.B) {
	s := familyScheme(b, hookgatev1.Provider_PROVIDER_DISCORD)
	r := discordReq(familyNow, `{"type":1}`, discordH, discordSigV, discordTS, "1700000000")
	sec := verify.Secrets{"public_key": one(discordPub)}
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Verify(r, sec); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSendGrid compares verifying a call (which parses the key) with
// parsing the key alone: the ratio decides whether parsed keys are worth
// caching.
func BenchmarkSendGrid(b *testing.B) {
	s := familyScheme(b, hookgatev1.Provider_PROVIDER_SENDGRID)
	r := discordReq(time.Unix(1600112502, 0), sendgridBody, sendgridH, sendgridSigV, sendgridTS, sendgridTSV)
	sec := verify.Secrets{"public_key": one(sendgridKey)}
	b.Run("verify", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := s.Verify(r, sec); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parse-key", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			der, _ := base64.StdEncoding.DecodeString(sendgridKey)
			if _, err := x509.ParsePKIXPublicKey(der); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// FuzzDiscord checks Verify and Handshake on arbitrary headers and bodies.
func FuzzDiscord(f *testing.F) {
	f.Add(`{"type":1}`, discordSigV, "1700000000")
	f.Add(`{"type":0,"event":{`, "zz", "")
	f.Add(`{"a":"\"","type":1}`, "", "17000000000000000000")
	s := familyScheme(f, hookgatev1.Provider_PROVIDER_DISCORD)
	f.Fuzz(func(t *testing.T, body, sig, ts string) {
		r := discordReq(familyNow, body, discordH, sig, discordTS, ts)
		var fl *verify.Failure
		if err := s.Verify(r, verify.Secrets{"public_key": one(discordPub)}); err != nil && !errors.As(err, &fl) {
			t.Fatalf("Verify = %v, not a *Failure", err)
		}
		if resp, ok := s.(verify.Handshaker).Handshake(r, nil); ok && resp == nil {
			t.Fatal("handshake without an answer")
		}
	})
}

// FuzzSendGrid checks Verify on arbitrary headers and keys.
func FuzzSendGrid(f *testing.F) {
	f.Add(sendgridSigV, sendgridTSV, sendgridKey)
	f.Add("AAAA", "", "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n")
	s := familyScheme(f, hookgatev1.Provider_PROVIDER_SENDGRID)
	f.Fuzz(func(t *testing.T, sig, ts, key string) {
		r := discordReq(time.Unix(1600112502, 0), sendgridBody, sendgridH, sig, sendgridTS, ts)
		var fl *verify.Failure
		if err := s.Verify(r, verify.Secrets{"public_key": one(key)}); err != nil && !errors.As(err, &fl) {
			t.Fatalf("Verify = %v, not a *Failure", err)
		}
	})
}
