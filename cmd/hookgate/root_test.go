package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestEnvironmentSetsOnlyConnectionFlagsOfTheCLI: HOOKGATE_SERVER reaches
// a CLI command, but a stray HOOKGATE_NAME does not fill its --name (which
// would slip into a create or an update's field mask); server commands take
// every flag from the environment.
func TestEnvironmentSetsOnlyConnectionFlagsOfTheCLI(t *testing.T) {
	t.Setenv("HOOKGATE_NAME", "from-env")
	t.Setenv("HOOKGATE_SERVER", "http://127.0.0.1:1")
	t.Setenv("HOOKGATE_TOKEN", "hga_x")
	root := newRootCommand()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs([]string{"apps", "create", "--tenant", "acme"})
	err := root.Execute()
	if err == nil || !strings.Contains(err.Error(), "flag --name: required") {
		t.Fatalf("apps create with HOOKGATE_NAME set: %v, want --name still required", err)
	}

	t.Setenv("HOOKGATE_LOG_FORMAT", "yaml")
	root = newRootCommand()
	root.SetArgs([]string{"edge"})
	if err := root.Execute(); err == nil || !strings.Contains(err.Error(), `--log-format "yaml"`) {
		t.Fatalf("edge with HOOKGATE_LOG_FORMAT=yaml: %v, want the environment's value refused", err)
	}
}
