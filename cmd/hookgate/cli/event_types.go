package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"connectrpc.com/connect"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/gen/hookgate/v1/hookgatev1connect"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/structpb"
)

// maxJSONFile bounds a schema or example file; the API takes 64 KiB.
const maxJSONFile = 1 << 20

// eventTypeFlags are the settable fields of an event type.
type eventTypeFlags struct {
	description, schema, example string
}

func (e *eventTypeFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&e.description, "description", "", "description")
	fs.StringVar(&e.schema, "schema", "", "JSON Schema (draft 2020-12) file that payloads must satisfy, - for stdin")
	fs.StringVar(&e.example, "example", "", "JSON file of an example payload, which must satisfy the schema, - for stdin")
}

// files reads the schema and example the flags name; an empty name reads
// nothing.
func (e *eventTypeFlags) files(stdin io.Reader) (*structpb.Struct, *structpb.Value, error) {
	if e.schema == "-" && e.example == "-" {
		return nil, nil, errors.New("flags --schema and --example: only one can read stdin")
	}
	var schema *structpb.Struct
	if e.schema != "" {
		b, err := readJSONFile(e.schema, stdin)
		if err != nil {
			return nil, nil, fmt.Errorf("flag --schema: %w", err)
		}
		schema = &structpb.Struct{}
		if err := protojson.Unmarshal(b, schema); err != nil {
			return nil, nil, fmt.Errorf("flag --schema %s: not a JSON object: %w", e.schema, err)
		}
	}
	var example *structpb.Value
	if e.example != "" {
		b, err := readJSONFile(e.example, stdin)
		if err != nil {
			return nil, nil, fmt.Errorf("flag --example: %w", err)
		}
		example = &structpb.Value{}
		if err := protojson.Unmarshal(b, example); err != nil {
			return nil, nil, fmt.Errorf("flag --example %s: not JSON: %w", e.example, err)
		}
	}
	return schema, example, nil
}

// readJSONFile reads a file, or stdin for "-", of at most maxJSONFile bytes.
func readJSONFile(name string, stdin io.Reader) ([]byte, error) {
	r := stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxJSONFile+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(b) > maxJSONFile {
		return nil, fmt.Errorf("%s is over %d bytes", name, maxJSONFile)
	}
	return b, nil
}

func newEventTypesCommand() *cobra.Command {
	var flags cliFlags
	var tenant string
	cmd := &cobra.Command{Use: "event-types", Short: "Manage the catalog of outbound event types (e.g. order.created)"}
	flags.register(cmd)
	cmd.PersistentFlags().StringVar(&tenant, "tenant", "", "tenant of the event types (required)")
	client := func(cmd *cobra.Command) (*cli, hookgatev1connect.EventTypeServiceClient, error) {
		if tenant == "" {
			return nil, nil, fmt.Errorf("flag --tenant: required")
		}
		c, err := flags.client(cmd)
		if err != nil {
			return nil, nil, err
		}
		return c, hookgatev1connect.NewEventTypeServiceClient(c.http, c.server, c.opts...), nil
	}

	var cf eventTypeFlags
	create := &cobra.Command{
		Use: "create NAME", Short: "Add an event type to the catalog", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			schema, example, err := cf.files(cmd.InOrStdin())
			if err != nil {
				return err
			}
			c, ec, err := client(cmd)
			if err != nil {
				return err
			}
			resp, err := ec.CreateEventType(cmd.Context(), connect.NewRequest(&hookgatev1.CreateEventTypeRequest{EventType: &hookgatev1.EventType{
				Tenant: tenant, Name: args[0], Description: cf.description, Schema: schema, Example: example,
			}}))
			if err != nil {
				return apiError(err)
			}
			if c.json() {
				return c.printJSON(resp.Msg)
			}
			return printEventTypeDetail(c, resp.Msg.EventType)
		},
	}
	cf.register(create)

	get := &cobra.Command{
		Use: "get NAME", Short: "Show an event type with its schema and example", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ec, err := client(cmd)
			if err != nil {
				return err
			}
			resp, err := ec.GetEventType(cmd.Context(), connect.NewRequest(&hookgatev1.GetEventTypeRequest{Tenant: tenant, Name: args[0]}))
			if err != nil {
				return apiError(err)
			}
			if c.json() {
				return c.printJSON(resp.Msg)
			}
			return printEventTypeDetail(c, resp.Msg.EventType)
		},
	}

	var archived bool
	list := &cobra.Command{
		Use: "list", Short: "List a tenant's event types", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, ec, err := client(cmd)
			if err != nil {
				return err
			}
			all := &hookgatev1.ListEventTypesResponse{}
			all.EventTypes, err = allPages(func(token string) ([]*hookgatev1.EventType, string, error) {
				resp, err := ec.ListEventTypes(cmd.Context(), connect.NewRequest(&hookgatev1.ListEventTypesRequest{
					Tenant: tenant, PageSize: 500, PageToken: token, IncludeArchived: archived,
				}))
				if err != nil {
					return nil, "", err
				}
				return resp.Msg.GetEventTypes(), resp.Msg.GetNextPageToken(), nil
			})
			if err != nil {
				return err
			}
			if c.json() {
				return c.printJSON(all)
			}
			rows := make([][]string, 0, len(all.EventTypes))
			for _, e := range all.EventTypes {
				rows = append(rows, []string{e.Name, strconv.FormatBool(e.Archived), strconv.FormatBool(e.Schema != nil), e.Description, timeText(e.UpdateTime, e.UpdateTime != nil)})
			}
			return c.table([]string{"NAME", "ARCHIVED", "SCHEMA", "DESCRIPTION", "UPDATED"}, rows)
		},
	}
	list.Flags().BoolVar(&archived, "archived", false, "list archived event types too")

	var uf eventTypeFlags
	var etag string
	update := &cobra.Command{
		Use:   "update NAME",
		Short: "Change the fields whose flags are given",
		Long:  "Change the fields whose flags are given. --schema '' or --example '' removes that field.",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			schema, example, err := uf.files(cmd.InOrStdin())
			if err != nil {
				return err
			}
			e := &hookgatev1.EventType{Tenant: tenant, Name: args[0], Etag: etag, Schema: schema, Example: example}
			var paths []string
			fs := cmd.Flags()
			if fs.Changed("description") {
				e.Description, paths = uf.description, append(paths, "description")
			}
			if fs.Changed("schema") {
				paths = append(paths, "schema")
			}
			if fs.Changed("example") {
				paths = append(paths, "example")
			}
			if len(paths) == 0 {
				return fmt.Errorf("nothing to update: give --description, --schema or --example")
			}
			c, ec, err := client(cmd)
			if err != nil {
				return err
			}
			resp, err := ec.UpdateEventType(cmd.Context(), connect.NewRequest(&hookgatev1.UpdateEventTypeRequest{
				EventType: e, UpdateMask: &fieldmaskpb.FieldMask{Paths: paths},
			}))
			if err != nil {
				return apiError(err)
			}
			if c.json() {
				return c.printJSON(resp.Msg)
			}
			return printEventTypeDetail(c, resp.Msg.EventType)
		},
	}
	uf.register(update)
	update.Flags().StringVar(&etag, "etag", "", "only update if the event type is still at this etag")

	archive := &cobra.Command{
		Use: "archive NAME", Short: "Refuse new messages and subscriptions of a type; its history stays", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ec, err := client(cmd)
			if err != nil {
				return err
			}
			resp, err := ec.ArchiveEventType(cmd.Context(), connect.NewRequest(&hookgatev1.ArchiveEventTypeRequest{Tenant: tenant, Name: args[0]}))
			if err != nil {
				return apiError(err)
			}
			if c.json() {
				return c.printJSON(resp.Msg)
			}
			_, err = fmt.Fprintf(c.out, "event type %s archived\n", args[0])
			return err
		},
	}
	unarchive := &cobra.Command{
		Use: "unarchive NAME", Short: "Accept messages of an archived type again", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ec, err := client(cmd)
			if err != nil {
				return err
			}
			resp, err := ec.UnarchiveEventType(cmd.Context(), connect.NewRequest(&hookgatev1.UnarchiveEventTypeRequest{Tenant: tenant, Name: args[0]}))
			if err != nil {
				return apiError(err)
			}
			if c.json() {
				return c.printJSON(resp.Msg)
			}
			_, err = fmt.Fprintf(c.out, "event type %s unarchived\n", args[0])
			return err
		},
	}
	cmd.AddCommand(create, get, list, update, archive, unarchive)
	return cmd
}

// compactJSON is a schema or example on one line, "-" when unset. It uses
// encoding/json, whose output, unlike protojson's, is stable.
func compactJSON(v interface{ AsInterface() any }, set bool) string {
	if !set {
		return "-"
	}
	b, err := json.Marshal(v.AsInterface())
	if err != nil {
		return "?"
	}
	return string(b)
}

func printEventTypeDetail(c *cli, e *hookgatev1.EventType) error {
	var schema string
	if e.Schema == nil {
		schema = "- (any JSON)"
	} else {
		schema = compactJSON(structpb.NewStructValue(e.Schema), true)
	}
	return c.table([]string{"FIELD", "VALUE"}, [][]string{
		{"name", e.Name}, {"tenant", e.Tenant}, {"description", e.Description},
		{"archived", strconv.FormatBool(e.Archived)},
		{"schema", schema},
		{"example", compactJSON(e.Example, e.Example != nil)},
		{"created", timeText(e.CreateTime, e.CreateTime != nil)},
		{"updated", timeText(e.UpdateTime, e.UpdateTime != nil)},
		{"etag", e.Etag},
	})
}
