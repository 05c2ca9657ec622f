package configtest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/hookgate/hookgate/controlplane/distribute"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/testkit/poll"
)

// refusal is a stream the control plane must refuse before it sends
// anything.
type refusal struct {
	name    string
	client  *http.Client // nil: h2c
	token   string
	hello   *hookgatev1.ConfigHello
	code    connect.Code
	message string // what the error must say, if anything
}

func (tc refusal) check(t *testing.T, cp *controlPlane) {
	t.Helper()
	client := tc.client
	if client == nil {
		client = h2cClient()
	}
	resp, err := dialRaw(t, client, cp.url, tc.token, tc.hello).recvErr(t)
	if resp != nil {
		t.Errorf("received an update (snapshot=%v, %d resources) before the refusal", resp.GetSnapshot(), len(resp.GetUpserts()))
	}
	if connect.CodeOf(err) != tc.code {
		t.Fatalf("got %v; want %v", err, tc.code)
	}
	if !strings.Contains(err.Error(), tc.message) {
		t.Errorf("error %q; want it to say %q", err, tc.message)
	}
	for _, secret := range []string{edgeToken, dispatcherToken, sharedToken} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error %q shows a node token", err)
		}
	}
}

const sharedToken = "shared-token-test"

// TestNodeAuthentication: every stream needs a credential; a role's token
// may only ask for its role, the shared token for any.
func TestNodeAuthentication(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.put(t, webhook{tenant: "acme", id: "wh_1", key: "k1", secrets: map[string]string{"signing_secret": "s3cret"}})
	cp := e.startCP(t, distribute.Config{EdgeToken: edgeToken, DispatcherToken: dispatcherToken, NodeToken: sharedToken})
	for _, tc := range []struct {
		name  string
		token string
		role  hookgatev1.NodeRole
	}{
		{"edge token, edge role", edgeToken, edge},
		{"dispatcher token, dispatcher role", dispatcherToken, dispatcher},
		{"shared token, edge role", sharedToken, edge},
		{"shared token, dispatcher role", sharedToken, dispatcher},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := dialRaw(t, h2cClient(), cp.url, tc.token, hello("ok-1", tc.role, 0)).recvErr(t)
			if err != nil || !resp.GetSnapshot() {
				t.Fatalf("got %v, %v; want a snapshot", resp, err)
			}
		})
	}
	for _, tc := range []refusal{
		{name: "no token", hello: hello("edge-1", edge, 0), code: connect.CodeUnauthenticated},
		{name: "wrong token", token: "edge-token-other", hello: hello("edge-2", edge, 0), code: connect.CodeUnauthenticated},
		{name: "prefix of a token", token: "edge-token", hello: hello("edge-3", edge, 0), code: connect.CodeUnauthenticated},
		{name: "edge token asking for the dispatcher role", token: edgeToken, hello: hello("edge-4", dispatcher, 0),
			code: connect.CodePermissionDenied, message: "credential for role edge may not ask for role dispatcher"},
		{name: "dispatcher token asking for the edge role", token: dispatcherToken, hello: hello("disp-1", edge, 0),
			code: connect.CodePermissionDenied, message: "credential for role dispatcher may not ask for role edge"},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.check(t, cp) })
	}
	for reason, want := range map[string]float64{"unauthenticated": 3, "permission_denied": 2} {
		if got := cp.metric(t, "hookgate_config_streams_refused_total", "reason", reason); got != want {
			t.Errorf("%s refusals = %v, want %v", reason, got, want)
		}
	}

	// configsync nodes with their role's token.
	startNode(t, nodeConfig(cp.url, "edge-5", edge)).waitWebhook(t, "acme", "wh_1", nil)
	wrongRole := nodeConfig(cp.url, "disp-2", dispatcher)
	wrongRole.NodeToken = edgeToken
	n := startNode(t, wrongRole)
	poll.NoError(t, 10*time.Second, func() error {
		if got := cp.metric(t, "hookgate_config_streams_refused_total", "reason", "permission_denied"); got < 3 {
			return fmt.Errorf("permission_denied refusals = %v, want the dispatcher with the edge token refused", got)
		}
		return nil
	})
	if rev := n.table.Status().Revision; rev != 0 {
		t.Errorf("a dispatcher with the edge token holds revision %d, want nothing", rev)
	}
}
