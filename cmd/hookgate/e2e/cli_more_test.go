package e2e

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/testkit/poll"
)

// TestCLIRemainingCommands covers the CLI commands the other tests do not:
// tenants get/list/delete, tokens list/revoke, webhooks update and list
// filters, and nodes.
func TestCLIRemainingCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	d := startDev(t, dir)
	env := []string{"HOOKGATE_SERVER=" + d.admin}

	mustRun(t, dir, env, "tenants", "create", "acme", "--display-name", "Acme")
	mustRun(t, dir, env, "tenants", "create", "globex")
	if out := mustRun(t, dir, env, "tenants", "list"); !strings.Contains(out, "acme") || !strings.Contains(out, "globex") {
		t.Fatalf("tenants list:\n%s", out)
	}
	var tenant struct {
		Tenant struct {
			DisplayName string `json:"displayName"`
		} `json:"tenant"`
	}
	// protojson varies its whitespace on purpose: parse, never match text.
	if out := mustRun(t, dir, env, "tenants", "get", "acme", "-o", "json"); json.Unmarshal([]byte(out), &tenant) != nil || tenant.Tenant.DisplayName != "Acme" {
		t.Fatalf("tenants get -o json:\n%s", out)
	}

	out := mustRun(t, dir, env, "tokens", "create", "--tenant", "acme", "--description", "deploy bot")
	tok := tokenLine.FindStringSubmatch(out)[1]
	tokID := regexp.MustCompile(`admin token (tok_[0-9a-v]+) created`).FindStringSubmatch(out)[1]
	if out := mustRun(t, dir, env, "tokens", "list", "--tenant", "acme"); !strings.Contains(out, tokID) || !strings.Contains(out, "deploy bot") || strings.Contains(out, tok) {
		t.Fatalf("tokens list shows no id, or the token itself:\n%s", out)
	}
	tenantEnv := append(env, "HOOKGATE_TOKEN="+tok)
	mustRun(t, t.TempDir(), tenantEnv, "tenants", "get", "acme")
	mustRun(t, dir, env, "tokens", "revoke", tokID)
	if _, errOut, err := run(t, t.TempDir(), tenantEnv, "tenants", "get", "acme"); err == nil || !strings.Contains(errOut, "unauthenticated") {
		t.Fatalf("revoked token still works: %v %q", err, errOut)
	}

	out = mustRun(t, dir, env, "webhooks", "create", "--tenant", "acme", "--name", "github", "--provider", "github",
		"--process", "ci", "--secret", "secret=gh-secret")
	id := idLine.FindStringSubmatch(out)[1]
	out = mustRun(t, dir, env, "webhooks", "update", id, "--tenant", "acme", "--description", "CI events",
		"--rate", "5", "--burst", "10", "--max-body", "65536", "--binding", "process=ci,trigger=resume,path=pull_request.id")
	for _, want := range []string{"CI events", "5/s burst 10", "65536 bytes", "correlation pull_request.id"} {
		if !strings.Contains(out, want) {
			t.Fatalf("webhooks update output lacks %q:\n%s", want, out)
		}
	}
	if _, errOut, err := run(t, dir, env, "webhooks", "update", id, "--tenant", "acme"); err == nil || !strings.Contains(errOut, "nothing to update") {
		t.Fatalf("empty update: %v %q", err, errOut)
	}
	mustRun(t, dir, env, "webhooks", "create", "--tenant", "acme", "--name", "plain", "--process", "orders")
	var list struct {
		Webhooks []struct{ Name string } `json:"webhooks"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, dir, env, "webhooks", "list", "--tenant", "acme", "--provider", "github", "-o", "json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Webhooks) != 1 || list.Webhooks[0].Name != "github" {
		t.Fatalf("list --provider github: %+v", list.Webhooks)
	}

	var nodes struct {
		Nodes []struct {
			ID   string `json:"id"`
			Role string `json:"role"`
		} `json:"nodes"`
	}
	fleetOf2 := func() bool {
		nodes.Nodes = nil
		return json.Unmarshal([]byte(mustRun(t, dir, env, "nodes", "-o", "json")), &nodes) == nil && len(nodes.Nodes) == 2
	}
	poll.Until(t, 10*time.Second, "two nodes in the fleet view", fleetOf2)
	roles := map[string]string{}
	for _, n := range nodes.Nodes {
		roles[n.ID] = n.Role
	}
	if roles["dev-edge"] != "NODE_ROLE_EDGE" || roles["dev-dispatcher"] != "NODE_ROLE_DISPATCHER" {
		t.Fatalf("nodes: %+v", nodes.Nodes)
	}

	mustRun(t, dir, env, "tenants", "delete", "globex")
	if _, errOut, err := run(t, dir, env, "tenants", "get", "globex"); err == nil || !strings.Contains(errOut, "not_found") {
		t.Fatalf("deleted tenant: %v %q", err, errOut)
	}
}
