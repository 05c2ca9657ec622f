package cli

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect"
	"github.com/hookgate/hookgate/controlplane/admin"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/gen/hookgate/v1/hookgatev1connect"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// webhookFlags are the settable fields of a webhook. One binding comes from
// --process/--thread/--trigger/--correlation-path; more from --binding.
type webhookFlags struct {
	name, description, provider string
	process, thread, trigger    string
	correlationPath             string
	bindings                    []string
	secrets                     []string
	maxBody                     int64
	rate                        float64
	burst                       int32
	rawBody                     bool
	requireKey                  bool
	hmac                        hmacFlags
}

// customHmac is the CUSTOM_HMAC configuration of a create: the flags for
// custom-hmac, nil for other providers (whose flags would be refused).
func customHmac(p hookgatev1.Provider, fs *pflag.FlagSet, h *hmacFlags) *hookgatev1.CustomHmac {
	if p != hookgatev1.Provider_PROVIDER_CUSTOM_HMAC && !h.changed(fs) {
		return nil
	}
	return h.config()
}

// hmacFlags are a CUSTOM_HMAC configuration.
type hmacFlags struct {
	header, algorithm, encoding, prefix, template   string
	timestampHeader, timestampUnit, timestampPrefix string
	idHeader, separator                             string
	tolerance                                       time.Duration
}

func (h *hmacFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&h.header, "hmac-header", "", "custom-hmac: the header that carries the signature")
	fs.StringVar(&h.algorithm, "hmac-algorithm", "sha256", "custom-hmac: sha1, sha256 or sha512")
	fs.StringVar(&h.encoding, "hmac-encoding", "hex", "custom-hmac: hex, base64 or base64url")
	fs.StringVar(&h.prefix, "hmac-prefix", "", `custom-hmac: prefix of a signature entry, e.g. "sha256=" or "v1="`)
	fs.StringVar(&h.template, "hmac-template", "{body}", "custom-hmac: the signed content over {body}, {timestamp}, {id}, {url}, {method}, {header:Name}")
	fs.StringVar(&h.timestampHeader, "hmac-timestamp-header", "", "custom-hmac: the header that carries the signed timestamp (may be --hmac-header); the template must then contain {timestamp}")
	fs.StringVar(&h.timestampUnit, "hmac-timestamp-unit", "", "custom-hmac: s (default), ms or rfc3339")
	fs.StringVar(&h.timestampPrefix, "hmac-timestamp-prefix", "", `custom-hmac: prefix of the timestamp entry in the signature header, e.g. "t="`)
	fs.DurationVar(&h.tolerance, "hmac-tolerance", 0, "custom-hmac: how far the timestamp may be from now, both ways (default 5m)")
	fs.StringVar(&h.idHeader, "hmac-id-header", "", "custom-hmac: the header whose value is {id}")
	fs.StringVar(&h.separator, "hmac-separator", "", `custom-hmac: what separates several entries in the signature header, e.g. " " or ","`)
}

// changed reports whether any --hmac-* flag was given.
func (h *hmacFlags) changed(fs *pflag.FlagSet) bool {
	changed := false
	fs.Visit(func(f *pflag.Flag) { changed = changed || strings.HasPrefix(f.Name, "hmac-") })
	return changed
}

func (h *hmacFlags) config() *hookgatev1.CustomHmac {
	c := &hookgatev1.CustomHmac{Header: h.header, Algorithm: h.algorithm, Encoding: h.encoding, Prefix: h.prefix,
		Template: h.template, TimestampHeader: h.timestampHeader, TimestampUnit: h.timestampUnit,
		TimestampPrefix: h.timestampPrefix, IdHeader: h.idHeader, Separator: h.separator}
	if h.tolerance > 0 {
		c.Tolerance = durationpb.New(h.tolerance)
	}
	return c
}

func (w *webhookFlags) register(fs *pflag.FlagSet, create bool) {
	if create {
		fs.StringVar(&w.name, "name", "", "name, unique in the tenant (3–50 characters)")
		fs.StringVar(&w.provider, "provider", "generic", "provider and its required secrets (hookgate providers shows schemes):"+providerHelp())
	}
	fs.StringVar(&w.description, "description", "", "description")
	fs.StringVar(&w.process, "process", "", "process id the binding publishes to")
	fs.StringVar(&w.thread, "thread", "main", "thread id of the binding")
	fs.StringVar(&w.trigger, "trigger", "start", "start or resume")
	fs.StringVar(&w.correlationPath, "correlation-path", "", "for --trigger resume: dotted path with [N] indices to the correlation key")
	fs.StringArrayVar(&w.bindings, "binding", nil, "another binding: process=P[,thread=T][,trigger=start|resume][,path=a.b[0].c] (repeatable)")
	fs.StringArrayVar(&w.secrets, "secret", nil, "provider secret name=value (repeatable), e.g. signing_secret=…")
	fs.Int64Var(&w.maxBody, "max-body", 0, "body limit in bytes (default 1 MiB)")
	fs.Float64Var(&w.rate, "rate", 0, "rate limit in requests per second (0: none)")
	fs.Int32Var(&w.burst, "burst", 0, "rate limit burst (default: the rate rounded up)")
	fs.BoolVar(&w.rawBody, "raw-body", false, "add the exact body bytes (base64) to the envelope")
	fs.BoolVar(&w.requireKey, "require-key", true, "demand the API key; --require-key=false lets the provider's signature alone authenticate (not for generic)")
	w.hmac.register(fs)
}

func parseTrigger(s string) (hookgatev1.Trigger, error) {
	switch strings.ToLower(s) {
	case "start", "start_process":
		return hookgatev1.Trigger_TRIGGER_START_PROCESS, nil
	case "resume", "resume_process":
		return hookgatev1.Trigger_TRIGGER_RESUME_PROCESS, nil
	}
	return 0, fmt.Errorf("trigger %q: want start or resume", s)
}

// bindingList builds the bindings the flags describe.
func (w *webhookFlags) bindingList() ([]*hookgatev1.Binding, error) {
	var out []*hookgatev1.Binding
	if w.process != "" {
		tr, err := parseTrigger(w.trigger)
		if err != nil {
			return nil, fmt.Errorf("flag --trigger: %w", err)
		}
		out = append(out, &hookgatev1.Binding{ProcessId: w.process, ThreadId: w.thread, Trigger: tr, CorrelationPath: w.correlationPath})
	}
	for _, spec := range w.bindings {
		b := &hookgatev1.Binding{Trigger: hookgatev1.Trigger_TRIGGER_START_PROCESS}
		for _, part := range strings.Split(spec, ",") {
			k, v, ok := strings.Cut(part, "=")
			if !ok {
				return nil, fmt.Errorf("flag --binding %q: want key=value pairs", spec)
			}
			switch k {
			case "process":
				b.ProcessId = v
			case "thread":
				b.ThreadId = v
			case "trigger":
				tr, err := parseTrigger(v)
				if err != nil {
					return nil, fmt.Errorf("flag --binding %q: %w", spec, err)
				}
				b.Trigger = tr
			case "path", "correlation-path":
				b.CorrelationPath = v
			default:
				return nil, fmt.Errorf("flag --binding %q: unknown key %q (process, thread, trigger, path)", spec, k)
			}
		}
		out = append(out, b)
	}
	return out, nil
}

func (w *webhookFlags) secretMap() (map[string]string, error) {
	if len(w.secrets) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(w.secrets))
	for _, s := range w.secrets {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			// Never echo the value: it is a secret.
			return nil, fmt.Errorf("flag --secret: want name=value")
		}
		m[k] = v
	}
	return m, nil
}

func (w *webhookFlags) rateLimit() *hookgatev1.RateLimit {
	if w.rate == 0 && w.burst == 0 {
		return nil
	}
	return &hookgatev1.RateLimit{RequestsPerSecond: w.rate, Burst: w.burst}
}

func newWebhooksCommand() *cobra.Command {
	var flags cliFlags
	var tenant string
	cmd := &cobra.Command{Use: "webhooks", Short: "Manage inbound webhooks"}
	flags.register(cmd)
	cmd.PersistentFlags().StringVar(&tenant, "tenant", "", "tenant of the webhooks (required)")
	client := func(cmd *cobra.Command) (*cli, hookgatev1connect.InboundWebhookServiceClient, error) {
		if tenant == "" {
			return nil, nil, fmt.Errorf("flag --tenant: required")
		}
		c, err := flags.client(cmd)
		if err != nil {
			return nil, nil, err
		}
		return c, hookgatev1connect.NewInboundWebhookServiceClient(c.http, c.server, c.opts...), nil
	}

	var cf webhookFlags
	create := &cobra.Command{
		Use: "create", Short: "Create a webhook; prints its URL and API key once", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, wc, err := client(cmd)
			if err != nil {
				return err
			}
			provider, ok := admin.ProviderFromName(cf.provider)
			if !ok {
				return fmt.Errorf("flag --provider %q: unknown provider", cf.provider)
			}
			bindings, err := cf.bindingList()
			if err != nil {
				return err
			}
			secrets, err := cf.secretMap()
			if err != nil {
				return err
			}
			resp, err := wc.CreateWebhook(cmd.Context(), connect.NewRequest(&hookgatev1.CreateWebhookRequest{Webhook: &hookgatev1.Webhook{
				Tenant: tenant, Name: cf.name, Description: cf.description, Provider: provider, Bindings: bindings,
				MaxBodyBytes: cf.maxBody, RateLimit: cf.rateLimit(), RawBody: cf.rawBody, ProviderSecrets: secrets,
				RequireKey: proto.Bool(cf.requireKey), CustomHmac: customHmac(provider, cmd.Flags(), &cf.hmac),
			}}))
			if err != nil {
				return apiError(err)
			}
			if c.json() {
				return c.printJSON(resp.Msg)
			}
			_, err = fmt.Fprintf(c.out, "webhook %s created\nURL (shown once):     %s\nAPI key (shown once): %s\n",
				resp.Msg.Webhook.Id, resp.Msg.UrlWithKey, resp.Msg.ApiKey)
			if err == nil && !resp.Msg.Webhook.GetRequireKey() {
				// The signature alone authenticates: the provider may be
				// given the URL without the key.
				_, err = fmt.Fprintf(c.out, "URL without the key:  %s\n", resp.Msg.Webhook.Url)
			}
			return err
		},
	}
	cf.register(create.Flags(), true)

	get := &cobra.Command{
		Use: "get WEBHOOK_ID", Short: "Show a webhook (never its key or secrets)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, wc, err := client(cmd)
			if err != nil {
				return err
			}
			resp, err := wc.GetWebhook(cmd.Context(), connect.NewRequest(&hookgatev1.GetWebhookRequest{Tenant: tenant, WebhookId: args[0]}))
			if err != nil {
				return apiError(err)
			}
			if c.json() {
				return c.printJSON(resp.Msg)
			}
			return printWebhookDetail(c, resp.Msg.Webhook)
		},
	}

	var active, inactive bool
	var provider, process string
	list := &cobra.Command{
		Use: "list", Short: "List a tenant's webhooks", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, wc, err := client(cmd)
			if err != nil {
				return err
			}
			req := &hookgatev1.ListWebhooksRequest{Tenant: tenant, ProcessId: process, PageSize: 500}
			switch {
			case active && inactive:
				return fmt.Errorf("flags --active and --inactive: choose one")
			case active:
				req.Active = &active
			case inactive:
				f := false
				req.Active = &f
			}
			if provider != "" {
				p, ok := admin.ProviderFromName(provider)
				if !ok {
					return fmt.Errorf("flag --provider %q: unknown provider", provider)
				}
				req.Provider = p
			}
			all := &hookgatev1.ListWebhooksResponse{}
			all.Webhooks, err = allPages(func(token string) ([]*hookgatev1.Webhook, string, error) {
				req.PageToken = token
				resp, err := wc.ListWebhooks(cmd.Context(), connect.NewRequest(req))
				if err != nil {
					return nil, "", err
				}
				return resp.Msg.GetWebhooks(), resp.Msg.GetNextPageToken(), nil
			})
			if err != nil {
				return err
			}
			if c.json() {
				return c.printJSON(all)
			}
			rows := make([][]string, 0, len(all.Webhooks))
			for _, w := range all.Webhooks {
				rows = append(rows, []string{w.Id, w.Name, admin.ProviderLabel(w.Provider), strconv.FormatBool(w.Active), w.KeyPrefix + "…", processes(w), w.Url})
			}
			return c.table([]string{"ID", "NAME", "PROVIDER", "ACTIVE", "KEY", "PROCESSES", "URL"}, rows)
		},
	}
	list.Flags().BoolVar(&active, "active", false, "only active webhooks")
	list.Flags().BoolVar(&inactive, "inactive", false, "only deactivated webhooks")
	list.Flags().StringVar(&provider, "provider", "", "only webhooks of this provider")
	list.Flags().StringVar(&process, "process", "", "only webhooks bound to this process")

	var uf webhookFlags
	var etag string
	update := &cobra.Command{
		Use: "update WEBHOOK_ID", Short: "Change the fields whose flags are given", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, wc, err := client(cmd)
			if err != nil {
				return err
			}
			w := &hookgatev1.Webhook{Tenant: tenant, Id: args[0], Etag: etag}
			var paths []string
			fs := cmd.Flags()
			if fs.Changed("description") {
				w.Description, paths = uf.description, append(paths, "description")
			}
			if fs.Changed("process") || fs.Changed("binding") {
				if w.Bindings, err = uf.bindingList(); err != nil {
					return err
				}
				paths = append(paths, "bindings")
			}
			if fs.Changed("secret") {
				if w.ProviderSecrets, err = uf.secretMap(); err != nil {
					return err
				}
				paths = append(paths, "provider_secrets")
			}
			if fs.Changed("max-body") {
				w.MaxBodyBytes, paths = uf.maxBody, append(paths, "max_body_bytes")
			}
			if fs.Changed("rate") || fs.Changed("burst") {
				w.RateLimit, paths = uf.rateLimit(), append(paths, "rate_limit")
			}
			if fs.Changed("raw-body") {
				w.RawBody, paths = uf.rawBody, append(paths, "raw_body")
			}
			if fs.Changed("require-key") {
				w.RequireKey, paths = proto.Bool(uf.requireKey), append(paths, "require_key")
			}
			if uf.hmac.changed(fs) {
				w.CustomHmac, paths = uf.hmac.config(), append(paths, "custom_hmac")
			}
			if len(paths) == 0 {
				return fmt.Errorf("nothing to update: give --description, --process/--binding, --secret, --max-body, --rate, --raw-body, --require-key or --hmac-*")
			}
			return updateWebhook(cmd, c, wc, w, paths)
		},
	}
	uf.register(update.Flags(), false)
	update.Flags().StringVar(&etag, "etag", "", "only update if the webhook is still at this etag")

	setActive := func(use, short string, on bool) *cobra.Command {
		return &cobra.Command{
			Use: use + " WEBHOOK_ID", Short: short, Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, wc, err := client(cmd)
				if err != nil {
					return err
				}
				return updateWebhook(cmd, c, wc, &hookgatev1.Webhook{Tenant: tenant, Id: args[0], Active: on}, []string{"active"})
			},
		}
	}

	var grace time.Duration
	rotate := &cobra.Command{
		Use: "rotate-key WEBHOOK_ID", Short: "Issue a new API key; the old one works for --grace", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, wc, err := client(cmd)
			if err != nil {
				return err
			}
			resp, err := wc.RotateWebhookKey(cmd.Context(), connect.NewRequest(&hookgatev1.RotateWebhookKeyRequest{
				Tenant: tenant, WebhookId: args[0], GracePeriod: durationpb.New(grace),
			}))
			if err != nil {
				return apiError(err)
			}
			if c.json() {
				return c.printJSON(resp.Msg)
			}
			old := "the previous key stopped working now"
			if w := resp.Msg.Webhook; w.PreviousKeyExpireTime != nil {
				old = fmt.Sprintf("the previous key %s… works until %s", w.PreviousKeyPrefix, timeText(w.PreviousKeyExpireTime, true))
			}
			_, err = fmt.Fprintf(c.out, "webhook %s key rotated; %s\nURL (shown once):     %s\nAPI key (shown once): %s\n",
				args[0], old, resp.Msg.UrlWithKey, resp.Msg.ApiKey)
			return err
		},
	}
	rotate.Flags().DurationVar(&grace, "grace", admin.DefaultGracePeriod, "how long the previous key keeps working (0: stops now)")

	del := &cobra.Command{
		Use: "delete WEBHOOK_ID", Short: "Delete a webhook for good: its URL, key and secrets", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, wc, err := client(cmd)
			if err != nil {
				return err
			}
			if _, err := wc.DeleteWebhook(cmd.Context(), connect.NewRequest(&hookgatev1.DeleteWebhookRequest{Tenant: tenant, WebhookId: args[0]})); err != nil {
				return apiError(err)
			}
			_, err = fmt.Fprintf(c.out, "webhook %s deleted\n", args[0])
			return err
		},
	}
	var failLimit int32
	failures := &cobra.Command{
		Use: "failures WEBHOOK_ID", Short: "List calls the edge rejected after routing, newest first", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, wc, err := client(cmd)
			if err != nil {
				return err
			}
			resp, err := wc.ListFailedTriggers(cmd.Context(), connect.NewRequest(&hookgatev1.ListFailedTriggersRequest{
				Tenant: tenant, WebhookId: args[0], PageSize: failLimit,
			}))
			if err != nil {
				return apiError(err)
			}
			if c.json() {
				return c.printJSON(resp.Msg)
			}
			rows := make([][]string, 0, len(resp.Msg.FailedTriggers))
			for _, f := range resp.Msg.FailedTriggers {
				rows = append(rows, []string{timeText(f.Time, f.Time != nil), strconv.Itoa(int(f.StatusCode)), f.Reason,
					f.RemoteAddress, strconv.FormatInt(f.BodySize, 10), f.Detail})
			}
			return c.table([]string{"TIME", "STATUS", "REASON", "REMOTE", "BODY BYTES", "DETAIL"}, rows)
		},
	}
	failures.Flags().Int32Var(&failLimit, "limit", 50, "how many to show (at most 500)")
	cmd.AddCommand(create, get, list, update, failures,
		setActive("activate", "Accept calls again (the key is unchanged)", true),
		setActive("deactivate", "Answer calls with 410 Gone, keeping the key", false),
		rotate, newRotateSecretCommand(client, &tenant), del)
	return cmd
}

func updateWebhook(cmd *cobra.Command, c *cli, wc hookgatev1connect.InboundWebhookServiceClient, w *hookgatev1.Webhook, paths []string) error {
	resp, err := wc.UpdateWebhook(cmd.Context(), connect.NewRequest(&hookgatev1.UpdateWebhookRequest{
		Webhook: w, UpdateMask: &fieldmaskpb.FieldMask{Paths: paths},
	}))
	if err != nil {
		return apiError(err)
	}
	if c.json() {
		return c.printJSON(resp.Msg)
	}
	return printWebhookDetail(c, resp.Msg.Webhook)
}

func processes(w *hookgatev1.Webhook) string {
	var ps []string
	for _, b := range w.Bindings {
		p := b.ProcessId
		if b.Trigger == hookgatev1.Trigger_TRIGGER_RESUME_PROCESS {
			p += " (resume)"
		}
		if !slices.Contains(ps, p) {
			ps = append(ps, p)
		}
	}
	return strings.Join(ps, ", ")
}

// secretNames lists the secrets set, with the parameter of a reference.
func secretNames(w *hookgatev1.Webhook) string {
	names := make([]string, 0, len(w.ProviderSecretNames))
	for _, n := range w.ProviderSecretNames {
		if p, ok := w.ProviderSecretRefs[n]; ok {
			n += " = ${configParam." + p + "}"
		}
		names = append(names, n)
	}
	return strings.Join(names, ", ")
}

func printWebhookDetail(c *cli, w *hookgatev1.Webhook) error {
	rows := [][]string{
		{"id", w.Id}, {"tenant", w.Tenant}, {"name", w.Name}, {"description", w.Description},
		{"provider", admin.ProviderLabel(w.Provider)}, {"active", strconv.FormatBool(w.Active)}, {"url", w.Url},
		{"key", w.KeyPrefix + "… created " + timeText(w.KeyCreateTime, w.KeyCreateTime != nil)},
	}
	if w.PreviousKeyPrefix != "" {
		rows = append(rows, []string{"previous key", w.PreviousKeyPrefix + "… until " + timeText(w.PreviousKeyExpireTime, w.PreviousKeyExpireTime != nil)})
	}
	for i, b := range w.Bindings {
		desc := fmt.Sprintf("%s thread %s %s", b.ProcessId, b.ThreadId, strings.TrimPrefix(b.Trigger.String(), "TRIGGER_"))
		if b.CorrelationPath != "" {
			desc += " correlation " + b.CorrelationPath
		}
		rows = append(rows, []string{fmt.Sprintf("binding %d", i+1), desc})
	}
	limit := "none"
	if w.RateLimit != nil {
		limit = fmt.Sprintf("%g/s burst %d", w.RateLimit.RequestsPerSecond, w.RateLimit.Burst)
	}
	rows = append(rows,
		[]string{"max body", strconv.FormatInt(w.MaxBodyBytes, 10) + " bytes"},
		[]string{"rate limit", limit},
		[]string{"raw body", strconv.FormatBool(w.RawBody)},
		[]string{"require key", strconv.FormatBool(w.RequireKey == nil || w.GetRequireKey())},
		[]string{"secrets set", secretNames(w)},
		[]string{"etag", w.Etag},
	)
	return c.table([]string{"FIELD", "VALUE"}, rows)
}
