package dispatch_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hookgate/hookgate/dataplane/dispatch"
	"github.com/hookgate/hookgate/dataplane/streams"
	"github.com/hookgate/hookgate/testkit/poll"
)

// TestEngineFanout: one message reaches the two endpoints of its
// application subscribed to its type, signed and verified by the
// receiver, with the payload byte for byte; an endpoint of another type
// and one of another application get nothing.
func TestEngineFanout(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	tb := newTable()
	a, b := newSink(t, status(200)), newSink(t, status(204))
	other, otherApp := newSink(t, status(200)), newSink(t, status(200))
	tb.add(a.endpoint(t, "ep_a"), "app_1", "order.created", "order.updated")
	tb.add(b.endpoint(t, "ep_b"), "app_1", "order.created")
	tb.add(other.endpoint(t, "ep_other"), "app_1", "order.updated")
	tb.add(otherApp.endpoint(t, "ep_app2"), "app_2", "order.created")
	eng := r.start(t, testConfig(), tb, nil)

	payload := `{ "orderId": "ORD-1",  "total": 12.5 }`
	r.publish(t, "app_1", "order.created", "msg_fan1", payload)
	for _, id := range []string{"ep_a", "ep_b"} {
		d := waitState(t, eng, "msg_fan1", id, dispatch.StateSucceeded)
		if d.Attempts != 1 || d.AppID != "app_1" || d.EventType != "order.created" {
			t.Fatalf("delivery %+v", d)
		}
	}
	if ds := deliveries(t, eng, "msg_fan1"); len(ds) != 2 {
		t.Fatalf("deliveries %+v, want ep_a and ep_b only", ds)
	}
	for _, s := range []*sink{a, b} {
		hs := s.all()
		if len(hs) != 1 {
			t.Fatalf("%d requests, want 1", len(hs))
		}
		h := hs[0]
		if h.verified != nil {
			t.Fatalf("receiver refused the signature: %v", h.verified)
		}
		if string(h.body) != payload || h.header.Get("Webhook-Id") != "msg_fan1" || h.header.Get("User-Agent") != "Hookgate/test" {
			t.Fatalf("request body %q headers %v", h.body, h.header)
		}
	}
	if other.count() != 0 || otherApp.count() != 0 {
		t.Fatalf("unsubscribed endpoints got %d and %d requests", other.count(), otherApp.count())
	}
	recs := r.attempts(t, "ep_b", "msg_fan1")
	if len(recs) != 1 || recs[0].StatusCode != 204 || recs[0].State != dispatch.StateSucceeded || recs[0].Number != 1 ||
		recs[0].Trigger != dispatch.TriggerScheduled || recs[0].Tenant != testTenant || !recs[0].NextRetry.IsZero() {
		t.Fatalf("attempt records %+v", recs)
	}
	// Its index copy: the same record, by endpoint, outcome, state and
	// type, naming the record's sequence.
	ctx := context.Background()
	as, err := r.js.Stream(ctx, streams.Attempts)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := as.GetLastMsgForSubject(ctx, streams.AttemptSubject(testTenant, "ep_b", "msg_fan1"))
	if err != nil {
		t.Fatal(err)
	}
	idx, err := as.GetLastMsgForSubject(ctx, streams.AttemptIndexSubject(testTenant, "ep_b", "succeeded", "succeeded", "order.created"))
	if err != nil {
		t.Fatalf("index copy: %v", err)
	}
	if string(idx.Data) != string(rec.Data) || idx.Header.Get(streams.AttemptSeqHeader) != strconv.FormatUint(rec.Sequence, 10) {
		t.Fatalf("index copy %s seq %q, want the record %s at %d", idx.Data, idx.Header.Get(streams.AttemptSeqHeader), rec.Data, rec.Sequence)
	}

	// The same message again (a producer retry past the duplicate window
	// of the outbound stream, or a redelivered fan-out) adds no delivery
	// and sends nothing twice.
	r.publish(t, "app_1", "order.updated", "msg_fan2", `{}`)
	waitState(t, eng, "msg_fan2", "ep_other", dispatch.StateSucceeded)
	waitState(t, eng, "msg_fan2", "ep_a", dispatch.StateSucceeded)
	if b.count() != 1 {
		t.Fatalf("ep_b got %d requests, want 1", b.count())
	}
}

// TestEngineRetries runs the compressed schedule against receivers that
// answer a fixed sequence.
func TestEngineRetries(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	tb := newTable()
	var mu sync.Mutex
	disabled := map[string]dispatch.DisableReason{}
	eng := r.start(t, testConfig(), tb, func(_ context.Context, tenant, id string, reason dispatch.DisableReason) {
		mu.Lock()
		defer mu.Unlock()
		disabled[tenant+"/"+id] = reason
	})
	tests := []struct {
		name     string
		codes    []int // answer n is codes[min(n, len)-1]
		want     dispatch.State
		reason   string
		attempts int
		disabled dispatch.DisableReason
	}{
		{"success on the 3rd attempt (the 3rd after a 1 s scheduled wait)", []int{500, 503, 200}, dispatch.StateSucceeded, "", 3, ""},
		{"final failure after the last attempt", []int{500}, dispatch.StateFailed, dispatch.ReasonExhausted, 4, ""},
		{"410 disables at once", []int{410}, dispatch.StateFailed, dispatch.ReasonEndpointGone, 1, dispatch.ReasonGone},
		{"redirect is a failure, not followed", []int{302, 200}, dispatch.StateSucceeded, "", 2, ""},
	}
	sinks := make([]*sink, len(tests))
	for i, tt := range tests {
		sinks[i] = newSink(t, func(n int, w http.ResponseWriter, _ *http.Request) {
			if tt.codes[min(n, len(tt.codes))-1] == 302 {
				w.Header().Set("Location", "http://127.0.0.1:1/elsewhere")
			}
			w.WriteHeader(tt.codes[min(n, len(tt.codes))-1])
		})
		tb.add(sinks[i].endpoint(t, "ep_r"+string(rune('0'+i))), "app_r"+string(rune('0'+i)), "order.created")
	}
	for i := range tests {
		r.publish(t, "app_r"+string(rune('0'+i)), "order.created", "msg_r"+string(rune('0'+i)), `{"n":1}`)
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep, msg := "ep_r"+string(rune('0'+i)), "msg_r"+string(rune('0'+i))
			d := waitState(t, eng, msg, ep, tt.want)
			if d.Attempts != tt.attempts || d.Reason != tt.reason || !d.NextRetry.IsZero() {
				t.Fatalf("delivery %+v, want %d attempts, reason %q", d, tt.attempts, tt.reason)
			}
			hs := sinks[i].all()
			if len(hs) != tt.attempts {
				t.Fatalf("%d requests, want %d", len(hs), tt.attempts)
			}
			for _, h := range hs {
				if h.header.Get("Webhook-Id") != msg || h.verified != nil {
					t.Fatalf("webhook-id %q, verified %v", h.header.Get("Webhook-Id"), h.verified)
				}
			}
			recs := r.attempts(t, ep, msg)
			if len(recs) != tt.attempts {
				t.Fatalf("%d attempt records, want %d", len(recs), tt.attempts)
			}
			for n, rec := range recs {
				last := n == len(recs)-1
				if rec.Number != n+1 || (rec.NextRetry.IsZero() != last) || (last && rec.State != tt.want) || (!last && rec.State != dispatch.StatePending) {
					t.Fatalf("attempt %d record %+v", n+1, rec)
				}
			}
			mu.Lock()
			got := disabled[testTenant+"/"+ep]
			mu.Unlock()
			if got != tt.disabled {
				t.Fatalf("disabled %q, want %q", got, tt.disabled)
			}
		})
	}
	// The 3rd attempt of the first row came after the 1 s (scaled) wait.
	hs := sinks[0].all()
	if gap := hs[2].at.Sub(hs[1].at); gap < time.Second {
		t.Fatalf("3rd attempt %s after the 2nd, want at least 1 s", gap)
	}
}

// TestEngineRetryAfter: Retry-After on 429/503 is clamped to [scheduled,
// 2 × scheduled] and scaled with the schedule.
func TestEngineRetryAfter(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	tb := newTable()
	eng := r.start(t, testConfig(), tb, nil)
	tests := []struct {
		name       string
		code       int
		retryAfter string
		want       time.Duration // wait before attempt 2: scheduled 5 s × 0.001
	}{
		{"longer is clamped to twice", 503, "1000", 10 * time.Millisecond},
		{"within the range is kept", 429, "7", 7 * time.Millisecond},
		{"shorter is raised to the schedule", 503, "1", 5 * time.Millisecond},
		{"ignored on 500", 500, "1000", 5 * time.Millisecond},
		{"malformed is ignored", 429, "soon", 5 * time.Millisecond},
	}
	for i, tt := range tests {
		s := newSink(t, func(n int, w http.ResponseWriter, _ *http.Request) {
			if n == 1 {
				w.Header().Set("Retry-After", tt.retryAfter)
				w.WriteHeader(tt.code)
				return
			}
			w.WriteHeader(200)
		})
		tb.add(s.endpoint(t, "ep_ra"+string(rune('0'+i))), "app_ra", "ev"+string(rune('0'+i)))
		r.publish(t, "app_ra", "ev"+string(rune('0'+i)), "msg_ra"+string(rune('0'+i)), `{}`)
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep, msg := "ep_ra"+string(rune('0'+i)), "msg_ra"+string(rune('0'+i))
			waitState(t, eng, msg, ep, dispatch.StateSucceeded)
			recs := r.attempts(t, ep, msg)
			if len(recs) != 2 {
				t.Fatalf("%d attempts, want 2", len(recs))
			}
			end := recs[0].Time.Add(time.Duration(recs[0].DurationMS * float64(time.Millisecond)))
			got := recs[0].NextRetry.Sub(end)
			if d := got - tt.want; d < -time.Microsecond || d > time.Microsecond {
				t.Fatalf("next retry %s after the answer, want %s", got, tt.want)
			}
			if recs[1].Time.Before(recs[0].NextRetry) {
				t.Fatalf("attempt 2 at %s, before its due time %s", recs[1].Time, recs[0].NextRetry)
			}
		})
	}
}

// TestEngineRejectsMalformed: a message that cannot be delivered is
// recorded on hookgate.rejected.… with its reason and acknowledged.
func TestEngineRejectsMalformed(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	tb := newTable()
	s := newSink(t, status(200))
	tb.add(s.endpoint(t, "ep_m"), "app_m", "order.created")
	eng := r.start(t, testConfig(), tb, nil)
	tests := []struct {
		name, subject, body, reason, app string
	}{
		{"not JSON", "hookgate.out.acme.app_m.order.created", `{"id":`, dispatch.RejectJSON, "app_m"},
		{"trailing data", "hookgate.out.acme.app_m.order.created", `{"id":"msg_1","eventType":"order.created","payload":{}} x`, dispatch.RejectJSON, "app_m"},
		{"no id", "hookgate.out.acme.app_m.order.created", `{"eventType":"order.created","payload":{}}`, dispatch.RejectID, "app_m"},
		{"id with a dot", "hookgate.out.acme.app_m.order.created", `{"id":"msg.1","eventType":"order.created","payload":{}}`, dispatch.RejectID, "app_m"},
		{"type differs from subject", "hookgate.out.acme.app_m.order.created", `{"id":"msg_2","eventType":"order.deleted","payload":{}}`, dispatch.RejectEventType, "app_m"},
		{"no payload", "hookgate.out.acme.app_m.order.created", `{"id":"msg_3","eventType":"order.created"}`, dispatch.RejectPayload, "app_m"},
		{"null payload", "hookgate.out.acme.app_m.order.created", `{"id":"msg_4","eventType":"order.created","payload":null}`, dispatch.RejectPayload, "app_m"},
		{"short subject", "hookgate.out.acme.app_x", `{"id":"msg_5","eventType":"x","payload":{}}`, dispatch.RejectSubject, "app_x"},
	}
	for _, tt := range tests {
		if _, err := r.js.Publish(context.Background(), tt.subject, []byte(tt.body)); err != nil {
			t.Fatal(err)
		}
	}
	r.publish(t, "app_m", "order.created", "msg_ok", `{}`)
	waitState(t, eng, "msg_ok", "ep_m", dispatch.StateSucceeded)
	var recs []dispatch.Rejected
	poll.Until(t, waitLong, "rejected records", func() bool {
		recs = nil
		for _, app := range []string{"app_m", "app_x"} {
			for _, b := range r.records(t, streams.RejectedSubject(testTenant, app)) {
				var rj dispatch.Rejected
				if err := json.Unmarshal(b, &rj); err != nil {
					t.Fatal(err)
				}
				recs = append(recs, rj)
			}
		}
		return len(recs) == len(tests)
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, rj := range recs {
				if rj.Subject == tt.subject && string(rj.Data) == tt.body {
					if rj.Reason != tt.reason || rj.Tenant != testTenant || rj.AppID != tt.app || rj.Sequence == 0 {
						t.Fatalf("record %+v, want reason %s", rj, tt.reason)
					}
					return
				}
			}
			t.Fatalf("no record of %s", tt.body)
		})
	}
	if s.count() != 1 {
		t.Fatalf("receiver got %d requests, want only msg_ok", s.count())
	}
}
