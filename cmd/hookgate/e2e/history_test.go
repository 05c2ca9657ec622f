package e2e

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/controlplane/outbound"
	"github.com/hookgate/hookgate/controlplane/outbound/outboundtest"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/nats-io/nats.go/jetstream"
)

// seqOf is the stream sequence in an attempt id.
func seqOf(t *testing.T, id string) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(strings.TrimPrefix(id, outbound.AttemptIDPrefix), 10, 64)
	if err != nil {
		t.Fatalf("attempt id %q: %v", id, err)
	}
	return n
}

// TestDeliveryHistory pages the delivery history through the CLI of the
// built binary: attempts a real dispatcher made, and 1,000 attempts written
// in the dispatchers' indexed form (record and index copy) so the listing
// spans several pages, with status filters, a time range, and attempts
// arriving while the CLI pages.
func TestDeliveryHistory(t *testing.T) {
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
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// A real delivery: 500, then 200.
	rcv := newReceiver(t, http.StatusInternalServerError)
	app, ep := outboundTenant(t, d, dir, env, "acme", rcv.URL+"/hooks")
	kv := deliveriesKV(t, js)
	msg := newMessageID(t)
	publishOutbound(t, js, "acme", app, "order.created", msg, `{"orderId":"ORD-1"}`)
	waitDelivery(t, kv, "acme", msg, ep, "succeeded")
	var list hookgatev1.ListAttemptsResponse
	for _, by := range [][]string{{"--message", msg}, {"--endpoint", ep}, {"--endpoint", ep, "--since", "1h"}} {
		protoOut(t, dir, env, &list, append([]string{"attempts", "list", "--tenant", "acme"}, by...)...)
		if len(list.Attempts) != 2 || list.Attempts[0].Status != hookgatev1.AttemptStatus_ATTEMPT_STATUS_SUCCEEDED ||
			list.Attempts[1].Status != hookgatev1.AttemptStatus_ATTEMPT_STATUS_FAILED || list.Attempts[0].AttemptNumber != 2 {
			t.Fatalf("attempts list %v: %v; want the 200 (#2), then the 500 (#1)", by, list.Attempts)
		}
	}
	protoOut(t, dir, env, &list, "attempts", "list", "--tenant", "acme", "--endpoint", ep, "--until", "1h")
	if len(list.Attempts) != 0 {
		t.Fatalf("--until 1h (an hour ago) lists %d attempts", len(list.Attempts))
	}
	t.Logf("attempts list:\n%s", mustRun(t, dir, env, "attempts", "list", "--tenant", "acme", "--endpoint", ep))
	t.Logf("messages get:\n%s", mustRun(t, dir, env, "messages", "get", msg, "--tenant", "acme"))
	t.Logf("messages list:\n%s", mustRun(t, dir, env, "messages", "list", "--tenant", "acme"))

	// 1,000 attempts of another endpoint in the indexed form: 250 messages of
	// 4 attempts, 500s with a retry waiting then a 200.
	const hist = "ep_history"
	write := func(from, n int) []string {
		var ids []string
		for i := from; i < from+n; i++ {
			rec := outbound.AttemptRecord{
				Tenant: "acme", MessageID: fmt.Sprintf("msg_h%d", i/4), EndpointID: hist, Number: i%4 + 1, Trigger: "scheduled",
				Time: time.Now().UTC(), DurationMS: 2, URL: "https://example.com/h", StatusCode: 500, ErrorClass: "http_status", State: "pending",
			}
			if rec.Number == 4 {
				rec.StatusCode, rec.ErrorClass, rec.State = 200, "", "succeeded"
			}
			seq, err := outboundtest.Attempt(ctx, js, rec, "order.created")
			if err != nil {
				t.Error(err)
				return ids
			}
			ids = append(ids, outbound.AttemptIDPrefix+strconv.FormatUint(seq, 10))
		}
		return ids
	}
	before := write(0, 1000)
	slices.Reverse(before)
	for _, tt := range []struct {
		status string
		want   int
	}{{"", 1000}, {"failed", 750}, {"pending", 750}, {"succeeded", 250}} {
		protoOut(t, dir, env, &list, "attempts", "list", "--tenant", "acme", "--endpoint", hist, "--status", tt.status, "--limit", "0")
		if len(list.Attempts) != tt.want {
			t.Errorf("--status %q lists %d attempts, want %d", tt.status, len(list.Attempts), tt.want)
		}
	}
	mustFail(t, dir, env, []string{"--status"}, "attempts", "list", "--tenant", "acme", "--endpoint", hist, "--status", "cancelled")
	mustFail(t, dir, env, []string{"--endpoint or --message"}, "attempts", "list", "--tenant", "acme")
	mustFail(t, dir, env, []string{"--since"}, "attempts", "list", "--tenant", "acme", "--endpoint", hist, "--since", "yesterday")
	mustFail(t, dir, env, []string{"invalid_argument", "until"}, "attempts", "list", "--tenant", "acme", "--endpoint", hist, "--since", "1h", "--until", "2h")

	// While the CLI pages (250 a page), 100 more arrive: every earlier one
	// is listed once, newest first.
	done := make(chan []string, 1)
	go func() { done <- write(1000, 100) }()
	protoOut(t, dir, env, &list, "attempts", "list", "--tenant", "acme", "--endpoint", hist, "--limit", "0")
	added := <-done
	var got []string
	seen := map[string]bool{}
	for i, a := range list.Attempts {
		if seen[a.Id] {
			t.Fatalf("%s listed twice", a.Id)
		}
		seen[a.Id] = true
		if i > 0 && seqOf(t, a.Id) >= seqOf(t, list.Attempts[i-1].Id) {
			t.Fatalf("not newest first: %s after %s", a.Id, list.Attempts[i-1].Id)
		}
		if !slices.Contains(added, a.Id) {
			got = append(got, a.Id)
		}
	}
	if !slices.Equal(got, before) {
		t.Fatalf("the listing during inserts holds %d of the %d earlier attempts", len(got), len(before))
	}
	// A bounded listing stops at its limit.
	protoOut(t, dir, env, &list, "attempts", "list", "--tenant", "acme", "--endpoint", hist, "--limit", "7")
	if len(list.Attempts) != 7 || list.Attempts[0].Id != added[len(added)-1] {
		t.Fatalf("--limit 7: %d attempts, first %v", len(list.Attempts), list.Attempts[:min(1, len(list.Attempts))])
	}
}
