package ingress_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookgate/hookgate/dataplane/configsync"
	"github.com/hookgate/hookgate/dataplane/ingress"
	"github.com/hookgate/hookgate/dataplane/streams"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/testkit/natstest"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// routes is a configuration held in a map, in the compact form the config
// stream's table holds.
type routes struct {
	mu    sync.Mutex
	hooks map[string]*configsync.Webhook
	rev   int64
	ready bool
}

func (r *routes) Webhook(tenant, id string) (*configsync.Webhook, int64, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hooks[tenant+"/"+id], r.rev, r.ready
}

func (r *routes) put(w *hookgatev1.EdgeWebhook) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, err := configsync.NewWebhook(w)
	if err != nil {
		panic(fmt.Sprintf("test webhook %s/%s: %v", w.Tenant, w.Id, err))
	}
	r.hooks[w.Tenant+"/"+w.Id] = c
	r.rev++
}

// edgeEnv is an edge in front of a real JetStream server.
type edgeEnv struct {
	edge   *ingress.Edge
	ns     *natstest.Server
	nc     *nats.Conn
	js     jetstream.JetStream
	reg    *prometheus.Registry
	routes *routes
	url    string
	mu     sync.Mutex // guards now
	now    time.Time
}

func (e *edgeEnv) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *edgeEnv) advance(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.now = e.now.Add(d)
}

// envOptions change what newEdgeEnvWith starts.
type envOptions struct {
	// inboundSubjects replaces the inbound stream's subjects when set.
	inboundSubjects []string
	config          func(*ingress.Config)
}

const (
	key1 = "hgk_current-key-0123456789abcdefghijklmnopqrstuv"
	key0 = "hgk_previous-key-0123456789abcdefghijklmnopqrstu"
)

func digest(k string) []byte { d := sha256.Sum256([]byte(k)); return d[:] }

func newEdgeEnv(t testing.TB) *edgeEnv {
	t.Helper()
	return newEdgeEnvWith(t, envOptions{})
}

func newEdgeEnvWith(t testing.TB, opts envOptions) *edgeEnv {
	t.Helper()
	ns := natstest.Start(t)
	nc := ns.Conn(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cfg := streams.DefaultConfig()
	inbound := cfg.InboundConfig()
	if opts.inboundSubjects != nil {
		inbound.Subjects = opts.inboundSubjects
	}
	for _, sc := range []jetstream.StreamConfig{inbound, cfg.FailedConfig()} {
		if _, err := streams.Ensure(ctx, js, sc); err != nil {
			t.Fatal(err)
		}
	}
	env := &edgeEnv{ns: ns, nc: nc, js: js, reg: prometheus.NewRegistry(),
		routes: &routes{hooks: map[string]*configsync.Webhook{}, ready: true, rev: 41},
		now:    time.Date(2026, 3, 23, 15, 30, 0, 0, time.UTC)}
	ecfg := ingress.DefaultConfig()
	ecfg.PublishTimeout = time.Second
	if opts.config != nil {
		opts.config(&ecfg)
	}
	edge, err := ingress.New(ecfg, ingress.Deps{
		Routes: env.routes, Conn: nc, Log: slog.New(slog.DiscardHandler),
		Metrics: env.reg, Now: env.clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	env.edge = edge
	srv := httptest.NewServer(edge.PublicHandler())
	t.Cleanup(srv.Close)
	env.url = srv.URL
	return env
}

// hook returns a GENERIC webhook with the current key and a previous key
// that expires an hour after the env's clock.
func (e *edgeEnv) hook(id string, bindings ...*hookgatev1.Binding) *hookgatev1.EdgeWebhook {
	if len(bindings) == 0 {
		bindings = []*hookgatev1.Binding{{ProcessId: "orders", ThreadId: "main", Trigger: hookgatev1.Trigger_TRIGGER_START_PROCESS}}
	}
	w := &hookgatev1.EdgeWebhook{
		Tenant: "acme", Id: id, Active: true, Provider: hookgatev1.Provider_PROVIDER_GENERIC,
		Keys: []*hookgatev1.KeyDigest{
			{Sha256: digest(key1)},
			{Sha256: digest(key0), ExpireTime: timestamppb.New(e.now.Add(time.Hour))},
		},
		Bindings:     bindings,
		MaxBodyBytes: 1024,
	}
	e.routes.put(w)
	return w
}

type call struct {
	method  string
	path    string
	body    string
	headers map[string]string
	// extra are added after headers, so a name can have several values.
	extra http.Header
}

func (e *edgeEnv) do(t testing.TB, c call) (int, http.Header, map[string]string) {
	t.Helper()
	if c.method == "" {
		c.method = http.MethodPost
	}
	req, err := http.NewRequest(c.method, e.url+c.path, strings.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range c.headers {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	for k, vs := range c.extra {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var body map[string]string
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatalf("answer %d is not JSON: %q", resp.StatusCode, raw)
	}
	return resp.StatusCode, resp.Header, body
}

// messages reads every message stored on subject.
func (e *edgeEnv) messages(t *testing.T, stream, subject string) []jetstream.Msg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := e.js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(subject))
	if err != nil {
		t.Fatal(err)
	}
	want := int(info.State.Subjects[subject])
	if want == 0 {
		return nil
	}
	c, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := c.FetchNoWait(want)
	if err != nil {
		t.Fatal(err)
	}
	var out []jetstream.Msg
	for m := range batch.Messages() {
		out = append(out, m)
	}
	for len(out) < want {
		m, err := c.Next(jetstream.FetchMaxWait(2 * time.Second))
		if err != nil {
			t.Fatalf("read %s: got %d of %d: %v", subject, len(out), want, err)
		}
		out = append(out, m)
	}
	return out
}

// failures reads the failed triggers recorded for a webhook.
func (e *edgeEnv) failures(t *testing.T, id string) []*hookgatev1.FailedTrigger {
	t.Helper()
	var out []*hookgatev1.FailedTrigger
	for _, m := range e.messages(t, streams.Failed, streams.FailedSubject("acme", id)) {
		ft := &hookgatev1.FailedTrigger{}
		if err := proto.Unmarshal(m.Data(), ft); err != nil {
			t.Fatal(err)
		}
		out = append(out, ft)
	}
	return out
}
