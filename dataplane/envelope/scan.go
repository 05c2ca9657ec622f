package envelope

import (
	"bytes"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// scanner walks a JSON document without building it. It skips the values it
// does not need with a loop that counts brackets, so deep nesting costs no
// stack.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *scanner) syntaxError(what string) error {
	if s.i >= len(s.b) {
		return fmt.Errorf("%w: unexpected end of input looking for %s", ErrInvalidJSON, what)
	}
	return fmt.Errorf("%w: unexpected %q looking for %s at offset %d", ErrInvalidJSON, s.b[s.i], what, s.i)
}

func (s *scanner) skipSpace() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// kind names the kind of value that starts at the current position.
func (s *scanner) kind() string {
	switch c := s.peek(); {
	case c == '{':
		return "an object"
	case c == '[':
		return "an array"
	case c == '"':
		return "a string"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	case c == '-' || '0' <= c && c <= '9':
		return "a number"
	}
	return "invalid"
}

// field moves to the value of the last member named name of the object that
// starts at the current position, and reports whether there is one.
func (s *scanner) field(name string) (bool, error) {
	s.i++ // '{'
	s.skipSpace()
	if s.peek() == '}' {
		return false, nil
	}
	found := -1
	for {
		s.skipSpace()
		if s.peek() != '"' {
			return false, s.syntaxError("object key")
		}
		start := s.i
		if !s.skipString() {
			return false, s.syntaxError("end of string")
		}
		match := keyEquals(s.b[start+1:s.i-1], name)
		s.skipSpace()
		if s.peek() != ':' {
			return false, s.syntaxError("':'")
		}
		s.i++
		s.skipSpace()
		if match {
			found = s.i
		}
		if err := s.skipValue(); err != nil {
			return false, err
		}
		s.skipSpace()
		switch s.peek() {
		case ',':
			s.i++
			continue
		case '}':
			s.i++
		default:
			return false, s.syntaxError("',' or '}'")
		}
		break
	}
	if found < 0 {
		return false, nil
	}
	s.i = found
	return true, nil
}

// element moves to element index of the array that starts at the current
// position, and reports whether there is one.
func (s *scanner) element(index int) (bool, error) {
	s.i++ // '['
	s.skipSpace()
	if s.peek() == ']' {
		return false, nil
	}
	for n := 0; ; n++ {
		s.skipSpace()
		if n == index {
			return true, nil
		}
		if err := s.skipValue(); err != nil {
			return false, err
		}
		s.skipSpace()
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			return false, nil
		default:
			return false, s.syntaxError("',' or ']'")
		}
	}
}

// skipString moves past the string that starts at the current position
// ('"') and reports whether it is terminated. It jumps from quote to quote;
// a quote preceded by an odd number of backslashes is escaped. Each run of
// backslashes is counted once, so the cost stays linear.
func (s *scanner) skipString() bool {
	j := s.i + 1
	for {
		k := bytes.IndexByte(s.b[j:], '"')
		if k < 0 {
			return false
		}
		q := j + k
		backslashes := 0
		for p := q - 1; p > s.i && s.b[p] == '\\'; p-- {
			backslashes++
		}
		if backslashes%2 == 0 {
			s.i = q + 1
			return true
		}
		j = q + 1
	}
}

// structural marks the bytes that skipValue must look at inside a container.
var structural = [256]bool{'"': true, '{': true, '[': true, '}': true, ']': true}

// skipValue moves past the value that starts at the current position.
// Containers are skipped by counting brackets outside strings, which is
// enough for valid JSON and always makes progress on anything else.
func (s *scanner) skipValue() error {
	switch s.peek() {
	case '"':
		if !s.skipString() {
			return s.syntaxError("end of string")
		}
		return nil
	case '{', '[':
		depth := 0
		b := s.b
		for i := s.i; i < len(b); i++ {
			for i < len(b) && !structural[b[i]] {
				i++
			}
			if i == len(b) {
				break
			}
			switch b[i] {
			case '"':
				s.i = i
				if !s.skipString() {
					return s.syntaxError("end of string")
				}
				i = s.i - 1
			case '{', '[':
				depth++
			default: // '}', ']'
				depth--
				if depth == 0 {
					s.i = i + 1
					return nil
				}
			}
		}
		s.i = len(b)
		return s.syntaxError("end of object or array")
	}
	kind := s.kind()
	if kind == "invalid" {
		return s.syntaxError("value")
	}
	_, err := s.literalBytes(kind)
	return err
}

func isDelimiter(c byte) bool {
	switch c {
	case ',', '}', ']', ':', ' ', '\t', '\n', '\r':
		return true
	}
	return false
}

// literal returns the number, boolean or null at the current position.
func (s *scanner) literal(kind string) (string, error) {
	lit, err := s.literalBytes(kind)
	return string(lit), err
}

// literalBytes moves past the number, boolean or null at the current
// position and returns it, checking its grammar so that a malformed literal
// is neither returned as a value nor skipped together with what follows it.
func (s *scanner) literalBytes(kind string) ([]byte, error) {
	start := s.i
	for s.i < len(s.b) && !isDelimiter(s.b[s.i]) {
		s.i++
	}
	lit := s.b[start:s.i]
	ok := false
	switch kind {
	case "a number":
		ok = validNumber(lit)
	case "a boolean":
		ok = string(lit) == "true" || string(lit) == "false"
	case "null":
		ok = string(lit) == "null"
	}
	if !ok {
		s.i = start
		return nil, s.syntaxError(kind)
	}
	return lit, nil
}

// validNumber reports whether b is a JSON number (RFC 8259, section 6).
func validNumber(b []byte) bool {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		i = skipDigits(b, i)
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		j := skipDigits(b, i+1)
		if j == i+1 {
			return false
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := skipDigits(b, i)
		if j == i {
			return false
		}
		i = j
	}
	return i == len(b)
}

func skipDigits(b []byte, i int) int {
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}

// stringValue decodes the string at the current position.
func (s *scanner) stringValue() (string, error) {
	start := s.i
	if !s.skipString() {
		return "", s.syntaxError("end of string")
	}
	raw := s.b[start+1 : s.i-1]
	if bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
		return string(raw), nil
	}
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); {
		r, n := nextRune(raw[i:])
		out = utf8.AppendRune(out, r)
		i += n
	}
	return string(out), nil
}

// keyEquals reports whether the raw (still escaped) object key equals name.
func keyEquals(raw []byte, name string) bool {
	if string(raw) == name {
		return true
	}
	if bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
		return false
	}
	// Compare rune by rune, decoding escapes on the way.
	var buf [utf8.UTFMax]byte
	j := 0
	for i := 0; i < len(raw); {
		r, n := nextRune(raw[i:])
		i += n
		m := utf8.EncodeRune(buf[:], r)
		if len(name)-j < m || name[j:j+m] != string(buf[:m]) {
			return false
		}
		j += m
	}
	return j == len(name)
}

// nextRune decodes the first character of the inside of a JSON string,
// resolving an escape, and returns it with the number of bytes it took.
// Invalid UTF-8, bad escapes and unpaired surrogates become U+FFFD, as with
// encoding/json. b is not empty.
func nextRune(b []byte) (rune, int) {
	if b[0] != '\\' {
		if b[0] < utf8.RuneSelf {
			return rune(b[0]), 1
		}
		return utf8.DecodeRune(b) // RuneError, 1 on invalid UTF-8
	}
	if len(b) < 2 {
		return utf8.RuneError, 1
	}
	switch b[1] {
	case '"', '\\', '/':
		return rune(b[1]), 2
	case 'b':
		return '\b', 2
	case 'f':
		return '\f', 2
	case 'n':
		return '\n', 2
	case 'r':
		return '\r', 2
	case 't':
		return '\t', 2
	case 'u':
		r, ok := hex4(b[2:])
		if !ok {
			return utf8.RuneError, 2
		}
		if !utf16.IsSurrogate(r) {
			return r, 6
		}
		if len(b) >= 12 && b[6] == '\\' && b[7] == 'u' {
			if r2, ok := hex4(b[8:]); ok {
				if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
					return dec, 12
				}
			}
		}
		return utf8.RuneError, 6
	}
	return utf8.RuneError, 2
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
