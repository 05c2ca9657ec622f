package dnstest_test

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/hookgate/hookgate/testkit/dnstest"
)

func TestServeAnswersItsNames(t *testing.T) {
	addr := dnstest.Serve(t, map[string]netip.Addr{
		"meta.example": netip.MustParseAddr("169.254.169.254"),
		"six.example":  netip.MustParseAddr("::1"),
		"*":            netip.MustParseAddr("10.1.2.3"),
	})
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "udp", addr)
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for name, want := range map[string][]string{
		"meta.example": {"169.254.169.254"},
		"SIX.example":  {"::1"},
		"any.other":    {"10.1.2.3"},
	} {
		got, err := r.LookupHost(ctx, name)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("LookupHost(%s) = %v, %v; want %v", name, got, err, want)
		}
	}
}
