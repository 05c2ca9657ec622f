package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/gen/hookgate/v1/hookgatev1connect"
	"google.golang.org/protobuf/types/known/structpb"
)

// loader sends the two kinds of load: a POST to the GENERIC webhook with
// its key, and SendMessage through the edge with a producer token. Every
// request carries a sequence number of its kind, so what was acknowledged
// can be checked against what was stored and delivered.
type loader struct {
	inURL    string
	key      atomic.Pointer[string] // the webhook key in use (churn rotates it)
	producer string
	appIDs   []string
	pad      string
	client   *http.Client
	msgs     hookgatev1connect.MessageServiceClient

	in, out *recorder
	inAcked bitset // inbound sequence numbers answered 200
	tr      *tracker
	inSeq   atomic.Uint64
	outSeq  atomic.Uint64
	dropped atomic.Int64 // requests still queued when the hold ended
}

func newLoader(edge string, fx *fixture, tr *tracker, in, out *recorder, bodyBytes int) *loader {
	tp := &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: 90 * time.Second}
	hc := &http.Client{Transport: tp, Timeout: 10 * time.Second}
	l := &loader{
		inURL: edge + "/in/" + tenant + "/" + fx.webhookID, producer: fx.producer, appIDs: fx.appIDs,
		pad: strings.Repeat("x", max(0, bodyBytes-64)), client: hc,
		msgs: hookgatev1connect.NewMessageServiceClient(hc, edge),
		in:   in, out: out, tr: tr,
	}
	l.setKey(fx.key)
	return l
}

func (l *loader) setKey(k string) { l.key.Store(&k) }

// inbound posts one event and reports whether it was acknowledged;
// latency runs from sched.
func (l *loader) inbound(ctx context.Context, sched time.Time) bool {
	seq := l.inSeq.Add(1)
	body := fmt.Sprintf(`{"seq":"i%d","t":"%d","pad":"%s"}`, seq, sched.UnixMicro(), l.pad)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.inURL, strings.NewReader(body))
	if err != nil {
		l.in.fail("inbound: " + err.Error())
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Hookgate-Key", *l.key.Load())
	resp, err := l.client.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			l.in.fail("inbound: connection error")
		}
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		l.in.fail("inbound: HTTP " + strconv.Itoa(resp.StatusCode))
		return false
	}
	l.inAcked.set(seq)
	l.in.ok(time.Since(sched))
	return true
}

// outbound sends one message to the next application (round robin, so
// each receiver gets its share) and reports whether it was acknowledged;
// latency runs from sched to the ack.
func (l *loader) outbound(ctx context.Context, sched time.Time) bool {
	seq := l.outSeq.Add(1)
	p, err := structpb.NewValue(map[string]any{"seq": "o" + strconv.FormatUint(seq, 10),
		"t": strconv.FormatInt(sched.UnixMicro(), 10), "pad": l.pad})
	if err != nil {
		l.out.fail("outbound: " + err.Error())
		return false
	}
	req := connect.NewRequest(&hookgatev1.SendMessageRequest{Message: &hookgatev1.Message{
		Tenant: tenant, ApplicationId: l.appIDs[seq%uint64(len(l.appIDs))], EventType: eventType,
		EventId: "o" + strconv.FormatUint(seq, 10), Payload: p}})
	req.Header().Set("Authorization", "Bearer "+l.producer)
	if _, err := l.msgs.SendMessage(ctx, req); err != nil {
		if ctx.Err() == nil {
			l.out.fail("SendMessage: " + connect.CodeOf(err).String())
		}
		return false
	}
	l.tr.acked.set(seq)
	l.out.ok(time.Since(sched))
	return true
}

// rampStep is one level of the closed-loop ramp.
type rampStep struct {
	workers int
	rate    float64 // acknowledged requests per second, both kinds
}

// ramp runs closed-loop workers, each alternating an inbound POST and a
// SendMessage, doubling their number at every step, for about total; it
// returns the steps and the best rate.
//
// A step's rate is what the whole pipeline kept up with: the requests
// acknowledged per second, but at most twice the messages delivered per
// second (half the requests are messages), since the edge acknowledges
// messages faster than dispatchers deliver them and a hold above the
// delivery rate only grows a backlog. delivered counts deliveries so far.
func (l *loader) ramp(ctx context.Context, total time.Duration, levels []int, delivered func() int) ([]rampStep, float64) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Workers stop between requests; one in flight finishes (a cancelled
	// request is no answer of the server's).
	reqCtx := context.WithoutCancel(ctx)
	var done atomic.Int64
	var wg sync.WaitGroup
	step := total / time.Duration(len(levels))
	var steps []rampStep
	best, running := 0.0, 0
	for _, n := range levels {
		for ; running < n; running++ {
			wg.Go(func() {
				for ctx.Err() == nil {
					if l.inbound(reqCtx, time.Now()) {
						done.Add(1)
					}
					if l.outbound(reqCtx, time.Now()) {
						done.Add(1)
					}
				}
			})
		}
		start, before, deliveredBefore := time.Now(), done.Load(), delivered()
		select {
		case <-ctx.Done():
			cancel()
			wg.Wait()
			return steps, best
		case <-time.After(step):
		}
		secs := time.Since(start).Seconds()
		rate := min(float64(done.Load()-before)/secs, 2*float64(delivered()-deliveredBefore)/secs)
		steps = append(steps, rampStep{workers: n, rate: rate})
		best = max(best, rate)
	}
	cancel()
	wg.Wait()
	return steps, best
}

// hold sends at rate requests per second, half of each kind, open loop: a
// 1 ms ticker releases every request whose scheduled time has come to a
// pool of workers, and latency is measured from that scheduled time, so a
// stalled server shows as latency rather than as a slower sender. It
// returns when ctx ends and every request in flight has finished.
func (l *loader) hold(ctx context.Context, rate float64, workers int) {
	type job struct {
		sched   time.Time
		inbound bool
	}
	jobs := make(chan job, 1<<16)
	var wg sync.WaitGroup
	// Requests in flight finish on their own (the client's timeout): a
	// cancelled request would be an error that the system did not make.
	// Those still queued when the hold ends (the server fell behind the
	// schedule) are dropped and counted.
	reqCtx := context.WithoutCancel(ctx)
	for range workers {
		wg.Go(func() {
			for j := range jobs {
				if ctx.Err() != nil {
					l.dropped.Add(1)
					continue
				}
				if j.inbound {
					l.inbound(reqCtx, j.sched)
				} else {
					l.outbound(reqCtx, j.sched)
				}
			}
		})
	}
	interval := time.Duration(float64(time.Second) / rate)
	t0 := time.Now()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	var k int64
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case now := <-tick.C:
			for {
				sched := t0.Add(time.Duration(k) * interval)
				if sched.After(now) {
					break
				}
				select {
				case jobs <- job{sched: sched, inbound: k%2 == 0}:
				case <-ctx.Done():
					break loop
				}
				k++
			}
		}
	}
	close(jobs)
	wg.Wait()
}
