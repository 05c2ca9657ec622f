package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"testing"
	"time"
)

// TestStripeSigner: the load generator's fast signer makes the header
// crypto/hmac makes, for stamped bodies of every size the bench sends.
func TestStripeSigner(t *testing.T) {
	for _, size := range []int{1024, 64 << 10} {
		body := jsonBody(size)
		if !json.Valid(body) || len(body) != size {
			t.Fatalf("jsonBody(%d): %d bytes, valid %v", size, len(body), json.Valid(body))
		}
		s := &stripeSigner{prefix: body[:len(body)-len(seqTail)-16]}
		now := time.Unix(1700000000, 0)
		for n := range uint64(3) {
			b := append([]byte(nil), body...)
			stamp(b, n+0xabc)
			got := s.sign(now.Add(time.Duration(n)*time.Second), b)
			m := hmac.New(sha256.New, []byte(stripeSecret))
			ts := strconv.FormatInt(now.Add(time.Duration(n)*time.Second).Unix(), 10)
			m.Write([]byte(ts + "."))
			m.Write(b)
			if want := "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil)); got != want {
				t.Fatalf("size %d, request %d: %s, want %s", size, n, got, want)
			}
		}
	}
}
