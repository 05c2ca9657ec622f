package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// run runs the CLI in dir with env and returns stdout, stderr and the error.
func run(t *testing.T, dir string, env []string, args ...string) (string, string, error) {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Dir = dir
	cmd.Env = append(cmd.Environ(), env...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// mustRun runs the CLI and fails the test when it exits non-zero.
func mustRun(t *testing.T, dir string, env []string, args ...string) string {
	t.Helper()
	out, errOut, err := run(t, dir, env, args...)
	if err != nil {
		t.Fatalf("hookgate %v: %v\n%s", args, err, errOut)
	}
	return out
}

var (
	keyLine   = regexp.MustCompile(`API key \(shown once\): (hgk_\S+)`)
	urlLine   = regexp.MustCompile(`URL \(shown once\):\s+(\S+)`)
	tokenLine = regexp.MustCompile(`token \(shown once\): (hga_\S+)`)
	idLine    = regexp.MustCompile(`webhook (wh_[0-9a-z]+) created`)
)

func TestCLIAndAPIsAgainstDev(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	d := startDev(t, dir)
	// The CLI finds the admin token in .hookgate/admin-token of its folder.
	srv := []string{"HOOKGATE_SERVER=" + d.admin}

	out := mustRun(t, dir, srv, "tenants", "create", "acme", "--display-name", "Acme")
	if !strings.Contains(out, "acme") || !strings.Contains(out, "Acme") {
		t.Fatalf("tenants create printed %q", out)
	}
	out = mustRun(t, dir, srv, "tokens", "create", "--tenant", "acme", "--description", "ci")
	m := tokenLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("tokens create printed no token: %q", out)
	}
	tenantToken := m[1]

	// The tenant token (from HOOKGATE_TOKEN) creates a webhook.
	tenantEnv := append(srv, "HOOKGATE_TOKEN="+tenantToken)
	out = mustRun(t, t.TempDir(), tenantEnv, "webhooks", "create", "--tenant", "acme", "--name", "Stripe prod",
		"--provider", "stripe", "--process", "orders", "--secret", "signing_secret=whsec_test_secret_value")
	key, url, id := keyLine.FindStringSubmatch(out), urlLine.FindStringSubmatch(out), idLine.FindStringSubmatch(out)
	if key == nil || url == nil || id == nil {
		t.Fatalf("webhooks create printed %q", out)
	}
	if want := d.edge + "/in/acme/" + id[1] + "?key=" + key[1]; url[1] != want {
		t.Fatalf("URL %q, want %q", url[1], want)
	}

	// get and list never show the key or the secret.
	for _, args := range [][]string{
		{"webhooks", "get", id[1], "--tenant", "acme"},
		{"webhooks", "get", id[1], "--tenant", "acme", "-o", "json"},
		{"webhooks", "list", "--tenant", "acme"},
	} {
		out := mustRun(t, dir, srv, args...)
		if strings.Contains(out, key[1]) || strings.Contains(out, "whsec_test_secret_value") {
			t.Fatalf("%v shows a secret:\n%s", args, out)
		}
		if !strings.Contains(out, id[1]) || !strings.Contains(out, key[1][:8]) {
			t.Fatalf("%v lacks the id or key prefix:\n%s", args, out)
		}
	}
	var got struct {
		Webhook struct {
			ID        string `json:"id"`
			KeyPrefix string `json:"keyPrefix"`
		} `json:"webhook"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, dir, srv, "webhooks", "get", id[1], "--tenant", "acme", "-o", "json")), &got); err != nil {
		t.Fatalf("-o json is not JSON: %v", err)
	}
	if got.Webhook.ID != id[1] || got.Webhook.KeyPrefix != key[1][:8] {
		t.Fatalf("-o json webhook %+v", got.Webhook)
	}

	out = mustRun(t, dir, srv, "webhooks", "deactivate", id[1], "--tenant", "acme")
	if !regexp.MustCompile(`active\s+false`).MatchString(out) {
		t.Fatalf("deactivate printed %q", out)
	}
	mustRun(t, dir, srv, "webhooks", "activate", id[1], "--tenant", "acme")
	out = mustRun(t, dir, srv, "webhooks", "rotate-key", id[1], "--tenant", "acme", "--grace", "1h")
	if k := keyLine.FindStringSubmatch(out); k == nil || k[1] == key[1] || !strings.Contains(out, key[1][:8]) {
		t.Fatalf("rotate-key printed %q", out)
	}

	// Errors: one clear line, non-zero exit.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"webhooks", "create", "--tenant", "acme", "--name", "x", "--process", "p"}, "webhook.name"},
		{[]string{"webhooks", "create", "--tenant", "acme", "--name", "slack one", "--provider", "slack", "--process", "p"}, "signing_secret"},
		{[]string{"webhooks", "create", "--tenant", "acme", "--name", "resume", "--process", "p", "--trigger", "resume", "--correlation-path", "a..b"}, "correlation_path"},
		{[]string{"webhooks", "get", "wh_nope", "--tenant", "acme"}, "not_found"},
		{[]string{"webhooks", "list"}, "--tenant"},
		{[]string{"tenants", "create", "Bad_Slug"}, "tenant.id"},
	} {
		_, errOut, err := run(t, dir, srv, c.args...)
		if err == nil {
			t.Fatalf("%v succeeded", c.args)
		}
		lines := strings.Split(strings.TrimSpace(errOut), "\n")
		if len(lines) != 1 || !strings.HasPrefix(lines[0], "hookgate: ") || !strings.Contains(lines[0], c.want) {
			t.Fatalf("%v stderr %q, want one line naming %q", c.args, errOut, c.want)
		}
	}
	// The tenant token cannot reach other tenants.
	mustRun(t, dir, srv, "tenants", "create", "globex")
	if _, errOut, err := run(t, dir, tenantEnv, "webhooks", "list", "--tenant", "globex"); err == nil || !strings.Contains(errOut, "permission_denied") {
		t.Fatalf("tenant token listed another tenant: %v %q", err, errOut)
	}

	// Connect JSON with curl-style HTTP.
	req, _ := http.NewRequest(http.MethodPost, d.admin+"/hookgate.v1.InboundWebhookService/GetWebhook",
		strings.NewReader(`{"tenant":"acme","webhookId":"`+id[1]+`"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tenantToken)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var gw struct {
		Webhook struct {
			Name string `json:"name"`
		} `json:"webhook"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(body, &gw) != nil || gw.Webhook.Name != "Stripe prod" || strings.Contains(string(body), key[1]) {
		t.Fatalf("Connect JSON GetWebhook = %d %s", resp.StatusCode, body)
	}
	req, _ = http.NewRequest(http.MethodPost, d.admin+"/hookgate.v1.TenantService/ListTenants", strings.NewReader(`{}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err = (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("Connect JSON without a token = %d, want 401", resp.StatusCode)
	}

	// Real gRPC over h2c, as grpcurl would call it.
	conn, err := grpc.NewClient(strings.TrimPrefix(d.admin, "http://"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	authed := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+d.token)
	var list hookgatev1.ListWebhooksResponse
	if err := conn.Invoke(authed, "/hookgate.v1.InboundWebhookService/ListWebhooks", &hookgatev1.ListWebhooksRequest{Tenant: "acme"}, &list); err != nil {
		t.Fatalf("gRPC ListWebhooks: %v", err)
	}
	if len(list.Webhooks) != 1 || list.Webhooks[0].Id != id[1] {
		t.Fatalf("gRPC ListWebhooks = %v", list.Webhooks)
	}
	err = conn.Invoke(ctx, "/hookgate.v1.InboundWebhookService/ListWebhooks", &hookgatev1.ListWebhooksRequest{Tenant: "acme"}, &list)
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("gRPC without token: %v, want Unauthenticated", err)
	}
	// And with nothing compiled in: schema from reflection, JSON in and out.
	out, err = grpcurl(t, conn, d.token, "hookgate.v1.InboundWebhookService/CreateWebhook",
		`{"webhook":{"tenant":"globex","name":"grpcurl hook","provider":"PROVIDER_GENERIC","bindings":[{"processId":"p1","trigger":"TRIGGER_START_PROCESS"}]}}`)
	var created struct {
		APIKey     string `json:"apiKey"`
		URLWithKey string `json:"urlWithKey"`
	}
	if err != nil || json.Unmarshal([]byte(out), &created) != nil || !strings.HasPrefix(created.APIKey, "hgk_") || !strings.Contains(created.URLWithKey, "/in/globex/wh_") {
		t.Fatalf("grpcurl-style CreateWebhook = %s, %v", out, err)
	}
	if _, err := grpcurl(t, conn, d.token, "hookgate.v1.InboundWebhookService/CreateWebhook", `{"webhook":{"tenant":"globex","name":"no bindings","provider":"PROVIDER_GENERIC"}}`); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("grpcurl-style bad create: %v, want InvalidArgument", err)
	}
	mustRun(t, dir, srv, "webhooks", "delete", id[1], "--tenant", "acme")
	if _, errOut, err := run(t, dir, srv, "webhooks", "get", id[1], "--tenant", "acme"); err == nil || !strings.Contains(errOut, "not_found") {
		t.Fatalf("get after delete: %v %q", err, errOut)
	}
}
