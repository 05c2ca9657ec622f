package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/dataplane/verify/verifytest"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/testkit/dnstest"
	"github.com/hookgate/hookgate/testkit/poll"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/types/known/structpb"
)

// TestBadInput is the bad-input campaign (issue 14, item 3): one
// `hookgate dev`, and per group a table of hostile or broken requests to
// the edge and the admin API, each with the status it must get and the
// words its error must hold. After each group the process is alive and
// every /healthz answers; nothing a refused request sent is stored or
// created; and at the end no secret the test made (tokens, keys, signing
// and provider secrets, dev's own credentials) is in any answer, in the
// process's log or in /metrics.
func TestBadInput(t *testing.T) {
	t.Parallel()
	e := startBadEnv(t)
	t.Run("groups", func(t *testing.T) {
		for _, g := range []struct {
			name string
			run  func(*testing.T, *badEnv)
		}{
			{"bodies", badBodies},
			{"headers", badHeaders},
			{"slow clients", slowClients},
			{"ids", badIDs},
			{"signatures", badSignatures},
			{"tokens", badTokens},
			{"ssrf", ssrfURLs},
		} {
			t.Run(g.name, func(t *testing.T) {
				t.Parallel()
				g.run(t, e)
				e.alive(t)
			})
		}
	})
	t.Run("no secret leaked", func(t *testing.T) {
		if n := e.secrets.len(); n < 15 {
			t.Fatalf("only %d secrets collected", n)
		}
		// Failed triggers are records a refused call leaves behind.
		for _, h := range append([]badHook{e.otherHook, e.stripe, e.stripe2}, mapValues(e.hooks)...) {
			tenant := "acme"
			if h == e.otherHook {
				tenant = "other"
			}
			e.must(t, e.platform, "hookgate.v1.InboundWebhookService/ListFailedTriggers", &hookgatev1.ListFailedTriggersRequest{Tenant: tenant, WebhookId: h.id, PageSize: 1000}, nil)
		}
		for _, base := range []string{e.d.ops, e.d.admin} {
			code, body := get(t, base+"/metrics")
			if code != http.StatusOK || !strings.Contains(body, "hookgate_edge_requests_total") && base == e.d.ops {
				t.Fatalf("%s/metrics: %d", base, code)
			}
			e.secrets.scan(t, base+"/metrics", body)
		}
		_, afterBanner, ok := strings.Cut(e.d.stdout.String(), "\nready\n")
		if !ok {
			t.Fatal("no banner in dev's stdout")
		}
		e.secrets.scan(t, "dev's stdout after the banner", afterBanner)
		e.secrets.scan(t, "dev's log (stderr)", e.d.stderr.String())
	})
}

func mapValues(m map[string]badHook) []badHook {
	var out []badHook
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// Names the campaign's DNS server answers (dev runs with --resolver).
var ssrfNames = map[string]netip.Addr{
	"rebind.hookgate.test":  netip.MustParseAddr("127.0.0.2"),
	"meta.hookgate.test":    netip.MustParseAddr("169.254.169.254"),
	"private.hookgate.test": netip.MustParseAddr("10.1.2.3"),
	"v6.hookgate.test":      netip.MustParseAddr("::1"),
}

// startBadEnv starts dev and makes tenants acme and other, their admin
// and producer tokens, a GENERIC webhook per group, two STRIPE webhooks
// and acme's applications.
func startBadEnv(t *testing.T) *badEnv {
	t.Helper()
	dir := t.TempDir()
	d := startDev(t, dir, "--resolver", dnstest.Serve(t, ssrfNames))
	e := &badEnv{d: d, secrets: &secretSet{}, hooks: map[string]badHook{}, platform: d.token,
		edge: strings.TrimPrefix(d.edge, "http://"), admin: strings.TrimPrefix(d.admin, "http://")}
	e.secrets.add(d.token)
	e.secrets.add(devSecrets(t, dir)...)
	nc := d.natsConn(t)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	e.js = js

	for _, tn := range []string{"acme", "other"} {
		e.must(t, e.platform, "hookgate.v1.TenantService/CreateTenant", &hookgatev1.CreateTenantRequest{Tenant: &hookgatev1.Tenant{Id: tn, AllowHttpEndpoints: true}}, nil)
	}
	token := func(tenant string, kind hookgatev1.AdminTokenKind) (string, string) {
		var resp hookgatev1.CreateAdminTokenResponse
		e.must(t, e.platform, "hookgate.v1.TenantService/CreateAdminToken", &hookgatev1.CreateAdminTokenRequest{Tenant: tenant, Kind: kind}, &resp)
		e.secrets.add(resp.GetToken())
		return resp.GetToken(), resp.GetAdminToken().GetId()
	}
	e.acme, e.acmeTokenID = token("acme", hookgatev1.AdminTokenKind_ADMIN_TOKEN_KIND_ADMIN)
	e.other, _ = token("other", hookgatev1.AdminTokenKind_ADMIN_TOKEN_KIND_ADMIN)
	e.producer, _ = token("acme", hookgatev1.AdminTokenKind_ADMIN_TOKEN_KIND_PRODUCER)
	e.otherProducer, _ = token("other", hookgatev1.AdminTokenKind_ADMIN_TOKEN_KIND_PRODUCER)

	hook := func(tenant, name string, provider hookgatev1.Provider, secrets map[string]string) badHook {
		process := "bad-" + name
		var resp hookgatev1.CreateWebhookResponse
		e.must(t, e.platform, "hookgate.v1.InboundWebhookService/CreateWebhook", &hookgatev1.CreateWebhookRequest{Webhook: &hookgatev1.Webhook{
			Tenant: tenant, Name: name, Provider: provider, ProviderSecrets: secrets,
			Bindings: []*hookgatev1.Binding{{ProcessId: process, ThreadId: "main", Trigger: hookgatev1.Trigger_TRIGGER_START_PROCESS}},
		}}, &resp)
		e.secrets.add(resp.GetApiKey())
		for _, v := range secrets {
			e.secrets.add(v)
		}
		return badHook{id: resp.GetWebhook().GetId(), key: resp.GetApiKey(), subject: "hookgate.in." + tenant + "." + process + ".start"}
	}
	for _, g := range []string{"bodies", "headers", "slow", "ids", "tokens"} {
		e.hooks[g] = hook("acme", g, hookgatev1.Provider_PROVIDER_GENERIC, nil)
	}
	e.otherHook = hook("other", "other", hookgatev1.Provider_PROVIDER_GENERIC, nil)
	stripe := verifytest.Find("STRIPE")
	for _, p := range []*badHook{&e.stripe, &e.stripe2} {
		key := stripe.NewKey()
		*p = hook("acme", fmt.Sprintf("stripe-%p", p), hookgatev1.Provider_PROVIDER_STRIPE, stripe.Secrets(key))
		p.secret = key.Secret
	}

	app := func(name string) string {
		var resp hookgatev1.CreateApplicationResponse
		e.must(t, e.platform, "hookgate.v1.ApplicationService/CreateApplication", &hookgatev1.CreateApplicationRequest{Application: &hookgatev1.Application{Tenant: "acme", Name: name}}, &resp)
		return resp.GetApplication().GetId()
	}
	e.app, e.refusedApp = app("ssrf"), app("refused")
	e.must(t, e.platform, "hookgate.v1.EventTypeService/CreateEventType", &hookgatev1.CreateEventTypeRequest{EventType: &hookgatev1.EventType{Tenant: "acme", Name: "order.created"}}, nil)

	// The last webhook created reaching the edge means every one has.
	last := e.stripe2
	poll.Until(t, 15*time.Second, "the webhooks to reach the edge", func() bool {
		a := e.raw(t, e.edge, request("POST", last.path(), []string{"X-Hookgate-Key: " + last.key, "Content-Length: 2"}, []byte("{}")), false)
		return a.status == http.StatusUnauthorized // the key passed; the signature is missing
	})
	return e
}

// edgeRow is a raw request to the edge and its expected answer.
type edgeRow struct {
	name       string
	req        []byte
	closeWrite bool
	status     int
	text       string // the answer's body holds it
	stored     bool   // the call is stored (one more message on the subject)
}

// runEdgeRows sends each row on its own connection to addr and checks its
// answer and, for the edge, what the subject holds afterwards.
func runEdgeRows(t *testing.T, e *badEnv, addr, subject string, rows []edgeRow) {
	t.Helper()
	for _, tt := range rows {
		t.Run(tt.name, func(t *testing.T) {
			var before uint64
			if subject != "" {
				before = e.stored(t, subject)
			}
			a := e.raw(t, addr, tt.req, tt.closeWrite)
			if a.err != nil {
				t.Fatalf("no answer: %v", a.err)
			}
			if a.status != tt.status || !strings.Contains(a.body, tt.text) {
				t.Errorf("answer %d %q, want %d with %q", a.status, a.body, tt.status, tt.text)
			}
			if subject == "" {
				return
			}
			want := before
			if tt.stored {
				want++
			}
			if got := e.stored(t, subject); got != want {
				t.Errorf("%s holds %d messages after the call, want %d", subject, got, want)
			}
		})
	}
}

func nested(depth int) []byte {
	return []byte(strings.Repeat("[", depth) + strings.Repeat("]", depth))
}

// badBodies: sizes, framing, content types and JSON the edge must refuse
// (or, for the control rows, accept) on a GENERIC webhook.
func badBodies(t *testing.T, e *badEnv) {
	h := e.hooks["bodies"]
	key := "X-Hookgate-Key: " + h.key
	post := func(ctype string, body []byte, extra ...string) []byte {
		hs := append([]string{key, "Content-Type: " + ctype, "Content-Length: " + strconv.Itoa(len(body))}, extra...)
		return request("POST", h.path(), hs, body)
	}
	chunkedPost := func(framed []byte, extra ...string) []byte {
		return request("POST", h.path(), append([]string{key, "Content-Type: application/json", "Transfer-Encoding: chunked"}, extra...), framed)
	}
	oneByteChunks := func(body []byte) []byte {
		parts := make([][]byte, len(body))
		for i := range body {
			parts[i] = body[i : i+1]
		}
		return chunked(parts...)
	}
	const limit = 1 << 20
	big := make([]byte, 600<<10)
	for i := range big {
		big[i] = 'a'
	}
	runEdgeRows(t, e, e.edge, h.subject, []edgeRow{
		{name: "valid JSON (control)", req: post("application/json", []byte(`{"row":"control"}`)), status: 200, text: `"eventId":"evt_`, stored: true},
		{name: "oversized, declared", req: request("POST", h.path(), []string{key, "Content-Type: application/json", "Content-Length: " + strconv.Itoa(limit+1)}, nil),
			status: 413, text: "body exceeds the webhook's limit: 1048577 bytes, limit 1048576"},
		{name: "oversized, chunked", req: chunkedPost(chunked(big, big)), status: 413, text: "body exceeds the webhook's limit: limit 1048576 bytes"},
		{name: "chunked flood, 100,000 one-byte chunks", req: chunkedPost(oneByteChunks([]byte(`"` + strings.Repeat("f", 100_000-2) + `"`))), status: 200, text: `"eventId"`, stored: true},
		{name: "chunked flood past the limit", req: chunkedPost(oneByteChunks(make([]byte, limit+10))), status: 413, text: "limit 1048576 bytes"},
		{name: "chunk size not hex", req: chunkedPost([]byte("zz\r\n{}\r\n0\r\n\r\n")), status: 400, text: "body could not be read"},
		{name: "chunk extension flood", req: chunkedPost([]byte("2;" + strings.Repeat("x", 70_000) + "\r\n{}\r\n0\r\n\r\n")), status: 400, text: "body could not be read"},
		{name: "truncated body, then EOF", req: request("POST", h.path(), []string{key, "Content-Type: application/json", "Content-Length: 100"}, []byte(`{"row":"truncated"`)),
			closeWrite: true, status: 400, text: "body could not be read"},
		{name: "Content-Length shorter than the body", req: request("POST", h.path(), []string{key, "Content-Type: application/json", "Content-Length: 7"}, []byte(`{"row":"short"}`)),
			status: 400, text: "invalid JSON body"},
		{name: "two Content-Length values", req: request("POST", h.path(), []string{key, "Content-Type: application/json", "Content-Length: 2", "Content-Length: 3"}, []byte("{} ")),
			status: 400, text: "400 Bad Request"},
		// RFC 9112 §6.3: Transfer-Encoding wins, and the connection closes after.
		{name: "Content-Length and chunked (chunked wins)", req: chunkedPost(chunked([]byte(`{"row":"cl+te"}`)), "Content-Length: 4"), status: 200, text: `"eventId"`, stored: true},
		{name: "unsupported Transfer-Encoding", req: request("POST", h.path(), []string{key, "Content-Type: application/json", "Transfer-Encoding: gzip"}, []byte("{}")),
			status: 501, text: "Unsupported transfer encoding"},
		{name: "not JSON, JSON content type", req: post("application/json", []byte("hello")), status: 400, text: "invalid JSON body"},
		{name: "form body, JSON content type", req: post("application/json", []byte("a=1&b=2")), status: 400, text: "invalid JSON body"},
		{name: "not JSON, +json content type", req: post("application/vnd.acme+json", []byte("<order/>")), status: 400, text: "invalid JSON body"},
		{name: "not JSON, text/json", req: post("text/json; charset=utf-8", []byte("{'a':1}")), status: 400, text: "invalid JSON body"},
		{name: "empty body, JSON content type", req: post("application/json", nil), status: 400, text: "invalid JSON body"},
		{name: "malformed form", req: post("application/x-www-form-urlencoded", []byte("a=%zz&b=1")), status: 400, text: "invalid form body"},
		{name: "unparseable content type (kept as text)", req: post(";;;/=", []byte(`{"row":"odd type"}`)), status: 200, text: `"eventId"`, stored: true},
		{name: "invalid UTF-8 in JSON", req: post("application/json", []byte("{\"a\":\"\xff\xfe\"}")), status: 400, text: "invalid JSON body"},
		{name: "overlong UTF-8 in JSON", req: post("application/json", []byte("{\"a\":\"\xc0\xae\xc0\xae\"}")), status: 400, text: "invalid JSON body"},
		{name: "unpaired surrogate escape", req: post("application/json", []byte(`{"a":"\ud800"}`)), status: 400, text: "invalid JSON body"},
		{name: "control character in a JSON string", req: post("application/json", []byte("{\"a\":\"\x00\"}")), status: 400, text: "invalid JSON body"},
		{name: "invalid UTF-8 as text (replaced)", req: post("text/plain", []byte("row \xff\xfe text")), status: 200, text: `"eventId"`, stored: true},
		{name: "nesting 100 deep (the limit)", req: post("application/json", nested(100)), status: 200, text: `"eventId"`, stored: true},
		{name: "nesting 101 deep", req: post("application/json", nested(101)), status: 400, text: "invalid JSON body"},
		{name: "nesting 500,000 deep", req: post("application/json", nested(500_000)), status: 400, text: "invalid JSON body"},
		{name: "duplicate member names", req: post("application/json", []byte(`{"a":1,"\u0061":2}`)), status: 400, text: "invalid JSON body"},
		{name: "number beyond float64", req: post("application/json", []byte(`{"a":1e999}`)), status: 400, text: "invalid JSON body"},
	})
}

// badHeaders: header floods and malformed header lines on the edge and
// the admin port.
func badHeaders(t *testing.T, e *badEnv) {
	h := e.hooks["headers"]
	key := "X-Hookgate-Key: " + h.key
	body := func(s string) []byte { return []byte(`{"row":"` + s + `"}`) }
	post := func(b []byte, headers ...string) []byte {
		return request("POST", h.path(), append([]string{key, "Content-Type: application/json", "Content-Length: " + strconv.Itoa(len(b))}, headers...), b)
	}
	many := func(n int, prefix string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("%s-%d: v", prefix, i)
		}
		return out
	}
	candidates := make([]string, 17)
	for i := range candidates {
		candidates[i] = "X-Hookgate-Key: hgk_wrong" + strconv.Itoa(i)
	}
	runEdgeRows(t, e, e.edge, h.subject, []edgeRow{
		{name: "500 small headers (control)", req: post(body("500 headers"), many(500, "X-Many")...), status: 200, text: `"eventId"`, stored: true},
		{name: "3,000 headers over 32 KiB", req: post(body("3000 headers"), many(3000, "X-Flood")...), status: 431, text: "Request Header Fields Too Large"},
		{name: "one 40 KiB header", req: post(body("huge header"), "X-Huge: "+strings.Repeat("h", 40<<10)), status: 431, text: "Request Header Fields Too Large"},
		{name: "17 key candidates", req: post(body("17 keys"), candidates...), status: 401, text: "missing or invalid API key"},
		{name: "NUL in a header value", req: post(body("nul"), "X-Bad: a\x00b"), status: 400, text: "Bad Request"},
		{name: "space in a header name", req: post(body("space"), "X Bad: v"), status: 400, text: "Bad Request"},
		{name: "header line without a colon", req: post(body("colon"), "X-Bad"), status: 400, text: "Bad Request"},
		// Go joins a folded line with a space, as RFC 9112 §5.2 allows.
		{name: "obsolete line folding (unfolded)", req: post(body("fold"), "X-Fold: a", " b"), status: 200, text: `"eventId"`, stored: true},
	})
	list := func(headers ...string) []byte {
		return request("POST", "/hookgate.v1.TenantService/ListTenants", append([]string{"Authorization: Bearer " + e.platform, "Content-Type: application/json", "Content-Length: 2"}, headers...), []byte("{}"))
	}
	runEdgeRows(t, e, e.admin, "", []edgeRow{
		{name: "admin: 100 small headers (control)", req: list(many(100, "X-Many")...), status: 200, text: `"tenants"`},
		{name: "admin: one 80 KiB header", req: list("X-Huge: " + strings.Repeat("h", 80<<10)), status: 431, text: "Request Header Fields Too Large"},
		{name: "admin: 6,000 headers", req: list(many(6000, "X-Flood")...), status: 431, text: "Request Header Fields Too Large"},
		{name: "admin: NUL in a header value", req: list("X-Bad: a\x00b"), status: 400, text: "Bad Request"},
	})
}

// slowClients: slowloris on the headers and on the body, on the edge and
// on the admin port. Each connection drips a byte a second; the server
// must close it within its read timeout (plus a margin), which the test
// sees as the connection's read returning.
func slowClients(t *testing.T, e *badEnv) {
	h := e.hooks["slow"]
	const margin = 10 * time.Second
	for _, tt := range []struct {
		name    string
		addr    string
		head    string
		drip    string
		timeout time.Duration
	}{
		{"edge headers", e.edge, "POST " + h.path() + " HTTP/1.1\r\nHost: hookgate.test\r\n", "X-Slow: a\r\n", 5 * time.Second},
		{"edge body", e.edge, "POST " + h.path() + " HTTP/1.1\r\nHost: hookgate.test\r\nX-Hookgate-Key: " + h.key +
			"\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"slow\":\"", "a", 30 * time.Second},
		{"admin headers", e.admin, "POST /hookgate.v1.TenantService/ListTenants HTTP/1.1\r\nHost: hookgate.test\r\n", "X-Slow: a\r\n", 10 * time.Second},
		{"admin body", e.admin, "POST /hookgate.v1.TenantService/ListTenants HTTP/1.1\r\nHost: hookgate.test\r\nAuthorization: Bearer " + e.platform +
			"\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"pageSize\":", " ", 30 * time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			before := e.stored(t, h.subject)
			elapsed, answer, err := slowloris(t, tt.addr, tt.head, tt.drip, tt.timeout+margin)
			if err != nil {
				t.Fatalf("the server kept a slow connection open for %s (read timeout %s): %v", elapsed.Round(time.Second), tt.timeout, err)
			}
			if elapsed < tt.timeout-time.Second {
				t.Errorf("closed after %s, before the read timeout %s: not by the timeout (answer %q)", elapsed, tt.timeout, answer)
			}
			e.secrets.scan(t, "answer to a slow client", answer)
			if got := e.stored(t, h.subject); got != before {
				t.Errorf("%s holds %d messages after a slow client, want %d", h.subject, got, before)
			}
		})
	}
}

// badIDs: path traversal and odd encodings in ids, on inbound paths and
// in admin methods (Connect JSON, binary proto and REST).
func badIDs(t *testing.T, e *badEnv) {
	h := e.hooks["ids"]
	key := "X-Hookgate-Key: " + h.key
	at := func(target string) []byte {
		return request("POST", target, []string{key, "Content-Type: application/json", "Content-Length: 2"}, []byte("{}"))
	}
	notFound := `{"error":"no such webhook"}`
	runEdgeRows(t, e, e.edge, h.subject, []edgeRow{
		{name: "the webhook's path (control)", req: at(h.path()), status: 200, text: `"eventId"`, stored: true},
		{name: "dot-dot segment", req: at("/in/acme/../acme/" + h.id), status: 404, text: notFound},
		{name: "trailing dot-dot", req: at(h.path() + "/.."), status: 404, text: notFound},
		{name: "escaped dot-dot", req: at("/in/acme/%2e%2e/" + h.id), status: 404, text: notFound},
		{name: "escaped slash", req: at("/in/acme%2f" + h.id), status: 404, text: notFound},
		{name: "escaped NUL", req: at(h.path() + "%00"), status: 404, text: notFound},
		{name: "overlong UTF-8 dot-dot", req: at("/in/acme/%c0%ae%c0%ae/" + h.id), status: 404, text: notFound},
		{name: "escaped id", req: at("/in/acme/%77%68" + strings.TrimPrefix(h.id, "wh")), status: 404, text: notFound},
		{name: "double slash", req: at("/in//acme/" + h.id), status: 404, text: notFound},
		{name: "trailing slash", req: at(h.path() + "/"), status: 404, text: notFound},
		{name: "upper-case tenant", req: at("/in/ACME/" + h.id), status: 404, text: notFound},
		{name: "unknown webhook id", req: at("/in/acme/wh_00000000000000000000"), status: 404, text: "no such webhook"},
		{name: "another tenant's webhook id", req: at("/in/other/" + h.id), status: 404, text: "no such webhook"},
		{name: "8,000-character id", req: at("/in/acme/wh_" + strings.Repeat("a", 8000)), status: 404, text: notFound},
		{name: "40,000-character id", req: at("/in/acme/wh_" + strings.Repeat("a", 40_000)), status: 431, text: "Request Header Fields Too Large"},
		{name: "raw NUL in the path", req: at("/in/acme/wh_\x00"), status: 400, text: "Bad Request"},
	})

	long := strings.Repeat("a", 100_000)
	for _, tt := range []struct {
		name, method, body string
		code, text         string
	}{
		{"GetWebhook ..", "InboundWebhookService/GetWebhook", `{"tenant":"acme","webhookId":".."}`, "invalid_argument", "webhook_id"},
		{"GetWebhook ../../etc/passwd", "InboundWebhookService/GetWebhook", `{"tenant":"acme","webhookId":"../../etc/passwd"}`, "invalid_argument", "webhook_id"},
		{"GetWebhook %2e%2e", "InboundWebhookService/GetWebhook", `{"tenant":"acme","webhookId":"wh_%2e%2e"}`, "invalid_argument", "webhook_id"},
		{"GetWebhook escaped NUL", "InboundWebhookService/GetWebhook", `{"tenant":"acme","webhookId":"` + h.id + `\u0000"}`, "invalid_argument", "webhook_id"},
		{"GetWebhook overlong UTF-8", "InboundWebhookService/GetWebhook", "{\"tenant\":\"acme\",\"webhookId\":\"wh_\xc0\xae\"}", "invalid_argument", "UTF-8"},
		{"GetWebhook 100,000-character id", "InboundWebhookService/GetWebhook", `{"tenant":"acme","webhookId":"wh_` + long + `"}`, "invalid_argument", "webhook_id"},
		{"GetWebhook tenant ..", "InboundWebhookService/GetWebhook", `{"tenant":"..","webhookId":"` + h.id + `"}`, "invalid_argument", "tenant"},
		{"GetWebhook tenant with NUL", "InboundWebhookService/GetWebhook", `{"tenant":"acme\u0000","webhookId":"` + h.id + `"}`, "invalid_argument", "tenant"},
		{"DeleteWebhook ..", "InboundWebhookService/DeleteWebhook", `{"tenant":"acme","webhookId":"../` + h.id + `"}`, "invalid_argument", "webhook_id"},
		{"ListFailedTriggers ..", "InboundWebhookService/ListFailedTriggers", `{"tenant":"acme","webhookId":".."}`, "invalid_argument", "webhook_id"},
		{"GetEndpoint ../x", "EndpointService/GetEndpoint", `{"tenant":"acme","endpointId":"../x"}`, "invalid_argument", "endpoint_id"},
		{"GetEndpoint NATS wildcard", "EndpointService/GetEndpoint", `{"tenant":"acme","endpointId":"ep_>"}`, "invalid_argument", "endpoint_id"},
		{"GetApplication %2e%2e", "ApplicationService/GetApplication", `{"tenant":"acme","applicationId":"%2e%2e"}`, "invalid_argument", "application_id"},
		{"GetEventType ../x", "EventTypeService/GetEventType", `{"tenant":"acme","name":"../x"}`, "invalid_argument", "name"},
		{"GetTenant ../acme", "TenantService/GetTenant", `{"tenant":"../acme"}`, "invalid_argument", "tenant"},
		{"GetTenant 100,000 characters", "TenantService/GetTenant", `{"tenant":"` + long + `"}`, "invalid_argument", "tenant"},
		{"RevokeAdminToken ..", "TenantService/RevokeAdminToken", `{"id":".."}`, "not_found", "not found"},
		{"ListAttempts endpoint *", "AttemptService/ListAttempts", `{"tenant":"acme","endpointId":"*"}`, "invalid_argument", "endpoint_id"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := e.rpc(t, e.admin, e.platform, "hookgate.v1."+tt.method, []byte(tt.body))
			if a.code != tt.code || !strings.Contains(a.message, tt.text) {
				t.Errorf("%s: %s %q, want %s naming %q", tt.method, a.code, a.message, tt.code, tt.text)
			}
		})
	}

	t.Run("binary proto with invalid UTF-8", func(t *testing.T) {
		var b []byte
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendString(b, "acme")
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendBytes(b, []byte("wh_\xc0\xae\xff"))
		req, _ := http.NewRequest(http.MethodPost, e.d.admin+"/hookgate.v1.InboundWebhookService/GetWebhook", strings.NewReader(string(b)))
		req.Header.Set("Content-Type", "application/proto")
		req.Header.Set("Authorization", "Bearer "+e.platform)
		res, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		// A Connect error is JSON whatever the codec.
		var m struct{ Code, Message string }
		if err := json.NewDecoder(res.Body).Decode(&m); err != nil || m.Code != "invalid_argument" || !strings.Contains(m.Message, "UTF-8") {
			t.Errorf("GetWebhook (proto): %d %s %q (%v), want invalid_argument naming UTF-8", res.StatusCode, m.Code, m.Message, err)
		}
	})

	for _, tt := range []struct {
		name, path string
		status     int
		text       string
	}{
		{"REST webhook %2e%2e", "/v1/tenants/acme/webhooks/%2e%2e", 400, "webhook_id"},
		{"REST webhook ..%2f..", "/v1/tenants/acme/webhooks/..%2f..%2fetc", 404, "no REST path"},
		{"REST webhook %00", "/v1/tenants/acme/webhooks/" + h.id + "%00", 400, "webhook_id"},
		{"REST tenant %2e%2e", "/v1/tenants/%2e%2e/webhooks", 400, "tenant"},
		{"REST overlong UTF-8", "/v1/tenants/acme/webhooks/%c0%ae%c0%ae", 400, "must be UTF-8"},
		{"REST query not UTF-8", "/v1/tenants/acme/webhooks?pageToken=%ff", 400, "must be UTF-8"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := request("GET", tt.path, []string{"Authorization: Bearer " + e.platform}, nil)
			a := e.raw(t, e.admin, req, false)
			if a.err != nil || a.status != tt.status || !strings.Contains(a.body, tt.text) {
				t.Errorf("GET %s: %d %q (%v), want %d naming %q", tt.path, a.status, a.body, a.err, tt.status, tt.text)
			}
		})
	}
	// SendMessage on the edge, Connect and REST, with odd ids and sizes.
	big := `{"message":{"tenant":"acme","applicationId":"` + e.app + `","eventType":"order.created","payload":{"pad":"` + strings.Repeat("p", 2<<20) + `"}}}`
	for _, tt := range []struct {
		name, body, code, text string
	}{
		{"SendMessage application ../x", `{"message":{"tenant":"acme","applicationId":"../x","eventType":"order.created","payload":{}}}`, "not_found", "application"},
		{"SendMessage event type ../x", `{"message":{"tenant":"acme","applicationId":"` + e.app + `","eventType":"../x","payload":{}}}`, "not_found", "event type"},
		{"SendMessage tenant ..", `{"message":{"tenant":"..","applicationId":"` + e.app + `","eventType":"order.created","payload":{}}}`, "permission_denied", ""},
		{"SendMessage 300-byte event id", `{"message":{"tenant":"acme","applicationId":"` + e.app + `","eventType":"order.created","eventId":"` + strings.Repeat("i", 300) + `","payload":{}}}`, "invalid_argument", "event_id"},
		{"SendMessage 2 MiB", big, "resource_exhausted", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := e.rpc(t, e.edge, e.producer, "hookgate.v1.MessageService/SendMessage", []byte(tt.body))
			if a.code != tt.code || !strings.Contains(a.message, tt.text) {
				t.Errorf("SendMessage: %s %q, want %s naming %q", a.code, a.message, tt.code, tt.text)
			}
		})
	}
	for _, tt := range []struct {
		name, path string
		status     int
		text       string
	}{
		{"edge REST application not UTF-8", "/v1/tenants/acme/apps/%c0%ae%ff/messages", 400, "must be UTF-8"},
		{"edge REST query not UTF-8", "/v1/tenants/acme/apps/" + e.app + "/messages?eventType=%ff", 400, "must be UTF-8"},
		{"edge REST application ..%2f", "/v1/tenants/acme/apps/..%2f..%2fx/messages", 404, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := []byte(`{"eventType":"order.created","payload":{}}`)
			req := request("POST", tt.path, []string{"Authorization: Bearer " + e.producer, "Content-Type: application/json", "Content-Length: " + strconv.Itoa(len(b))}, b)
			a := e.raw(t, e.edge, req, false)
			if a.err != nil || a.status != tt.status || !strings.Contains(a.body, tt.text) {
				t.Errorf("POST %s: %d %q (%v), want %d naming %q", tt.path, a.status, a.body, a.err, tt.status, tt.text)
			}
		})
	}
	t.Run("the webhook survives", func(t *testing.T) {
		if !slices.Contains(e.webhookIDs(t, "acme"), h.id) {
			t.Errorf("webhook %s is gone after the DeleteWebhook rows", h.id)
		}
	})
}

// badSignatures: forged and replayed signatures on STRIPE webhooks.
func badSignatures(t *testing.T, e *badEnv) {
	s := verifytest.Find("STRIPE")
	key := verifytest.Key{Secret: e.stripe.secret}
	url := e.d.edge + e.stripe.path() + "?key=" + e.stripe.key
	n := 0
	in := func() verifytest.Input {
		n++
		return verifytest.Input{URL: url, Body: s.Body(n), Time: time.Now()}
	}
	sendCall := func(c verifytest.Call, extra ...string) answer {
		a := send(t, c, extra...)
		e.secrets.scan(t, "answer to a signed call", a.body)
		return a
	}
	before := e.stored(t, e.stripe.subject)

	// Forged: every way verifytest spoils a Stripe call, and a call
	// signed for the other STRIPE webhook sent to this one.
	bad := s.Bad(in(), key)
	other := s.Sign(verifytest.Input{URL: e.d.edge + e.stripe2.path() + "?key=" + e.stripe2.key, Body: s.Body(1000), Time: time.Now()}, verifytest.Key{Secret: e.stripe2.secret})
	other.URL = url
	bad = append(bad, verifytest.Bad{Case: "signed for another webhook", Reason: verifytest.SignatureMismatch, Call: other})
	var cases []string
	for _, b := range bad {
		t.Run("forged/"+b.Case, func(t *testing.T) {
			a := sendCall(b.Call, "X-Test-Case", b.Case)
			if a.status != http.StatusUnauthorized || strings.TrimSpace(a.body) != genericRefusal {
				t.Errorf("%d %q, want 401 %s", a.status, a.body, genericRefusal)
			}
		})
		cases = append(cases, b.Case)
	}

	// Replayed: the same valid call twice is one event (same id, one
	// message); the same signature on another body is a mismatch; an old
	// signed call replayed after the tolerance is refused.
	valid := s.Sign(in(), key)
	first := eventID(t, sendCall(valid), "valid call")
	t.Run("replayed within the tolerance", func(t *testing.T) {
		if again := eventID(t, sendCall(valid.Clone()), "replay"); again != first {
			t.Errorf("replay answered event %s, want the first call's %s", again, first)
		}
	})
	t.Run("replayed signature on another body", func(t *testing.T) {
		c := valid.Clone()
		c.Body = s.Body(2000)
		if a := sendCall(c, "X-Test-Case", "replayed on another body"); a.status != http.StatusUnauthorized || strings.TrimSpace(a.body) != genericRefusal {
			t.Errorf("%d %q, want 401", a.status, a.body)
		}
	})
	stale := in()
	stale.Time = time.Now().Add(-s.MaxAge - 2*time.Minute)
	t.Run("replayed after the tolerance", func(t *testing.T) {
		if a := sendCall(s.Sign(stale, key), "X-Test-Case", "replayed late"); a.status != http.StatusUnauthorized || strings.TrimSpace(a.body) != genericRefusal {
			t.Errorf("%d %q, want 401", a.status, a.body)
		}
	})
	if got := e.stored(t, e.stripe.subject); got != before+1 {
		t.Errorf("%s holds %d new messages, want the one valid call", e.stripe.subject, got-before)
	}

	// Each refusal is recorded with its precise reason (the public answer
	// is generic on purpose), and the signature header is redacted.
	want := map[string]string{"replayed on another body": verifytest.SignatureMismatch, "replayed late": verifytest.TimestampOutsideTolerance}
	for _, b := range bad {
		want[b.Case] = b.Reason
	}
	var got map[string]*hookgatev1.FailedTrigger
	poll.Until(t, 15*time.Second, "the failed triggers of the forged calls", func() bool {
		var resp hookgatev1.ListFailedTriggersResponse
		e.must(t, e.platform, "hookgate.v1.InboundWebhookService/ListFailedTriggers", &hookgatev1.ListFailedTriggersRequest{Tenant: "acme", WebhookId: e.stripe.id, PageSize: 1000}, &resp)
		got = map[string]*hookgatev1.FailedTrigger{}
		for _, f := range resp.GetFailedTriggers() {
			if c := f.GetHeaders()["X-Test-Case"].GetValues(); len(c) == 1 {
				got[c[0].GetStringValue()] = f
			}
		}
		return len(got) >= len(want)
	})
	for c, reason := range want {
		f := got[c]
		if f.GetReason() != reason || f.GetStatusCode() != http.StatusUnauthorized {
			t.Errorf("%s: recorded %q %d, want %q 401", c, f.GetReason(), f.GetStatusCode(), reason)
		}
		if sig := f.GetHeaders()["Stripe-Signature"].GetValues(); len(sig) > 0 && (len(sig) != 1 || sig[0].GetStringValue() != "REDACTED") {
			t.Errorf("%s: Stripe-Signature recorded as %q", c, sig)
		}
	}
}

// badTokens: another tenant's valid tokens on acme's resources, producer
// tokens and other credentials on admin methods.
func badTokens(t *testing.T, e *badEnv) {
	h := e.hooks["tokens"]
	webhooks, tokens, tenants := e.webhookIDs(t, "acme"), e.tokenIDs(t, "acme"), e.tenantIDs(t)
	nodeToken := devSecrets(t, e.d.dir)[0]
	const producerText = "a producer token (hgp_…) may only send messages through the edge"
	newWebhook := `{"webhook":{"tenant":"acme","name":"intruder","provider":"PROVIDER_GENERIC","bindings":[{"processId":"intruder","threadId":"main","trigger":"TRIGGER_START_PROCESS"}]}}`
	for _, tt := range []struct {
		name, token, method, body string
		code, text                string
	}{
		{"other tenant: GetWebhook", e.other, "InboundWebhookService/GetWebhook", `{"tenant":"acme","webhookId":"` + h.id + `"}`, "permission_denied", "scoped to another tenant"},
		{"other tenant: ListWebhooks", e.other, "InboundWebhookService/ListWebhooks", `{"tenant":"acme"}`, "permission_denied", "scoped to another tenant"},
		{"other tenant: CreateWebhook", e.other, "InboundWebhookService/CreateWebhook", newWebhook, "permission_denied", "scoped to another tenant"},
		{"other tenant: DeleteWebhook", e.other, "InboundWebhookService/DeleteWebhook", `{"tenant":"acme","webhookId":"` + h.id + `"}`, "permission_denied", "scoped to another tenant"},
		{"other tenant: RotateWebhookKey", e.other, "InboundWebhookService/RotateWebhookKey", `{"tenant":"acme","webhookId":"` + h.id + `"}`, "permission_denied", "scoped to another tenant"},
		{"other tenant: ListFailedTriggers", e.other, "InboundWebhookService/ListFailedTriggers", `{"tenant":"acme","webhookId":"` + h.id + `"}`, "permission_denied", "scoped to another tenant"},
		{"other tenant: UpdateTenant", e.other, "TenantService/UpdateTenant", `{"tenant":{"id":"acme","displayName":"x"},"updateMask":"displayName"}`, "permission_denied", "scoped to another tenant"},
		{"other tenant: CreateAdminToken", e.other, "TenantService/CreateAdminToken", `{"tenant":"acme"}`, "permission_denied", "scoped to another tenant"},
		{"other tenant: ListAdminTokens", e.other, "TenantService/ListAdminTokens", `{"tenant":"acme"}`, "permission_denied", "scoped to another tenant"},
		{"other tenant: RevokeAdminToken", e.other, "TenantService/RevokeAdminToken", `{"id":"` + e.acmeTokenID + `"}`, "not_found", "token"},
		{"other tenant: CreateTenant", e.other, "TenantService/CreateTenant", `{"tenant":{"id":"intruder"}}`, "permission_denied", "platform"},
		{"other tenant: ListEndpoints", e.other, "EndpointService/ListEndpoints", `{"tenant":"acme","applicationId":"` + e.app + `"}`, "permission_denied", "scoped to another tenant"},
		{"producer: ListWebhooks", e.producer, "InboundWebhookService/ListWebhooks", `{"tenant":"acme"}`, "permission_denied", producerText},
		{"producer: CreateWebhook", e.producer, "InboundWebhookService/CreateWebhook", newWebhook, "permission_denied", producerText},
		{"producer: GetTenant", e.producer, "TenantService/GetTenant", `{"tenant":"acme"}`, "permission_denied", producerText},
		{"producer: CreateAdminToken", e.producer, "TenantService/CreateAdminToken", `{"tenant":"acme"}`, "permission_denied", producerText},
		{"producer: CreateTenant", e.producer, "TenantService/CreateTenant", `{"tenant":{"id":"intruder"}}`, "permission_denied", producerText},
		{"producer: ListNodes", e.producer, "EdgeService/ListNodes", `{}`, "permission_denied", producerText},
		{"producer: SendMessage on the admin port", e.producer, "MessageService/SendMessage", `{"message":{"tenant":"acme"}}`, "permission_denied", producerText},
		{"webhook key as a token", h.key, "TenantService/ListTenants", `{}`, "unauthenticated", "token"},
		{"node token as a token", nodeToken, "TenantService/ListTenants", `{}`, "unauthenticated", "token"},
		{"made-up admin token", "hga_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "TenantService/ListTenants", `{}`, "unauthenticated", "token"},
		{"no token", "", "TenantService/ListTenants", `{}`, "unauthenticated", "token"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := e.rpc(t, e.admin, tt.token, "hookgate.v1."+tt.method, []byte(tt.body))
			if a.code != tt.code || !strings.Contains(a.message, tt.text) {
				t.Errorf("%s: %s %q, want %s with %q", tt.method, a.code, a.message, tt.code, tt.text)
			}
		})
	}
	t.Run("nothing created or deleted", func(t *testing.T) {
		if got := e.webhookIDs(t, "acme"); !slices.Equal(got, webhooks) {
			t.Errorf("acme's webhooks %v, want %v", got, webhooks)
		}
		if got := e.tokenIDs(t, "acme"); !slices.Equal(got, tokens) {
			t.Errorf("acme's tokens %v, want %v", got, tokens)
		}
		if got := e.tenantIDs(t); !slices.Equal(got, tenants) {
			t.Errorf("tenants %v, want %v", got, tenants)
		}
	})

	// At the edge: SendMessage for acme with other's producer and admin
	// tokens, and other's webhook key on acme's webhook.
	payload, _ := structpb.NewValue(map[string]any{"orderId": "ORD-1"})
	msg, _ := json.Marshal(map[string]any{"message": map[string]any{"tenant": "acme", "applicationId": e.app, "eventType": "order.created", "payload": payload.AsInterface()}})
	for _, tt := range []struct{ name, token, code string }{
		{"edge: other's producer token", e.otherProducer, "permission_denied"},
		{"edge: other's admin token", e.other, "permission_denied"},
		{"edge: acme's webhook key", h.key, "unauthenticated"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if a := e.rpc(t, e.edge, tt.token, "hookgate.v1.MessageService/SendMessage", msg); a.code != tt.code {
				t.Errorf("SendMessage: %s %q, want %s", a.code, a.message, tt.code)
			}
		})
	}
	runEdgeRows(t, e, e.edge, h.subject, []edgeRow{
		{name: "edge: other tenant's webhook key", req: request("POST", h.path(), []string{"X-Hookgate-Key: " + e.otherHook.key, "Content-Length: 2"}, []byte("{}")),
			status: 401, text: "missing or invalid API key"},
		{name: "edge: admin token as the key", req: request("POST", h.path(), []string{"Authorization: Bearer " + e.acme, "Content-Length: 2"}, []byte("{}")),
			status: 401, text: "missing or invalid API key"},
	})
}

// ssrfURLs: endpoint URLs that reach loopback, private, link-local and
// metadata addresses. Ambiguous numeric hosts (decimal, octal, hex and
// short IPv4 forms) are refused at registration; every other URL is
// registered (the control plane cannot know each dispatcher's
// --allow-private-cidrs; dev allows 127.0.0.1/32) and refused when the
// dispatcher dials: its attempts have class blocked_address and no
// status, and no listener on those addresses is called. Redirects are an
// answer, never followed.
func ssrfURLs(t *testing.T, e *badEnv) {
	blocked := newHitServer(t, "127.0.0.2:0")
	port := blocked.port
	target := newHitServer(t, "127.0.0.1:0")
	redirector := newRedirectServer(t, map[string]string{
		"/to-metadata": "http://169.254.169.254/latest/meta-data/",
		"/to-loopback": "http://127.0.0.2:" + port + "/redirected",
		"/to-allowed":  "http://127.0.0.1:" + target.port + "/redirected",
	})

	refusedBefore := e.endpointIDs(t, e.refusedApp)
	for _, tt := range []struct{ name, url string }{
		{"decimal IPv4", "http://2130706433:" + port + "/"},
		{"octal IPv4", "http://0177.0.0.1:" + port + "/"},
		{"octal IPv4, all leading zeros", "http://0177.0000.0000.0002:" + port + "/"},
		{"hex IPv4", "http://0x7f.0.0.2:" + port + "/"},
		{"hex IPv4, one number", "http://0x7f000002:" + port + "/"},
		{"short IPv4", "http://127.2:" + port + "/"},
		{"IPv4 with a trailing dot", "http://127.0.0.2.:" + port + "/"},
		{"metadata, decimal", "http://2852039166/latest/meta-data/"},
	} {
		t.Run("refused at registration/"+tt.name, func(t *testing.T) {
			a := e.call(t, e.acme, "hookgate.v1.EndpointService/CreateEndpoint", &hookgatev1.CreateEndpointRequest{Endpoint: &hookgatev1.Endpoint{
				Tenant: "acme", ApplicationId: e.refusedApp, Url: tt.url, EventTypes: []string{"order.created"}}}, nil)
			if a.code != "invalid_argument" || !strings.Contains(a.message, "endpoint.url") || !strings.Contains(a.message, "IPv4") {
				t.Errorf("CreateEndpoint %s: %s %q, want invalid_argument on endpoint.url naming the IPv4 form", tt.url, a.code, a.message)
			}
		})
	}
	t.Run("refused at registration/nothing written", func(t *testing.T) {
		if got := e.endpointIDs(t, e.refusedApp); !slices.Equal(got, refusedBefore) {
			t.Errorf("endpoints of the refused application %v, want %v", got, refusedBefore)
		}
	})

	type delivered struct {
		name, url string
		// rng is the blocked range the address is in; "" for the redirect
		// rows (status 302, class http_status).
		rng string
		id  string
	}
	rows := []*delivered{
		{name: "loopback 127.0.0.2", url: "http://127.0.0.2:" + port + "/v4", rng: "loopback"},
		{name: "unspecified 0.0.0.0", url: "http://0.0.0.0:" + port + "/zero", rng: "unspecified"},
		{name: "IPv6 loopback", url: "http://[::1]:" + port + "/v6", rng: "loopback"},
		{name: "IPv4-mapped loopback", url: "http://[::ffff:127.0.0.2]:" + port + "/mapped", rng: "loopback"},
		{name: "IPv4-mapped loopback, hex", url: "http://[::ffff:7f00:2]:" + port + "/mapped-hex", rng: "loopback"},
		{name: "NAT64 of loopback", url: "http://[64:ff9b::7f00:2]:" + port + "/nat64", rng: "loopback"},
		{name: "metadata 169.254.169.254", url: "http://169.254.169.254/latest/meta-data/", rng: "metadata"},
		{name: "metadata, IPv4-mapped", url: "http://[::ffff:169.254.169.254]/latest/meta-data/", rng: "metadata"},
		{name: "metadata, AWS IPv6", url: "http://[fd00:ec2::254]/latest/meta-data/", rng: "metadata"},
		{name: "link-local 169.254.1.1", url: "http://169.254.1.1/", rng: "link-local"},
		{name: "private 10/8", url: "http://10.0.0.1/", rng: "private"},
		{name: "private 172.16/12", url: "https://172.16.0.1/", rng: "private"},
		{name: "private 192.168/16", url: "http://192.168.0.1/", rng: "private"},
		{name: "CGNAT 100.64/10", url: "http://100.64.0.1/", rng: "cgnat"},
		{name: "IPv6 unique local", url: "http://[fc00::1]/", rng: "private"},
		{name: "IPv6 link-local", url: "http://[fe80::1]/", rng: "link-local"},
		{name: "name resolving to 127.0.0.2", url: "http://rebind.hookgate.test:" + port + "/dns", rng: "loopback"},
		{name: "name resolving to the metadata address", url: "http://meta.hookgate.test/latest/meta-data/", rng: "metadata"},
		{name: "name resolving to 10.1.2.3", url: "http://private.hookgate.test/", rng: "private"},
		{name: "name resolving to ::1", url: "http://v6.hookgate.test:" + port + "/dns6", rng: "loopback"},
		{name: "redirect to the metadata address", url: redirector.URL + "/to-metadata"},
		{name: "redirect to loopback", url: redirector.URL + "/to-loopback"},
		{name: "redirect to an allowed address", url: redirector.URL + "/to-allowed"},
	}
	for _, r := range rows {
		var resp hookgatev1.CreateEndpointResponse
		e.must(t, e.acme, "hookgate.v1.EndpointService/CreateEndpoint", &hookgatev1.CreateEndpointRequest{Endpoint: &hookgatev1.Endpoint{
			Tenant: "acme", ApplicationId: e.app, Url: r.url, EventTypes: []string{"order.created"}}}, &resp)
		e.secrets.add(resp.GetSecret())
		r.id = resp.GetEndpoint().GetId()
	}
	// A message to every endpoint, sent through the edge with the producer
	// token once the edge holds the application and its type.
	msg := []byte(`{"message":{"tenant":"acme","applicationId":"` + e.app + `","eventType":"order.created","payload":{"orderId":"ORD-SSRF"}}}`)
	poll.Until(t, 15*time.Second, "SendMessage to be accepted", func() bool {
		a := e.rpc(t, e.edge, e.producer, "hookgate.v1.MessageService/SendMessage", msg)
		return a.code == ""
	})
	for _, r := range rows {
		t.Run("refused at delivery/"+r.name, func(t *testing.T) {
			var got hookgatev1.ListAttemptsResponse
			poll.Until(t, 30*time.Second, "an attempt to "+r.url, func() bool {
				e.must(t, e.acme, "hookgate.v1.AttemptService/ListAttempts", &hookgatev1.ListAttemptsRequest{Tenant: "acme", EndpointId: r.id}, &got)
				return len(got.GetAttempts()) > 0
			})
			for _, a := range got.GetAttempts() {
				switch {
				case r.rng != "" && (a.GetErrorClass() != "blocked_address" || a.GetResponseStatusCode() != 0 || a.GetError() != "blocked_address"):
					t.Errorf("attempt %d: class %q status %d error %q, want blocked_address and no status (range %s)", a.GetAttemptNumber(), a.GetErrorClass(), a.GetResponseStatusCode(), a.GetError(), r.rng)
				case r.rng == "" && (a.GetErrorClass() != "http_status" || a.GetResponseStatusCode() != http.StatusFound):
					t.Errorf("attempt %d: class %q status %d, want the 302 itself (http_status)", a.GetAttemptNumber(), a.GetErrorClass(), a.GetResponseStatusCode())
				}
			}
		})
	}
	t.Run("no blocked listener was called", func(t *testing.T) {
		if hits := blocked.hits() + target.hits(); hits != 0 {
			t.Errorf("%d requests reached listeners only a blocked address or a redirect leads to", hits)
		}
		if n := redirector.hits(); n < 3 {
			t.Errorf("the redirecting endpoint got %d requests, want one per redirect row at least", n)
		}
	})
}

// hitServer counts the requests it gets.
type hitServer struct {
	*countingHandler
	URL, port string
}

func newHitServer(t *testing.T, addr string) *hitServer {
	t.Helper()
	h := &countingHandler{}
	url, port := serveOn(t, addr, h)
	return &hitServer{countingHandler: h, URL: url, port: port}
}

// newRedirectServer answers each path of to with a 302 to its location.
func newRedirectServer(t *testing.T, to map[string]string) *hitServer {
	t.Helper()
	h := &countingHandler{next: func(w http.ResponseWriter, r *http.Request) {
		if loc, ok := to[r.URL.Path]; ok {
			http.Redirect(w, r, loc, http.StatusFound)
			return
		}
		http.NotFound(w, r)
	}}
	url, port := serveOn(t, "127.0.0.1:0", h)
	return &hitServer{countingHandler: h, URL: url, port: port}
}
