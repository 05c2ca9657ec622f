package ingress

import "net/http"

// reason is why the edge answered as it did: the one table of DESIGN.md's
// status codes. Handlers return a reason; one writer answers.
type reason int

const (
	reasonAccepted reason = iota
	reasonNoConfig
	reasonMisdirected
	reasonNotFound
	reasonNoRoute
	reasonGone
	reasonMethod
	reasonBadKey
	reasonBadSignature
	reasonHandshake
	reasonHandshakeRefused
	reasonRateLimited
	reasonTooLarge
	reasonBadLength
	reasonInvalidJSON
	reasonInvalidForm
	reasonUncorrelated
	reasonCorrelationTooLong
	reasonEnvelopeTooLarge
	reasonHeadersTooLarge
	reasonOverBudget
	reasonPublishFailed
	numReasons
)

// reasonInfo is one row of the table: the status code, the text the caller
// sees, the metric label, and whether a failed trigger is recorded (only
// for calls rejected after routing, DESIGN.md, and not for the edge's own
// trouble, which the sender's retry resolves).
type reasonInfo struct {
	status int
	text   string
	label  string
	record bool
}

var reasons = [numReasons]reasonInfo{
	reasonAccepted:           {http.StatusOK, "", "accepted", false},
	reasonNoConfig:           {http.StatusServiceUnavailable, "edge has no configuration yet", "no_config", false},
	reasonMisdirected:        {http.StatusMisdirectedRequest, misdirectedText, "misdirected", false},
	reasonNotFound:           {http.StatusNotFound, "no such webhook", "not_found", false},
	reasonNoRoute:            {http.StatusNotFound, "not found", "no_route", false},
	reasonGone:               {http.StatusGone, "webhook is deactivated", "deactivated", false},
	reasonMethod:             {http.StatusMethodNotAllowed, "method not allowed", "method_not_allowed", false},
	reasonBadKey:             {http.StatusUnauthorized, "missing or invalid API key", "bad_key", true},
	reasonBadSignature:       {http.StatusUnauthorized, "missing or invalid signature", "bad_signature", true},
	reasonHandshake:          {http.StatusOK, "", "handshake", false},
	reasonHandshakeRefused:   {http.StatusForbidden, "handshake refused", "handshake_refused", true},
	reasonRateLimited:        {http.StatusTooManyRequests, "rate limit exceeded", "rate_limited", true},
	reasonTooLarge:           {http.StatusRequestEntityTooLarge, "body exceeds the webhook's limit", "too_large", true},
	reasonBadLength:          {http.StatusBadRequest, "body could not be read", "bad_body", true},
	reasonInvalidJSON:        {http.StatusBadRequest, "invalid JSON body", "invalid_json", true},
	reasonInvalidForm:        {http.StatusBadRequest, "invalid form body", "invalid_form", true},
	reasonUncorrelated:       {http.StatusBadRequest, "correlation path does not resolve", "uncorrelated", true},
	reasonCorrelationTooLong: {http.StatusBadRequest, "correlation key exceeds 1024 bytes", "correlation_too_long", true},
	reasonEnvelopeTooLarge:   {http.StatusRequestEntityTooLarge, "event is larger than the event bus accepts", "envelope_too_large", true},
	reasonHeadersTooLarge:    {http.StatusBadRequest, "event headers are larger than the event bus accepts", "headers_too_large", true},
	reasonOverBudget:         {http.StatusServiceUnavailable, "edge is at its in-flight limit; retry", "over_budget", false},
	reasonPublishFailed:      {http.StatusServiceUnavailable, "event could not be stored; retry", "publish_failed", false},
}
