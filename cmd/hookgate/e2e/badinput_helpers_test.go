package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// Helpers of TestBadInput (badinput_test.go): one `hookgate dev` shared by
// every row, the secrets the test made, raw TCP requests, Connect JSON
// calls, and a DNS server that maps names to blocked addresses.

// badEnv is the dev server of TestBadInput and what its set-up made.
type badEnv struct {
	d       *devServer
	edge    string // host:port of the edge
	admin   string // host:port of the admin API
	js      jetstream.JetStream
	secrets *secretSet

	// Tokens: the bootstrap platform token, admin tokens of the tenants
	// acme and other, and producer tokens of both.
	platform, acme, other, producer, otherProducer string
	acmeTokenID                                    string

	// Webhooks of acme, one per group, and one of other.
	hooks     map[string]badHook
	otherHook badHook
	// stripe and stripe2 are two STRIPE webhooks of acme with different
	// signing secrets.
	stripe, stripe2 badHook
	// app is acme's application for outbound rows, refusedApp one that
	// only ever sees refused creates.
	app, refusedApp string
}

// badHook is a created webhook: its id, key, process subject and, for a
// signed one, its secret.
type badHook struct {
	id, key, subject, secret string
}

// path is the webhook's inbound path.
func (h badHook) path() string { return "/in/acme/" + h.id }

// secretSet holds every secret the test made and scans text for them.
type secretSet struct {
	mu   sync.Mutex
	vals []string
}

func (s *secretSet) add(vs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range vs {
		if len(v) >= 8 {
			s.vals = append(s.vals, v)
		}
	}
}

// scan fails t when text holds one of the secrets; where says what text is.
func (s *secretSet) scan(t *testing.T, where, text string) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range s.vals {
		if strings.Contains(text, v) {
			t.Errorf("%s leaks the secret %.8s…", where, v)
		}
	}
}

func (s *secretSet) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.vals)
}

// rpcAnswer is a Connect unary answer: code "" is success, else the
// Connect error code ("permission_denied") with its message.
type rpcAnswer struct {
	status        int
	code, message string
	body          string
}

// rpc posts body (Connect JSON) to method ("hookgate.v1.TenantService/GetTenant")
// on base with token ("" sends none) and scans the answer for secrets.
func (e *badEnv) rpc(t *testing.T, base, token, method string, body []byte) rpcAnswer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+base+"/"+method, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("request %s: %v", method, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := (&http.Client{}).Do(req)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	a := rpcAnswer{status: res.StatusCode, body: string(b)}
	e.secrets.scan(t, method+" answer", a.body)
	if res.StatusCode != http.StatusOK {
		var m struct{ Code, Message string }
		if err := json.Unmarshal(b, &m); err != nil || m.Code == "" {
			t.Fatalf("%s: HTTP %d with no Connect error: %q", method, res.StatusCode, b)
		}
		a.code, a.message = m.Code, m.Message
	}
	return a
}

// call is rpc on the admin API with proto messages; out may be nil.
func (e *badEnv) call(t *testing.T, token, method string, in, out proto.Message) rpcAnswer {
	t.Helper()
	body, err := protojson.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	a := e.rpc(t, e.admin, token, method, body)
	if a.code == "" && out != nil {
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal([]byte(a.body), out); err != nil {
			t.Fatalf("%s answer: %v", method, err)
		}
	}
	return a
}

// must is call that fails the test unless the call succeeds.
func (e *badEnv) must(t *testing.T, token, method string, in, out proto.Message) {
	t.Helper()
	if a := e.call(t, token, method, in, out); a.code != "" {
		t.Fatalf("%s: %s %s", method, a.code, a.message)
	}
}

// rawAnswer is what a server answered on a raw connection.
type rawAnswer struct {
	status int
	body   string
	err    error // no answer could be read
}

// raw sends req as bytes on a new TCP connection to addr (writing in the
// background, so a server that answers before reading everything is seen)
// and reads one answer. closeWrite half-closes after req.
func (e *badEnv) raw(t *testing.T, addr string, req []byte, closeWrite bool) rawAnswer {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	go func() {
		_, _ = conn.Write(req)
		if closeWrite {
			_ = conn.(*net.TCPConn).CloseWrite()
		}
	}()
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return rawAnswer{err: err}
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	a := rawAnswer{status: res.StatusCode, body: string(b)}
	e.secrets.scan(t, "answer on "+addr, a.body)
	return a
}

// request is the bytes of an HTTP/1.1 request with headers (name: value
// lines) and body; Host and Connection: close are added.
func request(method, target string, headers []string, body []byte) []byte {
	var b bytes.Buffer
	b.WriteString(method + " " + target + " HTTP/1.1\r\nHost: hookgate.test\r\nConnection: close\r\n")
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	b.Write(body)
	return b.Bytes()
}

// chunked frames the parts of body as HTTP/1.1 chunks and ends the body.
func chunked(parts ...[]byte) []byte {
	var b bytes.Buffer
	for _, p := range parts {
		b.WriteString(strings.ToUpper(hexLen(len(p))) + "\r\n")
		b.Write(p)
		b.WriteString("\r\n")
	}
	b.WriteString("0\r\n\r\n")
	return b.Bytes()
}

func hexLen(n int) string {
	const digits = "0123456789abcdef"
	if n == 0 {
		return "0"
	}
	var out []byte
	for ; n > 0; n /= 16 {
		out = append([]byte{digits[n%16]}, out...)
	}
	return string(out)
}

// stored is the number of messages on subject in HOOKGATE_INBOUND.
func (e *badEnv) stored(t *testing.T, subject string) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := e.js.Stream(ctx, "HOOKGATE_INBOUND")
	if err != nil {
		t.Fatalf("stream HOOKGATE_INBOUND: %v", err)
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(subject))
	if err != nil {
		t.Fatalf("stream info %s: %v", subject, err)
	}
	return info.State.Subjects[subject]
}

// alive fails t unless the dev process runs and every port's /healthz
// answers 200.
func (e *badEnv) alive(t *testing.T) {
	t.Helper()
	select {
	case <-e.d.done:
		t.Fatalf("hookgate dev exited: %v", e.d.err)
	default:
	}
	for _, base := range []string{e.d.edge, e.d.admin, e.d.ops} {
		if code, body := get(t, base+"/healthz"); code != http.StatusOK {
			t.Errorf("%s/healthz: %d %q", base, code, body)
		}
	}
}

// devSecrets are the credentials dev keeps in its data folder: node
// tokens, the NATS user's seed and the keyring's keys.
func devSecrets(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, name := range []string{"edge-token", "dispatcher-token", "nats-user.nk"} {
		b, err := os.ReadFile(filepath.Join(dir, ".hookgate", name))
		if err != nil {
			t.Fatalf("dev credential %s: %v", name, err)
		}
		out = append(out, strings.TrimSpace(string(b)))
	}
	b, err := os.ReadFile(filepath.Join(dir, ".hookgate", "keyring.json"))
	if err != nil {
		t.Fatalf("dev keyring: %v", err)
	}
	var kr struct{ Keys map[string]string }
	if err := json.Unmarshal(b, &kr); err != nil || len(kr.Keys) == 0 {
		t.Fatalf("dev keyring: %v", err)
	}
	for _, k := range kr.Keys {
		out = append(out, k)
	}
	return out
}

// webhookIDs lists the ids of tenant's webhooks with token.
func (e *badEnv) webhookIDs(t *testing.T, tenant string) []string {
	t.Helper()
	var resp hookgatev1.ListWebhooksResponse
	e.must(t, e.platform, "hookgate.v1.InboundWebhookService/ListWebhooks", &hookgatev1.ListWebhooksRequest{Tenant: tenant, PageSize: 1000}, &resp)
	var ids []string
	for _, w := range resp.GetWebhooks() {
		ids = append(ids, w.GetId())
	}
	return ids
}

// endpointIDs lists the ids of the endpoints of acme's application app.
func (e *badEnv) endpointIDs(t *testing.T, app string) []string {
	t.Helper()
	var resp hookgatev1.ListEndpointsResponse
	e.must(t, e.platform, "hookgate.v1.EndpointService/ListEndpoints", &hookgatev1.ListEndpointsRequest{Tenant: "acme", ApplicationId: app, PageSize: 1000}, &resp)
	var ids []string
	for _, ep := range resp.GetEndpoints() {
		ids = append(ids, ep.GetId())
	}
	return ids
}

// tokenIDs lists the ids of tenant's admin and producer tokens.
func (e *badEnv) tokenIDs(t *testing.T, tenant string) []string {
	t.Helper()
	var resp hookgatev1.ListAdminTokensResponse
	e.must(t, e.platform, "hookgate.v1.TenantService/ListAdminTokens", &hookgatev1.ListAdminTokensRequest{Tenant: tenant, PageSize: 1000}, &resp)
	var ids []string
	for _, tk := range resp.GetAdminTokens() {
		ids = append(ids, tk.GetId())
	}
	return ids
}

// tenantIDs lists every tenant.
func (e *badEnv) tenantIDs(t *testing.T) []string {
	t.Helper()
	var resp hookgatev1.ListTenantsResponse
	e.must(t, e.platform, "hookgate.v1.TenantService/ListTenants", &hookgatev1.ListTenantsRequest{PageSize: 1000}, &resp)
	var ids []string
	for _, tn := range resp.GetTenants() {
		ids = append(ids, tn.GetId())
	}
	return ids
}

// countingHandler counts requests, then hands them to next (200 when nil).
type countingHandler struct {
	mu   sync.Mutex
	n    int
	next http.HandlerFunc
}

func (c *countingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
	if c.next != nil {
		c.next(w, r)
	}
}

func (c *countingHandler) hits() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// serveOn serves h on addr until the test ends; it returns the base URL
// and the port.
func serveOn(t *testing.T, addr string, h http.Handler) (string, string) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen on %s (Linux routes 127.0.0.0/8 to loopback): %v", addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return "http://" + ln.Addr().String(), port
}

// slowloris writes head to addr, then drip once a second, and waits for
// the server to close the connection, reading what it answers. It returns
// how long that took and the answer; err is set only when the connection
// was still open after within.
func slowloris(t *testing.T, addr, head, drip string, within time.Duration) (time.Duration, string, error) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer conn.Close()
	start := time.Now()
	if _, err := conn.Write([]byte(head)); err != nil {
		t.Fatalf("write the start of the request: %v", err)
	}
	done := make(chan struct{})
	dripped := make(chan struct{})
	go func() {
		// The slow client itself: a byte a second until the server is gone.
		defer close(dripped)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				if _, err := conn.Write([]byte(drip)); err != nil {
					return
				}
			}
		}
	}()
	_ = conn.SetReadDeadline(start.Add(within))
	answer, err := io.ReadAll(conn)
	close(done)
	<-dripped
	// EOF or a reset (the server closed with our drip unread) is the
	// server closing; only our own deadline means it kept the connection.
	var ne net.Error
	if err != nil && !(errors.As(err, &ne) && ne.Timeout()) {
		err = nil
	}
	return time.Since(start), string(answer), err
}
