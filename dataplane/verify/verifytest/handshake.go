package verifytest

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// Handshake is a provider's handshake call and the answer the edge must
// give; the edge answers it itself and publishes nothing.
type Handshake struct {
	Name string
	Call Call
	// Status, ContentType (a prefix of the answer's) and Body are the
	// answer; JSON says Body is compared as JSON.
	Status      int
	ContentType string
	Body        []byte
	JSON        bool
}

// Handshake returns the provider's handshake at in.Time signed with key
// (Meta's GET carries the verify_token instead); false for a provider
// without one.
func (s *Signer) Handshake(in Input, key Key) (Handshake, bool) {
	if s.handshake == nil {
		return Handshake{}, false
	}
	return s.handshake(s, in, key)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("verifytest: " + err.Error())
	}
	return b
}

// slackHandshake: a signed url_verification POST; the challenge comes
// back as JSON (bolt-js).
func slackHandshake(s *Signer, in Input, key Key) (Handshake, bool) {
	challenge := "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" + randomText(4)
	in.Body = mustJSON(map[string]string{"token": "Jhj5dZrVaK7ZwHHjRyZWjbDl", "challenge": challenge, "type": "url_verification"})
	return Handshake{Name: "url_verification", Call: s.Sign(in, key), Status: http.StatusOK, ContentType: "application/json",
		Body: mustJSON(map[string]string{"challenge": challenge}), JSON: true}, true
}

// metaHandshake: GET ?hub.mode=subscribe&hub.challenge=…&hub.verify_token=…
// answered with the raw challenge as text/plain.
func metaHandshake(s *Signer, in Input, _ Key) (Handshake, bool) {
	challenge := "1158201444" + fmt.Sprint(time.Now().UnixNano()%1000000)
	q := url.Values{"hub.mode": {"subscribe"}, "hub.challenge": {challenge}, "hub.verify_token": {s.Extra["verify_token"]}}
	return Handshake{Name: "GET hub.challenge", Call: Call{Method: http.MethodGet, URL: appendQuery(in.URL, q.Encode()), Header: header()},
		Status: http.StatusOK, ContentType: "text/plain", Body: []byte(challenge)}, true
}

// MetaWrongToken is Meta's GET with a verify_token that does not match:
// 403.
func (s *Signer) MetaWrongToken(publicURL string) Handshake {
	q := url.Values{"hub.mode": {"subscribe"}, "hub.challenge": {"42"}, "hub.verify_token": {"not-" + s.Extra["verify_token"]}}
	return Handshake{Name: "GET hub.verify_token mismatch", Call: Call{Method: http.MethodGet, URL: appendQuery(publicURL, q.Encode()), Header: header()},
		Status: http.StatusForbidden}
}

// zoomHandshake: a signed endpoint.url_validation POST answered with
// plainToken and encryptedToken = hex HMAC-SHA256(secret token,
// plainToken).
func zoomHandshake(s *Signer, in Input, key Key) (Handshake, bool) {
	plain := "qgg8vlvZRS6UYooatFL8Aw" + randomText(4)
	in.Body = mustJSON(map[string]any{"event": "endpoint.url_validation", "payload": map[string]string{"plainToken": plain},
		"event_ts": in.Time.UnixMilli()})
	return Handshake{Name: "endpoint.url_validation", Call: s.Sign(in, key), Status: http.StatusOK, ContentType: "application/json",
		Body: mustJSON(map[string]string{"plainToken": plain, "encryptedToken": hexStr(mac(sha256.New, []byte(key.Secret), []byte(plain)))}),
		JSON: true}, true
}

// discordHandshake: a signed PING {"type":1} answered with the PONG
// {"type":1}.
func discordHandshake(s *Signer, in Input, key Key) (Handshake, bool) {
	in.Body = []byte(`{"type":1,"id":"` + randomText(18) + `","application_id":"123"}`)
	return Handshake{Name: "PING", Call: s.Sign(in, key), Status: http.StatusOK, ContentType: "application/json",
		Body: []byte(`{"type":1}`), JSON: true}, true
}

// twitchHandshake: a signed webhook_callback_verification answered with
// the raw challenge as text/plain.
func twitchHandshake(s *Signer, in Input, key Key) (Handshake, bool) {
	challenge := "pogchamp-kappa-360noscope-vohiyo-" + randomText(6)
	in.Body = mustJSON(map[string]any{"challenge": challenge, "subscription": map[string]any{
		"id": "f1c2a387-161a-49f9-a165-0f21d7a4e1c4", "type": "channel.follow", "version": "1", "status": "webhook_callback_verification_pending"}})
	c := s.Sign(in, key)
	c.Header.Set("Twitch-Eventsub-Message-Type", "webhook_callback_verification")
	return Handshake{Name: "webhook_callback_verification", Call: c, Status: http.StatusOK, ContentType: "text/plain",
		Body: []byte(challenge)}, true
}
