package e2e

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/testkit/poll"
)

// TestCustomHMACFromTheCLI: a CUSTOM_HMAC webhook configured with the
// --hmac-* flags verifies calls signed that way at the edge; a call signed
// otherwise is refused; an update of the flags changes the scheme.
func TestCustomHMACFromTheCLI(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	d := startDev(t, dir)
	env := []string{"HOOKGATE_SERVER=" + d.admin}
	mustRun(t, dir, env, "tenants", "create", "hmacco")
	out := mustRun(t, dir, env, "webhooks", "create", "--tenant", "hmacco", "--name", "acme-signer", "--provider", "custom-hmac",
		"--process", "orders", "--secret", "secret=s3cr3t", "--require-key=false",
		"--hmac-header", "X-Acme-Signature", "--hmac-encoding", "base64", "--hmac-prefix", "v1=",
		"--hmac-template", "{timestamp}.{id}.{body}", "--hmac-timestamp-header", "X-Acme-Timestamp", "--hmac-id-header", "X-Acme-Id")
	id := idLine.FindStringSubmatch(out)[1]
	url := d.edge + "/in/hmacco/" + id
	if !strings.Contains(out, "URL without the key:  "+url+"\n") {
		t.Fatalf("create with --require-key=false does not print the URL without the key:\n%s", out)
	}

	send := func(secret, body string, ts time.Time) int {
		m := hmac.New(sha256.New, []byte(secret))
		fmt.Fprintf(m, "%d.msg-1.%s", ts.Unix(), body)
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Acme-Timestamp", fmt.Sprint(ts.Unix()))
		req.Header.Set("X-Acme-Id", "msg-1")
		req.Header.Set("X-Acme-Signature", "v1="+base64.StdEncoding.EncodeToString(m.Sum(nil)))
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			t.Fatalf("POST: %v", err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	poll.Until(t, 10*time.Second, "the edge to accept a signed call", func() bool { return send("s3cr3t", `{"n":1}`, time.Now()) == 200 })
	if code := send("wrong", `{"n":2}`, time.Now()); code != 401 {
		t.Fatalf("wrong secret: %d, want 401", code)
	}
	if code := send("s3cr3t", `{"n":3}`, time.Now().Add(-time.Hour)); code != 401 {
		t.Fatalf("stale timestamp: %d, want 401", code)
	}
	poll.Until(t, 10*time.Second, "failed triggers with precise reasons", func() bool {
		out := mustRun(t, dir, env, "webhooks", "failures", id, "--tenant", "hmacco")
		return strings.Contains(out, "signature_mismatch") && strings.Contains(out, "timestamp_outside_tolerance")
	})

	// A template without the id: calls signed the old way stop verifying.
	mustRun(t, dir, env, "webhooks", "update", id, "--tenant", "hmacco",
		"--hmac-header", "X-Acme-Signature", "--hmac-encoding", "base64", "--hmac-prefix", "v1=",
		"--hmac-template", "{timestamp}:{body}", "--hmac-timestamp-header", "X-Acme-Timestamp")
	poll.Until(t, 10*time.Second, "the new template at the edge", func() bool { return send("s3cr3t", `{"n":4}`, time.Now()) == 401 })
}
