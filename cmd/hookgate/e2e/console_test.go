package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/testkit/poll"
)

// TestConsoleBackEnd drives what the web console needs from a `hookgate
// dev` as a user would: the console's files on the admin port without a
// token, `hookgate events tail` through the admin API showing a POST as it
// arrives, and the edge's traffic in `hookgate nodes`.
func TestConsoleBackEnd(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	d := startDev(t, dir, "--stats-interval", "1s")
	if d.console != d.admin+"/console/" {
		t.Fatalf("dev printed the console at %q, want %s/console/", d.console, d.admin)
	}

	// The console: index.html for the app's own routes, its hashed files
	// cached for good, the security headers, no token needed.
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(d.admin + "/console")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/console/" {
		t.Fatalf("GET /console: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	for _, path := range []string{"/console/", "/console/inbound/webhooks"} {
		resp, err := client.Get(d.admin + path)
		if err != nil {
			t.Fatal(err)
		}
		body := readAll(t, resp)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
			resp.Header.Get("Cache-Control") != "no-cache" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") ||
			resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("GET %s: %d %v", path, resp.StatusCode, resp.Header)
		}
		asset := regexp.MustCompile(`/console/assets/[^"]+\.js`).FindString(body)
		if asset == "" {
			t.Fatalf("GET %s: index.html names no script: %s", path, body)
		}
		resp, err = client.Get(d.admin + asset)
		if err != nil {
			t.Fatal(err)
		}
		readAll(t, resp)
		if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" ||
			!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") {
			t.Fatalf("GET %s: %d %v", asset, resp.StatusCode, resp.Header)
		}
	}
	if code, _ := postRead(t, d.admin+"/console/", `{}`); code != http.StatusMethodNotAllowed {
		t.Fatalf("POST /console/: %d, want 405", code)
	}

	// events tail through the admin API, with the token hookgate dev keeps
	// in the folder.
	env := []string{"HOOKGATE_SERVER=" + d.admin}
	mustRun(t, dir, env, "tenants", "create", "acme")
	out := mustRun(t, dir, env, "webhooks", "create", "--tenant", "acme", "--name", "orders", "--process", "orders")
	url, key := urlLine.FindStringSubmatch(out)[1], keyLine.FindStringSubmatch(out)[1]
	bare := strings.SplitN(url, "?", 2)[0]
	eventually(t, url, 200)
	tail := start(t, dir, env, "events", "tail", "--tenant", "acme", "--process", "orders")
	poll.Until(t, 10*time.Second, "the tail to listen", func() bool {
		select {
		case <-tail.done:
			t.Fatalf("events tail exited: %v\n%s", tail.err, tail.stderr)
		default:
		}
		return strings.Contains(tail.stderr.String(), "tailing tenant acme, process orders")
	})
	code, answer := postRead(t, url, `{"order":"ORD-1"}`)
	if code != 200 {
		t.Fatalf("POST: %d %s", code, answer)
	}
	var posted struct {
		EventID string `json:"eventId"`
	}
	if err := json.Unmarshal([]byte(answer), &posted); err != nil || posted.EventID == "" {
		t.Fatalf("POST answer %s", answer)
	}
	var line string
	poll.Until(t, 10*time.Second, "the event in the tail", func() bool {
		for _, l := range strings.Split(tail.stdout.String(), "\n") {
			if strings.Contains(l, posted.EventID) {
				line = l
				return true
			}
		}
		return false
	})
	for _, want := range []string{"  orders  start  -  application/json  17B  {\"order\":\"ORD-1\"}"} {
		if !strings.Contains(line, want) {
			t.Fatalf("tail line %q, want it to hold %q", line, want)
		}
	}
	if strings.Contains(tail.stdout.String(), key) {
		t.Fatalf("the tail shows the API key:\n%s", tail.stdout)
	}
	if err := tail.stop(t); err != nil {
		t.Fatalf("events tail on SIGTERM: %v\n%s", err, tail.stderr)
	}

	// Traffic in hookgate nodes: the wrong-key calls are counted as
	// rejected for their key, the accepted ones as ok.
	const wrongKey = 3
	for range wrongKey {
		if code := post(t, bare+"?key=hgk_wrong", `{}`); code != 401 {
			t.Fatalf("wrong key: %d", code)
		}
	}
	requests := regexp.MustCompile(`(?m)^dev-edge\s+EDGE\s.*\sok=(\d+),auth=(\d+),4xx=\d+,5xx=\d+\s`)
	poll.Until(t, 15*time.Second, "the edge's traffic in hookgate nodes", func() bool {
		m := requests.FindStringSubmatch(mustRun(t, dir, env, "nodes"))
		if m == nil {
			return false
		}
		ok, _ := strconv.Atoi(m[1])
		return ok >= 2 && m[2] == strconv.Itoa(wrongKey)
	})
	if out := mustRun(t, dir, env, "nodes"); !strings.Contains(out, "REQUESTS") || !regexp.MustCompile(`(?m)^dev-dispatcher\s.*\sdelivered=0,failed=0\s`).MatchString(out) {
		t.Fatalf("hookgate nodes:\n%s", out)
	}
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s: %v", resp.Request.URL, err)
	}
	return string(b)
}
