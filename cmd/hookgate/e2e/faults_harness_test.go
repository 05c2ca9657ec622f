package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/gen/hookgate/v1/hookgatev1connect"
	"github.com/hookgate/hookgate/testkit/poll"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"
	"google.golang.org/protobuf/types/known/structpb"
)

// The fault suite (TestFault*) runs every part as its own process from
// the built binary — etcd members and NATS nodes through `hookgate
// devnode` — puts load on it, kills or cuts parts, and checks that every
// request answered 2xx is stored exactly once after dedup and that every
// acknowledged message reaches its receiver. `make test` runs it short;
// `make test-faults` (HOOKGATE_FAULTS=full) runs each load phase longer.

// faultPhase is how long load runs at least between two faults: in the
// short form only until the next acknowledgements prove the system
// serves.
func faultPhase() time.Duration {
	if os.Getenv("HOOKGATE_FAULTS") == "full" {
		return 10 * time.Second
	}
	return 0
}

// node is one process of the system, restartable with the same arguments
// (its ports are fixed, so a restart takes the same addresses).
type node struct {
	t    *testing.T
	name string
	dir  string
	env  []string
	args []string
	p    *proc
}

func (n *node) start() { n.p = start(n.t, n.dir, n.env, n.args...) }

// kill sends SIGKILL and waits for the process to be gone.
func (n *node) kill() {
	_ = n.p.cmd.Process.Signal(syscall.SIGKILL)
	<-n.p.done
}

// waitReady polls url until it answers 200, failing if the process exits.
func (n *node) waitReady(url string) {
	n.t.Helper()
	poll.Until(n.t, 90*time.Second, n.name+" ready", func() bool {
		select {
		case <-n.p.done:
			n.t.Fatalf("%s exited: %v\n%s", n.name, n.p.err, n.p.stderr)
		default:
		}
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// waitPrinted polls until the process printed "ready".
func (n *node) waitPrinted() {
	n.t.Helper()
	poll.Until(n.t, 90*time.Second, n.name+" to print ready", func() bool {
		select {
		case <-n.p.done:
			n.t.Fatalf("%s exited: %v\n%s", n.name, n.p.err, n.p.stderr)
		default:
		}
		return strings.Contains(n.p.stdout.String(), "\nready\n")
	})
}

// freeAddrs returns n loopback addresses that were free a moment ago.
func freeAddrs(t *testing.T, n int) []string {
	t.Helper()
	out := make([]string, n)
	lns := make([]net.Listener, n)
	for i := range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns[i], out[i] = ln, ln.Addr().String()
	}
	for _, ln := range lns {
		ln.Close()
	}
	return out
}

type faultOpts struct {
	etcd, nats, cps, edges, dispatchers int
	// edgeNATS, when set, is the NATS address edges use instead of the
	// nodes' (a proxy the test controls).
	edgeNATS func(natsAddrs []string) string
}

// faultSystem is the running system.
type faultSystem struct {
	t          *testing.T
	dir        string
	etcd, nats []*node
	cps        []*node
	edges      []*node
	dispatch   []*node
	natsAddrs  []string
	cpURLs     []string
	edgeURLs   []string
	seed       string
	env        []string // CLI: the first control plane and the platform token
	token      string
	js         jetstream.JetStream
	replicas   int
}

func startFaultSystem(t *testing.T, o faultOpts) *faultSystem {
	t.Helper()
	dir := t.TempDir()
	s := &faultSystem{t: t, dir: dir, replicas: min(o.nats, 3)}

	etcdClient, etcdPeer := freeAddrs(t, o.etcd), freeAddrs(t, o.etcd)
	initial := ""
	for i := range o.etcd {
		initial += fmt.Sprintf(",etcd%d=http://%s", i+1, etcdPeer[i])
	}
	for i := range o.etcd {
		n := &node{t: t, name: fmt.Sprintf("etcd%d", i+1), dir: dir, args: []string{"devnode", "etcd",
			"--name", fmt.Sprintf("etcd%d", i+1), "--data-dir", filepath.Join(dir, fmt.Sprintf("etcd%d", i+1)),
			"--client-addr", etcdClient[i], "--peer-addr", etcdPeer[i], "--initial-cluster", initial[1:]}}
		n.start()
		s.etcd = append(s.etcd, n)
	}
	for _, n := range s.etcd {
		n.waitPrinted()
	}

	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := kp.Seed()
	pub, _ := kp.PublicKey()
	s.seed = filepath.Join(dir, "nats-user.nk")
	routePw := filepath.Join(dir, "route-password")
	if err := os.WriteFile(s.seed, seed, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(routePw, []byte("route-secret-"+pub[:12]), 0o600); err != nil {
		t.Fatal(err)
	}
	s.natsAddrs = freeAddrs(t, o.nats)
	routes := freeAddrs(t, o.nats)
	for i := range o.nats {
		args := []string{"devnode", "nats", "--name", fmt.Sprintf("nats%d", i+1), "--data-dir", filepath.Join(dir, fmt.Sprintf("nats%d", i+1)),
			"--addr", s.natsAddrs[i], "--nkey-user", pub}
		if o.nats > 1 {
			var others []string
			for j, r := range routes {
				if j != i {
					others = append(others, r)
				}
			}
			args = append(args, "--cluster-addr", routes[i], "--routes", strings.Join(others, ","), "--route-password-file", routePw)
		}
		n := &node{t: t, name: fmt.Sprintf("nats%d", i+1), dir: dir, args: args}
		n.start()
		s.nats = append(s.nats, n)
	}
	for _, n := range s.nats {
		n.waitPrinted()
	}
	natsURL := s.natsURL()
	opt, err := nats.NkeyOptionFromSeed(s.seed)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(natsURL, opt, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	if s.js, err = jetstream.New(nc); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 60*time.Second, "JetStream to answer", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, err := s.js.AccountInfo(ctx)
		return err == nil
	})

	keyring := filepath.Join(dir, "keyring.json")
	if err := os.WriteFile(keyring, []byte(`{"primary":"k1","keys":{"k1":"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(dir, "token")
	etcdEndpoints := "http://" + strings.Join(etcdClient, ",http://")
	cpAddrs := freeAddrs(t, o.cps)
	for i := range o.cps {
		n := &node{t: t, name: fmt.Sprintf("cp%d", i+1), dir: dir,
			env: []string{"HOOKGATE_EDGE_TOKEN=hgn_edge-secret", "HOOKGATE_DISPATCHER_TOKEN=hgn_dispatcher-secret"},
			args: []string{"controlplane", "--etcd-endpoints", etcdEndpoints, "--nats-url", natsURL, "--nats-nkey", s.seed,
				"--listen-addr", cpAddrs[i], "--keyring-file", keyring, "--bootstrap-token-file", tokenFile,
				"--public-url", "http://edge.example", "--replica-id", fmt.Sprintf("cp%d", i+1), "--log-format", "json"}}
		n.start()
		n.waitReady("http://" + cpAddrs[i] + "/readyz")
		s.cps = append(s.cps, n)
		s.cpURLs = append(s.cpURLs, "http://"+cpAddrs[i])
	}
	tok, err := os.ReadFile(tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	s.token = strings.TrimSpace(string(tok))
	s.env = []string{"HOOKGATE_SERVER=" + s.cpURLs[0], "HOOKGATE_TOKEN=" + s.token}
	mustRun(t, dir, s.env, "tenants", "create", "acme", "--allow-http-endpoints")

	edgeNATS := natsURL
	if o.edgeNATS != nil {
		edgeNATS = o.edgeNATS(s.natsAddrs)
	}
	edgeAddrs, edgeOps := freeAddrs(t, o.edges), freeAddrs(t, o.edges)
	for i := range o.edges {
		n := &node{t: t, name: fmt.Sprintf("edge%d", i+1), dir: dir, env: []string{"HOOKGATE_NODE_TOKEN=hgn_edge-secret"},
			args: []string{"edge", "--control-plane", strings.Join(s.cpURLs, ","), "--nats-url", edgeNATS, "--nats-nkey", s.seed,
				"--listen-addr", edgeAddrs[i], "--ops-addr", edgeOps[i], "--node-id", fmt.Sprintf("edge%d", i+1),
				"--stream-replicas", fmt.Sprint(s.replicas), "--publish-timeout", "2s", "--log-format", "json"}}
		n.start()
		n.waitReady("http://" + edgeAddrs[i] + "/readyz")
		s.edges = append(s.edges, n)
		s.edgeURLs = append(s.edgeURLs, "http://"+edgeAddrs[i])
	}
	dispOps := freeAddrs(t, o.dispatchers)
	for i := range o.dispatchers {
		n := &node{t: t, name: fmt.Sprintf("dispatcher%d", i+1), dir: dir, env: []string{"HOOKGATE_NODE_TOKEN=hgn_dispatcher-secret"},
			args: []string{"dispatcher", "--control-plane", strings.Join(s.cpURLs, ","), "--nats-url", natsURL, "--nats-nkey", s.seed,
				"--ops-addr", dispOps[i], "--node-id", fmt.Sprintf("dispatcher%d", i+1), "--allow-private-cidrs", "127.0.0.1/32",
				"--retry-time-scale", "0.001", "--ack-wait", "2s", "--stream-replicas", fmt.Sprint(s.replicas), "--log-format", "json"}}
		n.start()
		n.waitReady("http://" + dispOps[i] + "/readyz")
		s.dispatch = append(s.dispatch, n)
	}
	return s
}

func (s *faultSystem) natsURL() string { return "nats://" + strings.Join(s.natsAddrs, ",nats://") }

// inboundWebhook creates tenant acme and a GENERIC webhook, and returns
// its path and key once every edge accepts it.
func (s *faultSystem) inboundWebhook() (path, key string) {
	t := s.t
	t.Helper()
	out := mustRun(t, s.dir, s.env, "webhooks", "create", "--tenant", "acme", "--name", "load", "--process", "orders")
	id, k := idLine.FindStringSubmatch(out), keyLine.FindStringSubmatch(out)
	if id == nil || k == nil {
		t.Fatalf("webhooks create printed %q", out)
	}
	path, key = "/in/acme/"+id[1], k[1]
	for _, e := range s.edgeURLs {
		eventually(t, e+path+"?key="+key, 200)
	}
	return path, key
}

// outboundEndpoint creates an application, the type order.created and an
// endpoint at url, and waits until every dispatcher and edge holds them.
func (s *faultSystem) outboundEndpoint(url string) (appID, endpointID string) {
	t := s.t
	t.Helper()
	var app hookgatev1.CreateApplicationResponse
	protoOut(t, s.dir, s.env, &app, "apps", "create", "--tenant", "acme", "--name", "Shop")
	appID = app.GetApplication().GetId()
	mustRun(t, s.dir, s.env, "event-types", "create", "order.created", "--tenant", "acme")
	endpointID, _, rev := createEndpoint(t, s.dir, s.env, appID, url)
	waitDispatchers(t, s.dir, s.env, len(s.dispatch), rev)
	return appID, endpointID
}

// tally counts what a load generator sent and what was acknowledged.
type tally struct {
	mu       sync.Mutex
	sent     int
	acked    map[string]bool
	statuses map[string]int // "200", "503", "conn error", …
}

func newTally() *tally { return &tally{acked: map[string]bool{}, statuses: map[string]int{}} }

func (l *tally) note(id, outcome string, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sent++
	l.statuses[outcome]++
	if ok {
		l.acked[id] = true
	}
}

// load runs send from workers goroutines until stop is closed, each call
// with a fresh id; it returns when every worker has stopped.
// Each worker sends at most every 2 ms, so the load leaves the two cores
// room for the system it loads (and for the tests beside it).
func load(workers int, stop <-chan struct{}, send func(worker int, id string)) (wait func()) {
	var wg sync.WaitGroup
	var seq atomic.Int64
	for w := range workers {
		wg.Go(func() {
			pace := time.NewTicker(2 * time.Millisecond)
			defer pace.Stop()
			for {
				select {
				case <-stop:
					return
				case <-pace.C:
				}
				send(w, fmt.Sprintf("L%06d", seq.Add(1)))
			}
		})
	}
	return wg.Wait
}

// postInbound posts {"load":id} to edge w%len(edges) and notes the answer.
func (s *faultSystem) postInbound(l *tally, client *http.Client, path, key string, w int, id string) {
	url := s.edgeURLs[w%len(s.edgeURLs)] + path + "?key=" + key
	resp, err := client.Post(url, "application/json", strings.NewReader(`{"load":"`+id+`"}`))
	if err != nil {
		l.note(id, "conn error", false)
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	l.note(id, fmt.Sprint(resp.StatusCode), resp.StatusCode/100 == 2)
}

// sendOutbound sends a message with event id = id through edge w.
func (s *faultSystem) sendOutbound(l *tally, clients []hookgatev1connect.MessageServiceClient, appID string, w int, id string) {
	payload, _ := structpb.NewValue(map[string]any{"load": id})
	req := connect.NewRequest(&hookgatev1.SendMessageRequest{Message: &hookgatev1.Message{
		Tenant: "acme", ApplicationId: appID, EventType: "order.created", EventId: id, Payload: payload}})
	req.Header().Set("Authorization", "Bearer "+s.token)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := clients[w%len(clients)].SendMessage(ctx, req)
	if err != nil {
		l.note(id, connect.CodeOf(err).String(), false)
		return
	}
	l.note(id, "ok", true)
}

func (s *faultSystem) messageClients() []hookgatev1connect.MessageServiceClient {
	var out []hookgatev1connect.MessageServiceClient
	for _, e := range s.edgeURLs {
		out = append(out, hookgatev1connect.NewMessageServiceClient(&http.Client{Timeout: 10 * time.Second}, e))
	}
	return out
}

// storedInbound reads every event in HOOKGATE_INBOUND and counts each
// load id.
func (s *faultSystem) storedInbound() map[string]int {
	t := s.t
	t.Helper()
	found := map[string]int{}
	var last error
	poll.Until(t, 60*time.Second, "HOOKGATE_INBOUND to be read", func() bool {
		found, last = readLoadIDs(s.js, "HOOKGATE_INBOUND", func(data []byte) string {
			var env struct {
				WebhookMessage struct {
					Payload struct {
						Load string `json:"load"`
					} `json:"payload"`
				} `json:"webhookMessage"`
			}
			_ = json.Unmarshal(data, &env)
			return env.WebhookMessage.Payload.Load
		})
		if last != nil {
			t.Logf("reading HOOKGATE_INBOUND: %v", last)
		}
		return last == nil
	})
	return found
}

// readLoadIDs reads the whole stream with an ordered consumer.
func readLoadIDs(js jetstream.JetStream, stream string, idOf func([]byte) string) (map[string]int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, stream)
	if err != nil {
		return nil, err
	}
	total := st.CachedInfo().State.Msgs
	c, err := js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return nil, err
	}
	found := map[string]int{}
	for n := uint64(0); n < total; {
		batch, err := c.Fetch(500, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			return nil, err
		}
		got := 0
		for m := range batch.Messages() {
			got++
			n++
			if id := idOf(m.Data()); id != "" {
				found[id]++
			}
		}
		if err := batch.Error(); err != nil {
			return nil, err
		}
		if got == 0 {
			return nil, fmt.Errorf("stream %s: read %d of %d messages", stream, n, total)
		}
	}
	return found, nil
}

// verdict compares what was acknowledged with what was found (counts per
// id), logs the scenario's line and fails the test on any loss.
func verdict(t *testing.T, scenario string, l *tally, found map[string]int) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	lost, dup, present := 0, 0, 0
	for id := range l.acked {
		switch n := found[id]; {
		case n == 0:
			lost++
			if lost <= 5 {
				t.Errorf("%s: %s was acknowledged but is missing", scenario, id)
			}
		case n > 1:
			dup += n - 1
			present++
		default:
			present++
		}
	}
	line := fmt.Sprintf("fault %-28s sent %6d  acknowledged %6d  found %6d  duplicated %4d  lost %d  answers %v",
		scenario, l.sent, len(l.acked), present, dup, lost, l.statuses)
	t.Log(line)
	faultSummary.add(line)
	if len(l.acked) == 0 {
		t.Errorf("%s: nothing was acknowledged; the scenario proved nothing", scenario)
	}
}

// TestMain prints the fault scenarios' lines and a summary after the run
// (shown with go test -v, as make test-faults runs it).
func TestMain(m *testing.M) {
	code := m.Run()
	faultSummary.print()
	os.Exit(code)
}

func (s *summaryLines) print() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.lines) == 0 {
		return
	}
	lost := 0
	for _, l := range s.lines {
		fmt.Println(l)
		var n int
		if i := strings.LastIndex(l, "lost "); i >= 0 {
			_, _ = fmt.Sscanf(l[i:], "lost %d", &n)
		}
		lost += n
	}
	fmt.Printf("fault summary: %d scenarios, %d lost\n", len(s.lines), lost)
}

// faultSummary collects the scenario lines; TestMain prints them.
var faultSummary summaryLines

type summaryLines struct {
	mu    sync.Mutex
	lines []string
}

func (s *summaryLines) add(l string) {
	s.mu.Lock()
	s.lines = append(s.lines, l)
	s.mu.Unlock()
}

// loadReceiver is an endpoint that counts each load id it received and
// can be switched to answer 503.
type loadReceiver struct {
	URL  string
	mu   sync.Mutex
	got  map[string]int
	down atomic.Bool
	// delay makes every answer take this long (a slow receiver);
	// inFlight counts requests being answered.
	delay    time.Duration
	inFlight atomic.Int64
}

func newLoadReceiver(t *testing.T) *loadReceiver {
	r := &loadReceiver{got: map[string]int{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.inFlight.Add(1)
		defer r.inFlight.Add(-1)
		if r.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		if r.delay > 0 {
			// The receiver is slow by design; nothing waits on it.
			select {
			case <-time.After(r.delay):
			case <-req.Context().Done():
				return
			}
		}
		var body struct {
			Load string `json:"load"`
		}
		_ = json.NewDecoder(req.Body).Decode(&body)
		r.mu.Lock()
		r.got[body.Load]++
		r.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	r.URL = "http://" + ln.Addr().String()
	return r
}

func (r *loadReceiver) counts() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int, len(r.got))
	for k, v := range r.got {
		out[k] = v
	}
	return out
}

// waitDelivered polls until every acknowledged id reached r, or gives up
// after within and returns what arrived (verdict reports the rest).
func (r *loadReceiver) waitDelivered(t *testing.T, l *tally, within time.Duration) map[string]int {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		got := r.counts()
		l.mu.Lock()
		missing := 0
		for id := range l.acked {
			if got[id] == 0 {
				missing++
			}
		}
		l.mu.Unlock()
		if missing == 0 || time.Now().After(deadline) {
			return got
		}
		// Deliveries arrive asynchronously; wait for the next one.
		r.waitChange(len(got), deadline)
	}
}

// waitChange returns when r has received more distinct ids than n, or at
// deadline.
func (r *loadReceiver) waitChange(n int, deadline time.Time) {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for range t.C {
		r.mu.Lock()
		m := len(r.got)
		r.mu.Unlock()
		if m > n || time.Now().After(deadline) {
			return
		}
	}
}

// proxy is a TCP proxy the test can cut (a network partition) and heal.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	cut    bool
	conns  map[net.Conn]bool
}

func newProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	t.Cleanup(func() { ln.Close(); p.setCut(true) })
	go p.serve()
	return p
}

func (p *proxy) Addr() string { return p.ln.Addr().String() }

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns[c], p.conns[up] = true, true
		p.mu.Unlock()
		go p.pipe(c, up)
		go p.pipe(up, c)
	}
}

func (p *proxy) pipe(dst, src net.Conn) {
	_, _ = io.Copy(dst, src)
	dst.Close()
	src.Close()
	p.mu.Lock()
	delete(p.conns, dst)
	delete(p.conns, src)
	p.mu.Unlock()
}

// setCut drops every connection and refuses new ones (true), or lets
// them through again (false).
func (p *proxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for c := range p.conns {
			c.Close()
		}
	}
}
