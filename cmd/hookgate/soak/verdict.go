package main

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// sampler takes a sample every period.
type sampler struct {
	probe                 *probe
	in, out, deliv, churn *recorder
	phase                 *atomic.Value // string
	failing               func() string
	mu                    sync.Mutex
	samples               []sample
	probeErrors           int
}

func (sp *sampler) run(ctx context.Context, began time.Time, period time.Duration) {
	t := time.NewTicker(period)
	defer t.Stop()
	last := began
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			s := sample{At: now.Sub(began), Phase: sp.phase.Load().(string), Secs: now.Sub(last).Seconds(),
				In: statOf(sp.in.take()), Out: statOf(sp.out.take()), Deliv: statOf(sp.deliv.take()), Failing: sp.failing()}
			c := sp.churn.take()
			s.ChurnOK, s.ChurnErr = c.ok, c.errCount()
			last = now
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			sp.probe.read(pctx, &s)
			cancel()
			if ctx.Err() != nil {
				return // stopped while probing: the figures are not dev's
			}
			sp.mu.Lock()
			if sp.probe.lastError != nil {
				sp.probeErrors++
			}
			sp.samples = append(sp.samples, s)
			sp.mu.Unlock()
			fmt.Printf("soak: %6.0fs %-5s rss %5.0f MiB heap %5.0f MiB goroutines %5.0f  in %5.0f/s p99 %7s  out %5.0f/s p99 %7s  delivery p99 %7s  errors %d  changes %d  %s\n",
				s.At.Seconds(), s.Phase, s.RSS, s.HeapInuse, s.GoroutOps, s.rate(s.In), ms(s.In.P99), s.rate(s.Out), ms(s.Out.P99),
				ms(s.Deliv.P99), s.In.Err+s.Out.Err+s.ChurnErr, s.ChurnOK, s.Failing)
		}
	}
}

func (sp *sampler) all() []sample {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return slices.Clone(sp.samples)
}

// connectJS connects to dev's NATS as its user.
func connectJS(dev *devProc) (*nats.Conn, jetstream.JetStream, error) {
	opt, err := nats.NkeyOptionFromSeed(dev.natsSeed())
	if err != nil {
		return nil, nil, fmt.Errorf("dev NATS seed: %w", err)
	}
	nc, err := nats.Connect(dev.nats, opt)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to %s: %w", dev.nats, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return nc, js, nil
}

// streamState is what a stream holds at the end: the heap of dev's
// embedded NATS grows with messages and, more, with distinct subjects
// (attempts and delivery states have one per message).
type streamState struct {
	name                 string
	msgs, bytes, subject uint64
}

var reportedStreams = []string{"HOOKGATE_INBOUND", "HOOKGATE_OUTBOUND", "HOOKGATE_DELIVER", "HOOKGATE_ATTEMPTS", "KV_HOOKGATE_DELIVERIES"}

func streamStates(ctx context.Context, js jetstream.JetStream) []streamState {
	var out []streamState
	for _, name := range reportedStreams {
		st, err := js.Stream(ctx, name)
		if err != nil {
			continue
		}
		s := st.CachedInfo().State
		out = append(out, streamState{name: name, msgs: s.Msgs, bytes: s.Bytes, subject: uint64(s.NumSubjects)})
	}
	return out
}

// inboundWatch reads HOOKGATE_INBOUND while the soak runs, and records the
// sequence numbers of the soak's POSTs it finds. Reading it only at the end
// would miss what retention (dev's --stream-max-age) has already expired:
// events that were stored, kept for the window, and then let go, which is
// not loss.
type inboundWatch struct {
	found   bitset
	dups    atomic.Int64
	lastSeq atomic.Uint64 // stream sequence of the last message read
	stop    func()
	nc      *nats.Conn
	js      jetstream.JetStream
}

func watchInbound(ctx context.Context, dev *devProc) (*inboundWatch, error) {
	nc, js, err := connectJS(dev)
	if err != nil {
		return nil, err
	}
	c, err := js.OrderedConsumer(ctx, "HOOKGATE_INBOUND", jetstream.OrderedConsumerConfig{})
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("consumer on HOOKGATE_INBOUND: %w", err)
	}
	w := &inboundWatch{nc: nc, js: js}
	cc, err := c.Consume(func(m jetstream.Msg) {
		if seq, ok := inboundSeq(m.Data()); ok && w.found.set(seq) {
			w.dups.Add(1)
		}
		if md, err := m.Metadata(); err == nil {
			w.lastSeq.Store(md.Sequence.Stream)
		}
	})
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("read HOOKGATE_INBOUND: %w", err)
	}
	w.stop = func() { cc.Stop(); nc.Close() }
	return w, nil
}

// caughtUp waits until the watch has read everything the stream holds now
// and returns what it found. A watch that cannot keep up with the load
// fails the soak rather than passing it on a partial read.
func (w *inboundWatch) caughtUp(ctx context.Context, within time.Duration) (*bitset, int, error) {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	st, err := w.js.Stream(ctx, "HOOKGATE_INBOUND")
	if err != nil {
		return nil, 0, fmt.Errorf("stream HOOKGATE_INBOUND: %w", err)
	}
	last := st.CachedInfo().State.LastSeq
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for w.lastSeq.Load() < last {
		select {
		case <-ctx.Done():
			return nil, 0, fmt.Errorf("HOOKGATE_INBOUND: read to sequence %d of %d within %s", w.lastSeq.Load(), last, within)
		case <-tick.C:
		}
	}
	return &w.found, int(w.dups.Load()), nil
}

// inboundSeq finds the soak's sequence number in an envelope: the body is
// embedded verbatim, so `"seq":"i<n>"` is there as it was sent.
func inboundSeq(data []byte) (uint64, bool) {
	const key = `"seq":"i`
	i := bytes.Index(data, []byte(key))
	if i < 0 {
		return 0, false
	}
	rest := data[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j <= 0 {
		return 0, false
	}
	n, err := strconv.ParseUint(string(rest[:j]), 10, 64)
	return n, err == nil
}

// summary is the outcome of a soak.
type summary struct {
	Duration          time.Duration
	Steps             []rampStep
	MaxRate, HoldRate float64
	RateFixed         bool // -rate set the hold rate
	Receivers         int
	Dropped           int // open-loop requests still queued when the hold ended

	InSent, InAcked, InFound, InDup, InLost int
	InLostSome                              []uint64
	OutSent, OutAcked, OutReceived, OutDup  int
	OutLost                                 int
	OutLostSome                             []uint64
	Drained                                 bool
	DrainTook                               time.Duration

	Changes      int
	ChangeErrors map[string]int
	Faults       int
	Errors       map[string]int // of the hold and drain
	RampErrors   map[string]int
	Growth       []growth
	Streams      []streamState
	Ramp, Idle   sample // at the end of the ramp; after the drain with no load
	DevExited    bool
	DevWarn      int
	DevErr       int
	Failures     []string
}

// judge fills Failures.
func (s *summary) judge() {
	for _, g := range s.Growth {
		if g.Leak {
			s.Failures = append(s.Failures, "leak: "+g.String())
		}
	}
	if n := total(s.Errors); n > 0 {
		s.Failures = append(s.Failures, fmt.Sprintf("%d errors during the hold and drain %s", n, kinds(s.Errors)))
	}
	if s.InLost > 0 {
		s.Failures = append(s.Failures, fmt.Sprintf("%d acknowledged POSTs not in HOOKGATE_INBOUND (e.g. %v)", s.InLost, s.InLostSome))
	}
	if s.OutLost > 0 {
		s.Failures = append(s.Failures, fmt.Sprintf("%d acknowledged messages never reached their receiver within the drain (e.g. %v)", s.OutLost, s.OutLostSome))
	}
	if s.DevExited {
		s.Failures = append(s.Failures, "hookgate dev exited during the soak")
	}
}

// lines is the summary in a few sentences, for soak.md and the terminal.
func (s summary) lines() []string {
	var steps []string
	for _, st := range s.Steps {
		steps = append(steps, fmt.Sprintf("%d→%.0f/s", st.workers, st.rate))
	}
	held := "half of it"
	if s.RateFixed {
		held = "-rate"
	}
	out := []string{
		fmt.Sprintf("ramp (closed loop, workers→acknowledged requests/s): %s; maximum %.0f/s, held at %.0f/s (%s; half inbound POSTs, half SendMessage) to %d endpoints; %d requests still queued behind schedule when the hold ended (dropped)",
			strings.Join(steps, " "), s.MaxRate, s.HoldRate, held, s.Receivers, s.Dropped),
		fmt.Sprintf("inbound: %d sent, %d acknowledged, %d found in HOOKGATE_INBOUND, %d duplicated, %d lost",
			s.InSent, s.InAcked, s.InFound, s.InDup, s.InLost),
		fmt.Sprintf("outbound: %d sent, %d acknowledged, %d received, %d duplicate deliveries, %d lost (drain %s%s)",
			s.OutSent, s.OutAcked, s.OutReceived, s.OutDup, s.OutLost, s.DrainTook.Round(100*time.Millisecond), map[bool]string{true: "", false: ", gave up"}[s.Drained]),
		fmt.Sprintf("churn: %d configuration changes, %d failed; %d endpoint faults injected (500 or timeout)", s.Changes, total(s.ChangeErrors), s.Faults),
		fmt.Sprintf("errors during the hold and drain: %d %s; during the ramp: %d %s", total(s.Errors), kinds(s.Errors), total(s.RampErrors), kinds(s.RampErrors)),
		fmt.Sprintf("dev log: %d warnings, %d errors", s.DevWarn, s.DevErr),
	}
	if s.Idle.At > 0 {
		out = append(out, fmt.Sprintf("after the drain and %s without load: RSS %.0f MiB, heap in use %.0f MiB, %.0f goroutines (end of the ramp: %.0f MiB, %.0f MiB, %.0f)",
			s.Idle.At.Round(time.Second), s.Idle.RSS, s.Idle.HeapInuse, s.Idle.GoroutOps, s.Ramp.RSS, s.Ramp.HeapInuse, s.Ramp.GoroutOps))
	}
	if len(s.Streams) > 0 {
		var ss []string
		for _, st := range s.Streams {
			ss = append(ss, fmt.Sprintf("%s %d messages, %d subjects, %.0f MiB", st.name, st.msgs, st.subject, float64(st.bytes)/(1<<20)))
		}
		out = append(out, "streams at the end: "+strings.Join(ss, "; "))
	}
	for _, g := range s.Growth {
		out = append(out, g.String())
	}
	verdict := "verdict: PASS"
	if len(s.Failures) > 0 {
		verdict = "verdict: FAIL: " + strings.Join(s.Failures, "; ")
	}
	return append(out, verdict)
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func kinds(m map[string]int) string {
	if len(m) == 0 {
		return "(none)"
	}
	var ks []string
	for k, v := range m {
		ks = append(ks, fmt.Sprintf("%s ×%d", k, v))
	}
	slices.Sort(ks)
	return "(" + strings.Join(ks, ", ") + ")"
}
