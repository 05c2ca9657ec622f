package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"connectrpc.com/connect"
	"github.com/hookgate/hookgate/cmd/hookgate/app/dev"
	"github.com/hookgate/hookgate/cmd/hookgate/app/natsconn"
	"github.com/hookgate/hookgate/dataplane/streams"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/gen/hookgate/v1/hookgatev1connect"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"google.golang.org/protobuf/encoding/protojson"
)

// devNATSUser is where hookgate dev keeps its NATS user's seed, relative to
// the folder it runs in.
const devNATSUser = ".hookgate/" + dev.NATSUserFile

// previewRunes is how much of a body an event's line shows.
const previewRunes = 96

func newEventsCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "events", Short: "Watch inbound events as the edges publish them"}
	var (
		flags                    cliFlags
		natsCfg                  natsconn.Config
		tenant, process, webhook string
		fromStart                bool
	)
	tail := &cobra.Command{
		Use:   "tail",
		Short: "Print inbound events as they arrive, one line an event",
		Long: `Print inbound events as the edges publish them, from now on.

By default through the admin API (InboundWebhookService.TailEvents, with an admin
token like every admin command): one line an event with its time, event id, webhook,
process, trigger, correlation key, content type, body size and the start of the body;
with -o json, each event as one JSON object a line. Headers that may carry a
credential or signature are REDACTED; the body is cut at 4 KiB.

Given a NATS flag (--nats-url, credentials, TLS) or --from-start, it reads the
stream HOOKGATE_INBOUND itself instead, with an ordered consumer, and prints whole
envelopes, one JSON object a line.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if tenant == "" {
				return errors.New("flag --tenant: required")
			}
			if fromStart || natsFlagGiven(cmd.Flags()) {
				return tailNATS(cmd, natsCfg, tenant, process, webhook, fromStart)
			}
			return tailAdmin(cmd, &flags, &hookgatev1.TailEventsRequest{Tenant: tenant, ProcessId: process, WebhookId: webhook})
		},
	}
	flags.register(tail)
	natsCfg.RegisterFlags(tail.Flags())
	tail.Flags().StringVar(&tenant, "tenant", "", "tenant whose events to show (required)")
	tail.Flags().StringVar(&process, "process", "", "only events for this process")
	tail.Flags().StringVar(&webhook, "webhook", "", "only events of this webhook (wh_…)")
	tail.Flags().BoolVar(&fromStart, "from-start", false, "read JetStream directly and print the stored events first, then new ones")
	cmd.AddCommand(tail)
	return cmd
}

// natsFlagGiven reports whether a NATS flag was set: the tail then reads
// JetStream directly, as it did before it could go through the admin API.
func natsFlagGiven(fs *pflag.FlagSet) bool {
	given := false
	fs.Visit(func(f *pflag.Flag) {
		if strings.HasPrefix(f.Name, "nats-") {
			given = true
		}
	})
	return given
}

// tailAdmin streams TailEvents and prints each event.
func tailAdmin(cmd *cobra.Command, flags *cliFlags, req *hookgatev1.TailEventsRequest) error {
	c, err := flags.client(cmd)
	if err != nil {
		return err
	}
	// The stream lasts until Ctrl-C: no client timeout.
	hc := *c.http
	hc.Timeout = 0
	ctx := cmd.Context()
	stream, err := hookgatev1connect.NewInboundWebhookServiceClient(&hc, c.server, c.opts...).TailEvents(ctx, connect.NewRequest(req))
	if err != nil {
		return apiError(err)
	}
	defer stream.Close()
	for stream.Receive() {
		ev := stream.Msg().GetEvent()
		if ev == nil {
			// The first message: the tail listens from here on.
			fmt.Fprintf(cmd.ErrOrStderr(), "tailing %s through %s (Ctrl-C to stop)\n", tailScope(req), c.server)
			continue
		}
		if err := c.printEvent(ev); err != nil {
			return err
		}
	}
	if err := stream.Err(); err != nil && ctx.Err() == nil {
		return apiError(err)
	}
	return nil
}

func tailScope(req *hookgatev1.TailEventsRequest) string {
	s := "tenant " + req.GetTenant()
	if req.GetProcessId() != "" {
		s += ", process " + req.GetProcessId()
	}
	if req.GetWebhookId() != "" {
		s += ", webhook " + req.GetWebhookId()
	}
	return s
}

// printEvent writes one event on one line.
func (c *cli) printEvent(ev *hookgatev1.InboundEvent) error {
	if c.json() {
		b, err := protojson.Marshal(ev)
		if err != nil {
			return fmt.Errorf("encode output: %w", err)
		}
		_, err = fmt.Fprintf(c.out, "%s\n", b)
		return err
	}
	_, err := fmt.Fprintln(c.out, eventLine(ev))
	return err
}

// eventLine is an event as one line of text. What came from the caller
// (correlation key, content type, body) is shown with control characters
// escaped, so that a body cannot move the terminal's cursor or split the
// line.
func eventLine(ev *hookgatev1.InboundEvent) string {
	at := "-"
	if ev.GetReceiveTime() != nil {
		at = ev.GetReceiveTime().AsTime().UTC().Format("2006-01-02T15:04:05.000Z")
	}
	trigger := "-"
	switch ev.GetTrigger() {
	case hookgatev1.Trigger_TRIGGER_START_PROCESS:
		trigger = "start"
	case hookgatev1.Trigger_TRIGGER_RESUME_PROCESS:
		trigger = "resume"
	}
	corr := "-"
	if ev.CorrelationKey != nil {
		corr = "key=" + printable(ev.GetCorrelationKey(), previewRunes)
	}
	ctype := ev.GetContentType()
	if ctype == "" {
		ctype = "-"
	}
	body := printable(string(ev.GetBody()), previewRunes)
	if int64(len(ev.GetBody())) < ev.GetBodySize() && !strings.HasSuffix(body, "…") {
		body += "…"
	}
	return strings.Join([]string{at, ev.GetId(), ev.GetWebhookId(), ev.GetProcessId(), trigger, corr,
		printable(ctype, previewRunes), strconv.FormatInt(ev.GetBodySize(), 10) + "B", body}, "  ")
}

// printable returns s with control characters escaped (\n, \x1b, …) and
// invalid UTF-8 shown as U+FFFD, cut after n runes with "…".
func printable(s string, n int) string {
	var b strings.Builder
	runes := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if runes == n {
			b.WriteString("…")
			break
		}
		runes++
		switch {
		case r == utf8.RuneError && size <= 1:
			b.WriteRune(utf8.RuneError)
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029':
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// tailNATS reads HOOKGATE_INBOUND with an ordered consumer and prints each
// envelope as it is stored.
func tailNATS(cmd *cobra.Command, natsCfg natsconn.Config, tenant, process, webhook string, fromStart bool) error {
	subject := streams.InboundFilter(tenant, process)
	if natsCfg.CredsFile == "" && natsCfg.NkeyFile == "" && natsCfg.User == "" {
		// hookgate dev's NATS admits only the user whose seed it keeps in
		// its data folder.
		if _, err := os.Stat(devNATSUser); err == nil {
			natsCfg.NkeyFile = devNATSUser
		}
	}
	nc, err := natsCfg.Connect("hookgate-events-tail")
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	ctx := cmd.Context()
	// New events are those after the stream's last sequence now: an ordered
	// consumer is created lazily on the first fetch, and "new" from then on
	// would miss what arrives in between.
	ccfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}, DeliverPolicy: jetstream.DeliverAllPolicy}
	if !fromStart {
		s, err := js.Stream(ctx, streams.Inbound)
		if err != nil {
			return fmt.Errorf("stream %s: %w", streams.Inbound, err)
		}
		ccfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		ccfg.OptStartSeq = s.CachedInfo().State.LastSeq + 1
	}
	// An ordered consumer is ephemeral and durable-less: it leaves nothing
	// behind in the stream when the tail ends.
	c, err := js.OrderedConsumer(ctx, streams.Inbound, ccfg)
	if err != nil {
		return fmt.Errorf("consume %s: %w", subject, err)
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(cmd.ErrOrStderr(), "tailing %s (Ctrl-C to stop)\n", subject)
	for {
		msg, err := c.Next()
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return nil
			}
			if errors.Is(err, jetstream.ErrNoMessages) {
				continue
			}
			return fmt.Errorf("consume %s: %w", subject, err)
		}
		if webhook != "" && msg.Headers().Get("Hookgate-Webhook-Id") != webhook {
			continue
		}
		if _, err := fmt.Fprintf(out, "%s\n", msg.Data()); err != nil {
			return err
		}
	}
}
