package verify

import (
	"math/rand/v2"
	"testing"
)

// jsonStringEndBytewise is the plain byte loop jsonStringEnd must agree
// with.
func jsonStringEndBytewise(doc []byte, i int) int {
	for j := i + 1; j < len(doc); j++ {
		switch doc[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// TestJSONStringEndAgrees checks the fast string skip against the byte loop
// on random strings rich in quotes and backslashes.
func TestJSONStringEndAgrees(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte(`ab"\\ x`)
	for n := range 20000 {
		doc := make([]byte, 1+r.IntN(40))
		doc[0] = '"'
		for k := 1; k < len(doc); k++ {
			doc[k] = alphabet[r.IntN(len(alphabet))]
		}
		if got, want := jsonStringEnd(doc, 0), jsonStringEndBytewise(doc, 0); got != want {
			t.Fatalf("case %d %q: %d, want %d", n, doc, got, want)
		}
	}
}
