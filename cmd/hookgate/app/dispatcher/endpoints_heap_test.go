package dispatcher

import (
	"fmt"
	"github.com/hookgate/hookgate/testkit/heaptest"
	"io"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/hookgate/hookgate/dataplane/configsync"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"google.golang.org/protobuf/proto"
)

// BenchmarkEndpointIndexHeap measures what a dispatcher holds for 100,000
// endpoints (ten per application, two event types each, one signing
// secret), decoded from the wire: the table's heap, then the index's on
// top of it. Run it once:
//
//	go test -run '^$' -bench EndpointIndexHeap -benchtime 1x ./cmd/hookgate/app/dispatcher/
func BenchmarkEndpointIndexHeap(b *testing.B) {
	const n = 100_000
	u := &hookgatev1.StreamConfigResponse{Revision: 1, Snapshot: true}
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
		b.Fatal(err)
	}
	u = nil
	for range b.N {
		before := heaptest.Live()
		table := configsync.NewTable()
		var msg hookgatev1.StreamConfigResponse
		if err := proto.Unmarshal(data, &msg); err != nil {
			b.Fatal(err)
		}
		if _, err := table.Apply(&msg); err != nil {
			b.Fatal(err)
		}
		msg = hookgatev1.StreamConfigResponse{}
		withTable := heaptest.Live()
		x := newEndpointIndex(slog.New(slog.NewTextHandler(io.Discard, nil)), time.Now, 1, func(string, string) {})
		table.OnUpdate(x.update)
		x.update(configsync.Update{Snapshot: table.Snapshot(), Full: true})
		withIndex := heaptest.Live()
		if _, ok := x.Endpoint("acme", "ep_00000000000000000007"); !ok {
			b.Fatal("endpoint not indexed")
		}
		runtime.KeepAlive(table)
		runtime.KeepAlive(x)
		b.ReportMetric(float64(withTable-before)/n, "table-B/endpoint")
		b.ReportMetric(float64(withIndex-withTable)/n, "index-B/endpoint")
	}
}

// BenchmarkEndpointLookup is the engine's lookups per message.
func BenchmarkEndpointLookup(b *testing.B) {
	x := newEndpointIndex(slog.New(slog.NewTextHandler(io.Discard, nil)), time.Now, 1, func(string, string) {})
	table := configsync.NewTable()
	table.OnUpdate(x.update)
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
