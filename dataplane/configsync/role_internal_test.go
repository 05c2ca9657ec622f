package configsync

import (
	"strings"
	"testing"

	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
)

// TestCheckRole: least privilege on the node side too — an edge refuses
// endpoints (they carry signing secrets) and a dispatcher refuses inbound
// webhooks, whatever a control plane sends.
func TestCheckRole(t *testing.T) {
	ep := &hookgatev1.ConfigResource{Key: "endpoint/acme/ep_1", Resource: &hookgatev1.ConfigResource_Endpoint{Endpoint: &hookgatev1.DispatchEndpoint{Id: "ep_1"}}}
	wh := &hookgatev1.ConfigResource{Key: "webhook/acme/wh_1", Resource: &hookgatev1.ConfigResource_Webhook{Webhook: &hookgatev1.EdgeWebhook{Id: "wh_1"}}}
	app := &hookgatev1.ConfigResource{Key: "application/acme/app_1", Resource: &hookgatev1.ConfigResource_Application{Application: &hookgatev1.OutboundApplication{Id: "app_1"}}}
	tests := []struct {
		role hookgatev1.NodeRole
		res  *hookgatev1.ConfigResource
		want string
	}{
		{hookgatev1.NodeRole_NODE_ROLE_EDGE, ep, "for dispatchers"},
		{hookgatev1.NodeRole_NODE_ROLE_EDGE, wh, ""},
		{hookgatev1.NodeRole_NODE_ROLE_EDGE, app, ""},
		{hookgatev1.NodeRole_NODE_ROLE_DISPATCHER, wh, "for edges"},
		{hookgatev1.NodeRole_NODE_ROLE_DISPATCHER, ep, ""},
		{hookgatev1.NodeRole_NODE_ROLE_DISPATCHER, app, ""},
	}
	for _, tt := range tests {
		c := &Client{cfg: Config{Role: tt.role}}
		err := c.checkRole(&hookgatev1.StreamConfigResponse{Revision: 1, Upserts: []*hookgatev1.ConfigResource{tt.res}})
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%v taking %s: %v, want %q", tt.role, tt.res.GetKey(), err, tt.want)
		}
	}
}
