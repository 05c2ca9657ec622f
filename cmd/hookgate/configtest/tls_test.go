package configtest

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"path/filepath"
	"testing"

	"connectrpc.com/connect"
	"github.com/hookgate/hookgate/controlplane/distribute"
	"github.com/hookgate/hookgate/testkit/tlstest"
)

// pki is a test CA with a server certificate for 127.0.0.1 and node client
// certificates, written as PEM files: one per role (Subject OU "edge",
// "dispatcher") and one naming no role.
type pki struct {
	caFile, serverCert, serverKey string
	edgeCert, edgeKey             string
	dispCert, dispKey             string
	noRoleCert, noRoleKey         string
	pool                          *x509.CertPool
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "hookgate test CA")
	p := &pki{pool: ca.Pool(), caFile: tlstest.WriteFile(t, filepath.Join(dir, "ca.pem"), ca.PEM)}
	issue := func(name string, serial int64, o tlstest.Options) (certFile, keyFile string) {
		o.Serial, o.CommonName = serial, name
		return ca.Issue(t, o).WriteFiles(t, dir, name)
	}
	p.serverCert, p.serverKey = issue("controlplane", 2, tlstest.Options{})
	p.edgeCert, p.edgeKey = issue("edge-1", 3, tlstest.Options{Client: true, OU: []string{distribute.CertRoleEdge}})
	p.dispCert, p.dispKey = issue("disp-1", 4, tlstest.Options{Client: true, OU: []string{distribute.CertRoleDispatcher}})
	p.noRoleCert, p.noRoleKey = issue("norole-1", 5, tlstest.Options{Client: true, OU: []string{"ops"}})
	return p
}

// serverTLS is the control plane's TLS configuration with client
// certificates verified against the test CA under auth.
func (p *pki) serverTLS(t *testing.T, auth tls.ClientAuthType) *tls.Config {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(p.serverCert, p.serverKey)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: p.pool, ClientAuth: auth, NextProtos: []string{"h2"}, MinVersion: tls.VersionTLS12}
}

// client is an HTTP/2 client over TLS trusting the test CA, presenting
// the certificate in certFile and keyFile (none when empty).
func (p *pki) client(t *testing.T, certFile, keyFile string) *http.Client {
	t.Helper()
	tc := &tls.Config{RootCAs: p.pool, MinVersion: tls.VersionTLS12}
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			t.Fatal(err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	tr := &http.Transport{TLSClientConfig: tc, ForceAttemptHTTP2: true, Protocols: new(http.Protocols)}
	tr.Protocols.SetHTTP2(true)
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// TestMutualTLS: with RequireClientCert a node is admitted by a verified
// client certificate whose Subject OU names its role, and only for that
// role; tokens do not replace the certificate, even where TLS let a client
// without one through.
func TestMutualTLS(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	e := newEnv(t)
	e.put(t, webhook{tenant: "acme", id: "wh_1", key: "k1"})
	cp := e.startCP(t, distribute.Config{RequireClientCert: true}, withTLS(p.serverTLS(t, tls.RequireAndVerifyClientCert)))

	withCert := nodeConfig(cp.url, "edge-1", edge)
	withCert.NodeToken = ""
	withCert.CAFile, withCert.CertFile, withCert.KeyFile = p.caFile, p.edgeCert, p.edgeKey
	startNode(t, withCert).waitWebhook(t, "acme", "wh_1", nil)

	r := dialRaw(t, p.client(t, p.dispCert, p.dispKey), cp.url, "", hello("disp-1", dispatcher, 0))
	if resp, err := r.recvErr(t); err != nil || !resp.GetSnapshot() {
		t.Errorf("dispatcher certificate asking for the dispatcher role: %v, %v; want a snapshot", resp, err)
	}

	// A server that only verifies certificates given (a wiring mistake):
	// RequireClientCert still refuses a client without one, token or not.
	lax := e.startCP(t, distribute.Config{RequireClientCert: true}, withTLS(p.serverTLS(t, tls.VerifyClientCertIfGiven)))
	for _, tc := range []refusal{
		{name: "no certificate, no token", client: p.client(t, "", ""), hello: hello("edge-2", edge, 0), code: connect.CodeUnauthenticated},
		{name: "no certificate, a token", client: p.client(t, "", ""), token: edgeToken, hello: hello("edge-3", edge, 0), code: connect.CodeUnauthenticated},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.check(t, lax) })
	}
	for _, tc := range []refusal{
		{name: "certificate without a role", client: p.client(t, p.noRoleCert, p.noRoleKey), hello: hello("norole-1", edge, 0),
			code: connect.CodePermissionDenied, message: "names no node role"},
		{name: "edge certificate asking for the dispatcher role", client: p.client(t, p.edgeCert, p.edgeKey), hello: hello("edge-4", dispatcher, 0),
			code: connect.CodePermissionDenied, message: "credential for role edge may not ask for role dispatcher"},
		{name: "dispatcher certificate asking for the edge role", client: p.client(t, p.dispCert, p.dispKey), hello: hello("disp-2", edge, 0),
			code: connect.CodePermissionDenied, message: "credential for role dispatcher may not ask for role edge"},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.check(t, cp) })
	}
	if got := cp.metric(t, "hookgate_config_streams_refused_total", "reason", "permission_denied"); got != 3 {
		t.Errorf("permission_denied refusals = %v, want 3", got)
	}
}

// TestClientCertificateBesideTokens: a control plane with tokens that
// verifies certificates when given (--tls-client-ca beside a token) admits
// a node by either, and a TLS client with neither is refused: before, it was
// admitted.
func TestClientCertificateBesideTokens(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	e := newEnv(t)
	e.put(t, webhook{tenant: "acme", id: "wh_1", key: "k1"})
	cp := e.startCP(t, distribute.Config{}, withTLS(p.serverTLS(t, tls.VerifyClientCertIfGiven)))

	withCert := nodeConfig(cp.url, "edge-1", edge)
	withCert.NodeToken = ""
	withCert.CAFile, withCert.CertFile, withCert.KeyFile = p.caFile, p.edgeCert, p.edgeKey
	startNode(t, withCert).waitWebhook(t, "acme", "wh_1", nil)

	noCert := p.client(t, "", "")
	r := dialRaw(t, noCert, cp.url, edgeToken, hello("edge-2", edge, 0))
	if resp, err := r.recvErr(t); err != nil || !resp.GetSnapshot() {
		t.Errorf("no certificate, the edge token: %v, %v; want a snapshot", resp, err)
	}
	for _, tc := range []refusal{
		{name: "no certificate, no token", client: noCert, hello: hello("edge-3", edge, 0), code: connect.CodeUnauthenticated},
		{name: "no certificate, wrong token", client: noCert, token: "edge-token-other", hello: hello("edge-4", edge, 0), code: connect.CodeUnauthenticated},
		// The certificate decides: a token beside it does not widen it.
		{name: "edge certificate with the dispatcher token", client: p.client(t, p.edgeCert, p.edgeKey), token: dispatcherToken,
			hello: hello("edge-5", dispatcher, 0), code: connect.CodePermissionDenied, message: "credential for role edge"},
		{name: "certificate without a role, with a token", client: p.client(t, p.noRoleCert, p.noRoleKey), token: edgeToken,
			hello: hello("norole-1", edge, 0), code: connect.CodePermissionDenied, message: "names no node role"},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.check(t, cp) })
	}
}
