package verify

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
)

// HandshakeMalformed: a handshake that cannot be answered (Meta's GET
// without hub.mode=subscribe or hub.challenge, a challenge missing from a
// Slack, Zoom or Twitch verification). The edge answers 400.
const HandshakeMalformed Reason = "handshake_malformed"

// Handshake bodies are small; larger calls are ordinary events and are
// never decoded here, nor are calls without the handshake's marker (one
// bytes.Contains), so ordinary events pay nothing.
const (
	hmacMaxHandshakeBody = 64 << 10
	hmacMaxChallenge     = 1024
)

// hmacRefused is a handshake answer that is not 200.
func hmacRefused(status int, r Reason) *Response { return &Response{Status: status, Reason: r} }

// verified re-checks the signature: a POST handshake is answered only for
// a verified call, even if a caller forgets to verify first.
func (p *hmacProvider) verified(r *Request, s Secrets) *Response {
	if err := p.Verify(r, s); err != nil {
		var f *Failure
		if errors.As(err, &f) {
			return hmacRefused(http.StatusUnauthorized, f.Reason)
		}
		return hmacRefused(http.StatusUnauthorized, SignatureMismatch)
	}
	return nil
}

// slackHandshake answers url_verification with {"challenge": …}
// (bolt-js ExpressReceiver).
func slackHandshake(p *hmacProvider, r *Request, s Secrets) (*Response, bool) {
	if r.Method != http.MethodPost || len(r.Body) > hmacMaxHandshakeBody || !bytes.Contains(r.Body, []byte("url_verification")) {
		return nil, false
	}
	var m struct {
		Type      string `json:"type"`
		Challenge string `json:"challenge"`
	}
	if json.Unmarshal(r.Body, &m) != nil || m.Type != "url_verification" {
		return nil, false
	}
	if resp := p.verified(r, s); resp != nil {
		return resp, true
	}
	if m.Challenge == "" || len(m.Challenge) > hmacMaxChallenge {
		return hmacRefused(http.StatusBadRequest, HandshakeMalformed), true
	}
	body, _ := json.Marshal(struct {
		Challenge string `json:"challenge"`
	}{m.Challenge})
	return &Response{Status: http.StatusOK, ContentType: "application/json", Body: body}, true
}

// zoomHandshake answers endpoint.url_validation with plainToken and
// encryptedToken = hex HMAC-SHA256(secret token, plainToken), keyed with
// the secret value that verified the call (during a rotation Zoom holds
// one of them).
func zoomHandshake(p *hmacProvider, r *Request, s Secrets) (*Response, bool) {
	if r.Method != http.MethodPost || len(r.Body) > hmacMaxHandshakeBody || !bytes.Contains(r.Body, []byte("endpoint.url_validation")) {
		return nil, false
	}
	var m struct {
		Event   string `json:"event"`
		Payload struct {
			PlainToken string `json:"plainToken"`
		} `json:"payload"`
	}
	if json.Unmarshal(r.Body, &m) != nil || m.Event != "endpoint.url_validation" {
		return nil, false
	}
	if resp := p.verified(r, s); resp != nil {
		return resp, true
	}
	plain := m.Payload.PlainToken
	if plain == "" || len(plain) > hmacMaxChallenge {
		return hmacRefused(http.StatusBadRequest, HandshakeMalformed), true
	}
	var key string
	for _, v := range s[p.secret] {
		if v != "" && p.Verify(r, Secrets{p.secret: {v}}) == nil {
			key = v
			break
		}
	}
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(plain))
	body, _ := json.Marshal(struct {
		PlainToken     string `json:"plainToken"`
		EncryptedToken string `json:"encryptedToken"`
	}{plain, hex.EncodeToString(mac.Sum(nil))})
	return &Response{Status: http.StatusOK, ContentType: "application/json", Body: body}, true
}

// twitchHandshake answers webhook_callback_verification with the raw
// challenge as text/plain (twurple EventSubHttpBase).
func twitchHandshake(p *hmacProvider, r *Request, s Secrets) (*Response, bool) {
	if r.Method != http.MethodPost || hmacFirst(r.Header["Twitch-Eventsub-Message-Type"]) != "webhook_callback_verification" {
		return nil, false
	}
	if resp := p.verified(r, s); resp != nil {
		return resp, true
	}
	var m struct {
		Challenge string `json:"challenge"`
	}
	if len(r.Body) > hmacMaxHandshakeBody || json.Unmarshal(r.Body, &m) != nil || m.Challenge == "" || len(m.Challenge) > hmacMaxChallenge {
		return hmacRefused(http.StatusBadRequest, HandshakeMalformed), true
	}
	return &Response{Status: http.StatusOK, ContentType: "text/plain; charset=utf-8", Body: []byte(m.Challenge)}, true
}

// metaHandshake answers Meta's verification GET
// (?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…): the token is
// compared in constant time with every verify_token value, the challenge
// echoed as text/plain; 403 on a mismatch, 400 when malformed. Every GET to
// a META webhook is taken as this handshake: Meta sends no other.
func metaHandshake(_ *hmacProvider, r *Request, s Secrets) (*Response, bool) {
	if r.Method != http.MethodGet {
		return nil, false
	}
	_, query, _ := strings.Cut(r.URL, "?")
	query, _, _ = strings.Cut(query, "#")
	q, err := url.ParseQuery(query)
	if err != nil || q.Get("hub.mode") != "subscribe" {
		return hmacRefused(http.StatusBadRequest, HandshakeMalformed), true
	}
	challenge, token := q.Get("hub.challenge"), q.Get("hub.verify_token")
	if challenge == "" || len(challenge) > hmacMaxChallenge || token == "" {
		return hmacRefused(http.StatusBadRequest, HandshakeMalformed), true
	}
	tokens := s["verify_token"]
	if !hmacHasValue(tokens) {
		return hmacRefused(http.StatusForbidden, SecretMissing), true
	}
	// Digests first, so the comparison does not depend on lengths either.
	got := sha256.Sum256([]byte(token))
	match := false
	for _, v := range tokens {
		want := sha256.Sum256([]byte(v))
		if v != "" && equal(got[:], want[:]) {
			match = true
		}
	}
	if !match {
		return hmacRefused(http.StatusForbidden, TokenMismatch), true
	}
	return &Response{Status: http.StatusOK, ContentType: "text/plain; charset=utf-8", Body: []byte(challenge)}, true
}
