package outbound_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/hookgate/hookgate/controlplane/outbound"
	"github.com/hookgate/hookgate/controlplane/outbound/outboundtest"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/testkit/natstest"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// fillHistory stores n attempts: every 1000th (the only one of 1) is of
// ep_target with its index copy, as many of ep_legacy as records only
// (a dispatcher without the index), the rest of 1,000 other endpoints
// with index copies. Every 4th attempt succeeds; the rest failed with a
// retry waiting.
func fillHistory(ctx context.Context, b *testing.B, js jetstream.JetStream, n int) {
	b.Helper()
	if _, err := js.CreateStream(ctx, outboundtest.AttemptsStream()); err != nil {
		b.Fatal(err)
	}
	every := min(n, 1000) // one in a thousand, whatever the size
	pub := func(subject string, hdr nats.Header, rec outbound.AttemptRecord) {
		data, err := json.Marshal(rec)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := js.PublishMsgAsync(&nats.Msg{Subject: subject, Header: hdr, Data: data}); err != nil {
			b.Fatal(err)
		}
	}
	for i := range n {
		ep := "ep_" + strconv.Itoa(i%1000)
		switch {
		case i%every == 0:
			ep = "ep_target"
		case i%every == 1:
			ep = "ep_legacy"
		}
		rec := outbound.AttemptRecord{
			Tenant: "acme", MessageID: "msg_" + strconv.Itoa(i/4), EndpointID: ep, Number: i%4 + 1, Trigger: "scheduled",
			Time: time.Now().UTC(), DurationMS: 1, URL: "https://example.com/h", StatusCode: 500, ErrorClass: "http_status", State: "pending",
		}
		if i%4 == 3 {
			rec.StatusCode, rec.ErrorClass, rec.State = 200, "", "succeeded"
		}
		pub("hookgate.attempts.acme."+ep+"."+rec.MessageID, nil, rec)
		if ep != "ep_legacy" {
			// The record's sequence is not known to an async publish; the
			// benchmark reads pages, not ids.
			pub(outbound.IndexSubject(rec, "order.created"), nats.Header{outbound.AttemptSeqHeader: []string{strconv.Itoa(i + 1)}}, rec)
		}
		if i%4096 == 4095 {
			select {
			case <-js.PublishAsyncComplete():
			case <-ctx.Done():
				b.Fatal(ctx.Err())
			}
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-ctx.Done():
		b.Fatal(ctx.Err())
	}
}

// BenchmarkListAttemptsPage measures one page of 50 attempts of one
// endpoint at 1, 100,000 and 1,000,000 attempts in the stream; ep_target
// holds one in a thousand of them (the same density at 100,000 and at
// 1,000,000), ep_legacy as many as records without index copies. A page's
// cost must not grow from 100,000 to 1,000,000, nor from the newest page
// to one in the middle of the history. Run with
//
//	go test -run - -bench ListAttemptsPage -benchtime 50x ./controlplane/outbound/
func BenchmarkListAttemptsPage(b *testing.B) {
	for _, n := range []int{1, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("attempts=%d", n), func(b *testing.B) {
			js := natstest.Start(b).JetStream(b)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
			defer cancel()
			fillHistory(ctx, b, js, n)
			r := outbound.NewReader(js)
			failed := hookgatev1.AttemptStatus_ATTEMPT_STATUS_FAILED
			pending := hookgatev1.AttemptStatus_ATTEMPT_STATUS_PENDING
			// The token of the middle of ep_target's history.
			mid := ""
			if n > 1 {
				var err error
				for range 10 {
					if _, mid, err = r.ListAttempts(ctx, outbound.AttemptFilter{Tenant: "acme", EndpointID: "ep_target"}, 50, mid); err != nil {
						b.Fatal(err)
					}
				}
			}
			cases := []struct {
				name  string
				f     outbound.AttemptFilter
				token string
			}{
				{"index/newest", outbound.AttemptFilter{EndpointID: "ep_target"}, ""},
				{"index/middle", outbound.AttemptFilter{EndpointID: "ep_target"}, mid},
				{"index/failed", outbound.AttemptFilter{EndpointID: "ep_target", Status: failed}, ""},
				{"index/pending,since", outbound.AttemptFilter{EndpointID: "ep_target", Status: pending, Since: time.Now().Add(-time.Hour)}, ""},
				{"records/newest", outbound.AttemptFilter{EndpointID: "ep_legacy"}, ""},
			}
			for _, c := range cases {
				if n == 1 && c.name == "records/newest" {
					continue // one attempt: there is no ep_legacy
				}
				b.Run(c.name, func(b *testing.B) {
					c.f.Tenant = "acme"
					got := 0
					b.ResetTimer()
					for range b.N {
						as, _, err := r.ListAttempts(ctx, c.f, 50, c.token)
						if err != nil {
							b.Fatal(err)
						}
						got = len(as)
					}
					b.ReportMetric(float64(got), "attempts/page")
				})
			}
		})
	}
}
