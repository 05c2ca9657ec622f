package verify

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// jsonMember returns the raw text of the member name of the top-level JSON
// object doc (the first one when names repeat), without decoding or
// allocating; ok is false when doc is not an object, lacks the member or is
// malformed before it. Names are compared after decoding their escapes
// only in the common case that they have none; a name written with escapes
// does not match. It never recurses, so nesting costs no stack.
func jsonMember(doc []byte, name string) (raw []byte, ok bool) {
	i := jsonSpace(doc, 0)
	if i >= len(doc) || doc[i] != '{' {
		return nil, false
	}
	i++
	for {
		i = jsonSpace(doc, i)
		if i < len(doc) && doc[i] == '}' {
			return nil, false
		}
		if i >= len(doc) || doc[i] != '"' {
			return nil, false
		}
		end := jsonStringEnd(doc, i)
		if end < 0 {
			return nil, false
		}
		key := doc[i+1 : end-1]
		i = jsonSpace(doc, end)
		if i >= len(doc) || doc[i] != ':' {
			return nil, false
		}
		i = jsonSpace(doc, i+1)
		vend := jsonValueEnd(doc, i)
		if vend < 0 {
			return nil, false
		}
		if string(key) == name {
			return doc[i:vend], true
		}
		i = jsonSpace(doc, vend)
		if i >= len(doc) {
			return nil, false
		}
		switch doc[i] {
		case ',':
			i++
		case '}':
			return nil, false
		default:
			return nil, false
		}
	}
}

// jsonStringValue decodes raw when it is a JSON string; ok is false
// otherwise. A string without escapes costs one allocation (the result).
func jsonStringValue(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	inner := raw[1 : len(raw)-1]
	plain := utf8.Valid(inner)
	for _, c := range inner {
		if c == '\\' || c < 0x20 || c == '"' {
			plain = false
			break
		}
	}
	if plain {
		return string(inner), true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

func jsonSpace(doc []byte, i int) int {
	for i < len(doc) {
		switch doc[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// jsonStringEnd returns the index after the closing quote of the string
// starting at doc[i] == '"', or -1.
func jsonStringEnd(doc []byte, i int) int {
	// IndexByte runs in assembly: long strings (a payload's data) are
	// skipped many bytes at a time. A quote ends the string unless a
	// backslash before it escapes something first.
	for j := i + 1; j < len(doc); {
		q := bytes.IndexByte(doc[j:], '"')
		if q < 0 {
			return -1
		}
		if b := bytes.IndexByte(doc[j:j+q], '\\'); b >= 0 {
			j += b + 2 // the backslash and the byte it escapes
			continue
		}
		return j + q + 1
	}
	return -1
}

// jsonValueEnd returns the index after the value starting at doc[i], or
// -1. Objects and arrays are skipped by counting brackets outside strings;
// their inside is not validated (the edge validates bodies later).
func jsonValueEnd(doc []byte, i int) int {
	if i >= len(doc) {
		return -1
	}
	switch doc[i] {
	case '"':
		return jsonStringEnd(doc, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(doc); j++ {
			switch doc[j] {
			case '"':
				end := jsonStringEnd(doc, j)
				if end < 0 {
					return -1
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	default:
		j := i
		for j < len(doc) {
			c := doc[j]
			if c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\n' || c == '\r' {
				break
			}
			j++
		}
		if j == i {
			return -1
		}
		return j
	}
}
