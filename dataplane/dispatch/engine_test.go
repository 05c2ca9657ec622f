package dispatch_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/hookgate/hookgate/dataplane/dispatch"
	"github.com/hookgate/hookgate/dataplane/streams"
	"github.com/hookgate/hookgate/dataplane/verify"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/testkit/natstest"
	"github.com/hookgate/hookgate/testkit/poll"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

const (
	testTenant = "acme"
	waitLong   = 20 * time.Second
)

// table is an in-memory Endpoints, as the config stream's table will be.
type table struct {
	mu   sync.Mutex
	eps  map[string]*dispatch.Endpoint
	subs map[string][]string // tenant/app/event → endpoint ids
}

func newTable() *table {
	return &table{eps: map[string]*dispatch.Endpoint{}, subs: map[string][]string{}}
}

func (tb *table) add(ep *dispatch.Endpoint, app string, events ...string) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.eps[ep.Tenant+"/"+ep.ID] = ep
	for _, ev := range events {
		k := ep.Tenant + "/" + app + "/" + ev
		tb.subs[k] = append(tb.subs[k], ep.ID)
	}
}

func (tb *table) remove(tenant, id string) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	delete(tb.eps, tenant+"/"+id)
}

func (tb *table) Subscribed(tenant, app, event string) []*dispatch.Endpoint {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	var out []*dispatch.Endpoint
	for _, id := range tb.subs[tenant+"/"+app+"/"+event] {
		if ep, ok := tb.eps[tenant+"/"+id]; ok {
			out = append(out, ep)
		}
	}
	return out
}

func (tb *table) Endpoint(tenant, id string) (*dispatch.Endpoint, bool) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	ep, ok := tb.eps[tenant+"/"+id]
	return ep, ok
}

// hit is one request a receiver got.
type hit struct {
	at       time.Time
	header   http.Header
	body     []byte
	verified error
}

// sink is a real HTTP receiver that verifies every request with the
// edge's Standard Webhooks verifier and answers with respond(n), n from 1.
type sink struct {
	*httptest.Server
	secret string
	mu     sync.Mutex
	hits   []hit
}

func newSink(t *testing.T, respond func(n int, w http.ResponseWriter, r *http.Request)) *sink {
	t.Helper()
	scheme, ok := verify.For(hookgatev1.Provider_PROVIDER_STANDARD_WEBHOOKS)
	if !ok {
		t.Fatal("no Standard Webhooks scheme")
	}
	s := &sink{secret: newWhsec(t, 32)}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		err := scheme.Verify(&verify.Request{Method: r.Method, Header: r.Header, Body: b, Now: time.Now()},
			verify.Secrets{"signing_secret": {s.secret}})
		s.mu.Lock()
		s.hits = append(s.hits, hit{at: time.Now(), header: r.Header.Clone(), body: b, verified: err})
		n := len(s.hits)
		s.mu.Unlock()
		respond(n, w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *sink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.hits)
}

func (s *sink) all() []hit {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]hit(nil), s.hits...)
}

func (s *sink) endpoint(t *testing.T, id string) *dispatch.Endpoint {
	return &dispatch.Endpoint{ID: id, Tenant: testTenant, URL: s.URL + "/hook", Secrets: []dispatch.Secret{mustSecret(t, s.secret)}, TimeoutMS: 10000}
}

func status(code int) func(int, http.ResponseWriter, *http.Request) {
	return func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) }
}

// rig is one JetStream server with the dispatch streams.
type rig struct {
	js  jetstream.JetStream
	log *slog.Logger
}

func newRig(t *testing.T) *rig {
	t.Helper()
	js := natstest.Start(t).JetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := streams.EnsureDispatch(ctx, js, streams.DefaultConfig()); err != nil {
		t.Fatal(err)
	}
	lg := slog.New(slog.DiscardHandler)
	if os.Getenv("DISPATCH_TEST_LOG") != "" {
		lg = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return &rig{js: js, log: lg}
}

// testConfig compresses the schedule a thousandfold: 0, 5 ms, 1 s (a
// scheduled message), 10 ms — four attempts.
func testConfig() dispatch.EngineConfig {
	return dispatch.EngineConfig{
		Workers: 4, EndpointWorkers: 1, TimeScale: 0.001,
		Delays:    []time.Duration{0, 5 * time.Second, 1000 * time.Second, 10 * time.Second},
		BusyDelay: 5 * time.Millisecond,
	}
}

type running struct {
	*dispatch.Engine
	stop func()
}

func (r *rig) start(t *testing.T, cfg dispatch.EngineConfig, tb dispatch.Endpoints, onDisable func(context.Context, string, string, dispatch.DisableReason)) *running {
	t.Helper()
	return r.startDeps(t, cfg, dispatch.EngineDeps{Endpoints: tb, OnDisable: onDisable})
}

// startDeps starts an engine with deps, its JetStream and Log filled in,
// and its Deliverer when deps has none.
func (r *rig) startDeps(t *testing.T, cfg dispatch.EngineConfig, deps dispatch.EngineDeps) *running {
	t.Helper()
	deps.JetStream, deps.Log = r.js, r.log
	if deps.Deliverer == nil {
		deps.Deliverer = dispatch.NewDeliverer(dispatch.DelivererConfig{
			Version: "test",
			Dialer:  dispatch.DialerConfig{Policy: dispatch.NewAddressPolicy([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")})},
		})
	}
	eng, err := dispatch.NewEngine(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- eng.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return &running{Engine: eng, stop: stop}
}

func (r *rig) publish(t *testing.T, app, eventType, id, payload string) {
	t.Helper()
	// Built by hand: json.Marshal would compact the payload, and the test
	// checks it is delivered byte for byte.
	body := []byte(`{"id":"` + id + `","eventType":"` + eventType + `","payload":` + payload + `,"timestamp":"` + time.Now().UTC().Format(time.RFC3339Nano) + `"}`)
	m := nats.NewMsg(streams.OutboundMessageSubject(testTenant, app, eventType))
	m.Header.Set(jetstream.MsgIDHeader, id)
	m.Data = body
	if _, err := r.js.PublishMsg(context.Background(), m); err != nil {
		t.Fatal(err)
	}
}

// deliveries reads the states of msgID's deliveries by endpoint.
func deliveries(t *testing.T, eng *running, msgID string) map[string]dispatch.Delivery {
	t.Helper()
	ds, err := eng.Deliveries(context.Background(), testTenant, msgID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]dispatch.Delivery{}
	for _, d := range ds {
		out[d.EndpointID] = d
	}
	return out
}

func waitState(t *testing.T, eng *running, msgID, epID string, want dispatch.State) dispatch.Delivery {
	t.Helper()
	var d dispatch.Delivery
	poll.NoError(t, waitLong, func() error {
		d = deliveries(t, eng, msgID)[epID]
		if d.State != want {
			return fmt.Errorf("delivery %s to %s is %+v, want %s", msgID, epID, d, want)
		}
		return nil
	})
	return d
}

// records reads every record on subject in the attempts stream.
func (r *rig) records(t *testing.T, subject string) [][]byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := r.js.Stream(ctx, streams.Attempts)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(subject))
	if err != nil {
		t.Fatal(err)
	}
	var n uint64
	for _, c := range info.State.Subjects {
		n += c
	}
	if n == 0 {
		return nil
	}
	c, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for uint64(len(out)) < n {
		m, err := c.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			t.Fatalf("read %s: %v", subject, err)
		}
		out = append(out, m.Data())
	}
	return out
}

func (r *rig) attempts(t *testing.T, epID, msgID string) []dispatch.AttemptRecord {
	t.Helper()
	var out []dispatch.AttemptRecord
	for _, b := range r.records(t, streams.AttemptSubject(testTenant, epID, msgID)) {
		var a dispatch.AttemptRecord
		if err := json.Unmarshal(b, &a); err != nil {
			t.Fatal(err)
		}
		out = append(out, a)
	}
	return out
}
