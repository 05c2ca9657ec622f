package cli

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/hookgate/hookgate/cmd/hookgate/app/dev"
	"github.com/hookgate/hookgate/cmd/hookgate/app/natsconn"
	"github.com/hookgate/hookgate/dataplane/streams"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"
)

// devNATSUser is where hookgate dev keeps its NATS user's seed, relative to
// the folder it runs in.
const devNATSUser = ".hookgate/" + dev.NATSUserFile

func newEventsCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "events", Short: "Watch inbound events in JetStream"}
	var (
		natsCfg         natsconn.Config
		tenant, process string
	)
	var fromStart bool
	tail := &cobra.Command{
		Use:   "tail",
		Short: "Print inbound envelopes as they arrive, one JSON object a line",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if tenant == "" {
				return errors.New("flag --tenant: required")
			}
			subject := streams.InboundFilter(tenant, process)
			if natsCfg.CredsFile == "" && natsCfg.NkeyFile == "" && natsCfg.User == "" {
				// hookgate dev's NATS admits only the user whose seed
				// it keeps in its data folder.
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
			// New events are those after the stream's last sequence now:
			// an ordered consumer is created lazily on the first fetch,
			// and "new" from then on would miss what arrives in between.
			ccfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}, DeliverPolicy: jetstream.DeliverAllPolicy}
			if !fromStart {
				s, err := js.Stream(ctx, streams.Inbound)
				if err != nil {
					return fmt.Errorf("stream %s: %w", streams.Inbound, err)
				}
				ccfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
				ccfg.OptStartSeq = s.CachedInfo().State.LastSeq + 1
			}
			// An ordered consumer is ephemeral and durable-less: it leaves
			// nothing behind in the stream when the tail ends.
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
				if _, err := fmt.Fprintf(out, "%s\n", msg.Data()); err != nil {
					return err
				}
			}
		},
	}
	natsCfg.RegisterFlags(tail.Flags())
	tail.Flags().StringVar(&tenant, "tenant", "", "tenant whose events to show (required)")
	tail.Flags().StringVar(&process, "process", "", "only events for this process")
	tail.Flags().BoolVar(&fromStart, "from-start", false, "print the stored events first, then new ones")
	cmd.AddCommand(tail)
	return cmd
}
