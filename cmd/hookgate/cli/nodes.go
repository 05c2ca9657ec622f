package cli

import (
	"fmt"
	"strconv"
	"strings"

	"connectrpc.com/connect"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/gen/hookgate/v1/hookgatev1connect"
	"github.com/spf13/cobra"
)

func newNodesCommand() *cobra.Command {
	var flags cliFlags
	var role string
	cmd := &cobra.Command{
		Use:   "nodes",
		Short: "List connected data-plane nodes with their config revision and lag (platform token)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := flags.client(cmd)
			if err != nil {
				return err
			}
			req := &hookgatev1.ListNodesRequest{}
			switch strings.ToLower(role) {
			case "":
			case "edge":
				req.Role = hookgatev1.NodeRole_NODE_ROLE_EDGE
			case "dispatcher":
				req.Role = hookgatev1.NodeRole_NODE_ROLE_DISPATCHER
			default:
				return fmt.Errorf("flag --role %q: want edge or dispatcher", role)
			}
			resp, err := hookgatev1connect.NewEdgeServiceClient(c.http, c.server, c.opts...).ListNodes(cmd.Context(), connect.NewRequest(req))
			if err != nil {
				return apiError(err)
			}
			if c.json() {
				return c.printJSON(resp.Msg)
			}
			rows := make([][]string, 0, len(resp.Msg.Nodes))
			for _, n := range resp.Msg.Nodes {
				nack := "-"
				if n.LastNack != "" {
					nack = n.LastNack + " at " + timeText(n.LastNackTime, n.LastNackTime != nil)
				}
				rows = append(rows, []string{n.Id, strings.TrimPrefix(n.Role.String(), "NODE_ROLE_"), n.Address, shardText(n.Shard),
					strconv.FormatInt(n.ConfigRevision, 10), strconv.FormatInt(n.Lag, 10), trafficText(n.Role, n.Traffic),
					timeText(n.ConnectTime, n.ConnectTime != nil), n.ControlPlane, nack})
			}
			return c.table([]string{"ID", "ROLE", "ADDRESS", "SHARD", "REVISION", "LAG", "REQUESTS", "CONNECTED SINCE", "CONTROL PLANE", "LAST NACK"}, rows)
		},
	}
	flags.register(cmd)
	cmd.Flags().StringVar(&role, "role", "", "only edge or dispatcher nodes")
	return cmd
}

// shardText shows an edge's shard: "1/4" for a hash shard, the tenants
// (the first three, then how many more) for a list, "-" for every tenant.
func shardText(s *hookgatev1.EdgeShard) string {
	switch t := s.GetTenants(); {
	case s.GetCount() > 0:
		return strconv.FormatUint(uint64(s.GetIndex()), 10) + "/" + strconv.FormatUint(uint64(s.GetCount()), 10)
	case len(t) > 3:
		return strings.Join(t[:3], ",") + fmt.Sprintf(",+%d more", len(t)-3)
	case len(t) > 0:
		return strings.Join(t, ",")
	}
	return "-"
}

// trafficText shows what a node reported it handled since it started, in
// one cell without spaces: an edge's inbound calls by class of answer
// ("ok=120,auth=3,4xx=1,5xx=0"), a dispatcher's delivery attempts
// ("delivered=40,failed=2"); "-" for a node that reported nothing.
func trafficText(role hookgatev1.NodeRole, t *hookgatev1.NodeTraffic) string {
	if t == nil {
		return "-"
	}
	if role == hookgatev1.NodeRole_NODE_ROLE_DISPATCHER {
		return fmt.Sprintf("delivered=%d,failed=%d", t.GetDelivered(), t.GetFailed())
	}
	return fmt.Sprintf("ok=%d,auth=%d,4xx=%d,5xx=%d", t.GetAccepted(), t.GetRejectedAuth(), t.GetRejectedOther(), t.GetUnavailable())
}
