package ingress_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/dataplane/streams"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/testkit/poll"
)

// TestKeyInEveryValue: the key is looked for in every value of every
// key-bearing header and query parameter, and no value carrying it reaches
// the envelope.
func TestKeyInEveryValue(t *testing.T) {
	t.Parallel()
	e := newEdgeEnv(t)
	e.hook("wh_keys")
	basic := "Basic dXNlcjpwYXNz"
	many := http.Header{}
	for range 16 {
		many.Add("X-Hookgate-Key", "hgk_wrong")
	}
	many.Add("X-Hookgate-Key", key1)
	tests := []struct {
		name   string
		call   call
		status int
		auth   []string // the envelope's Authorization values
	}{
		{"basic then bearer", call{extra: http.Header{"Authorization": {basic, "Bearer " + key1}}}, 200, []string{basic}},
		{"bearer then basic", call{extra: http.Header{"Authorization": {"bearer  " + key1, basic}}}, 200, []string{basic}},
		{"wrong bearer then right bearer", call{extra: http.Header{"Authorization": {"Bearer hgk_wrong", "Bearer " + key1}}}, 200, nil},
		{"provider bearer kept", call{extra: http.Header{"Authorization": {"Bearer provider-token"}, "X-Hookgate-Key": {key1}}}, 200, []string{"Bearer provider-token"}},
		{"wrong header then right header", call{extra: http.Header{"X-Hookgate-Key": {"hgk_wrong", key1}}}, 200, nil},
		{"second query key", call{path: "?a=1&key=hgk_wrong&key=" + key1}, 200, nil},
		{"escaped query key", call{path: "?key=" + url.QueryEscape(key1)}, 200, nil},
		{"query key with a wrong header key", call{path: "?key=" + key1, extra: http.Header{"X-Hookgate-Key": {"hgk_wrong"}}}, 200, nil},

		{"only wrong values", call{path: "?key=hgk_wrong", extra: http.Header{"Authorization": {basic, "Bearer hgk_wrong"}, "X-Hookgate-Key": {"hgk_wrong"}}}, 401, nil},
		{"key in basic only", call{extra: http.Header{"Authorization": {"Basic " + key1}}}, 401, nil},
		{"key under another parameter", call{path: "?apikey=" + key1}, 401, nil},
		{"more than 16 key values", call{extra: many}, 401, nil},
	}
	accepted := 0
	for i, tt := range tests {
		c := tt.call
		c.path = "/in/acme/wh_keys" + c.path
		c.body = `{"n":` + strings.Repeat("1", i+1) + `}` // distinct events
		status, _, ans := e.do(t, c)
		if status != tt.status {
			t.Errorf("%s: status %d %v, want %d", tt.name, status, ans, tt.status)
			continue
		}
		if status != 200 {
			continue
		}
		accepted++
		msgs := e.messages(t, streams.Inbound, "hookgate.in.acme.orders.start")
		if len(msgs) != accepted {
			t.Fatalf("%s: %d messages, want %d", tt.name, len(msgs), accepted)
		}
		m := msgs[accepted-1]
		if strings.Contains(string(m.Data()), key1[4:]) {
			t.Fatalf("%s: the API key reached the envelope: %s", tt.name, m.Data())
		}
		for name, vs := range m.Headers() {
			if strings.Contains(strings.Join(vs, " "), key1[4:]) {
				t.Fatalf("%s: the API key reached NATS header %s", tt.name, name)
			}
		}
		env := decode(t, m.Data())
		var auth []string
		if lv := env.WebhookMessage.Headers["Authorization"]; lv != nil {
			for _, v := range lv.Values {
				auth = append(auth, v.GetStringValue())
			}
		}
		if strings.Join(auth, "|") != strings.Join(tt.auth, "|") {
			t.Errorf("%s: envelope Authorization %q, want %q", tt.name, auth, tt.auth)
		}
		if env.WebhookMessage.Headers["X-Hookgate-Key"] != nil {
			t.Errorf("%s: X-Hookgate-Key reached the envelope", tt.name)
		}
	}
}

// TestProviderSecretHeaders: a header that carries the provider's secret
// never reaches the envelope, and failed triggers redact the headers a
// CUSTOM_HMAC configuration names.
func TestProviderSecretHeaders(t *testing.T) {
	t.Parallel()
	e := newEdgeEnv(t)
	gl := e.hook("wh_gitlab")
	gl.Provider = hookgatev1.Provider_PROVIDER_GITLAB
	gl.ProviderSecrets = map[string]string{"token": "gitlab-s3cret"}
	e.routes.put(gl)
	status, _, ans := e.do(t, call{path: "/in/acme/wh_gitlab?key=" + key1, body: `{}`,
		headers: map[string]string{"X-Gitlab-Token": "gitlab-s3cret", "X-Gitlab-Event": "Push Hook"}})
	if status != 200 {
		t.Fatalf("gitlab: %d %v", status, ans)
	}
	msgs := e.messages(t, streams.Inbound, "hookgate.in.acme.orders.start")
	if len(msgs) != 1 || strings.Contains(string(msgs[0].Data()), "gitlab-s3cret") {
		t.Fatalf("%d messages; the GitLab token reached the envelope", len(msgs))
	}
	if env := decode(t, msgs[0].Data()); env.WebhookMessage.Headers["X-Gitlab-Event"] == nil {
		t.Fatal("the other GitLab headers are gone too")
	}

	ch := e.hook("wh_custom")
	ch.Provider = hookgatev1.Provider_PROVIDER_CUSTOM_HMAC
	ch.CustomHmac = &hookgatev1.CustomHmac{Header: "x-sig-value", TimestampHeader: "X-When",
		Template: "{timestamp}.{header:x-nonce-value}.{body}", Algorithm: "sha256", Encoding: "hex"}
	e.routes.put(ch)
	// A 401 is recorded as a failed trigger.
	status, _, _ = e.do(t, call{path: "/in/acme/wh_custom?key=hgk_wrong", body: `{}`, headers: map[string]string{
		"X-Sig-Value": "deadbeef", "X-When": "1700000000", "X-Nonce-Value": "n0nce", "X-Other": "kept", "X-Gitlab-Token": "t"}})
	if status != 401 {
		t.Fatalf("custom: %d", status)
	}
	var fts []*hookgatev1.FailedTrigger
	poll.Until(t, 5*time.Second, "failed trigger", func() bool {
		fts = e.failures(t, "wh_custom")
		return len(fts) == 1
	})
	for name, want := range map[string]string{"X-Sig-Value": "REDACTED", "X-When": "REDACTED", "X-Nonce-Value": "REDACTED", "X-Gitlab-Token": "REDACTED", "X-Other": "kept"} {
		lv := fts[0].Headers[name]
		if lv == nil || len(lv.Values) != 1 || lv.Values[0].GetStringValue() != want {
			t.Errorf("failed trigger header %s = %v, want %s", name, lv, want)
		}
	}
}
