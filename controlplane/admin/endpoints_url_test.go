package admin

import (
	"strings"
	"testing"
)

// TestEndpointURLNumericHosts: a host whose last label is a number is an
// IPv4 address to browsers, curl and glibc (WHATWG's "ends in a number")
// but a DNS name to Go's dialer; only the canonical dotted quad and IPv6
// literals are taken, so no endpoint means two addresses at once.
func TestEndpointURLNumericHosts(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		url string
		ok  bool
	}{
		{"https://192.0.2.1/h", true},
		{"https://192.0.2.1:8443/h", true},
		{"http://127.0.0.1:9000/h", true},
		{"https://[::1]/h", true},
		{"https://[::ffff:127.0.0.2]/h", true},
		{"https://[64:ff9b::7f00:2]/h", true},
		{"https://[fe80::1%25eth0]/h", true},
		{"https://example.com/h", true},
		{"https://hooks.example.com./h", true},
		{"https://1password.com/h", true},
		{"https://api.v2.example/h", true},
		{"https://0x.example.com/h", true},
		{"https://2130706433/h", false},
		{"https://2852039166/latest/meta-data/", false},
		{"https://0177.0.0.1/h", false},
		{"https://0177.0000.0000.0001/h", false},
		{"https://127.000.000.001/h", false},
		{"https://0x7f.0.0.1/h", false},
		{"https://0X7F000001/h", false},
		{"https://0x/h", false},
		{"https://127.1/h", false},
		{"https://10.1/h", false},
		{"https://127.0.0.1./h", false},
		{"https://1.2.3.4.5/h", false},
		{"https://example.123/h", false},
		{"https://example.0x1f/h", false},
	} {
		t.Run(tt.url, func(t *testing.T) {
			err := validateEndpointURL(tt.url, true)
			if tt.ok && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tt.ok && (err == nil || !strings.Contains(err.Error(), "endpoint.url") || !strings.Contains(err.Error(), "IPv4 address in a non-standard form")) {
				t.Fatalf("got %v, want an endpoint.url error naming the non-standard IPv4 form", err)
			}
		})
	}
}
