package ingress_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/dataplane/streams"
)

// rawCall sends one request line as written, with no client cleaning the
// path, and returns the answer.
func rawCall(t *testing.T, addr, method, target string) *http.Response {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	body := `{"a":1}`
	if _, err := io.WriteString(conn, method+" "+target+" HTTP/1.1\r\nHost: edge.test\r\nContent-Type: application/json\r\n"+
		"Content-Length: 7\r\nConnection: close\r\n\r\n"+body); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	_, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp
}

// TestPublicPortNeverRedirects: the public handler matches paths as
// received; unclean paths are 404, never a redirect echoing ?key=.
func TestPublicPortNeverRedirects(t *testing.T) {
	t.Parallel()
	e := newEdgeEnv(t)
	e.hook("wh_raw")
	addr := strings.TrimPrefix(e.url, "http://")
	q := "?key=" + key1
	tests := []struct {
		method, target string
		status         int
	}{
		{"POST", "/in/acme/../acme/wh_raw" + q, 404},
		{"POST", "/in/acme/./wh_raw" + q, 404},
		{"POST", "//in/acme/wh_raw" + q, 404},
		{"POST", "/in//acme/wh_raw" + q, 404},
		{"POST", "/in/acme//wh_raw" + q, 404},
		{"POST", "/in/acme/wh_raw/" + q, 404},
		{"POST", "/in/acme/%2e%2e/acme/wh_raw" + q, 404},
		{"POST", "/in/acme/%2E%2E/acme/wh_raw" + q, 404},
		{"POST", "/in/%61cme/wh_raw" + q, 404},
		{"POST", "/x/../in/acme/wh_raw" + q, 404},
		{"POST", "/in/acme/wh_raw/.." + q, 404},
		{"POST", "/in" + q, 404},
		{"GET", "/", 404},
		{"GET", "/metrics", 404},
		{"GET", "/healthz/", 404},
		{"GET", "//healthz", 404},
		{"POST", "/healthz", 405},
		{"GET", "/healthz", 200},
		{"HEAD", "/readyz", 200},
		{"GET", "/readyz", 200},
		{"POST", "/in/acme/wh_raw" + q, 200}, // the clean path works
	}
	for _, tt := range tests {
		resp := rawCall(t, addr, tt.method, tt.target)
		if resp.StatusCode != tt.status {
			t.Errorf("%s %s: %d, want %d", tt.method, tt.target, resp.StatusCode, tt.status)
		}
		if loc := resp.Header.Get("Location"); loc != "" {
			t.Errorf("%s %s: redirected to %s", tt.method, tt.target, loc)
		}
	}
	if n := len(e.messages(t, streams.Inbound, "hookgate.in.acme.orders.start")); n != 1 {
		t.Fatalf("%d events published, want 1 (the clean path only)", n)
	}
}
