package envelope

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxDepth is how deeply arrays and objects may nest in a JSON payload. It
// is far below protojson's recursion limit (10,000 messages, about 5,000
// JSON levels) and leaves room for the envelope's own three levels under
// the common 128-level limit of other JSON decoders (serde_json, for one).
const MaxDepth = 100

// keyRef is one member name of an open object: the FNV-1a hash of the
// decoded name and the raw (still escaped) bytes between its quotes.
type keyRef struct {
	hash       uint64
	start, end int
}

// validator checks that a body is JSON that a protojson consumer of the
// envelope can decode into google.protobuf.Value (DESIGN.md: 400 for JSON a
// consumer cannot take): RFC 8259 syntax in UTF-8, no duplicate member
// names (protojson: "duplicate map key"), numbers within float64's range
// ("invalid google.protobuf.Value"), no unpaired UTF-16 surrogate escapes
// ("invalid escape code"), and at most MaxDepth levels of nesting. It walks
// the body once, without recursion, and allocates only when more than 32
// member names are open at once.
type validator struct {
	b     []byte
	depth int
	// open[d] says whether level d is an object, and where its names
	// start.
	open [MaxDepth]struct {
		object bool
		keys   int
	}
	// The names of open objects: the first 32 in small, then all in
	// spill. (A slice of small kept in the struct would make the
	// validator escape to the heap.)
	small [32]keyRef
	n     int
	spill []keyRef
}

func (v *validator) addName(k keyRef) {
	if v.spill == nil && v.n < len(v.small) {
		v.small[v.n] = k
		v.n++
		return
	}
	if v.spill == nil {
		v.spill = append(make([]keyRef, 0, 2*len(v.small)), v.small[:v.n]...)
	}
	v.spill = append(v.spill, k)
	v.n++
}

// names returns the names from index from on.
func (v *validator) names(from int) []keyRef {
	if v.spill != nil {
		return v.spill[from:v.n]
	}
	return v.small[from:v.n]
}

// dropNames forgets the names from index from on.
func (v *validator) dropNames(from int) {
	v.n = from
	if v.spill != nil {
		v.spill = v.spill[:from]
	}
}

// checkJSON reports, wrapping ErrInvalidJSON, why body is not a payload
// consumers can decode.
func checkJSON(body []byte) error {
	v := validator{b: body}
	return v.run()
}

func (v *validator) errorAt(i int, what string) error {
	if i >= len(v.b) {
		return fmt.Errorf("%w: unexpected end of input looking for %s at offset %d", ErrInvalidJSON, what, i)
	}
	return fmt.Errorf("%w: unexpected %q looking for %s at offset %d", ErrInvalidJSON, v.b[i], what, i)
}

func skipSpaceAt(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

func (v *validator) run() error {
	b := v.b
	i := skipSpaceAt(b, 0)
	var err error
value:
	for {
		if i >= len(b) {
			return v.errorAt(i, "value")
		}
		switch c := b[i]; {
		case c == '{' || c == '[':
			if v.depth == MaxDepth {
				return fmt.Errorf("%w: nesting deeper than %d levels at offset %d", ErrInvalidJSON, MaxDepth, i)
			}
			v.open[v.depth].object, v.open[v.depth].keys = c == '{', v.n
			v.depth++
			i = skipSpaceAt(b, i+1)
			end := byte(']')
			if c == '{' {
				end = '}'
			}
			if i < len(b) && b[i] == end {
				v.depth--
				i++
				break
			}
			if c == '{' {
				if i, err = v.member(i); err != nil {
					return err
				}
			}
			continue value
		case c == '"':
			if i, _, err = v.str(i, false); err != nil {
				return err
			}
		case c == '-' || '0' <= c && c <= '9':
			if i, err = v.number(i); err != nil {
				return err
			}
		case c == 't':
			i, err = v.word(i, "true")
		case c == 'f':
			i, err = v.word(i, "false")
		case c == 'n':
			i, err = v.word(i, "null")
		default:
			return v.errorAt(i, "value")
		}
		if err != nil {
			return err
		}
		// After a value: the end of the input or of containers, or the
		// next element or member.
		for {
			i = skipSpaceAt(b, i)
			if v.depth == 0 {
				if i != len(b) {
					return v.errorAt(i, "end of input")
				}
				return nil
			}
			top := &v.open[v.depth-1]
			switch {
			case i < len(b) && b[i] == ',':
				i = skipSpaceAt(b, i+1)
				if top.object {
					if i, err = v.member(i); err != nil {
						return err
					}
				}
				continue value
			case i < len(b) && top.object && b[i] == '}':
				if err := v.checkNames(top.keys); err != nil {
					return err
				}
				v.dropNames(top.keys)
			case i < len(b) && !top.object && b[i] == ']':
			case top.object:
				return v.errorAt(i, "',' or '}'")
			default:
				return v.errorAt(i, "',' or ']'")
			}
			v.depth--
			i++
		}
	}
}

// member reads a member name and its ':' and returns where the value starts.
func (v *validator) member(i int) (int, error) {
	if i >= len(v.b) || v.b[i] != '"' {
		return i, v.errorAt(i, "object key")
	}
	end, h, err := v.str(i, true)
	if err != nil {
		return end, err
	}
	v.addName(keyRef{hash: h, start: i + 1, end: end - 1})
	end = skipSpaceAt(v.b, end)
	if end >= len(v.b) || v.b[end] != ':' {
		return end, v.errorAt(end, "':'")
	}
	return skipSpaceAt(v.b, end+1), nil
}

// checkNames reports a member name that occurs twice among names(from),
// the names of the object that just closed.
func (v *validator) checkNames(from int) error {
	names := v.names(from)
	if len(names) < 2 {
		return nil
	}
	if len(names) > 16 {
		// The object's names are dropped after this check, so they may be
		// reordered.
		slices.SortFunc(names, func(a, b keyRef) int {
			switch {
			case a.hash < b.hash:
				return -1
			case a.hash > b.hash:
				return 1
			}
			return a.start - b.start
		})
		for k := 1; k < len(names); k++ {
			for j := k - 1; j >= 0 && names[j].hash == names[k].hash; j-- {
				if v.sameName(names[j], names[k]) {
					return v.duplicate(names[j], names[k])
				}
			}
		}
		return nil
	}
	for k := 1; k < len(names); k++ {
		for j := 0; j < k; j++ {
			if names[j].hash == names[k].hash && v.sameName(names[j], names[k]) {
				return v.duplicate(names[j], names[k])
			}
		}
	}
	return nil
}

func (v *validator) duplicate(a, b keyRef) error {
	return fmt.Errorf("%w: duplicate key at offset %d", ErrInvalidJSON, max(a.start, b.start)-1)
}

// sameName compares two names as decoded, so "a" and "\u0061" are the same.
func (v *validator) sameName(a, b keyRef) bool {
	x, y := v.b[a.start:a.end], v.b[b.start:b.end]
	if bytes.Equal(x, y) {
		return true
	}
	for len(x) > 0 && len(y) > 0 {
		r1, n1 := nextRune(x)
		r2, n2 := nextRune(y)
		if r1 != r2 {
			return false
		}
		x, y = x[n1:], y[n2:]
	}
	return len(x) == 0 && len(y) == 0
}

// FNV-1a, 64 bits.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// str moves past the string that starts at i ('"'), checking its escapes
// and UTF-8. With hash it also returns the FNV-1a hash of the decoded text.
func (v *validator) str(i int, hash bool) (int, uint64, error) {
	b := v.b
	h := uint64(fnvOffset)
	for i++; ; {
		if hash {
			// Member names are short and every byte is hashed.
			start := i
			for i < len(b) && plainASCII[b[i]] {
				i++
			}
			for _, c := range b[start:i] {
				h = (h ^ uint64(c)) * fnvPrime
			}
		} else {
			i = skipPlain(b, i)
		}
		if i >= len(b) {
			return i, 0, v.errorAt(i, "end of string")
		}
		c := b[i]
		switch {
		case c == '"':
			return i + 1, h, nil
		case c == '\\':
			r, n, ok := escape(b[i:])
			if !ok {
				return i, 0, fmt.Errorf("%w: invalid escape at offset %d", ErrInvalidJSON, i)
			}
			if hash {
				var buf [utf8.UTFMax]byte
				for _, c := range buf[:utf8.EncodeRune(buf[:], r)] {
					h = (h ^ uint64(c)) * fnvPrime
				}
			}
			i += n
		case c < 0x20:
			return i, 0, fmt.Errorf("%w: control character in string at offset %d", ErrInvalidJSON, i)
		default:
			r, n := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && n == 1 {
				return i, 0, fmt.Errorf("%w: invalid UTF-8 at offset %d", ErrInvalidJSON, i)
			}
			if hash {
				for _, c := range b[i : i+n] {
					h = (h ^ uint64(c)) * fnvPrime
				}
			}
			i += n
		}
	}
}

// escape decodes the escape at the start of b ('\\'). A \u escape of a
// UTF-16 surrogate must be the high half followed by an escaped low half:
// protojson refuses anything else.
func escape(b []byte) (rune, int, bool) {
	if len(b) < 2 {
		return 0, 0, false
	}
	switch b[1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		r, _ := nextRune(b)
		return r, 2, true
	case 'u':
		r, ok := hex4(b[2:])
		if !ok {
			return 0, 0, false
		}
		if !utf16.IsSurrogate(r) {
			return r, 6, true
		}
		if r >= 0xdc00 || len(b) < 12 || b[6] != '\\' || b[7] != 'u' {
			return 0, 0, false
		}
		r2, ok := hex4(b[8:])
		if !ok || r2 < 0xdc00 || r2 > 0xdfff {
			return 0, 0, false
		}
		return utf16.DecodeRune(r, r2), 12, true
	}
	return 0, 0, false
}

func (v *validator) word(i int, w string) (int, error) {
	if len(v.b)-i < len(w) || string(v.b[i:i+len(w)]) != w {
		return i, v.errorAt(i, w)
	}
	return i + len(w), nil
}

// number moves past the number at i, checking its grammar (RFC 8259,
// section 6) and that it is within float64's range, as protojson's
// google.protobuf.Value requires. Only a number with a three-digit exponent
// or 300 integer digits can be out of range; only those are parsed.
func (v *validator) number(i int) (int, error) {
	b := v.b
	start := i
	if b[i] == '-' {
		i++
	}
	intStart := i
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		i = skipDigits(b, i)
	default:
		return i, v.errorAt(i, "digit")
	}
	long := i-intStart >= 300
	if i < len(b) && b[i] == '.' {
		j := skipDigits(b, i+1)
		if j == i+1 {
			return j, v.errorAt(j, "digit")
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
			return j, v.errorAt(j, "digit")
		}
		long = long || j-i >= 3
		i = j
	}
	if long {
		// Underflow (1e-400) reads as 0, which protojson accepts too.
		if f, _ := strconv.ParseFloat(string(b[start:i]), 64); math.IsInf(f, 0) {
			return i, fmt.Errorf("%w: number out of range at offset %d", ErrInvalidJSON, start)
		}
	}
	return i, nil
}
