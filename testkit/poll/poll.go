// Package poll waits in tests for a condition to hold, instead of sleeping
// for a guessed time (nats-server's checkFor).
package poll

import (
	"testing"
	"time"
)

// interval is how often conditions are checked.
const interval = 10 * time.Millisecond

// Until checks cond until it holds, failing the test after timeout with
// what was awaited.
func Until(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(interval)
	}
}

// NoError calls fn until it returns nil, failing the test after timeout
// with fn's last error.
func NoError(t testing.TB, timeout time.Duration, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %s: %v", timeout, err)
		}
		time.Sleep(interval)
	}
}
