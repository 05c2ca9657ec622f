// Package envelope holds the edge's per-request logic for DESIGN.md's
// inbound contract: it parses the inbound path /in/{tenant}/{webhook_id},
// parses and resolves correlation paths against JSON bodies, turns a request
// body into the envelope's payload (JSON verbatim, a form as an object of
// string arrays, anything else as a string) and encodes the envelope that the
// edge publishes to JetStream.
//
// It is pure logic for the hot path: it does no I/O, keeps no state, takes no
// clock and does not panic on any input. Encoding appends to a caller's
// buffer so that the edge can build each envelope in a pooled buffer.
package envelope

import "errors"

// Sentinel errors. The functions of this package wrap them with a message
// that names the problem; callers test for them with errors.Is.
var (
	// ErrInvalidJSON reports a body that is not valid JSON (RFC 8259,
	// including its UTF-8 requirement) although its content type says it is.
	ErrInvalidJSON = errors.New("invalid JSON body")

	// ErrInvalidForm reports an application/x-www-form-urlencoded body with
	// bad percent-encoding.
	ErrInvalidForm = errors.New("invalid form body")

	// ErrBadCorrelationPath reports a correlation path that does not parse.
	ErrBadCorrelationPath = errors.New("bad correlation path")

	// ErrNotResolved reports a correlation path that does not lead to a
	// non-null scalar in the body (DESIGN.md: the request is rejected with
	// 400 and nothing is published).
	ErrNotResolved = errors.New("correlation path not resolved")
)
