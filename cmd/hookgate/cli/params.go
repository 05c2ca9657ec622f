package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"connectrpc.com/connect"
	"github.com/hookgate/hookgate/controlplane/admin"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/gen/hookgate/v1/hookgatev1connect"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/durationpb"
)

// maxSecretInput bounds a value read from stdin: the API takes 4 KiB.
const maxSecretInput = 64 << 10

// secretValue returns value, or for "-" what stdin holds, without one
// trailing newline (what `echo` and here-strings add). It never echoes the
// value in an error.
func secretValue(value string, stdin io.Reader) (string, error) {
	if value != "-" {
		return value, nil
	}
	b, err := io.ReadAll(io.LimitReader(stdin, maxSecretInput+1))
	if err != nil {
		return "", fmt.Errorf("read the value from stdin: %w", err)
	}
	if len(b) > maxSecretInput {
		return "", fmt.Errorf("the value on stdin is over %d bytes", maxSecretInput)
	}
	s := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if s == "" {
		return "", errors.New("the value on stdin is empty")
	}
	return s, nil
}

// parseParamArg splits NAME=VALUE; VALUE "-" reads stdin.
func parseParamArg(arg string, stdin io.Reader) (name, value string, err error) {
	name, value, ok := strings.Cut(arg, "=")
	if !ok || name == "" {
		// Never echo the argument: it holds the value.
		return "", "", errors.New("argument: want NAME=VALUE, or NAME=- to read the value from stdin")
	}
	value, err = secretValue(value, stdin)
	if err != nil {
		return "", "", err
	}
	return name, value, nil
}

func newParamsCommand() *cobra.Command {
	var flags cliFlags
	var tenant string
	cmd := &cobra.Command{Use: "params", Short: "Manage a tenant's config parameters (write-only values that provider secrets refer to as ${configParam.NAME})"}
	flags.register(cmd)
	cmd.PersistentFlags().StringVar(&tenant, "tenant", "", "tenant of the parameters (required)")
	client := func(cmd *cobra.Command) (*cli, hookgatev1connect.ConfigParamServiceClient, error) {
		if tenant == "" {
			return nil, nil, fmt.Errorf("flag --tenant: required")
		}
		c, err := flags.client(cmd)
		if err != nil {
			return nil, nil, err
		}
		return c, hookgatev1connect.NewConfigParamServiceClient(c.http, c.server, c.opts...), nil
	}

	set := &cobra.Command{
		Use:   "set NAME=VALUE",
		Short: "Create or change a parameter; webhooks that refer to it get the new value, and the old one verifies for 24 h",
		Long: "Create or change a parameter. NAME=- reads the value from stdin, which keeps it out of the shell history.\n" +
			"Every webhook whose provider secret is ${configParam.NAME} receives the new value at once; the previous\n" +
			"value keeps verifying for 24 hours.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, value, err := parseParamArg(args[0], cmd.InOrStdin())
			if err != nil {
				return err
			}
			c, pc, err := client(cmd)
			if err != nil {
				return err
			}
			resp, err := pc.SetConfigParam(cmd.Context(), connect.NewRequest(&hookgatev1.SetConfigParamRequest{Tenant: tenant, Name: name, Value: value}))
			if err != nil {
				return apiError(err)
			}
			if c.json() {
				return c.printJSON(resp.Msg)
			}
			_, err = fmt.Fprintf(c.out, "parameter %s set\n", resp.Msg.GetConfigParam().GetName())
			return err
		},
	}

	list := &cobra.Command{
		Use: "list", Short: "List parameter names and update times (never values)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, pc, err := client(cmd)
			if err != nil {
				return err
			}
			all := &hookgatev1.ListConfigParamsResponse{}
			all.ConfigParams, err = allPages(func(token string) ([]*hookgatev1.ConfigParam, string, error) {
				resp, err := pc.ListConfigParams(cmd.Context(), connect.NewRequest(&hookgatev1.ListConfigParamsRequest{Tenant: tenant, PageSize: 500, PageToken: token}))
				if err != nil {
					return nil, "", err
				}
				return resp.Msg.GetConfigParams(), resp.Msg.GetNextPageToken(), nil
			})
			if err != nil {
				return err
			}
			if c.json() {
				return c.printJSON(all)
			}
			rows := make([][]string, 0, len(all.ConfigParams))
			for _, p := range all.ConfigParams {
				rows = append(rows, []string{p.Name, timeText(p.UpdateTime, p.UpdateTime != nil)})
			}
			return c.table([]string{"NAME", "UPDATED"}, rows)
		},
	}

	del := &cobra.Command{
		Use: "delete NAME", Short: "Delete a parameter no webhook refers to", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, pc, err := client(cmd)
			if err != nil {
				return err
			}
			if _, err := pc.DeleteConfigParam(cmd.Context(), connect.NewRequest(&hookgatev1.DeleteConfigParamRequest{Tenant: tenant, Name: args[0]})); err != nil {
				return apiError(err)
			}
			_, err = fmt.Fprintf(c.out, "parameter %s deleted\n", args[0])
			return err
		},
	}
	cmd.AddCommand(set, list, del)
	return cmd
}

// newRotateSecretCommand is `webhooks rotate-secret`: client and tenant are
// the webhooks command's.
func newRotateSecretCommand(client func(*cobra.Command) (*cli, hookgatev1connect.InboundWebhookServiceClient, error), tenant *string) *cobra.Command {
	var name, value string
	var grace time.Duration
	cmd := &cobra.Command{
		Use:   "rotate-secret WEBHOOK_ID",
		Short: "Replace one provider secret; the old value keeps verifying for --grace",
		Long: "Replace one provider secret, apart from the API key. --value - reads the value from stdin;\n" +
			"--value '${configParam.NAME}' refers to a tenant config parameter instead.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if name == "" {
				return errors.New("flag --name: required, e.g. signing_secret")
			}
			v, err := secretValue(value, cmd.InOrStdin())
			if err != nil {
				return fmt.Errorf("flag --value: %w", err)
			}
			if v == "" {
				return errors.New("flag --value: required (- reads stdin)")
			}
			c, wc, err := client(cmd)
			if err != nil {
				return err
			}
			resp, err := wc.RotateProviderSecret(cmd.Context(), connect.NewRequest(&hookgatev1.RotateProviderSecretRequest{
				Tenant: *tenant, WebhookId: args[0], Name: name, Value: v, GracePeriod: durationpb.New(grace),
			}))
			if err != nil {
				return apiError(err)
			}
			if c.json() {
				return c.printJSON(resp.Msg)
			}
			old := "the previous value stopped verifying now"
			if t := resp.Msg.PreviousExpireTime; t != nil {
				old = "the previous value verifies until " + timeText(t, true)
			}
			_, err = fmt.Fprintf(c.out, "webhook %s secret %s rotated; %s\n", args[0], name, old)
			return err
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "the provider secret to replace, e.g. signing_secret")
	cmd.Flags().StringVar(&value, "value", "", "the new value, - to read it from stdin, or ${configParam.NAME}")
	cmd.Flags().DurationVar(&grace, "grace", admin.DefaultGracePeriod, "how long the previous value keeps verifying (0: stops now, at most 720h)")
	return cmd
}
