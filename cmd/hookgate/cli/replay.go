package cli

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/gen/hookgate/v1/hookgatev1connect"
	"github.com/spf13/cobra"
)

// `hookgate messages resend`, `endpoints recover` and `endpoints test`
// (docs/design.md "Replay, recovery and test sends").

// newMessagesResendCommand is `hookgate messages resend MSG --endpoint EP`.
func newMessagesResendCommand(flags *cliFlags) *cobra.Command {
	var tenant, endpoint string
	cmd := &cobra.Command{
		Use: "resend MESSAGE_ID --endpoint EP --tenant T", Short: "Deliver a message to one endpoint again, now (trigger manual)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if tenant == "" || endpoint == "" {
				return fmt.Errorf("flags --tenant and --endpoint: required")
			}
			c, err := flags.client(cmd)
			if err != nil {
				return err
			}
			ac := hookgatev1connect.NewAttemptServiceClient(c.http, c.server, c.opts...)
			resp, err := ac.ResendMessage(cmd.Context(), connect.NewRequest(&hookgatev1.ResendMessageRequest{Tenant: tenant, MessageId: args[0], EndpointId: endpoint}))
			if err != nil {
				return apiError(err)
			}
			if c.json() {
				return c.printJSON(resp.Msg)
			}
			a := resp.Msg.GetAttempt()
			if a == nil {
				_, err := fmt.Fprintf(c.out, "message %s queued for endpoint %s (no attempt yet: see `hookgate attempts list --message %s`)\n", args[0], endpoint, args[0])
				return err
			}
			return c.table(append(attemptHeader, "TRIGGER"), [][]string{append(attemptRow(a), triggerText(a.GetTrigger()))})
		},
	}
	cmd.Flags().StringVar(&tenant, "tenant", "", "tenant of the message (required)")
	cmd.Flags().StringVar(&endpoint, "endpoint", "", "endpoint to deliver to (required)")
	return cmd
}

func triggerText(t hookgatev1.AttemptTrigger) string { return enumText(t.String(), "ATTEMPT_TRIGGER_") }

// newEndpointsRecoverCommand is `hookgate endpoints recover EP --since 24h`.
func newEndpointsRecoverCommand(flags *cliFlags, tenant *string) *cobra.Command {
	var since, until string
	var noWait bool
	var interval time.Duration
	cmd := &cobra.Command{
		Use:   "recover ENDPOINT_ID --since 24h [--until T] [--no-wait]",
		Short: "Send again every message whose delivery to the endpoint ended failed in a time window",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if *tenant == "" {
				return fmt.Errorf("flag --tenant: required")
			}
			if since == "" {
				return fmt.Errorf("flag --since: required")
			}
			now := time.Now()
			from, err := timeFlag("since", since, now)
			if err != nil {
				return err
			}
			to, err := timeFlag("until", until, now)
			if err != nil {
				return err
			}
			c, err := flags.client(cmd)
			if err != nil {
				return err
			}
			ac := hookgatev1connect.NewAttemptServiceClient(c.http, c.server, c.opts...)
			resp, err := ac.RecoverEndpoint(cmd.Context(), connect.NewRequest(&hookgatev1.RecoverEndpointRequest{Tenant: *tenant, EndpointId: args[0], Since: from, Until: to}))
			if err != nil {
				return apiError(err)
			}
			rec := resp.Msg.GetRecovery()
			if noWait {
				if c.json() {
					return c.printJSON(resp.Msg)
				}
				_, err := fmt.Fprintf(c.out, "recovery %s queued (hookgate endpoints recovery %s --tenant %s)\n", resp.Msg.GetRecoveryId(), resp.Msg.GetRecoveryId(), *tenant)
				return err
			}
			bar := newProgress(c)
			t := time.NewTicker(interval)
			defer t.Stop()
			for !recoveryOver(rec) {
				if !c.json() {
					bar.show(rec)
				}
				select {
				case <-cmd.Context().Done():
					return cmd.Context().Err()
				case <-t.C:
				}
				r, err := ac.GetRecovery(cmd.Context(), connect.NewRequest(&hookgatev1.GetRecoveryRequest{Tenant: *tenant, RecoveryId: resp.Msg.GetRecoveryId()}))
				if err != nil {
					return apiError(err)
				}
				rec = r.Msg.GetRecovery()
			}
			if c.json() {
				return c.printJSON(rec)
			}
			bar.show(rec)
			bar.done()
			return recoverySummary(c, rec)
		},
	}
	cmd.Flags().StringVar(&since, "since", "", "window start: a duration ago (24h) or an RFC 3339 time (required)")
	cmd.Flags().StringVar(&until, "until", "", "window end: a duration ago or an RFC 3339 time (default now)")
	cmd.Flags().BoolVar(&noWait, "no-wait", false, "return once the job is queued")
	cmd.Flags().DurationVar(&interval, "poll-interval", 500*time.Millisecond, "how often progress is read")
	return cmd
}

// newEndpointsRecoveryCommand is `hookgate endpoints recovery RCV`: a job's
// progress.
func newEndpointsRecoveryCommand(flags *cliFlags, tenant *string) *cobra.Command {
	return &cobra.Command{
		Use: "recovery RECOVERY_ID", Short: "Show the progress of an endpoint recovery", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if *tenant == "" {
				return fmt.Errorf("flag --tenant: required")
			}
			c, err := flags.client(cmd)
			if err != nil {
				return err
			}
			ac := hookgatev1connect.NewAttemptServiceClient(c.http, c.server, c.opts...)
			r, err := ac.GetRecovery(cmd.Context(), connect.NewRequest(&hookgatev1.GetRecoveryRequest{Tenant: *tenant, RecoveryId: args[0]}))
			if err != nil {
				return apiError(err)
			}
			if c.json() {
				return c.printJSON(r.Msg)
			}
			return recoverySummary(c, r.Msg.GetRecovery())
		},
	}
}

func recoveryOver(r *hookgatev1.Recovery) bool {
	s := r.GetState()
	return s == hookgatev1.RecoveryState_RECOVERY_STATE_COMPLETED || s == hookgatev1.RecoveryState_RECOVERY_STATE_FAILED
}

func recoverySummary(c *cli, r *hookgatev1.Recovery) error {
	state := enumText(r.GetState().String(), "RECOVERY_STATE_")
	_, err := fmt.Fprintf(c.out, "recovery %s %s: %d queued, %d delivered, %d failed again, %d pending, %d skipped (message no longer stored)\n",
		r.GetId(), state, r.GetQueued(), r.GetDelivered(), r.GetFailed(), r.GetPending(), r.GetSkipped())
	if err == nil && r.GetError() != "" {
		_, err = fmt.Fprintf(c.out, "error: %s\n", r.GetError())
	}
	if err == nil && r.GetState() == hookgatev1.RecoveryState_RECOVERY_STATE_FAILED {
		return errors.New("recovery failed")
	}
	return err
}

// progress draws a progress bar: redrawn in place on a terminal, a line
// per change elsewhere.
type progress struct {
	c    *cli
	tty  bool
	last string
}

func newProgress(c *cli) *progress {
	p := &progress{c: c}
	if f, ok := c.out.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *progress) show(r *hookgatev1.Recovery) {
	const width = 30
	total, ended := r.GetQueued(), r.GetDelivered()+r.GetFailed()
	filled := 0
	if total > 0 {
		filled = int(ended * width / total)
	}
	queued := strconv.FormatInt(total, 10)
	if !r.GetQueuedAll() {
		queued += "+"
	}
	line := fmt.Sprintf("[%s%s] %d/%s  delivered %d  failed %d  pending %d", strings.Repeat("#", filled), strings.Repeat(".", width-filled),
		ended, queued, r.GetDelivered(), r.GetFailed(), r.GetPending())
	if line == p.last {
		return
	}
	p.last = line
	if p.tty {
		fmt.Fprintf(p.c.out, "\r%s", line)
		return
	}
	fmt.Fprintln(p.c.out, line)
}

func (p *progress) done() {
	if p.tty {
		fmt.Fprintln(p.c.out)
	}
}

// newEndpointsTestCommand is `hookgate endpoints test EP [--event-type T]`.
func newEndpointsTestCommand(flags *cliFlags, tenant *string) *cobra.Command {
	var eventType string
	cmd := &cobra.Command{
		Use:   "test ENDPOINT_ID [--event-type T]",
		Short: "Send a webhook.test event (or the catalog example of --event-type) now and show the attempt; exit 1 when it failed",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if *tenant == "" {
				return fmt.Errorf("flag --tenant: required")
			}
			c, err := flags.client(cmd)
			if err != nil {
				return err
			}
			ec := hookgatev1connect.NewEndpointServiceClient(c.http, c.server, c.opts...)
			var a *hookgatev1.Attempt
			if eventType == "" {
				resp, err := ec.SendTestPing(cmd.Context(), connect.NewRequest(&hookgatev1.SendTestPingRequest{Tenant: *tenant, EndpointId: args[0]}))
				if err != nil {
					return apiError(err)
				}
				a = resp.Msg.GetAttempt()
			} else {
				resp, err := ec.SendExample(cmd.Context(), connect.NewRequest(&hookgatev1.SendExampleRequest{Tenant: *tenant, EndpointId: args[0], EventType: eventType}))
				if err != nil {
					return apiError(err)
				}
				a = resp.Msg.GetAttempt()
			}
			if c.json() {
				if err := c.printJSON(a); err != nil {
					return err
				}
			} else if err := c.table([]string{"FIELD", "VALUE"}, [][]string{
				{"attempt", a.GetId()}, {"message", a.GetMessageId()}, {"result", lastResult(a.GetResponseStatusCode(), a.GetErrorClass())},
				{"duration", a.GetDuration().AsDuration().String()}, {"error class", orDash(a.GetErrorClass())},
				{"response", orDash(strings.TrimSpace(string(a.GetResponseBody())))},
			}); err != nil {
				return err
			}
			if a.GetStatus() != hookgatev1.AttemptStatus_ATTEMPT_STATUS_SUCCEEDED {
				return fmt.Errorf("test attempt failed: %s", lastResult(a.GetResponseStatusCode(), a.GetErrorClass()))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&eventType, "event-type", "", "send the catalog example of this event type instead of a webhook.test ping")
	return cmd
}
