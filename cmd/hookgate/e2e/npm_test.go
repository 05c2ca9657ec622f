package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/dataplane/verify/verifytest"
)

// signersDir is the folder of sign.mjs and the providers' npm libraries:
// $HOOKGATE_SIGNERS (make test sets it) or signers/ at the root of the
// repository. It fails, never skips, when the libraries are not installed.
func signersDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("HOOKGATE_SIGNERS")
	if dir == "" {
		_, file, _, ok := runtime.Caller(0)
		if !ok {
			t.Fatal("cannot locate the signers folder: set HOOKGATE_SIGNERS")
		}
		dir = filepath.Join(filepath.Dir(file), "..", "..", "..", "signers")
	}
	if _, err := os.Stat(filepath.Join(dir, "sign.mjs")); err != nil {
		t.Fatalf("no sign.mjs in %s (HOOKGATE_SIGNERS): %v", dir, err)
	}
	for _, lib := range []string{"stripe", "@octokit/webhooks-methods", "standardwebhooks", "svix", "twilio"} {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", lib)); err != nil {
			t.Fatalf("the npm library %s is not installed in %s/node_modules: run make signers", lib, dir)
		}
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("node is not on PATH; the npm signers need Node.js: %v", err)
	}
	return dir
}

// npmRequest is one request to sign.mjs.
type npmRequest struct {
	Provider  string            `json:"provider"`
	Secret    string            `json:"secret"`
	Body      string            `json:"body"`
	URL       string            `json:"url,omitempty"`
	ID        string            `json:"id,omitempty"`
	Timestamp int64             `json:"timestamp,omitempty"`
	Params    map[string]string `json:"params,omitempty"`
}

// npmSign signs the requests with the providers' own libraries and returns
// the headers of each (and "@url", the URL to call, for Twilio JSON).
func npmSign(t *testing.T, dir string, reqs []npmRequest) []map[string]string {
	t.Helper()
	in, err := json.Marshal(reqs)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", filepath.Join(dir, "sign.mjs"))
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node sign.mjs: %v\n%s", err, stderr.String())
	}
	var out []map[string]string
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil || len(out) != len(reqs) {
		t.Fatalf("sign.mjs printed %d results for %d requests (%v):\n%s", len(out), len(reqs), err, stdout.String())
	}
	return out
}

// TestNPMSigners sends requests signed by the providers' own npm libraries
// (stripe, @octokit/webhooks-methods, standardwebhooks, svix, twilio for
// form and JSON bodies) through the real edge: each is accepted and
// published as verified, and the same request with its body tampered with
// is refused.
func TestNPMSigners(t *testing.T) {
	t.Parallel()
	dir := signersDir(t)
	e := startSignedEdge(t)

	stripeSecret := "whsec_" + strings.Repeat("s3cr3t", 5)
	githubSecret := "It's a Secret to Everybody"
	swSecret := verifytest.Find("STANDARD_WEBHOOKS").NewKey().Secret
	twilioToken := "0123456789abcdef0123456789abcdef"
	hooks := map[string]webhook{
		"stripe":            e.create(t, "npm-stripe", "stripe", "npm-stripe", map[string]string{"signing_secret": stripeSecret}),
		"github":            e.create(t, "npm-github", "github", "npm-github", map[string]string{"secret": githubSecret}),
		"standard-webhooks": e.create(t, "npm-standard", "standard-webhooks", "npm-standard", map[string]string{"signing_secret": swSecret}),
		"twilio":            e.create(t, "npm-twilio", "twilio", "npm-twilio", map[string]string{"auth_token": twilioToken}),
	}
	now := time.Now().Unix()
	jsonBody := func(n int) string {
		return fmt.Sprintf(`{"id":"evt_npm_%d_%d","object":"event","type":"payment_intent.succeeded","data":{"amount":%d,"note":"caf\u00e9"}}`, n, now, 1000+n)
	}
	params := map[string]string{"CallSid": fmt.Sprintf("CA%d", now), "From": "+14158675309", "To": "+18005551212", "Body": "Hello & welcome, café"}
	form := url.Values{}
	for k, v := range params {
		form.Set(k, v)
	}
	type row struct {
		name, hook, contentType string
		req                     npmRequest
	}
	rows := []row{
		{"stripe", "stripe", "application/json", npmRequest{Provider: "stripe", Secret: stripeSecret, Body: jsonBody(1), Timestamp: now}},
		{"octokit", "github", "application/json", npmRequest{Provider: "github", Secret: githubSecret, Body: jsonBody(2), ID: fmt.Sprintf("gh-%d", now)}},
		{"standardwebhooks", "standard-webhooks", "application/json", npmRequest{Provider: "standardwebhooks", Secret: swSecret, Body: jsonBody(3), ID: fmt.Sprintf("msg_sw%d", now), Timestamp: now}},
		{"svix", "standard-webhooks", "application/json", npmRequest{Provider: "svix", Secret: swSecret, Body: jsonBody(4), ID: fmt.Sprintf("msg_svix%d", now), Timestamp: now}},
		{"twilio form", "twilio", "application/x-www-form-urlencoded", npmRequest{Provider: "twilio", Secret: twilioToken, Body: form.Encode(), URL: hooks["twilio"].url, Params: params}},
		{"twilio JSON bodySHA256", "twilio", "application/json", npmRequest{Provider: "twilio-json", Secret: twilioToken, Body: jsonBody(5), URL: hooks["twilio"].url}},
	}
	reqs := make([]npmRequest, len(rows))
	for i, r := range rows {
		reqs[i] = r.req
	}
	signed := npmSign(t, dir, reqs)

	accepted := map[string]int{}
	for i, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			w := hooks[r.hook]
			c := verifytest.Call{Method: http.MethodPost, URL: w.url, Header: http.Header{}, Body: []byte(r.req.Body)}
			c.Header.Set("Content-Type", r.contentType)
			for k, v := range signed[i] {
				if k == "@url" {
					c.URL = v
					continue
				}
				c.Header.Set(k, v)
			}
			// The edge refuses the tampered copy and accepts the call as
			// signed (sent once the webhook has reached the edge).
			tampered := c.Clone()
			tampered.Body = bytes.Replace(tampered.Body, []byte("e"), []byte("E"), 1)
			eventID(t, sendFirst(t, func() verifytest.Call { return c }), r.name+" signed by its npm library")
			accepted[r.hook]++
			if a := send(t, tampered); a.status != http.StatusUnauthorized || strings.TrimSpace(a.body) != genericRefusal {
				t.Fatalf("tampered %s: %d %q, want 401", r.name, a.status, a.body)
			}
		})
	}
	labels := map[string]string{"stripe": "STRIPE", "github": "GITHUB", "standard-webhooks": "STANDARD_WEBHOOKS", "twilio": "TWILIO"}
	for hook, n := range accepted {
		envs := e.envelopes(t, hooks[hook].subject)
		if len(envs) != n {
			t.Fatalf("%d envelopes for %s, want %d", len(envs), hook, n)
		}
		for _, env := range envs {
			checkVerified(t, env, labels[hook])
		}
	}
	if len(accepted) != len(hooks) {
		t.Fatalf("accepted calls for %d webhooks, want %d", len(accepted), len(hooks))
	}
}
