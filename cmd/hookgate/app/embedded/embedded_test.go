package embedded_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/cmd/hookgate/app/embedded"
)

func TestParseSync(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		err  string
	}{
		{"", 0, ""}, {"default", 0, ""}, {"always", -1, ""}, {"10s", 10 * time.Second, ""},
		{"0s", 0, "positive duration"}, {"-1s", 0, "positive duration"}, {"sometimes", 0, "want default, always"},
	} {
		got, err := embedded.ParseSync(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "--nats-sync") {
				t.Errorf("ParseSync(%q) error %v, want one naming --nats-sync and %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseSync(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestLayoutIsKeptAndChecked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cluster.json")
	for _, n := range []int{0, 1, 2, 4, 9} {
		if _, err := embedded.LoadOrCreateLayout(path, n); err == nil || !strings.Contains(err.Error(), "want 3, 5 or 7") {
			t.Errorf("size %d: %v, want a refusal", n, err)
		}
	}
	l, err := embedded.LoadOrCreateLayout(path, 3)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, a := range append(append(append(append([]string{}, l.EtcdClient...), l.EtcdPeer...), l.NATSClient...), l.NATSRoute...) {
		if seen[a] || !strings.HasPrefix(a, "127.0.0.1:") {
			t.Fatalf("address %s repeated or not loopback in %+v", a, l)
		}
		seen[a] = true
	}
	if len(seen) != 12 || l.RoutePassword == "" {
		t.Fatalf("layout %+v: want 12 distinct addresses and a route password", l)
	}
	if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("layout file: %v %v, want mode 0600 (it holds the route password)", err, info)
	}
	again, err := embedded.LoadOrCreateLayout(path, 3)
	if err != nil || !reflect.DeepEqual(again, l) {
		t.Fatalf("second load = %+v, %v; want the saved layout", again, err)
	}
	if _, err := embedded.LoadOrCreateLayout(path, 5); err == nil || !strings.Contains(err.Error(), "cluster of 3, not 5") {
		t.Fatalf("load with another size: %v", err)
	}
}
