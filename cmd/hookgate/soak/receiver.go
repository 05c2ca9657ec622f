package main

import (
	"encoding/json"
	"math/bits"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// mode is how a receiver answers.
type mode int32

const (
	healthy mode = iota
	fail500      // answers 500 at once
	hang         // holds the request until the dispatcher gives up (its timeout)
)

func (m mode) String() string {
	switch m {
	case fail500:
		return "500"
	case hang:
		return "timeout"
	default:
		return "ok"
	}
}

// interval is a span of time; a zero end is still open.
type interval struct{ start, end time.Time }

// overlaps reports whether the interval meets [from, to].
func (iv interval) overlaps(from, to time.Time) bool {
	return iv.start.Before(to) && (iv.end.IsZero() || iv.end.After(from))
}

// tracker counts outbound messages by sequence number: those the edge
// acknowledged and those a receiver answered 200.
type tracker struct {
	acked, got bitset
	dups       atomic.Int64
}

// receiver is one endpoint's HTTP server. It answers by its mode, and on
// a 200 marks the message received and records its delivery latency —
// from the time the message was scheduled to be sent — when no fault of
// this receiver lay between that time and now.
type receiver struct {
	URL     string
	srv     *http.Server
	tr      *tracker
	deliv   *recorder
	badBody *recorder // malformed deliveries (counted as errors)
	mode    atomic.Int32

	mu     sync.Mutex
	faults []interval
}

func newReceiver(tr *tracker, deliv, bad *recorder) (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &receiver{URL: "http://" + ln.Addr().String(), tr: tr, deliv: deliv, badBody: bad}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

func (r *receiver) Close() { _ = r.srv.Close() }

// setMode switches the answer and keeps the fault intervals.
func (r *receiver) setMode(m mode, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := mode(r.mode.Swap(int32(m)))
	switch {
	case old == healthy && m != healthy:
		r.faults = append(r.faults, interval{start: now})
	case old != healthy && m == healthy && len(r.faults) > 0:
		r.faults[len(r.faults)-1].end = now
	}
}

// faultedDuring reports whether this receiver was failing at any time in
// [from, to].
func (r *receiver) faultedDuring(from, to time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.faults) - 1; i >= 0; i-- {
		if r.faults[i].overlaps(from, to) {
			return true
		}
		if !r.faults[i].end.IsZero() && r.faults[i].end.Before(from) {
			return false // older ones ended earlier still
		}
	}
	return false
}

// payload is what the soak sends: a sequence number and the scheduled
// send time in Unix microseconds (strings: JSON numbers pass through
// float64 in structpb).
type payload struct {
	Seq string `json:"seq"`
	T   string `json:"t"`
	Pad string `json:"pad,omitempty"`
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	switch mode(r.mode.Load()) {
	case fail500:
		http.Error(w, "soak: injected failure", http.StatusInternalServerError)
		return
	case hang:
		select {
		case <-req.Context().Done():
		case <-time.After(10 * time.Second):
		}
		return
	}
	var p payload
	if err := json.NewDecoder(req.Body).Decode(&p); err != nil {
		r.badBody.fail("receiver: bad body")
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	seq, okSeq := parseSeq(p.Seq, 'o')
	us, errT := strconv.ParseInt(p.T, 10, 64)
	if !okSeq || errT != nil {
		r.badBody.fail("receiver: bad payload")
		http.Error(w, "bad payload", http.StatusBadRequest)
		return
	}
	now := time.Now()
	if r.tr.got.set(seq) {
		r.tr.dups.Add(1)
	} else if sched := time.UnixMicro(us); !r.faultedDuring(sched, now) {
		r.deliv.ok(now.Sub(sched))
	}
	w.WriteHeader(http.StatusOK)
}

// parseSeq reads "<prefix><decimal>".
func parseSeq(s string, prefix byte) (uint64, bool) {
	if len(s) < 2 || s[0] != prefix {
		return 0, false
	}
	n, err := strconv.ParseUint(s[1:], 10, 64)
	return n, err == nil
}

// bitset is a growable set of sequence numbers, safe for concurrent use.
type bitset struct {
	mu    sync.Mutex
	words []uint64
	n     int
}

// set adds i and reports whether it was there already.
func (b *bitset) set(i uint64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	w := int(i / 64)
	if w >= len(b.words) {
		b.words = append(b.words, make([]uint64, w-len(b.words)+1+len(b.words)/2)...)
	}
	bit := uint64(1) << (i % 64)
	was := b.words[w]&bit != 0
	if !was {
		b.words[w] |= bit
		b.n++
	}
	return was
}

func (b *bitset) has(i uint64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	w := int(i / 64)
	return w < len(b.words) && b.words[w]&(uint64(1)<<(i%64)) != 0
}

// count is how many numbers are in the set.
func (b *bitset) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.n
}

// missing returns how many numbers of b are not in other, and up to
// five of them.
func (b *bitset) missing(other *bitset) (int, []uint64) {
	b.mu.Lock()
	words := append([]uint64(nil), b.words...)
	b.mu.Unlock()
	n := 0
	var some []uint64
	for w, word := range words {
		for word != 0 {
			i := uint64(w)*64 + uint64(bits.TrailingZeros64(word))
			if !other.has(i) {
				n++
				if len(some) < 5 {
					some = append(some, i)
				}
			}
			word &= word - 1
		}
	}
	return n, some
}
