package ingress_test

import (
	"bytes"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// BenchmarkServeHTTP measures the handler alone (no sockets on the HTTP
// side) against real JetStream: allocations and CPU per accepted call.
func BenchmarkServeHTTP(b *testing.B) {
	e := newEdgeEnv(b)
	w := e.hook("wh_bench")
	w.MaxBodyBytes = 1 << 20
	e.routes.put(w)
	body := []byte(`{"type":"order.created","data":"` + strings.Repeat("x", 990) + `"}`)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		// Each call's body differs (a counter in the first bytes of the
		// string), so that none is a duplicate JetStream drops: identical
		// bodies derive the same event id.
		own := bytes.Clone(body)
		const at = len(`{"type":"order.created","data":"`)
		n := uint64(rand.Int64())
		for pb.Next() {
			n++
			strconv.AppendUint(own[:at], n%1e15, 10)
			req := httptest.NewRequest(http.MethodPost, "/in/acme/wh_bench?key="+key1, bytes.NewReader(own))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			e.edge.ServeHTTP(rec, req)
			if rec.Code != 200 {
				b.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
		}
	})
}
