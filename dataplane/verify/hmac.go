package verify

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"hash"
	"net/textproto"
	"strings"
	"sync"
	"time"
)

// HMAC configures an HMAC signature scheme: it is what CUSTOM_HMAC is, and
// every HMAC preset is one of these in hmacSchemes (hmac_presets.go). The
// zero values of the optional fields are the defaults noted on each.
type HMAC struct {
	// Header carries the signature (required).
	Header string
	// Algorithm is "sha1", "sha256" (default) or "sha512".
	Algorithm string
	// Encoding is "hex" (default), "base64" or "base64url"; base64 is
	// accepted padded or not.
	Encoding string
	// Prefix marks a signature entry and is stripped before decoding
	// ("sha256=", "v1=", "v1,"). Without Separator the header must start
	// with it; with one, entries without it are ignored (Stripe's v0=).
	Prefix string
	// Template is the signed content over {body}, {timestamp}, {id},
	// {url}, {method} and {header:Name}; "{body}" by default. It is
	// compiled once; {timestamp} and {id} are written as received.
	Template string
	// TimestampHeader carries the timestamp; it may be Header itself, with
	// the timestamp in the entry marked by TimestampPrefix (Stripe "t=",
	// Paddle "ts=").
	TimestampHeader string
	TimestampPrefix string
	// TimestampUnit is "s" (default), "ms" or "rfc3339". Presets may use
	// "auto": seconds, or milliseconds when the value has 13 or more
	// digits (Zoom, whose unit is undocumented).
	TimestampUnit string
	// Tolerance bounds |now − timestamp| (both directions); 5 minutes when
	// zero.
	Tolerance time.Duration
	// IDHeader carries {id} (Standard Webhooks webhook-id).
	IDHeader string
	// Separator splits the signature header into entries when it carries
	// several signatures or the timestamp too (" ", ",", ";").
	Separator string
	// Secret names the secret whose values key the HMAC; "secret" when
	// empty (CUSTOM_HMAC's name).
	Secret string

	// The options below are for presets that need a little more than a
	// template; CUSTOM_HMAC does not expose them.

	// StandardKey: the secret is "whsec_" + base64 (or bare base64) and
	// the key is the decoded bytes. Only Standard Webhooks/Svix do this;
	// every other provider (Stripe's whsec_ included) keys the HMAC with
	// the secret's bytes as they are.
	StandardKey bool
	// TimestampField takes the timestamp from this top-level field of a
	// JSON body instead of a header (Linear's webhookTimestamp, a number);
	// the field is signed as part of {body}.
	TimestampField string
	// Fallback is tried, whole, when the request lacks Header: a legacy
	// header (X-Hub-Signature sha1) or another set of names (svix-*).
	Fallback *HMAC
	// Ed25519Prefix marks entries that are Ed25519 signatures of the same
	// content (Standard Webhooks "v1a,"), base64, verified with the public
	// keys in the secret Ed25519Secret ("whpk_" + base64 of 32 bytes, or
	// bare base64). Ed25519 needs the whole message, so such an entry
	// costs one copy of the signed content.
	Ed25519Prefix string
	Ed25519Secret string
}

// hmacDefaultTolerance applies when a timestamp is configured without one.
const hmacDefaultTolerance = 5 * time.Minute

// hmacMaxEntries bounds the entries of a signature header that are examined;
// more is a malformed header.
const hmacMaxEntries = 32

// HMACScheme is a compiled HMAC configuration. It is safe for concurrent
// use and holds no secret: secrets come with each call.
type HMACScheme struct {
	cfg HMAC
	// header, tsHeader and idHeader are canonical (http.Header keys).
	header, tsHeader, idHeader string
	newHash                    func() hash.Hash
	size                       int
	enc                        sigEncoding
	unit                       string
	tolerance                  time.Duration
	secret                     string
	head, tail                 []part
	fallback                   *HMACScheme
	// macs keeps keyed HMAC states for reuse: keying costs two hash
	// blocks and two allocations per call otherwise. Presets are shared
	// by every webhook, so an entry is reused only for the same key.
	macs sync.Pool // *keyedMAC
}

// keyedMAC is an HMAC state and the key it was made with.
type keyedMAC struct {
	key string
	h   hash.Hash
}

// mac returns an HMAC of key, reset, from the pool when one matches.
func (s *HMACScheme) mac(key []byte) *keyedMAC {
	if m, ok := s.macs.Get().(*keyedMAC); ok {
		// Both sides are configured secrets, not caller input: an
		// ordinary comparison leaks nothing to a caller.
		if m.key == string(key) {
			m.h.Reset()
			return m
		}
	}
	return &keyedMAC{key: string(key), h: hmac.New(s.newHash, key)}
}

var _ Scheme = (*HMACScheme)(nil)

// NewHMAC compiles c; the error names the field at fault.
func NewHMAC(c HMAC) (*HMACScheme, error) {
	if c.Header == "" || !hmacHeaderName(c.Header) {
		return nil, configErr("header", "must name an HTTP header")
	}
	s := &HMACScheme{cfg: c, header: textproto.CanonicalMIMEHeaderKey(c.Header)}
	switch c.Algorithm {
	case "sha256", "":
		s.newHash, s.size = sha256.New, sha256.Size
	case "sha1":
		s.newHash, s.size = sha1.New, sha1.Size
	case "sha512":
		s.newHash, s.size = sha512.New, sha512.Size
	default:
		return nil, configErr("algorithm", "%q: want sha1, sha256 or sha512", c.Algorithm)
	}
	var ok bool
	if s.enc, ok = hmacEncodings[c.Encoding]; !ok {
		return nil, configErr("encoding", "%q: want hex, base64 or base64url", c.Encoding)
	}
	if err := s.compileEntries(); err != nil {
		return nil, err
	}
	if err := s.compileTimestamp(); err != nil {
		return nil, err
	}
	if c.IDHeader != "" {
		if !hmacHeaderName(c.IDHeader) {
			return nil, configErr("id_header", "must name an HTTP header")
		}
		s.idHeader = textproto.CanonicalMIMEHeaderKey(c.IDHeader)
	}
	tmpl := c.Template
	if tmpl == "" {
		tmpl = "{body}"
	}
	var err error
	if s.head, s.tail, err = compileTemplate(tmpl, s.tsHeader != "" || c.TimestampField != "", s.idHeader != ""); err != nil {
		return nil, err
	}
	if (s.tsHeader != "" || c.TimestampField != "") && !hasPart(s.head, s.tail, partTimestamp) && c.TimestampField == "" {
		return nil, configErr("template", "the timestamp must be signed: add {timestamp}")
	}
	if s.secret = c.Secret; s.secret == "" {
		s.secret = "secret"
	}
	if (c.Ed25519Prefix == "") != (c.Ed25519Secret == "") {
		return nil, configErr("ed25519", "prefix and secret go together")
	}
	if c.Fallback != nil {
		fb := *c.Fallback
		if fb.Secret == "" {
			fb.Secret = s.secret
		}
		if s.fallback, err = NewHMAC(fb); err != nil {
			return nil, configErr("fallback", "%v", err)
		}
	}
	return s, nil
}

// compileEntries checks prefix and separator.
func (s *HMACScheme) compileEntries() error {
	c := s.cfg
	for _, p := range []struct{ field, v string }{{"prefix", c.Prefix}, {"timestamp_prefix", c.TimestampPrefix}, {"ed25519", c.Ed25519Prefix}} {
		if len(p.v) > 64 {
			return configErr(p.field, "at most 64 characters")
		}
		for i := range len(p.v) {
			// Entries are trimmed of blanks, so a prefix may not start
			// with one; header values hold no controls.
			if b := p.v[i]; b < ' ' || b == 0x7f || i == 0 && b == ' ' {
				return configErr(p.field, "must not start with a blank or contain control characters")
			}
		}
	}
	if c.Separator != "" {
		if len(c.Separator) > 4 {
			return configErr("separator", "at most 4 characters")
		}
		for i := range len(c.Separator) {
			b := c.Separator[i]
			if b < ' ' || b > '~' || hmacAlnum(b) || strings.IndexByte("+/-_=", b) >= 0 {
				return configErr("separator", "%q: must not contain letters, digits, base64 characters or controls", c.Separator)
			}
		}
		for _, p := range []string{c.Prefix, c.TimestampPrefix, c.Ed25519Prefix} {
			if strings.Contains(p, c.Separator) {
				return configErr("separator", "%q appears in a prefix", c.Separator)
			}
		}
	}
	if c.Ed25519Prefix != "" && c.Separator == "" {
		return configErr("ed25519", "needs a separator")
	}
	return nil
}

// compileTimestamp checks the timestamp's source, unit and tolerance.
func (s *HMACScheme) compileTimestamp() error {
	c := s.cfg
	if c.TimestampHeader != "" {
		if !hmacHeaderName(c.TimestampHeader) {
			return configErr("timestamp_header", "must name an HTTP header")
		}
		s.tsHeader = textproto.CanonicalMIMEHeaderKey(c.TimestampHeader)
	}
	if c.TimestampField != "" && s.tsHeader != "" {
		return configErr("timestamp_field", "not with a timestamp header")
	}
	switch {
	case c.TimestampPrefix != "" && s.tsHeader == "":
		return configErr("timestamp_prefix", "needs timestamp_header")
	case c.TimestampPrefix != "" && s.tsHeader == s.header:
		// The timestamp is one entry of the signature header.
		if c.Separator == "" {
			return configErr("timestamp_prefix", "a timestamp in the signature header needs a separator")
		}
		if strings.HasPrefix(c.TimestampPrefix, c.Prefix) || strings.HasPrefix(c.Prefix, c.TimestampPrefix) {
			return configErr("timestamp_prefix", "must not be a prefix of prefix or the reverse")
		}
	case s.tsHeader != "" && s.tsHeader == s.header:
		return configErr("timestamp_header", "equals header: set timestamp_prefix")
	}
	hasTS := s.tsHeader != "" || c.TimestampField != ""
	switch c.TimestampUnit {
	case "":
		s.unit = "s"
	case "s", "ms", "rfc3339", "auto":
		s.unit = c.TimestampUnit
	default:
		return configErr("timestamp_unit", "%q: want s, ms or rfc3339", c.TimestampUnit)
	}
	if !hasTS && c.TimestampUnit != "" {
		return configErr("timestamp_unit", "needs timestamp_header")
	}
	if c.Tolerance < 0 || c.Tolerance > 24*time.Hour {
		return configErr("tolerance", "must be 0 to 24h")
	}
	if !hasTS && c.Tolerance != 0 {
		return configErr("tolerance", "needs timestamp_header")
	}
	if s.tolerance = c.Tolerance; s.tolerance == 0 {
		s.tolerance = hmacDefaultTolerance
	}
	return nil
}

// Verify checks r against the scheme: nil, or a *Failure whose reason is
// the first problem found, in the order of the Reason constants.
func (s *HMACScheme) Verify(r *Request, secrets Secrets) error {
	if len(r.Header[s.header]) == 0 && s.fallback != nil {
		return s.fallback.Verify(r, secrets)
	}
	keys := secrets[s.secret]
	if !hmacHasValue(keys) {
		return fail(SecretMissing, s.secret)
	}
	var sig signatures
	if err := s.parse(r, &sig); err != nil {
		return err
	}
	if sig.n == 0 && sig.ed == 0 {
		return fail(SignatureMalformed, s.cfg.Header)
	}
	ts := sig.ts
	if err := s.checkTimestamp(r, &ts); err != nil {
		return err
	}
	// Render the parts around {body} once; each secret value then costs
	// one HMAC over head, body and tail.
	buf := make([]byte, 0, 128)
	buf = s.render(buf, s.head, r, ts)
	nh := len(buf)
	buf = s.render(buf, s.tail, r, ts)
	head, tail := buf[:nh], buf[nh:]
	if sig.n > 0 {
		usable := 0
		for _, k := range keys {
			if k == "" {
				continue
			}
			key, ok := s.key(k)
			if !ok {
				continue
			}
			usable++
			km := s.mac(key)
			m := km.h
			m.Write(head)
			m.Write(r.Body)
			m.Write(tail)
			var sum [sha512.Size]byte
			mac := m.Sum(sum[:0])
			s.macs.Put(km)
			for i := range sig.n {
				if hmac.Equal(mac, sig.v[i][:s.size]) {
					return nil
				}
			}
		}
		if usable == 0 && sig.ed == 0 {
			return fail(SecretMissing, s.secret)
		}
	}
	if sig.ed > 0 {
		return s.verifyEd25519(r, secrets, head, tail, sig.n > 0)
	}
	return fail(SignatureMismatch, s.cfg.Header)
}

// key returns the HMAC key of a secret value; false when a Standard
// Webhooks secret does not decode (a configuration fault the control plane
// should refuse at registration).
func (s *HMACScheme) key(v string) ([]byte, bool) {
	if !s.cfg.StandardKey {
		return []byte(v), true
	}
	k, err := hmacDecodeKey(strings.TrimPrefix(v, "whsec_"), false)
	if err != nil || len(k) == 0 {
		return nil, false
	}
	return k, true
}

// verifyEd25519 checks the Ed25519 entries against every public key. The
// message is head ‖ body ‖ tail, copied once: crypto/ed25519 takes it
// whole.
func (s *HMACScheme) verifyEd25519(r *Request, secrets Secrets, head, tail []byte, triedHMAC bool) error {
	pubs := secrets[s.cfg.Ed25519Secret]
	if !hmacHasValue(pubs) {
		if triedHMAC {
			return fail(SignatureMismatch, s.cfg.Header)
		}
		return fail(SecretMissing, s.cfg.Ed25519Secret)
	}
	msg := make([]byte, 0, len(head)+len(r.Body)+len(tail))
	msg = append(append(append(msg, head...), r.Body...), tail...)
	for _, v := range s.entries(r) {
		e, ok := strings.CutPrefix(v, s.cfg.Ed25519Prefix)
		if !ok {
			continue
		}
		sig, err := hmacDecodeKey(e, false)
		if err != nil || len(sig) != ed25519.SignatureSize {
			continue // parse already hmacRefused these
		}
		for _, p := range pubs {
			pub, err := hmacDecodeKey(strings.TrimPrefix(p, "whpk_"), false)
			if err != nil || len(pub) != ed25519.PublicKeySize {
				continue
			}
			if ed25519.Verify(pub, msg, sig) {
				return nil
			}
		}
	}
	return fail(SignatureMismatch, s.cfg.Header)
}

// hmacHasValue reports whether vs holds a non-empty value.
func hmacHasValue(vs []string) bool {
	for _, v := range vs {
		if v != "" {
			return true
		}
	}
	return false
}

func hmacAlnum(b byte) bool {
	return b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}

// hmacHeaderName reports whether s is an HTTP header name (RFC 9110 token).
func hmacHeaderName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := range len(s) {
		b := s[i]
		if !hmacAlnum(b) && strings.IndexByte("!#$%&'*+-.^_`|~", b) < 0 {
			return false
		}
	}
	return true
}
