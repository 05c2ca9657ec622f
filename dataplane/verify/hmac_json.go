package verify

import "net/textproto"

// Top-level JSON fields are read with jsonMember (body_json.go), one scan
// without decoding: delivery ids (Stripe's id, Slack's event_id) and
// Linear's webhookTimestamp. Only members of the outermost object count;
// nested values are skipped, and a member whose name has escapes never
// matches. Nothing is allocated until the value is found.

// hmacBodyNumber is a top-level field's digits: a number, or a string of
// digits; "" when absent. The caller checks the digits.
func hmacBodyNumber(body []byte, name string) string {
	v, ok := jsonMember(body, name)
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
	v, ok := jsonMember(body, name)
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
