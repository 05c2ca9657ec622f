package verify

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"strings"
	"time"

	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
)

// urlSchemes are the presets of this family by provider: schemes that sign
// the public URL the provider called (Request.URL) besides the body.
var urlSchemes = map[hookgatev1.Provider]preset{
	hookgatev1.Provider_PROVIDER_TWILIO: {scheme: twilio{}, info: Info{
		Scheme:     "HMAC-SHA1 base64 of {url} then sorted form params (or {url} with bodySHA256 = hex SHA-256 of the body), with and without :443/:80",
		Secrets:    []string{twilioSecret},
		DeliveryID: twilioIDHeader + " header",
	}},
	hookgatev1.Provider_PROVIDER_SQUARE: {scheme: square{}, info: Info{
		Scheme:     "HMAC-SHA256 base64 of {url}{body} (legacy x-square-signature: HMAC-SHA1)",
		Secrets:    []string{squareSecret},
		DeliveryID: "event_id in the body",
	}},
	hookgatev1.Provider_PROVIDER_HUBSPOT: {scheme: hubspot{}, info: Info{
		Scheme:  "HMAC-SHA256 base64 of {method}{url}{body}{timestamp} (v3, timestamp in ms, 5 min)",
		Secrets: []string{hubspotSecret},
	}},
}

// Twilio (shared/providers.md "Twilio"): X-Twilio-Signature is base64
// HMAC-SHA1 keyed with the auth token over the URL Twilio requested
// followed by every POST parameter, sorted by name, as name‖value. When the
// URL's query has bodySHA256 (JSON bodies), the parameters are none and
// the body must hash to that value.
const (
	twilioSecret   = "auth_token"
	twilioHeader   = "X-Twilio-Signature"
	twilioBodyHash = "bodySHA256"
	// twilioIDHeader is the same on every retry of one webhook call.
	twilioIDHeader = "I-Twilio-Idempotency-Token"
)

type twilio struct{}

func (twilio) Verify(r *Request, s Secrets) error {
	tokens, err := secretValues(s, twilioSecret)
	if err != nil {
		return err
	}
	var sig [sha1.Size]byte
	if err := headerBase64(r, twilioHeader, sig[:]); err != nil {
		return err
	}
	wantBody, hasBodyHash, ok := queryParam(r.URL, twilioBodyHash)
	var params []formPair
	switch {
	case hasBodyHash && (!ok || len(wantBody) != 2*sha256.Size):
		return fail(SignatureMalformed, twilioBodyHash)
	case !hasBodyHash && isFormBody(r):
		params = parseForm(r.Body)
	}
	// twilio-node's validateRequest tries the URL without its port and with
	// the scheme's default port, since Twilio signs either form.
	urls := [2]urlParts{{r.URL}}
	n := 1
	if alt, ok := toggledPort(r.URL); ok {
		urls[1], n = alt, 2
	}
	var mac [sha1.Size]byte
	matched := false
tokens:
	for _, token := range tokens {
		for _, u := range urls[:n] {
			h := hmac.New(sha1.New, []byte(token))
			u.writeTo(h)
			writeForm(h, params)
			if hmac.Equal(h.Sum(mac[:0]), sig[:]) {
				matched = true
				break tokens
			}
		}
	}
	if !matched {
		return fail(SignatureMismatch, twilioHeader)
	}
	if hasBodyHash {
		var want [sha256.Size]byte
		if _, err := hex.Decode(want[:], []byte(wantBody)); err != nil {
			return fail(SignatureMalformed, twilioBodyHash)
		}
		got := sha256.Sum256(r.Body)
		if !equal(got[:], want[:]) {
			return fail(SignatureMismatch, twilioBodyHash)
		}
	}
	return nil
}

func (twilio) DeliveryID(r *Request) string { return r.Header.Get(twilioIDHeader) }

// urlParts is a URL written as up to three pieces, so a variant of it
// (a port added or removed) is hashed without building a string.
type urlParts [3]string

func (u urlParts) writeTo(h hash.Hash) {
	for _, p := range u {
		if p != "" {
			h.Write([]byte(p))
		}
	}
}

// toggledPort returns u with its port removed when it has one, or with
// the scheme's default port (https 443, http 80) when it has none; false
// when u has no recognisable authority.
func toggledPort(u string) (urlParts, bool) {
	i := strings.Index(u, "://")
	if i <= 0 {
		return urlParts{}, false
	}
	start := i + 3
	end := len(u)
	if j := strings.IndexAny(u[start:], "/?#"); j >= 0 {
		end = start + j
	}
	authority := u[start:end]
	host := authority
	if at := strings.LastIndexByte(host, '@'); at >= 0 {
		host = host[at+1:]
	}
	colon := strings.LastIndexByte(host, ':')
	if colon >= 0 && colon > strings.LastIndexByte(host, ']') {
		// Remove the port, whatever it is (twilio-node's removePort).
		cut := end - (len(host) - colon)
		return urlParts{u[:cut], u[end:]}, true
	}
	var port string
	switch strings.ToLower(u[:i]) {
	case "https":
		port = ":443"
	case "http":
		port = ":80"
	default:
		return urlParts{}, false
	}
	return urlParts{u[:end], port, u[end:]}, true
}

// queryParam finds the first query parameter name (not decoded: Twilio's
// name and hex value need no escapes) in the raw query of u. found says
// the name is present; ok that its value needs no decoding.
func queryParam(u, name string) (value string, found, ok bool) {
	q := u
	if i := strings.IndexByte(q, '#'); i >= 0 {
		q = q[:i]
	}
	i := strings.IndexByte(q, '?')
	if i < 0 {
		return "", false, false
	}
	q = q[i+1:]
	for q != "" {
		var pair string
		pair, q, _ = strings.Cut(q, "&")
		k, v, _ := strings.Cut(pair, "=")
		if k == name {
			return v, true, !strings.ContainsAny(v, "%+")
		}
	}
	return "", false, false
}

// Square (shared/providers.md "Square"): x-square-hmacsha256-signature is
// base64 HMAC-SHA256 keyed with the signature key (its UTF-8 text, though
// it looks like base64) over the notification URL followed by the body.
// Old API versions send x-square-signature, HMAC-SHA1 of the same; it is
// read only when the SHA-256 header is absent.
const (
	squareSecret       = "signature_key"
	squareHeader       = "x-square-hmacsha256-signature"
	squareLegacyHeader = "x-square-signature"
)

type square struct{}

func (square) Verify(r *Request, s Secrets) error {
	keys, err := secretValues(s, squareSecret)
	if err != nil {
		return err
	}
	header, newHash, size := squareHeader, sha256.New, sha256.Size
	if r.Header.Get(squareHeader) == "" && r.Header.Get(squareLegacyHeader) != "" {
		header, newHash, size = squareLegacyHeader, sha1.New, sha1.Size
	}
	var sig, mac [sha256.Size]byte
	if err := headerBase64(r, header, sig[:size]); err != nil {
		return err
	}
	for _, key := range keys {
		h := hmac.New(newHash, []byte(key))
		h.Write([]byte(r.URL))
		h.Write(r.Body)
		if hmac.Equal(h.Sum(mac[:0]), sig[:size]) {
			return nil
		}
	}
	return fail(SignatureMismatch, header)
}

// DeliveryID is the body's event_id (Square's advice for deduplication).
func (square) DeliveryID(r *Request) string { return jsonFieldString(r.Body, "event_id") }

// HubSpot (shared/providers.md "HubSpot"): X-HubSpot-Signature-v3 is
// base64 HMAC-SHA256 keyed with the app's client secret over method ‖ URI
// ‖ body ‖ X-HubSpot-Request-Timestamp (Unix milliseconds, as sent), the
// URI with HubSpot's table of escapes decoded; the URL as given is tried
// too, since @hubspot/api-client signs it undecoded. The legacy v1/v2
// signatures (X-HubSpot-Signature) are not accepted: they have no
// timestamp, and being SHA-256(secret ‖ …) rather than an HMAC, one of
// them lets anyone sign the same body with bytes appended (length
// extension).
const (
	hubspotSecret          = "client_secret"
	hubspotHeader          = "X-HubSpot-Signature-v3"
	hubspotTimestampHeader = "X-HubSpot-Request-Timestamp"
	hubspotTolerance       = 5 * time.Minute
)

type hubspot struct{}

func (hubspot) Verify(r *Request, s Secrets) error {
	secrets, err := secretValues(s, hubspotSecret)
	if err != nil {
		return err
	}
	var sig, mac [sha256.Size]byte
	if err := headerBase64(r, hubspotHeader, sig[:]); err != nil {
		return err
	}
	ts := r.Header.Get(hubspotTimestampHeader)
	if err := checkUnix(r.Now, ts, time.Millisecond, hubspotTolerance, hubspotTolerance, hubspotTimestampHeader); err != nil {
		return err
	}
	uris := [2]string{hubspotDecodeURI(r.URL), r.URL}
	for _, secret := range secrets {
		for i, uri := range uris {
			if i == 1 && uri == uris[0] {
				continue
			}
			h := hmac.New(sha256.New, []byte(secret))
			h.Write([]byte(r.Method))
			h.Write([]byte(uri))
			h.Write(r.Body)
			h.Write([]byte(ts))
			if hmac.Equal(h.Sum(mac[:0]), sig[:]) {
				return nil
			}
		}
	}
	return fail(SignatureMismatch, hubspotHeader)
}

// hubspotEscapes are the escapes HubSpot decodes in the URI before it
// signs (its request-validation table); both hex cases are accepted.
var hubspotEscapes = [...]struct {
	code string
	char byte
}{
	{"3A", ':'}, {"2F", '/'}, {"3F", '?'}, {"40", '@'}, {"21", '!'}, {"24", '$'},
	{"27", '\''}, {"28", '('}, {"29", ')'}, {"2A", '*'}, {"2C", ','}, {"3B", ';'},
}

// hubspotDecodeURI decodes hubspotEscapes in u; it returns u itself (no
// allocation) when there is nothing to decode.
func hubspotDecodeURI(u string) string {
	if !strings.Contains(u, "%") {
		return u
	}
	var b strings.Builder
	for i := 0; i < len(u); i++ {
		if u[i] == '%' && i+2 < len(u) {
			if c, ok := hubspotEscape(u[i+1 : i+3]); ok {
				if b.Len() == 0 && i > 0 {
					b.Grow(len(u))
				}
				b.WriteByte(c)
				i += 2
				continue
			}
		}
		b.WriteByte(u[i])
	}
	return b.String()
}

func hubspotEscape(code string) (byte, bool) {
	for _, e := range hubspotEscapes {
		if strings.EqualFold(code, e.code) {
			return e.char, true
		}
	}
	return 0, false
}
