package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/hookgate/hookgate/dataplane/streams"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"
)

func newEventsCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "events", Short: "Watch inbound events in JetStream"}
	var natsURL, tenant, process string
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
			nc, err := nats.Connect(natsURL, nats.Name("hookgate-events-tail"))
			if err != nil {
				return fmt.Errorf("nats %s: %w", natsURL, err)
			}
			defer nc.Close()
			js, err := jetstream.New(nc)
			if err != nil {
				return fmt.Errorf("jetstream: %w", err)
			}
			ctx := cmd.Context()
			policy := jetstream.DeliverNewPolicy
			if fromStart {
				policy = jetstream.DeliverAllPolicy
			}
			// An ordered consumer is ephemeral and durable-less: it leaves
			// nothing behind in the stream when the tail ends.
			c, err := js.OrderedConsumer(ctx, streams.Inbound, jetstream.OrderedConsumerConfig{
				FilterSubjects: []string{subject}, DeliverPolicy: policy,
			})
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
	tail.Flags().StringVar(&natsURL, "nats-url", nats.DefaultURL, "NATS server URL")
	tail.Flags().StringVar(&tenant, "tenant", "", "tenant whose events to show (required)")
	tail.Flags().StringVar(&process, "process", "", "only events for this process")
	tail.Flags().BoolVar(&fromStart, "from-start", false, "print the stored events first, then new ones")
	cmd.AddCommand(tail)
	return cmd
}
