package cli

import (
	"errors"
	"fmt"
	"strings"

	"connectrpc.com/connect"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/gen/hookgate/v1/hookgatev1connect"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
)

func newMessagesCommand() *cobra.Command {
	var flags cliFlags
	cmd := &cobra.Command{Use: "messages", Short: "Send outbound messages (through an edge)"}
	flags.register(cmd)
	cmd.AddCommand(newMessagesSendCommand(&flags))
	cmd.AddCommand(newMessagesListCommand(&flags), newMessagesGetCommand(&flags))
	cmd.AddCommand(newMessagesResendCommand(&flags))
	return cmd
}

func newMessagesSendCommand(flags *cliFlags) *cobra.Command {
	var tenant, app, eventType, payload, key, edge string
	cmd := &cobra.Command{
		Use:   "send --tenant T --app APP --event-type NAME --payload JSON|@FILE",
		Short: "Send a message to an application; prints its id once JetStream has stored it",
		Long: "Send a message through an edge's MessageService.SendMessage. The token is a producer token (hgp_…) of the tenant\n" +
			"or an admin token whose scope covers it. The payload must satisfy the event type's schema. With --idempotency-key,\n" +
			"a repeat within the stream's duplicate window returns the first message's id and sends nothing twice.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, f := range []struct{ name, value string }{{"tenant", tenant}, {"app", app}, {"event-type", eventType}, {"payload", payload}} {
				if f.value == "" {
					return fmt.Errorf("flag --%s: required", f.name)
				}
			}
			raw := []byte(payload)
			if name, ok := strings.CutPrefix(payload, "@"); ok {
				b, err := readJSONFile(name, cmd.InOrStdin())
				if err != nil {
					return fmt.Errorf("flag --payload: %w", err)
				}
				raw = b
			}
			value := &structpb.Value{}
			if err := protojson.Unmarshal(raw, value); err != nil {
				return fmt.Errorf("flag --payload: not JSON: %w", err)
			}
			c, err := flags.client(cmd)
			if err != nil {
				return err
			}
			client := hookgatev1connect.NewMessageServiceClient(c.http, strings.TrimRight(edge, "/"), c.opts...)
			req := connect.NewRequest(&hookgatev1.SendMessageRequest{Message: &hookgatev1.Message{
				Tenant: tenant, ApplicationId: app, EventType: eventType, EventId: key, Payload: value,
			}})
			// For load balancers that route SendMessage by tenant to
			// sharded edges (docs/design.md, "Sharded edges").
			req.Header().Set("Hookgate-Tenant", tenant)
			resp, err := client.SendMessage(cmd.Context(), req)
			if err != nil {
				return edgeError(err)
			}
			if c.json() {
				return c.printJSON(resp.Msg.GetMessage())
			}
			_, err = fmt.Fprintln(c.out, resp.Msg.GetMessage().GetId())
			return err
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&tenant, "tenant", "", "tenant of the application (required)")
	fs.StringVar(&app, "app", "", "application id, app_… (required)")
	fs.StringVar(&eventType, "event-type", "", "event type, e.g. order.created (required)")
	fs.StringVar(&payload, "payload", "", "the payload as JSON, or @FILE (@- for stdin) (required)")
	fs.StringVar(&key, "idempotency-key", "", "the producer's id of this event: a repeat within the duplicate window is sent once")
	fs.StringVar(&edge, "edge", "http://127.0.0.1:8080", "edge URL (the public ingress port)")
	return cmd
}

// edgeError turns a Connect error from the edge into one readable line.
func edgeError(err error) error {
	var ce *connect.Error
	if errors.As(err, &ce) && (ce.Code() == connect.CodeUnavailable || ce.Code() == connect.CodeUnknown) {
		return fmt.Errorf("edge: %s (%s)", ce.Message(), ce.Code())
	}
	return apiError(err)
}
