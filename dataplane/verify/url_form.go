package verify

import (
	"bytes"
	"hash"
	"mime"
	"slices"
	"strings"
)

// formPair is one decoded name=value of an application/x-www-form-urlencoded
// body; both slices point into the body or into one scratch buffer.
type formPair struct{ name, value []byte }

// isFormBody reports whether the call carries a form body.
func isFormBody(r *Request) bool {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return false
	}
	media := ct
	if i := strings.IndexByte(media, ';'); i >= 0 {
		media = media[:i]
	}
	media = strings.TrimSpace(media)
	if strings.EqualFold(media, "application/x-www-form-urlencoded") {
		return true
	}
	if strings.ContainsAny(media, " \t") {
		m, _, err := mime.ParseMediaType(ct)
		return err == nil && m == "application/x-www-form-urlencoded"
	}
	return false
}

// parseForm splits a form body on '&' into decoded pairs ('+' is a space,
// %XX a byte; an escape that is not one stays as written, as Node's
// querystring leaves it), sorted by name then value, with repeated
// identical pairs removed: twilio-node and twilio-python sort the names
// and the values of a repeated name, and count each distinct value once.
// Empty pairs ("a=1&&b=2") are skipped; a pair without '=' has an empty
// value.
func parseForm(body []byte) []formPair {
	if len(body) == 0 {
		return nil
	}
	pairs := make([]formPair, 0, bytes.Count(body, []byte{'&'})+1)
	var scratch []byte
	if bytes.ContainsAny(body, "%+") {
		scratch = make([]byte, 0, len(body))
	}
	rest := body
	for len(rest) > 0 {
		var pair []byte
		if i := bytes.IndexByte(rest, '&'); i >= 0 {
			pair, rest = rest[:i], rest[i+1:]
		} else {
			pair, rest = rest, nil
		}
		if len(pair) == 0 {
			continue
		}
		name, value, _ := bytes.Cut(pair, []byte{'='})
		var p formPair
		p.name, scratch = formDecode(name, scratch)
		p.value, scratch = formDecode(value, scratch)
		pairs = append(pairs, p)
	}
	slices.SortFunc(pairs, func(a, b formPair) int {
		if c := bytes.Compare(a.name, b.name); c != 0 {
			return c
		}
		return bytes.Compare(a.value, b.value)
	})
	return slices.CompactFunc(pairs, func(a, b formPair) bool {
		return bytes.Equal(a.name, b.name) && bytes.Equal(a.value, b.value)
	})
}

// formDecode returns s decoded, appending to scratch when s has escapes.
// scratch has the capacity of the whole body, so appends never move what
// earlier pairs point to.
func formDecode(s, scratch []byte) ([]byte, []byte) {
	if bytes.IndexByte(s, '%') < 0 && bytes.IndexByte(s, '+') < 0 {
		return s, scratch
	}
	start := len(scratch)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			scratch = append(scratch, ' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			scratch = append(scratch, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			scratch = append(scratch, c)
		}
	}
	return scratch[start:len(scratch):len(scratch)], scratch
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
	default:
		return c - 'A' + 10
	}
}

// writeForm writes name‖value of every pair into h, in order.
func writeForm(h hash.Hash, pairs []formPair) {
	for _, p := range pairs {
		h.Write(p.name)
		h.Write(p.value)
	}
}
