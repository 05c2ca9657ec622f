package dispatcher

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/testkit/dnstest"
)

// serveDNS answers every A query on a local UDP port with 127.0.0.2 and
// every other query with no answer; it returns the host:port.
func serveDNS(t *testing.T) string {
	t.Helper()
	return dnstest.Serve(t, map[string]netip.Addr{"*": netip.MustParseAddr("127.0.0.2")})
}

func TestResolverFlag(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, addr, wantErr string
	}{
		{"empty is the system's", "", ""},
		{"host and port", "127.0.0.1:53", ""},
		{"no port", "127.0.0.1", "flag --resolver"},
		{"no host", ":53", "flag --resolver"},
		{"no port number", "127.0.0.1:", "flag --resolver"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Config{Resolver: tc.addr}.Validate()
			if tc.wantErr == "" && err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("Validate: %v, want an error with %q", err, tc.wantErr)
			}
		})
	}
	if r, err := newResolver(""); r != nil || err != nil {
		t.Fatalf("newResolver(\"\") = %v, %v; want nil, nil (the system's)", r, err)
	}

	// The resolver asks the named server only: it answers 127.0.0.2 for a
	// name no other server knows.
	r, err := newResolver(serveDNS(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	addrs, err := r.LookupHost(ctx, "hooks.hookgate.invalid")
	if err != nil || !slices.Equal(addrs, []string{"127.0.0.2"}) {
		t.Fatalf("LookupHost through --resolver = %v, %v; want [127.0.0.2]", addrs, err)
	}
}
