package envelope

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// bodyKind is how a content type's body becomes the envelope's payload.
type bodyKind int

const (
	kindText bodyKind = iota
	kindJSON
	kindForm
)

// kindOf classifies a Content-Type header value by its media type, ignoring
// parameters and ASCII case. It does not allocate (mime.ParseMediaType
// builds a map of the parameters, which the edge does not need).
func kindOf(contentType string) bodyKind {
	mt := contentType
	if i := strings.IndexByte(mt, ';'); i >= 0 {
		mt = mt[:i]
	}
	mt = strings.Trim(mt, " \t")
	const app, suffix = "application/", "+json"
	switch {
	case equalFoldASCII(mt, "application/json"), equalFoldASCII(mt, "text/json"):
		return kindJSON
	case equalFoldASCII(mt, "application/x-www-form-urlencoded"):
		return kindForm
	case len(mt) > len(app)+len(suffix) &&
		equalFoldASCII(mt[:len(app)], app) &&
		equalFoldASCII(mt[len(mt)-len(suffix):], suffix) &&
		!strings.ContainsAny(mt[len(app):], "/ \t"):
		return kindJSON // application/*+json (RFC 6839), e.g. application/cloudevents+json
	}
	return kindText
}

// equalFoldASCII reports whether s equals lower, a lower-case ASCII string,
// ignoring ASCII case. Media types are ASCII; strings.EqualFold would also
// match non-ASCII letters such as 'ſ' (U+017F) with 's'.
func equalFoldASCII(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// Payload returns the JSON that DESIGN.md's envelope carries as payload for
// a body of the given Content-Type:
//
//   - application/json, text/json and application/*+json (any case, any
//     parameters): the body itself, which must be valid JSON in UTF-8 that a
//     protojson consumer can decode as google.protobuf.Value: no duplicate
//     member names (compared decoded), no number beyond float64's range, no
//     unpaired surrogate escape, at most MaxDepth levels of nesting. Else an
//     error wrapping ErrInvalidJSON. An empty body is not valid JSON. The
//     result is body, not a copy.
//   - application/x-www-form-urlencoded: an object of string arrays,
//     {"a":["1","2"],"b":[""]}, with keys sorted (byte order of the decoded
//     keys) and each key's values in the order they appear. Pairs are
//     separated by '&' only (';' is an ordinary character), empty pairs are
//     skipped, '+' is a space, and bad percent-encoding is an error wrapping
//     ErrInvalidForm.
//   - anything else, including no content type: the body as a JSON string.
//
// Form values and text bodies that are not valid UTF-8 have each invalid
// byte replaced with U+FFFD, because protojson consumers reject invalid
// UTF-8; a webhook that needs the exact bytes opts in to rawBody.
func Payload(contentType string, body []byte) ([]byte, error) {
	if kindOf(contentType) == kindJSON {
		if err := checkJSON(body); err != nil {
			return nil, err
		}
		return body, nil
	}
	return AppendPayload(nil, contentType, body)
}

// AppendPayload appends what Payload returns to dst and returns the extended
// buffer, so that the edge can build the envelope in a pooled buffer without
// copying the payload twice. On error it returns dst unchanged.
func AppendPayload(dst []byte, contentType string, body []byte) ([]byte, error) {
	switch kindOf(contentType) {
	case kindJSON:
		if err := checkJSON(body); err != nil {
			return dst, err
		}
		return append(dst, body...), nil
	case kindForm:
		return appendForm(dst, body)
	}
	return appendString(dst, body), nil
}

// formPair is one key=value pair of a form body: the decoded key as a range
// of the scratch buffer, and the value still encoded.
type formPair struct {
	keyStart, keyEnd int
	value            []byte
}

// appendForm appends the form body as a JSON object of string arrays. It
// decodes and checks every pair before writing, so that an error leaves dst
// as it was. It sorts rather than keeping first-appearance order because
// grouping repeated keys in appearance order needs a map or quadratic time.
func appendForm(dst, body []byte) ([]byte, error) {
	pairs := make([]formPair, 0, bytes.Count(body, []byte{'&'})+1)
	var keys []byte
	for off := 0; off < len(body); {
		end := bytes.IndexByte(body[off:], '&')
		if end < 0 {
			end = len(body)
		} else {
			end += off
		}
		if end > off {
			pair := body[off:end]
			key, value, _ := bytes.Cut(pair, []byte{'='})
			start := len(keys)
			var bad int
			if keys, bad = appendUnescaped(keys, key); bad >= 0 {
				return dst, fmt.Errorf("%w: bad percent-encoding at offset %d", ErrInvalidForm, off+bad)
			}
			if !utf8.Valid(keys[start:]) {
				// Group by the key as it will be written, so that two
				// invalid keys cannot become one JSON key twice.
				keys = appendValidUTF8(keys[:start], slices.Clone(keys[start:]))
			}
			if bad = checkEscapes(value); bad >= 0 {
				return dst, fmt.Errorf("%w: bad percent-encoding at offset %d", ErrInvalidForm, off+len(key)+1+bad)
			}
			pairs = append(pairs, formPair{keyStart: start, keyEnd: len(keys), value: value})
		}
		off = end + 1
	}
	key := func(p formPair) []byte { return keys[p.keyStart:p.keyEnd] }
	slices.SortStableFunc(pairs, func(a, b formPair) int { return bytes.Compare(key(a), key(b)) })

	dst = append(dst, '{')
	var scratch []byte
	for i := 0; i < len(pairs); {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, key(pairs[i]))
		dst = append(dst, ':', '[')
		j := i
		for ; j < len(pairs) && bytes.Equal(key(pairs[j]), key(pairs[i])); j++ {
			if j > i {
				dst = append(dst, ',')
			}
			scratch, _ = appendUnescaped(scratch[:0], pairs[j].value)
			dst = appendString(dst, scratch)
		}
		dst = append(dst, ']')
		i = j
	}
	return append(dst, '}'), nil
}

// appendValidUTF8 appends b to dst with each byte that is not part of valid
// UTF-8 replaced by U+FFFD, as appendString does.
func appendValidUTF8(dst, b []byte) []byte {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			dst = utf8.AppendRune(dst, utf8.RuneError)
		} else {
			dst = append(dst, b[i:i+n]...)
		}
		i += n
	}
	return dst
}

// appendUnescaped appends the form-decoded s ('+' is a space, %XX a byte)
// to dst. It returns the offset in s of the first bad escape, or -1.
func appendUnescaped(dst, s []byte) ([]byte, int) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '+':
			dst = append(dst, ' ')
		case '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return dst, i
			}
			dst = append(dst, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			dst = append(dst, c)
		}
	}
	return dst, -1
}

// checkEscapes returns the offset in s of the first bad escape, or -1.
func checkEscapes(s []byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' {
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return i
			}
			i += 2
		}
	}
	return -1
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
