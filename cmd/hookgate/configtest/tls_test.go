package configtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/hookgate/hookgate/controlplane/distribute"
)

// pki is a test CA with a server certificate for 127.0.0.1 and a node
// client certificate, written as PEM files.
type pki struct {
	caFile, serverCert, serverKey, nodeCert, nodeKey string
	pool                                             *x509.CertPool
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	dir := t.TempDir()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "hookgate test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	p := &pki{pool: x509.NewCertPool()}
	p.pool.AddCert(ca)
	p.caFile = writePEM(t, dir, "ca.pem", "CERTIFICATE", caDER)
	issue := func(name string, serial int64, usage x509.ExtKeyUsage, ips []net.IP) (certFile, keyFile string) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: name},
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().Add(time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{usage},
			IPAddresses:  ips,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		keyDER, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		return writePEM(t, dir, name+".pem", "CERTIFICATE", der), writePEM(t, dir, name+"-key.pem", "EC PRIVATE KEY", keyDER)
	}
	p.serverCert, p.serverKey = issue("controlplane", 2, x509.ExtKeyUsageServerAuth, []net.IP{net.ParseIP("127.0.0.1")})
	p.nodeCert, p.nodeKey = issue("edge-1", 3, x509.ExtKeyUsageClientAuth, nil)
	return p
}

func writePEM(t *testing.T, dir, name, kind string, der []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestMutualTLS: over TLS a node with a verified client certificate needs no
// node token; one without a certificate still needs it.
func TestMutualTLS(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	e := newEnv(t)
	e.put(t, webhook{tenant: "acme", id: "wh_1", key: "k1"})
	serverCert, err := tls.LoadX509KeyPair(p.serverCert, p.serverKey)
	if err != nil {
		t.Fatal(err)
	}
	cp := e.startCP(t, distribute.Config{NodeToken: "node-token-1"}, withTLS(&tls.Config{
		Certificates: []tls.Certificate{serverCert},
		ClientCAs:    p.pool,
		ClientAuth:   tls.VerifyClientCertIfGiven,
		NextProtos:   []string{"h2"},
		MinVersion:   tls.VersionTLS12,
	}))

	withCert := nodeConfig(cp.url, "edge-1", edge)
	withCert.CAFile, withCert.CertFile, withCert.KeyFile = p.caFile, p.nodeCert, p.nodeKey
	startNode(t, withCert).waitWebhook(t, "acme", "wh_1", nil)

	// Without a certificate the token decides.
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.pool, MinVersion: tls.VersionTLS12}, ForceAttemptHTTP2: true, Protocols: new(http.Protocols)}
	tr.Protocols.SetHTTP2(true)
	client := &http.Client{Transport: tr}
	r := dialRaw(t, client, cp.url, "", hello("edge-2", edge, 0))
	if _, err := r.recvErr(t); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Errorf("no certificate, no token: %v; want unauthenticated", err)
	}
	r2 := dialRaw(t, client, cp.url, "node-token-1", hello("edge-3", edge, 0))
	if resp, err := r2.recvErr(t); err != nil || !resp.GetSnapshot() {
		t.Errorf("no certificate, right token: %v, %v; want a snapshot", resp, err)
	}
}
