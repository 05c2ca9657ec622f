package dispatch_test

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hookgate/hookgate/testkit/natstest"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// retryDelay is how far ahead every benchmarked retry is due.
const retryDelay = 2 * time.Second

// lateness collects how late retries arrived after their due time.
type lateness struct {
	mu   sync.Mutex
	late []time.Duration
	done chan struct{}
	want int
}

func newLateness(n int) *lateness { return &lateness{done: make(chan struct{}), want: n} }

func (l *lateness) add(due time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.late = append(l.late, time.Since(due))
	if len(l.late) == l.want {
		close(l.done)
	}
}

func (l *lateness) report(b *testing.B) {
	l.mu.Lock()
	defer l.mu.Unlock()
	slices.Sort(l.late)
	q := func(p float64) float64 { return float64(l.late[int(p*float64(len(l.late)-1))].Milliseconds()) }
	b.ReportMetric(q(0.5), "late-p50-ms")
	b.ReportMetric(q(0.99), "late-p99-ms")
	b.ReportMetric(q(1), "late-max-ms")
}

func waitAll(b *testing.B, l *lateness) {
	select {
	case <-l.done:
	case <-time.After(retryDelay + 60*time.Second):
		b.Fatalf("only %d of %d retries arrived", len(l.late), l.want)
	}
}

// BenchmarkRetryMsgSchedule holds b.N waiting retries as scheduled
// messages inside the stream (nats-server 2.12+ AllowMsgSchedules): each
// retry is a message on a subject of its own with Nats-Schedule "@at …"
// and a target subject the dispatchers consume. While it waits, no
// consumer has it: no goroutine, no worker, no ack-pending slot. Run:
// go test -run - -bench RetryMsgSchedule -benchtime 10000x ./dataplane/dispatch/
func BenchmarkRetryMsgSchedule(b *testing.B) {
	srv := natstest.Start(b)
	js := srv.JetStream(b)
	ctx := context.Background()
	stream, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: "RETRY_SCHED", Subjects: []string{"sched.>", "due.>"}, AllowMsgSchedules: true,
	})
	if err != nil {
		b.Fatal(err)
	}
	cons, err := stream.CreateConsumer(ctx, jetstream.ConsumerConfig{Durable: "d", FilterSubject: "due.>", AckPolicy: jetstream.AckExplicitPolicy, MaxAckPending: -1})
	if err != nil {
		b.Fatal(err)
	}
	l := newLateness(b.N)
	cc, err := cons.Consume(func(m jetstream.Msg) {
		due, _ := strconv.ParseInt(string(m.Data()), 10, 64)
		l.add(time.Unix(0, due))
		_ = m.Ack()
	})
	if err != nil {
		b.Fatal(err)
	}
	defer cc.Stop()

	due := time.Now().Add(retryDelay)
	b.ResetTimer()
	start := time.Now()
	futures := make([]jetstream.PubAckFuture, 0, b.N)
	for i := range b.N {
		msg := nats.NewMsg("sched." + strconv.Itoa(i))
		// RFC 3339 with nanoseconds: the server parses fractional seconds,
		// although nats.go's WithScheduleAt formats whole seconds.
		msg.Header.Set("Nats-Schedule", "@at "+due.UTC().Format(time.RFC3339Nano))
		msg.Header.Set("Nats-Schedule-Target", "due."+strconv.Itoa(i))
		msg.Data = []byte(strconv.FormatInt(due.UnixNano(), 10))
		f, err := js.PublishMsgAsync(msg)
		if err != nil {
			b.Fatal(err)
		}
		futures = append(futures, f)
	}
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			b.Fatal(err)
		}
	}
	setup := time.Since(start)
	b.StopTimer()
	if time.Now().After(due) {
		b.Fatalf("setup of %d retries took %s, past the %s delay", b.N, setup, retryDelay)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(info.NumAckPending), "ack-pending-while-waiting")
	b.ReportMetric(float64(b.N)/setup.Seconds(), "retries-set/s")
	waitAll(b, l)
	l.report(b)
	st, _ := stream.Info(ctx)
	b.ReportMetric(float64(st.State.Msgs), "stream-msgs-after")
}

// BenchmarkRetryNakWithDelay holds b.N waiting retries as NakWithDelay
// redeliveries: each stays ack-pending on the consumer until it is
// redelivered, so MaxAckPending bounds how many retries can wait.
func BenchmarkRetryNakWithDelay(b *testing.B) {
	srv := natstest.Start(b)
	js := srv.JetStream(b)
	ctx := context.Background()
	stream, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "RETRY_NAK", Subjects: []string{"work.>"}})
	if err != nil {
		b.Fatal(err)
	}
	cons, err := stream.CreateConsumer(ctx, jetstream.ConsumerConfig{Durable: "d", AckPolicy: jetstream.AckExplicitPolicy, MaxAckPending: -1, AckWait: 5 * time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	for i := range b.N {
		if _, err := js.PublishAsync("work."+strconv.Itoa(i), nil); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(time.Minute):
		b.Fatal("publish did not complete")
	}
	l := newLateness(b.N)
	var (
		mu     sync.Mutex
		naked  int
		nakEnd = make(chan struct{})
		due    time.Time
		start  time.Time
	)
	b.ResetTimer()
	start = time.Now()
	due = start.Add(retryDelay)
	cc, err := cons.Consume(func(m jetstream.Msg) {
		md, _ := m.Metadata()
		if md.NumDelivered == 1 {
			_ = m.NakWithDelay(time.Until(due))
			mu.Lock()
			naked++
			if naked == b.N {
				close(nakEnd)
			}
			mu.Unlock()
			return
		}
		l.add(due)
		_ = m.Ack()
	}, jetstream.PullMaxMessages(1000))
	if err != nil {
		b.Fatal(err)
	}
	defer cc.Stop()
	<-nakEnd
	setup := time.Since(start)
	b.StopTimer()
	if time.Now().After(due) {
		b.Fatalf("setup of %d retries took %s, past the %s delay", b.N, setup, retryDelay)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(info.NumAckPending), "ack-pending-while-waiting")
	b.ReportMetric(float64(b.N)/setup.Seconds(), "retries-set/s")
	waitAll(b, l)
	l.report(b)
}
