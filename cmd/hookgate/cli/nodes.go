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
				rows = append(rows, []string{n.Id, strings.TrimPrefix(n.Role.String(), "NODE_ROLE_"), n.Address,
					strconv.FormatInt(n.ConfigRevision, 10), strconv.FormatInt(n.Lag, 10),
					timeText(n.ConnectTime, n.ConnectTime != nil), n.ControlPlane, nack})
			}
			return c.table([]string{"ID", "ROLE", "ADDRESS", "REVISION", "LAG", "CONNECTED SINCE", "CONTROL PLANE", "LAST NACK"}, rows)
		},
	}
	flags.register(cmd)
	cmd.Flags().StringVar(&role, "role", "", "only edge or dispatcher nodes")
	return cmd
}
