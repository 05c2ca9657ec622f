package dispatch_test

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/dataplane/dispatch"
)

func prefixes(t *testing.T, s ...string) []netip.Prefix {
	t.Helper()
	var out []netip.Prefix
	for _, p := range s {
		out = append(out, netip.MustParsePrefix(p))
	}
	return out
}

func TestAddressPolicy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addr    string
		allow   []string
		blocked string // expected range; "" = allowed
	}{
		{"8.8.8.8", nil, ""},
		{"1.1.1.1", nil, ""},
		{"2606:4700:4700::1111", nil, ""},
		{"127.0.0.1", nil, "loopback"},
		{"127.0.0.2", nil, "loopback"},
		{"127.255.255.254", nil, "loopback"},
		{"::1", nil, "loopback"},
		{"10.1.2.3", nil, "private"},
		{"172.16.0.1", nil, "private"},
		{"172.31.255.255", nil, "private"},
		{"172.32.0.1", nil, ""},
		{"192.168.1.1", nil, "private"},
		{"fc00::1", nil, "private"},
		{"fd12:3456::1", nil, "private"},
		{"169.254.1.1", nil, "link-local"},
		{"fe80::1", nil, "link-local"},
		{"fe80::1%eth0", nil, "link-local"},
		{"100.64.0.1", nil, "cgnat"},
		{"100.127.255.255", nil, "cgnat"},
		{"100.128.0.1", nil, ""},
		{"224.0.0.1", nil, "multicast"},
		{"239.255.255.250", nil, "multicast"},
		{"ff02::1", nil, "multicast"},
		{"0.0.0.0", nil, "unspecified"},
		{"0.1.2.3", nil, "unspecified"},
		{"::", nil, "unspecified"},
		{"255.255.255.255", nil, "reserved"},
		{"240.0.0.1", nil, "reserved"},
		{"169.254.169.254", nil, "metadata"},
		{"fd00:ec2::254", nil, "metadata"},
		{"100.100.100.200", nil, "metadata"},
		// IPv4-mapped IPv6 forms are the IPv4 address.
		{"::ffff:127.0.0.1", nil, "loopback"},
		{"::ffff:10.0.0.1", nil, "private"},
		{"::ffff:169.254.169.254", nil, "metadata"},
		{"::ffff:100.64.0.1", nil, "cgnat"},
		{"::ffff:0.0.0.0", nil, "unspecified"},
		{"::ffff:8.8.8.8", nil, ""},
		// NAT64 and 6to4 carry an IPv4 address.
		{"64:ff9b::7f00:1", nil, "loopback"},
		{"64:ff9b::808:808", nil, ""},
		{"2002:a00:1::1", nil, "private"},
		{"::127.0.0.1", nil, "reserved"},
		// Allow lists.
		{"127.0.0.1", []string{"127.0.0.1/32"}, ""},
		{"::ffff:127.0.0.1", []string{"127.0.0.1/32"}, ""},
		{"127.0.0.1", []string{"::ffff:127.0.0.1/128"}, ""},
		{"127.0.0.2", []string{"127.0.0.1/32"}, "loopback"},
		{"10.9.8.7", []string{"10.0.0.0/8"}, ""},
		{"10.9.8.7", []string{"192.168.0.0/16"}, "private"},
		{"::1", []string{"127.0.0.1/32"}, "loopback"},
		{"169.254.169.254", []string{"169.254.0.0/16"}, "metadata"},
		{"169.254.1.1", []string{"169.254.0.0/16"}, ""},
		{"169.254.169.254", []string{"169.254.169.254/32"}, ""},
		{"fd00:ec2::254", []string{"fc00::/7"}, "metadata"},
		{"64:ff9b::7f00:1", []string{"127.0.0.1/32"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.addr+" "+strings.Join(tt.allow, ","), func(t *testing.T) {
			t.Parallel()
			p := dispatch.NewAddressPolicy(prefixes(t, tt.allow...))
			err := p.Check(netip.MustParseAddr(tt.addr))
			if tt.blocked == "" {
				if err != nil {
					t.Fatalf("blocked: %v", err)
				}
				return
			}
			var be *dispatch.BlockedError
			if !errors.As(err, &be) {
				t.Fatalf("err = %v, want BlockedError", err)
			}
			if be.Range != tt.blocked || be.Class() != dispatch.ClassBlockedAddress {
				t.Fatalf("blocked as %q (%s), want %q", be.Range, be.Class(), tt.blocked)
			}
		})
	}
	if err := (&dispatch.AddressPolicy{}).Check(netip.Addr{}); err == nil {
		t.Fatal("invalid address passed")
	}
}

func TestAddressPolicyControl(t *testing.T) {
	t.Parallel()
	p := dispatch.NewAddressPolicy(prefixes(t, "127.0.0.1/32"))
	tests := []struct {
		network, address string
		ok               bool
	}{
		{"tcp4", "127.0.0.1:80", true},
		{"tcp6", "[::ffff:127.0.0.1]:80", true},
		{"tcp4", "127.0.0.2:80", false},
		{"tcp6", "[::1]:443", false},
		{"udp4", "127.0.0.1:53", false},
		{"tcp", "not-an-address", false},
		{"tcp", "example.com:443", false},
	}
	for _, tt := range tests {
		err := p.Control(context.Background(), tt.network, tt.address, nil)
		if (err == nil) != tt.ok {
			t.Errorf("Control(%s, %s) = %v, want ok %v", tt.network, tt.address, err, tt.ok)
		}
	}
}

// client is an HTTP client over the policy's dialer, as delivery builds
// it: no proxy from the environment.
func client(cfg dispatch.DialerConfig) *http.Client {
	d := dispatch.NewDialer(cfg)
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil, DialContext: d.DialContext}}
}

func serveOn(t *testing.T, addr string) *httptest.Server {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		// All of 127.0.0.0/8 is loopback on the machines this runs on: a
		// failure here is the machine's, and the test must not pass by it.
		t.Fatalf("listen %s: %v", addr, err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("reached"))
	}))
	_ = srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

func get(c *http.Client, url string) error {
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errors.New(resp.Status)
	}
	return nil
}

func assertBlocked(t *testing.T, err error) {
	t.Helper()
	var be *dispatch.BlockedError
	if !errors.As(err, &be) {
		t.Fatalf("err = %v, want BlockedError", err)
	}
}

func TestDialerRealServer(t *testing.T) {
	t.Parallel()
	srv := serveOn(t, "127.0.0.1:0")
	port := srv.Listener.Addr().(*net.TCPAddr).Port

	assertBlocked(t, get(client(dispatch.DialerConfig{}), srv.URL))
	if err := get(client(dispatch.DialerConfig{Policy: dispatch.NewAddressPolicy(prefixes(t, "127.0.0.1/32"))}), srv.URL); err != nil {
		t.Fatalf("allow-listed 127.0.0.1 not reached: %v", err)
	}
	// The IPv4-mapped IPv6 literal of the same server.
	mapped := "http://[::ffff:127.0.0.1]:" + strconv.Itoa(port) + "/"
	assertBlocked(t, get(client(dispatch.DialerConfig{}), mapped))
}

// TestDialerResolvedName resolves a name through a DNS server of the test
// to 127.0.0.2: the check sees the resolved address, not the name.
func TestDialerResolvedName(t *testing.T) {
	t.Parallel()
	srv := serveOn(t, "127.0.0.2:0")
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	res := resolverTo(t, netip.MustParseAddr("127.0.0.2"))
	url := "http://receiver.example.test:" + strconv.Itoa(port) + "/"

	// Allowing only 127.0.0.1 does not admit 127.0.0.2.
	assertBlocked(t, get(client(dispatch.DialerConfig{Resolver: res}), url))
	assertBlocked(t, get(client(dispatch.DialerConfig{Resolver: res, Policy: dispatch.NewAddressPolicy(prefixes(t, "127.0.0.1/32"))}), url))
	if err := get(client(dispatch.DialerConfig{Resolver: res, Policy: dispatch.NewAddressPolicy(prefixes(t, "127.0.0.2/32"))}), url); err != nil {
		t.Fatalf("allow-listed 127.0.0.2 not reached through the name: %v", err)
	}
}

func itoa(n int) string {
	return netip.AddrPortFrom(netip.IPv4Unspecified(), uint16(n)).String()[len("0.0.0.0:"):]
}

// resolverTo returns a resolver whose every A query is answered with ip by
// a tiny DNS responder on UDP loopback (AAAA queries get no answer).
func resolverTo(t *testing.T, ip netip.Addr) *net.Resolver {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if resp := dnsAnswer(buf[:n], ip); resp != nil {
				_, _ = pc.WriteTo(resp, from)
			}
		}
	}()
	addr := pc.LocalAddr().String()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp4", addr)
	}}
}

// dnsAnswer builds the response to a one-question query (RFC 1035 §4.1).
func dnsAnswer(q []byte, ip netip.Addr) []byte {
	if len(q) < 12 {
		return nil
	}
	i := 12
	for i < len(q) && q[i] != 0 {
		i += int(q[i]) + 1
	}
	if i+5 > len(q) {
		return nil
	}
	qtype := binary.BigEndian.Uint16(q[i+1:])
	question := q[12 : i+5]
	resp := make([]byte, 12, 64)
	copy(resp, q[:2])                            // id
	binary.BigEndian.PutUint16(resp[2:], 0x8180) // response, recursion desired and available, NOERROR
	binary.BigEndian.PutUint16(resp[4:], 1)      // one question
	resp = append(resp, question...)
	if qtype != 1 { // only A
		return resp
	}
	binary.BigEndian.PutUint16(resp[6:], 1) // one answer
	a := ip.As4()
	resp = append(resp, 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4)
	return append(resp, a[:]...)
}
