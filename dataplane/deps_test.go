package dataplane_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoEtcdNoControlPlane enforces the split of DESIGN.md: data-plane code
// (edge and dispatcher) never links etcd or control-plane packages; it only
// learns configuration through the config stream.
func TestNoEtcdNoControlPlane(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "./...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps listed only %d packages; the check would prove nothing", len(deps))
	}
	for _, dep := range deps {
		if strings.HasPrefix(dep, "go.etcd.io/") || strings.HasPrefix(dep, "github.com/hookgate/hookgate/controlplane") {
			t.Errorf("data plane depends on %s", dep)
		}
	}
}
