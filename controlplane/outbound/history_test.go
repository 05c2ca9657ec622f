package outbound_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/hookgate/hookgate/controlplane/outbound"
	"github.com/hookgate/hookgate/controlplane/outbound/outboundtest"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/testkit/natstest"
	"github.com/nats-io/nats.go/jetstream"
)

// written is one attempt a test stored, as the reader should list it.
type written struct {
	id        string
	rec       outbound.AttemptRecord
	eventType string
}

// history stores n attempts of endpoint ep_a, interleaved with as many of
// ep_b: messages of four attempts each, the first three failed with a
// retry waiting, the fourth succeeded for even messages and failed (the
// delivery failed) for odd ones; even messages are order.created, odd ones
// order.paid; an attempt's time is when it is written, as a dispatcher's
// is. It returns what it wrote, oldest first.
func history(ctx context.Context, t testing.TB, js jetstream.JetStream, n int, index bool) []written {
	t.Helper()
	var out []written
	for i := range n {
		for _, ep := range []string{"ep_a", "ep_b"} {
			msg, number := i/4, i%4+1
			rec := outbound.AttemptRecord{
				Tenant: "acme", MessageID: fmt.Sprintf("msg_%d", msg), EndpointID: ep, Number: number, Trigger: "scheduled",
				Time: time.Now().UTC(), DurationMS: 1.5, URL: "https://example.com/hook",
				StatusCode: 500, ErrorClass: "http_status", State: "pending",
			}
			switch {
			case number == 4 && msg%2 == 0:
				rec.StatusCode, rec.ErrorClass, rec.State = 200, "", "succeeded"
			case number == 4:
				rec.State = "failed"
			default:
				rec.NextRetry = rec.Time.Add(time.Second)
			}
			eventType := "order.created"
			if msg%2 == 1 {
				eventType = "order.paid"
			}
			var seq uint64
			var err error
			if index {
				seq, err = outboundtest.Attempt(ctx, js, rec, eventType)
			} else {
				seq, err = outboundtest.Record(ctx, js, rec)
			}
			if err != nil {
				t.Error(err) // also called from a writer goroutine
				return out
			}
			out = append(out, written{id: outbound.AttemptIDPrefix + strconv.FormatUint(seq, 10), rec: rec, eventType: eventType})
		}
	}
	return out
}

// expect is the ids of what a filter should list, newest first.
func expect(ws []written, keep func(written) bool) []string {
	var ids []string
	for i := len(ws) - 1; i >= 0; i-- {
		if keep(ws[i]) {
			ids = append(ids, ws[i].id)
		}
	}
	return ids
}

// pageAll pages through a listing, failing on a repeated id.
func pageAll(ctx context.Context, t *testing.T, r *outbound.Reader, f outbound.AttemptFilter, size int, between func(page int)) []string {
	t.Helper()
	var ids []string
	seen := map[string]bool{}
	for token, page := "", 0; ; page++ {
		as, next, err := r.ListAttempts(ctx, f, size, token)
		if err != nil {
			t.Fatalf("page %d: %v", page, err)
		}
		if len(as) > size {
			t.Fatalf("page %d: %d attempts, asked for %d", page, len(as), size)
		}
		for _, a := range as {
			if seen[a.Id] {
				t.Fatalf("page %d: %s listed twice", page, a.Id)
			}
			seen[a.Id] = true
			ids = append(ids, a.Id)
		}
		if token = next; token == "" {
			return ids
		}
		if between != nil {
			between(page)
		}
	}
}

// Paging through 1,000 attempts of an endpoint, with and without filters,
// lists each matching attempt exactly once, newest first, from the index.
func TestListAttemptsPagesThroughIndex(t *testing.T) {
	t.Parallel()
	js := natstest.Start(t).JetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := js.CreateStream(ctx, outboundtest.AttemptsStream()); err != nil {
		t.Fatal(err)
	}
	ws := history(ctx, t, js, 1000, true)
	r := outbound.NewReader(js)
	epA := func(w written) bool { return w.rec.EndpointID == "ep_a" }
	// Attempt times are those of writing: bounds between them cut the
	// history where the test knows.
	mid, later := ws[600].rec.Time, ws[1400].rec.Time
	first := ws[0].rec.Time
	tests := []struct {
		name string
		f    outbound.AttemptFilter
		size int
		keep func(written) bool
	}{
		{"all of ep_a", outbound.AttemptFilter{EndpointID: "ep_a"}, 50, epA},
		{"all of ep_a, pages of 250", outbound.AttemptFilter{EndpointID: "ep_a"}, 250, epA},
		{"all of ep_a, pages of 1", outbound.AttemptFilter{EndpointID: "ep_a"}, 1, epA},
		{"succeeded", outbound.AttemptFilter{EndpointID: "ep_a", Status: hookgatev1.AttemptStatus_ATTEMPT_STATUS_SUCCEEDED}, 30,
			func(w written) bool { return epA(w) && w.rec.StatusCode == 200 }},
		{"failed", outbound.AttemptFilter{EndpointID: "ep_a", Status: hookgatev1.AttemptStatus_ATTEMPT_STATUS_FAILED}, 70,
			func(w written) bool { return epA(w) && w.rec.StatusCode != 200 }},
		{"pending", outbound.AttemptFilter{EndpointID: "ep_a", Status: hookgatev1.AttemptStatus_ATTEMPT_STATUS_PENDING}, 70,
			func(w written) bool { return epA(w) && w.rec.State == "pending" }},
		{"event type", outbound.AttemptFilter{EndpointID: "ep_a", EventType: "order.paid"}, 40,
			func(w written) bool { return epA(w) && w.eventType == "order.paid" }},
		{"failed of a type", outbound.AttemptFilter{EndpointID: "ep_a", EventType: "order.paid", Status: hookgatev1.AttemptStatus_ATTEMPT_STATUS_FAILED}, 40,
			func(w written) bool { return epA(w) && w.eventType == "order.paid" && w.rec.StatusCode != 200 }},
		{"since", outbound.AttemptFilter{EndpointID: "ep_a", Since: mid}, 50,
			func(w written) bool { return epA(w) && !w.rec.Time.Before(mid) }},
		{"until", outbound.AttemptFilter{EndpointID: "ep_a", Until: mid}, 50,
			func(w written) bool { return epA(w) && w.rec.Time.Before(mid) }},
		{"since and until, failed", outbound.AttemptFilter{EndpointID: "ep_a", Since: mid, Until: later, Status: hookgatev1.AttemptStatus_ATTEMPT_STATUS_FAILED}, 7,
			func(w written) bool {
				return epA(w) && !w.rec.Time.Before(mid) && w.rec.Time.Before(later) && w.rec.StatusCode != 200
			}},
		{"every endpoint", outbound.AttemptFilter{}, 100, func(written) bool { return true }},
		{"one message", outbound.AttemptFilter{MessageID: "msg_7"}, 3, func(w written) bool { return w.rec.MessageID == "msg_7" }},
		{"one delivery", outbound.AttemptFilter{MessageID: "msg_7", EndpointID: "ep_b"}, 3,
			func(w written) bool { return w.rec.MessageID == "msg_7" && w.rec.EndpointID == "ep_b" }},
		{"one message, failed", outbound.AttemptFilter{MessageID: "msg_7", Status: hookgatev1.AttemptStatus_ATTEMPT_STATUS_FAILED}, 2,
			func(w written) bool { return w.rec.MessageID == "msg_7" && w.rec.StatusCode != 200 }},
		{"unknown endpoint", outbound.AttemptFilter{EndpointID: "ep_zz"}, 50, func(written) bool { return false }},
		{"range before everything", outbound.AttemptFilter{EndpointID: "ep_a", Until: first.Add(-time.Hour)}, 50, func(written) bool { return false }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.f.Tenant = "acme"
			want := expect(ws, tt.keep)
			got := pageAll(ctx, t, r, tt.f, tt.size, nil)
			if !slices.Equal(got, want) {
				t.Fatalf("got %d attempts, want %d\ngot  %.12v…\nwant %.12v…", len(got), len(want), got, want)
			}
		})
	}
	if _, _, err := r.ListAttempts(ctx, outbound.AttemptFilter{Tenant: "acme", EndpointID: "ep_a"}, 5, "x1"); err != outbound.ErrBadPageToken {
		t.Fatalf("bad token: %v", err)
	}
}

// Attempts recorded while a caller pages are newer than every token: the
// pages list exactly what was there at the first page, none twice.
func TestListAttemptsStableUnderInserts(t *testing.T) {
	t.Parallel()
	js := natstest.Start(t).JetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := js.CreateStream(ctx, outboundtest.AttemptsStream()); err != nil {
		t.Fatal(err)
	}
	ws := history(ctx, t, js, 1000, true)
	r := outbound.NewReader(js)
	for _, status := range []hookgatev1.AttemptStatus{
		hookgatev1.AttemptStatus_ATTEMPT_STATUS_UNSPECIFIED, hookgatev1.AttemptStatus_ATTEMPT_STATUS_FAILED, hookgatev1.AttemptStatus_ATTEMPT_STATUS_SUCCEEDED,
	} {
		t.Run(status.String(), func(t *testing.T) {
			f := outbound.AttemptFilter{Tenant: "acme", EndpointID: "ep_a", Status: status}
			keep := func(w written) bool {
				return w.rec.EndpointID == "ep_a" && (status == 0 || (status == hookgatev1.AttemptStatus_ATTEMPT_STATUS_SUCCEEDED) == (w.rec.StatusCode == 200))
			}
			want := expect(ws, keep)
			done := make(chan []written, 1)
			started := false
			got := pageAll(ctx, t, r, f, 40, func(int) {
				if started {
					return
				}
				// After the first page, a writer records more of ep_a's
				// attempts, of every status, while the rest are read.
				started = true
				go func() { done <- history(ctx, t, js, 200, true) }()
			})
			if !started {
				t.Fatal("a single page: nothing was read while inserting")
			}
			more := <-done
			ws = append(ws, more...)
			if !slices.Equal(got, want) {
				t.Fatalf("got %d attempts, want %d", len(got), len(want))
			}
			// A new listing sees the new ones first.
			as, _, err := r.ListAttempts(ctx, f, 1, "")
			if err != nil || len(as) != 1 || slices.Contains(want, as[0].Id) {
				t.Fatalf("fresh listing: %v %v", as, err)
			}
		})
	}
}

// Records of dispatchers that write no index are still listed, from the
// record subjects, with the status filtered by the reader.
func TestListAttemptsWithoutIndex(t *testing.T) {
	t.Parallel()
	js := natstest.Start(t).JetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := js.CreateStream(ctx, outboundtest.AttemptsStream()); err != nil {
		t.Fatal(err)
	}
	ws := history(ctx, t, js, 120, false)
	r := outbound.NewReader(js)
	f := outbound.AttemptFilter{Tenant: "acme", EndpointID: "ep_a", Status: hookgatev1.AttemptStatus_ATTEMPT_STATUS_PENDING}
	want := expect(ws, func(w written) bool { return w.rec.EndpointID == "ep_a" && w.rec.State == "pending" })
	if got := pageAll(ctx, t, r, f, 7, nil); !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}
