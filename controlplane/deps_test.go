package controlplane_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoDataPlaneCode enforces the split of DESIGN.md: the control plane
// shares shapes with the data plane only through gen/.
func TestNoDataPlaneCode(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "./...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps listed only %d packages; the check would prove nothing", len(deps))
	}
	for _, dep := range deps {
		if strings.HasPrefix(dep, "github.com/hookgate/hookgate/dataplane") {
			t.Errorf("control plane depends on %s", dep)
		}
	}
}
