package e2e

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookgate/hookgate/controlplane/outbound"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/testkit/poll"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// received is one request a test receiver got.
type received struct {
	id, timestamp, signature, userAgent, contentType string
	body                                             []byte
	// verified: the signature checked out with the independent
	// recomputation below.
	verified bool
}

// receiver is a local endpoint that checks Standard Webhooks signatures
// itself and answers with statuses[i] to its i-th request (200 past them).
type receiver struct {
	*httptest.Server
	statuses []int

	mu     sync.Mutex
	secret string
	got    []received
}

func newReceiver(t *testing.T, statuses ...int) *receiver {
	t.Helper()
	r := &receiver{statuses: statuses}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		rec := received{
			id: req.Header.Get("webhook-id"), timestamp: req.Header.Get("webhook-timestamp"),
			signature: req.Header.Get("webhook-signature"), userAgent: req.Header.Get("User-Agent"),
			contentType: req.Header.Get("Content-Type"), body: body,
		}
		r.mu.Lock()
		rec.verified = verifyStandardWebhooks(r.secret, rec.id, rec.timestamp, rec.signature, body)
		n := len(r.got)
		r.got = append(r.got, rec)
		r.mu.Unlock()
		status := http.StatusOK
		if n < len(r.statuses) {
			status = r.statuses[n]
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) setSecret(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.secret = s
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// verifyStandardWebhooks is an independent Standard Webhooks check: the
// key is the base64 after whsec_, the signed content "{id}.{timestamp}.{body}",
// and one of the space-separated "v1,<base64 HMAC-SHA256>" entries must
// match; the timestamp must be within 5 minutes.
func verifyStandardWebhooks(secret, id, timestamp, signature string, body []byte) bool {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || !strings.HasPrefix(secret, "whsec_") || id == "" {
		return false
	}
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil || time.Since(time.Unix(ts, 0)).Abs() > 5*time.Minute {
		return false
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + timestamp + "."))
	mac.Write(body)
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	for _, s := range strings.Fields(signature) {
		if hmac.Equal([]byte(s), []byte(want)) {
			return true
		}
	}
	return false
}

func newMessageID(t *testing.T) string {
	t.Helper()
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "msg_" + base64.RawURLEncoding.EncodeToString(b)
}

// publishOutbound publishes a message straight to HOOKGATE_OUTBOUND in the
// documented format, payload embedded byte for byte.
func publishOutbound(t *testing.T, js jetstream.JetStream, tenant, appID, eventType, id, payload string) {
	t.Helper()
	m := nats.NewMsg("hookgate.out." + tenant + "." + appID + "." + eventType)
	m.Header.Set(jetstream.MsgIDHeader, id)
	m.Data = []byte(`{"id":"` + id + `","eventType":"` + eventType + `","payload":` + payload + `,"timestamp":"` + time.Now().UTC().Format(time.RFC3339Nano) + `"}`)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := js.PublishMsg(ctx, m); err != nil {
		t.Fatalf("publish %s: %v", m.Subject, err)
	}
}

// delivery is the part of a delivery state (HOOKGATE_DELIVERIES) the test
// reads.
type delivery struct {
	State    string `json:"state"`
	Reason   string `json:"reason"`
	Attempts int    `json:"attempts"`
}

// deliveryStore reads delivery states as the control plane does: from
// HOOKGATE_DELIVERIES, or, for a delivery whose first attempt succeeded
// (the dispatcher keeps no state of it), from its newest attempt record.
type deliveryStore struct {
	kv jetstream.KeyValue
	js jetstream.JetStream
}

func readDelivery(t *testing.T, ds deliveryStore, tenant, msgID, endpointID string) (delivery, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var d delivery
	e, err := ds.kv.Get(ctx, tenant+"."+msgID+"."+endpointID)
	if err == nil {
		if err := json.Unmarshal(e.Value(), &d); err != nil {
			t.Fatalf("delivery %s: %v", e.Key(), err)
		}
		return d, true
	}
	s, err := ds.js.Stream(ctx, outbound.AttemptsStream)
	if err != nil {
		return delivery{}, false
	}
	rd, ok, err := outbound.LastRecordedDelivery(ctx, s, tenant, endpointID, msgID)
	if err != nil {
		t.Fatalf("delivery of %s to %s from its record: %v", msgID, endpointID, err)
	}
	return delivery{State: rd.State, Reason: rd.Reason, Attempts: rd.Attempts}, ok
}

// waitDelivery polls a delivery until it is in state.
func waitDelivery(t *testing.T, kv deliveryStore, tenant, msgID, endpointID, state string) delivery {
	t.Helper()
	var d delivery
	poll.Until(t, 30*time.Second, fmt.Sprintf("delivery of %s to %s to be %s", msgID, endpointID, state), func() bool {
		var ok bool
		d, ok = readDelivery(t, kv, tenant, msgID, endpointID)
		return ok && d.State == state
	})
	return d
}

// TestOutboundDelivery drives outbound delivery through the built binary:
// endpoints made with the CLI, messages published straight to NATS, local
// receivers that verify signatures independently.
func TestOutboundDelivery(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	d := startDev(t, dir, "--retry-time-scale", "0.001")
	env := []string{"HOOKGATE_SERVER=" + d.admin}
	nc := d.natsConn(t)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}

	// The dispatcher is ready with its streams.
	if code, body := get(t, d.ops+"/readyz"); code != http.StatusOK || !strings.Contains(body, "HOOKGATE_DELIVER") || !strings.Contains(body, "HOOKGATE_ATTEMPTS") {
		t.Fatalf("ops /readyz: %d\n%s", code, body)
	}

	mustRun(t, dir, env, "tenants", "create", "acme", "--allow-http-endpoints")
	newApp := func(name string) string {
		var app hookgatev1.CreateApplicationResponse
		protoOut(t, dir, env, &app, "apps", "create", "--tenant", "acme", "--name", name)
		return app.GetApplication().GetId()
	}
	shop, other, third := newApp("Shop"), newApp("Other"), newApp("Third")
	mustRun(t, dir, env, "event-types", "create", "order.created", "--tenant", "acme")
	mustRun(t, dir, env, "event-types", "create", "order.paid", "--tenant", "acme")
	var lastRev int64
	newEndpoint := func(r *receiver, app, types string) string {
		t.Helper()
		out := mustRun(t, dir, env, "endpoints", "create", "--tenant", "acme", "--app", app, "--url", r.URL+"/hooks", "--event-types", types)
		id, sec := endpointLine.FindStringSubmatch(out), whsecLine.FindStringSubmatch(out)
		if id == nil || sec == nil {
			t.Fatalf("endpoints create printed no id or secret:\n%s", out)
		}
		r.setSecret(sec[1])
		var ep hookgatev1.GetEndpointResponse
		protoOut(t, dir, env, &ep, "endpoints", "get", id[1], "--tenant", "acme")
		rev, err := strconv.ParseInt(ep.GetEndpoint().GetEtag(), 10, 64)
		if err != nil {
			t.Fatalf("endpoint etag %q: %v", ep.GetEndpoint().GetEtag(), err)
		}
		lastRev = rev
		return id[1]
	}
	created, paid := newReceiver(t), newReceiver(t)
	flaky := newReceiver(t, http.StatusInternalServerError, http.StatusInternalServerError)
	gone := newReceiver(t, http.StatusGone, http.StatusGone)
	epCreated := newEndpoint(created, shop, "order.created")
	epPaid := newEndpoint(paid, shop, "order.paid")
	epFlaky := newEndpoint(flaky, other, "order.created")
	epGone := newEndpoint(gone, other, "order.created")
	failing := newReceiver(t, slices.Repeat([]int{http.StatusInternalServerError}, 100)...)
	epFailing := newEndpoint(failing, third, "order.created")

	// The dispatcher learns of endpoints through the config stream: wait
	// until it acknowledged the revision of the last one.
	poll.Until(t, 30*time.Second, "the dispatcher to hold the endpoints", func() bool {
		var nodes hookgatev1.ListNodesResponse
		protoOut(t, dir, env, &nodes, "nodes", "--role", "dispatcher")
		return len(nodes.Nodes) == 1 && nodes.Nodes[0].ConfigRevision >= lastRev
	})

	kv := deliveriesKV(t, js)

	// Fan-out by event type: order.created to Shop reaches its subscriber
	// once, signed, with the payload byte for byte; the order.paid
	// endpoint gets nothing.
	msg1 := newMessageID(t)
	const payload = `{"orderId": "ORD-1",  "items":[{"sku":"a","qty":2}], "note":"caf\u00e9 é"}`
	publishOutbound(t, js, "acme", shop, "order.created", msg1, payload)
	if d := waitDelivery(t, kv, "acme", msg1, epCreated, "succeeded"); d.Attempts != 1 {
		t.Errorf("delivery to the subscriber: %+v, want 1 attempt", d)
	}
	// The fan-out is complete once its consumer has nothing pending.
	poll.Until(t, 10*time.Second, "fan-out to finish", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, err := js.Consumer(ctx, "HOOKGATE_OUTBOUND", "dispatch-fanout")
		if err != nil {
			return false
		}
		info, err := c.Info(ctx)
		return err == nil && info.NumPending == 0 && info.NumAckPending == 0
	})
	got := created.requests()
	if len(got) != 1 {
		t.Fatalf("subscribed endpoint got %d requests, want 1", len(got))
	}
	r := got[0]
	if !r.verified || r.id != msg1 || string(r.body) != payload || r.contentType != "application/json" || !strings.HasPrefix(r.userAgent, "Hookgate/") {
		t.Errorf("subscribed endpoint got id %q verified %v content type %q user agent %q body %q; want %s, a valid signature, application/json, Hookgate/…, %q",
			r.id, r.verified, r.contentType, r.userAgent, r.body, msg1, payload)
	}
	if n := len(paid.requests()); n != 0 {
		t.Errorf("the endpoint not subscribed to order.created got %d requests", n)
	}
	if _, ok := readDelivery(t, kv, "acme", msg1, epPaid); ok {
		t.Errorf("a delivery of %s to the endpoint not subscribed exists", msg1)
	}
	// The signature check can fail: another secret does not verify.
	if verifyStandardWebhooks("whsec_"+base64.StdEncoding.EncodeToString(make([]byte, 32)), r.id, r.timestamp, r.signature, r.body) {
		t.Error("the receiver's check accepts a signature made with another secret")
	}

	// Retries on the compressed schedule, and 410 disabling: one message to
	// Other reaches both of its endpoints.
	msg2 := newMessageID(t)
	publishOutbound(t, js, "acme", other, "order.created", msg2, `{"orderId":"ORD-2"}`)
	if d := waitDelivery(t, kv, "acme", msg2, epFlaky, "succeeded"); d.Attempts != 3 {
		t.Errorf("flaky delivery: %+v, want succeeded on the 3rd attempt", d)
	}
	fl := flaky.requests()
	if len(fl) != 3 {
		t.Fatalf("flaky receiver got %d requests, want 3", len(fl))
	}
	for i, r := range fl {
		if r.id != msg2 || !r.verified || string(r.body) != `{"orderId":"ORD-2"}` {
			t.Errorf("flaky attempt %d: id %q verified %v body %q", i+1, r.id, r.verified, r.body)
		}
	}
	if d := waitDelivery(t, kv, "acme", msg2, epGone, "failed"); d.Reason != "gone" || d.Attempts != 1 {
		t.Errorf("delivery to the 410 endpoint: %+v, want failed (gone) after 1 attempt", d)
	}
	poll.Until(t, 30*time.Second, "the 410 endpoint to show disabled (gone)", func() bool {
		var ep hookgatev1.GetEndpointResponse
		protoOut(t, dir, env, &ep, "endpoints", "get", epGone, "--tenant", "acme")
		e := ep.GetEndpoint()
		return e.GetStatus() == hookgatev1.EndpointStatus_ENDPOINT_STATUS_DISABLED &&
			e.GetDisabledReason() == hookgatev1.EndpointDisabledReason_ENDPOINT_DISABLED_REASON_GONE
	})
	if out := mustRun(t, dir, env, "endpoints", "get", epGone, "--tenant", "acme"); !strings.Contains(strings.ToLower(out), "gone") {
		t.Errorf("endpoints get does not show the reason gone:\n%s", out)
	}
	if n := len(gone.requests()); n != 1 {
		t.Errorf("410 receiver got %d requests, want 1", n)
	}

	// Disabling an endpoint cancels its pending retries: on the compressed
	// schedule the 5th attempt waits 7.2 s as a scheduled message; the
	// disable arrives meanwhile and the dispatcher cancels the delivery.
	msg3 := newMessageID(t)
	publishOutbound(t, js, "acme", third, "order.created", msg3, `{"orderId":"ORD-3"}`)
	poll.Until(t, 30*time.Second, "4 failed attempts", func() bool {
		d, ok := readDelivery(t, kv, "acme", msg3, epFailing)
		return ok && d.Attempts >= 4
	})
	mustRun(t, dir, env, "endpoints", "disable", epFailing, "--tenant", "acme")
	if d := waitDelivery(t, kv, "acme", msg3, epFailing, "cancelled"); d.Reason != "endpoint_cancelled" || d.Attempts != 4 {
		t.Errorf("delivery to the disabled endpoint: %+v, want cancelled (endpoint_cancelled) after 4 attempts", d)
	}
}
