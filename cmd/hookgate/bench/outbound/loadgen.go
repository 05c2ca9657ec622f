package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/hookgate/hookgate/cmd/hookgate/bench/benchrun"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookgate/hookgate/dataplane/dispatch"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// loadSpec is what the load generator child runs; the parent sends it as
// JSON on the child's stdin.
type loadSpec struct {
	// Mode "publish" publishes outbound messages on Subject at NATS URL;
	// "http" is the bare client: POST the same signed payloads to
	// Receiver+Paths[i%len(Paths)].
	Mode     string        `json:"mode"`
	NATS     string        `json:"nats,omitempty"`
	Subject  string        `json:"subject,omitempty"`
	Receiver string        `json:"receiver"`
	Paths    []string      `json:"paths,omitempty"`
	Run      int           `json:"run"`
	Size     int           `json:"size"`
	Conns    int           `json:"conns"`
	Duration time.Duration `json:"duration"`
	// Rate 0 is a closed loop; a rate (messages or requests per second) is
	// an open loop on a fixed schedule, each payload stamped with its
	// scheduled time. Messages, when positive, stops after that many.
	Rate     float64 `json:"rate,omitempty"`
	Messages int     `json:"messages,omitempty"`
	// Fan is how many healthy deliveries one message makes and Window how
	// many deliveries a closed-loop publisher lets wait (published × Fan −
	// received), so the backlog stays bounded and the run measures the
	// engine's sustained rate, not a queue's drain.
	Fan    int `json:"fan,omitempty"`
	Window int `json:"window,omitempty"`
}

// loadResult is the child's answer, one JSON line after "start".
type loadResult struct {
	Sent     int64         `json:"sent"`
	Errors   int64         `json:"errors"`
	FirstErr string        `json:"firstErr,omitempty"`
	Elapsed  time.Duration `json:"elapsed"`
	CPU      time.Duration `json:"cpu"`
}

// sample is one measured run, counted at the receiver.
type sample struct {
	rps      float64 // deliveries per second, first send to last arrival
	p50, p99 time.Duration
	errors   int64 // sends that failed
	// missing is the deliveries that did not arrive within drainTimeout,
	// negative when more arrived than were due (at-least-once repeats).
	missing int64
	// serverCPU is the server process's CPU per delivery (embedded NATS,
	// engine, receiver, GC); loadCPU the load generator's.
	serverCPU, loadCPU time.Duration
}

// drainTimeout bounds the wait for the deliveries of a run's sends.
const drainTimeout = 60 * time.Second

// measure runs one load generator child and waits until the receiver has
// every delivery of what it sent.
func measure(exe string, recv *receiver, spec loadSpec, fan int) (sample, error) {
	recv.begin(spec.Run)
	var r loadResult
	var t0 time.Time
	var cpu0 time.Duration
	if err := benchrun.RunChild(exe, spec, &r, func() { t0, cpu0 = time.Now(), benchrun.ProcessCPU() }); err != nil {
		return sample{}, err
	}
	want := int(r.Sent) * fan
	got := 0
	for until := time.Now().Add(drainTimeout); got < want && time.Now().Before(until); {
		got = recv.wait(spec.Run, want, time.Second)
	}
	cpu1 := benchrun.ProcessCPU()
	lat, last := recv.result()
	if len(lat) == 0 {
		return sample{}, fmt.Errorf("nothing delivered (%d sent, %d errors, first: %s)", r.Sent, r.Errors, r.FirstErr)
	}
	n := time.Duration(len(lat))
	return sample{
		rps: float64(len(lat)) / last.Sub(t0).Seconds(), p50: lat[len(lat)/2], p99: lat[len(lat)*99/100],
		errors: r.Errors, missing: int64(want - len(lat)), serverCPU: (cpu1 - cpu0) / n, loadCPU: r.CPU / n,
	}, nil
}

// runLoadgen is the child: read the spec, warm up (bare client only: a
// publish warm-up would load the engine during the measured run), print
// "start", run, print the result.
func runLoadgen(in io.Reader, out io.Writer) error {
	var spec loadSpec
	if err := json.NewDecoder(in).Decode(&spec); err != nil {
		return fmt.Errorf("decode spec: %w", err)
	}
	s, err := dispatch.ParseSecret(secret)
	if err != nil {
		return fmt.Errorf("bench secret: %w", err)
	}
	var send func(b []byte, at time.Time, seq uint64) error
	var g *gate
	switch spec.Mode {
	case "http":
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: spec.Conns, MaxConnsPerHost: spec.Conns}, Timeout: 30 * time.Second}
		defer client.CloseIdleConnections()
		send = func(b []byte, at time.Time, seq uint64) error {
			return post(client, spec.Receiver+spec.Paths[seq%uint64(len(spec.Paths))], b, s, spec.Run)
		}
		warm := newPayload(spec.Size, 0)
		warmUp(func(seq uint64) error {
			b := append([]byte(nil), warm...)
			stamp(b, time.Now(), seq)
			return send(b, time.Now(), seq)
		},
			spec.Conns, 300*time.Millisecond)
	case "publish":
		nc, err := nats.Connect(spec.NATS)
		if err != nil {
			return fmt.Errorf("connect to nats: %w", err)
		}
		defer nc.Close()
		js, err := jetstream.New(nc)
		if err != nil {
			return fmt.Errorf("jetstream: %w", err)
		}
		send = func(b []byte, _ time.Time, _ uint64) error { return publish(js, spec.Subject, spec.Run, b) }
		if spec.Rate == 0 && spec.Window > 0 {
			g = newGate(spec)
		}
	default:
		return fmt.Errorf("mode %q: want http or publish", spec.Mode)
	}
	if _, err := fmt.Fprintln(out, "start"); err != nil {
		return err
	}
	r := load(spec, send, g)
	return json.NewEncoder(out).Encode(r)
}

// messageID is the outbound message id of a payload (also webhook-id).
func messageID(run int, b []byte) string { return "msg_" + strconv.Itoa(run) + "_" + seqText(b) }

// publish sends one outbound message in the documented JSON format, with
// Nats-Msg-Id = its id, and waits for the ack.
func publish(js jetstream.JetStream, subject string, run int, payload []byte) error {
	id := messageID(run, payload)
	msg := make([]byte, 0, len(payload)+64)
	msg = append(msg, `{"id":"`...)
	msg = append(msg, id...)
	msg = append(msg, `","eventType":"`+eventType+`","payload":`...)
	msg = append(msg, payload...)
	msg = append(msg, '}')
	_, err := js.Publish(context.Background(), subject, msg, jetstream.WithMsgID(id))
	return err
}

// post is what the engine's deliverer sends, from a bare client: the
// payload, signed with dispatch's Standard Webhooks signing.
func post(client *http.Client, url string, payload []byte, s dispatch.Secret, run int) error {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(payload))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "bench")
	dispatch.SetSignatureHeaders(req.Header, messageID(run, payload), time.Now(), payload, []dispatch.Secret{s})
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

func warmUp(t func(seq uint64) error, conns int, d time.Duration) {
	until := time.Now().Add(d)
	var n atomic.Uint64
	var wg sync.WaitGroup
	for range conns {
		wg.Go(func() {
			for time.Now().Before(until) {
				_ = t(n.Add(1))
			}
		})
	}
	wg.Wait()
}

// gate holds closed-loop publishers while more than Window deliveries
// wait: one goroutine long-polls the receiver's count.
type gate struct {
	mu    sync.Mutex
	cond  *sync.Cond
	known int
	done  atomic.Bool
}

func newGate(spec loadSpec) *gate {
	g := &gate{}
	g.cond = sync.NewCond(&g.mu)
	step := max(1, spec.Window/8)
	go func() {
		client := &http.Client{Timeout: 5 * time.Second}
		for !g.done.Load() {
			g.mu.Lock()
			ask := g.known + step
			g.mu.Unlock()
			n, err := received(client, spec.Receiver, spec.Run, ask)
			g.mu.Lock()
			if err == nil {
				g.known = max(g.known, n)
			}
			g.cond.Broadcast()
			g.mu.Unlock()
		}
	}()
	return g
}

func received(client *http.Client, base string, run, atLeast int) (int, error) {
	resp, err := client.Get(fmt.Sprintf("%s/received?run=%d&atleast=%d", base, run, atLeast))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(string(b))
}

// await blocks until need deliveries arrived or end passed.
func (g *gate) await(need int, end time.Time) {
	g.mu.Lock()
	for g.known < need && time.Now().Before(end) {
		g.cond.Wait()
	}
	g.mu.Unlock()
}

func load(spec loadSpec, send func(b []byte, at time.Time, seq uint64) error, g *gate) loadResult {
	var (
		errs     atomic.Int64
		sent     atomic.Int64
		next     atomic.Uint64
		firstErr atomic.Value
		wg       sync.WaitGroup
	)
	base := newPayload(spec.Size, spec.Run)
	cpu0 := benchrun.ProcessCPU()
	start := time.Now()
	end := start.Add(spec.Duration)
	var sched chan time.Time
	if spec.Rate > 0 {
		sched = make(chan time.Time, spec.Conns*4)
		go func() {
			defer close(sched)
			interval := time.Duration(float64(time.Second) / spec.Rate)
			n := 0
			for at := start; at.Before(end) && (spec.Messages == 0 || n < spec.Messages); at = at.Add(interval) {
				if w := time.Until(at); w > 0 {
					time.Sleep(w) // pacing the open loop, not synchronisation
				}
				sched <- at
				n++
			}
		}()
	}
	for range spec.Conns {
		wg.Go(func() {
			for {
				var at time.Time
				if sched != nil {
					var ok bool
					if at, ok = <-sched; !ok {
						return
					}
				}
				seq := next.Add(1) - 1
				if spec.Messages > 0 && seq >= uint64(spec.Messages) {
					return
				}
				if g != nil {
					g.await(int(seq+1)*spec.Fan-spec.Window, end)
				}
				if sched == nil {
					if at = time.Now(); at.After(end) {
						return
					}
				}
				b := append([]byte(nil), base...)
				stamp(b, at, seq)
				if err := send(b, at, seq); err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				sent.Add(1)
			}
		})
	}
	wg.Wait()
	if g != nil {
		g.done.Store(true)
	}
	r := loadResult{Sent: sent.Load(), Errors: errs.Load(), Elapsed: time.Since(start), CPU: benchrun.ProcessCPU() - cpu0}
	if s, ok := firstErr.Load().(string); ok {
		r.FirstErr = s
	}
	return r
}
