package cli

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/gen/hookgate/v1/hookgatev1connect"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// endpointFlags are the settable fields of an endpoint.
type endpointFlags struct {
	url, name, description string
	eventTypes             []string
	rate, burst            int32
	maxInFlight, timeoutMS int32
	headers                []string
}

func (e *endpointFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&e.url, "url", "", "https URL the messages are POSTed to (http only if the tenant allows it)")
	fs.StringSliceVar(&e.eventTypes, "event-types", nil, "subscribed event types, comma-separated (at least one, known and not archived)")
	fs.StringVar(&e.name, "name", "", "a label, at most 128 characters")
	fs.StringVar(&e.description, "description", "", "description")
	fs.Int32Var(&e.rate, "rate", 0, "deliveries per second across all dispatchers (0: no limit)")
	fs.Int32Var(&e.burst, "burst", 0, "deliveries above --rate at once (0: the rate)")
	fs.Int32Var(&e.maxInFlight, "max-in-flight", 0, "requests in flight at once across all dispatchers (0: no cap)")
	fs.Int32Var(&e.timeoutMS, "timeout-ms", 0, "timeout of one delivery in milliseconds (default 5000, at most 30000)")
	fs.StringArrayVar(&e.headers, "header", nil, "header Name=value added to every delivery (repeatable); an Authorization value is write-only; on update it replaces the set, --header '' clears it")
}

// headerMap builds the headers the flags give. An error names the header,
// never its value, which may be a credential.
func (e *endpointFlags) headerMap() (map[string]string, error) {
	m := make(map[string]string, len(e.headers))
	for _, kv := range e.headers {
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, errors.New("flag --header: want Name=value")
		}
		if _, dup := m[k]; dup {
			return nil, fmt.Errorf("flag --header %s: given twice", k)
		}
		m[k] = v
	}
	return m, nil
}

func newEndpointsCommand() *cobra.Command {
	var flags cliFlags
	var tenant string
	cmd := &cobra.Command{Use: "endpoints", Short: "Manage outbound endpoints: the URLs an application's messages are delivered to"}
	flags.register(cmd)
	cmd.PersistentFlags().StringVar(&tenant, "tenant", "", "tenant of the endpoints (required)")
	client := func(cmd *cobra.Command) (*cli, hookgatev1connect.EndpointServiceClient, error) {
		if tenant == "" {
			return nil, nil, fmt.Errorf("flag --tenant: required")
		}
		c, err := flags.client(cmd)
		if err != nil {
			return nil, nil, err
		}
		return c, hookgatev1connect.NewEndpointServiceClient(c.http, c.server, c.opts...), nil
	}

	var cf endpointFlags
	var app, secret, signature string
	create := &cobra.Command{
		Use: "create", Short: "Create an endpoint; prints its signing secret", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case app == "":
				return errors.New("flag --app: required")
			case cf.url == "":
				return errors.New("flag --url: required")
			case len(cf.eventTypes) == 0:
				return errors.New("flag --event-types: required, e.g. order.created,order.paid")
			}
			headers, err := cf.headerMap()
			if err != nil {
				return err
			}
			scheme, err := signatureFlag(signature)
			if err != nil {
				return err
			}
			if secret != "" {
				if secret, err = secretValue(secret, cmd.InOrStdin()); err != nil {
					return fmt.Errorf("flag --secret: %w", err)
				}
			}
			c, ec, err := client(cmd)
			if err != nil {
				return err
			}
			resp, err := ec.CreateEndpoint(cmd.Context(), connect.NewRequest(&hookgatev1.CreateEndpointRequest{
				Endpoint: &hookgatev1.Endpoint{
					Tenant: tenant, ApplicationId: app, Url: cf.url, Name: cf.name, Description: cf.description,
					EventTypes: cf.eventTypes, RateLimitPerSecond: cf.rate, Burst: cf.burst, MaxInFlight: cf.maxInFlight,
					TimeoutMs: cf.timeoutMS, Headers: headers, SignatureScheme: scheme,
				},
				Secret: secret,
			}))
			if err != nil {
				return apiError(err)
			}
			if c.json() {
				return c.printJSON(resp.Msg)
			}
			_, err = fmt.Fprintf(c.out, "endpoint %s created\n%s", resp.Msg.Endpoint.Id, secretLines(resp.Msg.Secret, resp.Msg.Endpoint))
			return err
		},
	}
	cf.register(create)
	create.Flags().StringVar(&app, "app", "", "application (app_…) the endpoint belongs to (required)")
	create.Flags().StringVar(&secret, "secret", "", "signing secret to use, whsec_… (hmac) or whsk_… (ed25519), - to read it from stdin (default: a new one)")
	create.Flags().StringVar(&signature, "signature", "", "signature scheme: hmac (v1, whsec_ secret; the default) or ed25519 (v1a, whsk_ secret key, whpk_ public key)")

	get := &cobra.Command{
		Use: "get ENDPOINT_ID", Short: "Show an endpoint (never its signing secret; Authorization shown REDACTED)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ec, err := client(cmd)
			if err != nil {
				return err
			}
			resp, err := ec.GetEndpoint(cmd.Context(), connect.NewRequest(&hookgatev1.GetEndpointRequest{Tenant: tenant, EndpointId: args[0]}))
			if err != nil {
				return apiError(err)
			}
			if c.json() {
				return c.printJSON(resp.Msg)
			}
			return printEndpointDetail(c, resp.Msg.Endpoint)
		},
	}

	var listApp string
	list := &cobra.Command{
		Use: "list", Short: "List a tenant's endpoints", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, ec, err := client(cmd)
			if err != nil {
				return err
			}
			all := &hookgatev1.ListEndpointsResponse{}
			all.Endpoints, err = allPages(func(token string) ([]*hookgatev1.Endpoint, string, error) {
				resp, err := ec.ListEndpoints(cmd.Context(), connect.NewRequest(&hookgatev1.ListEndpointsRequest{
					Tenant: tenant, ApplicationId: listApp, PageSize: 500, PageToken: token,
				}))
				if err != nil {
					return nil, "", err
				}
				return resp.Msg.GetEndpoints(), resp.Msg.GetNextPageToken(), nil
			})
			if err != nil {
				return err
			}
			if c.json() {
				return c.printJSON(all)
			}
			rows := make([][]string, 0, len(all.Endpoints))
			for _, e := range all.Endpoints {
				avg, last, fails, status := healthColumns(e.Health)
				rows = append(rows, []string{e.Id, e.ApplicationId, e.Name, endpointStatus(e), strings.Join(e.EventTypes, ","), schemeText(e.SignatureScheme), avg, last, fails, status, e.Url})
			}
			return c.table([]string{"ID", "APP", "NAME", "STATUS", "EVENT TYPES", "SIGNATURE", "AVG", "LAST", "FAILS", "LAST STATUS", "URL"}, rows)
		},
	}
	list.Flags().StringVar(&listApp, "app", "", "only endpoints of this application")

	var uf endpointFlags
	var etag string
	update := &cobra.Command{
		Use:   "update ENDPOINT_ID",
		Short: "Change the fields whose flags are given",
		Long: "Change the fields whose flags are given. --header replaces the whole set; an Authorization\n" +
			"value of REDACTED keeps the stored one.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e := &hookgatev1.Endpoint{Tenant: tenant, Id: args[0], Etag: etag}
			var paths []string
			fs := cmd.Flags()
			set := func(flag, path string, apply func()) {
				if fs.Changed(flag) {
					apply()
					paths = append(paths, path)
				}
			}
			set("url", "url", func() { e.Url = uf.url })
			set("name", "name", func() { e.Name = uf.name })
			set("description", "description", func() { e.Description = uf.description })
			set("event-types", "event_types", func() { e.EventTypes = uf.eventTypes })
			set("rate", "rate_limit_per_second", func() { e.RateLimitPerSecond = uf.rate })
			set("burst", "burst", func() { e.Burst = uf.burst })
			set("max-in-flight", "max_in_flight", func() { e.MaxInFlight = uf.maxInFlight })
			set("timeout-ms", "timeout_ms", func() { e.TimeoutMs = uf.timeoutMS })
			if fs.Changed("header") {
				h, err := uf.headerMap()
				if err != nil {
					return err
				}
				e.Headers, paths = h, append(paths, "headers")
			}
			if len(paths) == 0 {
				return errors.New("nothing to update: give --url, --name, --description, --event-types, --rate, --burst, --max-in-flight, --timeout-ms or --header")
			}
			c, ec, err := client(cmd)
			if err != nil {
				return err
			}
			resp, err := ec.UpdateEndpoint(cmd.Context(), connect.NewRequest(&hookgatev1.UpdateEndpointRequest{
				Endpoint: e, UpdateMask: &fieldmaskpb.FieldMask{Paths: paths},
			}))
			if err != nil {
				return apiError(err)
			}
			if c.json() {
				return c.printJSON(resp.Msg)
			}
			return printEndpointDetail(c, resp.Msg.Endpoint)
		},
	}
	uf.register(update)
	update.Flags().StringVar(&etag, "etag", "", "only update if the endpoint is still at this etag")

	enable := &cobra.Command{
		Use: "enable ENDPOINT_ID", Short: "Resume deliveries to an endpoint", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ec, err := client(cmd)
			if err != nil {
				return err
			}
			resp, err := ec.EnableEndpoint(cmd.Context(), connect.NewRequest(&hookgatev1.EnableEndpointRequest{Tenant: tenant, EndpointId: args[0]}))
			if err != nil {
				return apiError(err)
			}
			if c.json() {
				return c.printJSON(resp.Msg)
			}
			_, err = fmt.Fprintf(c.out, "endpoint %s enabled\n", args[0])
			return err
		},
	}
	disable := &cobra.Command{
		Use: "disable ENDPOINT_ID", Short: "Stop deliveries to an endpoint and cancel its pending retries", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ec, err := client(cmd)
			if err != nil {
				return err
			}
			resp, err := ec.DisableEndpoint(cmd.Context(), connect.NewRequest(&hookgatev1.DisableEndpointRequest{Tenant: tenant, EndpointId: args[0]}))
			if err != nil {
				return apiError(err)
			}
			if c.json() {
				return c.printJSON(resp.Msg)
			}
			_, err = fmt.Fprintf(c.out, "endpoint %s disabled\n", args[0])
			return err
		},
	}

	var delEtag string
	del := &cobra.Command{
		Use: "delete ENDPOINT_ID", Short: "Delete an endpoint and cancel its pending retries", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ec, err := client(cmd)
			if err != nil {
				return err
			}
			if _, err := ec.DeleteEndpoint(cmd.Context(), connect.NewRequest(&hookgatev1.DeleteEndpointRequest{
				Tenant: tenant, EndpointId: args[0], Etag: delEtag,
			})); err != nil {
				return apiError(err)
			}
			_, err = fmt.Fprintf(c.out, "endpoint %s deleted\n", args[0])
			return err
		},
	}
	del.Flags().StringVar(&delEtag, "etag", "", "only delete if the endpoint is still at this etag")

	var grace time.Duration
	var rotateSignature string
	rotate := &cobra.Command{
		Use: "rotate-secret ENDPOINT_ID", Short: "Issue a new signing secret, of another scheme with --signature; prints it", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if grace < 0 {
				return fmt.Errorf("flag --grace %s: must not be negative", grace)
			}
			scheme, err := signatureFlag(rotateSignature)
			if err != nil {
				return err
			}
			c, ec, err := client(cmd)
			if err != nil {
				return err
			}
			resp, err := ec.RotateEndpointSecret(cmd.Context(), connect.NewRequest(&hookgatev1.RotateEndpointSecretRequest{
				Tenant: tenant, EndpointId: args[0], GracePeriod: durationpb.New(grace), SignatureScheme: scheme,
			}))
			if err != nil {
				return apiError(err)
			}
			if c.json() {
				return c.printJSON(resp.Msg)
			}
			old := "the previous secret stopped signing now"
			if t := resp.Msg.GetEndpoint().GetPreviousSecretExpireTime(); t != nil {
				old = "the previous secret also signs until " + timeText(t, true)
			}
			_, err = fmt.Fprintf(c.out, "endpoint %s signing secret rotated; %s\n%s", args[0], old, secretLines(resp.Msg.Secret, resp.Msg.GetEndpoint()))
			return err
		},
	}
	rotate.Flags().DurationVar(&grace, "grace", 0, "how long the previous secret keeps signing beside the new one (0: stops now, at most 720h)")
	rotate.Flags().StringVar(&rotateSignature, "signature", "", "scheme of the new secret: hmac or ed25519 (default: the endpoint's); the previous one keeps its own during --grace")

	publicKey := &cobra.Command{
		Use: "public-key ENDPOINT_ID", Short: "Print an ed25519 endpoint's public key (whpk_…), which receivers verify v1a signatures with", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ec, err := client(cmd)
			if err != nil {
				return err
			}
			resp, err := ec.GetEndpoint(cmd.Context(), connect.NewRequest(&hookgatev1.GetEndpointRequest{Tenant: tenant, EndpointId: args[0]}))
			if err != nil {
				return apiError(err)
			}
			if resp.Msg.GetEndpoint().GetPublicKey() == "" {
				return fmt.Errorf("endpoint %s signs with %s: it has no public key", args[0], schemeText(resp.Msg.GetEndpoint().GetSignatureScheme()))
			}
			_, err = fmt.Fprintln(c.out, resp.Msg.Endpoint.PublicKey)
			return err
		},
	}

	secretCmd := &cobra.Command{
		Use: "secret ENDPOINT_ID", Short: "Print an endpoint's signing secret (if the tenant allows reading it)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ec, err := client(cmd)
			if err != nil {
				return err
			}
			resp, err := ec.GetEndpointSecret(cmd.Context(), connect.NewRequest(&hookgatev1.GetEndpointSecretRequest{Tenant: tenant, EndpointId: args[0]}))
			if err != nil {
				return apiError(err)
			}
			if c.json() {
				return c.printJSON(resp.Msg)
			}
			_, err = fmt.Fprintln(c.out, resp.Msg.Secret)
			return err
		},
	}
	health := &cobra.Command{
		Use: "health ENDPOINT_ID", Short: "Print an endpoint's health: attempts, response times, failures, last status", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ec, err := client(cmd)
			if err != nil {
				return err
			}
			resp, err := ec.GetEndpointHealth(cmd.Context(), connect.NewRequest(&hookgatev1.GetEndpointHealthRequest{Tenant: tenant, EndpointId: args[0]}))
			if err != nil {
				return apiError(err)
			}
			if c.json() {
				return c.printJSON(resp.Msg)
			}
			status := endpointStatus(&hookgatev1.Endpoint{Status: resp.Msg.Status, DisabledReason: resp.Msg.DisabledReason})
			rows := append([][]string{{"endpoint", args[0]}, {"status", status}}, healthRows(resp.Msg.Health)...)
			return c.table([]string{"FIELD", "VALUE"}, rows)
		},
	}

	cmd.AddCommand(create, get, list, update, enable, disable, del, rotate, secretCmd, publicKey, health)
	cmd.AddCommand(newEndpointsRecoverCommand(&flags, &tenant), newEndpointsRecoveryCommand(&flags, &tenant), newEndpointsTestCommand(&flags, &tenant))
	return cmd
}

// signatureFlag reads --signature; "" leaves the scheme to the API.
func signatureFlag(v string) (hookgatev1.SignatureScheme, error) {
	switch strings.ToLower(v) {
	case "":
		return hookgatev1.SignatureScheme_SIGNATURE_SCHEME_UNSPECIFIED, nil
	case "hmac", "hmac-sha256":
		return hookgatev1.SignatureScheme_SIGNATURE_SCHEME_HMAC_SHA256, nil
	case "ed25519":
		return hookgatev1.SignatureScheme_SIGNATURE_SCHEME_ED25519, nil
	default:
		return 0, fmt.Errorf("flag --signature %q: want hmac or ed25519", v)
	}
}

// schemeText names a signature scheme as --signature spells it.
func schemeText(s hookgatev1.SignatureScheme) string {
	switch s {
	case hookgatev1.SignatureScheme_SIGNATURE_SCHEME_ED25519:
		return "ed25519"
	case hookgatev1.SignatureScheme_SIGNATURE_SCHEME_HMAC_SHA256, hookgatev1.SignatureScheme_SIGNATURE_SCHEME_UNSPECIFIED:
		return "hmac"
	default:
		return strings.ToLower(s.String())
	}
}

// secretLines prints a new signing secret and, for ed25519, its public
// key.
func secretLines(secret string, e *hookgatev1.Endpoint) string {
	out := "signing secret: " + secret + "\n"
	if pk := e.GetPublicKey(); pk != "" {
		out += "public key: " + pk + "\n"
	}
	return out
}

// endpointStatus is the status in lower case, with the reason it is
// disabled.
func endpointStatus(e *hookgatev1.Endpoint) string {
	s := strings.ToLower(strings.TrimPrefix(e.Status.String(), "ENDPOINT_STATUS_"))
	if e.DisabledReason != hookgatev1.EndpointDisabledReason_ENDPOINT_DISABLED_REASON_UNSPECIFIED {
		s += " (" + strings.ToLower(strings.TrimPrefix(e.DisabledReason.String(), "ENDPOINT_DISABLED_REASON_")) + ")"
	}
	return s
}

// healthColumns are the list's AVG, LAST, FAILS and LAST STATUS: average
// and last response time, failed attempts since the last success, and the
// newest attempt's status; "-" before the first attempt.
func healthColumns(h *hookgatev1.EndpointHealth) (avg, last, fails, status string) {
	if h == nil || h.LastStatus == nil {
		return "-", "-", "-", "-"
	}
	return strconv.FormatInt(h.AvgResponseTimeMs, 10) + "ms", strconv.FormatInt(h.LastResponseTimeMs, 10) + "ms",
		strconv.Itoa(int(h.ConsecutiveFailures)), cmp.Or(h.LastStatus.Message, "-")
}

// healthRows are get's health lines.
func healthRows(h *hookgatev1.EndpointHealth) [][]string {
	if h == nil || h.LastStatus == nil {
		return [][]string{{"health", "no attempt yet"}}
	}
	failing := "none since the last success"
	if h.ConsecutiveFailures > 0 {
		failing = fmt.Sprintf("%d attempts in a row since %s, %d deliveries failed", h.ConsecutiveFailures,
			timeText(h.FailingSince, h.FailingSince != nil), h.ErrorsSinceLastSuccess)
	}
	return [][]string{
		{"attempts", fmt.Sprintf("%d succeeded, %d failed", h.SuccessCount, h.FailureCount)},
		{"response time", fmt.Sprintf("avg %d ms over the last %d attempts (24 h), last %d ms", h.AvgResponseTimeMs, h.SampledAttempts, h.LastResponseTimeMs)},
		{"failures", failing},
		{"last success", timeText(h.LastSuccessTime, h.LastSuccessTime != nil)},
		{"last status", cmp.Or(h.LastStatus.Message, "-") + " at " + timeText(h.LastStatus.Time, h.LastStatus.Time != nil)},
	}
}

// headersText lists headers as Name: value; the API has already replaced
// an Authorization value with REDACTED.
func headersText(h map[string]string) string {
	pairs := make([]string, 0, len(h))
	for _, k := range slices.Sorted(maps.Keys(h)) {
		pairs = append(pairs, k+": "+h[k])
	}
	return strings.Join(pairs, ", ")
}

func printEndpointDetail(c *cli, e *hookgatev1.Endpoint) error {
	limit := "none"
	if e.RateLimitPerSecond > 0 {
		burst := e.Burst
		if burst == 0 {
			burst = e.RateLimitPerSecond
		}
		limit = fmt.Sprintf("%d/s burst %d", e.RateLimitPerSecond, burst)
	}
	inFlight := "no cap"
	if e.MaxInFlight > 0 {
		inFlight = strconv.Itoa(int(e.MaxInFlight))
	}
	rows := [][]string{
		{"id", e.Id}, {"tenant", e.Tenant}, {"app", e.ApplicationId}, {"name", e.Name}, {"description", e.Description},
		{"url", e.Url}, {"event types", strings.Join(e.EventTypes, ", ")}, {"status", endpointStatus(e)},
	}
	if e.DisableTime != nil {
		rows = append(rows, []string{"disabled", timeText(e.DisableTime, true)})
	}
	rows = append(rows,
		[]string{"rate limit", limit},
		[]string{"max in flight", inFlight},
		[]string{"timeout", strconv.Itoa(int(e.TimeoutMs)) + " ms"},
		[]string{"headers", headersText(e.Headers)},
		[]string{"signature", schemeText(e.SignatureScheme)},
	)
	if e.PublicKey != "" {
		rows = append(rows, []string{"public key", e.PublicKey})
	}
	rows = append(rows,
		[]string{"secret", "created " + timeText(e.SecretCreateTime, e.SecretCreateTime != nil)},
	)
	if e.PreviousSecretExpireTime != nil {
		rows = append(rows, []string{"previous secret", "signs until " + timeText(e.PreviousSecretExpireTime, true)})
	}
	rows = append(rows, healthRows(e.Health)...)
	rows = append(rows,
		[]string{"created", timeText(e.CreateTime, e.CreateTime != nil)},
		[]string{"updated", timeText(e.UpdateTime, e.UpdateTime != nil)},
		[]string{"etag", e.Etag},
	)
	return c.table([]string{"FIELD", "VALUE"}, rows)
}
