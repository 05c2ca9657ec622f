package console_test

import (
	"bufio"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/hookgate/hookgate/controlplane/console"
)

const (
	indexHTML = `<!doctype html><html><head><script type="module" src="/console/assets/index-abc123.js"></script></head><body><div id="root"></div></body></html>`
	appJS     = `console.log("app")`
	secret    = "SECRET-OUTSIDE-THE-BUILD"
)

// build is a console build as Vite writes it.
func build() fstest.MapFS {
	return fstest.MapFS{
		"index.html":              {Data: []byte(indexHTML)},
		"favicon.svg":             {Data: []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`)},
		"assets/index-abc123.js":  {Data: []byte(appJS)},
		"assets/index-def456.css": {Data: []byte(`body{margin:0}`)},
	}
}

// server serves h on a mux as the admin port does, beside a handler that
// must never be reached through the console.
func server(t *testing.T, h *console.Handler) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	h.Register(mux)
	mux.HandleFunc("/admin", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, secret) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func wantSecurityHeaders(t *testing.T, h http.Header) {
	t.Helper()
	want := map[string]string{
		"Content-Security-Policy": "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
		"X-Frame-Options":         "DENY",
	}
	for name, v := range want {
		if got := h.Get(name); got != v {
			t.Errorf("%s: %q, want %q", name, got, v)
		}
	}
}

func TestServesTheBuild(t *testing.T) {
	t.Parallel()
	h, err := console.New(build())
	if err != nil {
		t.Fatal(err)
	}
	srv := server(t, h)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	tests := []struct {
		name, method, path string
		status             int
		cache, ctype, body string
		location           string
	}{
		{"root", "GET", "/console/", 200, "no-cache", "text/html; charset=utf-8", indexHTML, ""},
		{"index by name", "GET", "/console/index.html", 200, "no-cache", "text/html; charset=utf-8", indexHTML, ""},
		{"hashed asset", "GET", "/console/assets/index-abc123.js", 200, "public, max-age=31536000, immutable", "text/javascript; charset=utf-8", appJS, ""},
		{"hashed stylesheet", "GET", "/console/assets/index-def456.css", 200, "public, max-age=31536000, immutable", "text/css; charset=utf-8", "body{margin:0}", ""},
		{"unhashed file", "GET", "/console/favicon.svg", 200, "no-cache", "image/svg+xml", "<svg", ""},
		{"app route", "GET", "/console/inbound/webhooks/wh_123", 200, "no-cache", "text/html; charset=utf-8", indexHTML, ""},
		{"app route with a slash", "GET", "/console/outbound/apps/", 200, "no-cache", "text/html; charset=utf-8", indexHTML, ""},
		{"directory", "GET", "/console/assets/", 200, "no-cache", "text/html; charset=utf-8", indexHTML, ""},
		{"missing hashed asset", "GET", "/console/assets/index-old999.js", 404, "", "", "", ""},
		{"head", "HEAD", "/console/", 200, "no-cache", "text/html; charset=utf-8", "", ""},
		{"redirect", "GET", "/console", 301, "", "", "", "/console/"},
		{"redirect keeps the query", "GET", "/console?tenant=acme", 301, "", "", "", "/console/?tenant=acme"},
		{"post", "POST", "/console/", 405, "", "", "", ""},
		{"put on an asset", "PUT", "/console/assets/index-abc123.js", 405, "", "", "", ""},
		{"delete on the root", "DELETE", "/console", 405, "", "", "", ""},
		{"options", "OPTIONS", "/console/", 405, "", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d (%s)", resp.StatusCode, tt.status, body)
			}
			wantSecurityHeaders(t, resp.Header)
			if got := resp.Header.Get("Cache-Control"); tt.cache != "" && got != tt.cache {
				t.Errorf("Cache-Control %q, want %q", got, tt.cache)
			}
			if got := resp.Header.Get("Content-Type"); tt.ctype != "" && got != tt.ctype {
				t.Errorf("Content-Type %q, want %q", got, tt.ctype)
			}
			if !strings.Contains(string(body), tt.body) {
				t.Errorf("body %q, want it to hold %q", body, tt.body)
			}
			if tt.method == "HEAD" && len(body) != 0 {
				t.Errorf("HEAD answered a body of %d bytes", len(body))
			}
			if got := resp.Header.Get("Location"); got != tt.location {
				t.Errorf("Location %q, want %q", got, tt.location)
			}
			if resp.StatusCode == 405 && resp.Header.Get("Allow") != "GET, HEAD" {
				t.Errorf("Allow %q on a 405", resp.Header.Get("Allow"))
			}
		})
	}
}

// TestRevalidation: an unchanged file is answered 304 to its ETag, so a
// no-cache index costs a round trip, not a download.
func TestRevalidation(t *testing.T) {
	t.Parallel()
	h, err := console.New(build())
	if err != nil {
		t.Fatal(err)
	}
	srv := server(t, h)
	resp, err := http.Get(srv.URL + "/console/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	etag := resp.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag on index.html")
	}
	req, _ := http.NewRequest("GET", srv.URL+"/console/inbound", nil)
	req.Header.Set("If-None-Match", etag)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotModified {
		t.Fatalf("revalidation: %d, want 304", resp.StatusCode)
	}
	wantSecurityHeaders(t, resp.Header)
}

// rawGet sends target byte for byte (no client-side cleaning or
// re-encoding) and returns the answer.
func rawGet(t *testing.T, addr, target string) (int, http.Header, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET "+target+" HTTP/1.1\r\nHost: console.test\r\nConnection: close\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(body)
}

// TestNoPathLeavesTheBuild: whatever a path says, the handler answers only
// with files of the build. The build here is a folder with a secret beside
// it, so an escape would show; paths the mux cleans are redirected to the
// clean path (which a client must then request through the admin API's
// authentication), never served by the console.
func TestNoPathLeavesTheBuild(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for name, f := range build() {
		p := filepath.Join(dir, "dist", filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "secret.txt"), []byte(secret), 0o644); err != nil {
		t.Fatal(err)
	}
	sub, err := fs.Sub(os.DirFS(dir), "dist")
	if err != nil {
		t.Fatal(err)
	}
	h, err := console.New(sub)
	if err != nil {
		t.Fatal(err)
	}
	srv := server(t, h)
	addr := srv.Listener.Addr().String()
	targets := []string{
		"/console/../admin",
		"/console/../secret.txt",
		"/console/%2e%2e/admin",
		"/console/%2e%2e/secret.txt",
		"/console/%2E%2E/%2E%2E/secret.txt",
		"/console/..%2fsecret.txt",
		"/console/..%2Fadmin",
		"/console/assets/..%2f..%2fsecret.txt",
		"/console/assets/%2e%2e/%2e%2e/secret.txt",
		"/console//secret.txt",
		"/console/./../secret.txt",
		"/console/..\\secret.txt",
		"/console/..%5csecret.txt",
		"/console/%00../secret.txt",
		"/console/assets/index-abc123.js/../../../secret.txt",
	}
	for _, target := range targets {
		status, hdr, body := rawGet(t, addr, target)
		if strings.Contains(body, secret) {
			t.Errorf("GET %s: %d answered with what lies outside the build", target, status)
		}
		switch {
		case status >= 300 && status < 400:
			// The mux's own redirect to the cleaned path.
		case status == 200:
			if body != indexHTML {
				t.Errorf("GET %s: 200 with %q, want index.html or a refusal", target, body)
			}
			wantSecurityHeaders(t, hdr)
		case status == 400 || status == 404:
		default:
			t.Errorf("GET %s: status %d", target, status)
		}
	}

	// Below the mux (which cleans paths), a name that is not clean is
	// refused, not looked up.
	for _, p := range []string{"/console/../secret.txt", "/console/assets/../../secret.txt", "/console/a//b", "/console/./index.html"} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/console/", nil)
		req.URL.Path = p
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusNotFound || strings.Contains(rec.Body.String(), secret) {
			t.Errorf("path %q straight to the handler: %d %q, want 404", p, rec.Code, rec.Body.String())
		}
		wantSecurityHeaders(t, rec.Header())
	}
}

func TestRefusesABuildWithoutIndex(t *testing.T) {
	t.Parallel()
	if _, err := console.New(fstest.MapFS{"assets/app.js": {Data: []byte(appJS)}}); err == nil {
		t.Fatal("a build without index.html was accepted")
	}
}

// TestEmbeddedBuild serves what the binary embeds: whatever the front end
// last built, index.html at the root and hashed files below assets/.
func TestEmbeddedBuild(t *testing.T) {
	t.Parallel()
	h, err := console.NewEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	srv := server(t, h)
	resp, err := http.Get(srv.URL + "/console/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(strings.ToLower(string(body)), "<!doctype html>") {
		t.Fatalf("embedded index: %d %q", resp.StatusCode, body)
	}
	wantSecurityHeaders(t, resp.Header)
}

func ExampleHandler_Register() {
	h, err := console.NewEmbedded()
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	// Outside the admin API's authentication: the files hold no data.
	h.Register(mux)
	_ = http.Server{Handler: mux}
}
