package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"connectrpc.com/connect"
	"github.com/hookgate/hookgate/gen/hookgate/v1/hookgatev1connect"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// cliFlags are the flags of every admin CLI command.
type cliFlags struct {
	server string
	token  string
	output string
}

func (c *cliFlags) register(cmd *cobra.Command) {
	fs := cmd.PersistentFlags()
	fs.StringVar(&c.server, "server", "http://127.0.0.1:8070", "admin API URL")
	fs.StringVar(&c.token, "token", "", "admin token (default: $HOOKGATE_TOKEN, else .hookgate/admin-token)")
	fs.StringVarP(&c.output, "output", "o", "table", "output format: table or json")
}

// cli is what a command needs to call the admin API and print.
type cli struct {
	flags  *cliFlags
	http   *http.Client
	opts   []connect.ClientOption
	out    io.Writer
	server string
}

func (c *cliFlags) client(cmd *cobra.Command) (*cli, error) {
	if c.output != "table" && c.output != "json" {
		return nil, fmt.Errorf("flag --output %q: want table or json", c.output)
	}
	token := c.token
	if token == "" {
		data, err := os.ReadFile(filepath.Join(".hookgate", "admin-token"))
		if err != nil {
			return nil, errors.New("no admin token: set HOOKGATE_TOKEN or --token, or run from the folder where `hookgate dev` keeps .hookgate/")
		}
		token = strings.TrimSpace(string(data))
	}
	return &cli{
		flags:  c,
		http:   &http.Client{Timeout: 30 * time.Second},
		opts:   []connect.ClientOption{connect.WithInterceptors(bearerToken(token))},
		out:    cmd.OutOrStdout(),
		server: strings.TrimRight(c.server, "/"),
	}, nil
}

// tenantClient is the TenantService client of a command.
func (c *cliFlags) tenantClient(cmd *cobra.Command) (*cli, hookgatev1connect.TenantServiceClient, error) {
	cl, err := c.client(cmd)
	if err != nil {
		return nil, nil, err
	}
	return cl, hookgatev1connect.NewTenantServiceClient(cl.http, cl.server, cl.opts...), nil
}

// allPages calls page with each next-page token, from the first page to the
// last, and returns every item.
func allPages[T any](page func(token string) ([]T, string, error)) ([]T, error) {
	var all []T
	for token := ""; ; {
		items, next, err := page(token)
		if err != nil {
			return nil, apiError(err)
		}
		all = append(all, items...)
		if token = next; token == "" {
			return all, nil
		}
	}
}

// json reports whether output should be JSON.
func (c *cli) json() bool { return c.flags.output == "json" }

// printJSON writes a message as indented proto JSON.
func (c *cli) printJSON(m proto.Message) error {
	b, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode output: %w", err)
	}
	_, err = fmt.Fprintf(c.out, "%s\n", b)
	return err
}

// table writes rows under a header, aligned.
func (c *cli) table(header []string, rows [][]string) error {
	w := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(w, strings.Join(r, "\t"))
	}
	return w.Flush()
}

// apiError turns a Connect error into one readable line.
func apiError(err error) error {
	var ce *connect.Error
	if errors.As(err, &ce) {
		if ce.Code() == connect.CodeUnavailable || ce.Code() == connect.CodeUnknown {
			return fmt.Errorf("admin API: %s (%s)", ce.Message(), ce.Code())
		}
		return fmt.Errorf("%s (%s)", ce.Message(), ce.Code())
	}
	return err
}

// bearerToken adds the admin token to every call.
type bearerToken string

func (b bearerToken) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		req.Header().Set("Authorization", "Bearer "+string(b))
		return next(ctx, req)
	}
}

func (b bearerToken) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return func(ctx context.Context, spec connect.Spec) connect.StreamingClientConn {
		conn := next(ctx, spec)
		conn.RequestHeader().Set("Authorization", "Bearer "+string(b))
		return conn
	}
}

func (b bearerToken) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}

func timeText(t interface{ AsTime() time.Time }, valid bool) string {
	if !valid {
		return "-"
	}
	return t.AsTime().UTC().Format(time.RFC3339)
}
