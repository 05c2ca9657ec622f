package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"github.com/hookgate/hookgate/cmd/hookgate/bench/benchrun"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// loadSpec is what the load generator child runs; the parent sends it as
// JSON on the child's stdin.
type loadSpec struct {
	Mode     string        `json:"mode"` // "http" (POST to URL) or "publish" (JetStream to Subject at URL)
	URL      string        `json:"url"`
	Subject  string        `json:"subject,omitempty"`
	Size     int           `json:"size"`
	Conns    int           `json:"conns"`
	Duration time.Duration `json:"duration"`
	// Sign names how each request is signed: "" (not) or "stripe" (a
	// Stripe-Signature over the body with StripeSecret, timestamp now).
	Sign string `json:"sign,omitempty"`
	// Rate 0 is a closed loop (each worker sends its next request when the
	// last is answered: the maximum); a rate is an open loop on a fixed
	// schedule, latency counted from the scheduled time.
	Rate float64 `json:"rate,omitempty"`
}

func (s loadSpec) http(url string) loadSpec { s.Mode, s.URL = "http", url; return s }

func (s loadSpec) signed(url, sign string) loadSpec {
	s.Mode, s.URL, s.Sign = "http", url, sign
	return s
}

func (s loadSpec) publish(url, subject string) loadSpec {
	s.Mode, s.URL, s.Subject = "publish", url, subject
	return s
}

// loadResult is the child's answer, one JSON line after "start".
type loadResult struct {
	Requests int64         `json:"requests"`
	Errors   int64         `json:"errors"`
	FirstErr string        `json:"firstErr,omitempty"`
	Elapsed  time.Duration `json:"elapsed"`
	P50      time.Duration `json:"p50"`
	P99      time.Duration `json:"p99"`
	CPU      time.Duration `json:"cpu"` // the child's own CPU over the measured window
}

// sample is one measured run.
type sample struct {
	rps      float64
	p50, p99 time.Duration
	errors   int64
	// serverCPU is the server process's CPU per answered request (user +
	// system, all threads: handler, embedded NATS, GC); loadCPU the load
	// generator's.
	serverCPU, loadCPU time.Duration
}

// measure runs one load generator child. The server's CPU is read when the
// child says its warm-up is over and again when it reports, so it covers the
// measured window only.
func measure(exe string, spec loadSpec) (sample, error) {
	var r loadResult
	var cpu0 time.Duration
	if err := benchrun.RunChild(exe, spec, &r, func() { cpu0 = benchrun.ProcessCPU() }); err != nil {
		return sample{}, err
	}
	cpu1 := benchrun.ProcessCPU()
	if r.Requests == 0 {
		return sample{}, fmt.Errorf("no request succeeded (%d errors, first: %s)", r.Errors, r.FirstErr)
	}
	n := time.Duration(r.Requests)
	return sample{
		rps: float64(r.Requests) / r.Elapsed.Seconds(), p50: r.P50, p99: r.P99, errors: r.Errors,
		serverCPU: (cpu1 - cpu0) / n, loadCPU: r.CPU / n,
	}, nil
}

// runLoadgen is the child: read the spec, warm up, print "start", run,
// print the result.
func runLoadgen(in io.Reader, out io.Writer) error {
	var spec loadSpec
	if err := json.NewDecoder(in).Decode(&spec); err != nil {
		return fmt.Errorf("decode spec: %w", err)
	}
	body := jsonBody(spec.Size)
	var t target
	switch spec.Mode {
	case "http":
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: spec.Conns, MaxConnsPerHost: spec.Conns}, Timeout: 30 * time.Second}
		defer client.CloseIdleConnections()
		t = httpTarget(client, spec.URL, body, spec.Sign)
	case "publish":
		nc, err := nats.Connect(spec.URL)
		if err != nil {
			return fmt.Errorf("connect to nats: %w", err)
		}
		defer nc.Close()
		js, err := jetstream.New(nc)
		if err != nil {
			return fmt.Errorf("jetstream: %w", err)
		}
		t = publishTarget(js, spec.Subject, body)
	default:
		return fmt.Errorf("mode %q: want http or publish", spec.Mode)
	}
	warmUp(t, spec.Conns, 500*time.Millisecond)
	if _, err := fmt.Fprintln(out, "start"); err != nil {
		return err
	}
	r := load(t, spec)
	return json.NewEncoder(out).Encode(r)
}

type target func() error

// seq makes every request's body unique: the edge derives its dedup id
// from the body when the sender gives none, so equal bodies would be
// stored once and measure JetStream's duplicate path instead.
var seq atomic.Uint64

// stamp writes n as 16 hex digits over the body's seq placeholder, the
// last field, so that everything before it is the same in every request.
func stamp(b []byte, n uint64) {
	const digits = "0123456789abcdef"
	end := len(b) - len(seqTail)
	for i := end - 1; i >= end-16; i-- {
		b[i] = digits[n&15]
		n >>= 4
	}
}

func httpTarget(client *http.Client, url string, body []byte, sign string) target {
	signer := &stripeSigner{prefix: body[:len(body)-len(seqTail)-16]}
	pool := sync.Pool{New: func() any { b := make([]byte, len(body)); return &b }}
	return func() error {
		bp := pool.Get().(*[]byte)
		defer pool.Put(bp)
		b := *bp
		copy(b, body)
		stamp(b, seq.Add(1))
		req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		if sign == "stripe" {
			req.Header.Set("Stripe-Signature", signer.sign(time.Now(), b))
		}
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
}

func publishTarget(js jetstream.JetStream, subject string, body []byte) target {
	return func() error {
		b := slices.Clone(body)
		stamp(b, seq.Add(1))
		_, err := js.Publish(context.Background(), subject, b)
		return err
	}
}

// stripeSigner makes Stripe's header, t=…,v1=hex(HMAC-SHA256 of
// "{t}.{body}"), as a provider that signs fast would: the load generator
// shares the machine with the edge, so a signer that hashed all of a 64 KiB
// body per request would slow the edge row by its own cost. The inner hash
// of "{t}." and the body's constant prefix is computed once a second; each
// request hashes only the rest. TestStripeSigner checks it against
// crypto/hmac.
type stripeSigner struct {
	prefix []byte
	mu     sync.Mutex
	ts     int64
	inner  []byte // marshalled SHA-256 state after ipad ‖ "{t}." ‖ prefix
}

func (s *stripeSigner) sign(now time.Time, body []byte) string {
	var ipad, opad [sha256.BlockSize]byte
	copy(ipad[:], stripeSecret)
	copy(opad[:], stripeSecret)
	for i := range ipad {
		ipad[i] ^= 0x36
		opad[i] ^= 0x5c
	}
	t := now.Unix()
	ts := strconv.FormatInt(t, 10)
	s.mu.Lock()
	if s.ts != t || s.inner == nil {
		h := sha256.New()
		h.Write(ipad[:])
		h.Write([]byte(ts + "."))
		h.Write(s.prefix)
		s.inner, _ = h.(encoding.BinaryMarshaler).MarshalBinary()
		s.ts = t
	}
	state := s.inner
	s.mu.Unlock()
	h := sha256.New()
	if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(state); err != nil {
		panic(err) // a state this process marshalled
	}
	h.Write(body[len(s.prefix):])
	o := sha256.New()
	o.Write(opad[:])
	o.Write(h.Sum(nil))
	return "t=" + ts + ",v1=" + hex.EncodeToString(o.Sum(nil))
}

// warmUp opens the connections and fills the pools on both sides.
func warmUp(t target, conns int, d time.Duration) {
	until := time.Now().Add(d)
	var wg sync.WaitGroup
	for range conns {
		wg.Go(func() {
			for time.Now().Before(until) {
				_ = t()
			}
		})
	}
	wg.Wait()
}

func load(t target, spec loadSpec) loadResult {
	var (
		errs     atomic.Int64
		firstErr atomic.Value
		wg       sync.WaitGroup
	)
	lat := make([][]time.Duration, spec.Conns)
	cpu0 := benchrun.ProcessCPU()
	start := time.Now()
	end := start.Add(spec.Duration)
	var sched chan time.Time
	if spec.Rate > 0 {
		sched = make(chan time.Time, spec.Conns*4)
		go func() {
			defer close(sched)
			interval := time.Duration(float64(time.Second) / spec.Rate)
			for next := start; next.Before(end); next = next.Add(interval) {
				if w := time.Until(next); w > 0 {
					time.Sleep(w) // pacing the open loop, not synchronisation
				}
				sched <- next
			}
		}()
	}
	for i := range spec.Conns {
		wg.Go(func() {
			for {
				var t0 time.Time
				if sched != nil {
					var ok bool
					if t0, ok = <-sched; !ok {
						return
					}
				} else if t0 = time.Now(); t0.After(end) {
					return
				}
				if err := t(); err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				lat[i] = append(lat[i], time.Since(t0))
			}
		})
	}
	wg.Wait()
	r := loadResult{Elapsed: time.Since(start), CPU: benchrun.ProcessCPU() - cpu0, Errors: errs.Load()}
	if s, ok := firstErr.Load().(string); ok {
		r.FirstErr = s
	}
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	r.Requests = int64(len(all))
	if len(all) > 0 {
		r.P50 = all[len(all)/2]
		r.P99 = all[len(all)*99/100]
	}
	return r
}

// seqTail follows the body's 16-digit seq placeholder.
const seqTail = `"}`

// jsonBody is a JSON object of about size bytes that ends with an "id" (a
// Stripe event's delivery id) whose 16 hex digits stamp overwrites per
// request.
func jsonBody(size int) []byte {
	var b bytes.Buffer
	const id = `","id":"evt_0000000000000000` + seqTail
	b.WriteString(`{"type":"order.created","data":"`)
	for b.Len() < size-len(id) {
		b.WriteByte('x')
	}
	b.WriteString(id)
	return b.Bytes()
}
