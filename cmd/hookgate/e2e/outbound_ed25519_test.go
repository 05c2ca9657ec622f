package e2e

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/nats-io/nats.go/jetstream"
)

var (
	whskLine = regexp.MustCompile(`(?m)^signing secret: (whsk_\S+)$`)
	whpkLine = regexp.MustCompile(`(?m)^public key: (whpk_\S+)$`)
)

// verifyV1a is an independent check of a Standard Webhooks v1a signature:
// the public key is the base64 after whpk_ (32 bytes), the signed content
// "{id}.{timestamp}.{body}", and one of the space-separated "v1a,<base64
// Ed25519>" entries must verify; the timestamp must be within 5 minutes.
func verifyV1a(publicKey, id, timestamp, signature string, body []byte) bool {
	raw, ok := strings.CutPrefix(publicKey, "whpk_")
	if !ok || id == "" {
		return false
	}
	pub, err := base64.StdEncoding.DecodeString(raw)
	if err != nil || len(pub) != ed25519.PublicKeySize {
		return false
	}
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil || time.Since(time.Unix(ts, 0)).Abs() > 5*time.Minute {
		return false
	}
	signed := append([]byte(id+"."+timestamp+"."), body...)
	for _, s := range strings.Fields(signature) {
		b64, ok := strings.CutPrefix(s, "v1a,")
		if !ok {
			continue
		}
		sig, err := base64.StdEncoding.DecodeString(b64)
		if err == nil && ed25519.Verify(pub, signed, sig) {
			return true
		}
	}
	return false
}

// apiPublicKey reads an endpoint's public key with a plain Connect JSON
// call, as any HTTP client would.
func apiPublicKey(t *testing.T, d *devServer, id string) (scheme, publicKey string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, d.admin+"/hookgate.v1.EndpointService/GetEndpoint",
		strings.NewReader(`{"tenant":"acme","endpointId":"`+id+`"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+d.token)
	resp, err := (&http.Client{}).Do(req)
	if err != nil {
		t.Fatalf("GetEndpoint: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GetEndpoint: %d %s", resp.StatusCode, body)
	}
	if strings.Contains(string(body), "whsk_") || strings.Contains(string(body), "whsec_") {
		t.Fatalf("GetEndpoint shows a signing secret: %s", body)
	}
	var out struct {
		Endpoint struct {
			SignatureScheme string `json:"signatureScheme"`
			PublicKey       string `json:"publicKey"`
		} `json:"endpoint"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("GetEndpoint: %v\n%s", err, body)
	}
	return out.Endpoint.SignatureScheme, out.Endpoint.PublicKey
}

// TestEd25519EndpointSignsV1a: an endpoint created with `--signature
// ed25519` signs deliveries "v1a,…" that the receiver verifies with the
// whpk_ public key read through the API alone; rotating it to HMAC with a
// grace period gives two signatures (the new v1 first, the old v1a), and
// rotating back without grace one v1a by the newest key only.
func TestEd25519EndpointSignsV1a(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	d := startDev(t, dir)
	env := []string{"HOOKGATE_SERVER=" + d.admin}
	nc := d.natsConn(t)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	app := outboundSetup(t, dir, env)
	r := newReceiver(t)

	// Refusals, before anything exists: a scheme the CLI does not know and
	// a secret of the other scheme.
	mustFail(t, dir, env, []string{"flag --signature", "want hmac or ed25519"},
		"endpoints", "create", "--tenant", "acme", "--app", app, "--url", r.URL, "--event-types", "order.created", "--signature", "rsa")
	mustFail(t, dir, env, []string{"secret:", "ED25519", "whsk_"},
		"endpoints", "create", "--tenant", "acme", "--app", app, "--url", r.URL, "--event-types", "order.created",
		"--signature", "ed25519", "--secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")

	out := mustRun(t, dir, env, "endpoints", "create", "--tenant", "acme", "--app", app, "--url", r.URL+"/hooks",
		"--event-types", "order.created", "--signature", "ed25519")
	idm, skm, pkm := endpointLine.FindStringSubmatch(out), whskLine.FindStringSubmatch(out), whpkLine.FindStringSubmatch(out)
	if idm == nil || skm == nil || pkm == nil {
		t.Fatalf("endpoints create --signature ed25519 printed no id, whsk_ secret or whpk_ public key:\n%s", out)
	}
	ep, secretKey, printedKey := idm[1], skm[1], pkm[1]

	// The public key through the API and the CLI, never the secret key.
	scheme, publicKey := apiPublicKey(t, d, ep)
	if scheme != "SIGNATURE_SCHEME_ED25519" || publicKey != printedKey {
		t.Fatalf("GetEndpoint: scheme %q public key %q, want SIGNATURE_SCHEME_ED25519 and %q", scheme, publicKey, printedKey)
	}
	if got := strings.TrimSpace(mustRun(t, dir, env, "endpoints", "public-key", ep, "--tenant", "acme")); got != publicKey {
		t.Fatalf("endpoints public-key printed %q, want %q", got, publicKey)
	}
	for _, args := range [][]string{{"get", ep}, {"list"}} {
		out := mustRun(t, dir, env, append(append([]string{"endpoints"}, args...), "--tenant", "acme")...)
		if !strings.Contains(out, "ed25519") || strings.Contains(out, secretKey[len("whsk_"):]) {
			t.Fatalf("endpoints %s: want the scheme and never the secret key:\n%s", args[0], out)
		}
		if args[0] == "get" && !strings.Contains(out, publicKey) {
			t.Fatalf("endpoints get shows no public key:\n%s", out)
		}
	}
	if got := strings.TrimSpace(mustRun(t, dir, env, "endpoints", "secret", ep, "--tenant", "acme")); got != secretKey {
		t.Fatal("endpoints secret does not print the whsk_ secret key it was created with")
	}
	waitDispatchers(t, dir, env, 1, endpointRev(t, dir, env, ep))
	kv := deliveriesKV(t, js)

	deliver := func() received {
		t.Helper()
		msg := newMessageID(t)
		publishOutbound(t, js, "acme", app, "order.created", msg, `{"orderId":"ORD-1", "note":"caf\u00e9"}`)
		waitDelivery(t, kv, "acme", msg, ep, "succeeded")
		for _, got := range r.requests() {
			if got.id == msg {
				return got
			}
		}
		t.Fatalf("the receiver got no request for %s", msg)
		return received{}
	}

	got := deliver()
	sigs := signatures(got.signature)
	if len(sigs) != 1 || !strings.HasPrefix(sigs[0], "v1a,") || !verifyV1a(publicKey, got.id, got.timestamp, sigs[0], got.body) {
		t.Fatalf("ed25519 delivery: signature %q, want one v1a entry verifying with %s", got.signature, publicKey)
	}
	if string(got.body) != `{"orderId":"ORD-1", "note":"caf\u00e9"}` {
		t.Errorf("body %q is not the payload byte for byte", got.body)
	}
	// The check can fail: another key, another body, another id.
	otherPub, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	if verifyV1a("whpk_"+base64.StdEncoding.EncodeToString(otherPub), got.id, got.timestamp, got.signature, got.body) ||
		verifyV1a(publicKey, got.id, got.timestamp, got.signature, append(got.body, ' ')) ||
		verifyV1a(publicKey, got.id+"x", got.timestamp, got.signature, got.body) {
		t.Fatal("the v1a check accepts another key, body or id")
	}

	// ED25519 → HMAC with grace: the new whsec_ signs v1 first, the old key
	// still signs v1a.
	out = mustRun(t, dir, env, "endpoints", "rotate-secret", ep, "--tenant", "acme", "--grace", "1h", "--signature", "hmac")
	sec := whsecLine.FindStringSubmatch(out)
	if sec == nil || whpkLine.MatchString(out) {
		t.Fatalf("rotate-secret --signature hmac: want a whsec_ secret and no public key:\n%s", out)
	}
	if scheme, pk := apiPublicKey(t, d, ep); scheme != "SIGNATURE_SCHEME_HMAC_SHA256" || pk != "" {
		t.Fatalf("after rotation to hmac GetEndpoint shows scheme %q public key %q", scheme, pk)
	}
	mustFail(t, dir, env, []string{"has no public key"}, "endpoints", "public-key", ep, "--tenant", "acme")
	waitDispatchers(t, dir, env, 1, endpointRev(t, dir, env, ep))
	got = deliver()
	sigs = signatures(got.signature)
	if len(sigs) != 2 || !strings.HasPrefix(sigs[0], "v1,") || !strings.HasPrefix(sigs[1], "v1a,") {
		t.Fatalf("during the grace period: signature %q, want v1 (new) then v1a (old)", got.signature)
	}
	if !verifiesWith(sec[1], got, sigs[0]) || !verifyV1a(publicKey, got.id, got.timestamp, sigs[1], got.body) {
		t.Fatalf("during the grace period: the v1 entry verifies with the new secret %v, the v1a with the old public key %v",
			verifiesWith(sec[1], got, sigs[0]), verifyV1a(publicKey, got.id, got.timestamp, sigs[1], got.body))
	}

	// HMAC → ED25519 without grace: one v1a by the newest key only.
	out = mustRun(t, dir, env, "endpoints", "rotate-secret", ep, "--tenant", "acme", "--signature", "ed25519")
	pkm = whpkLine.FindStringSubmatch(out)
	if pkm == nil || !whskLine.MatchString(out) || pkm[1] == publicKey {
		t.Fatalf("rotate-secret --signature ed25519: want a new whsk_ secret and whpk_ public key:\n%s", out)
	}
	var read hookgatev1.GetEndpointResponse
	protoOut(t, dir, env, &read, "endpoints", "get", ep, "--tenant", "acme")
	if read.GetEndpoint().GetPublicKey() != pkm[1] || read.GetEndpoint().GetPreviousSecretExpireTime() != nil {
		t.Fatalf("endpoints get after rotation: public key %q previous expiry %v, want %q and none", read.GetEndpoint().GetPublicKey(), read.GetEndpoint().GetPreviousSecretExpireTime(), pkm[1])
	}
	waitDispatchers(t, dir, env, 1, endpointRev(t, dir, env, ep))
	got = deliver()
	sigs = signatures(got.signature)
	if len(sigs) != 1 || !verifyV1a(pkm[1], got.id, got.timestamp, sigs[0], got.body) {
		t.Fatalf("after rotation without grace: signature %q, want one v1a by the newest key", got.signature)
	}
	if verifyV1a(publicKey, got.id, got.timestamp, got.signature, got.body) || verifiesWith(sec[1], got, got.signature) {
		t.Error("after rotation without grace an older key still verifies")
	}
}
