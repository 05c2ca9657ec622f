package e2e

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/testkit/poll"
	"github.com/nats-io/nats.go/jetstream"
)

// TestDevCluster runs `hookgate dev --cluster 3`: three etcd members and
// three NATS nodes in one process, every stream and bucket replicated
// three times with both followers current, a webhook received and a
// message delivered through it, and a restart on the same data folder
// that rejoins the same members.
func TestDevCluster(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	d := startDev(t, dir, "--cluster", "3", "--retry-time-scale", "0.001")
	if n := len(strings.Split(d.etcd, ",")); n != 3 {
		t.Fatalf("dev printed %d etcd URLs (%s), want 3", n, d.etcd)
	}
	if n := len(strings.Split(d.nats, ",")); n != 3 {
		t.Fatalf("dev printed %d NATS URLs (%s), want 3", n, d.nats)
	}
	if !strings.Contains(d.stdout.String(), "streams R3") {
		t.Fatalf("dev did not say its streams are R3:\n%s", d.stdout)
	}
	env := []string{"HOOKGATE_SERVER=" + d.admin, "HOOKGATE_EDGE=" + d.edge}
	mustRun(t, dir, env, "tenants", "create", "acme", "--allow-http-endpoints")

	// Inbound: a webhook accepted by the edge is in the replicated stream.
	out := mustRun(t, dir, env, "webhooks", "create", "--tenant", "acme", "--name", "plain", "--process", "orders")
	url := urlLine.FindStringSubmatch(out)
	if url == nil {
		t.Fatalf("webhooks create printed %q", out)
	}
	poll.Until(t, 30*time.Second, "the edge to accept the new webhook", func() bool {
		resp, err := http.Post(url[1], "application/json", strings.NewReader(`{"hello":"cluster"}`))
		if err != nil {
			t.Fatalf("POST: %v", err)
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusAccepted || resp.StatusCode == http.StatusOK
	})

	// Outbound: a message sent through the edge reaches the receiver.
	var app hookgatev1.CreateApplicationResponse
	protoOut(t, dir, env, &app, "apps", "create", "--tenant", "acme", "--name", "Shop")
	mustRun(t, dir, env, "event-types", "create", "order.created", "--tenant", "acme")
	r := newReceiver(t)
	out = mustRun(t, dir, env, "endpoints", "create", "--tenant", "acme", "--app", app.GetApplication().GetId(),
		"--url", r.URL+"/hooks", "--event-types", "order.created")
	if sec := whsecLine.FindStringSubmatch(out); sec != nil {
		r.setSecret(sec[1])
	}
	poll.Until(t, 30*time.Second, "the edge to accept a message", func() bool {
		_, errOut, err := run(t, dir, env, "messages", "send", "--tenant", "acme", "--app", app.GetApplication().GetId(),
			"--event-type", "order.created", "--payload", `{"orderId":"ORD-1"}`, "--idempotency-key", "order-1")
		if err != nil && !strings.Contains(errOut, "not_found") {
			t.Fatalf("messages send: %v\n%s", err, errOut)
		}
		return err == nil
	})
	poll.Until(t, 30*time.Second, "the receiver to get the message", func() bool { return len(r.requests()) >= 1 })

	// Every stream and bucket is R3 with both followers current.
	nc := d.natsConn(t)
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"HOOKGATE_INBOUND", "HOOKGATE_OUTBOUND", "HOOKGATE_FAILED", "HOOKGATE_DELIVER", "HOOKGATE_ATTEMPTS",
		"KV_HOOKGATE_DELIVERIES", "KV_HOOKGATE_HEALTH", "KV_HOOKGATE_LIMITS"}
	for _, name := range names {
		poll.Until(t, 30*time.Second, name+" to have three current replicas", func() bool {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			s, err := js.Stream(ctx, name)
			if errors.Is(err, jetstream.ErrStreamNotFound) {
				t.Fatalf("stream %s missing", name)
			}
			if err != nil {
				return false
			}
			info := s.CachedInfo()
			if info.Config.Replicas != 3 {
				t.Fatalf("stream %s has %d replicas, want 3", name, info.Config.Replicas)
			}
			if info.Cluster == nil || info.Cluster.Leader == "" || len(info.Cluster.Replicas) != 2 {
				return false
			}
			for _, p := range info.Cluster.Replicas {
				if !p.Current {
					return false
				}
			}
			return true
		})
	}
	nc.Close()
	if err := d.stop(t); err != nil {
		t.Fatalf("hookgate dev --cluster 3 exit after SIGTERM: %v\n%s", err, d.stderr)
	}

	// A restart on the same folder rejoins the same members and keeps the
	// registrations.
	d2 := startDev(t, dir, "--cluster", "3")
	if d2.etcd != d.etcd {
		t.Fatalf("restart moved etcd from %s to %s", d.etcd, d2.etcd)
	}
	out = mustRun(t, dir, []string{"HOOKGATE_SERVER=" + d2.admin}, "webhooks", "list", "--tenant", "acme")
	if !strings.Contains(out, "plain") {
		t.Fatalf("after restart webhooks list lacks the webhook:\n%s", out)
	}
	if err := d2.stop(t); err != nil {
		t.Fatalf("second exit: %v", err)
	}
	// A folder holding a cluster of three refuses another size.
	p := start(t, dir, nil, "dev", "--cluster", "5", "--admin-addr", "127.0.0.1:0", "--edge-addr", "127.0.0.1:0", "--ops-addr", "127.0.0.1:0")
	if err := p.wait(t, 30*time.Second); err == nil || !strings.Contains(p.stderr.String(), "cluster of 3, not 5") {
		t.Fatalf("dev --cluster 5 on a folder of 3: %v\n%s", err, p.stderr)
	}
}
