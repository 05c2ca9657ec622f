package configsync_test

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"testing"

	"github.com/hookgate/hookgate/dataplane/configsync"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
)

// TestTableAgreesWithAMap applies random deltas (upserts, deletes of held
// and unknown webhooks, the same id in two tenants) and after each checks
// every webhook against a plain map, and that older snapshots are
// unchanged (copy on write).
func TestTableAgreesWithAMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	tb := configsync.NewTable()
	model := map[string]int64{} // "tenant/id" → max_body_bytes
	key := func() (string, string) {
		return []string{"acme", "beta"}[rng.IntN(2)], fmt.Sprintf("wh_%d", rng.IntN(3000))
	}
	var first []*hookgatev1.ConfigResource
	for i := range 2000 {
		tenant, id := key()
		first = append(first, res(tenant, id, int64(i+1)))
		model[tenant+"/"+id] = int64(i + 1)
	}
	mustApply(t, tb, snapshot(1, first...))
	check := func(rev int64, s *configsync.Snapshot, m map[string]int64) {
		t.Helper()
		if s.Len() != len(m) {
			t.Fatalf("revision %d: %d webhooks, want %d", rev, s.Len(), len(m))
		}
		for _, tenant := range []string{"acme", "beta", "gamma"} {
			for i := range 3000 {
				id := fmt.Sprintf("wh_%d", i)
				w, ok := s.Lookup(tenant, id)
				want, held := m[tenant+"/"+id]
				if ok != held || w.GetMaxBodyBytes() != want || (ok && (w.GetTenant() != tenant || w.GetId() != id)) {
					t.Fatalf("revision %d: %s/%s = %v %v, want %v %v", rev, tenant, id, w.GetMaxBodyBytes(), ok, want, held)
				}
			}
		}
	}
	check(1, tb.Snapshot(), model)
	for rev := int64(2); rev < 60; rev++ {
		before, beforeModel := tb.Snapshot(), maps.Clone(model)
		var ups []*hookgatev1.ConfigResource
		var dels []string
		for range rng.IntN(200) {
			tenant, id := key()
			if rng.IntN(2) == 0 {
				ups = append(ups, res(tenant, id, rev*10000+int64(len(ups))))
				model[tenant+"/"+id] = rev*10000 + int64(len(ups)-1)
			} else {
				dels = append(dels, configsync.ResourceKey(tenant, id))
			}
		}
		// Deletes apply after upserts within one update.
		for _, k := range dels {
			delete(model, k[len("webhook/"):])
		}
		mustApply(t, tb, delta(rev, dels, ups...))
		check(rev, tb.Snapshot(), model)
		check(rev-1, before, beforeModel)
	}
}
