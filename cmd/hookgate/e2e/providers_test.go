package e2e

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/dataplane/verify/verifytest"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/testkit/poll"
)

// processOf is the process a signer's webhook publishes to.
func processOf(name string) string {
	return "prov-" + strings.ToLower(strings.ReplaceAll(name, "_", "-"))
}

// providerLabel is the provider as the envelope names it: "STRIPE".
func providerLabel(p hookgatev1.Provider) string { return strings.TrimPrefix(p.String(), "PROVIDER_") }

// TestProviders drives every provider preset, its variants and
// CUSTOM_HMAC through one `hookgate dev`: a webhook created with the CLI,
// a freshly signed call accepted and published with its verification, every
// spoiled call refused with the generic 401 and recorded with its precise
// reason and the signature headers redacted, a rotation of the provider
// secret during which old and new both verify, and the handshakes answered
// without publishing anything. Then require_key=false and a secret given as
// a config parameter reference.
func TestProviders(t *testing.T) {
	t.Parallel()
	e := startSignedEdge(t)
	t.Run("signers", func(t *testing.T) {
		for _, s := range verifytest.Signers() {
			t.Run(s.Name, func(t *testing.T) {
				t.Parallel()
				providerRow(t, e, s)
			})
		}
		t.Run("require_key=false", func(t *testing.T) {
			t.Parallel()
			requireKeyFalse(t, e)
		})
		t.Run("configParam reference", func(t *testing.T) {
			t.Parallel()
			configParamReference(t, e)
		})
		for _, v := range publishedVectors {
			t.Run("vector/"+v.provider, func(t *testing.T) {
				t.Parallel()
				vectorRow(t, e, v)
			})
		}
	})
}

// providerRow is one signer's end-to-end table.
func providerRow(t *testing.T, e *signedEdge, s *verifytest.Signer) {
	key := s.NewKey()
	name := strings.ToLower(strings.ReplaceAll(s.Name, "_", "-"))
	var w webhook
	if s.CustomHmac != nil {
		// The CLI has no flags for a CUSTOM_HMAC configuration.
		w = e.createAPI(t, &hookgatev1.Webhook{
			Name: name, Provider: s.Provider, ProviderSecrets: s.Secrets(key), CustomHmac: s.CustomHmac,
			Bindings: []*hookgatev1.Binding{{ProcessId: processOf(s.Name), ThreadId: "main", Trigger: hookgatev1.Trigger_TRIGGER_START_PROCESS}},
		})
	} else {
		w = e.create(t, name, strings.ToLower(providerLabel(s.Provider)), processOf(s.Name), s.Secrets(key))
	}
	label := providerLabel(s.Provider)
	in := func() verifytest.Input {
		return verifytest.Input{URL: w.url, Body: s.Body(e.next()), Time: time.Now()}
	}
	accepted := map[string]bool{}
	accept := func(what string, a answer) {
		t.Helper()
		accepted[eventID(t, a, what)] = true
	}

	// A freshly signed call, as the provider sends it, to the URL as
	// printed by create.
	accept("valid call", sendFirst(t, func() verifytest.Call { return s.Sign(in(), key) }))

	// Every spoiled call: 401, the generic body.
	var cases []string
	bad := s.Bad(in(), key)
	for _, b := range bad {
		a := send(t, b.Call, "X-Test-Case", b.Case)
		if a.status != http.StatusUnauthorized || strings.TrimSpace(a.body) != genericRefusal {
			t.Errorf("%s: %d %q, want 401 %s", b.Case, a.status, a.body, genericRefusal)
		}
		cases = append(cases, b.Case)
	}
	// Each one a failed trigger with its precise reason and the signature
	// headers redacted.
	recorded := e.failures(t, w.id, cases)
	for _, b := range bad {
		f := recorded[b.Case]
		if f.Reason != b.Reason || f.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: recorded %q %d, want %q 401", b.Case, f.Reason, f.StatusCode, b.Reason)
		}
		for _, h := range s.Headers {
			if vs, ok := lookupHeader(f.Headers, h); ok && (len(vs) != 1 || vs[0] != "REDACTED") {
				t.Errorf("%s: header %s recorded as %q, want REDACTED", b.Case, h, vs)
			}
			if _, sent := lookupHeader(b.Call.Header, h); sent {
				if _, ok := lookupHeader(f.Headers, h); !ok {
					t.Errorf("%s: header %s missing from the record", b.Case, h)
				}
			}
		}
		for name, vs := range f.Headers {
			for _, v := range vs {
				if strings.Contains(v, key.Secret) {
					t.Errorf("%s: the secret is in the recorded header %s", b.Case, name)
				}
			}
		}
	}

	// Handshakes: answered by the edge, nothing published.
	if hs, ok := s.Handshake(verifytest.Input{URL: w.url, Time: time.Now()}, key); ok {
		checkHandshake(t, hs, send(t, hs.Call))
		if s.Provider == hookgatev1.Provider_PROVIDER_META {
			wrong := s.MetaWrongToken(w.url)
			if a := send(t, wrong.Call); a.status != wrong.Status {
				t.Errorf("%s: %d %q, want %d", wrong.Name, a.status, a.body, wrong.Status)
			}
		}
	}

	// Rotation: a new value with an hour's grace; new and old verify,
	// and schemes that sign with every active secret verify with both.
	next := s.NewKey()
	mustRun(t, e.dir, e.env, "webhooks", "rotate-secret", w.id, "--tenant", "acme", "--name", s.Secret, "--value", next.Secret, "--grace", "1h")
	var a answer
	poll.Until(t, 15*time.Second, "the rotated secret to verify", func() bool {
		a = send(t, s.Sign(in(), next))
		return a.status != http.StatusUnauthorized
	})
	accept("new secret", a)
	accept("previous secret in grace", send(t, s.Sign(in(), key)))
	if s.Multi {
		accept("both signatures", send(t, s.Sign(in(), key, next)))
	}

	// What landed: exactly the accepted calls, each verified, no
	// handshake.
	envs := e.envelopes(t, w.subject)
	if len(envs) != len(accepted) {
		t.Fatalf("%d envelopes on %s, want the %d accepted calls", len(envs), w.subject, len(accepted))
	}
	for _, env := range envs {
		if !accepted[env["id"].(string)] {
			t.Errorf("envelope %v was not an accepted call", env["id"])
		}
		checkVerified(t, env, label)
	}
}

// lookupHeader finds a header by name, whatever its case.
func lookupHeader[V any](h map[string]V, name string) (V, bool) {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	var zero V
	return zero, false
}

// checkHandshake compares the edge's answer with the expected one.
func checkHandshake(t *testing.T, hs verifytest.Handshake, a answer) {
	t.Helper()
	if a.status != hs.Status || !strings.HasPrefix(a.contentType, hs.ContentType) {
		t.Fatalf("%s: %d %q %q, want %d %s", hs.Name, a.status, a.contentType, a.body, hs.Status, hs.ContentType)
	}
	if hs.JSON {
		var got, want any
		if json.Unmarshal([]byte(a.body), &got) != nil || json.Unmarshal(hs.Body, &want) != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: answer %q, want %s", hs.Name, a.body, hs.Body)
		}
	} else if a.body != string(hs.Body) {
		t.Fatalf("%s: answer %q, want %q", hs.Name, a.body, hs.Body)
	}
}

// requireKeyFalse: a webhook that opted out of the key is called without
// one; its signature alone authenticates, and an unsigned call is refused.
func requireKeyFalse(t *testing.T, e *signedEdge) {
	s := verifytest.Find("GITHUB")
	key := s.NewKey()
	w := e.create(t, "github-no-key", "github", processOf("no-key"), s.Secrets(key), "--require-key=false")
	in := func() verifytest.Input {
		return verifytest.Input{URL: w.plainURL, Body: s.Body(e.next()), Time: time.Now()}
	}
	id := eventID(t, sendFirst(t, func() verifytest.Call { return s.Sign(in(), key) }), "signed call without a key")
	unsigned := s.Sign(in(), key)
	unsigned.Header.Del("X-Hub-Signature-256")
	unsigned.Header.Del("X-Hub-Signature")
	if a := send(t, unsigned, "X-Test-Case", "unsigned"); a.status != http.StatusUnauthorized {
		t.Fatalf("unsigned call without a key: %d %q, want 401", a.status, a.body)
	}
	if f := e.failures(t, w.id, []string{"unsigned"})["unsigned"]; f.Reason != verifytest.SignatureMissing {
		t.Fatalf("unsigned call recorded as %q", f.Reason)
	}
	envs := e.envelopes(t, w.subject)
	if len(envs) != 1 || envs[0]["id"] != id {
		t.Fatalf("envelopes %v, want only %s", envs, id)
	}
	checkVerified(t, envs[0], "GITHUB")
}

// configParamReference: a secret given as ${configParam.NAME} verifies
// with the parameter's value, and changing the parameter rotates the
// webhook: the new value verifies and the old one still does in grace.
func configParamReference(t *testing.T, e *signedEdge) {
	s := verifytest.Find("STRIPE")
	first, second := s.NewKey(), s.NewKey()
	mustRun(t, e.dir, e.env, "params", "set", "--tenant", "acme", "stripe_live="+first.Secret)
	w := e.create(t, "stripe-by-param", "stripe", processOf("param"), map[string]string{"signing_secret": "${configParam.stripe_live}"})
	in := func() verifytest.Input {
		return verifytest.Input{URL: w.url, Body: s.Body(e.next()), Time: time.Now()}
	}
	eventID(t, sendFirst(t, func() verifytest.Call { return s.Sign(in(), first) }), "signed with the parameter's value")
	mustRun(t, e.dir, e.env, "params", "set", "--tenant", "acme", "stripe_live="+second.Secret)
	var a answer
	poll.Until(t, 15*time.Second, "the parameter's new value to verify", func() bool {
		a = send(t, s.Sign(in(), second))
		return a.status != http.StatusUnauthorized
	})
	eventID(t, a, "signed with the parameter's new value")
	eventID(t, send(t, s.Sign(in(), first)), "signed with the parameter's previous value in grace")
	if envs := e.envelopes(t, w.subject); len(envs) != 3 {
		t.Fatalf("%d envelopes, want 3", len(envs))
	}
}

// publishedVectors are shared/providers.md's vectors of schemes that sign
// neither a timestamp nor the URL, so they pass the edge as written:
// GitHub's own (§2) and the self-made ones of §3, header values verbatim.
var publishedVectors = []struct {
	provider, secretName, secret, body, contentType, header, value string
}{
	{"github", "secret", "It's a Secret to Everybody", "Hello, World!", "text/plain", "X-Hub-Signature-256",
		"sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"},
	{"shopify", "secret", "hush", `{"hello":"world"}`, "application/json", "X-Shopify-Hmac-Sha256", "0qgAiZj+St/dOktwfRHyqrd5hPy1tVi7miu0TOYKc3s="},
	{"meta", "app_secret", "meta-app-secret", `{"hello":"world"}`, "application/json", "X-Hub-Signature-256",
		"sha256=9a80f274cdf922bda93e97d61ba065cbedb86ed276e200ef86cb5593212cf7da"},
	{"intercom", "client_secret", "intercom-client-secret", `{"hello":"world"}`, "application/json", "X-Hub-Signature",
		"sha1=885e3669670608450143fbbd758f8914406c1b45"},
	{"bitbucket", "secret", "bb-secret", `{"hello":"world"}`, "application/json", "X-Hub-Signature",
		"sha256=914f961be9c898d1b839b6085cce8dff6a6161858d86db7074c3d64480daa5b0"},
	{"typeform", "secret", "abc123", `{"hello":"world"}`, "application/json", "Typeform-Signature",
		"sha256=BcQQPd/YxSFBuAi5moSuh1VbUaQ3TqQfZoCxgE5Z7OE="},
	{"pagerduty", "secret", "pd-secret", `{"hello":"world"}`, "application/json", "X-PagerDuty-Signature",
		"v1=1495a8045513325560365e9275b635c31d551fd5413c7a374792e30388d036ec"},
}

// vectorRow sends one vector to a webhook holding its secret: accepted
// and published as verified; with a byte of the body changed, refused.
func vectorRow(t *testing.T, e *signedEdge, v struct {
	provider, secretName, secret, body, contentType, header, value string
}) {
	secrets := map[string]string{v.secretName: v.secret}
	if v.provider == "meta" {
		secrets["verify_token"] = "vector-verify-token"
	}
	w := e.create(t, "vector-"+v.provider, v.provider, processOf("vector-"+v.provider), secrets)
	c := verifytest.Call{Method: http.MethodPost, URL: w.url, Header: http.Header{}, Body: []byte(v.body)}
	c.Header.Set("Content-Type", v.contentType)
	c.Header.Set(v.header, v.value)
	id := eventID(t, sendFirst(t, func() verifytest.Call { return c }), v.provider+" vector")
	tampered := c.Clone()
	tampered.Body[len(tampered.Body)-3] ^= 0x20 // a letter's case
	if a := send(t, tampered); a.status != http.StatusUnauthorized {
		t.Fatalf("%s vector with a changed byte: %d, want 401", v.provider, a.status)
	}
	envs := e.envelopes(t, w.subject)
	if len(envs) != 1 || envs[0]["id"] != id {
		t.Fatalf("envelopes %v, want only %s", envs, id)
	}
	checkVerified(t, envs[0], strings.ToUpper(v.provider))
}
