package controlplane_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/hookgate/hookgate/cmd/hookgate/app/controlplane"
	"github.com/hookgate/hookgate/cmd/hookgate/app/edge"
	"github.com/hookgate/hookgate/cmd/hookgate/app/natsconn"
	"github.com/hookgate/hookgate/cmd/hookgate/app/serve"
	"github.com/hookgate/hookgate/dataplane/configsync"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/gen/hookgate/v1/hookgatev1connect"
	"github.com/hookgate/hookgate/testkit/etcdtest"
	"github.com/hookgate/hookgate/testkit/natstest"
	"github.com/hookgate/hookgate/testkit/poll"
	"google.golang.org/protobuf/encoding/protojson"
)

// fleet is a control plane and an edge on real etcd and NATS, as hookgate
// dev runs them.
type fleet struct {
	cp   *controlplane.ControlPlane
	edge string
}

func startFleet(t *testing.T, mutate func(*controlplane.Config), mutateEdge func(*edge.Config)) *fleet {
	t.Helper()
	ns := natstest.Start(t)
	cp := startOn(t, etcdtest.Start(t), ns, mutate)
	cfg := edge.Config{
		ListenAddr:     "127.0.0.1:0",
		ListenFlag:     "listen-addr",
		PublishTimeout: 5 * time.Second,
		Sync:           configsync.Config{ControlPlaneURL: cp.URL(), NodeID: "test-edge", NodeToken: "hgn_edge"},
		NATS:           natsconn.Config{URL: ns.ClientURL()},
		Streams:        natsconn.DefaultStreams(),
	}
	if mutateEdge != nil {
		mutateEdge(&cfg)
	}
	e, err := edge.Start(context.Background(), cfg, slog.New(slog.DiscardHandler), serve.NewRegistry())
	if err != nil {
		t.Fatalf("start edge: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("edge Run: %v", err)
		}
	})
	return &fleet{cp: cp, edge: e.URL()}
}

// bearer adds an admin token to every call, streams included.
type bearer string

func (b bearer) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		req.Header().Set("Authorization", "Bearer "+string(b))
		return next(ctx, req)
	}
}

func (b bearer) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return func(ctx context.Context, spec connect.Spec) connect.StreamingClientConn {
		conn := next(ctx, spec)
		conn.RequestHeader().Set("Authorization", "Bearer "+string(b))
		return conn
	}
}

func (bearer) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}

// webhook creates tenant and a GENERIC webhook with a start binding to
// process and a resume binding to "chat"; it returns the webhook id and key
// once the edge accepts calls with the key.
func (f *fleet) webhook(t *testing.T, tenant, process string) (string, string) {
	t.Helper()
	id, key, _ := f.webhookCounted(t, tenant, process)
	return id, key
}

// webhookCounted is webhook, also returning how the edge answered the
// calls made while waiting for it, by status.
func (f *fleet) webhookCounted(t *testing.T, tenant, process string) (string, string, map[int]uint64) {
	t.Helper()
	ctx := context.Background()
	opts := connect.WithInterceptors(bearer(f.cp.Token()))
	if _, err := hookgatev1connect.NewTenantServiceClient(http.DefaultClient, f.cp.URL(), opts).CreateTenant(ctx,
		connect.NewRequest(&hookgatev1.CreateTenantRequest{Tenant: &hookgatev1.Tenant{Id: tenant}})); err != nil {
		t.Fatal(err)
	}
	wh, err := hookgatev1connect.NewInboundWebhookServiceClient(http.DefaultClient, f.cp.URL(), opts).CreateWebhook(ctx,
		connect.NewRequest(&hookgatev1.CreateWebhookRequest{Webhook: &hookgatev1.Webhook{
			Tenant: tenant, Name: "orders", Provider: hookgatev1.Provider_PROVIDER_GENERIC,
			Bindings: []*hookgatev1.Binding{
				{ProcessId: process, Trigger: hookgatev1.Trigger_TRIGGER_START_PROCESS},
				{ProcessId: "chat", Trigger: hookgatev1.Trigger_TRIGGER_RESUME_PROCESS, CorrelationPath: "n"},
			},
		}}))
	if err != nil {
		t.Fatal(err)
	}
	id, key := wh.Msg.Webhook.Id, wh.Msg.ApiKey
	answers := map[int]uint64{}
	poll.Until(t, 10*time.Second, "the edge to accept the webhook", func() bool {
		code := f.post(t, tenant, id, key, `{"n":0}`, nil)
		answers[code]++
		return code == http.StatusOK
	})
	return id, key, answers
}

// post calls the edge with the key in the query and returns the status.
func (f *fleet) post(t *testing.T, tenant, id, key, body string, header http.Header) int {
	t.Helper()
	u := f.edge + "/in/" + tenant + "/" + id
	if key != "" {
		u += "?key=" + url.QueryEscape(key)
	}
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for name, vs := range header {
		req.Header[name] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestTailShowsWhatTheEdgePublished posts to a real edge and watches the
// events arrive through TailEvents, over Connect on HTTP/1.1 as a browser
// calls it: no key and no secret in what it shows, one process only, and a
// tail that outlives the admin port's read timeout.
func TestTailShowsWhatTheEdgePublished(t *testing.T) {
	const readTimeout = 300 * time.Millisecond
	f := startFleet(t, func(c *controlplane.Config) { c.ReadTimeout = readTimeout }, nil)
	id, key := f.webhook(t, "acme", "orders")

	// A cleartext HTTP/1.1 client, no timeout: the stream lasts.
	client := hookgatev1connect.NewInboundWebhookServiceClient(&http.Client{}, f.cp.URL(), connect.WithInterceptors(bearer(f.cp.Token())))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	stream, err := client.TailEvents(ctx, connect.NewRequest(&hookgatev1.TailEventsRequest{Tenant: "acme", ProcessId: "orders"}))
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	if !stream.Receive() || stream.Msg().Event != nil {
		t.Fatalf("first response: %v, %v; want the listening message", stream.Msg(), stream.Err())
	}

	// The key in every place the edge takes it, and credentials of the
	// sender's own beside it.
	h := http.Header{
		"X-Hookgate-Key": {key},
		"Cookie":         {"session=c00kie"},
		"X-Request-Id":   {"req-tail-1"},
	}
	if code := f.post(t, "acme", id, key, `{"n":1}`, h); code != http.StatusOK {
		t.Fatalf("post: %d", code)
	}
	if !stream.Receive() {
		t.Fatalf("tail ended: %v", stream.Err())
	}
	ev := stream.Msg().Event
	if ev.ProcessId != "orders" || ev.Trigger != hookgatev1.Trigger_TRIGGER_START_PROCESS || ev.WebhookId != id ||
		string(ev.Body) != `{"n":1}` || ev.ContentType != "application/json" || ev.ReceiveTime == nil || ev.Sequence == 0 {
		t.Fatalf("event %v; want the orders event of the post (the chat event is filtered out)", ev)
	}
	if got := ev.Headers["X-Request-Id"].GetValues(); len(got) != 1 || got[0].GetStringValue() != "req-tail-1" {
		t.Fatalf("X-Request-Id %v", got)
	}
	shown, err := protojson.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{key, strings.TrimPrefix(key, "hgk_"), "c00kie"} {
		if strings.Contains(string(shown), secret) {
			t.Fatalf("the tail shows a credential: %s", shown)
		}
	}
	if _, ok := ev.Headers["X-Hookgate-Key"]; ok {
		t.Fatalf("the Hookgate key header reached the envelope: %s", shown)
	}

	// Past the read timeout the stream still delivers (net/http lifts the
	// read deadline once the request body is read): each round trip waits
	// on the event it caused, until three read timeouts have passed.
	begin := time.Now()
	for i := 2; time.Since(begin) < 3*readTimeout || i < 4; i++ {
		body := fmt.Sprintf(`{"n":%d}`, i)
		if code := f.post(t, "acme", id, key, body, nil); code != http.StatusOK {
			t.Fatalf("post %d: %d", i, code)
		}
		if !stream.Receive() {
			t.Fatalf("tail ended after %s: %v", time.Since(begin), stream.Err())
		}
		if got := string(stream.Msg().Event.GetBody()); got != body {
			t.Fatalf("event body %s, want %s", got, body)
		}
	}
}

// TestEdgeTrafficInListNodes: calls to a real edge reach ListNodes as the
// edge's counters, by class of answer, once the edge has reported them.
func TestEdgeTrafficInListNodes(t *testing.T) {
	f := startFleet(t, func(c *controlplane.Config) { c.StatsInterval = time.Second }, nil)
	id, key, setup := f.webhookCounted(t, "acme", "orders")
	const accepted, wrongKey = 5, 3
	for i := range accepted {
		if code := f.post(t, "acme", id, key, fmt.Sprintf(`{"n":%d}`, i+1), nil); code != http.StatusOK {
			t.Fatalf("post: %d", code)
		}
	}
	for range wrongKey {
		if code := f.post(t, "acme", id, "hgk_wrong", `{"n":1}`, nil); code != http.StatusUnauthorized {
			t.Fatalf("post with a wrong key: %d", code)
		}
	}
	want := &hookgatev1.NodeTraffic{Accepted: setup[http.StatusOK] + accepted, RejectedAuth: wrongKey}
	for code, n := range setup {
		switch {
		case code >= 500:
			want.Unavailable += n
		case code >= 400:
			want.RejectedOther += n
		}
	}
	nodes := hookgatev1connect.NewEdgeServiceClient(http.DefaultClient, f.cp.URL(), connect.WithInterceptors(bearer(f.cp.Token())))
	var got *hookgatev1.NodeTraffic
	poll.Until(t, 15*time.Second, "the edge's counters in ListNodes", func() bool {
		resp, err := nodes.ListNodes(context.Background(), connect.NewRequest(&hookgatev1.ListNodesRequest{Role: hookgatev1.NodeRole_NODE_ROLE_EDGE}))
		if err != nil || len(resp.Msg.Nodes) != 1 {
			t.Fatalf("ListNodes: %v %v", resp, err)
		}
		got = resp.Msg.Nodes[0].Traffic
		return got.GetAccepted() == want.Accepted && got.GetRejectedAuth() == want.RejectedAuth
	})
	if got.RejectedOther != want.RejectedOther || got.Unavailable != want.Unavailable || got.SampleTime == nil ||
		got.StartTime == nil || got.SampleTime.AsTime().Before(got.StartTime.AsTime()) {
		t.Fatalf("traffic %v, want %v with sample and start times", got, want)
	}
}
