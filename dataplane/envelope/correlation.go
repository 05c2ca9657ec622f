package envelope

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits of a correlation path.
const (
	maxPathLen     = 512
	maxSegments    = 64
	maxIndexDigits = 9
)

// CorrelationPath is a parsed correlation path (DESIGN.md, "Inbound contract
// (edge)"): field names separated by dots, with array indices in brackets,
// such as entry[0].changes[0].value.messages[0].text.body. A path may start
// with an index ([0].id) for bodies that are JSON arrays. A field name is
// any non-empty run of characters other than '.', '[', ']' and control
// characters; there is no escape, so keys containing those characters cannot
// be addressed. The zero value is an empty path that resolves nothing.
//
// A CorrelationPath is immutable and safe for concurrent use; parse it once
// per configuration and resolve it per request.
type CorrelationPath struct {
	path string
	segs []segment
}

// segment is one step of a path: a field name, or an array index when name
// is empty (field names are never empty).
type segment struct {
	name  string
	index int
	end   int // offset in path just past this segment, to name it in errors
}

// pathError is an error with a complete message of its own that still
// matches the package's sentinels through errors.Is.
type pathError struct {
	msg string
	is  []error
}

func (e *pathError) Error() string   { return e.msg }
func (e *pathError) Unwrap() []error { return e.is }

func badPath(path string, off int, format string, args ...any) error {
	return &pathError{
		msg: fmt.Sprintf("correlation path %q: %s at offset %d", path, fmt.Sprintf(format, args...), off),
		is:  []error{ErrBadCorrelationPath},
	}
}

// ParseCorrelationPath parses s. It refuses an empty path, a path longer
// than 512 bytes or of more than 64 segments (each field name and each index
// is a segment), invalid UTF-8, empty field names ("a..b", "a.", ".a"),
// unbalanced brackets, and indices that are not decimal numbers of at most 9
// digits without leading zeros. Errors wrap ErrBadCorrelationPath and name
// the problem and its byte offset.
func ParseCorrelationPath(s string) (CorrelationPath, error) {
	switch {
	case s == "":
		return CorrelationPath{}, &pathError{msg: "correlation path is empty", is: []error{ErrBadCorrelationPath}}
	case len(s) > maxPathLen:
		return CorrelationPath{}, &pathError{
			msg: fmt.Sprintf("correlation path of %d bytes: longer than %d bytes", len(s), maxPathLen),
			is:  []error{ErrBadCorrelationPath},
		}
	}
	// One segment per name or index; count them to allocate once.
	n := 1 + strings.Count(s, ".") + strings.Count(s, "[")
	segs := make([]segment, 0, min(n, maxSegments))
	needName := false // just after a '.'
	for i := 0; i < len(s); {
		if len(segs) == maxSegments {
			return CorrelationPath{}, badPath(s, i, "more than %d segments", maxSegments)
		}
		var seg segment
		var err error
		if s[i] == '[' && !needName {
			seg, err = parseIndex(s, i)
		} else {
			seg, err = parseName(s, i)
		}
		if err != nil {
			return CorrelationPath{}, err
		}
		segs = append(segs, seg)
		i = seg.end
		needName = false
		if i == len(s) {
			break
		}
		switch s[i] {
		case '.':
			i++
			needName = true
			if i == len(s) {
				return CorrelationPath{}, badPath(s, i, "empty field name")
			}
		case '[':
		default:
			// Only an index can stop before another character (a name runs
			// up to '.', '[', ']' or the end, and ']' is refused there).
			return CorrelationPath{}, badPath(s, i, "want '.' or '[' after index, found %q", s[i])
		}
	}
	return CorrelationPath{path: s, segs: segs}, nil
}

// parseName reads a field name starting at s[i].
func parseName(s string, i int) (segment, error) {
	j := i
	for j < len(s) {
		c := s[j]
		if c == '.' || c == '[' {
			break
		}
		if c == ']' {
			return segment{}, badPath(s, j, "unexpected ']'")
		}
		if c < 0x20 || c == 0x7f {
			return segment{}, badPath(s, j, "control character in field name")
		}
		if c < utf8.RuneSelf {
			j++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[j:])
		if r == utf8.RuneError && size == 1 {
			return segment{}, badPath(s, j, "invalid UTF-8")
		}
		j += size
	}
	if j == i {
		return segment{}, badPath(s, i, "empty field name")
	}
	return segment{name: s[i:j], index: -1, end: j}, nil
}

// parseIndex reads "[N]" starting at s[i] == '['.
func parseIndex(s string, i int) (segment, error) {
	j := i + 1
	for j < len(s) && s[j] != ']' {
		if c := s[j]; c < '0' || c > '9' {
			return segment{}, badPath(s, j, "invalid character %q in index", c)
		}
		j++
	}
	digits := s[i+1 : j]
	switch {
	case j == len(s):
		return segment{}, badPath(s, i, "unterminated index")
	case digits == "":
		return segment{}, badPath(s, i, "empty index")
	case len(digits) > maxIndexDigits:
		return segment{}, badPath(s, i+1, "index longer than %d digits", maxIndexDigits)
	case len(digits) > 1 && digits[0] == '0':
		return segment{}, badPath(s, i+1, "index with a leading zero")
	}
	index, err := strconv.Atoi(digits)
	if err != nil { // unreachable: at most 9 decimal digits
		return segment{}, badPath(s, i+1, "bad index")
	}
	return segment{index: index, end: j + 1}, nil
}

// String returns the path in the form ParseCorrelationPath accepts; for a
// parsed path it is the text that was parsed.
func (p CorrelationPath) String() string {
	var b strings.Builder
	b.Grow(len(p.path))
	for k, seg := range p.segs {
		if seg.name == "" {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(seg.index))
			b.WriteByte(']')
			continue
		}
		if k > 0 {
			b.WriteByte('.')
		}
		b.WriteString(seg.name)
	}
	return b.String()
}

// IsZero reports whether p is the zero value, the empty path.
func (p CorrelationPath) IsZero() bool { return len(p.segs) == 0 }
