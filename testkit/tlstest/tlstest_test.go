package tlstest_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"testing"

	"github.com/hookgate/hookgate/testkit/tlstest"
)

func TestIssuedCertificatesVerify(t *testing.T) {
	ca := tlstest.NewCA(t, "test CA")
	other := tlstest.NewCA(t, "other CA")
	for _, tc := range []struct {
		name  string
		o     tlstest.Options
		usage x509.ExtKeyUsage
	}{
		{"server", tlstest.Options{Serial: 7}, x509.ExtKeyUsageServerAuth},
		{"client", tlstest.Options{Client: true, CommonName: "edge-1", OU: []string{"edge"}}, x509.ExtKeyUsageClientAuth},
	} {
		l := ca.Issue(t, tc.o)
		if _, err := tls.X509KeyPair(l.CertPEM, l.KeyPEM); err != nil {
			t.Fatalf("%s: pair does not load: %v", tc.name, err)
		}
		b, _ := pem.Decode(l.CertPEM)
		cert, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		opts := x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{tc.usage}}
		if !tc.o.Client {
			opts.DNSName = "127.0.0.1"
		}
		if _, err := cert.Verify(opts); err != nil {
			t.Errorf("%s: does not verify against its CA: %v", tc.name, err)
		}
		opts.Roots = other.Pool()
		if _, err := cert.Verify(opts); err == nil {
			t.Errorf("%s: verifies against another CA", tc.name)
		}
		if tc.o.Serial != 0 && cert.SerialNumber.Int64() != tc.o.Serial {
			t.Errorf("%s: serial %d, want %d", tc.name, cert.SerialNumber.Int64(), tc.o.Serial)
		}
		if len(tc.o.OU) > 0 && (len(cert.Subject.OrganizationalUnit) != 1 || cert.Subject.OrganizationalUnit[0] != tc.o.OU[0]) {
			t.Errorf("%s: OU %v, want %v", tc.name, cert.Subject.OrganizationalUnit, tc.o.OU)
		}
	}
}
