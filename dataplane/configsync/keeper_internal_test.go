package configsync

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"google.golang.org/protobuf/proto"
)

// keyKeeper keeps the endpoints it takes by key, counting what it was
// handed, and refuses a resource whose key ends in "/bad".
type keyKeeper struct{ puts int }

type keyKept map[string]*hookgatev1.ConfigResource

type keyBuilder struct {
	k    *keyKeeper
	next keyKept
}

func (k *keyKeeper) Takes(key string) bool { return strings.HasPrefix(key, "endpoint/") }

func (k *keyKeeper) Begin(prev Kept) KeptBuilder {
	p, _ := prev.(keyKept)
	return &keyBuilder{k: k, next: maps.Clone(p)}
}

func (b *keyBuilder) Put(r *hookgatev1.ConfigResource) error {
	if strings.HasSuffix(r.GetKey(), "/bad") {
		return errors.New("resource " + r.GetKey() + ": refused")
	}
	b.k.puts++
	if b.next == nil {
		b.next = keyKept{}
	}
	b.next[r.GetKey()] = r
	return nil
}

func (b *keyBuilder) Delete(key string) { delete(b.next, key) }

func (b *keyBuilder) Finish() Kept { return b.next }

func (k keyKept) Resources(fn func(*hookgatev1.ConfigResource) bool) {
	for _, r := range k {
		if !fn(r) {
			return
		}
	}
}

func endpointRes(key string) *hookgatev1.ConfigResource {
	return &hookgatev1.ConfigResource{Key: key, Resource: &hookgatev1.ConfigResource_Endpoint{Endpoint: &hookgatev1.DispatchEndpoint{Id: key}}}
}

// TestKeeper: a Table with a Keeper keeps no message of the kinds it takes
// (others stay), hands them over chunk by chunk, swaps the Keeper's
// content in with the Snapshot, refuses an update the Keeper refuses, and
// writes the kept resources to the cache file.
func TestKeeper(t *testing.T) {
	k := &keyKeeper{}
	tb := NewTable(WithKeeper(k))
	app := &hookgatev1.ConfigResource{Key: "application/acme/app_1", Resource: &hookgatev1.ConfigResource_Application{
		Application: &hookgatev1.OutboundApplication{Tenant: "acme", Id: "app_1"}}}

	b := tb.BeginSnapshot(1, 0, 0)
	if err := b.Add([]*hookgatev1.ConfigResource{endpointRes("endpoint/acme/ep_1"), app}); err != nil {
		t.Fatal(err)
	}
	if k.puts != 1 {
		t.Fatalf("the keeper was handed %d resources after the first chunk, want 1", k.puts)
	}
	if err := b.Add([]*hookgatev1.ConfigResource{endpointRes("endpoint/acme/ep_2")}); err != nil {
		t.Fatal(err)
	}
	if tb.Snapshot() != nil {
		t.Fatal("the snapshot was swapped in before Commit")
	}
	if _, err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	s := tb.Snapshot()
	if _, ok := s.Resource("endpoint/acme/ep_1"); ok {
		t.Error("the table keeps a message of a kept endpoint")
	}
	if _, ok := s.Resource("application/acme/app_1"); !ok {
		t.Error("the table lost an application, which no keeper takes")
	}
	if got := slices.Sorted(maps.Keys(s.Kept().(keyKept))); !slices.Equal(got, []string{"endpoint/acme/ep_1", "endpoint/acme/ep_2"}) {
		t.Fatalf("kept %v", got)
	}

	// A delta builds on the kept content and leaves the old one as it was.
	if _, err := tb.Apply(&hookgatev1.StreamConfigResponse{Revision: 2, Upserts: []*hookgatev1.ConfigResource{endpointRes("endpoint/acme/ep_3")},
		Deletes: []string{"endpoint/acme/ep_1"}}); err != nil {
		t.Fatal(err)
	}
	if got := slices.Sorted(maps.Keys(tb.Snapshot().Kept().(keyKept))); !slices.Equal(got, []string{"endpoint/acme/ep_2", "endpoint/acme/ep_3"}) {
		t.Fatalf("kept after the delta %v", got)
	}
	if len(s.Kept().(keyKept)) != 2 || s.Kept().(keyKept)["endpoint/acme/ep_1"] == nil {
		t.Fatal("the delta changed the previous Snapshot's kept content")
	}

	// What the keeper refuses refuses the update, delta or chunk.
	before := tb.Snapshot()
	if _, err := tb.Apply(&hookgatev1.StreamConfigResponse{Revision: 3, Upserts: []*hookgatev1.ConfigResource{endpointRes("endpoint/acme/bad")}}); err == nil ||
		!strings.Contains(err.Error(), "endpoint/acme/bad") {
		t.Fatalf("refused delta: err = %v, want one naming the key", err)
	}
	b = tb.BeginSnapshot(4, 0, 0)
	if err := b.Add([]*hookgatev1.ConfigResource{endpointRes("endpoint/acme/bad")}); err == nil {
		t.Fatal("a refused chunk was added")
	}
	if _, err := b.Commit(); err == nil {
		t.Fatal("a snapshot with a refused chunk was committed")
	}
	if tb.Snapshot() != before {
		t.Fatal("a refused update changed the Snapshot")
	}

	// The cache file holds the kept resources and the others.
	data, err := encodeCache(tb.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	var back hookgatev1.StreamConfigResponse
	if err := proto.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, r := range back.GetUpserts() {
		keys = append(keys, r.GetKey())
	}
	slices.Sort(keys)
	if want := []string{"application/acme/app_1", "endpoint/acme/ep_2", "endpoint/acme/ep_3"}; !slices.Equal(keys, want) {
		t.Fatalf("cache holds %v, want %v", keys, want)
	}
}
