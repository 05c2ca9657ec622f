package e2e

import (
	"strings"
	"testing"
)

// TestConfigParamsAndArchivedTypesFromTheCLI: `params set|list|delete`
// keep values write-only and refuse deleting a parameter a webhook refers
// to until the webhook is gone; `event-types archive|unarchive` round-trip.
func TestConfigParamsAndArchivedTypesFromTheCLI(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	d := startDev(t, dir)
	env := []string{"HOOKGATE_SERVER=" + d.admin}
	mustRun(t, dir, env, "tenants", "create", "paramco")

	const secret = "whsec_param-value-never-shown"
	if out := mustRun(t, dir, env, "params", "set", "--tenant", "paramco", "stripe_live="+secret); !strings.Contains(out, "parameter stripe_live set") {
		t.Fatalf("params set: %q", out)
	}
	list := mustRun(t, dir, env, "params", "list", "--tenant", "paramco")
	if !strings.Contains(list, "stripe_live") || strings.Contains(list, secret) {
		t.Fatalf("params list shows no name or shows the value:\n%s", list)
	}
	out := mustRun(t, dir, env, "webhooks", "create", "--tenant", "paramco", "--name", "stripe-by-param", "--provider", "stripe",
		"--process", "orders", "--secret", "signing_secret=${configParam.stripe_live}")
	id := idLine.FindStringSubmatch(out)[1]

	// Referred to: refused, naming the webhook.
	mustFail(t, dir, env, []string{"failed_precondition", id}, "params", "delete", "--tenant", "paramco", "stripe_live")
	mustRun(t, dir, env, "webhooks", "delete", id, "--tenant", "paramco")
	if out := mustRun(t, dir, env, "params", "delete", "--tenant", "paramco", "stripe_live"); !strings.Contains(out, "parameter stripe_live deleted") {
		t.Fatalf("params delete: %q", out)
	}
	if list := mustRun(t, dir, env, "params", "list", "--tenant", "paramco"); strings.Contains(list, "stripe_live") {
		t.Fatalf("a deleted parameter is still listed:\n%s", list)
	}
	// A reference to a missing parameter is refused at registration.
	mustFail(t, dir, env, []string{"invalid_argument", "stripe_live"}, "webhooks", "create", "--tenant", "paramco", "--name", "dangling",
		"--provider", "stripe", "--process", "orders", "--secret", "signing_secret=${configParam.stripe_live}")

	mustRun(t, dir, env, "event-types", "create", "order.created", "--tenant", "paramco")
	mustRun(t, dir, env, "event-types", "archive", "order.created", "--tenant", "paramco")
	if out := mustRun(t, dir, env, "event-types", "list", "--tenant", "paramco"); strings.Contains(out, "order.created") {
		t.Fatalf("an archived type is listed without --archived:\n%s", out)
	}
	mustRun(t, dir, env, "event-types", "unarchive", "order.created", "--tenant", "paramco")
	if out := mustRun(t, dir, env, "event-types", "list", "--tenant", "paramco"); !strings.Contains(out, "order.created") {
		t.Fatalf("an unarchived type is not listed:\n%s", out)
	}
}
