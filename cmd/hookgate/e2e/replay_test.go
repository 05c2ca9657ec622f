package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/testkit/poll"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/encoding/protojson"
)

// switchReceiver answers 500 while failing is set, else 200, and records
// every request by webhook-id with its signature checked.
type switchReceiver struct {
	*httptest.Server
	failing atomic.Bool
	secret  string
	mu      sync.Mutex
	got     []received
}

func newSwitchReceiver(t *testing.T) *switchReceiver {
	t.Helper()
	r := &switchReceiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		rec := received{id: req.Header.Get("webhook-id"), timestamp: req.Header.Get("webhook-timestamp"),
			signature: req.Header.Get("webhook-signature"), body: body}
		r.mu.Lock()
		rec.verified = verifyStandardWebhooks(r.secret, rec.id, rec.timestamp, rec.signature, body)
		r.got = append(r.got, rec)
		r.mu.Unlock()
		if r.failing.Load() {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte("down for maintenance"))
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(r.Close)
	return r
}

// of returns the requests carrying webhook-id id.
func (r *switchReceiver) of(id string) []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []received
	for _, g := range r.got {
		if g.id == id {
			out = append(out, g)
		}
	}
	return out
}

func (r *switchReceiver) all() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

var (
	recoveryLine = regexp.MustCompile(`recovery (rcv_\S+) queued`)
	progressLine = regexp.MustCompile(`(?m)^\[[#.]+\] \d+/\d+\+?  delivered \d+  failed \d+  pending \d+$`)
)

// TestReplayRecoverAndTestSends drives ResendMessage, RecoverEndpoint and
// the test sends through the built binary: a failed delivery resent with
// trigger manual; a recovery over a window holding failed and succeeded
// deliveries, with a failed one before it, sends only the window's failed
// ones again; test pings against a good and a failing receiver and a
// catalog example, each signed and recorded with trigger test.
func TestReplayRecoverAndTestSends(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	d := startDev(t, dir, "--retry-time-scale", "0.01")
	env := []string{"HOOKGATE_SERVER=" + d.admin}
	nc := d.natsConn(t)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	recv := newSwitchReceiver(t)
	recv.failing.Store(true)

	const tenant = "replayco"
	example := `{"orderId":"ORD-EX","total":4200,"items":[{"sku":"A-1","qty":2}]}`
	mustRun(t, dir, env, "tenants", "create", tenant, "--allow-http-endpoints")
	var app hookgatev1.CreateApplicationResponse
	protoOut(t, dir, env, &app, "apps", "create", "--tenant", tenant, "--name", "Shop")
	appID := app.GetApplication().GetId()
	mustRun(t, dir, env, "event-types", "create", "order.created", "--tenant", tenant, "--example", writeTestFile(t, dir, "example.json", example))
	mustRun(t, dir, env, "event-types", "create", "order.noexample", "--tenant", tenant)
	out := mustRun(t, dir, env, "endpoints", "create", "--tenant", tenant, "--app", appID, "--url", recv.URL+"/hooks", "--event-types", "order.created")
	idm, secm := endpointLine.FindStringSubmatch(out), whsecLine.FindStringSubmatch(out)
	if idm == nil || secm == nil {
		t.Fatalf("endpoints create printed no id or secret:\n%s", out)
	}
	ep := idm[1]
	recv.mu.Lock()
	recv.secret = secm[1]
	recv.mu.Unlock()
	// One delay: two scheduled attempts (on arrival and 10 ms later).
	setRetrySchedule(t, d, tenant, time.Second)
	poll.Until(t, 30*time.Second, "the dispatcher to hold the endpoint and the schedule", func() bool {
		var nodes hookgatev1.ListNodesResponse
		protoOut(t, dir, env, &nodes, "nodes", "--role", "dispatcher")
		var tn hookgatev1.GetTenantResponse
		protoOut(t, dir, env, &tn, "tenants", "get", tenant)
		rev, _ := strconv.ParseInt(tn.GetTenant().GetEtag(), 10, 64)
		return len(nodes.Nodes) == 1 && rev > 0 && nodes.Nodes[0].ConfigRevision >= rev
	})
	kv := deliveriesKV(t, js)
	const scheduled = 2
	send := func(payload string, want string) string {
		t.Helper()
		id := newMessageID(t)
		publishOutbound(t, js, tenant, appID, "order.created", id, payload)
		waitDelivery(t, kv, tenant, id, ep, want)
		return id
	}
	lastTrigger := func(msg string) *hookgatev1.Attempt {
		t.Helper()
		var list hookgatev1.ListAttemptsResponse
		protoOut(t, dir, env, &list, "attempts", "list", "--tenant", tenant, "--message", msg)
		if len(list.Attempts) == 0 {
			t.Fatalf("no attempts of %s", msg)
		}
		return list.Attempts[0] // newest first
	}

	t.Run("resend", func(t *testing.T) {
		payload := `{"orderId": "ORD-R",  "n": 1}`
		msg := send(payload, "failed")
		recv.failing.Store(false)
		defer recv.failing.Store(true)
		out := mustRun(t, dir, env, "messages", "resend", msg, "--endpoint", ep, "--tenant", tenant)
		t.Logf("hookgate messages resend:\n%s", out)
		if !strings.Contains(out, "manual") || !strings.Contains(out, " 200 ") || !strings.Contains(out, msg) {
			t.Fatalf("resend printed %q; want the manual attempt answered 200", out)
		}
		if st := waitDelivery(t, kv, tenant, msg, ep, "succeeded"); st.Attempts != scheduled+1 {
			t.Fatalf("delivery %+v, want succeeded after %d attempts", st, scheduled+1)
		}
		got := recv.of(msg)
		if len(got) != scheduled+1 || !got[scheduled].verified || string(got[scheduled].body) != payload {
			t.Fatalf("receiver got %d requests of %s (last verified %v, body %q)", len(got), msg, len(got) > 0 && got[len(got)-1].verified, got[len(got)-1].body)
		}
		if a := lastTrigger(msg); a.GetTrigger() != hookgatev1.AttemptTrigger_ATTEMPT_TRIGGER_MANUAL || a.GetAttemptNumber() != scheduled+1 {
			t.Fatalf("last attempt %v", a)
		}
		for _, tc := range []struct {
			name  string
			args  []string
			wants []string
		}{
			{"unknown message", []string{"messages", "resend", "msg_nope", "--endpoint", ep, "--tenant", tenant}, []string{"not_found"}},
			{"unknown endpoint", []string{"messages", "resend", msg, "--endpoint", "ep_nope", "--tenant", tenant}, []string{"not_found"}},
			{"bad message id", []string{"messages", "resend", "msg.bad", "--endpoint", ep, "--tenant", tenant}, []string{"invalid_argument", "message_id"}},
			{"no endpoint", []string{"messages", "resend", msg, "--tenant", tenant}, []string{"--endpoint"}},
		} {
			t.Run(tc.name, func(t *testing.T) { mustFail(t, dir, env, tc.wants, tc.args...) })
		}
	})

	t.Run("recover", func(t *testing.T) {
		before := send(`{"orderId":"ORD-BEFORE"}`, "failed")
		// The window starts after the failure above ended.
		poll.Until(t, 10*time.Second, "the clock to pass the first failure", func() bool {
			e, err := kv.kv.Get(t.Context(), tenant+"."+before+"."+ep)
			return err == nil && time.Since(e.Created()) > 50*time.Millisecond
		})
		since := time.Now().UTC()
		failed := []string{send(`{"orderId":"ORD-F1"}`, "failed"), send(`{"orderId":"ORD-F2"}`, "failed"), send(`{"orderId":"ORD-F3"}`, "failed")}
		recv.failing.Store(false)
		defer recv.failing.Store(true)
		ok := send(`{"orderId":"ORD-OK"}`, "succeeded")
		out := mustRun(t, dir, env, "endpoints", "recover", ep, "--tenant", tenant, "--since", since.Format(time.RFC3339Nano), "--poll-interval", "100ms")
		t.Logf("hookgate endpoints recover:\n%s", out)
		if !strings.Contains(out, "completed: 3 queued, 3 delivered, 0 failed again, 0 pending, 0 skipped") || !progressLine.MatchString(out) {
			t.Fatalf("recover printed %q; want a progress bar and 3 queued, 3 delivered", out)
		}
		for _, id := range failed {
			got := recv.of(id)
			if len(got) != scheduled+1 || !got[scheduled].verified {
				t.Errorf("%s: receiver got %d requests, want %d (the last signed)", id, len(got), scheduled+1)
			}
			if a := lastTrigger(id); a.GetTrigger() != hookgatev1.AttemptTrigger_ATTEMPT_TRIGGER_RECOVER {
				t.Errorf("%s: last attempt %v, want trigger recover", id, a)
			}
			if st, _ := readDelivery(t, kv, tenant, id, ep); st.State != "succeeded" {
				t.Errorf("%s: delivery %+v", id, st)
			}
		}
		if n := len(recv.of(before)); n != scheduled {
			t.Errorf("the failure before the window was sent %d times, want %d (not recovered)", n, scheduled)
		}
		if n := len(recv.of(ok)); n != 1 {
			t.Errorf("the success in the window was sent %d times, want 1", n)
		}
		if st, _ := readDelivery(t, kv, tenant, before, ep); st.State != "failed" {
			t.Errorf("delivery before the window %+v, want still failed", st)
		}

		// Again over the same window, without waiting: nothing is failed now.
		out = mustRun(t, dir, env, "endpoints", "recover", ep, "--tenant", tenant, "--since", since.Format(time.RFC3339Nano), "--no-wait")
		t.Logf("hookgate endpoints recover --no-wait:\n%s", out)
		m := recoveryLine.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("recover --no-wait printed %q", out)
		}
		poll.Until(t, 30*time.Second, "the second recovery to complete", func() bool {
			var r hookgatev1.GetRecoveryResponse
			protoOut(t, dir, env, &r, "endpoints", "recovery", m[1], "--tenant", tenant)
			return r.GetRecovery().GetState() == hookgatev1.RecoveryState_RECOVERY_STATE_COMPLETED && r.GetRecovery().GetQueued() == 0
		})
		out = mustRun(t, dir, env, "endpoints", "recovery", m[1], "--tenant", tenant)
		t.Logf("hookgate endpoints recovery:\n%s", out)
		for _, tc := range []struct {
			name  string
			args  []string
			wants []string
		}{
			{"no since", []string{"endpoints", "recover", ep, "--tenant", tenant}, []string{"--since"}},
			{"until before since", []string{"endpoints", "recover", ep, "--tenant", tenant, "--since", "1h", "--until", "2h"}, []string{"invalid_argument", "until"}},
			{"unknown endpoint", []string{"endpoints", "recover", "ep_nope", "--tenant", tenant, "--since", "1h"}, []string{"not_found"}},
			{"unknown recovery", []string{"endpoints", "recovery", "rcv_nope", "--tenant", tenant}, []string{"not_found"}},
		} {
			t.Run(tc.name, func(t *testing.T) { mustFail(t, dir, env, tc.wants, tc.args...) })
		}
	})

	t.Run("test sends", func(t *testing.T) {
		recv.failing.Store(false)
		n := len(recv.all())
		out := mustRun(t, dir, env, "endpoints", "test", ep, "--tenant", tenant)
		t.Logf("hookgate endpoints test:\n%s", out)
		if !strings.Contains(out, "result       200") || !strings.Contains(out, "response     ok") {
			t.Fatalf("test printed %q", out)
		}
		got := recv.all()[n:]
		if len(got) != 1 || !got[0].verified || !strings.HasPrefix(got[0].id, "msg_test_") {
			t.Fatalf("the receiver got %+v", got)
		}
		var ping struct {
			Type string            `json:"type"`
			Data map[string]string `json:"data"`
		}
		if err := json.Unmarshal(got[0].body, &ping); err != nil || ping.Type != "webhook.test" || ping.Data["endpointId"] != ep {
			t.Fatalf("ping body %s", got[0].body)
		}
		if a := lastTrigger(got[0].id); a.GetTrigger() != hookgatev1.AttemptTrigger_ATTEMPT_TRIGGER_TEST || a.GetStatus() != hookgatev1.AttemptStatus_ATTEMPT_STATUS_SUCCEEDED {
			t.Fatalf("recorded test attempt %v", a)
		}

		recv.failing.Store(true)
		errOut := mustFail(t, dir, env, []string{"test attempt failed: 500"}, "endpoints", "test", ep, "--tenant", tenant)
		t.Logf("hookgate endpoints test (failing receiver), stderr:\n%s", errOut)
		var failing hookgatev1.Attempt
		outJSON, _, _ := run(t, dir, env, "endpoints", "test", ep, "--tenant", tenant, "-o", "json")
		if err := jsonProto(outJSON, &failing); err != nil || failing.GetResponseStatusCode() != 500 || failing.GetErrorClass() != "http_status" ||
			string(failing.GetResponseBody()) != "down for maintenance" || failing.GetDuration() == nil {
			t.Fatalf("failing test attempt %v (%v)", &failing, err)
		}

		recv.failing.Store(false)
		n = len(recv.all())
		out = mustRun(t, dir, env, "endpoints", "test", ep, "--tenant", tenant, "--event-type", "order.created")
		t.Logf("hookgate endpoints test --event-type order.created:\n%s", out)
		got = recv.all()[n:]
		if len(got) != 1 || !got[0].verified || !jsonEqual(t, got[0].body, []byte(example)) {
			t.Fatalf("example send: the receiver got %d requests (%s)", len(got), func() []byte {
				if len(got) > 0 {
					return got[0].body
				}
				return nil
			}())
		}
		for _, tc := range []struct {
			name  string
			args  []string
			wants []string
		}{
			{"type without example", []string{"endpoints", "test", ep, "--tenant", tenant, "--event-type", "order.noexample"}, []string{"failed_precondition", "no example"}},
			{"unknown type", []string{"endpoints", "test", ep, "--tenant", tenant, "--event-type", "order.unknown"}, []string{"not_found"}},
			{"unknown endpoint", []string{"endpoints", "test", "ep_nope", "--tenant", tenant}, []string{"not_found"}},
		} {
			t.Run(tc.name, func(t *testing.T) { mustFail(t, dir, env, tc.wants, tc.args...) })
		}
		mustRun(t, dir, env, "endpoints", "disable", ep, "--tenant", tenant)
		mustFail(t, dir, env, []string{"failed_precondition", "enable it first"}, "endpoints", "test", ep, "--tenant", tenant)
		mustFail(t, dir, env, []string{"failed_precondition", "enable it first"}, "messages", "resend", "msg_x", "--endpoint", ep, "--tenant", tenant)
	})
}

func jsonProto(s string, a *hookgatev1.Attempt) error {
	return protojson.Unmarshal([]byte(s), a)
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}
