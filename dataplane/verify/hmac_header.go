package verify

import (
	"crypto/ed25519"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"time"
)

// hmacMaxSignatures bounds the HMAC entries of one header (Stripe and
// Standard Webhooks send one per active secret during a rotation).
const hmacMaxSignatures = 8

// signatures are the decoded entries of a signature header, on the stack.
type signatures struct {
	v  [hmacMaxSignatures][sha512.Size]byte
	n  int    // HMAC entries in v
	ed int    // Ed25519 entries (decoded again when verified)
	ts string // the entry marked by TimestampPrefix
}

// parse reads the signature header: every value, split by the separator,
// entries trimmed of blanks, empty ones skipped. A timestamp entry sets
// sig.ts; an entry with the prefix is decoded and must be one digest long
// (else the header is malformed); other entries are ignored with a
// separator and malformed without one.
func (s *HMACScheme) parse(r *Request, sig *signatures) error {
	vals := r.Header[s.header]
	if !hmacHasValue(vals) {
		return fail(SignatureMissing, s.cfg.Header)
	}
	sep := s.cfg.Separator
	count := 0
	for _, v := range vals {
		rest, more := v, true
		for more {
			var e string
			if sep == "" {
				e, more = rest, false
			} else {
				e, rest, more = strings.Cut(rest, sep)
			}
			if e = strings.Trim(e, " \t"); e == "" {
				continue
			}
			if count++; count > hmacMaxEntries {
				return fail(SignatureMalformed, s.cfg.Header)
			}
			if !s.entry(e, sig) {
				return fail(SignatureMalformed, s.cfg.Header)
			}
		}
	}
	if count == 0 {
		return fail(SignatureMissing, s.cfg.Header) // blanks only
	}
	if s.idHeader != "" && !hmacHasValue(r.Header[s.idHeader]) {
		return fail(SignatureMalformed, s.cfg.IDHeader)
	}
	return nil
}

// entry classifies one entry; false when it makes the header malformed.
func (s *HMACScheme) entry(e string, sig *signatures) bool {
	c := &s.cfg
	if c.TimestampPrefix != "" && s.tsHeader == s.header {
		if ts, ok := strings.CutPrefix(e, c.TimestampPrefix); ok {
			if sig.ts != "" && sig.ts != ts {
				return false // two different timestamps
			}
			sig.ts = ts
			return true
		}
	}
	if c.Ed25519Prefix != "" {
		if v, ok := strings.CutPrefix(e, c.Ed25519Prefix); ok {
			var b [ed25519.SignatureSize]byte
			if !hmacDecodeSig(b[:], v, sigBase64) {
				return false
			}
			sig.ed++
			return true
		}
	}
	v, ok := strings.CutPrefix(e, c.Prefix)
	if !ok {
		// With a separator, entries of other versions are ignored
		// (Stripe's v0=, a v2 of the future); a lone value must carry
		// the prefix (bolt-js refuses unknown versions).
		return c.Separator != ""
	}
	if sig.n == hmacMaxSignatures || !hmacDecodeSig(sig.v[sig.n][:s.size], v, s.enc) {
		return false
	}
	sig.n++
	return true
}

// entries lists the header's entries (for the rare Ed25519 path).
func (s *HMACScheme) entries(r *Request) []string {
	var out []string
	for _, v := range r.Header[s.header] {
		for _, e := range strings.Split(v, s.cfg.Separator) {
			if e = strings.Trim(e, " \t"); e != "" {
				out = append(out, e)
			}
		}
	}
	return out
}

// checkTimestamp reads the timestamp (from the header entry already in
// *ts, the timestamp header or the body field) and checks it against the
// tolerance in both directions. *ts is left as received, for {timestamp}.
func (s *HMACScheme) checkTimestamp(r *Request, ts *string) error {
	c := &s.cfg
	where := c.TimestampHeader
	switch {
	case c.TimestampPrefix != "" && s.tsHeader == s.header:
	case s.tsHeader != "":
		if vs := r.Header[s.tsHeader]; len(vs) > 0 {
			*ts = strings.Trim(vs[0], " \t")
		}
		if c.TimestampPrefix != "" && *ts != "" {
			// A timestamp header of its own may carry the prefix too.
			v, ok := strings.CutPrefix(*ts, c.TimestampPrefix)
			if !ok {
				return fail(TimestampMalformed, where)
			}
			*ts = v
		}
	case c.TimestampField != "":
		where = c.TimestampField
		*ts = hmacBodyNumber(r.Body, c.TimestampField)
	default:
		return nil
	}
	if *ts == "" {
		return fail(TimestampMissing, where)
	}
	t, ok := hmacParseTime(*ts, s.unit)
	if !ok {
		return fail(TimestampMalformed, where)
	}
	if d := r.Now.Sub(t); d > s.tolerance || d < -s.tolerance {
		return fail(TimestampOutsideTolerance, where)
	}
	return nil
}

// hmacParseTime reads a timestamp in unit: digits only for s and ms (no sign,
// no blanks), RFC 3339 with any fraction. Absurd magnitudes are clamped,
// so they fall outside every tolerance instead of overflowing.
func hmacParseTime(v, unit string) (time.Time, bool) {
	if unit == "rfc3339" {
		t, err := time.Parse(time.RFC3339, v)
		return t, err == nil
	}
	if len(v) > 18 {
		return time.Time{}, false
	}
	var n int64
	for i := range len(v) {
		if v[i] < '0' || v[i] > '9' {
			return time.Time{}, false
		}
		n = n*10 + int64(v[i]-'0')
	}
	if unit == "ms" || unit == "auto" && len(v) >= 13 {
		return time.UnixMilli(min(n, 1e14)), true
	}
	return time.Unix(min(n, 1e11), 0), true
}

// sigEncoding is how a signature is written.
type sigEncoding uint8

const (
	sigHex sigEncoding = iota
	sigBase64
	sigBase64URL
)

var hmacEncodings = map[string]sigEncoding{"": sigHex, "hex": sigHex, "base64": sigBase64, "base64url": sigBase64URL}

// hmacDecodeSig decodes v into exactly len(dst) bytes; false otherwise. Hex
// takes either case; base64 takes padded and unpadded forms. Nothing is
// allocated.
func hmacDecodeSig(dst []byte, v string, enc sigEncoding) bool {
	var tmp [128]byte
	if len(v) > len(tmp) {
		return false
	}
	src := tmp[:copy(tmp[:], v)]
	switch enc {
	case sigHex:
		if len(src) != 2*len(dst) {
			return false
		}
		_, err := hex.Decode(dst, src)
		return err == nil
	default:
		e := base64.RawStdEncoding
		if enc == sigBase64URL {
			e = base64.RawURLEncoding
		}
		src = hmacTrimPadding(src)
		if e.DecodedLen(len(src)) != len(dst) {
			return false
		}
		n, err := e.Decode(dst, src)
		return err == nil && n == len(dst)
	}
}

// hmacTrimPadding drops up to two trailing '='.
func hmacTrimPadding(b []byte) []byte {
	for range 2 {
		if len(b) > 0 && b[len(b)-1] == '=' {
			b = b[:len(b)-1]
		}
	}
	return b
}

// hmacDecodeKey decodes a key, padded or not.
func hmacDecodeKey(v string, url bool) ([]byte, error) {
	e := base64.RawStdEncoding
	if url {
		e = base64.RawURLEncoding
	}
	return e.DecodeString(strings.TrimSuffix(strings.TrimSuffix(v, "="), "="))
}
