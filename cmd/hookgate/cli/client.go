// Package cli is the admin command line: tenants, tokens, webhooks, nodes,
// events tail, and the outbound applications, event types and endpoints. Each command talks to the admin API (or, for events tail
// given NATS flags, to NATS) as a user would; it holds no server logic.
package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
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
	// caFile verifies an https:// admin API; clientCert and clientKey
	// answer a control plane that requires client certificates.
	caFile, clientCert, clientKey string
}

func (c *cliFlags) register(cmd *cobra.Command) {
	fs := cmd.PersistentFlags()
	fs.StringVar(&c.server, "server", "http://127.0.0.1:8070", "admin API URL")
	fs.StringVar(&c.token, "token", "", "admin token (default: $HOOKGATE_TOKEN, else .hookgate/admin-token)")
	fs.StringVarP(&c.output, "output", "o", "table", "output format: table or json")
	fs.StringVar(&c.caFile, "ca-file", "", "CA (PEM) of an https:// admin API's certificate")
	fs.StringVar(&c.clientCert, "client-cert", "", "client certificate (PEM) for a control plane that requires one (mTLS)")
	fs.StringVar(&c.clientKey, "client-key", "", "key (PEM) of --client-cert")
}

// httpClient is the HTTP client of the admin API: TLS as the flags say, and
// HTTP/2 over TLS by ALPN.
func (c *cliFlags) httpClient() (*http.Client, error) {
	client := &http.Client{Timeout: 30 * time.Second}
	if c.caFile == "" && c.clientCert == "" && c.clientKey == "" {
		return client, nil
	}
	if (c.clientCert == "") != (c.clientKey == "") {
		return nil, errors.New("flags --client-cert and --client-key: give both or neither")
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.caFile != "" {
		pem, err := os.ReadFile(c.caFile)
		if err != nil {
			return nil, fmt.Errorf("flag --ca-file: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("flag --ca-file %s: no PEM certificate", c.caFile)
		}
	}
	if c.clientCert != "" {
		cert, err := tls.LoadX509KeyPair(c.clientCert, c.clientKey)
		if err != nil {
			return nil, fmt.Errorf("flags --client-cert/--client-key: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	client.Transport = &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true}
	return client, nil
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
	hc, err := c.httpClient()
	if err != nil {
		return nil, err
	}
	return &cli{
		flags:  c,
		http:   hc,
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

// Commands returns the admin CLI's commands, to be added to the root command.
func Commands() []*cobra.Command {
	return []*cobra.Command{
		newTenantsCommand(),
		newTokensCommand(),
		newWebhooksCommand(),
		newParamsCommand(),
		newEventsCommand(),
		newNodesCommand(),
		newProvidersCommand(),
		newAppsCommand(),
		newEventTypesCommand(),
		newEndpointsCommand(),
		newMessagesCommand(),
		newAttemptsCommand(),
	}
}
