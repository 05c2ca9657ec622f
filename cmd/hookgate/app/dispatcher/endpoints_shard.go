package dispatcher

import (
	"hash/maphash"
	"slices"
)

// entryShard is one of an index's indexShards parts: its entries in a
// slice and an open-addressing index over them (linear probing, at most
// half full), about 16 bytes an endpoint where a map of endpointKey took
// about 60 (as configsync's shard of webhooks). A shard of a published
// index never changes; a delta changes a clone.
type entryShard struct {
	entries []*entry
	// slots holds 1 + the index in entries of each endpoint, at the first
	// free slot from its hash; 0 is a free slot. Its length is a power of
	// two at least twice len(entries).
	slots []int32
}

// start is where an endpoint of hash h begins probing; the low bits chose
// the shard.
func (sh *entryShard) start(h uint64) uint64 { return (h / indexShards) & uint64(len(sh.slots)-1) }

// find returns the index in entries of {tenant}/{id}, or -1.
func (sh *entryShard) find(h uint64, tenant, id string) int {
	if len(sh.slots) == 0 {
		return -1
	}
	mask := uint64(len(sh.slots) - 1)
	for i := sh.start(h); ; i = (i + 1) & mask {
		v := sh.slots[i]
		if v == 0 {
			return -1
		}
		if e := sh.entries[v-1]; e.ep.ID == id && e.ep.Tenant == tenant {
			return int(v - 1)
		}
	}
}

// add appends e, which the shard does not hold.
func (sh *entryShard) add(seed maphash.Seed, h uint64, e *entry) {
	sh.entries = append(sh.entries, e)
	if len(sh.slots) < 2*len(sh.entries) {
		sh.reindex(seed)
		return
	}
	sh.place(h, int32(len(sh.entries)))
}

// place puts slot value v at the first free slot from h's start.
func (sh *entryShard) place(h uint64, v int32) {
	mask := uint64(len(sh.slots) - 1)
	i := sh.start(h)
	for sh.slots[i] != 0 {
		i = (i + 1) & mask
	}
	sh.slots[i] = v
}

// reindex rebuilds slots for entries.
func (sh *entryShard) reindex(seed maphash.Seed) {
	size := 8
	for size < 2*len(sh.entries) {
		size *= 2
	}
	sh.slots = make([]int32, size)
	for i, e := range sh.entries {
		sh.place(maphash.String(seed, e.ep.ID), int32(i+1))
	}
}

// remove deletes the entry at i: the last one takes its place and the
// index is rebuilt, as costly as the clone that precedes it in a delta.
func (sh *entryShard) remove(seed maphash.Seed, i int) {
	last := len(sh.entries) - 1
	sh.entries[i] = sh.entries[last]
	sh.entries[last] = nil
	sh.entries = sh.entries[:last]
	sh.reindex(seed)
}

// clone returns a copy to change, sharing no slice with sh.
func (sh *entryShard) clone() entryShard {
	return entryShard{entries: slices.Clone(sh.entries), slots: slices.Clone(sh.slots)}
}
