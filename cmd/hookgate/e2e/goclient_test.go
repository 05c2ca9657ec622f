package e2e

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/gen/hookgate/v1/hookgatev1connect"
)

// TestGoClientExample runs the README's Go example (section "Clients")
// against the built binary, so the example cannot rot: the generated
// Connect client creates a webhook and a second run is refused.
func TestGoClientExample(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	d := startDev(t, dir)
	env := []string{"HOOKGATE_SERVER=" + d.admin}
	mustRun(t, dir, env, "tenants", "create", "acme")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// The README's example, with the dev server's address and token.
	create := func() (*connect.Response[hookgatev1.CreateWebhookResponse], error) {
		webhooks := hookgatev1connect.NewInboundWebhookServiceClient(http.DefaultClient, d.admin)
		req := connect.NewRequest(&hookgatev1.CreateWebhookRequest{Webhook: &hookgatev1.Webhook{
			Tenant: "acme", Name: "payments", Provider: hookgatev1.Provider_PROVIDER_GENERIC,
			Bindings: []*hookgatev1.Binding{{ProcessId: "payments", Trigger: hookgatev1.Trigger_TRIGGER_START_PROCESS}},
		}})
		req.Header().Set("Authorization", "Bearer "+d.token)
		return webhooks.CreateWebhook(ctx, req)
	}
	resp, err := create()
	if err != nil {
		t.Fatalf("CreateWebhook: %v", err)
	}
	id, url := resp.Msg.GetWebhook().GetId(), resp.Msg.GetUrlWithKey()
	if !strings.HasPrefix(id, "wh_") || !strings.Contains(url, "/in/acme/"+id+"?key=hgk_") {
		t.Fatalf("CreateWebhook answered id %q url %q", id, url)
	}
	if _, err := create(); connect.CodeOf(err) != connect.CodeAlreadyExists {
		t.Fatalf("second CreateWebhook: %v, want already_exists", err)
	}
	var ce *connect.Error
	if _, err := create(); !errors.As(err, &ce) || !strings.Contains(ce.Message(), `"payments"`) {
		t.Fatalf("second CreateWebhook error %v does not name the webhook", err)
	}
}
