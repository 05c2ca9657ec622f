package dispatch

import (
	"bytes"
	"runtime"
	"strconv"
	"testing"
)

// goroutineID reads the running goroutine's number from its stack header.
func goroutineID() uint64 {
	b := make([]byte, 64)
	b = b[:runtime.Stack(b, false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	n, _ := strconv.ParseUint(string(b[:bytes.IndexByte(b, ' ')]), 10, 64)
	return n
}

// Work handed out one at a time is taken by a worker that finished the
// previous one, not always a new goroutine, and every worker ends once the
// engine stops.
func TestWorkReusesWorkers(t *testing.T) {
	stop := make(chan struct{})
	e := &Engine{slots: make(chan struct{}, 1), idle: make(chan func()), stopping: stop}
	const n = 200
	seen := map[uint64]bool{}
	ran := make(chan uint64)
	for range n {
		e.slots <- struct{}{} // acquire: waits for the previous release
		e.work(func() { ran <- goroutineID() })
		seen[<-ran] = true
	}
	if len(seen) == n {
		t.Fatalf("%d pieces of work ran on %d goroutines: none reused", n, len(seen))
	}
	close(stop)
	e.wg.Wait()
	t.Logf("%d pieces of work on %d goroutines", n, len(seen))
}
