package configsync_test

import (
	"fmt"

	"github.com/hookgate/hookgate/dataplane/configsync"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
)

// A Table is filled by a Client in production; tests of the ingress can
// fill it directly with Apply.
func ExampleTable() {
	table := configsync.NewTable()
	_, err := table.Apply(&hookgatev1.StreamConfigResponse{
		Revision: 42,
		Snapshot: true,
		Upserts: []*hookgatev1.ConfigResource{{
			Key:      configsync.ResourceKey("acme", "wh_1"),
			Resource: &hookgatev1.ConfigResource_Webhook{Webhook: &hookgatev1.EdgeWebhook{Tenant: "acme", Id: "wh_1", Active: true}},
		}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	// Request handling: one atomic load, then O(1) lookups in an immutable
	// snapshot.
	snap := table.Snapshot()
	w, ok := snap.Webhook("acme", "wh_1")
	fmt.Println(snap.Revision, ok, w.GetActive())
	_, ok = snap.Webhook("acme", "wh_2")
	fmt.Println(ok)
	note, err := table.Check()
	fmt.Println(note, err)
	// Output:
	// 42 true true
	// false
	// stale config: revision 42, not connected to the control plane yet <nil>
}
