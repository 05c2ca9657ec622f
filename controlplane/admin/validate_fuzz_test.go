package admin

import (
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"golang.org/x/net/http/httpguts"
	"google.golang.org/protobuf/types/known/durationpb"
)

// The admin API's validators see whatever a caller sends. Each target
// asserts that a validator never panics, that a refusal is
// InvalidArgument (a clear error, not a 500), and that what it accepts is
// something its consumer — NATS subjects, the edge, the dispatcher's HTTP
// client — can take.

// mustInvalid fails unless err is nil or an InvalidArgument.
func mustInvalid(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil && connect.CodeOf(err) != connect.CodeInvalidArgument {
		t.Fatalf("%s: refusal %v is %v, want InvalidArgument", what, err, connect.CodeOf(err))
	}
}

// subjectToken reports whether s can be one NATS subject token: the ids and
// slugs the edge and dispatcher put into subjects.
func subjectToken(s string) bool {
	return s != "" && !strings.ContainsAny(s, ".*> \t\r\n\x00")
}

var identifierSeeds = []string{
	"acme", "ac", "a-b-c", "ACME", "acme.corp", "wh_0123456789abcdefghij", "wh_", "wh_A", "app_0123456789abcdefghij",
	"ep_0123456789abcdefghij", "order.created", "order..created", ".order", "order.", "order.*", "order.>", "a b",
	"Orders (EU) [main]", " lead", "trail ", "\xff\xfe", "ünïcödé", "MY_PARAM", "my_param", "_platform", "1",
	"99999999999999999999", "-1", strings.Repeat("a", 51), strings.Repeat("é", 1025), "\x00", "a\nb",
}

// FuzzIdentifiers drives every validator of a single string: ids, slugs,
// names, descriptions, event type names, parameter names, etags, page
// tokens, correlation paths.
func FuzzIdentifiers(f *testing.F) {
	for _, s := range identifierSeeds {
		f.Add(s, int32(10))
	}
	f.Add("", int32(-1))
	f.Add("x", int32(math.MaxInt32))
	f.Fuzz(func(t *testing.T, s string, size int32) {
		if err := validateTenantSlug("tenant", s); err == nil && !subjectToken(s) {
			t.Fatalf("tenant %q accepted but is no subject token", s)
		} else {
			mustInvalid(t, "tenant", err)
		}
		for _, c := range []struct {
			name string
			err  error
		}{
			{"webhook id", validateWebhookID(s)},
			{"app id", validateAppID("app_id", s)},
			{"endpoint ref", validateEndpointRef("endpoint_id", "acme", s)},
		} {
			if c.err == nil && !subjectToken(s) {
				t.Fatalf("%s %q accepted but is no subject token", c.name, s)
			}
			mustInvalid(t, c.name, c.err)
		}
		// An event type is the subject's last part (hookgate.out.{tenant}.
		// {app}.{event_type}): dotted, no wildcard, no empty token.
		if err := validateEventTypeName("name", s); err == nil {
			for _, tok := range strings.Split(s, ".") {
				if !subjectToken(tok) {
					t.Fatalf("event type %q accepted but token %q is not a subject token", s, tok)
				}
			}
		} else {
			mustInvalid(t, "event type", err)
		}
		mustInvalid(t, "name", validateName(s))
		mustInvalid(t, "description", validateDescription("webhook.description", s))
		mustInvalid(t, "param name", validateParamName(s))
		mustInvalid(t, "token scope", validateTokenScope(s))
		if _, err := etagOf("etag", s); err != nil {
			mustInvalid(t, "etag", err)
		}
		if p, err := pageOf(size, s); err == nil {
			if p.Size < 1 || p.Size > maxPageSize {
				t.Fatalf("page size %d from %d", p.Size, size)
			}
		} else {
			mustInvalid(t, "page", err)
		}
		_ = ValidCorrelationPath(s)
	})
}

// FuzzBindings builds a binding from its parts: accepted bindings have
// subject-safe process ids and a thread.
func FuzzBindings(f *testing.F) {
	f.Add("orders", "", int32(1), "", 1)
	f.Add("chat", "main", int32(2), "entry[0].changes[0].value.messages[0].from", 2)
	f.Add("a.b", "t", int32(2), "x", 1)
	f.Add("p", "a b", int32(3), "", 1)
	f.Add("p", "t", int32(2), "a[01]", 17)
	f.Fuzz(func(t *testing.T, process, thread string, trigger int32, path string, n int) {
		n = max(0, min(n, maxBindings+2))
		bs := make([]*hookgatev1.Binding, n)
		for i := range bs {
			bs[i] = &hookgatev1.Binding{ProcessId: process, ThreadId: thread, Trigger: hookgatev1.Trigger(trigger), CorrelationPath: path}
			if i > 0 {
				bs[i].ThreadId = thread + string(rune('a'+i))
			}
		}
		err := normalizeBindings(bs)
		mustInvalid(t, "bindings", err)
		if err != nil {
			return
		}
		for _, b := range bs {
			if !subjectToken(b.ProcessId) || b.ThreadId == "" {
				t.Fatalf("binding %v accepted", b)
			}
			if b.Trigger == hookgatev1.Trigger_TRIGGER_RESUME_PROCESS && !ValidCorrelationPath(b.CorrelationPath) {
				t.Fatalf("resume binding with path %q accepted", b.CorrelationPath)
			}
		}
	})
}

// FuzzLimits drives the body, envelope and rate limits with any numbers:
// an accepted limit is in its range, the burst filled in; the largest body
// maxBodyFor offers fits the bus it was computed for.
func FuzzLimits(f *testing.F) {
	f.Add(int64(0), false, int64(DefaultMaxPayload), 10.0, int32(0))
	f.Add(int64(maxBodyLimit), true, int64(1<<20), 0.01, int32(-1))
	f.Add(int64(-1), true, int64(0), math.NaN(), int32(maxRate+1))
	f.Add(int64(math.MaxInt64), false, int64(math.MaxInt64), math.Inf(1), int32(math.MaxInt32))
	f.Add(int64(minBodyLimit-1), true, int64(envelopeOverhead+1), 99999.99, int32(1))
	f.Fuzz(func(t *testing.T, maxBody int64, rawBody bool, maxPayload int64, rps float64, burst int32) {
		n, err := normalizeMaxBody(maxBody)
		mustInvalid(t, "max body", err)
		if err == nil {
			if n < minBodyLimit || n > maxBodyLimit {
				t.Fatalf("max body %d accepted as %d", maxBody, n)
			}
			mustInvalid(t, "envelope fits", validateEnvelopeFits(n, rawBody, maxPayload))
		}
		// Bus sizes NATS can have (max_payload is an int32 on the wire).
		if maxPayload > 0 && maxPayload <= math.MaxInt32 {
			if best := maxBodyFor(maxPayload, rawBody); best > 0 {
				if envelopeBound(best, rawBody) > maxPayload || envelopeBound(best+1, rawBody) <= maxPayload {
					t.Fatalf("maxBodyFor(%d, %v) = %d is not the largest body that fits", maxPayload, rawBody, best)
				}
			}
		}
		rl := &hookgatev1.RateLimit{RequestsPerSecond: rps, Burst: burst}
		err = normalizeRateLimit(rl)
		mustInvalid(t, "rate limit", err)
		if err == nil {
			if math.IsNaN(rl.RequestsPerSecond) || rl.RequestsPerSecond < minRate || rl.RequestsPerSecond > maxRate || rl.Burst < 1 || rl.Burst > maxRate {
				t.Fatalf("rate limit %v/%d accepted as %v", rps, burst, rl)
			}
		}
	})
}

// FuzzDurations drives the retry schedule and the grace periods with any
// seconds and nanoseconds: accepted schedules have at most 20 delays of 0
// to 24 h, accepted grace periods are 0 to 30 days.
func FuzzDurations(f *testing.F) {
	f.Add(int64(5), int32(0), 3)
	f.Add(int64(86400), int32(1), 20)
	f.Add(int64(-1), int32(0), 1)
	f.Add(int64(1), int32(-1), 1)
	f.Add(int64(math.MaxInt64), int32(999_999_999), 21)
	f.Add(int64(315_576_000_001), int32(0), 1)
	f.Fuzz(func(t *testing.T, secs int64, nanos int32, n int) {
		n = max(0, min(n, maxRetries+2))
		d := &durationpb.Duration{Seconds: secs, Nanos: nanos}
		rs := &hookgatev1.RetrySchedule{}
		for range n {
			rs.Delays = append(rs.Delays, d)
		}
		err := validateRetrySchedule(rs)
		mustInvalid(t, "retry schedule", err)
		if err == nil && n > 0 {
			if v := d.AsDuration(); n > maxRetries || v < 0 || v > maxRetryDelay {
				t.Fatalf("retry schedule of %d × %s accepted", n, v)
			}
		}
		for _, grace := range []func(*durationpb.Duration) (time.Duration, error){gracePeriod, endpointGracePeriod} {
			g, err := grace(d)
			mustInvalid(t, "grace period", err)
			if err == nil && (g < 0 || g > maxGracePeriod) {
				t.Fatalf("grace period %s accepted", g)
			}
		}
	})
}

// FuzzEndpoint drives an endpoint's URL, one custom header, its name and
// its event type: an accepted URL makes a request the dispatcher can send,
// and an accepted header is one its HTTP client will write (net/http
// refuses invalid field names and values, which would fail every
// delivery).
func FuzzEndpoint(f *testing.F) {
	f.Add("https://example.com/webhooks", false, "X-Api-Key", "secret", "orders", "order.created")
	f.Add("http://example.com", true, "authorization", "Bearer x", "", "a")
	f.Add("http://example.com", false, "Webhook-Id", "1", "n", "A")
	f.Add("https://user:pw@example.com/#frag", false, "Bad Name", "v\r\nX: y", "\xff", "a..b")
	f.Add("ftp://x", false, "X-A", "\x01", strings.Repeat("n", 300), "")
	f.Add("https://[::1]:443/x?y=1", false, "X-A", "tab\tok", "n", "a.b-c_d")
	f.Add("https://%zz", false, "Host", "h", "n", "x")
	f.Fuzz(func(t *testing.T, raw string, allowHTTP bool, hname, hvalue, name, eventType string) {
		err := validateEndpointURL(raw, allowHTTP)
		mustInvalid(t, "url", err)
		if err == nil {
			req, rerr := http.NewRequest(http.MethodPost, raw, nil)
			if rerr != nil {
				t.Fatalf("url %q accepted; the dispatcher cannot build a request: %v", raw, rerr)
			}
			if s := req.URL.Scheme; s != "https" && (s != "http" || !allowHTTP) {
				t.Fatalf("url %q accepted with scheme %q (allow http %v)", raw, s, allowHTTP)
			}
			if req.URL.User != nil || req.URL.Hostname() == "" {
				t.Fatalf("url %q accepted with credentials or no host", raw)
			}
		}
		headers, err := normalizeHeaders(map[string]string{hname: hvalue})
		mustInvalid(t, "headers", err)
		for k, v := range headers {
			if !httpguts.ValidHeaderFieldName(k) || !httpguts.ValidHeaderFieldValue(v) {
				t.Fatalf("header %q: %q accepted; net/http refuses to send it", k, v)
			}
		}
		ep := &hookgatev1.Endpoint{Name: name, Description: name, EventTypes: []string{eventType}}
		for _, field := range []string{"name", "description", "event_types", "rate_limit_per_second", "burst", "max_in_flight", "timeout_ms"} {
			mustInvalid(t, "endpoint "+field, validateEndpointField(field, ep))
		}
		app := &hookgatev1.Application{Name: name, Uid: eventType, Metadata: map[string]string{hname: hvalue}}
		for _, field := range []string{"name", "uid", "metadata", "rate_limit_per_second"} {
			mustInvalid(t, "application "+field, validateAppField(field, app))
		}
	})
}

// FuzzSecrets drives provider secrets, secret references and endpoint
// signing keys with any values: no panic, refusals InvalidArgument.
func FuzzSecrets(f *testing.F) {
	f.Add(int32(hookgatev1.Provider_PROVIDER_SLACK), "signing_secret", "abc", int32(0), "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3")
	f.Add(int32(hookgatev1.Provider_PROVIDER_DISCORD), "public_key", strings.Repeat("ab", 32), int32(2), "whsk_AAAA")
	f.Add(int32(hookgatev1.Provider_PROVIDER_STANDARD_WEBHOOKS), "secret", "${configParam.MY_KEY}", int32(1), "whsec_!!")
	f.Add(int32(hookgatev1.Provider_PROVIDER_SENDGRID), "public_key", "${configParam.", int32(99), "")
	f.Add(int32(-1), "", "\x00", int32(-1), "whsk_"+strings.Repeat("A", 86))
	f.Fuzz(func(t *testing.T, provider int32, name, value string, scheme int32, signing string) {
		p := hookgatev1.Provider(provider)
		if err := validateProvider(p); err != nil {
			mustInvalid(t, "provider", err)
		} else {
			_, err := validateProviderSecrets(p, map[string]string{name: value})
			mustInvalid(t, "provider secrets", err)
			mustInvalid(t, "secret format", validateSecretFormat("webhook.provider_secrets", p, name, value))
		}
		mustInvalid(t, "secret value", validateSecretValue("value", name, value))
		if _, _, err := parseSecretRef("webhook.provider_secrets", name, value); err != nil {
			mustInvalid(t, "secret ref", err)
		}
		k, err := parseSigningKey("endpoint.secret", hookgatev1.SignatureScheme(scheme), signing)
		mustInvalid(t, "signing key", err)
		if err == nil && k.secret == "" {
			t.Fatalf("signing key %q accepted as empty", signing)
		}
		if err != nil && len(signing) > 8 && strings.Contains(err.Error(), signing) {
			t.Fatalf("signing key error quotes the key")
		}
	})
}

// FuzzSchema compiles any JSON as an event type's schema and checks any
// JSON against it: no panic, nothing loaded from outside.
func FuzzSchema(f *testing.F) {
	f.Add([]byte(`{"type":"object","required":["id"],"properties":{"id":{"type":"string"}}}`), []byte(`{"id":"x"}`))
	f.Add([]byte(`{"$ref":"file:///etc/passwd"}`), []byte(`1`))
	f.Add([]byte(`{"$ref":"https://example.com/s.json"}`), []byte(`{}`))
	f.Add([]byte(`{"$schema":"http://json-schema.org/draft-07/schema#","pattern":"("}`), []byte(`"a"`))
	f.Add([]byte(`{"$defs":{"a":{"$ref":"#/$defs/a"}},"$ref":"#/$defs/a"}`), []byte(`null`))
	f.Add([]byte(`[`), []byte(`{`))
	f.Fuzz(func(t *testing.T, schema, value []byte) {
		sch, err := CompileSchema(schema)
		if err != nil {
			return
		}
		_, _, _ = SchemaViolation(sch, value)
	})
}
