package e2e

import (
	"context"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookgate/hookgate/testkit/poll"
	"github.com/nats-io/nats.go/jetstream"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

// collector is an OTLP/HTTP collector stand-in: it decodes every export
// and keeps "service span" per trace id.
type collector struct {
	mu     sync.Mutex
	traces map[string][]string
}

func newCollector(t *testing.T) (*collector, string) {
	t.Helper()
	c := &collector{traces: map[string][]string{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req collectortrace.ExportTraceServiceRequest
		if r.URL.Path != "/v1/traces" || proto.Unmarshal(body, &req) != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		c.mu.Lock()
		for _, rs := range req.GetResourceSpans() {
			service := ""
			for _, a := range rs.GetResource().GetAttributes() {
				if a.GetKey() == "service.name" {
					service = a.GetValue().GetStringValue()
				}
			}
			for _, ss := range rs.GetScopeSpans() {
				for _, s := range ss.GetSpans() {
					id := hex.EncodeToString(s.GetTraceId())
					c.traces[id] = append(c.traces[id], service+" "+s.GetName())
				}
			}
		}
		c.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	t.Cleanup(srv.Close)
	return c, srv.URL
}

func (c *collector) spans(traceID string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.traces[traceID]...)
}

// TestTracingThroughDev runs `hookgate dev --otlp-endpoint` against a
// collector stand-in: a webhook call with a traceparent is one trace from
// the edge's request span through its publish span to the message a
// consumer reads from HOOKGATE_INBOUND.
func TestTracingThroughDev(t *testing.T) {
	t.Parallel()
	col, colURL := newCollector(t)
	dir := t.TempDir()
	d := startDev(t, dir, "--otlp-endpoint", colURL)
	env := []string{"HOOKGATE_SERVER=" + d.admin}
	mustRun(t, dir, env, "tenants", "create", "acme")
	out := mustRun(t, dir, env, "webhooks", "create", "--tenant", "acme", "--name", "traced", "--process", "orders")
	id, key := idLine.FindStringSubmatch(out)[1], keyLine.FindStringSubmatch(out)[1]

	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	send := func() int {
		req, _ := http.NewRequest(http.MethodPost, d.edge+"/in/acme/"+id+"?key="+key, strings.NewReader(`{"orderId":"ORD-1"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// The webhook reaches the edge through the config stream.
	poll.Until(t, 10*time.Second, "the edge to accept", func() bool { return send() == 200 })

	nc := d.natsConn(t)
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := js.OrderedConsumer(ctx, "HOOKGATE_INBOUND", jetstream.OrderedConsumerConfig{FilterSubjects: []string{"hookgate.in.acme.>"}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := c.Next(jetstream.FetchMaxWait(5 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	tp := m.Headers().Get("traceparent")
	if !strings.HasPrefix(tp, "00-"+traceID+"-") {
		t.Fatalf("the stored event's traceparent is %q, want the caller's trace %s", tp, traceID)
	}

	// The batch exporter sends within its 5 s schedule.
	want := []string{"hookgate-edge POST /in/{tenant}/{webhook_id}", "hookgate-edge publish hookgate.in"}
	poll.Until(t, 30*time.Second, "the edge's spans at the collector", func() bool {
		got := strings.Join(col.spans(traceID), "\n")
		for _, w := range want {
			if !strings.Contains(got, w) {
				return false
			}
		}
		return true
	})
	if spans := strings.Join(col.spans(traceID), "\n"); strings.Contains(spans, key) {
		t.Fatal("a span name holds the API key")
	}
}
