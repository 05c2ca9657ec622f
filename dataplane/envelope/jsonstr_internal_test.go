package envelope

import (
	"math/rand/v2"
	"testing"
)

// skipPlainBytes is skipPlain one byte at a time, the reference.
func skipPlainBytes(b []byte, i int) int {
	for i < len(b) && plainASCII[b[i]] {
		i++
	}
	return i
}

// TestSkipPlain checks the 8-byte scan against the byte loop: every byte
// value at every position of a word (and of the tail after the last whole
// word), after a run of plain bytes, and random mixes.
func TestSkipPlain(t *testing.T) {
	t.Parallel()
	for n := 0; n <= 19; n++ {
		for at := 0; at < n; at++ {
			for c := 0; c < 256; c++ {
				b := make([]byte, n)
				for k := range b {
					b[k] = 'a'
				}
				b[at] = byte(c)
				for from := 0; from <= at; from++ {
					if got, want := skipPlain(b, from), skipPlainBytes(b, from); got != want {
						t.Fatalf("len %d, byte %#x at %d, from %d: %d, want %d", n, c, at, from, got, want)
					}
				}
			}
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		b := make([]byte, r.IntN(40))
		for k := range b {
			switch r.IntN(4) {
			case 0:
				b[k] = byte(r.IntN(256))
			case 1:
				b[k] = "\"\\\x1f\x7f\x80\xff\x00 ~"[r.IntN(9)]
			default:
				b[k] = byte(0x20 + r.IntN(0x5f))
			}
		}
		from := 0
		if len(b) > 0 {
			from = r.IntN(len(b))
		}
		if got, want := skipPlain(b, from), skipPlainBytes(b, from); got != want {
			t.Fatalf("%q from %d: %d, want %d", b, from, got, want)
		}
	}
}
