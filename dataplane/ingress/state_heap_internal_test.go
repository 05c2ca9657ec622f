package ingress

import (
	"crypto/sha256"
	"fmt"
	"github.com/hookgate/hookgate/testkit/heaptest"
	"os"
	"runtime"
	"runtime/pprof"
	"testing"

	"github.com/hookgate/hookgate/dataplane/configsync"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"google.golang.org/protobuf/proto"
)

// BenchmarkHookHeap measures the state the edge derives for 100,000
// webhooks that have all been called (shaped as make bench-config's: one
// binding, every other one Slack with its secret), beside the table's.
//
//	go test -run '^$' -bench HookHeap -benchtime 1x ./dataplane/ingress/
func BenchmarkHookHeap(b *testing.B) {
	const n = 100_000
	ws := make([]*configsync.Webhook, n)
	for i := range ws {
		id := fmt.Sprintf("wh_%020d", i)
		d := sha256.Sum256([]byte(id))
		w := &hookgatev1.EdgeWebhook{
			Tenant: "acme", Id: id, Active: true, Provider: hookgatev1.Provider_PROVIDER_GENERIC,
			Keys:         []*hookgatev1.KeyDigest{{Sha256: d[:]}},
			Bindings:     []*hookgatev1.Binding{{ProcessId: "proc-orders", ThreadId: "main", Trigger: hookgatev1.Trigger_TRIGGER_START_PROCESS}},
			MaxBodyBytes: 1 << 20, RequireKey: proto.Bool(true),
		}
		if i%2 == 0 {
			w.Provider = hookgatev1.Provider_PROVIDER_SLACK
			w.ProviderSecrets = map[string]string{"signing_secret": "secret-" + id}
		}
		c, err := configsync.NewWebhook(w)
		if err != nil {
			b.Fatal(err)
		}
		ws[i] = c
	}
	for range b.N {
		before := heaptest.Live()
		var hs hooks
		for _, w := range ws {
			hs.get(w.GetTenant(), w.GetId(), w)
		}
		held := heaptest.Live() - before
		if path := os.Getenv("HOOK_HEAP_PROFILE"); path != "" {
			f, err := os.Create(path)
			if err != nil {
				b.Fatal(err)
			}
			if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
				b.Fatal(err)
			}
			_ = f.Close()
		}
		runtime.KeepAlive(&hs)
		b.ReportMetric(float64(held)/n, "hook-B/webhook")
	}
}
