package cli

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"connectrpc.com/connect"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/gen/hookgate/v1/hookgatev1connect"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// appFlags are the settable fields of an application.
type appFlags struct {
	name, uid string
	metadata  []string
	rate      int32
}

func (a *appFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&a.name, "name", "", "name of the customer")
	fs.StringVar(&a.uid, "uid", "", "the tenant's own id for the customer, unique in the tenant")
	fs.StringArrayVar(&a.metadata, "metadata", nil, "metadata key=value (repeatable); on update it replaces the set, --metadata '' clears it")
	fs.Int32Var(&a.rate, "rate", 0, "deliveries per second to all the application's endpoints (0: none)")
}

// metadataMap builds the metadata the flags give; an empty entry adds
// nothing, so an empty --metadata on update clears the set.
func (a *appFlags) metadataMap() (map[string]string, error) {
	m := make(map[string]string, len(a.metadata))
	for _, kv := range a.metadata {
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("flag --metadata %q: want key=value", kv)
		}
		m[k] = v
	}
	return m, nil
}

func newAppsCommand() *cobra.Command {
	var flags cliFlags
	var tenant string
	cmd := &cobra.Command{Use: "apps", Short: "Manage applications: a tenant's customers, who own outbound endpoints"}
	flags.register(cmd)
	cmd.PersistentFlags().StringVar(&tenant, "tenant", "", "tenant of the applications (required)")
	client := func(cmd *cobra.Command) (*cli, hookgatev1connect.ApplicationServiceClient, error) {
		if tenant == "" {
			return nil, nil, fmt.Errorf("flag --tenant: required")
		}
		c, err := flags.client(cmd)
		if err != nil {
			return nil, nil, err
		}
		return c, hookgatev1connect.NewApplicationServiceClient(c.http, c.server, c.opts...), nil
	}

	var cf appFlags
	create := &cobra.Command{
		Use: "create", Short: "Create an application", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cf.name == "" {
				return fmt.Errorf("flag --name: required")
			}
			md, err := cf.metadataMap()
			if err != nil {
				return err
			}
			c, ac, err := client(cmd)
			if err != nil {
				return err
			}
			resp, err := ac.CreateApplication(cmd.Context(), connect.NewRequest(&hookgatev1.CreateApplicationRequest{Application: &hookgatev1.Application{
				Tenant: tenant, Name: cf.name, Uid: cf.uid, Metadata: md, RateLimitPerSecond: cf.rate,
			}}))
			if err != nil {
				return apiError(err)
			}
			if c.json() {
				return c.printJSON(resp.Msg)
			}
			return printAppDetail(c, resp.Msg.Application)
		},
	}
	cf.register(create)

	get := &cobra.Command{
		Use: "get APP_ID", Short: "Show an application", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ac, err := client(cmd)
			if err != nil {
				return err
			}
			resp, err := ac.GetApplication(cmd.Context(), connect.NewRequest(&hookgatev1.GetApplicationRequest{Tenant: tenant, ApplicationId: args[0]}))
			if err != nil {
				return apiError(err)
			}
			if c.json() {
				return c.printJSON(resp.Msg)
			}
			return printAppDetail(c, resp.Msg.Application)
		},
	}

	list := &cobra.Command{
		Use: "list", Short: "List a tenant's applications", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, ac, err := client(cmd)
			if err != nil {
				return err
			}
			all := &hookgatev1.ListApplicationsResponse{}
			all.Applications, err = allPages(func(token string) ([]*hookgatev1.Application, string, error) {
				resp, err := ac.ListApplications(cmd.Context(), connect.NewRequest(&hookgatev1.ListApplicationsRequest{Tenant: tenant, PageSize: 500, PageToken: token}))
				if err != nil {
					return nil, "", err
				}
				return resp.Msg.GetApplications(), resp.Msg.GetNextPageToken(), nil
			})
			if err != nil {
				return err
			}
			if c.json() {
				return c.printJSON(all)
			}
			rows := make([][]string, 0, len(all.Applications))
			for _, a := range all.Applications {
				rows = append(rows, []string{a.Id, a.Name, a.Uid, metadataText(a.Metadata), timeText(a.CreateTime, a.CreateTime != nil)})
			}
			return c.table([]string{"ID", "NAME", "UID", "METADATA", "CREATED"}, rows)
		},
	}

	var uf appFlags
	var etag string
	update := &cobra.Command{
		Use: "update APP_ID", Short: "Change the fields whose flags are given", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a := &hookgatev1.Application{Tenant: tenant, Id: args[0], Etag: etag}
			var paths []string
			fs := cmd.Flags()
			if fs.Changed("name") {
				a.Name, paths = uf.name, append(paths, "name")
			}
			if fs.Changed("uid") {
				a.Uid, paths = uf.uid, append(paths, "uid")
			}
			if fs.Changed("metadata") {
				md, err := uf.metadataMap()
				if err != nil {
					return err
				}
				a.Metadata, paths = md, append(paths, "metadata")
			}
			if fs.Changed("rate") {
				a.RateLimitPerSecond, paths = uf.rate, append(paths, "rate_limit_per_second")
			}
			if len(paths) == 0 {
				return fmt.Errorf("nothing to update: give --name, --uid, --metadata or --rate")
			}
			c, ac, err := client(cmd)
			if err != nil {
				return err
			}
			resp, err := ac.UpdateApplication(cmd.Context(), connect.NewRequest(&hookgatev1.UpdateApplicationRequest{
				Application: a, UpdateMask: &fieldmaskpb.FieldMask{Paths: paths},
			}))
			if err != nil {
				return apiError(err)
			}
			if c.json() {
				return c.printJSON(resp.Msg)
			}
			return printAppDetail(c, resp.Msg.Application)
		},
	}
	uf.register(update)
	update.Flags().StringVar(&etag, "etag", "", "only update if the application is still at this etag")

	var delEtag string
	del := &cobra.Command{
		Use: "delete APP_ID", Short: "Delete an application and its endpoints", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ac, err := client(cmd)
			if err != nil {
				return err
			}
			if _, err := ac.DeleteApplication(cmd.Context(), connect.NewRequest(&hookgatev1.DeleteApplicationRequest{
				Tenant: tenant, ApplicationId: args[0], Etag: delEtag,
			})); err != nil {
				return apiError(err)
			}
			_, err = fmt.Fprintf(c.out, "application %s deleted\n", args[0])
			return err
		},
	}
	del.Flags().StringVar(&delEtag, "etag", "", "only delete if the application is still at this etag")
	cmd.AddCommand(create, get, list, update, del)
	return cmd
}

// metadataText is metadata as sorted key=value pairs.
func metadataText(md map[string]string) string {
	pairs := make([]string, 0, len(md))
	for _, k := range slices.Sorted(maps.Keys(md)) {
		pairs = append(pairs, k+"="+md[k])
	}
	return strings.Join(pairs, ", ")
}

func printAppDetail(c *cli, a *hookgatev1.Application) error {
	rate := "none"
	if a.RateLimitPerSecond > 0 {
		rate = strconv.Itoa(int(a.RateLimitPerSecond)) + "/s"
	}
	return c.table([]string{"FIELD", "VALUE"}, [][]string{
		{"id", a.Id}, {"tenant", a.Tenant}, {"name", a.Name}, {"uid", a.Uid},
		{"metadata", metadataText(a.Metadata)}, {"rate limit", rate},
		{"created", timeText(a.CreateTime, a.CreateTime != nil)},
		{"updated", timeText(a.UpdateTime, a.UpdateTime != nil)},
		{"etag", a.Etag},
	})
}
