package envelope

import (
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// plainASCII marks the bytes that a JSON string holds as they are: printable
// ASCII other than '"' and '\\'.
var plainASCII = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// Bytes repeated in each byte of a word, for the SWAR scan below.
const (
	lsb  = 0x0101010101010101
	msb  = 0x8080808080808080
	quot = '"' * lsb
	bsl  = '\\' * lsb
	ctl  = 0x20 * lsb
)

// special returns a word whose high bits mark the bytes of x (8 bytes of
// a JSON string, little-endian) that plainASCII does not: '"', '\\',
// control characters and bytes of 0x80 and above. It is zero when all 8
// are plain; when it is not, the lowest marked byte is the first special
// one (higher marks may be false, from borrows), so callers rescan the
// word byte by byte.
func special(x uint64) uint64 {
	q := x ^ quot
	s := x ^ bsl
	return ((q-lsb)&^q | (s-lsb)&^s | (x-ctl)&^x | x) & msb
}

// skipPlain returns the index of the first byte at or after i that
// plainASCII does not mark, or len(b). It tests 8 bytes at a time.
func skipPlain[T string | []byte](b T, i int) int {
	for ; i+8 <= len(b); i += 8 {
		// The compiler turns this into one 64-bit load.
		x := uint64(b[i]) | uint64(b[i+1])<<8 | uint64(b[i+2])<<16 | uint64(b[i+3])<<24 |
			uint64(b[i+4])<<32 | uint64(b[i+5])<<40 | uint64(b[i+6])<<48 | uint64(b[i+7])<<56
		if special(x) != 0 {
			break
		}
	}
	for i < len(b) && plainASCII[b[i]] {
		i++
	}
	return i
}

// appendString appends s to dst as a JSON string (RFC 8259, section 7). It
// escapes '"', '\\' and control characters, replaces invalid UTF-8 with
// \ufffd and escapes U+2028 and U+2029, so that for any input the result is
// byte for byte what encoding/json writes with HTML escaping turned off.
// '<', '>' and '&' stay as they are. The output is always valid UTF-8, which
// protojson consumers of the envelope require.
func appendString[T string | []byte](dst []byte, s T) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		// Most of a header or an id is printable ASCII: skip it in a tight
		// loop and copy it in one append.
		i = skipPlain(s, i)
		if i == len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		// Copying at most four bytes lets one decoder serve both type
		// arguments without converting (and allocating) the whole input.
		var buf [utf8.UTFMax]byte
		n := copy(buf[:], s[i:])
		r, size := utf8.DecodeRune(buf[:n])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			// Valid JSON, but not valid JavaScript before ES2019;
			// encoding/json escapes them too.
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
