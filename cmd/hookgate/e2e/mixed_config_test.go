package e2e

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/testkit/poll"
)

// TestOutboundResourcesDoNotStallInbound: outbound resources (an
// application, an event type, an endpoint) reach the edge and dispatcher in
// the same config stream as webhooks; a node that could not take them would
// NACK every later update, and a webhook created afterwards would never
// reach the edge.
func TestOutboundResourcesDoNotStallInbound(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	d := startDev(t, dir)
	env := []string{"HOOKGATE_SERVER=" + d.admin}
	mustRun(t, dir, env, "tenants", "create", "mixed")
	out := mustRun(t, dir, env, "apps", "create", "--tenant", "mixed", "--name", "Customer One")
	app := regexp.MustCompile(`app_[0-9a-v]+`).FindString(out)
	if app == "" {
		t.Fatalf("apps create printed no app id:\n%s", out)
	}
	mustRun(t, dir, env, "event-types", "create", "order.created", "--tenant", "mixed")
	mustRun(t, dir, env, "endpoints", "create", "--tenant", "mixed", "--app", app, "--url", "https://receiver.example/hook", "--event-types", "order.created")
	out = mustRun(t, dir, env, "webhooks", "create", "--tenant", "mixed", "--name", "after-outbound", "--process", "orders")
	url := urlLine.FindStringSubmatch(out)[1]
	poll.Until(t, 10*time.Second, "the webhook created after outbound resources to reach the edge", func() bool {
		return post(t, url, `{"n":1}`) == 200
	})
	if strings.Contains(d.stderr.String(), "rejected config") {
		t.Fatalf("a node rejected the configuration:\n%s", grepLines(d.stderr.String(), "rejected"))
	}
}
