package dispatcher

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/hookgate/hookgate/testkit/heaptest"

	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"google.golang.org/protobuf/proto"
)

// benchEndpoints encodes a snapshot of n endpoints (ten per application,
// two event types each, one signing secret, no headers) as the control
// plane sends it.
func benchEndpoints(tb testing.TB, n int) []byte {
	tb.Helper()
	u := &hookgatev1.StreamConfigResponse{Revision: 1, Snapshot: true, Upserts: make([]*hookgatev1.ConfigResource, 0, n)}
	types := []string{"order.created", "order.paid", "order.shipped", "invoice.created"}
	for i := range n {
		id := fmt.Sprintf("ep_%020d", i)
		r := endpointResource("acme", id, fmt.Sprintf("app_%020d", i/10), true, []string{types[i%4], types[(i+1)%4]},
			&hookgatev1.SigningSecret{Secret: secret(byte(i % 26))})
		r.GetEndpoint().Headers = nil
		u.Upserts = append(u.Upserts, r)
	}
	data, err := proto.Marshal(u)
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// BenchmarkEndpointIndexHeap measures what a dispatcher holds for 100,000
// and 1,000,000 endpoints decoded from the wire: the config table and the
// endpoint index it hands them to, together (the live heap with both less
// the heap without). With ENDPOINT_HEAP_PROFILE=file it writes a heap
// profile while they are live. Run one size at a time:
//
//	go test -run '^$' -bench 'EndpointIndexHeap/endpoints=1000000$' -benchtime 1x ./app/dispatcher/
func BenchmarkEndpointIndexHeap(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("endpoints=%d", n), func(b *testing.B) {
			data := benchEndpoints(b, n)
			for range b.N {
				before := heaptest.Live()
				x := newEndpointIndex(slog.New(slog.NewTextHandler(io.Discard, nil)), time.Now, 1, func(string, string) {})
				table := x.newTable()
				var msg hookgatev1.StreamConfigResponse
				if err := proto.Unmarshal(data, &msg); err != nil {
					b.Fatal(err)
				}
				if _, err := table.Apply(&msg); err != nil {
					b.Fatal(err)
				}
				msg = hookgatev1.StreamConfigResponse{}
				held := heaptest.Live() - before
				if path := os.Getenv("ENDPOINT_HEAP_PROFILE"); path != "" {
					writeHeapProfile(b, path)
				}
				if _, ok := x.Endpoint("acme", fmt.Sprintf("ep_%020d", n-1)); !ok {
					b.Fatal("endpoint not indexed")
				}
				if got := len(x.Subscribed("acme", "app_00000000000000000007", "order.paid")); got != 4 {
					b.Fatalf("%d endpoints subscribed, want 4", got)
				}
				runtime.KeepAlive(table)
				b.ReportMetric(float64(held)/(1<<20), "heap-MB")
				b.ReportMetric(float64(held)/float64(n), "heap-B/endpoint")
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

// BenchmarkEndpointLookup is the engine's lookups per message.
func BenchmarkEndpointLookup(b *testing.B) {
	x := newEndpointIndex(slog.New(slog.NewTextHandler(io.Discard, nil)), time.Now, 1, func(string, string) {})
	table := x.newTable()
	var rs []*hookgatev1.ConfigResource
	for i := range 1000 {
		rs = append(rs, endpointResource("acme", fmt.Sprintf("ep_%d", i), fmt.Sprintf("app_%d", i/10), true,
			[]string{"order.created"}, &hookgatev1.SigningSecret{Secret: secret(1)}))
	}
	if _, err := table.Apply(&hookgatev1.StreamConfigResponse{Revision: 1, Snapshot: true, Upserts: rs}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if len(x.Subscribed("acme", "app_7", "order.created")) != 10 {
			b.Fatal("subscribed")
		}
		if _, ok := x.Endpoint("acme", "ep_77"); !ok {
			b.Fatal("endpoint")
		}
	}
}
