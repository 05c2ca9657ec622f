package dispatch

import (
	"bytes"
	"encoding/json"
	"strings"
)

// decodeOutbound decodes an outbound message body as
// json.Unmarshal(data, &OutboundMessage{}) would (one JSON value; field
// names matched case-insensitively, the last of a repeated one winning;
// a null leaves a field as it was; a field of the wrong type is an error),
// in one validating pass instead of two: the body is mostly the payload,
// which encoding/json scans once to validate and again to find its end.
// After json.Valid the structure is known good, so the top-level object
// is walked by a scanner that only tracks strings and nesting. Payload is
// a sub-slice of data.
func decodeOutbound(data []byte) (OutboundMessage, bool) {
	var om OutboundMessage
	if !json.Valid(data) {
		return om, false
	}
	i := skipSpace(data, 0)
	if data[i] == 'n' { // null: nothing set
		return om, true
	}
	if data[i] != '{' {
		return om, false
	}
	i = skipSpace(data, i+1)
	for data[i] != '}' {
		end := skipString(data, i)
		key := data[i+1 : end-1]
		i = skipSpace(data, end)
		i = skipSpace(data, i+1) // the colon
		vend := skipValue(data, i)
		value := data[i:vend]
		var err error
		switch name := keyName(key); {
		case bytes.EqualFold(name, []byte("id")):
			err = json.Unmarshal(value, &om.ID)
		case bytes.EqualFold(name, []byte("eventType")):
			err = json.Unmarshal(value, &om.EventType)
		case bytes.EqualFold(name, []byte("payload")):
			om.Payload = value
		case bytes.EqualFold(name, []byte("timestamp")):
			err = json.Unmarshal(value, &om.Timestamp)
		}
		if err != nil {
			return om, false
		}
		i = skipSpace(data, vend)
		if data[i] == ',' {
			i = skipSpace(data, i+1)
		}
	}
	return om, true
}

// keyName is a valid JSON string's content, unescaped.
func keyName(raw []byte) []byte {
	if bytes.IndexByte(raw, '\\') < 0 {
		return raw
	}
	var s string
	_ = json.Unmarshal(append(append([]byte{'"'}, raw...), '"'), &s)
	return []byte(s)
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the valid string starting at i.
func skipString(data []byte, i int) int {
	for i++; ; i++ {
		switch data[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
}

// skipValue returns the index after the valid value starting at i.
func skipValue(data []byte, i int) int {
	depth := 0
	for {
		switch data[i] {
		case '"':
			i = skipString(data, i)
		case '{', '[':
			depth++
			i++
		case '}', ']':
			depth--
			i++
		default:
			if depth == 0 {
				// A number or literal ends at a delimiter.
				for i < len(data) && !strings.ContainsRune(",}] \t\n\r", rune(data[i])) {
					i++
				}
				return i
			}
			i++
		}
		if depth == 0 {
			return i
		}
	}
}
