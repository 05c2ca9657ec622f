package e2e

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hookgate/hookgate/testkit/poll"
)

// nodeReceiver is signers/receiver.mjs running: an endpoint that verifies
// with the standardwebhooks npm package.
type nodeReceiver struct {
	url         string
	secretsFile string

	mu  sync.Mutex
	got []nodeRequest
}

type nodeRequest struct {
	Path     string `json:"path"`
	ID       string `json:"id"`
	Verified bool   `json:"verified"`
}

func startNodeReceiver(t *testing.T) *nodeReceiver {
	t.Helper()
	dir := signersDir(t)
	n := &nodeReceiver{secretsFile: filepath.Join(t.TempDir(), "secrets.json")}
	cmd := exec.Command("node", filepath.Join(dir, "receiver.mjs"))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "RECEIVER_SECRETS_FILE="+n.secretsFile)
	var stderr syncBuffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("node receiver.mjs: %v", err)
	}
	done := make(chan struct{})
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("receiver.mjs stderr:\n%s", stderr.String())
		}
	})
	ports := make(chan int, 1)
	go func() {
		defer close(done)
		defer func() { _ = cmd.Wait() }()
		sc := bufio.NewScanner(out)
		first := true
		for sc.Scan() {
			if first {
				first = false
				var p struct{ Port int }
				_ = json.Unmarshal(sc.Bytes(), &p)
				ports <- p.Port
				continue
			}
			var r nodeRequest
			if json.Unmarshal(sc.Bytes(), &r) == nil {
				n.mu.Lock()
				n.got = append(n.got, r)
				n.mu.Unlock()
			}
		}
	}()
	select {
	case p := <-ports:
		if p == 0 {
			t.Fatalf("receiver.mjs printed no port; stderr:\n%s", stderr.String())
		}
		n.url = "http://127.0.0.1:" + strconv.Itoa(p)
	case <-done:
		t.Fatalf("receiver.mjs exited; stderr:\n%s", stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatal("receiver.mjs printed no port within 30s")
	}
	return n
}

// setSecrets tells the receiver the secret of each path.
func (n *nodeReceiver) setSecrets(t *testing.T, secrets map[string]string) {
	t.Helper()
	b, err := json.Marshal(secrets)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(n.secretsFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func (n *nodeReceiver) requests() []nodeRequest {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]nodeRequest(nil), n.got...)
}

// TestNodeStandardWebhooksReceiverAccepts: a Node receiver that verifies
// with the standardwebhooks npm package, unchanged, answers 200 to
// Hookgate's delivery, which ends succeeded; the same receiver given
// another secret for a second endpoint answers 401 (the check can fail).
func TestNodeStandardWebhooksReceiverAccepts(t *testing.T) {
	t.Parallel()
	recv := startNodeReceiver(t)
	f := startOutboundFleet(t)
	f.startDispatcher(t, "dispatcher-1")
	app := outboundSetup(t, f.dir, f.env)
	good, goodSecret, _ := createEndpoint(t, f.dir, f.env, app, recv.url+"/good")
	bad, _, rev := createEndpoint(t, f.dir, f.env, app, recv.url+"/bad")
	// /bad verifies with the good endpoint's secret: not the one it is signed with.
	recv.setSecrets(t, map[string]string{"/good": goodSecret, "/bad": goodSecret})
	waitDispatchers(t, f.dir, f.env, 1, rev)
	kv := deliveriesKV(t, f.js)

	msg := newMessageID(t)
	publishOutbound(t, f.js, "acme", app, "order.created", msg, `{"orderId":"ORD-1","note":"caf\u00e9 é"}`)
	if d := waitDelivery(t, kv, "acme", msg, good, "succeeded"); d.Attempts != 1 {
		t.Errorf("delivery to the Node receiver: %+v, want succeeded on the 1st attempt", d)
	}
	var got *attemptsJSON
	poll.Until(t, 30*time.Second, "an attempt to the endpoint with the other secret", func() bool {
		got = listAttempts(t, f.dir, f.env, bad)
		return len(got.Attempts) > 0
	})
	if a := got.Attempts[len(got.Attempts)-1]; a.ResponseStatusCode != 401 || a.MessageId != msg {
		t.Errorf("first attempt to the endpoint with the other secret: status %d message %s, want 401 for %s", a.ResponseStatusCode, a.MessageId, msg)
	}
	if d, _ := readDelivery(t, kv, "acme", msg, bad); d.State == "succeeded" {
		t.Errorf("the delivery whose signature the receiver rejects succeeded: %+v", d)
	}
	verified := false
	for _, r := range recv.requests() {
		if r.Path == "/good" && r.ID == msg {
			verified = verified || r.Verified
		}
		if r.Path == "/bad" && r.Verified {
			t.Errorf("the receiver verified a request signed with another secret")
		}
	}
	if !verified {
		t.Errorf("the Node receiver logged no verified request for %s: %+v", msg, recv.requests())
	}
}
