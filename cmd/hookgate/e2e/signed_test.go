package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookgate/hookgate/dataplane/verify/verifytest"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/testkit/poll"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/encoding/protojson"
)

// Helpers of the signed-call tests (providers_test.go, npm_test.go): one
// `hookgate dev` with a tenant, webhooks created through the CLI, signed
// calls through the real edge and the envelopes they leave in JetStream.

// signedEdge is a dev server with tenant acme and a JetStream handle.
type signedEdge struct {
	d   *devServer
	dir string
	env []string
	js  jetstream.JetStream
	n   atomic.Int64
}

func startSignedEdge(t *testing.T) *signedEdge {
	t.Helper()
	dir := t.TempDir()
	d := startDev(t, dir)
	e := &signedEdge{d: d, dir: dir, env: []string{"HOOKGATE_SERVER=" + d.admin}}
	mustRun(t, dir, e.env, "tenants", "create", "acme")
	nc := d.natsConn(t)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("jetstream: %v", err)
	}
	e.js = js
	return e
}

// next is a number unique within the run, for bodies and names.
func (e *signedEdge) next() int { return int(e.n.Add(1)) }

// webhook is a created webhook.
type webhook struct {
	id string
	// url is the public URL as create printed it, with the key;
	// plainURL the same without it.
	url, plainURL string
	subject       string
}

// create runs `hookgate webhooks create` for provider with secrets and
// extra flags; the binding publishes to process.
func (e *signedEdge) create(t *testing.T, name, provider, process string, secrets map[string]string, extra ...string) webhook {
	t.Helper()
	args := []string{"webhooks", "create", "--tenant", "acme", "--name", name, "--process", process, "--provider", provider, "-o", "json"}
	for k, v := range secrets {
		args = append(args, "--secret", k+"="+v)
	}
	out := mustRun(t, e.dir, e.env, append(args, extra...)...)
	var resp hookgatev1.CreateWebhookResponse
	if err := protojson.Unmarshal([]byte(out), &resp); err != nil {
		t.Fatalf("webhooks create -o json: %v\n%s", err, out)
	}
	return e.created(t, &resp, process)
}

// createAPI creates a webhook through the admin API's Connect JSON, for
// settings the CLI has no flags for (CUSTOM_HMAC's configuration).
func (e *signedEdge) createAPI(t *testing.T, w *hookgatev1.Webhook) webhook {
	t.Helper()
	w.Tenant = "acme"
	body, err := protojson.Marshal(&hookgatev1.CreateWebhookRequest{Webhook: w})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, e.d.admin+"/hookgate.v1.InboundWebhookService/CreateWebhook", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+e.d.token)
	res, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("CreateWebhook: %v", err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("CreateWebhook: %d %s", res.StatusCode, out)
	}
	var resp hookgatev1.CreateWebhookResponse
	if err := protojson.Unmarshal(out, &resp); err != nil {
		t.Fatalf("CreateWebhook answer: %v", err)
	}
	return e.created(t, &resp, w.GetBindings()[0].GetProcessId())
}

func (e *signedEdge) created(t *testing.T, resp *hookgatev1.CreateWebhookResponse, process string) webhook {
	t.Helper()
	w := webhook{id: resp.GetWebhook().GetId(), url: resp.GetUrlWithKey(), plainURL: resp.GetWebhook().GetUrl(),
		subject: "hookgate.in.acme." + process + ".start"}
	if w.id == "" || !strings.HasPrefix(w.url, e.d.edge+"/in/acme/"+w.id+"?key=hgk_") || w.plainURL != e.d.edge+"/in/acme/"+w.id {
		t.Fatalf("created webhook %q: URL %q, plain %q; want the edge %s", w.id, w.url, w.plainURL, e.d.edge)
	}
	return w
}

// answer is the edge's answer to a call.
type answer struct {
	status      int
	contentType string
	body        string
}

// send makes the call c, with extra headers.
func send(t *testing.T, c verifytest.Call, extra ...string) answer {
	t.Helper()
	req, err := http.NewRequest(c.Method, c.URL, bytes.NewReader(c.Body))
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	req.Header = c.Header.Clone()
	for i := 0; i+1 < len(extra); i += 2 {
		req.Header.Set(extra[i], extra[i+1])
	}
	res, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", c.Method, c.URL, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return answer{status: res.StatusCode, contentType: res.Header.Get("Content-Type"), body: string(b)}
}

// sendFirst sends calls made by sign until the webhook has reached the
// edge (no longer 404 or 503), and returns that first answer. sign is
// called anew each time, so timestamps stay fresh.
func sendFirst(t *testing.T, sign func() verifytest.Call) answer {
	t.Helper()
	var a answer
	poll.Until(t, 15*time.Second, "the webhook to reach the edge", func() bool {
		a = send(t, sign())
		return a.status != http.StatusNotFound && a.status != http.StatusServiceUnavailable
	})
	return a
}

// eventID is the event id of a 200 answer; it fails on any other.
func eventID(t *testing.T, a answer, what string) string {
	t.Helper()
	var m struct {
		EventID string `json:"eventId"`
	}
	if a.status != http.StatusOK || json.Unmarshal([]byte(a.body), &m) != nil || m.EventID == "" {
		t.Fatalf("%s: %d %q, want 200 with an event id", what, a.status, a.body)
	}
	return m.EventID
}

// envelopes reads every envelope on subject from HOOKGATE_INBOUND, in
// order, with an ephemeral consumer.
func (e *signedEdge) envelopes(t *testing.T, subject string) []map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cons, err := e.js.CreateConsumer(ctx, "HOOKGATE_INBOUND", jetstream.ConsumerConfig{
		FilterSubject: subject, AckPolicy: jetstream.AckNonePolicy, DeliverPolicy: jetstream.DeliverAllPolicy,
		InactiveThreshold: time.Minute,
	})
	if err != nil {
		t.Fatalf("consumer on %s: %v", subject, err)
	}
	defer func() { _ = e.js.DeleteConsumer(context.Background(), "HOOKGATE_INBOUND", cons.CachedInfo().Name) }()
	pending := int(cons.CachedInfo().NumPending)
	var out []map[string]any
	for len(out) < pending {
		batch, err := cons.Fetch(pending-len(out), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			t.Fatalf("fetch %s: %v", subject, err)
		}
		got := 0
		for msg := range batch.Messages() {
			got++
			var m map[string]any
			if err := json.Unmarshal(msg.Data(), &m); err != nil {
				t.Fatalf("envelope on %s is not JSON: %v", subject, err)
			}
			out = append(out, m)
		}
		if err := batch.Error(); err != nil || got == 0 {
			t.Fatalf("fetch %s: %d of %d envelopes: %v", subject, len(out), pending, err)
		}
	}
	return out
}

// checkVerified fails unless env carries id and says provider verified it.
func checkVerified(t *testing.T, env map[string]any, provider string) {
	t.Helper()
	v, _ := env["verification"].(map[string]any)
	if v["provider"] != provider || v["verified"] != true || env["provider"] != provider {
		t.Fatalf("envelope %v: provider %v, verification %v; want %s verified", env["id"], env["provider"], env["verification"], provider)
	}
}

// failedTrigger is a failed trigger as `webhooks failures -o json` prints it.
type failedTrigger struct {
	Reason     string              `json:"reason"`
	StatusCode int                 `json:"statusCode"`
	Headers    map[string][]string `json:"headers"`
}

// failures polls `hookgate webhooks failures` until every case (the
// X-Test-Case header of the call) has a record, and returns them by case.
func (e *signedEdge) failures(t *testing.T, id string, cases []string) map[string]failedTrigger {
	t.Helper()
	var byCase map[string]failedTrigger
	poll.Until(t, 15*time.Second, "failed triggers of "+id, func() bool {
		out := mustRun(t, e.dir, e.env, "webhooks", "failures", id, "--tenant", "acme", "-o", "json")
		var resp struct {
			FailedTriggers []failedTrigger `json:"failedTriggers"`
		}
		if err := json.Unmarshal([]byte(out), &resp); err != nil {
			t.Fatalf("webhooks failures -o json: %v\n%s", err, out)
		}
		byCase = map[string]failedTrigger{}
		for _, f := range resp.FailedTriggers {
			if c := f.Headers["X-Test-Case"]; len(c) == 1 {
				byCase[c[0]] = f
			}
		}
		for _, c := range cases {
			if _, ok := byCase[c]; !ok {
				return false
			}
		}
		return true
	})
	return byCase
}

// genericRefusal is the body of every 401 for a signature.
const genericRefusal = `{"error":"missing or invalid signature"}`
