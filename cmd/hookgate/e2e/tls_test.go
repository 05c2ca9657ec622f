package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/testkit/etcdtest"
	"github.com/hookgate/hookgate/testkit/natstest"
	"github.com/hookgate/hookgate/testkit/poll"
	"github.com/hookgate/hookgate/testkit/tlstest"
)

// tlsCA is a test certificate authority with its certificate in file.
type tlsCA struct {
	*tlstest.CA
	file string // the CA certificate (PEM)
}

func newTLSCA(t *testing.T, dir, name string) *tlsCA {
	t.Helper()
	ca := tlstest.NewCA(t, name)
	file := filepath.Join(dir, name+".pem")
	replaceFile(t, file, ca.PEM)
	return &tlsCA{CA: ca, file: file}
}

// issue writes a server certificate for 127.0.0.1 with serial to certFile
// and its key to keyFile, each replaced by a rename as renewal tools do.
func (ca *tlsCA) issue(t *testing.T, serial int64, certFile, keyFile string) {
	t.Helper()
	l := ca.Issue(t, tlstest.Options{Serial: serial})
	// Key first: between the two renames the files do not match, which the
	// server must survive (it keeps the old pair).
	replaceFile(t, keyFile, l.KeyPEM)
	replaceFile(t, certFile, l.CertPEM)
}

func replaceFile(t *testing.T, path string, data []byte) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// tlsClient trusts only caFile and speaks HTTP/2 when the server offers it.
func tlsClient(t *testing.T, caFile string) *http.Client {
	t.Helper()
	data, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		t.Fatalf("%s: no certificate", caFile)
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true,
	}}
}

// servedSerial dials baseURL's host, verified against caFile, and returns
// the serial of the certificate it serves and the protocol ALPN chose.
func servedSerial(t *testing.T, baseURL, caFile string) (int64, string) {
	t.Helper()
	u, err := url.Parse(baseURL)
	if err != nil {
		t.Fatal(err)
	}
	tr := tlsClient(t, caFile).Transport.(*http.Transport)
	cfg := tr.TLSClientConfig.Clone()
	cfg.NextProtos = []string{"h2", "http/1.1"}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := (&tls.Dialer{Config: cfg}).DialContext(ctx, "tcp", u.Host)
	if err != nil {
		t.Fatalf("TLS dial %s: %v", u.Host, err)
	}
	defer conn.Close()
	st := conn.(*tls.Conn).ConnectionState()
	return st.PeerCertificates[0].SerialNumber.Int64(), st.NegotiatedProtocol
}

// TestEdgeServesHTTPSAndReloadsItsCertificate runs `hookgate dev` with
// --listen-tls-*: webhooks arrive over HTTP/2 negotiated by ALPN, a
// replaced certificate is served without a restart, and clients that do
// not trust the CA are refused.
func TestEdgeServesHTTPSAndReloadsItsCertificate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca := newTLSCA(t, dir, "ca")
	certFile, keyFile := filepath.Join(dir, "edge.crt"), filepath.Join(dir, "edge.key")
	ca.issue(t, 1001, certFile, keyFile)
	d := startDev(t, dir, "--listen-tls-cert", certFile, "--listen-tls-key", keyFile)
	if !strings.HasPrefix(d.edge, "https://") {
		t.Fatalf("dev printed edge %s, want an https:// URL", d.edge)
	}
	env := []string{"HOOKGATE_SERVER=" + d.admin}
	mustRun(t, dir, env, "tenants", "create", "acme")
	out := mustRun(t, dir, env, "webhooks", "create", "--tenant", "acme", "--name", "orders", "--process", "orders")
	if m := urlLine.FindStringSubmatch(out); m == nil || !strings.HasPrefix(m[1], d.edge+"/in/acme/") {
		t.Fatalf("webhook URL is not on the HTTPS edge %s:\n%s", d.edge, out)
	}
	hook := d.edge + "/in/acme/" + idLine.FindStringSubmatch(out)[1] + "?key=" + keyLine.FindStringSubmatch(out)[1]

	postTLS := func(c *http.Client) *http.Response {
		t.Helper()
		resp, err := c.Post(hook, "application/json", strings.NewReader(`{"orderId":"ORD-1"}`))
		if err != nil {
			t.Fatalf("POST over HTTPS: %v", err)
		}
		resp.Body.Close()
		return resp
	}
	var resp *http.Response
	poll.Until(t, 10*time.Second, "the edge to accept over HTTPS", func() bool {
		resp = postTLS(tlsClient(t, ca.file))
		return resp.StatusCode/100 == 2
	})
	if resp.Proto != "HTTP/2.0" {
		t.Fatalf("POST answered over %s, want HTTP/2.0 by ALPN", resp.Proto)
	}
	if serial, proto := servedSerial(t, d.edge, ca.file); serial != 1001 || proto != "h2" {
		t.Fatalf("served serial %d over %q, want 1001 over h2", serial, proto)
	}

	// Renewal: new files, same names; the edge serves them without a
	// restart (it looks at the files at most once a second).
	ca.issue(t, 1002, certFile, keyFile)
	poll.Until(t, 10*time.Second, "the new certificate to be served", func() bool {
		serial, _ := servedSerial(t, d.edge, ca.file)
		return serial == 1002
	})
	if resp := postTLS(tlsClient(t, ca.file)); resp.StatusCode/100 != 2 || resp.Proto != "HTTP/2.0" {
		t.Fatalf("POST after the renewal: %d over %s", resp.StatusCode, resp.Proto)
	}

	// A client trusting another CA, or only the system's roots, fails
	// verification; so does cleartext HTTP to the TLS port.
	other := newTLSCA(t, t.TempDir(), "other")
	for name, c := range map[string]*http.Client{"other CA": tlsClient(t, other.file), "system roots": {Timeout: 10 * time.Second}} {
		_, err := c.Post(hook, "application/json", strings.NewReader(`{}`))
		var unknown x509.UnknownAuthorityError
		if !errors.As(err, &unknown) {
			t.Fatalf("%s: err = %v, want x509.UnknownAuthorityError", name, err)
		}
	}
	plain := "http://" + strings.TrimPrefix(hook, "https://")
	if resp, err := (&http.Client{Timeout: 10 * time.Second}).Post(plain, "application/json", strings.NewReader(`{}`)); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("cleartext to the TLS port: %d, want 400 (Go's answer to HTTP on a TLS port)", resp.StatusCode)
		}
	}
	if strings.Contains(d.stderr.String(), "PRIVATE KEY") {
		t.Fatal("the log holds key material")
	}
}

var httpsLogAddr = regexp.MustCompile(`"admin":"(https://[0-9.:]+)"`)

// TestAdminPortTLS runs a control plane whose admin port serves TLS and an
// edge following it over https:// with --control-plane-ca: the CLI works
// given --ca-file and fails verification without it or with another CA,
// and a renewed admin certificate is served without a restart.
func TestAdminPortTLS(t *testing.T) {
	t.Parallel()
	etcd := etcdtest.Start(t)
	ns := natstest.Start(t)
	dir := t.TempDir()
	ca := newTLSCA(t, dir, "ca")
	certFile, keyFile := filepath.Join(dir, "admin.crt"), filepath.Join(dir, "admin.key")
	ca.issue(t, 2001, certFile, keyFile)
	keyring := filepath.Join(dir, "keyring.json")
	replaceFile(t, keyring, []byte(`{"primary":"k1","keys":{"k1":"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}}`))
	tokenFile := filepath.Join(dir, "token")
	cp := start(t, dir, []string{"HOOKGATE_EDGE_TOKEN=hgn_edge-secret", "HOOKGATE_DISPATCHER_TOKEN=hgn_dispatcher-secret"},
		"controlplane", "--etcd-endpoints", etcd.Endpoint, "--nats-url", ns.ClientURL(),
		"--listen-addr", "127.0.0.1:0", "--keyring-file", keyring, "--bootstrap-token-file", tokenFile,
		"--public-url", "https://edge.example", "--tls-cert", certFile, "--tls-key", keyFile)
	var admin string
	poll.Until(t, 30*time.Second, "the admin address in the log", func() bool {
		select {
		case <-cp.done:
			t.Fatalf("control plane exited: %v\n%s", cp.err, cp.stderr)
		default:
		}
		m := httpsLogAddr.FindStringSubmatch(cp.stderr.String())
		if m != nil {
			admin = m[1]
		}
		return m != nil
	})
	token, err := os.ReadFile(tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"HOOKGATE_SERVER=" + admin, "HOOKGATE_TOKEN=" + strings.TrimSpace(string(token))}

	// The CLI verifies the admin port against --ca-file.
	out := mustRun(t, dir, env, "tenants", "create", "acme", "--ca-file", ca.file)
	if !strings.Contains(out, "acme") {
		t.Fatalf("tenants create over TLS printed %q", out)
	}
	other := newTLSCA(t, t.TempDir(), "other")
	mustFail(t, dir, env, []string{"certificate signed by unknown authority"}, "tenants", "list")
	mustFail(t, dir, env, []string{"certificate signed by unknown authority"}, "tenants", "list", "--ca-file", other.file)
	mustFail(t, dir, env, []string{"--ca-file", "no PEM certificate"}, "tenants", "list", "--ca-file", keyFile)

	// An edge follows the config stream over https://, verifying the
	// control plane with --control-plane-ca.
	edge := start(t, dir, []string{"HOOKGATE_NODE_TOKEN=hgn_edge-secret"}, "edge", "--control-plane", admin,
		"--control-plane-ca", ca.file, "--nats-url", ns.ClientURL(),
		"--listen-addr", "127.0.0.1:0", "--ops-addr", "127.0.0.1:0", "--node-id", "edge-tls")
	ingress := addrFromLog(t, edge, "ingress")
	out = mustRun(t, dir, env, "webhooks", "create", "--tenant", "acme", "--name", "orders", "--process", "orders", "--ca-file", ca.file)
	eventually(t, ingress+"/in/acme/"+idLine.FindStringSubmatch(out)[1]+"?key="+keyLine.FindStringSubmatch(out)[1], 200)

	// An edge given another CA refuses the control plane and never gets a
	// configuration.
	wrong := start(t, dir, []string{"HOOKGATE_NODE_TOKEN=hgn_edge-secret"}, "edge", "--control-plane", admin,
		"--control-plane-ca", other.file, "--nats-url", ns.ClientURL(),
		"--listen-addr", "127.0.0.1:0", "--ops-addr", "127.0.0.1:0", "--node-id", "edge-wrong-ca")
	poll.Until(t, 20*time.Second, "the edge with another CA to report a verification error", func() bool {
		return strings.Contains(wrong.stderr.String(), "certificate signed by unknown authority")
	})
	if out := mustRun(t, dir, env, "nodes", "--ca-file", ca.file); strings.Contains(out, "edge-wrong-ca") || !strings.Contains(out, "edge-tls") {
		t.Fatalf("hookgate nodes:\n%s", out)
	}

	// Renewal of the admin certificate, served without a restart; the
	// CLI still verifies it.
	ca.issue(t, 2002, certFile, keyFile)
	poll.Until(t, 10*time.Second, "the renewed admin certificate", func() bool {
		serial, _ := servedSerial(t, admin, ca.file)
		return serial == 2002
	})
	mustRun(t, dir, env, "tenants", "list", "--ca-file", ca.file)
}

// TestTLSBadStartupInput: an unusable certificate pair fails start-up at
// once with one error line naming the flags.
func TestTLSBadStartupInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca := newTLSCA(t, dir, "ca")
	certFile, keyFile := filepath.Join(dir, "s.crt"), filepath.Join(dir, "s.key")
	ca.issue(t, 1, certFile, keyFile)
	edge := func(extra ...string) []string {
		return append([]string{"edge", "--listen-addr", "127.0.0.1:0", "--ops-addr", "127.0.0.1:0", "--nats-url", "nats://127.0.0.1:1"}, extra...)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"edge cert without key", edge("--listen-tls-cert", certFile), "--listen-tls-key"},
		{"edge missing files", edge("--listen-tls-cert", filepath.Join(dir, "nope.crt"), "--listen-tls-key", keyFile), "flags --listen-tls-cert/--listen-tls-key"},
		{"edge key as certificate", edge("--listen-tls-cert", keyFile, "--listen-tls-key", certFile), "flags --listen-tls-cert/--listen-tls-key"},
		{"dev CA as certificate", []string{"dev", "--data-dir", filepath.Join(dir, "dev"), "--admin-addr", "127.0.0.1:0", "--edge-addr", "127.0.0.1:0",
			"--ops-addr", "127.0.0.1:0", "--etcd-addr", "127.0.0.1:0", "--etcd-peer-addr", "127.0.0.1:0", "--nats-addr", "127.0.0.1:0",
			"--listen-tls-cert", ca.file, "--listen-tls-key", keyFile}, "flags --listen-tls-cert/--listen-tls-key"},
		{"controlplane mismatched pair", []string{"controlplane", "--listen-addr", "127.0.0.1:0", "--node-token", "hgn_x", "--tls-cert", ca.file, "--tls-key", keyFile,
			"--keyring", `{"primary":"k1","keys":{"k1":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}}`}, "flags --tls-cert/--tls-key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := start(t, dir, nil, tt.args...)
			if err := p.wait(t, 60*time.Second); err == nil {
				t.Fatalf("hookgate %v exited 0, want failure", tt.args)
			}
			lines := strings.Split(strings.TrimSpace(p.stderr.String()), "\n")
			if last := lines[len(lines)-1]; !strings.HasPrefix(last, "hookgate: ") || !strings.Contains(last, tt.want) {
				t.Fatalf("last stderr line %q, want one naming %q", last, tt.want)
			}
			if strings.Contains(p.stderr.String(), "PRIVATE KEY") || strings.Contains(p.stderr.String(), "panic") {
				t.Fatalf("stderr holds key material or a panic:\n%s", p.stderr)
			}
		})
	}
}
