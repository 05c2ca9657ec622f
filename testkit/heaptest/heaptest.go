// Package heaptest measures what a structure holds on the heap, for the
// benchmarks that report a table's or an index's size: the live heap with
// it, less the live heap without it.
package heaptest

import "runtime"

// Live is the heap still reachable now. It collects twice: the second
// cycle clears what sync.Pool's victim caches kept through the first, such
// as large message buffers.
func Live() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
