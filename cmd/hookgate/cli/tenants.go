package cli

import (
	"fmt"
	"strconv"

	"connectrpc.com/connect"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

func newTenantsCommand() *cobra.Command {
	var flags cliFlags
	cmd := &cobra.Command{Use: "tenants", Short: "Manage tenants (platform token)"}
	flags.register(cmd)
	client := flags.tenantClient
	printTenants := func(c *cli, ts []*hookgatev1.Tenant) error {
		rows := make([][]string, 0, len(ts))
		for _, t := range ts {
			rows = append(rows, []string{t.Id, t.DisplayName, strconv.FormatBool(t.AllowHttpEndpoints), timeText(t.CreateTime, t.CreateTime != nil), orDash(t.OpsAppId)})
		}
		return c.table([]string{"ID", "DISPLAY NAME", "HTTP ENDPOINTS", "CREATED", "OPS APP"}, rows)
	}

	var displayName string
	var allowHTTP bool
	create := &cobra.Command{
		Use: "create TENANT", Short: "Create a tenant (slug: 3–50 of a-z, 0-9, -)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ts, err := client(cmd)
			if err != nil {
				return err
			}
			resp, err := ts.CreateTenant(cmd.Context(), connect.NewRequest(&hookgatev1.CreateTenantRequest{
				Tenant: &hookgatev1.Tenant{Id: args[0], DisplayName: displayName, AllowHttpEndpoints: allowHTTP},
			}))
			if err != nil {
				return apiError(err)
			}
			if c.json() {
				return c.printJSON(resp.Msg)
			}
			return printTenants(c, []*hookgatev1.Tenant{resp.Msg.Tenant})
		},
	}
	create.Flags().StringVar(&displayName, "display-name", "", "a name for people")
	create.Flags().BoolVar(&allowHTTP, "allow-http-endpoints", false, "let outbound endpoints use plain http")

	get := &cobra.Command{
		Use: "get TENANT", Short: "Show a tenant", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ts, err := client(cmd)
			if err != nil {
				return err
			}
			resp, err := ts.GetTenant(cmd.Context(), connect.NewRequest(&hookgatev1.GetTenantRequest{Tenant: args[0]}))
			if err != nil {
				return apiError(err)
			}
			if c.json() {
				return c.printJSON(resp.Msg)
			}
			return printTenants(c, []*hookgatev1.Tenant{resp.Msg.Tenant})
		},
	}
	list := &cobra.Command{
		Use: "list", Short: "List tenants", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, ts, err := client(cmd)
			if err != nil {
				return err
			}
			all := &hookgatev1.ListTenantsResponse{}
			all.Tenants, err = allPages(func(token string) ([]*hookgatev1.Tenant, string, error) {
				resp, err := ts.ListTenants(cmd.Context(), connect.NewRequest(&hookgatev1.ListTenantsRequest{PageSize: 500, PageToken: token}))
				if err != nil {
					return nil, "", err
				}
				return resp.Msg.GetTenants(), resp.Msg.GetNextPageToken(), nil
			})
			if err != nil {
				return err
			}
			if c.json() {
				return c.printJSON(all)
			}
			return printTenants(c, all.Tenants)
		},
	}
	var opsApp string
	update := &cobra.Command{
		Use: "update TENANT", Short: "Change the fields whose flags are given", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t := &hookgatev1.Tenant{Id: args[0]}
			var paths []string
			fs := cmd.Flags()
			if fs.Changed("display-name") {
				t.DisplayName, paths = displayName, append(paths, "display_name")
			}
			if fs.Changed("allow-http-endpoints") {
				t.AllowHttpEndpoints, paths = allowHTTP, append(paths, "allow_http_endpoints")
			}
			if fs.Changed("ops-app") {
				t.OpsAppId, paths = opsApp, append(paths, "ops_app_id")
			}
			if len(paths) == 0 {
				return fmt.Errorf("nothing to update: give --display-name, --allow-http-endpoints or --ops-app")
			}
			c, ts, err := client(cmd)
			if err != nil {
				return err
			}
			resp, err := ts.UpdateTenant(cmd.Context(), connect.NewRequest(&hookgatev1.UpdateTenantRequest{
				Tenant: t, UpdateMask: &fieldmaskpb.FieldMask{Paths: paths},
			}))
			if err != nil {
				return apiError(err)
			}
			if c.json() {
				return c.printJSON(resp.Msg)
			}
			return printTenants(c, []*hookgatev1.Tenant{resp.Msg.Tenant})
		},
	}
	update.Flags().StringVar(&displayName, "display-name", "", "a name for people")
	update.Flags().BoolVar(&allowHTTP, "allow-http-endpoints", false, "let outbound endpoints use plain http (platform token)")
	update.Flags().StringVar(&opsApp, "ops-app", "", `the application that receives the tenant's operational events (endpoint.disabled, endpoint.enabled, message.attempt.exhausted); "" for none`)

	del := &cobra.Command{
		Use: "delete TENANT", Short: "Delete a tenant with its webhooks and tokens", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ts, err := client(cmd)
			if err != nil {
				return err
			}
			if _, err := ts.DeleteTenant(cmd.Context(), connect.NewRequest(&hookgatev1.DeleteTenantRequest{Tenant: args[0]})); err != nil {
				return apiError(err)
			}
			_, err = fmt.Fprintf(c.out, "tenant %s deleted\n", args[0])
			return err
		},
	}
	cmd.AddCommand(create, get, list, update, del)
	return cmd
}

func newTokensCommand() *cobra.Command {
	var flags cliFlags
	cmd := &cobra.Command{Use: "tokens", Short: "Manage admin tokens"}
	flags.register(cmd)
	client := flags.tenantClient
	scope := func(t string) string {
		if t == "" {
			return "platform"
		}
		return "tenant " + t
	}

	var tenant, description string
	var producer bool
	create := &cobra.Command{
		Use: "create", Short: "Create an admin token (shown once)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, ts, err := client(cmd)
			if err != nil {
				return err
			}
			resp, err := ts.CreateAdminToken(cmd.Context(), connect.NewRequest(&hookgatev1.CreateAdminTokenRequest{Tenant: tenant, Description: description, Kind: tokenKind(producer)}))
			if err != nil {
				return apiError(err)
			}
			if c.json() {
				return c.printJSON(resp.Msg)
			}
			_, err = fmt.Fprintf(c.out, "admin token %s created for %s\ntoken (shown once): %s\n", resp.Msg.AdminToken.Id, scope(tenant), resp.Msg.Token)
			return err
		},
	}
	create.Flags().StringVar(&tenant, "tenant", "", "scope the token to this tenant (default: platform)")
	create.Flags().StringVar(&description, "description", "", "what the token is for")
	create.Flags().BoolVar(&producer, "producer", false, "a producer token (hgp_…): may only send messages for --tenant through the edges")

	var listTenant string
	list := &cobra.Command{
		Use: "list", Short: "List admin tokens of a scope", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, ts, err := client(cmd)
			if err != nil {
				return err
			}
			all := &hookgatev1.ListAdminTokensResponse{}
			all.AdminTokens, err = allPages(func(token string) ([]*hookgatev1.AdminToken, string, error) {
				resp, err := ts.ListAdminTokens(cmd.Context(), connect.NewRequest(&hookgatev1.ListAdminTokensRequest{Tenant: listTenant, PageSize: 500, PageToken: token}))
				if err != nil {
					return nil, "", err
				}
				return resp.Msg.GetAdminTokens(), resp.Msg.GetNextPageToken(), nil
			})
			if err != nil {
				return err
			}
			if c.json() {
				return c.printJSON(all)
			}
			rows := make([][]string, 0, len(all.AdminTokens))
			for _, t := range all.AdminTokens {
				kind := "admin"
				if t.Kind == hookgatev1.AdminTokenKind_ADMIN_TOKEN_KIND_PRODUCER {
					kind = "producer"
				}
				rows = append(rows, []string{t.Id, scope(t.Tenant), kind, t.Prefix + "…", t.Description, timeText(t.CreateTime, t.CreateTime != nil)})
			}
			return c.table([]string{"ID", "SCOPE", "KIND", "PREFIX", "DESCRIPTION", "CREATED"}, rows)
		},
	}
	list.Flags().StringVar(&listTenant, "tenant", "", "list this tenant's tokens (default: platform tokens)")

	revoke := &cobra.Command{
		Use: "revoke TOKEN_ID", Short: "Revoke an admin token at once", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ts, err := client(cmd)
			if err != nil {
				return err
			}
			if _, err := ts.RevokeAdminToken(cmd.Context(), connect.NewRequest(&hookgatev1.RevokeAdminTokenRequest{Id: args[0]})); err != nil {
				return apiError(err)
			}
			_, err = fmt.Fprintf(c.out, "admin token %s revoked\n", args[0])
			return err
		},
	}
	cmd.AddCommand(create, list, revoke)
	return cmd
}

// tokenKind is the kind of token --producer asks for.
func tokenKind(producer bool) hookgatev1.AdminTokenKind {
	if producer {
		return hookgatev1.AdminTokenKind_ADMIN_TOKEN_KIND_PRODUCER
	}
	return hookgatev1.AdminTokenKind_ADMIN_TOKEN_KIND_ADMIN
}
