package verify

import "net/textproto"

// Top-level JSON fields are read by one scan without decoding: delivery
// ids (Stripe's id, Slack's event_id) and Linear's webhookTimestamp. Only
// members of the outermost object count; nested values are skipped, and a
// member whose name has escapes never matches. Nothing is allocated until
// the value is found.

// hmacTopField returns the raw text of the top-level member name of a JSON
// object; false when absent or when body is not an object.
func hmacTopField(body []byte, name string) ([]byte, bool) {
	i := hmacJSONSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return nil, false
	}
	i++
	for {
		i = hmacJSONSpace(body, i)
		if i >= len(body) || body[i] != '"' {
			return nil, false
		}
		end, esc := hmacJSONString(body, i)
		if end < 0 {
			return nil, false
		}
		key := body[i+1 : end-1]
		i = hmacJSONSpace(body, end)
		if i >= len(body) || body[i] != ':' {
			return nil, false
		}
		i = hmacJSONSpace(body, i+1)
		vs := i
		if i = hmacJSONValue(body, i); i < 0 {
			return nil, false
		}
		if !esc && string(key) == name {
			return body[vs:i], true
		}
		i = hmacJSONSpace(body, i)
		if i >= len(body) || body[i] != ',' {
			return nil, false
		}
		i++
	}
}

// hmacJSONSpace skips JSON white space from i.
func hmacJSONSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// hmacJSONString returns the index after the string starting at b[i] == '"'
// and whether it holds escapes; -1 when unterminated.
func hmacJSONString(b []byte, i int) (int, bool) {
	esc := false
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			esc = true
			i++
		case '"':
			return i + 1, esc
		}
	}
	return -1, esc
}

// hmacJSONValue returns the index after the value at b[i]; -1 when it does not
// end. Objects and arrays are skipped by counting brackets outside
// strings, without recursion.
func hmacJSONValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		end, _ := hmacJSONString(b, i)
		return end
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				end, _ := hmacJSONString(b, i)
				if end < 0 {
					return -1
				}
				i = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return -1
	}
	start := i
	for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && b[i] != ' ' && b[i] != '\t' && b[i] != '\n' && b[i] != '\r' {
		i++
	}
	if i == start {
		return -1
	}
	return i
}

// hmacBodyNumber is a top-level field's digits: a number, or a string of
// digits; "" when absent. The caller checks the digits.
func hmacBodyNumber(body []byte, name string) string {
	v, ok := hmacTopField(body, name)
	if !ok {
		return ""
	}
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = v[1 : len(v)-1]
	}
	return string(v)
}

// hmacMaxDeliveryID bounds a delivery id (the edge ignores longer ones).
const hmacMaxDeliveryID = 200

// hmacBodyString is a top-level string field without escapes, at most
// hmacMaxDeliveryID bytes; "" otherwise.
func hmacBodyString(body []byte, name string) string {
	v, ok := hmacTopField(body, name)
	if !ok || len(v) < 3 || len(v) > hmacMaxDeliveryID+2 || v[0] != '"' {
		return ""
	}
	for _, c := range v[1 : len(v)-1] {
		if c == '\\' || c < ' ' {
			return ""
		}
	}
	return string(v[1 : len(v)-1])
}

// hmacDeliveryIDs says where a provider puts its delivery id: headers tried in
// order (canonical names), then a top-level string field of the body.
type hmacDeliveryIDs struct {
	headers []string
	field   string
}

func newHMACDeliveryIDs(field string, headers ...string) hmacDeliveryIDs {
	d := hmacDeliveryIDs{field: field}
	for _, h := range headers {
		d.headers = append(d.headers, textproto.CanonicalMIMEHeaderKey(h))
	}
	return d
}

// of returns r's delivery id, "" when none.
func (d hmacDeliveryIDs) of(r *Request) string {
	for _, h := range d.headers {
		if v := hmacFirst(r.Header[h]); v != "" && len(v) <= hmacMaxDeliveryID {
			return v
		}
	}
	if d.field != "" {
		return hmacBodyString(r.Body, d.field)
	}
	return ""
}
