package ingress_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/dataplane/ingress"
	"github.com/hookgate/hookgate/dataplane/streams"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

const stripeSecret = "whsec_test-stripe-signing-secret"

// stripeSign signs body as Stripe does: t=…,v1=hex(HMAC-SHA256(secret,
// "{t}.{body}")), with the secret used whole.
func stripeSign(secret string, t time.Time, body string) string {
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "%d.%s", t.Unix(), body)
	return fmt.Sprintf("t=%d,v1=%s", t.Unix(), hex.EncodeToString(m.Sum(nil)))
}

func (e *edgeEnv) stripeHook(id string, requireKey bool) *hookgatev1.EdgeWebhook {
	w := e.hook(id)
	w.Provider = hookgatev1.Provider_PROVIDER_STRIPE
	w.ProviderSecrets = map[string]string{"signing_secret": stripeSecret}
	w.RequireKey = proto.Bool(requireKey)
	e.routes.put(w)
	return w
}

// raw sends a call and returns status, content type and body as text, for
// answers that are not the edge's JSON (handshakes).
func (e *edgeEnv) raw(t *testing.T, c call) (int, string, string) {
	t.Helper()
	if c.method == "" {
		c.method = http.MethodPost
	}
	req, _ := http.NewRequest(c.method, e.url+c.path, strings.NewReader(c.body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range c.headers {
		req.Header.Set(k, v)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

// TestSignatureAtTheEdge: a STRIPE webhook's calls are verified on the raw
// bytes; a bad one is a generic 401 recorded with the precise reason and the
// signature header redacted; a good one is published with the
// verification in its envelope and the Stripe event id as its dedup id.
func TestSignatureAtTheEdge(t *testing.T) {
	t.Parallel()
	e := newEdgeEnv(t)
	e.stripeHook("wh_stripe", true)
	body := `{"id":"evt_1Stripe","type":"invoice.paid","data":{}}`
	path := "/in/acme/wh_stripe?key=" + key1
	now := e.clock()

	bad := []struct {
		name, sig, body, reason string
	}{
		{"tampered body", stripeSign(stripeSecret, now, body), strings.Replace(body, "paid", "void", 1), "signature_mismatch"},
		{"wrong secret", stripeSign("whsec_other", now, body), body, "signature_mismatch"},
		{"stale timestamp", stripeSign(stripeSecret, now.Add(-10*time.Minute), body), body, "timestamp_outside_tolerance"},
		{"future timestamp", stripeSign(stripeSecret, now.Add(10*time.Minute), body), body, "timestamp_outside_tolerance"},
		{"missing header", "", body, "signature_missing"},
	}
	for _, tt := range bad {
		status, _, ans := e.do(t, call{path: path, body: tt.body, headers: map[string]string{"Stripe-Signature": tt.sig}})
		if status != 401 || ans["error"] != "missing or invalid signature" {
			t.Fatalf("%s: %d %v, want 401 with the generic text", tt.name, status, ans)
		}
	}
	if n := len(e.messages(t, streams.Inbound, "hookgate.in.acme.orders.start")); n != 0 {
		t.Fatalf("%d messages published from bad signatures", n)
	}
	fts := e.failures(t, "wh_stripe")
	if len(fts) != len(bad) {
		t.Fatalf("%d failed triggers, want %d", len(fts), len(bad))
	}
	got := map[string]int{}
	for _, ft := range fts {
		got[ft.GetReason()]++
		if lv := ft.GetHeaders()["Stripe-Signature"]; lv != nil && lv.GetValues()[0].GetStringValue() != "REDACTED" {
			t.Errorf("signature header stored in a failed trigger (%s)", ft.GetReason())
		}
	}
	want := map[string]int{}
	for _, tt := range bad {
		want[tt.reason]++
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("failed trigger reasons %v, want %v", got, want)
	}

	// Valid: published, with the verification, deduplicated on Stripe's id.
	for range 2 {
		status, _, ans := e.do(t, call{path: path, body: body, headers: map[string]string{"Stripe-Signature": stripeSign(stripeSecret, now, body)}})
		if status != 200 {
			t.Fatalf("valid signature: %d %v", status, ans)
		}
	}
	msgs := e.messages(t, streams.Inbound, "hookgate.in.acme.orders.start")
	if len(msgs) != 1 {
		t.Fatalf("%d messages for one Stripe event sent twice, want 1", len(msgs))
	}
	if id := msgs[0].Headers().Get("Nats-Msg-Id"); !strings.Contains(id, "evt_1Stripe") {
		t.Fatalf("Nats-Msg-Id %q does not carry the Stripe event id", id)
	}
	env := decode(t, msgs[0].Data())
	if v := env.GetVerification(); v.GetProvider() != "STRIPE" || !v.GetVerified() {
		t.Fatalf("envelope verification %v, want STRIPE verified", v)
	}

	// The API key stays required unless the webhook opts out.
	status, _, _ := e.do(t, call{path: "/in/acme/wh_stripe", body: body, headers: map[string]string{"Stripe-Signature": stripeSign(stripeSecret, now, body)}})
	if status != 401 {
		t.Fatalf("valid signature without the required key: %d, want 401", status)
	}
}

// TestRequireKeyFalse: a webhook that opts out of the key is authenticated
// by its signature alone, and a key sent anyway must still be right.
func TestRequireKeyFalse(t *testing.T) {
	t.Parallel()
	e := newEdgeEnv(t)
	e.stripeHook("wh_nokey", false)
	body := `{"id":"evt_2","type":"x"}`
	sig := map[string]string{"Stripe-Signature": stripeSign(stripeSecret, e.clock(), body)}
	if status, _, ans := e.do(t, call{path: "/in/acme/wh_nokey", body: body, headers: sig}); status != 200 {
		t.Fatalf("signature without key: %d %v", status, ans)
	}
	if status, _, _ := e.do(t, call{path: "/in/acme/wh_nokey?key=hgk_wrong", body: body, headers: sig}); status != 401 {
		t.Fatalf("wrong key on a webhook that needs none: %d, want 401", status)
	}
	if status, _, _ := e.do(t, call{path: "/in/acme/wh_nokey", body: body}); status != 401 {
		t.Fatalf("no key and no signature: %d, want 401", status)
	}
}

// TestRotatedProviderSecret: during a rotation's grace period the previous
// value verifies beside the current one; after its expiry it does not.
func TestRotatedProviderSecret(t *testing.T) {
	t.Parallel()
	e := newEdgeEnv(t)
	w := e.stripeHook("wh_rot", true)
	w = proto.Clone(w).(*hookgatev1.EdgeWebhook)
	w.ProviderSecrets["signing_secret"] = "whsec_new"
	w.PreviousProviderSecrets = map[string]*hookgatev1.PreviousSecret{
		"signing_secret": {Value: stripeSecret, ExpireTime: timestamppb.New(e.clock().Add(time.Hour))},
	}
	e.routes.put(w)
	path := "/in/acme/wh_rot?key=" + key1
	for i, secret := range []string{"whsec_new", stripeSecret} {
		body := fmt.Sprintf(`{"id":"evt_rot%d"}`, i)
		if status, _, ans := e.do(t, call{path: path, body: body, headers: map[string]string{"Stripe-Signature": stripeSign(secret, e.clock(), body)}}); status != 200 {
			t.Fatalf("secret %d during the grace period: %d %v", i, status, ans)
		}
	}
	e.advance(time.Hour)
	body := `{"id":"evt_rot_late"}`
	if status, _, _ := e.do(t, call{path: path, body: body, headers: map[string]string{"Stripe-Signature": stripeSign(stripeSecret, e.clock(), body)}}); status != 401 {
		t.Fatalf("previous secret after its expiry: %d, want 401", status)
	}
}

// TestHandshakesAnsweredNotForwarded: Slack's url_verification (after its
// signature verified) and Meta's GET hub.challenge are answered by the edge
// and never published.
func TestHandshakesAnsweredNotForwarded(t *testing.T) {
	t.Parallel()
	e := newEdgeEnv(t)
	slack := e.hook("wh_slack")
	slack.Provider = hookgatev1.Provider_PROVIDER_SLACK
	slack.ProviderSecrets = map[string]string{"signing_secret": "slack-secret"}
	e.routes.put(slack)
	meta := e.hook("wh_meta")
	meta.Provider = hookgatev1.Provider_PROVIDER_META
	meta.ProviderSecrets = map[string]string{"app_secret": "meta-secret", "verify_token": "meta-verify"}
	e.routes.put(meta)

	body := `{"token":"x","challenge":"c-123","type":"url_verification"}`
	ts := fmt.Sprint(e.clock().Unix())
	m := hmac.New(sha256.New, []byte("slack-secret"))
	fmt.Fprintf(m, "v0:%s:%s", ts, body)
	slackSig := "v0=" + hex.EncodeToString(m.Sum(nil))
	status, ctype, got := e.raw(t, call{path: "/in/acme/wh_slack?key=" + key1, body: body,
		headers: map[string]string{"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": slackSig}})
	var ans struct{ Challenge string }
	if status != 200 || !strings.HasPrefix(ctype, "application/json") || json.Unmarshal([]byte(got), &ans) != nil || ans.Challenge != "c-123" {
		t.Fatalf("slack url_verification: %d %q %q", status, ctype, got)
	}
	// Unsigned, the same handshake is refused.
	if status, _, _ := e.raw(t, call{path: "/in/acme/wh_slack?key=" + key1, body: body}); status != 401 {
		t.Fatalf("unsigned url_verification: %d, want 401", status)
	}

	q := "?key=" + key1 + "&hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token="
	status, ctype, got = e.raw(t, call{method: http.MethodGet, path: "/in/acme/wh_meta" + q + "meta-verify"})
	if status != 200 || !strings.HasPrefix(ctype, "text/plain") || got != "1158201444" {
		t.Fatalf("meta GET handshake: %d %q %q", status, ctype, got)
	}
	if status, _, _ := e.raw(t, call{method: http.MethodGet, path: "/in/acme/wh_meta" + q + "wrong"}); status != 403 {
		t.Fatalf("meta GET with the wrong verify token: %d, want 403", status)
	}
	// GET on a webhook whose provider has no GET handshake stays 405.
	if status, _, _ := e.raw(t, call{method: http.MethodGet, path: "/in/acme/wh_slack?key=" + key1}); status != 405 {
		t.Fatalf("GET on a Slack webhook: %d, want 405", status)
	}
	for _, subject := range []string{"hookgate.in.acme.orders.start"} {
		if n := len(e.messages(t, streams.Inbound, subject)); n != 0 {
			t.Fatalf("%d handshake messages published", n)
		}
	}
}

// TestPublicURLForURLSigning: URL-signing schemes verify the public URL:
// rebuilt from PublicURL, not from Host; without it, X-Forwarded-* count
// only from trusted proxies.
func TestPublicURLForURLSigning(t *testing.T) {
	t.Parallel()
	sign := func(url, body string) string {
		m := hmac.New(sha256.New, []byte("square-key"))
		io.WriteString(m, url+body)
		return base64Std(m.Sum(nil))
	}
	square := func(e *edgeEnv) {
		w := e.hook("wh_sq")
		w.Provider = hookgatev1.Provider_PROVIDER_SQUARE
		w.ProviderSecrets = map[string]string{"signature_key": "square-key"}
		e.routes.put(w)
	}
	body := `{"event_id":"sq-1"}`
	path := "/in/acme/wh_sq?key=" + key1

	withBase := newEdgeEnvWith(t, envOptions{config: func(c *ingress.Config) { c.PublicURL = "https://hooks.example.com" }})
	square(withBase)
	status, _, ans := withBase.do(t, call{path: path, body: body, headers: map[string]string{
		"X-Square-Hmacsha256-Signature": sign("https://hooks.example.com"+path, body), "Host": "evil.example"}})
	if status != 200 {
		t.Fatalf("signed public URL: %d %v", status, ans)
	}

	proxied := newEdgeEnvWith(t, envOptions{config: func(c *ingress.Config) {
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	}})
	square(proxied)
	fwd := map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "hooks.example.com",
		"X-Square-Hmacsha256-Signature": sign("https://hooks.example.com"+path, body)}
	if status, _, ans := proxied.do(t, call{path: path, body: body, headers: fwd}); status != 200 {
		t.Fatalf("forwarded URL from a trusted proxy: %d %v", status, ans)
	}
	untrusted := newEdgeEnv(t)
	square(untrusted)
	if status, _, _ := untrusted.do(t, call{path: path, body: body, headers: fwd}); status != 401 {
		t.Fatalf("forwarded URL from an untrusted peer: %d, want 401", status)
	}
}

func base64Std(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
