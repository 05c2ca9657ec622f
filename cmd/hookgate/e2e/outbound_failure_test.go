package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/gen/hookgate/v1/hookgatev1connect"
	"github.com/hookgate/hookgate/testkit/poll"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// setRetrySchedule gives a tenant its own retry schedule through the admin
// API (the CLI has no flag for it).
func setRetrySchedule(t *testing.T, d *devServer, tenant string, delays ...time.Duration) {
	t.Helper()
	auth := connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			req.Header().Set("Authorization", "Bearer "+d.token)
			return next(ctx, req)
		}
	})
	tc := hookgatev1connect.NewTenantServiceClient(&http.Client{Timeout: 10 * time.Second}, d.admin, connect.WithInterceptors(auth))
	rs := &hookgatev1.RetrySchedule{}
	for _, dl := range delays {
		rs.Delays = append(rs.Delays, durationpb.New(dl))
	}
	_, err := tc.UpdateTenant(context.Background(), connect.NewRequest(&hookgatev1.UpdateTenantRequest{
		Tenant:     &hookgatev1.Tenant{Id: tenant, RetrySchedule: rs},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"retry_schedule"}},
	}))
	if err != nil {
		t.Fatalf("set the retry schedule of %s: %v", tenant, err)
	}
}

// timedReceiver answers with statuses[i] (and headers[i]) to its i-th
// request, 200 past them, and records when each arrived.
type timedReceiver struct {
	*httptest.Server
	mu       sync.Mutex
	arrivals []time.Time
}

func newTimedReceiver(t *testing.T, statuses []int, retryAfter []string) *timedReceiver {
	t.Helper()
	r := &timedReceiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		n := len(r.arrivals)
		r.arrivals = append(r.arrivals, time.Now())
		r.mu.Unlock()
		status := http.StatusOK
		if n < len(statuses) {
			status = statuses[n]
		}
		if n < len(retryAfter) && retryAfter[n] != "" {
			w.Header().Set("Retry-After", retryAfter[n])
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte("answer " + strconv.Itoa(n+1)))
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *timedReceiver) times() []time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Time(nil), r.arrivals...)
}

// exhausted is the body of a message.attempt.exhausted operational event.
type exhausted struct {
	Tenant         string `json:"tenant"`
	MessageID      string `json:"messageId"`
	EndpointID     string `json:"endpointId"`
	AppID          string `json:"appId"`
	EventType      string `json:"eventType"`
	Attempts       int    `json:"attempts"`
	LastStatusCode int    `json:"lastStatusCode"`
	LastErrorClass string `json:"lastErrorClass"`
	Time           string `json:"time"`
}

// outboundTenant makes a tenant with one application, the event type
// order.created and an endpoint to url, and waits until the dispatcher
// holds it; it returns the application and endpoint ids.
func outboundTenant(t *testing.T, d *devServer, dir string, env []string, tenant, url string) (string, string) {
	t.Helper()
	mustRun(t, dir, env, "tenants", "create", tenant, "--allow-http-endpoints")
	var app hookgatev1.CreateApplicationResponse
	protoOut(t, dir, env, &app, "apps", "create", "--tenant", tenant, "--name", "Shop")
	mustRun(t, dir, env, "event-types", "create", "order.created", "--tenant", tenant)
	out := mustRun(t, dir, env, "endpoints", "create", "--tenant", tenant, "--app", app.GetApplication().GetId(), "--url", url, "--event-types", "order.created")
	id := endpointLine.FindStringSubmatch(out)
	if id == nil {
		t.Fatalf("endpoints create printed no id:\n%s", out)
	}
	var ep hookgatev1.GetEndpointResponse
	protoOut(t, dir, env, &ep, "endpoints", "get", id[1], "--tenant", tenant)
	rev, err := strconv.ParseInt(ep.GetEndpoint().GetEtag(), 10, 64)
	if err != nil {
		t.Fatalf("endpoint etag %q: %v", ep.GetEndpoint().GetEtag(), err)
	}
	poll.Until(t, 30*time.Second, "the dispatcher to hold the endpoint", func() bool {
		var nodes hookgatev1.ListNodesResponse
		protoOut(t, dir, env, &nodes, "nodes", "--role", "dispatcher")
		return len(nodes.Nodes) == 1 && nodes.Nodes[0].ConfigRevision >= rev
	})
	return app.GetApplication().GetId(), id[1]
}

// TestOutboundFinalFailureAndRetryAfter drives the end of a delivery
// through the built binary: a receiver that always fails gets exactly the
// tenant schedule's attempts, then the delivery is failed in the CLI and
// message.attempt.exhausted arrives on core NATS; and a 503 with
// Retry-After delays the next attempt by at least the clamped, scaled
// Retry-After.
func TestOutboundFinalFailureAndRetryAfter(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const scale = 0.1
	d := startDev(t, dir, "--retry-time-scale", strconv.FormatFloat(scale, 'f', -1, 64))
	env := []string{"HOOKGATE_SERVER=" + d.admin}
	nc := d.natsConn(t)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("final failure", func(t *testing.T) {
		failing := newReceiver(t, repeat(http.StatusInternalServerError, 50)...)
		app, ep := outboundTenant(t, d, dir, env, "failco", failing.URL+"/hooks")
		// Three delays: four attempts (on arrival, then 0.2 s apart scaled).
		setRetrySchedule(t, d, "failco", 2*time.Second, 2*time.Second, 2*time.Second)
		const attempts = 4
		poll.Until(t, 30*time.Second, "the dispatcher to hold the retry schedule", func() bool {
			var nodes hookgatev1.ListNodesResponse
			protoOut(t, dir, env, &nodes, "nodes", "--role", "dispatcher")
			var tenant hookgatev1.GetTenantResponse
			protoOut(t, dir, env, &tenant, "tenants", "get", "failco")
			rev, _ := strconv.ParseInt(tenant.GetTenant().GetEtag(), 10, 64)
			return len(nodes.Nodes) == 1 && rev > 0 && nodes.Nodes[0].ConfigRevision >= rev
		})

		events := make(chan *nats.Msg, 4)
		sub, err := nc.ChanSubscribe("hookgate.ops.failco.message.attempt.exhausted", events)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = sub.Unsubscribe() })
		if err := nc.Flush(); err != nil {
			t.Fatal(err)
		}

		msg := newMessageID(t)
		publishOutbound(t, js, "failco", app, "order.created", msg, `{"orderId":"ORD-F"}`)
		var ev exhausted
		select {
		case m := <-events:
			if err := json.Unmarshal(m.Data, &ev); err != nil {
				t.Fatalf("exhausted event %q: %v", m.Data, err)
			}
		case <-time.After(60 * time.Second):
			t.Fatalf("no message.attempt.exhausted within 60 s; the receiver got %d requests", len(failing.requests()))
		}
		if ev.Tenant != "failco" || ev.MessageID != msg || ev.EndpointID != ep || ev.AppID != app || ev.EventType != "order.created" ||
			ev.Attempts != attempts || ev.LastStatusCode != http.StatusInternalServerError || ev.LastErrorClass != "http_status" || ev.Time == "" {
			t.Errorf("exhausted event %+v; want failco, %s, %s, %s, order.created, %d attempts, last status 500 (http_status), a time", ev, msg, ep, app, attempts)
		}

		kv := deliveriesKV(t, js)
		if st := waitDelivery(t, kv, "failco", msg, ep, "failed"); st.Reason != "exhausted" || st.Attempts != attempts {
			t.Errorf("delivery %+v, want failed (exhausted) after %d attempts", st, attempts)
		}
		if n := len(failing.requests()); n != attempts {
			t.Errorf("the receiver got %d requests, want exactly %d", n, attempts)
		}
		var list hookgatev1.ListAttemptsResponse
		protoOut(t, dir, env, &list, "attempts", "list", "--tenant", "failco", "--message", msg)
		if len(list.Attempts) != attempts {
			t.Fatalf("attempts list shows %d attempts, want %d", len(list.Attempts), attempts)
		}
		for i, a := range list.Attempts {
			wantState := hookgatev1.DeliveryState_DELIVERY_STATE_PENDING
			if i == 0 {
				wantState = hookgatev1.DeliveryState_DELIVERY_STATE_FAILED
			}
			if a.AttemptNumber != int32(attempts-i) || a.Status != hookgatev1.AttemptStatus_ATTEMPT_STATUS_FAILED ||
				a.ResponseStatusCode != http.StatusInternalServerError || a.DeliveryState != wantState {
				t.Errorf("attempt %d listed as #%d %s %d, state %s; want #%d failed 500, state %s",
					i, a.AttemptNumber, a.Status, a.ResponseStatusCode, a.DeliveryState, attempts-i, wantState)
			}
		}
		// pending: the failed attempts after which a retry waited.
		protoOut(t, dir, env, &list, "attempts", "list", "--tenant", "failco", "--endpoint", ep, "--status", "pending")
		if len(list.Attempts) != attempts-1 {
			t.Errorf("--status pending lists %d attempts, want %d", len(list.Attempts), attempts-1)
		}
		protoOut(t, dir, env, &list, "attempts", "list", "--tenant", "failco", "--endpoint", ep, "--status", "succeeded")
		if len(list.Attempts) != 0 {
			t.Errorf("--status succeeded lists %d attempts, want none", len(list.Attempts))
		}
		t.Logf("hookgate attempts list --tenant failco --endpoint %s --since 1h:\n%s", ep,
			mustRun(t, dir, env, "attempts", "list", "--tenant", "failco", "--endpoint", ep, "--since", "1h"))
		t.Logf("hookgate attempts list --tenant failco --message %s --status pending:\n%s", msg,
			mustRun(t, dir, env, "attempts", "list", "--tenant", "failco", "--message", msg, "--status", "pending"))
		out := mustRun(t, dir, env, "messages", "get", msg, "--tenant", "failco")
		t.Logf("hookgate messages get %s --tenant failco:\n%s", msg, out)
		if !strings.Contains(out, ep) || !strings.Contains(out, "failed") || !strings.Contains(out, "exhausted") {
			t.Errorf("messages get does not show the delivery failed (exhausted):\n%s", out)
		}
		// Exactly once: no second event for the same delivery.
		if err := nc.Flush(); err != nil {
			t.Fatal(err)
		}
		select {
		case m := <-events:
			t.Errorf("a second exhausted event: %s", m.Data)
		default:
		}
	})

	t.Run("Retry-After", func(t *testing.T) {
		// The 2nd attempt is scheduled 10 s (scaled: 1 s) after the first;
		// Retry-After: 15 lies inside [10 s, 20 s], so the wait is 15 s,
		// scaled 1.5 s. Ignoring it would retry after 1 s.
		const scheduled, retryAfter = 10 * time.Second, 15 * time.Second
		rcv := newTimedReceiver(t, []int{http.StatusServiceUnavailable}, []string{strconv.Itoa(int(retryAfter / time.Second))})
		app, ep := outboundTenant(t, d, dir, env, "waitco", rcv.URL+"/hooks")
		setRetrySchedule(t, d, "waitco", scheduled, scheduled)
		poll.Until(t, 30*time.Second, "the dispatcher to hold the retry schedule", func() bool {
			var nodes hookgatev1.ListNodesResponse
			protoOut(t, dir, env, &nodes, "nodes", "--role", "dispatcher")
			var tenant hookgatev1.GetTenantResponse
			protoOut(t, dir, env, &tenant, "tenants", "get", "waitco")
			rev, _ := strconv.ParseInt(tenant.GetTenant().GetEtag(), 10, 64)
			return len(nodes.Nodes) == 1 && rev > 0 && nodes.Nodes[0].ConfigRevision >= rev
		})
		kv := deliveriesKV(t, js)
		msg := newMessageID(t)
		publishOutbound(t, js, "waitco", app, "order.created", msg, `{"orderId":"ORD-R"}`)
		if st := waitDelivery(t, kv, "waitco", msg, ep, "succeeded"); st.Attempts != 2 {
			t.Fatalf("delivery %+v, want succeeded on the 2nd attempt", st)
		}
		at := rcv.times()
		if len(at) != 2 {
			t.Fatalf("the receiver got %d requests, want 2", len(at))
		}
		want := time.Duration(float64(retryAfter) * scale)
		gap := at[1].Sub(at[0])
		t.Logf("503 with Retry-After %s, retried %s later (scheduled %s, scale %g)", retryAfter, gap, scheduled, scale)
		if gap < want {
			t.Errorf("the retry came %s after the 503, want at least the clamped, scaled Retry-After %s", gap, want)
		}
		var list hookgatev1.ListAttemptsResponse
		protoOut(t, dir, env, &list, "attempts", "list", "--tenant", "waitco", "--message", msg)
		if len(list.Attempts) != 2 || list.Attempts[1].GetRetryAfter().AsDuration() != retryAfter || list.Attempts[1].ResponseStatusCode != http.StatusServiceUnavailable {
			t.Errorf("attempts list %v; want the 503 with retry_after %s, then the 200", list.Attempts, retryAfter)
		}
	})
}

func repeat(v, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = v
	}
	return out
}
