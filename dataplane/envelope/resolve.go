package envelope

import "fmt"

// Resolve returns the scalar that p leads to in the JSON document body, as
// a string: a string value decoded (escapes resolved, invalid UTF-8 replaced
// with U+FFFD as encoding/json does), a number in its exact text as it
// appears in the body ("12345678901234567890" and "1.50" stay as they are),
// and a boolean as "true" or "false". An empty string resolves to "".
//
// When an object holds the same key more than once, the last occurrence
// counts, as with encoding/json. A null, a missing field, an index past the
// end of an array, a step into a value of the wrong kind, or an object or
// array at the end of the path is an error wrapping ErrNotResolved that
// names the segment that failed, such as
//
//	correlation path entry[0].id: entry[0] is missing
//
// Resolve expects body to be valid JSON (Payload checks it). It reads only as
// much of the body as it needs, does not recurse and does not panic on any
// input; on malformed JSON it returns an error wrapping both ErrNotResolved
// and ErrInvalidJSON, or, when the malformed part lies outside what it read,
// a value. For a form body, resolve against the output of Payload (a form
// field is an array of strings: "field[0]").
func (p CorrelationPath) Resolve(body []byte) (value string, err error) {
	if len(p.segs) == 0 {
		return "", &pathError{msg: "correlation path is empty", is: []error{ErrBadCorrelationPath, ErrNotResolved}}
	}
	s := scanner{b: body}
	for k, seg := range p.segs {
		s.skipSpace()
		var found bool
		if seg.name != "" {
			if s.peek() != '{' {
				return "", p.wrongKind(&s, k, "an object")
			}
			found, err = s.field(seg.name)
		} else {
			if s.peek() != '[' {
				return "", p.wrongKind(&s, k, "an array")
			}
			found, err = s.element(seg.index)
		}
		if err != nil {
			return "", p.invalid(err)
		}
		if !found {
			return "", p.notResolved(k, "is missing")
		}
	}
	s.skipSpace()
	switch kind := s.kind(); kind {
	case "a string":
		v, err := s.stringValue()
		if err != nil {
			return "", p.invalid(err)
		}
		return v, nil
	case "a number", "a boolean":
		v, err := s.literal(kind)
		if err != nil {
			return "", p.invalid(err)
		}
		return v, nil
	case "null":
		if _, err := s.literal(kind); err != nil {
			return "", p.invalid(err)
		}
		return "", p.notResolved(len(p.segs)-1, "is null")
	case "invalid":
		return "", p.invalid(s.syntaxError("value"))
	default:
		return "", p.notResolved(len(p.segs)-1, "is "+kind+", not a scalar")
	}
}

// name returns the text of the path up to and including segment k, or
// "body" for k < 0.
func (p CorrelationPath) name(k int) string {
	if k < 0 {
		return "body"
	}
	return p.path[:p.segs[k].end]
}

func (p CorrelationPath) notResolved(k int, what string) error {
	return &pathError{
		msg: fmt.Sprintf("correlation path %s: %s %s", p.path, p.name(k), what),
		is:  []error{ErrNotResolved},
	}
}

// wrongKind reports that the value before segment k is not of the kind the
// segment steps into.
func (p CorrelationPath) wrongKind(s *scanner, k int, want string) error {
	kind := s.kind()
	if kind == "invalid" {
		return p.invalid(s.syntaxError("value"))
	}
	return p.notResolved(k-1, "is "+kind+", not "+want)
}

func (p CorrelationPath) invalid(err error) error {
	return &pathError{
		msg: fmt.Sprintf("correlation path %s: %v", p.path, err),
		is:  []error{ErrNotResolved, ErrInvalidJSON},
	}
}
