package configtest

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/hookgate/hookgate/controlplane/distribute"
	"github.com/hookgate/hookgate/controlplane/secrets"
	"github.com/hookgate/hookgate/controlplane/store"
	"github.com/hookgate/hookgate/dataplane/configsync"
	storagev1 "github.com/hookgate/hookgate/gen/hookgate/storage/v1"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/gen/hookgate/v1/hookgatev1connect"
	"github.com/hookgate/hookgate/testkit/etcdtest"
	"github.com/hookgate/hookgate/testkit/poll"
	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// testLog discards logs unless HOOKGATE_TEST_LOG is set, so that goroutines
// still stopping after a test ends never write to a finished testing.T.
func testLog() *slog.Logger {
	if os.Getenv("HOOKGATE_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// fakeClock is a distribute.Clock that stands still unless advanced.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 3, 23, 15, 30, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// env is one test's etcd and keyring.
type env struct {
	etcd    *etcdtest.Server
	cli     *clientv3.Client
	keyring *secrets.Keyring
	clock   *fakeClock
}

func newEnv(t testing.TB) *env {
	t.Helper()
	srv := etcdtest.Start(t)
	kr, err := secrets.ParseKeyring(secrets.NewKeyringJSON())
	if err != nil {
		t.Fatal(err)
	}
	return &env{etcd: srv, cli: srv.Client(t), keyring: kr, clock: newFakeClock()}
}

// otherCluster is an env on a second etcd cluster with the same keyring,
// as after etcd was wiped and replaced.
func (e *env) otherCluster(t testing.TB) *env {
	t.Helper()
	srv := etcdtest.Start(t)
	return &env{etcd: srv, cli: srv.Client(t), keyring: e.keyring, clock: e.clock}
}

// webhook is a webhook record as the admin API writes it.
type webhook struct {
	tenant, id  string
	inactive    bool
	key         string // the API key; only its digest is stored
	previousKey string
	previousExp time.Time
	secrets     map[string]string
	maxBody     int64
}

func digest(key string) []byte {
	d := sha256.Sum256([]byte(key))
	return d[:]
}

func (e *env) record(w webhook) *storagev1.WebhookRecord {
	provider := hookgatev1.Provider_PROVIDER_GENERIC
	if len(w.secrets) > 0 {
		provider = hookgatev1.Provider_PROVIDER_SLACK
	}
	maxBody := w.maxBody
	if maxBody == 0 {
		maxBody = 1 << 20
	}
	rec := &storagev1.WebhookRecord{
		Webhook: &hookgatev1.Webhook{
			Id:       w.id,
			Tenant:   w.tenant,
			Name:     "name-" + w.id,
			Provider: provider,
			Bindings: []*hookgatev1.Binding{{
				ProcessId: "proc-orders", ThreadId: "main", Trigger: hookgatev1.Trigger_TRIGGER_START_PROCESS,
			}},
			Active:       !w.inactive,
			MaxBodyBytes: maxBody,
			Url:          "http://127.0.0.1:8080/in/" + w.tenant + "/" + w.id,
		},
		Key: &storagev1.APIKey{Sha256: digest(w.key), Prefix: "hgk_abcd"},
	}
	if w.previousKey != "" {
		rec.PreviousKey = &storagev1.APIKey{Sha256: digest(w.previousKey), ExpireTime: timestamppb.New(w.previousExp)}
	}
	if len(w.secrets) > 0 {
		rec.ProviderSecrets = make(map[string]*storagev1.Ciphertext)
		for name, v := range w.secrets {
			s := e.keyring.Seal([]byte(v), store.SecretAAD(w.tenant, w.id, name))
			rec.ProviderSecrets[name] = &storagev1.Ciphertext{KeyId: s.KeyID, Nonce: s.Nonce, Sealed: s.Data}
		}
	}
	return rec
}

// put writes a webhook record and returns the revision of the write.
func (e *env) put(t testing.TB, w webhook) int64 {
	t.Helper()
	val, err := proto.MarshalOptions{Deterministic: true}.Marshal(e.record(w))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := e.cli.Put(context.Background(), store.WebhookKey(w.tenant, w.id), string(val))
	if err != nil {
		t.Fatalf("put webhook %s/%s: %v", w.tenant, w.id, err)
	}
	return resp.Header.Revision
}

func (e *env) del(t testing.TB, tenant, id string) int64 {
	t.Helper()
	resp, err := e.cli.Delete(context.Background(), store.WebhookKey(tenant, id))
	if err != nil {
		t.Fatalf("delete webhook %s/%s: %v", tenant, id, err)
	}
	return resp.Header.Revision
}

// controlPlane is a distribute.Distributor served over HTTP/1.1 and h2c (or
// TLS) on a real listener.
type controlPlane struct {
	d      *distribute.Distributor
	reg    *prometheus.Registry
	addr   string
	url    string
	srv    *http.Server
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

// cpOption adjusts how a control plane is started.
type cpOption func(*cpSetup)

type cpSetup struct {
	addr string
	tls  *tls.Config
	etcd *clientv3.Client
}

// withEtcd gives the control plane its own etcd client, to cut it off.
func withEtcd(c *clientv3.Client) cpOption { return func(s *cpSetup) { s.etcd = c } }

// onAddr reuses the address of a control plane that was stopped.
func onAddr(addr string) cpOption { return func(s *cpSetup) { s.addr = addr } }

func withTLS(c *tls.Config) cpOption { return func(s *cpSetup) { s.tls = c } }

// Node tokens of the control planes tests start, one per role.
const (
	edgeToken       = "edge-token-test"
	dispatcherToken = "dispatcher-token-test"
)

// tokenFor is the test token of a role.
func tokenFor(role hookgatev1.NodeRole) string {
	if role == dispatcher {
		return dispatcherToken
	}
	return edgeToken
}

// startCP starts a control plane. A cfg without node credentials gets the
// per-role test tokens (edgeToken, dispatcherToken).
func (e *env) startCP(t testing.TB, cfg distribute.Config, opts ...cpOption) *controlPlane {
	t.Helper()
	setup := cpSetup{addr: "127.0.0.1:0", etcd: e.cli}
	for _, o := range opts {
		o(&setup)
	}
	if cfg.EdgeToken == "" && cfg.DispatcherToken == "" && cfg.NodeToken == "" && !cfg.RequireClientCert {
		cfg.EdgeToken, cfg.DispatcherToken = edgeToken, dispatcherToken
	}
	if cfg.StatusInterval == 0 {
		cfg.StatusInterval = 20 * time.Millisecond
	}
	if cfg.LeaseTTL == 0 {
		cfg.LeaseTTL = 5 * time.Second
	}
	reg := prometheus.NewRegistry()
	d, err := distribute.New(cfg, setup.etcd, e.keyring, testLog(), reg, e.clock)
	if err != nil {
		t.Fatalf("distribute.New: %v", err)
	}
	mux := http.NewServeMux()
	mux.Handle(hookgatev1connect.NewConfigDiscoveryServiceHandler(d, connect.WithCompressMinBytes(1024)))
	mux.Handle(hookgatev1connect.NewEdgeServiceHandler(d))

	// A restarted control plane takes its predecessor's address, which the
	// kernel may hold for a moment.
	var ln net.Listener
	poll.NoError(t, 5*time.Second, func() error {
		ln, err = net.Listen("tcp", setup.addr)
		return err
	})
	srv := &http.Server{
		Handler:  distribute.WithSendDeadlines(distribute.WithVerifiedClientCert(mux)),
		ErrorLog: slog.NewLogLogger(testLog().Handler(), slog.LevelDebug),
	}
	srv.Protocols = new(http.Protocols)
	srv.Protocols.SetHTTP1(true)
	srv.Protocols.SetHTTP2(true)
	scheme := "http"
	if setup.tls != nil {
		srv.TLSConfig = setup.tls
		ln = tls.NewListener(ln, setup.tls)
		scheme = "https"
	} else {
		srv.Protocols.SetUnencryptedHTTP2(true)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &controlPlane{d: d, reg: reg, addr: ln.Addr().String(), srv: srv, cancel: cancel, done: make(chan error, 1)}
	c.url = scheme + "://" + c.addr
	go func() { c.done <- d.Run(ctx) }()
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { c.stop(t) })
	return c
}

// stop ends Run and closes the server and every connection, as a replica
// that goes away does.
func (c *controlPlane) stop(t testing.TB) {
	c.once.Do(func() {
		c.cancel()
		if err := <-c.done; err != nil {
			t.Errorf("distributor Run: %v", err)
		}
		_ = c.srv.Close()
	})
}

// waitRevision waits until the control plane's view has reached rev.
func (c *controlPlane) waitRevision(t testing.TB, rev int64) {
	t.Helper()
	poll.NoError(t, 10*time.Second, func() error {
		if got := c.d.Revision(); got < rev {
			return fmt.Errorf("view at revision %d, want %d", got, rev)
		}
		return nil
	})
}

func (c *controlPlane) listNodes(t testing.TB, role hookgatev1.NodeRole) []*hookgatev1.Node {
	t.Helper()
	client := hookgatev1connect.NewEdgeServiceClient(h2cClient(), c.url)
	resp, err := client.ListNodes(context.Background(), connect.NewRequest(&hookgatev1.ListNodesRequest{Role: role}))
	if err != nil {
		t.Fatalf("ListNodes: %v", err)
	}
	return resp.Msg.GetNodes()
}

func (c *controlPlane) metric(t testing.TB, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := c.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if got[labels[i]] != labels[i+1] {
					continue next
				}
			}
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return 0
}

// node is an in-process data-plane node: a configsync.Client filling a
// Table, with every update it applied recorded.
type node struct {
	table  *configsync.Table
	client *configsync.Client
	cancel context.CancelFunc
	done   chan error
	once   sync.Once

	mu      sync.Mutex
	updates []configsync.Update
}

// nodeConfig fills what tests leave out: the role's test token and fast
// reconnection.
func nodeConfig(url, id string, role hookgatev1.NodeRole) configsync.Config {
	return configsync.Config{
		ControlPlaneURL: url,
		NodeID:          id,
		Role:            role,
		NodeToken:       tokenFor(role),
		Address:         "127.0.0.1:8080",
		MinBackoff:      10 * time.Millisecond,
		MaxBackoff:      100 * time.Millisecond,
	}
}

func startNode(t testing.TB, cfg configsync.Config) *node {
	t.Helper()
	n := newNode(t, cfg)
	n.run()
	return n
}

// newNode builds a node without running it, so that a test can look at
// what New loaded from the cache.
func newNode(t testing.TB, cfg configsync.Config) *node {
	t.Helper()
	n := &node{table: configsync.NewTable(), done: make(chan error, 1)}
	n.table.OnUpdate(func(u configsync.Update) {
		n.mu.Lock()
		n.updates = append(n.updates, u)
		n.mu.Unlock()
	})
	var err error
	n.client, err = configsync.New(cfg, n.table, testLog(), configsync.SystemClock{})
	if err != nil {
		t.Fatalf("configsync.New: %v", err)
	}
	t.Cleanup(func() { n.stop(t) })
	return n
}

func (n *node) run() {
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	go func() { n.done <- n.client.Run(ctx) }()
}

func (n *node) stop(t testing.TB) {
	n.once.Do(func() {
		if n.cancel == nil {
			return
		}
		n.cancel()
		if err := <-n.done; err != nil {
			t.Errorf("configsync Run: %v", err)
		}
	})
}

// fullUpdates counts the snapshots the node applied.
func (n *node) fullUpdates() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	full := 0
	for _, u := range n.updates {
		if u.Full {
			full++
		}
	}
	return full
}

// waitWebhook waits until the node's table shows the webhook and cond
// holds for it.
func (n *node) waitWebhook(t testing.TB, tenant, id string, cond func(*hookgatev1.EdgeWebhook) error) *hookgatev1.EdgeWebhook {
	t.Helper()
	var w *hookgatev1.EdgeWebhook
	poll.NoError(t, 10*time.Second, func() error {
		var ok bool
		w, ok = n.table.Webhook(tenant, id)
		if !ok {
			return fmt.Errorf("webhook %s/%s not in the table (revision %d)", tenant, id, n.table.Status().Revision)
		}
		if cond != nil {
			return cond(w)
		}
		return nil
	})
	return w
}

func (n *node) waitGone(t testing.TB, tenant, id string) {
	t.Helper()
	poll.NoError(t, 10*time.Second, func() error {
		if _, ok := n.table.Webhook(tenant, id); ok {
			return fmt.Errorf("webhook %s/%s still in the table", tenant, id)
		}
		return nil
	})
}

func (n *node) waitRevision(t testing.TB, rev int64) {
	t.Helper()
	poll.NoError(t, 10*time.Second, func() error {
		if got := n.table.Status().Revision; got < rev {
			return fmt.Errorf("table at revision %d, want %d", got, rev)
		}
		return nil
	})
}

func h2cClient() *http.Client {
	tr := &http.Transport{Protocols: new(http.Protocols)}
	tr.Protocols.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: tr}
}

// h2cClientWindow is an h2c client whose streams buffer at most window
// bytes of a response the caller has not read: beyond that the server's
// writes block.
func h2cClientWindow(window int) *http.Client {
	tr := &http.Transport{Protocols: new(http.Protocols), HTTP2: &http.HTTP2Config{MaxReceiveBufferPerStream: window}}
	tr.Protocols.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: tr}
}

// rawNode drives the config stream by hand, to see exactly what the control
// plane sends.
type rawNode struct {
	stream *connect.BidiStreamForClient[hookgatev1.StreamConfigRequest, hookgatev1.StreamConfigResponse]
	cancel context.CancelFunc
}

func dialRaw(t testing.TB, client *http.Client, url, token string, hello *hookgatev1.ConfigHello, opts ...connect.ClientOption) *rawNode {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	rpc := hookgatev1connect.NewConfigDiscoveryServiceClient(client, url, append([]connect.ClientOption{connect.WithGRPC()}, opts...)...)
	r := &rawNode{stream: rpc.StreamConfig(ctx), cancel: cancel}
	if token != "" {
		r.stream.RequestHeader().Set("Authorization", "Bearer "+token)
	}
	t.Cleanup(r.close)
	if err := r.stream.Send(&hookgatev1.StreamConfigRequest{Kind: &hookgatev1.StreamConfigRequest_Hello{Hello: hello}}); err != nil && !errors.Is(err, io.EOF) {
		t.Fatalf("send hello: %v", err)
	}
	return r
}

func (r *rawNode) close() {
	r.cancel()
	_ = r.stream.CloseRequest()
	_ = r.stream.CloseResponse()
}

// recv returns the next update, failing the test after 10 s.
func (r *rawNode) recv(t testing.TB) *hookgatev1.StreamConfigResponse {
	t.Helper()
	resp, err := r.recvErr(t)
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	return resp
}

func (r *rawNode) recvErr(t testing.TB) (*hookgatev1.StreamConfigResponse, error) {
	t.Helper()
	type result struct {
		resp *hookgatev1.StreamConfigResponse
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		resp, err := r.stream.Receive()
		ch <- result{resp, err}
	}()
	select {
	case res := <-ch:
		return res.resp, res.err
	case <-time.After(10 * time.Second):
		r.cancel()
		t.Fatalf("no update in 10s")
		return nil, nil
	}
}

func (r *rawNode) ack(t testing.TB, rev int64) {
	t.Helper()
	if err := r.stream.Send(&hookgatev1.StreamConfigRequest{Kind: &hookgatev1.StreamConfigRequest_Ack{Ack: &hookgatev1.ConfigAck{Revision: rev}}}); err != nil {
		t.Fatalf("send ack: %v", err)
	}
}

func (r *rawNode) nack(t testing.TB, rev int64, reason string) {
	t.Helper()
	if err := r.stream.Send(&hookgatev1.StreamConfigRequest{Kind: &hookgatev1.StreamConfigRequest_Nack{Nack: &hookgatev1.ConfigNack{Revision: rev, Reason: reason}}}); err != nil {
		t.Fatalf("send nack: %v", err)
	}
}

func hello(id string, role hookgatev1.NodeRole, rev int64) *hookgatev1.ConfigHello {
	return &hookgatev1.ConfigHello{NodeId: id, Role: role, Address: "10.0.0.1:8080", Revision: rev}
}

const (
	edge       = hookgatev1.NodeRole_NODE_ROLE_EDGE
	dispatcher = hookgatev1.NodeRole_NODE_ROLE_DISPATCHER
)

// keysOf lists the resource keys of an update's upserts.
func keysOf(u *hookgatev1.StreamConfigResponse) []string {
	var keys []string
	for _, r := range u.GetUpserts() {
		keys = append(keys, r.GetKey())
	}
	return keys
}
