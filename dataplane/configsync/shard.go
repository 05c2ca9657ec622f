package configsync

import (
	"hash/maphash"
	"slices"
)

// shard is one of a Snapshot's shardCount parts: its webhooks in a slice
// and an open-addressing index over them (linear probing), about 16 bytes
// a webhook where a map[WebhookRef]*EdgeWebhook took about 100. A shard of
// a published Snapshot never changes; a delta changes a clone.
type shard struct {
	hooks []*Webhook
	// slots holds 1 + the index in hooks of each webhook, at the first
	// free slot from its hash; 0 is a free slot. Its length is a power of
	// two at least twice len(hooks), so probes stay short.
	slots []int32
}

// start is where a webhook of hash h begins probing; the low bits chose
// the shard.
func (sh *shard) start(h uint64) uint64 { return (h / shardCount) & uint64(len(sh.slots)-1) }

// find returns the index in hooks of {tenant}/{id}, or -1.
func (sh *shard) find(h uint64, tenant, id string) int {
	if len(sh.slots) == 0 {
		return -1
	}
	mask := uint64(len(sh.slots) - 1)
	for i := sh.start(h); ; i = (i + 1) & mask {
		v := sh.slots[i]
		if v == 0 {
			return -1
		}
		if w := sh.hooks[v-1]; w.id == id && w.tenant.Value() == tenant {
			return int(v - 1)
		}
	}
}

// reserve sizes an empty shard's index for about n webhooks.
func (sh *shard) reserve(n int) {
	sh.hooks = make([]*Webhook, 0, n)
	sh.slots = make([]int32, slotsFor(n))
}

func slotsFor(n int) int {
	size := 8
	for size < 2*n {
		size *= 2
	}
	return size
}

// put adds w, or replaces the webhook of the same tenant and id; it
// reports whether w was added.
func (sh *shard) put(seed maphash.Seed, h uint64, w *Webhook) bool {
	if i := sh.find(h, w.tenant.Value(), w.id); i >= 0 {
		sh.hooks[i] = w
		return false
	}
	sh.hooks = append(sh.hooks, w)
	if len(sh.slots) < 2*len(sh.hooks) {
		sh.reindex(seed)
		return true
	}
	sh.place(h, int32(len(sh.hooks)))
	return true
}

// place puts slot value v at the first free slot from h's start.
func (sh *shard) place(h uint64, v int32) {
	mask := uint64(len(sh.slots) - 1)
	i := sh.start(h)
	for sh.slots[i] != 0 {
		i = (i + 1) & mask
	}
	sh.slots[i] = v
}

// reindex rebuilds slots for hooks.
func (sh *shard) reindex(seed maphash.Seed) {
	sh.slots = make([]int32, slotsFor(len(sh.hooks)))
	for i, w := range sh.hooks {
		sh.place(maphash.String(seed, w.id), int32(i+1))
	}
}

// remove deletes {tenant}/{id}, which the shard holds: the last webhook
// takes its place and the index is rebuilt, as costly as the clone that
// precedes it in a delta.
func (sh *shard) remove(seed maphash.Seed, h uint64, tenant, id string) {
	i := sh.find(h, tenant, id)
	if i < 0 {
		return
	}
	last := len(sh.hooks) - 1
	sh.hooks[i] = sh.hooks[last]
	sh.hooks[last] = nil
	sh.hooks = sh.hooks[:last]
	sh.reindex(seed)
}

// clone returns a copy to change, sharing no slice with sh.
func (sh *shard) clone() shard {
	return shard{hooks: slices.Clone(sh.hooks), slots: slices.Clone(sh.slots)}
}
