// Command ingress measures the edge against ceilings taken in the same run
// on the same machine: (a) a bare net/http handler that reads the body and
// answers 200, (b) raw JetStream publish with ack, (c) the edge with GENERIC
// key auth publishing to JetStream (file storage, R1). It prints a Markdown
// table with the ratio (c)/(a); `make bench` runs it.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookgate/hookgate/dataplane/ingress"
	"github.com/hookgate/hookgate/dataplane/streams"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

const key = "hgk_bench-key-0123456789abcdefghijklmnopqrstuvwxyz0"

func main() {
	var (
		conns    = flag.Int("conns", 64, "concurrent connections (closed loop)")
		duration = flag.Duration("duration", 5*time.Second, "length of each measured run")
		profile  = flag.String("cpuprofile", "", "write a CPU profile of the edge runs here")
	)
	flag.Parse()
	if err := run(*conns, *duration, *profile); err != nil {
		log.Fatalf("bench: %v", err)
	}
}

type result struct {
	name     string
	body     int
	rps      float64
	p50, p99 time.Duration
	errors   int64
}

func run(conns int, d time.Duration, profile string) error {
	dir, err := os.MkdirTemp("", "hookgate-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, JetStream: true,
		StoreDir: dir, NoLog: true, NoSigs: true, MaxPayload: 8 << 20})
	if err != nil {
		return err
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		return fmt.Errorf("nats not ready")
	}
	defer ns.Shutdown()
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(16384))
	if err != nil {
		return err
	}
	ctx := context.Background()
	cfg := streams.DefaultConfig()
	for _, sc := range []jetstream.StreamConfig{cfg.InboundConfig(), cfg.FailedConfig()} {
		if _, err := streams.Ensure(ctx, js, sc); err != nil {
			return err
		}
	}

	bare := startServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
	}))
	defer bare.Close()
	edge, err := newEdge(js, nc)
	if err != nil {
		return err
	}
	edgeSrv := startServer(edge)
	defer edgeSrv.Close()

	var results []result
	for _, size := range []int{1 << 10, 64 << 10} {
		body := jsonBody(size)
		results = append(results, load(fmt.Sprintf("(a) bare net/http, %d conns", conns), size, conns, d, 0, httpTarget(bare.URL+"/", body)))
		results = append(results, load(fmt.Sprintf("(b) raw JetStream publish+ack, %d publishers", conns), size, conns, d, 0, publishTarget(js, body)))
		stop := startProfile(profile, size)
		c := load(fmt.Sprintf("(c) edge, GENERIC key, %d conns", conns), size, conns, d, 0, httpTarget(edgeSrv.URL+"/in/acme/wh_bench?key="+key, body))
		stop()
		results = append(results, c)
		half := c.rps / 2
		results = append(results, load(fmt.Sprintf("(c) edge at half its max (%.0f req/s)", half), size, conns, d, half, httpTarget(edgeSrv.URL+"/in/acme/wh_bench?key="+key, body)))
	}
	printTable(results)
	return nil
}

func startProfile(path string, size int) func() {
	if path == "" || size != 1<<10 {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		log.Printf("profile: %v", err)
		return func() {}
	}
	_ = pprof.StartCPUProfile(f)
	return func() { pprof.StopCPUProfile(); f.Close() }
}

type routes struct{ w *hookgatev1.EdgeWebhook }

func (r routes) Webhook(tenant, id string) (*hookgatev1.EdgeWebhook, int64, bool) {
	if tenant == r.w.Tenant && id == r.w.Id {
		return r.w, 1, true
	}
	return nil, 1, true
}

func newEdge(js jetstream.JetStream, nc *nats.Conn) (*ingress.Edge, error) {
	d := sha256.Sum256([]byte(key))
	w := &hookgatev1.EdgeWebhook{Tenant: "acme", Id: "wh_bench", Active: true, Provider: hookgatev1.Provider_PROVIDER_GENERIC,
		Keys:         []*hookgatev1.KeyDigest{{Sha256: d[:]}},
		Bindings:     []*hookgatev1.Binding{{ProcessId: "orders", ThreadId: "main", Trigger: hookgatev1.Trigger_TRIGGER_START_PROCESS}},
		MaxBodyBytes: 1 << 20}
	return ingress.New(ingress.DefaultConfig(), ingress.Deps{Routes: routes{w}, JetStream: js, Conn: nc,
		Log: slog.New(slog.DiscardHandler), Metrics: prometheus.NewRegistry()})
}

type benchServer struct {
	URL string
	srv *http.Server
}

func (s *benchServer) Close() { _ = s.srv.Close() }

func startServer(h http.Handler) *benchServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return &benchServer{URL: "http://" + ln.Addr().String(), srv: srv}
}

// jsonBody is a JSON object of about size bytes.
func jsonBody(size int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"type":"order.created","data":"`)
	for b.Len() < size-2 {
		b.WriteByte('x')
	}
	b.WriteString(`"}`)
	return b.Bytes()
}

type target func(client *http.Client) error

func httpTarget(url string, body []byte) target {
	return func(client *http.Client) error {
		resp, err := client.Post(url, "application/json", bytes.NewReader(body))
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
}

func publishTarget(js jetstream.JetStream, body []byte) target {
	return func(*http.Client) error {
		_, err := js.Publish(context.Background(), "hookgate.in.acme.raw.start", body)
		return err
	}
}

// load runs conns workers against t for d. With rate 0 each worker sends
// its next request when the last is answered (closed loop, the maximum);
// with a rate, requests are started on a fixed schedule (open loop) and
// latency counts from the scheduled time.
func load(name string, size, conns int, d time.Duration, rate float64, t target) result {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	// Warm up connections and pools.
	warm := time.Now().Add(500 * time.Millisecond)
	var wg sync.WaitGroup
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(warm) {
				_ = t(client)
			}
		}()
	}
	wg.Wait()

	var errs atomic.Int64
	lat := make([][]time.Duration, conns)
	start := time.Now()
	end := start.Add(d)
	var sched chan time.Time
	if rate > 0 {
		sched = make(chan time.Time, conns*4)
		go func() {
			defer close(sched)
			interval := time.Duration(float64(time.Second) / rate)
			for next := start; next.Before(end); next = next.Add(interval) {
				if w := time.Until(next); w > 0 {
					time.Sleep(w)
				}
				sched <- next
			}
		}()
	}
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				var t0 time.Time
				if sched != nil {
					var ok bool
					if t0, ok = <-sched; !ok {
						return
					}
				} else {
					t0 = time.Now()
					if t0.After(end) {
						return
					}
				}
				if err := t(client); err != nil {
					errs.Add(1)
					continue
				}
				lat[i] = append(lat[i], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	r := result{name: name, body: size, errors: errs.Load(), rps: float64(len(all)) / elapsed.Seconds()}
	if len(all) > 0 {
		r.p50 = all[len(all)/2]
		r.p99 = all[len(all)*99/100]
	}
	fmt.Fprintf(os.Stderr, "%-55s %6d B  %8.0f req/s  p50 %v  p99 %v  errors %d\n", name, size, r.rps, r.p50, r.p99, r.errors)
	return r
}

func printTable(rs []result) {
	fmt.Println("| run | body | req/s | p50 | p99 | errors | vs (a) |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|")
	var bare float64
	for _, r := range rs {
		if r.name[:3] == "(a)" {
			bare = r.rps
		}
		fmt.Printf("| %s | %s | %.0f | %s | %s | %d | %.2f |\n", r.name, sizeText(r.body), r.rps, ms(r.p50), ms(r.p99), r.errors, r.rps/bare)
	}
}

func sizeText(n int) string { return fmt.Sprintf("%d KiB", n>>10) }

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }
