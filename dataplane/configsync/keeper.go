package configsync

import (
	"strings"

	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
)

// Keeper holds some kinds of non-webhook resources for a Table in its own
// form, in place of the table's messages: a dispatcher's endpoint index
// keeps each endpoint once, compact, instead of beside the
// DispatchEndpoint it was built from (docs/design.md "Compact tables").
// The table hands a Keeper every resource of the kinds it takes as the
// update arrives (chunk by chunk for a chunked snapshot) and keeps, per
// Snapshot, only the Kept value it finishes with, so the Keeper's content
// is swapped in with the rest of the Snapshot, atomically.
type Keeper interface {
	// Takes reports whether the Keeper holds the resource with key, e.g.
	// by its kind's prefix "endpoint/".
	Takes(key string) bool
	// Begin starts the content of the next Snapshot: from prev, the
	// current Snapshot's, for a delta; from nothing (prev nil) for a
	// snapshot. What it builds must leave prev unchanged, since readers and
	// the table go on using prev until the new Snapshot is published, and
	// the build may be dropped (an invalid update, an interrupted snapshot).
	Begin(prev Kept) KeptBuilder
}

// KeptBuilder builds one Kept value for one update. It is used by one
// goroutine, under the table's apply order.
type KeptBuilder interface {
	// Put adds or replaces a resource the Keeper takes. An error refuses
	// the whole update (the node NACKs it); it names the resource key,
	// never its content.
	Put(r *hookgatev1.ConfigResource) error
	// Delete removes the resource with key, if held.
	Delete(key string)
	// Finish returns the built value, which never changes after.
	Finish() Kept
}

// Kept is a Keeper's immutable content at one Snapshot.
type Kept interface {
	// Resources calls fn for every resource held, as a message made for
	// the call, until fn returns false: the cache file is written from it.
	Resources(fn func(*hookgatev1.ConfigResource) bool)
}

// TableOption is an optional setting of NewTable.
type TableOption func(*Table)

// WithKeeper makes k hold the resources it takes: the Table keeps no
// message of them, Snapshot.Resource does not find them, and
// Snapshot.Kept returns k's content. Snapshot.Resources (and so the cache
// file) still yields them, made from the Kept value.
func WithKeeper(k Keeper) TableOption {
	return func(t *Table) { t.keeper = k }
}

// Kept returns the content of the Table's Keeper at this Snapshot; nil
// without a Keeper or configuration.
func (s *Snapshot) Kept() Kept {
	if s == nil {
		return nil
	}
	return s.kept
}

// splitKept moves what the keeper takes out of others and otherDeletes.
func (t *Table) splitKept(others []*hookgatev1.ConfigResource, otherDeletes []string) (rest, kept []*hookgatev1.ConfigResource, restDeletes, keptDeletes []string) {
	if t.keeper == nil {
		return others, nil, otherDeletes, nil
	}
	for _, r := range others {
		if t.keeper.Takes(r.GetKey()) {
			kept = append(kept, r)
		} else {
			rest = append(rest, r)
		}
	}
	for _, k := range otherDeletes {
		if t.keeper.Takes(k) {
			keptDeletes = append(keptDeletes, k)
		} else {
			restDeletes = append(restDeletes, k)
		}
	}
	return rest, kept, restDeletes, keptDeletes
}

// keptResources yields what s.kept holds whose key starts with prefix.
func (s *Snapshot) keptResources(prefix string, fn func(*hookgatev1.ConfigResource) bool) {
	if s.kept == nil {
		return
	}
	s.kept.Resources(func(r *hookgatev1.ConfigResource) bool {
		if !strings.HasPrefix(r.GetKey(), prefix) {
			return true
		}
		return fn(r)
	})
}
