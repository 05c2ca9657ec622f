package testkit_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNATSHelperNeedsNoEtcd keeps natstest usable by data-plane tests.
func TestNATSHelperNeedsNoEtcd(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "./natstest").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "github.com/nats-io/nats-server/v2/server") {
		t.Fatalf("go list -deps output lacks nats-server; the check would prove nothing")
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "go.etcd.io/") {
			t.Errorf("natstest depends on %s", dep)
		}
	}
}
