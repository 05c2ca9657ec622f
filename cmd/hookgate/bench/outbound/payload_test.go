package main

import (
	"encoding/json"
	"testing"
	"time"
)

// TestStamp: a stamped payload is valid JSON of the asked size whose run,
// time and sequence read back; bodies that are not payloads are refused.
func TestStamp(t *testing.T) {
	at := time.Unix(1764630000, 123456789)
	for _, tc := range []struct {
		size, run int
		seq       uint64
	}{{128, 1, 0}, {1024, 42, 0xabc}, {65536, 9999, 1<<64 - 1}} {
		b := newPayload(tc.size, tc.run)
		stamp(b, at, tc.seq)
		var v map[string]any
		if err := json.Unmarshal(b, &v); err != nil || len(b) != tc.size {
			t.Fatalf("size %d: %d bytes, %v", tc.size, len(b), err)
		}
		run, sent, ok := readStamp(b)
		if !ok || run != tc.run || !sent.Equal(at) {
			t.Fatalf("size %d: read run %d at %v (%v), want %d at %v", tc.size, run, sent, ok, tc.run, at)
		}
		if want := pad(formatHex(tc.seq), seqLen); seqText(b) != want || v["seq"] != want {
			t.Fatalf("size %d: seq %q (json %v), want %q", tc.size, seqText(b), v["seq"], want)
		}
	}
	good := newPayload(128, 3)
	bad := map[string][]byte{
		"empty":     nil,
		"short":     good[:headLen],
		"not json":  append([]byte("xx"), good[2:]...),
		"run digit": func() []byte { b := append([]byte(nil), good...); b[runAt] = 'a'; return b }(),
		"t digit":   func() []byte { b := append([]byte(nil), good...); b[tAt+3] = '-'; return b }(),
	}
	for name, b := range bad {
		if _, _, ok := readStamp(b); ok {
			t.Errorf("%s: read as a payload", name)
		}
	}
}

func formatHex(n uint64) string {
	const digits = "0123456789abcdef"
	if n == 0 {
		return "0"
	}
	var s []byte
	for ; n > 0; n >>= 4 {
		s = append([]byte{digits[n&15]}, s...)
	}
	return string(s)
}
