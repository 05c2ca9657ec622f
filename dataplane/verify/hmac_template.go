package verify

import (
	"net/textproto"
	"strings"
)

// partKind is what one piece of a compiled template writes.
type partKind uint8

const (
	partLiteral partKind = iota
	partBody
	partTimestamp
	partID
	partURL
	partMethod
	partHeader
)

// part is one piece of a compiled template: literal text, or a
// placeholder (text is the canonical header name of {header:Name}).
type part struct {
	kind partKind
	text string
}

// Template limits: signed-content templates are short.
const (
	hmacMaxTemplateLen   = 1024
	hmacMaxTemplateParts = 32
)

// compileTemplate turns a template into the parts before and after its
// one {body}. A '{' opens a placeholder that '}' closes; a lone '}' is
// literal. {timestamp} needs a timestamp source (haveTS), {id} an id header
// (haveID). Errors start with "template".
func compileTemplate(t string, haveTS, haveID bool) (head, tail []part, err error) {
	if len(t) > hmacMaxTemplateLen {
		return nil, nil, configErr("template", "at most %d bytes", hmacMaxTemplateLen)
	}
	var parts []part
	bodies, at := 0, 0
	rest := t
	for rest != "" {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			parts = append(parts, part{kind: partLiteral, text: rest})
			break
		}
		if i > 0 {
			parts = append(parts, part{kind: partLiteral, text: rest[:i]})
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return nil, nil, configErr("template", "unclosed '{'")
		}
		p, err := placeholder(rest[i+1:i+j], haveTS, haveID)
		if err != nil {
			return nil, nil, err
		}
		if p.kind == partBody {
			bodies, at = bodies+1, len(parts)
		}
		parts = append(parts, p)
		rest = rest[i+j+1:]
	}
	if bodies != 1 {
		return nil, nil, configErr("template", "must contain {body} exactly once")
	}
	if len(parts) > hmacMaxTemplateParts {
		return nil, nil, configErr("template", "at most %d parts", hmacMaxTemplateParts)
	}
	return parts[:at:at], parts[at+1:], nil
}

// placeholder compiles the name between braces.
func placeholder(name string, haveTS, haveID bool) (part, error) {
	switch name {
	case "body":
		return part{kind: partBody}, nil
	case "timestamp":
		if !haveTS {
			return part{}, configErr("template", "{timestamp} needs timestamp_header")
		}
		return part{kind: partTimestamp}, nil
	case "id":
		if !haveID {
			return part{}, configErr("template", "{id} needs id_header")
		}
		return part{kind: partID}, nil
	case "url":
		return part{kind: partURL}, nil
	case "method":
		return part{kind: partMethod}, nil
	}
	if h, ok := strings.CutPrefix(name, "header:"); ok {
		if !hmacHeaderName(h) {
			return part{}, configErr("template", "{header:%s}: not an HTTP header name", h)
		}
		return part{kind: partHeader, text: textproto.CanonicalMIMEHeaderKey(h)}, nil
	}
	return part{}, configErr("template", "unknown placeholder {%s}: use {body}, {timestamp}, {id}, {url}, {method} or {header:Name}", name)
}

// render appends the parts' bytes for r; ts is the timestamp as received.
func (s *HMACScheme) render(buf []byte, parts []part, r *Request, ts string) []byte {
	for _, p := range parts {
		switch p.kind {
		case partLiteral:
			buf = append(buf, p.text...)
		case partTimestamp:
			buf = append(buf, ts...)
		case partID:
			buf = append(buf, hmacFirst(r.Header[s.idHeader])...)
		case partURL:
			buf = append(buf, r.URL...)
		case partMethod:
			buf = append(buf, r.Method...)
		case partHeader:
			buf = append(buf, hmacFirst(r.Header[p.text])...)
		}
	}
	return buf
}

// hasPart reports whether any part is of kind k.
func hasPart(head, tail []part, k partKind) bool {
	for _, ps := range [][]part{head, tail} {
		for _, p := range ps {
			if p.kind == k {
				return true
			}
		}
	}
	return false
}

// hmacFirst is a header's first value, "" when absent.
func hmacFirst(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}
