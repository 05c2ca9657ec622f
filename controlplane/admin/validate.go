package admin

import (
	"encoding/base64"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/hookgate/hookgate/controlplane/store"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
)

// Limits of the inbound API (docs/design.md lists them).
const (
	defaultPageSize = 50
	maxPageSize     = 500
	maxDescription  = 1024
	maxBindings     = 16
	DefaultMaxBody  = 1 << 20
	maxBodyLimit    = 4 << 20
	minBodyLimit    = 1 << 10
	maxRate         = 100_000
	minRate         = 0.01
	// DefaultMaxPayload is the NATS max_payload assumed when the wiring
	// does not pass the server's (the embedded server's setting).
	DefaultMaxPayload = 8 << 20
	// envelopeOverhead bounds what an envelope carries besides the body:
	// headers (NATS allows 64 KiB) and the envelope's own fields.
	envelopeOverhead       = 64 << 10
	maxSecretLen           = 4096
	maxCorrelationPath     = 512
	maxCorrelationSegments = 64
)

var (
	tenantSlug = regexp.MustCompile(`^[a-z0-9-]{3,50}$`)
	// processID is one NATS subject token (hookgate.in.{tenant}.{process_id}.start).
	processID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)
	threadID  = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,128}$`)
	// correlationPath is the grammar the edge parses: dotted field names
	// (no '.', '[' or ']') each followed by any number of [N] indices.
	// cmd/hookgate/contract checks it against the edge's parser.
	correlationPath = regexp.MustCompile(`^([^.\[\]\x00-\x1f\x7f]+|\[(0|[1-9][0-9]{0,8})\])(\[(0|[1-9][0-9]{0,8})\])*(\.[^.\[\]\x00-\x1f\x7f]+(\[(0|[1-9][0-9]{0,8})\])*)*$`)
	webhookID       = regexp.MustCompile(`^wh_[0-9a-z]{1,64}$`)
)

// ValidCorrelationPath reports whether s is a correlation path the edge
// can parse.
func ValidCorrelationPath(s string) bool {
	if len(s) > maxCorrelationPath || !utf8.ValidString(s) || !correlationPath.MatchString(s) {
		return false
	}
	segments := strings.Count(s, "[") + strings.Count(s, ".")
	if s[0] != '[' {
		segments++
	}
	return segments <= maxCorrelationSegments
}

func validateTenantSlug(field, s string) error {
	if !tenantSlug.MatchString(s) {
		return invalid(field, "%q is not a tenant slug: 3–50 characters of a-z, 0-9 and '-'", s)
	}
	return nil
}

func validateWebhookID(s string) error {
	if !webhookID.MatchString(s) {
		return invalid("webhook_id", "%q is not a webhook id (wh_…)", s)
	}
	return nil
}

// validateName allows 3–50 letters, digits, spaces and [ ] ( ) . _ -.
func validateName(name string) error {
	if !utf8.ValidString(name) {
		return invalid("webhook.name", "must be UTF-8")
	}
	n := utf8.RuneCountInString(name)
	if n < 3 || n > 50 {
		return invalid("webhook.name", "must be 3–50 characters, got %d", n)
	}
	if strings.TrimSpace(name) != name {
		return invalid("webhook.name", "must not start or end with a space")
	}
	for _, r := range name {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune(" []()._-", r) {
			continue
		}
		return invalid("webhook.name", "character %q is not allowed: use letters, digits, spaces and [ ] ( ) . _ -", r)
	}
	return nil
}

func validateDescription(field, s string) error {
	if !utf8.ValidString(s) {
		return invalid(field, "must be UTF-8")
	}
	if n := utf8.RuneCountInString(s); n > maxDescription {
		return invalid(field, "is %d characters, at most %d allowed", n, maxDescription)
	}
	return nil
}

// normalizeBindings checks bindings and fills defaults (thread "main").
func normalizeBindings(bs []*hookgatev1.Binding) error {
	if len(bs) == 0 {
		return invalid("webhook.bindings", "at least one binding is required")
	}
	if len(bs) > maxBindings {
		return invalid("webhook.bindings", "at most %d bindings, got %d", maxBindings, len(bs))
	}
	seen := map[string]bool{}
	for i, b := range bs {
		field := func(name string) string { return "webhook.bindings[" + strconv.Itoa(i) + "]." + name }
		if b == nil {
			return invalid(field("process_id"), "binding is empty")
		}
		if !processID.MatchString(b.ProcessId) {
			return invalid(field("process_id"), "%q must be 1–128 characters of A-Z, a-z, 0-9, '_' and '-'", b.ProcessId)
		}
		if b.ThreadId == "" {
			b.ThreadId = "main"
		}
		if !threadID.MatchString(b.ThreadId) {
			return invalid(field("thread_id"), "%q must be 1–128 characters of A-Z, a-z, 0-9 and _ . : -", b.ThreadId)
		}
		switch b.Trigger {
		case hookgatev1.Trigger_TRIGGER_START_PROCESS:
			if b.CorrelationPath != "" {
				return invalid(field("correlation_path"), "applies only to TRIGGER_RESUME_PROCESS")
			}
		case hookgatev1.Trigger_TRIGGER_RESUME_PROCESS:
			if b.CorrelationPath == "" {
				return invalid(field("correlation_path"), "is required for TRIGGER_RESUME_PROCESS")
			}
			if !ValidCorrelationPath(b.CorrelationPath) {
				return invalid(field("correlation_path"), "%q is not a dotted path with [N] indices, e.g. entry[0].changes[0].value.id", b.CorrelationPath)
			}
		default:
			return invalid(field("trigger"), "must be TRIGGER_START_PROCESS or TRIGGER_RESUME_PROCESS")
		}
		k := b.ProcessId + "\x00" + b.ThreadId + "\x00" + b.Trigger.String()
		if seen[k] {
			return invalid(field("process_id"), "duplicates another binding")
		}
		seen[k] = true
	}
	return nil
}

func normalizeMaxBody(n int64) (int64, error) {
	if n == 0 {
		return DefaultMaxBody, nil
	}
	if n < minBodyLimit || n > maxBodyLimit {
		return 0, invalid("webhook.max_body_bytes", "must be %d to %d bytes, got %d", minBodyLimit, maxBodyLimit, n)
	}
	return n, nil
}

// envelopeBound is the largest envelope a body of maxBody bytes can make:
// the body, its base64 when raw_body is set, and the overhead.
func envelopeBound(maxBody int64, rawBody bool) int64 {
	n := maxBody + envelopeOverhead
	if rawBody {
		n += int64(base64.StdEncoding.EncodedLen(int(maxBody)))
	}
	return n
}

// maxBodyFor is the largest body limit whose envelopes fit maxPayload.
func maxBodyFor(maxPayload int64, rawBody bool) int64 {
	room := maxPayload - envelopeOverhead
	if room <= 0 {
		return 0
	}
	if !rawBody {
		return room
	}
	n := room * 3 / 7 // body + 4/3 body
	for envelopeBound(n+1, true) <= maxPayload {
		n++
	}
	for n > 0 && envelopeBound(n, true) > maxPayload {
		n--
	}
	return n
}

// validateEnvelopeFits refuses a body limit whose envelopes could not be
// published: NATS refuses a message over its max_payload, and the edge
// would then fail each large request instead of the registration failing.
func validateEnvelopeFits(maxBody int64, rawBody bool, maxPayload int64) error {
	if envelopeBound(maxBody, rawBody) <= maxPayload {
		return nil
	}
	with := "without raw_body"
	if rawBody {
		with = "with raw_body"
	}
	return invalid("webhook.max_body_bytes", "%d bytes %s makes envelopes of up to %d bytes, over the NATS max_payload of %d; at most %d bytes fit %s",
		maxBody, with, envelopeBound(maxBody, rawBody), maxPayload, maxBodyFor(maxPayload, rawBody), with)
}

func normalizeRateLimit(rl *hookgatev1.RateLimit) error {
	if rl == nil {
		return nil
	}
	// NaN fails every comparison, so test for the valid range, not outside it.
	if rps := rl.RequestsPerSecond; !(rps >= minRate && rps <= maxRate) {
		return invalid("webhook.rate_limit.requests_per_second", "must be %g to %d, got %g", minRate, maxRate, rps)
	}
	if rl.Burst < 0 || rl.Burst > maxRate {
		return invalid("webhook.rate_limit.burst", "must be 0 to %d", maxRate)
	}
	if rl.Burst == 0 {
		rl.Burst = int32(math.Ceil(rl.RequestsPerSecond))
	}
	return nil
}

func pageOf(size int32, token string) (store.Page, error) {
	switch {
	case size < 0:
		return store.Page{}, invalid("page_size", "must not be negative")
	case size == 0:
		size = defaultPageSize
	case size > maxPageSize:
		size = maxPageSize
	}
	return store.Page{Size: int(size), Token: token}, nil
}
