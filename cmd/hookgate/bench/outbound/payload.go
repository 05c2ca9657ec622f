package main

import (
	"bytes"
	"strconv"
	"time"
)

// A payload is a JSON object whose fixed-width head carries the run it
// belongs to, the time it was sent (Unix nanoseconds, 19 digits) and its
// sequence number, so the receiver reads them at fixed offsets without
// parsing JSON:
//
//	{"run":"0007","t":1764630000000000000,"seq":"00000000000000ab","data":"xxx…"}
const (
	runAt   = len(`{"run":"`)
	runLen  = 4
	tAt     = runAt + runLen + len(`","t":`)
	tLen    = 19
	seqAt   = tAt + tLen + len(`,"seq":"`)
	seqLen  = 16
	headLen = seqAt + seqLen + len(`","data":"`)
	tail    = `"}`
)

// newPayload is a payload of size bytes (at least headLen+len(tail)) for
// run, with a zero time and sequence that stamp overwrites.
func newPayload(size, run int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"run":"`)
	b.WriteString(pad(strconv.Itoa(run%10000), runLen))
	b.WriteString(`","t":`)
	b.WriteString(pad("1", tLen))
	b.WriteString(`,"seq":"`)
	b.WriteString(pad("0", seqLen))
	b.WriteString(`","data":"`)
	for b.Len() < size-len(tail) {
		b.WriteByte('x')
	}
	b.WriteString(tail)
	return b.Bytes()
}

func pad(s string, n int) string {
	for len(s) < n {
		s = "0" + s
	}
	return s
}

// stamp writes t and seq into a payload made by newPayload.
func stamp(b []byte, t time.Time, seq uint64) {
	const digits = "0123456789abcdef"
	n := t.UnixNano()
	for i := tAt + tLen - 1; i >= tAt; i-- {
		b[i] = byte('0' + n%10)
		n /= 10
	}
	for i := seqAt + seqLen - 1; i >= seqAt; i-- {
		b[i] = digits[seq&15]
		seq >>= 4
	}
}

// readStamp reads the run and send time of a payload; false for a body
// that is not one.
func readStamp(b []byte) (run int, sent time.Time, ok bool) {
	if len(b) < headLen+len(tail) || !bytes.HasPrefix(b, []byte(`{"run":"`)) {
		return 0, time.Time{}, false
	}
	for _, c := range b[runAt : runAt+runLen] {
		if c < '0' || c > '9' {
			return 0, time.Time{}, false
		}
		run = run*10 + int(c-'0')
	}
	var n int64
	for _, c := range b[tAt : tAt+tLen] {
		if c < '0' || c > '9' {
			return 0, time.Time{}, false
		}
		n = n*10 + int64(c-'0')
	}
	return run, time.Unix(0, n), true
}

// seqText is the payload's sequence field, used in the message id.
func seqText(b []byte) string { return string(b[seqAt : seqAt+seqLen]) }
