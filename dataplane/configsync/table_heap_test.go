package configsync_test

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

// benchSnapshot encodes a snapshot of n webhooks shaped as the control
// plane sends those of make bench-config (cmd/hookgate/configtest): one
// tenant, one binding, one key digest, every other webhook a Slack one
// with its signing secret.
func benchSnapshot(tb testing.TB, n int) []byte {
	tb.Helper()
	u := &hookgatev1.StreamConfigResponse{Revision: 1, Snapshot: true, ClusterId: 7, Upserts: make([]*hookgatev1.ConfigResource, 0, n)}
	for i := range n {
		id := fmt.Sprintf("wh_%020d", i)
		d := sha256.Sum256([]byte(id))
		w := &hookgatev1.EdgeWebhook{
			Tenant: "acme", Id: id, Active: true, Provider: hookgatev1.Provider_PROVIDER_GENERIC,
			Keys: []*hookgatev1.KeyDigest{{Sha256: d[:]}},
			Bindings: []*hookgatev1.Binding{{
				ProcessId: "proc-orders", ThreadId: "main", Trigger: hookgatev1.Trigger_TRIGGER_START_PROCESS,
			}},
			MaxBodyBytes: 1 << 20,
			Url:          "http://127.0.0.1:8080/in/acme/" + id,
			RequireKey:   proto.Bool(true),
		}
		if i%2 == 0 {
			w.Provider = hookgatev1.Provider_PROVIDER_SLACK
			w.ProviderSecrets = map[string]string{"signing_secret": "secret-" + id}
		}
		u.Upserts = append(u.Upserts, &hookgatev1.ConfigResource{
			Key:      configsync.ResourceKey("acme", id),
			Resource: &hookgatev1.ConfigResource_Webhook{Webhook: w},
		})
	}
	data, err := proto.Marshal(u)
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// BenchmarkTableHeap measures the heap a Table holds with 100,000 and
// 1,000,000 webhooks, decoded from the wire as a node does. The heap is
// the live heap with the table less the heap without it. With
// TABLE_HEAP_PROFILE=file it writes a heap profile while the table is
// live. Run one size at a time:
//
//	go test -run '^$' -bench 'TableHeap/webhooks=100000$' -benchtime 1x ./dataplane/configsync/
func BenchmarkTableHeap(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("webhooks=%d", n), func(b *testing.B) {
			data := benchSnapshot(b, n)
			for range b.N {
				before := heaptest.Live()
				tb := configsync.NewTable()
				var u hookgatev1.StreamConfigResponse
				if err := proto.Unmarshal(data, &u); err != nil {
					b.Fatal(err)
				}
				if _, err := tb.Apply(&u); err != nil {
					b.Fatal(err)
				}
				u = hookgatev1.StreamConfigResponse{}
				held := heaptest.Live() - before
				if tb.Snapshot().Len() != n {
					b.Fatalf("table holds %d webhooks, want %d", tb.Snapshot().Len(), n)
				}
				if path := os.Getenv("TABLE_HEAP_PROFILE"); path != "" {
					writeHeapProfile(b, path)
				}
				runtime.KeepAlive(tb)
				b.ReportMetric(float64(held)/(1<<20), "heap-MB")
				b.ReportMetric(float64(held)/float64(n), "heap-B/webhook")
			}
		})
	}
}

func writeHeapProfile(b *testing.B, path string) {
	b.Helper()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkSnapshotLookup is the edge's lookup per call in a table of
// 100,000 webhooks: it must stay O(1) and allocation-free.
func BenchmarkSnapshotLookup(b *testing.B) {
	const n = 100_000
	tb := configsync.NewTable()
	var u hookgatev1.StreamConfigResponse
	if err := proto.Unmarshal(benchSnapshot(b, n), &u); err != nil {
		b.Fatal(err)
	}
	if _, err := tb.Apply(&u); err != nil {
		b.Fatal(err)
	}
	ids := make([]string, 1024)
	for i := range ids {
		ids[i] = fmt.Sprintf("wh_%020d", i*97%n)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, ok := tb.Snapshot().Lookup("acme", ids[i%len(ids)]); !ok {
			b.Fatal("not found")
		}
	}
}

// BenchmarkApplySnapshot is the apply of a decoded snapshot of 100,000
// webhooks, a node's share of a cold start after decoding.
func BenchmarkApplySnapshot(b *testing.B) {
	data := benchSnapshot(b, 100_000)
	for range b.N {
		b.StopTimer()
		var u hookgatev1.StreamConfigResponse
		if err := proto.Unmarshal(data, &u); err != nil {
			b.Fatal(err)
		}
		tb := configsync.NewTable()
		b.StartTimer()
		if _, err := tb.Apply(&u); err != nil {
			b.Fatal(err)
		}
	}
}
