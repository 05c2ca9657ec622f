package envelope

import (
	"encoding/base64"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Envelope is the message data the edge publishes for each binding of a
// webhook (DESIGN.md, "Inbound contract (edge)"; hookgate.v1.InboundEnvelope
// in proto/hookgate/v1/envelope.proto). Consumers decode it with protojson.
type Envelope struct {
	// ID is the event id, "evt_…", one per request.
	ID string
	// Tenant is the tenant slug from the path.
	Tenant string
	// WebhookID is the webhook id from the path, "wh_…".
	WebhookID string
	// Provider is the provider adapter's enum name without its prefix,
	// e.g. "STRIPE".
	Provider string
	// ProcessID is the binding's process id.
	ProcessID string
	// ThreadID is the binding's thread id ("main" by default).
	ThreadID string
	// Trigger is "START_PROCESS" or "RESUME_PROCESS".
	Trigger string
	// CorrelationKey is the value at the binding's correlation path; nil is
	// written as null.
	CorrelationKey *string
	// ConfigVersion is the configuration revision that routed the request.
	ConfigVersion int64
	// DateTime is when the edge received the request; it is written in UTC
	// as RFC 3339 with as many fractional digits as it needs.
	DateTime time.Time
	// Payload is the JSON from Payload or AppendPayload, embedded verbatim.
	// AppendJSON does not check it; an empty Payload is written as null.
	Payload []byte
	// Verification names the provider scheme that verified the call
	// ("STRIPE"); empty for webhooks without one (GENERIC), whose envelope
	// has no verification field.
	Verification string
	// Headers are the request's headers as they are to be forwarded
	// (ingress headers added, the Hookgate key removed); every value is
	// written, as an array per name, names in byte order.
	Headers http.Header
	// RawBody is the exact body, written in standard base64 as "rawBody"
	// when the webhook opted in; nil leaves the field out.
	RawBody []byte
}

// maxStackHeaders is how many header names AppendJSON sorts without
// allocating; more is rare and costs one allocation.
const maxStackHeaders = 48

// AppendJSON appends e encoded as DESIGN.md's envelope JSON to dst and
// returns the extended buffer:
//
//	{"id":…,"tenant":…,"webhookId":…,"provider":…,"processId":…,
//	 "threadId":…,"trigger":…,"correlationKey":null|"…","configVersion":N,
//	 ["verification":{"provider":…,"verified":true},]
//	 "webhookMessage":{"dateTime":"…","payload":…,"headers":{…},"rawBody":"…"}}
//
// without spaces. Strings are escaped per RFC 8259 with invalid UTF-8
// replaced by U+FFFD, so the output is valid JSON for any field values as
// long as Payload is valid JSON (or empty). It does not allocate when dst has
// room and there are at most 48 header names.
func (e *Envelope) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"id":`...)
	dst = appendString(dst, e.ID)
	dst = append(dst, `,"tenant":`...)
	dst = appendString(dst, e.Tenant)
	dst = append(dst, `,"webhookId":`...)
	dst = appendString(dst, e.WebhookID)
	dst = append(dst, `,"provider":`...)
	dst = appendString(dst, e.Provider)
	dst = append(dst, `,"processId":`...)
	dst = appendString(dst, e.ProcessID)
	dst = append(dst, `,"threadId":`...)
	dst = appendString(dst, e.ThreadID)
	dst = append(dst, `,"trigger":`...)
	dst = appendString(dst, e.Trigger)
	dst = append(dst, `,"correlationKey":`...)
	if e.CorrelationKey == nil {
		dst = append(dst, "null"...)
	} else {
		dst = appendString(dst, *e.CorrelationKey)
	}
	dst = append(dst, `,"configVersion":`...)
	dst = strconv.AppendInt(dst, e.ConfigVersion, 10)
	if e.Verification != "" {
		// Only verified calls are published, so verified is always true.
		dst = append(dst, `,"verification":{"provider":`...)
		dst = appendString(dst, e.Verification)
		dst = append(dst, `,"verified":true}`...)
	}
	// The time layout writes only digits, '-', ':', 'T', '.' and 'Z': no
	// escaping needed.
	dst = append(dst, `,"webhookMessage":{"dateTime":"`...)
	dst = e.DateTime.UTC().AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, `","payload":`...)
	if len(e.Payload) == 0 {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, e.Payload...)
	}
	dst = append(dst, `,"headers":`...)
	dst = appendHeaders(dst, e.Headers)
	if e.RawBody != nil {
		dst = append(dst, `,"rawBody":"`...)
		dst = base64.StdEncoding.AppendEncode(dst, e.RawBody)
		dst = append(dst, '"')
	}
	return append(dst, '}', '}')
}

type headerField struct {
	name   string
	values []string
}

// appendHeaders writes h as an object of string arrays with the names in
// byte order, so that equal requests give equal envelopes.
func appendHeaders(dst []byte, h http.Header) []byte {
	if len(h) > maxStackHeaders {
		fields := make([]headerField, 0, len(h))
		for name, values := range h {
			fields = append(fields, headerField{name, values})
		}
		slices.SortFunc(fields, func(a, b headerField) int { return strings.Compare(a.name, b.name) })
		return appendHeaderFields(dst, fields)
	}
	// The usual dozen headers: sort on the stack by insertion, which beats
	// slices.SortFunc's calls through a closure at this size.
	var stack [maxStackHeaders]headerField
	n := 0
	for name, values := range h {
		j := n
		for ; j > 0 && name < stack[j-1].name; j-- {
			stack[j] = stack[j-1]
		}
		stack[j] = headerField{name, values}
		n++
	}
	return appendHeaderFields(dst, stack[:n])
}

func appendHeaderFields(dst []byte, fields []headerField) []byte {
	dst = append(dst, '{')
	for i, f := range fields {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, f.name)
		dst = append(dst, ':', '[')
		for j, v := range f.values {
			if j > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, v)
		}
		dst = append(dst, ']')
	}
	return append(dst, '}')
}
