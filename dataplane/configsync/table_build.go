package configsync

import (
	"errors"
	"fmt"

	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
)

// SnapshotBuilder fills a new Snapshot from the chunks of one snapshot as
// they arrive, aside from the Table, which goes on serving its current
// Snapshot until Commit swaps the new one in. Each chunk's resources go
// into the new Snapshot at once, so the messages themselves need not be
// kept. A builder is used by one goroutine; Commit or Abort ends it.
type SnapshotBuilder struct {
	t *Table
	s *Snapshot
	// others collects the resources that are not webhooks.
	others map[string]*hookgatev1.ConfigResource
	// kept builds the Keeper's content from the chunks as they come, so no
	// message of a kind it takes is held until Commit; nil without one.
	kept KeptBuilder
	// err is the first chunk that could not be added: the snapshot is
	// refused whole at Commit.
	err  error
	done bool
}

// errBuilderDone is returned by a SnapshotBuilder used after Commit or
// Abort.
var errBuilderDone = errors.New("snapshot builder already committed or aborted")

// BeginSnapshot starts a snapshot at revision rev of etcd cluster cluster
// (0 for unknown), sized for about n webhooks (0 when unknown). Nothing
// changes in the Table until Commit.
func (t *Table) BeginSnapshot(rev int64, cluster uint64, n int) *SnapshotBuilder {
	b := &SnapshotBuilder{
		t:      t,
		s:      t.newSnapshot(rev, cluster, max(0, n)),
		others: make(map[string]*hookgatev1.ConfigResource),
	}
	if t.keeper != nil {
		b.kept = t.keeper.Begin(nil)
	}
	return b
}

// Add puts one chunk's resources into the snapshot, validated as Apply
// validates a snapshot's. A resource whose key came in an earlier chunk
// replaces it. After an invalid chunk the builder takes nothing more, and
// Commit refuses the snapshot with the same error.
func (b *SnapshotBuilder) Add(upserts []*hookgatev1.ConfigResource) error {
	switch {
	case b.done:
		return errBuilderDone
	case b.err != nil:
		return b.err
	}
	webhooks, _, others, _, err := parseUpdate(&hookgatev1.StreamConfigResponse{
		Revision: b.s.Revision, Snapshot: true, Upserts: upserts,
	})
	if err == nil {
		b.s.put(webhooks)
		err = b.addOthers(others)
	}
	if err != nil {
		b.err = fmt.Errorf("snapshot at revision %d: %w", b.s.Revision, err)
		b.s, b.others, b.kept = nil, nil, nil
		return b.err
	}
	return nil
}

// addOthers keeps the non-webhook resources of one chunk, handing the
// Keeper those it takes.
func (b *SnapshotBuilder) addOthers(others []*hookgatev1.ConfigResource) error {
	for _, r := range others {
		if b.kept != nil && b.t.keeper.Takes(r.GetKey()) {
			if err := b.kept.Put(r); err != nil {
				return err
			}
			continue
		}
		b.others[r.GetKey()] = r
	}
	return nil
}

// Commit swaps the built Snapshot in, as Apply does a snapshot, and runs
// the OnUpdate hooks with a full Update. It returns the error of the first
// chunk Add refused, changing nothing then.
func (b *SnapshotBuilder) Commit() (Update, error) {
	switch {
	case b.done:
		return Update{}, errBuilderDone
	case b.err != nil:
		b.done = true
		return Update{}, b.err
	}
	if b.s.Revision <= 0 {
		b.Abort()
		return Update{}, fmt.Errorf("snapshot at revision %d: revision must be positive", b.s.Revision)
	}
	b.done = true
	b.s.others = b.others
	if b.kept != nil {
		b.s.kept = b.kept.Finish()
	}
	t := b.t
	t.applyMu.Lock()
	defer t.applyMu.Unlock()
	upd := Update{Snapshot: b.s, Previous: t.cur.Load(), Full: true}
	b.s, b.others, b.kept = nil, nil, nil
	t.publish(upd)
	return upd, nil
}

// Abort drops what was built; the Table keeps its Snapshot. It is safe to
// call after Commit, and more than once.
func (b *SnapshotBuilder) Abort() {
	b.done = true
	b.s, b.others, b.kept = nil, nil, nil
}

// Len is how many webhooks the snapshot holds so far.
func (b *SnapshotBuilder) Len() int {
	if b.s == nil {
		return 0
	}
	return b.s.Len()
}
