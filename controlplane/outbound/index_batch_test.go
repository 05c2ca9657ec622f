package outbound_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/controlplane/outbound"
	"github.com/hookgate/hookgate/controlplane/outbound/outboundtest"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/testkit/natstest"
)

// Index copies written in batches of one subject (1 to 7 copies each,
// subjects interleaved) page exactly like single copies: each matching
// attempt once, newest index message first and, inside a batch, newest
// record first, whatever the page size, with pages ending inside batches.
func TestListAttemptsPagesThroughIndexBatches(t *testing.T) {
	t.Parallel()
	js := natstest.Start(t).JetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := js.CreateStream(ctx, outboundtest.AttemptsStream()); err != nil {
		t.Fatal(err)
	}
	ws := history(ctx, t, js, 200, false)
	var order [][]written // index messages in the order they were stored
	pending := map[string][]written{}
	sizes := []int{1, 3, 5, 2, 7, 4}
	flush := func(subject string) {
		batch := pending[subject]
		recs, seqs := make([]outbound.AttemptRecord, len(batch)), make([]uint64, len(batch))
		for i, w := range batch {
			seq, err := strconv.ParseUint(strings.TrimPrefix(w.id, outbound.AttemptIDPrefix), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			recs[i], seqs[i] = w.rec, seq
		}
		if err := outboundtest.IndexBatch(ctx, js, recs, seqs, batch[0].eventType); err != nil {
			t.Fatal(err)
		}
		order = append(order, batch)
		delete(pending, subject)
	}
	for i, w := range ws {
		subject := outbound.IndexSubject(w.rec, w.eventType)
		pending[subject] = append(pending[subject], w)
		if len(pending[subject]) == sizes[i%len(sizes)] {
			flush(subject)
		}
	}
	rest := make([]string, 0, len(pending))
	for subject := range pending {
		rest = append(rest, subject)
	}
	slices.Sort(rest)
	for _, subject := range rest {
		flush(subject)
	}
	expectIndexed := func(keep func(written) bool) []string {
		var ids []string
		for i := len(order) - 1; i >= 0; i-- {
			for j := len(order[i]) - 1; j >= 0; j-- {
				if keep(order[i][j]) {
					ids = append(ids, order[i][j].id)
				}
			}
		}
		return ids
	}

	r := outbound.NewReader(js)
	epA := func(w written) bool { return w.rec.EndpointID == "ep_a" }
	tests := []struct {
		name string
		f    outbound.AttemptFilter
		size int
		keep func(written) bool
	}{
		{"all of ep_a, pages of 1", outbound.AttemptFilter{EndpointID: "ep_a"}, 1, epA},
		{"all of ep_a, pages of 4", outbound.AttemptFilter{EndpointID: "ep_a"}, 4, epA},
		{"all of ep_a, pages of 50", outbound.AttemptFilter{EndpointID: "ep_a"}, 50, epA},
		{"succeeded, pages of 3", outbound.AttemptFilter{EndpointID: "ep_a", Status: hookgatev1.AttemptStatus_ATTEMPT_STATUS_SUCCEEDED}, 3,
			func(w written) bool { return epA(w) && w.rec.StatusCode == 200 }},
		{"pending, pages of 5", outbound.AttemptFilter{EndpointID: "ep_a", Status: hookgatev1.AttemptStatus_ATTEMPT_STATUS_PENDING}, 5,
			func(w written) bool { return epA(w) && w.rec.State == "pending" }},
		{"event type, pages of 6", outbound.AttemptFilter{EndpointID: "ep_a", EventType: "order.paid"}, 6,
			func(w written) bool { return epA(w) && w.eventType == "order.paid" }},
		{"every endpoint, pages of 7", outbound.AttemptFilter{}, 7, func(written) bool { return true }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.f.Tenant = "acme"
			want := expectIndexed(tt.keep)
			got := pageAll(ctx, t, r, tt.f, tt.size, nil)
			if !slices.Equal(got, want) {
				t.Fatalf("got %d attempts, want %d\ngot  %.12v…\nwant %.12v…", len(got), len(want), got, want)
			}
		})
	}
	for _, token := range []string{"5.0", "5.x", "0.3", "5.-1", "5.99999999"} {
		if _, _, err := r.ListAttempts(ctx, outbound.AttemptFilter{Tenant: "acme", EndpointID: "ep_a"}, 5, token); err != outbound.ErrBadPageToken {
			t.Errorf("token %q: %v, want a bad page token", token, err)
		}
	}
	// A batched token of ep_b's listing does not show ep_b's copies to a
	// listing of ep_a.
	fb := outbound.AttemptFilter{Tenant: "acme", EndpointID: "ep_b"}
	var foreign string
	for token := ""; foreign == ""; {
		_, next, err := r.ListAttempts(ctx, fb, 1, token)
		if err != nil || next == "" {
			t.Fatalf("no batched token in ep_b's pages (%v)", err)
		}
		if strings.Contains(next, ".") {
			foreign = next
		}
		token = next
	}
	as, _, err := r.ListAttempts(ctx, outbound.AttemptFilter{Tenant: "acme", EndpointID: "ep_a"}, 50, foreign)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range as {
		if a.EndpointId != "ep_a" {
			t.Fatalf("ep_a's page after ep_b's token %s lists %s of %s", foreign, a.Id, a.EndpointId)
		}
	}
	// A batched token is for index pages only.
	if _, _, err := r.ListAttempts(ctx, outbound.AttemptFilter{Tenant: "acme", MessageID: "msg_3"}, 5, "9.2"); err != outbound.ErrBadPageToken {
		t.Errorf("batched token on a message listing: %v", err)
	}
}
