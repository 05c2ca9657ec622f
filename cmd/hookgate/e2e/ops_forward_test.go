package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/testkit/poll"
)

// TestOpsEventsToTheTenantsEndpoints: a tenant with an operational
// application receives its operational events as signed deliveries to
// that application's endpoints: disabling one endpoint with the CLI
// delivers the endpoint.disabled event (reason manual) to another.
func TestOpsEventsToTheTenantsEndpoints(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	d := startDev(t, dir)
	env := []string{"HOOKGATE_SERVER=" + d.admin}
	shop := outboundSetup(t, dir, env)
	var ops hookgatev1.CreateApplicationResponse
	protoOut(t, dir, env, &ops, "apps", "create", "--tenant", "acme", "--name", "Operations")
	opsApp := ops.GetApplication().GetId()
	mustRun(t, dir, env, "event-types", "create", "endpoint.disabled", "--tenant", "acme", "--description", "An endpoint was disabled")

	for _, tc := range []struct {
		name  string
		args  []string
		wants []string
	}{
		{"no such application", []string{"tenants", "update", "acme", "--ops-app", "app_doesnotexist"}, []string{"failed_precondition", "tenant.ops_app_id"}},
		{"not an application id", []string{"tenants", "update", "acme", "--ops-app", "ep_1"}, []string{"invalid_argument", "tenant.ops_app_id"}},
		{"nothing to update", []string{"tenants", "update", "acme"}, []string{"nothing to update"}},
	} {
		t.Run(tc.name, func(t *testing.T) { mustFail(t, dir, env, tc.wants, tc.args...) })
	}
	if out := mustRun(t, dir, env, "tenants", "update", "acme", "--ops-app", opsApp); !strings.Contains(out, "OPS APP") || !strings.Contains(out, opsApp) {
		t.Fatalf("tenants update --ops-app:\n%s", out)
	}
	var tenant hookgatev1.GetTenantResponse
	protoOut(t, dir, env, &tenant, "tenants", "get", "acme")
	if tenant.Tenant.OpsAppId != opsApp {
		t.Fatalf("tenants get: ops_app_id %q, want %s", tenant.Tenant.OpsAppId, opsApp)
	}

	alerts, shopRecv := newReceiver(t), newReceiver(t)
	out := mustRun(t, dir, env, "endpoints", "create", "--tenant", "acme", "--app", opsApp, "--url", alerts.URL+"/ops", "--event-types", "endpoint.disabled")
	idm, sec := endpointLine.FindStringSubmatch(out), whsecLine.FindStringSubmatch(out)
	if idm == nil || sec == nil {
		t.Fatalf("endpoints create printed no id or secret:\n%s", out)
	}
	alerts.setSecret(sec[1])
	shopEP, _, _ := createEndpoint(t, dir, env, shop, shopRecv.URL+"/orders")
	waitDispatchers(t, dir, env, 1, endpointRev(t, dir, env, idm[1]))

	if out := mustRun(t, dir, env, "endpoints", "disable", shopEP, "--tenant", "acme"); !strings.Contains(out, shopEP+" disabled") {
		t.Fatalf("endpoints disable:\n%s", out)
	}
	poll.Until(t, 30*time.Second, "the endpoint.disabled event at the operational endpoint", func() bool {
		return len(alerts.requests()) > 0
	})
	got := alerts.requests()[0]
	if !got.verified {
		t.Errorf("delivery %s not signed with the operational endpoint's secret", got.id)
	}
	if !strings.HasPrefix(got.id, "ops_") {
		t.Errorf("webhook-id %q, want ops_…", got.id)
	}
	var ev struct {
		Tenant     string    `json:"tenant"`
		EndpointID string    `json:"endpointId"`
		Reason     string    `json:"reason"`
		Time       time.Time `json:"time"`
	}
	if err := json.Unmarshal(got.body, &ev); err != nil || ev.Tenant != "acme" || ev.EndpointID != shopEP || ev.Reason != "manual" || ev.Time.IsZero() {
		t.Fatalf("delivered body %s (%v), want the endpoint.disabled event of %s, reason manual", got.body, err, shopEP)
	}
	if n := len(shopRecv.requests()); n != 0 {
		t.Errorf("the shop endpoint got %d requests, want none", n)
	}
}
