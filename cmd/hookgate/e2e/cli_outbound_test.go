package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

var (
	appIDLine    = regexp.MustCompile(`(?m)^id\s+(app_\S+)$`)
	endpointLine = regexp.MustCompile(`endpoint (ep_\S+) created`)
	whsecLine    = regexp.MustCompile(`(?m)^signing secret: (whsec_\S+)$`)
)

// runStdin runs the CLI in dir with env and stdin, and returns stdout,
// stderr and the error.
func runStdin(t *testing.T, dir string, env []string, stdin string, args ...string) (string, string, error) {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Dir = dir
	cmd.Env = append(cmd.Environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// mustFail runs the CLI, fails the test when it exits zero, and checks that
// stderr holds every one of wants.
func mustFail(t *testing.T, dir string, env []string, wants []string, args ...string) string {
	t.Helper()
	_, errOut, err := run(t, dir, env, args...)
	if err == nil {
		t.Fatalf("hookgate %v succeeded; want an error with %q", args, wants)
	}
	for _, w := range wants {
		if !strings.Contains(errOut, w) {
			t.Fatalf("hookgate %v: stderr %q lacks %q", args, errOut, w)
		}
	}
	return errOut
}

// protoOut runs the CLI with -o json and parses its output into m.
func protoOut(t *testing.T, dir string, env []string, m proto.Message, args ...string) {
	t.Helper()
	out := mustRun(t, dir, env, append(args, "-o", "json")...)
	if err := protojson.Unmarshal([]byte(out), m); err != nil {
		t.Fatalf("hookgate %v -o json: %v\n%s", args, err, out)
	}
}

func writeTestFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestOutboundAdminFromTheCLI drives apps, event-types and endpoints
// through the built binary against `hookgate dev`.
func TestOutboundAdminFromTheCLI(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	d := startDev(t, dir)
	env := []string{"HOOKGATE_SERVER=" + d.admin}
	mustRun(t, dir, env, "tenants", "create", "acme")
	mustRun(t, dir, env, "tenants", "create", "lab", "--allow-http-endpoints")

	// Applications.
	var app hookgatev1.CreateApplicationResponse
	protoOut(t, dir, env, &app, "apps", "create", "--tenant", "acme", "--name", "Acme Corp", "--uid", "cust-1",
		"--metadata", "plan=pro", "--metadata", "region=eu")
	appID := app.GetApplication().GetId()
	if !strings.HasPrefix(appID, "app_") || app.Application.Uid != "cust-1" || app.Application.Metadata["region"] != "eu" {
		t.Fatalf("apps create: %v", app.Application)
	}
	for _, tc := range []struct {
		name  string
		args  []string
		wants []string
	}{
		{"no tenant", []string{"apps", "create", "--name", "x"}, []string{"flag --tenant"}},
		{"no name", []string{"apps", "create", "--tenant", "acme"}, []string{"flag --name"}},
		{"bad metadata", []string{"apps", "create", "--tenant", "acme", "--name", "x", "--metadata", "novalue"}, []string{"flag --metadata", "key=value"}},
		{"uid taken", []string{"apps", "create", "--tenant", "acme", "--name", "x", "--uid", "cust-1"}, []string{"already_exists"}},
		{"nothing to update", []string{"apps", "update", appID, "--tenant", "acme"}, []string{"nothing to update"}},
		{"unknown app", []string{"apps", "get", "app_doesnotexist", "--tenant", "acme"}, []string{"not_found"}},
	} {
		t.Run("apps/"+tc.name, func(t *testing.T) { mustFail(t, dir, env, tc.wants, tc.args...) })
	}
	var updated hookgatev1.UpdateApplicationResponse
	protoOut(t, dir, env, &updated, "apps", "update", appID, "--tenant", "acme", "--name", "Acme Inc")
	// The mask holds only name: uid and metadata stay.
	if a := updated.Application; a.Name != "Acme Inc" || a.Uid != "cust-1" || a.Metadata["plan"] != "pro" {
		t.Fatalf("apps update --name changed more than the name: %v", a)
	}
	if out := mustRun(t, dir, env, "apps", "get", appID, "--tenant", "acme"); !strings.Contains(out, "Acme Inc") || appIDLine.FindStringSubmatch(out)[1] != appID {
		t.Fatalf("apps get:\n%s", out)
	}
	protoOut(t, dir, env, &updated, "apps", "update", appID, "--tenant", "acme", "--metadata", "")
	if len(updated.Application.Metadata) != 0 || updated.Application.Name != "Acme Inc" {
		t.Fatalf("apps update --metadata '': %v", updated.Application)
	}
	var apps hookgatev1.ListApplicationsResponse
	protoOut(t, dir, env, &apps, "apps", "list", "--tenant", "acme")
	if len(apps.Applications) != 1 || apps.Applications[0].Id != appID {
		t.Fatalf("apps list: %v", apps.Applications)
	}

	// Event types: schema and example from files and from stdin.
	schema := writeTestFile(t, dir, "schema.json", `{"type":"object","required":["id"],"properties":{"id":{"type":"string"},"amount":{"type":"number"}}}`)
	good := writeTestFile(t, dir, "good.json", `{"id":"o_1","amount":12.5}`)
	bad := writeTestFile(t, dir, "bad.json", `{"id":7}`)
	notJSON := writeTestFile(t, dir, "not.json", `{"id":`)
	var et hookgatev1.CreateEventTypeResponse
	protoOut(t, dir, env, &et, "event-types", "create", "order.created", "--tenant", "acme", "--description", "An order was placed",
		"--schema", schema, "--example", good)
	if e := et.EventType; e.Name != "order.created" || e.Schema == nil || e.Example.GetStructValue().GetFields()["id"].GetStringValue() != "o_1" {
		t.Fatalf("event-types create: %v", e)
	}
	for _, tc := range []struct {
		name  string
		args  []string
		wants []string
	}{
		{"example breaks the schema", []string{"event-types", "create", "order.bad", "--tenant", "acme", "--schema", schema, "--example", bad}, []string{"invalid_argument", "event_type.example", `"/id"`}},
		{"schema not JSON", []string{"event-types", "create", "order.bad", "--tenant", "acme", "--schema", notJSON}, []string{"flag --schema"}},
		{"example not JSON", []string{"event-types", "create", "order.bad", "--tenant", "acme", "--example", notJSON}, []string{"flag --example"}},
		{"missing file", []string{"event-types", "create", "order.bad", "--tenant", "acme", "--schema", filepath.Join(dir, "nope.json")}, []string{"flag --schema", "nope.json"}},
		{"both on stdin", []string{"event-types", "create", "order.bad", "--tenant", "acme", "--schema", "-", "--example", "-"}, []string{"only one can read stdin"}},
		{"bad name", []string{"event-types", "create", "Order Created", "--tenant", "acme"}, []string{"invalid_argument", "event_type.name"}},
		{"taken", []string{"event-types", "create", "order.created", "--tenant", "acme"}, []string{"already_exists"}},
		{"update breaks the example", []string{"event-types", "update", "order.created", "--tenant", "acme", "--example", bad}, []string{"invalid_argument", `"/id"`}},
		{"nothing to update", []string{"event-types", "update", "order.created", "--tenant", "acme"}, []string{"nothing to update"}},
	} {
		t.Run("event-types/"+tc.name, func(t *testing.T) { mustFail(t, dir, env, tc.wants, tc.args...) })
	}
	if out, errOut, err := runStdin(t, dir, env, `{"type":"object"}`, "event-types", "create", "order.paid", "--tenant", "acme", "--schema", "-", "--example", good); err != nil {
		t.Fatalf("event-types create --schema -: %v\n%s", err, errOut)
	} else if !strings.Contains(out, `{"type":"object"}`) {
		t.Fatalf("event-types create --schema - shows no schema:\n%s", out)
	}
	var etu hookgatev1.UpdateEventTypeResponse
	protoOut(t, dir, env, &etu, "event-types", "update", "order.created", "--tenant", "acme", "--description", "Placed")
	if etu.EventType.Description != "Placed" || etu.EventType.Schema == nil || etu.EventType.Example == nil {
		t.Fatalf("event-types update --description changed more: %v", etu.EventType)
	}
	mustRun(t, dir, env, "event-types", "create", "order.shipped", "--tenant", "acme")
	if out := mustRun(t, dir, env, "event-types", "archive", "order.shipped", "--tenant", "acme"); !strings.Contains(out, "order.shipped archived") {
		t.Fatalf("event-types archive: %q", out)
	}
	names := func(args ...string) []string {
		var l hookgatev1.ListEventTypesResponse
		protoOut(t, dir, env, &l, append([]string{"event-types", "list", "--tenant", "acme"}, args...)...)
		var ns []string
		for _, e := range l.EventTypes {
			ns = append(ns, e.Name)
		}
		return ns
	}
	if got := strings.Join(names(), ","); got != "order.created,order.paid" {
		t.Fatalf("event-types list: %s", got)
	}
	if got := strings.Join(names("--archived"), ","); got != "order.created,order.paid,order.shipped" {
		t.Fatalf("event-types list --archived: %s", got)
	}
	if out := mustRun(t, dir, env, "event-types", "get", "order.created", "--tenant", "acme"); !strings.Contains(out, `"required":["id"]`) || !strings.Contains(out, `"o_1"`) {
		t.Fatalf("event-types get shows no schema or example:\n%s", out)
	}

	// Endpoints.
	epArgs := []string{"endpoints", "create", "--tenant", "acme", "--app", appID, "--event-types", "order.created,order.paid"}
	const token = "Bearer s3cr3t-receiver-token"
	for _, tc := range []struct {
		name  string
		args  []string
		wants []string
	}{
		{"no app", []string{"endpoints", "create", "--tenant", "acme", "--url", "https://x.example", "--event-types", "order.created"}, []string{"flag --app"}},
		{"no url", epArgs, []string{"flag --url"}},
		{"no event types", []string{"endpoints", "create", "--tenant", "acme", "--app", appID, "--url", "https://x.example"}, []string{"flag --event-types"}},
		{"http refused", append(epArgs, "--url", "http://receiver.example/hooks"), []string{"invalid_argument", "endpoint.url", "https"}},
		{"unknown event type", []string{"endpoints", "create", "--tenant", "acme", "--app", appID, "--url", "https://x.example", "--event-types", "order.missing"}, []string{"order.missing"}},
		{"archived event type", []string{"endpoints", "create", "--tenant", "acme", "--app", appID, "--url", "https://x.example", "--event-types", "order.shipped"}, []string{"order.shipped"}},
		{"Host header", append(epArgs, "--url", "https://x.example", "--header", "Host=evil.example"), []string{"endpoint.headers", "Host"}},
		{"webhook- header", append(epArgs, "--url", "https://x.example", "--header", "webhook-id=1"), []string{"endpoint.headers", "Webhook-Id"}},
		{"header without value", append(epArgs, "--url", "https://x.example", "--header", "Authorization"), []string{"flag --header", "Name=value"}},
		{"timeout too long", append(epArgs, "--url", "https://x.example", "--timeout-ms", "60000"), []string{"endpoint.timeout_ms"}},
		{"unknown app", []string{"endpoints", "create", "--tenant", "acme", "--app", "app_doesnotexist", "--url", "https://x.example", "--event-types", "order.created"}, []string{"not_found"}},
	} {
		t.Run("endpoints/"+tc.name, func(t *testing.T) {
			errOut := mustFail(t, dir, env, tc.wants, tc.args...)
			if strings.Contains(errOut, "s3cr3t") {
				t.Fatalf("error shows a header value: %q", errOut)
			}
		})
	}
	out := mustRun(t, dir, env, append(epArgs, "--url", "https://receiver.example/hooks", "--name", "primary", "--description", "orders",
		"--rate", "50", "--burst", "100", "--max-in-flight", "10", "--timeout-ms", "5000",
		"--header", "Authorization="+token, "--header", "X-Team=payments")...)
	idm, secm := endpointLine.FindStringSubmatch(out), whsecLine.FindStringSubmatch(out)
	if idm == nil || secm == nil {
		t.Fatalf("endpoints create printed no id or secret:\n%s", out)
	}
	epID, secret := idm[1], secm[1]

	noSecrets := func(what, out string, secrets ...string) {
		t.Helper()
		for _, s := range append(secrets, "s3cr3t") {
			if strings.Contains(out, s) {
				t.Fatalf("%s shows a secret:\n%s", what, out)
			}
		}
	}
	out = mustRun(t, dir, env, "endpoints", "get", epID, "--tenant", "acme")
	noSecrets("endpoints get", out, secret)
	for _, want := range []string{"Authorization: REDACTED", "X-Team: payments", "50/s burst 100", "5000 ms", "order.created, order.paid", "enabled"} {
		if !strings.Contains(out, want) {
			t.Fatalf("endpoints get lacks %q:\n%s", want, out)
		}
	}
	var got hookgatev1.GetEndpointResponse
	protoOut(t, dir, env, &got, "endpoints", "get", epID, "--tenant", "acme")
	if e := got.Endpoint; e.Headers["Authorization"] != "REDACTED" || e.RateLimitPerSecond != 50 || e.Burst != 100 ||
		e.MaxInFlight != 10 || e.TimeoutMs != 5000 || e.Name != "primary" || e.Status != hookgatev1.EndpointStatus_ENDPOINT_STATUS_ENABLED {
		t.Fatalf("endpoints get -o json: %v", e)
	}
	listOut := mustRun(t, dir, env, "endpoints", "list", "--tenant", "acme", "--app", appID, "-o", "json")
	noSecrets("endpoints list", listOut, secret)
	var list hookgatev1.ListEndpointsResponse
	if err := protojson.Unmarshal([]byte(listOut), &list); err != nil || len(list.Endpoints) != 1 || list.Endpoints[0].Headers["Authorization"] != "REDACTED" {
		t.Fatalf("endpoints list -o json (%v):\n%s", err, listOut)
	}
	if out := mustRun(t, dir, env, "endpoints", "list", "--tenant", "acme"); !strings.Contains(out, epID) || !strings.Contains(out, "https://receiver.example/hooks") {
		t.Fatalf("endpoints list:\n%s", out)
	}

	// The secret is readable (the tenant default), and rotation replaces it.
	if out := strings.TrimSpace(mustRun(t, dir, env, "endpoints", "secret", epID, "--tenant", "acme")); out != secret {
		t.Fatalf("endpoints secret printed %q, want the secret of create", out)
	}
	out = mustRun(t, dir, env, "endpoints", "rotate-secret", epID, "--tenant", "acme")
	m := whsecLine.FindStringSubmatch(out)
	if m == nil || m[1] == secret || !strings.Contains(out, "stopped signing now") {
		t.Fatalf("endpoints rotate-secret:\n%s", out)
	}
	rotated := m[1]
	if out := strings.TrimSpace(mustRun(t, dir, env, "endpoints", "secret", epID, "--tenant", "acme")); out != rotated {
		t.Fatalf("endpoints secret after rotation printed %q, want the rotated one", out)
	}
	var rot hookgatev1.RotateEndpointSecretResponse
	protoOut(t, dir, env, &rot, "endpoints", "rotate-secret", epID, "--tenant", "acme", "--grace", "1h")
	if !strings.HasPrefix(rot.Secret, "whsec_") || rot.Secret == rotated || rot.Endpoint.GetPreviousSecretExpireTime() == nil {
		t.Fatalf("endpoints rotate-secret --grace 1h: %v", &rot)
	}
	noSecrets("endpoints get after rotation", mustRun(t, dir, env, "endpoints", "get", epID, "--tenant", "acme", "-o", "json"), secret, rotated, rot.Secret)
	mustFail(t, dir, env, []string{"flag --grace"}, "endpoints", "rotate-secret", epID, "--tenant", "acme", "--grace", "-1s")

	// Update sets only what was given; REDACTED keeps the stored value.
	var upd hookgatev1.UpdateEndpointResponse
	protoOut(t, dir, env, &upd, "endpoints", "update", epID, "--tenant", "acme", "--name", "main", "--rate", "20")
	if e := upd.Endpoint; e.Name != "main" || e.RateLimitPerSecond != 20 || e.Burst != 100 || e.Headers["Authorization"] != "REDACTED" || e.Description != "orders" {
		t.Fatalf("endpoints update --name --rate: %v", e)
	}
	protoOut(t, dir, env, &upd, "endpoints", "update", epID, "--tenant", "acme", "--header", "Authorization=REDACTED", "--event-types", "order.created")
	if e := upd.Endpoint; e.Headers["Authorization"] != "REDACTED" || len(e.Headers) != 1 || strings.Join(e.EventTypes, ",") != "order.created" {
		t.Fatalf("endpoints update --header --event-types: %v", e)
	}
	mustFail(t, dir, env, []string{"invalid_argument", "endpoint.url"}, "endpoints", "update", epID, "--tenant", "acme", "--url", "http://receiver.example")
	mustFail(t, dir, env, []string{"nothing to update"}, "endpoints", "update", epID, "--tenant", "acme")

	// Disable and enable.
	if out := mustRun(t, dir, env, "endpoints", "disable", epID, "--tenant", "acme"); !strings.Contains(out, epID+" disabled") {
		t.Fatalf("endpoints disable: %q", out)
	}
	protoOut(t, dir, env, &got, "endpoints", "get", epID, "--tenant", "acme")
	if got.Endpoint.Status != hookgatev1.EndpointStatus_ENDPOINT_STATUS_DISABLED || got.Endpoint.DisabledReason != hookgatev1.EndpointDisabledReason_ENDPOINT_DISABLED_REASON_MANUAL {
		t.Fatalf("after disable: %v %v", got.Endpoint.Status, got.Endpoint.DisabledReason)
	}
	if out := mustRun(t, dir, env, "endpoints", "get", epID, "--tenant", "acme"); !strings.Contains(out, "disabled (manual)") {
		t.Fatalf("endpoints get after disable:\n%s", out)
	}
	mustRun(t, dir, env, "endpoints", "enable", epID, "--tenant", "acme")
	protoOut(t, dir, env, &got, "endpoints", "get", epID, "--tenant", "acme")
	if got.Endpoint.Status != hookgatev1.EndpointStatus_ENDPOINT_STATUS_ENABLED {
		t.Fatalf("after enable: %v", got.Endpoint.Status)
	}

	// A tenant that allows http takes an http URL.
	var labApp hookgatev1.CreateApplicationResponse
	protoOut(t, dir, env, &labApp, "apps", "create", "--tenant", "lab", "--name", "Lab")
	mustRun(t, dir, env, "event-types", "create", "ping", "--tenant", "lab")
	var labEP hookgatev1.CreateEndpointResponse
	protoOut(t, dir, env, &labEP, "endpoints", "create", "--tenant", "lab", "--app", labApp.Application.Id,
		"--url", "http://127.0.0.1:9/hooks", "--event-types", "ping")
	if !strings.HasPrefix(labEP.Secret, "whsec_") || labEP.Endpoint.Url != "http://127.0.0.1:9/hooks" || labEP.Endpoint.TimeoutMs != 5000 {
		t.Fatalf("http endpoint of lab: %v", &labEP)
	}

	// Delete the endpoint; deleting the application deletes the rest.
	if out := mustRun(t, dir, env, "endpoints", "delete", epID, "--tenant", "acme"); !strings.Contains(out, epID+" deleted") {
		t.Fatalf("endpoints delete: %q", out)
	}
	mustFail(t, dir, env, []string{"not_found"}, "endpoints", "get", epID, "--tenant", "acme")
	protoOut(t, dir, env, &labEP, "endpoints", "create", "--tenant", "acme", "--app", appID, "--url", "https://b.example", "--event-types", "order.paid")
	mustRun(t, dir, env, "apps", "delete", appID, "--tenant", "acme")
	mustFail(t, dir, env, []string{"not_found"}, "apps", "get", appID, "--tenant", "acme")
	mustFail(t, dir, env, []string{"not_found"}, "endpoints", "get", labEP.Endpoint.Id, "--tenant", "acme")
}
