package cli

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/gen/hookgate/v1/hookgatev1connect"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// listLimit is how many items list commands print by default; --limit 0
// pages to the end.
const listLimit = 100

// newMessagesListCommand is `hookgate messages list`, over the admin API.
func newMessagesListCommand(flags *cliFlags) *cobra.Command {
	var tenant, app, eventType, since, until string
	var limit int
	cmd := &cobra.Command{
		Use: "list --tenant T [--app APP] [--event-type NAME] [--since 1h] [--until TIME]", Short: "List a tenant's messages, newest first, with their delivery states", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if tenant == "" {
				return fmt.Errorf("flag --tenant: required")
			}
			if limit < 0 {
				return fmt.Errorf("flag --limit %d: must not be negative", limit)
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
			mc := hookgatev1connect.NewMessageServiceClient(c.http, c.server, c.opts...)
			all := &hookgatev1.ListMessagesResponse{}
			all.Messages, err = somePages(limit, func(token string, size int32) ([]*hookgatev1.Message, string, error) {
				resp, err := mc.ListMessages(cmd.Context(), connect.NewRequest(&hookgatev1.ListMessagesRequest{
					Tenant: tenant, ApplicationId: app, EventType: eventType, Since: from, Until: to, PageSize: size, PageToken: token,
				}))
				if err != nil {
					return nil, "", err
				}
				all.Deliveries = append(all.Deliveries, resp.Msg.GetDeliveries()...)
				return resp.Msg.GetMessages(), resp.Msg.GetNextPageToken(), nil
			})
			if err != nil {
				return err
			}
			if c.json() {
				return c.printJSON(all)
			}
			states := map[string][]string{}
			for _, d := range all.Deliveries {
				states[d.MessageId] = append(states[d.MessageId], d.EndpointId+" "+deliveryStateText(d.State))
			}
			rows := make([][]string, 0, len(all.Messages))
			for _, m := range all.Messages {
				rows = append(rows, []string{
					m.Id, m.ApplicationId, m.EventType, timeText(m.CreateTime, m.CreateTime != nil),
					orDash(strings.Join(states[m.Id], ", ")),
				})
			}
			return c.table([]string{"ID", "APP", "EVENT TYPE", "CREATED", "DELIVERIES"}, rows)
		},
	}
	cmd.Flags().StringVar(&tenant, "tenant", "", "tenant of the messages (required)")
	cmd.Flags().StringVar(&app, "app", "", "only this application's messages")
	cmd.Flags().StringVar(&eventType, "event-type", "", "only messages of this event type")
	cmd.Flags().StringVar(&since, "since", "", "only messages stored at or after this time: a duration ago (1h) or RFC 3339")
	cmd.Flags().StringVar(&until, "until", "", "only messages stored before this time: a duration ago or RFC 3339")
	cmd.Flags().IntVar(&limit, "limit", listLimit, "print at most this many (0: all)")
	return cmd
}

// newMessagesGetCommand is `hookgate messages get MSG`: the message, its
// payload and its delivery state per endpoint.
func newMessagesGetCommand(flags *cliFlags) *cobra.Command {
	var tenant string
	cmd := &cobra.Command{
		Use: "get MESSAGE_ID --tenant T", Short: "Show a message, its payload and its delivery to each endpoint", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if tenant == "" {
				return fmt.Errorf("flag --tenant: required")
			}
			c, err := flags.client(cmd)
			if err != nil {
				return err
			}
			mc := hookgatev1connect.NewMessageServiceClient(c.http, c.server, c.opts...)
			resp, err := mc.GetMessage(cmd.Context(), connect.NewRequest(&hookgatev1.GetMessageRequest{Tenant: tenant, MessageId: args[0]}))
			if err != nil {
				return apiError(err)
			}
			if c.json() {
				return c.printJSON(resp.Msg)
			}
			m := resp.Msg.GetMessage()
			payload, err := protojson.Marshal(m.GetPayload())
			if err != nil {
				return fmt.Errorf("encode payload: %w", err)
			}
			if err := c.table([]string{"FIELD", "VALUE"}, [][]string{
				{"id", m.GetId()}, {"tenant", m.GetTenant()}, {"app", m.GetApplicationId()},
				{"event type", m.GetEventType()}, {"created", timeText(m.GetCreateTime(), m.GetCreateTime() != nil)},
				{"payload", string(payload)},
			}); err != nil {
				return err
			}
			fmt.Fprintln(c.out)
			if len(resp.Msg.Deliveries) == 0 {
				_, err := fmt.Fprintln(c.out, "no deliveries (no endpoint subscribed, or not fanned out yet)")
				return err
			}
			rows := make([][]string, 0, len(resp.Msg.Deliveries))
			for _, d := range resp.Msg.Deliveries {
				rows = append(rows, []string{
					d.EndpointId, deliveryStateText(d.State), strconv.Itoa(int(d.AttemptCount)),
					timeText(d.LastAttemptTime, d.LastAttemptTime != nil), lastResult(d.LastStatusCode, d.LastErrorClass),
					timeText(d.NextAttemptTime, d.NextAttemptTime != nil), orDash(d.Reason),
				})
			}
			return c.table([]string{"ENDPOINT", "STATE", "ATTEMPTS", "LAST ATTEMPT", "LAST RESULT", "NEXT ATTEMPT", "REASON"}, rows)
		},
	}
	cmd.Flags().StringVar(&tenant, "tenant", "", "tenant of the message (required)")
	return cmd
}

// newAttemptsCommand is `hookgate attempts list|get`: the delivery history.
func newAttemptsCommand() *cobra.Command {
	var flags cliFlags
	var tenant string
	cmd := &cobra.Command{Use: "attempts", Short: "Show delivery attempts of outbound messages"}
	flags.register(cmd)
	cmd.PersistentFlags().StringVar(&tenant, "tenant", "", "tenant of the attempts (required)")
	client := func(cmd *cobra.Command) (*cli, hookgatev1connect.AttemptServiceClient, error) {
		if tenant == "" {
			return nil, nil, fmt.Errorf("flag --tenant: required")
		}
		c, err := flags.client(cmd)
		if err != nil {
			return nil, nil, err
		}
		return c, hookgatev1connect.NewAttemptServiceClient(c.http, c.server, c.opts...), nil
	}

	var endpoint, message, status, eventType, since, until string
	var limit int
	list := &cobra.Command{
		Use:   "list --tenant T (--endpoint EP | --message MSG) [--status succeeded|failed|pending] [--event-type T] [--since 1h] [--until TIME] [--limit N]",
		Short: "List attempts, newest first", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, ok := attemptStatuses[status]
			if !ok {
				return fmt.Errorf("flag --status %q: want succeeded, failed or pending", status)
			}
			if limit < 0 {
				return fmt.Errorf("flag --limit %d: must not be negative", limit)
			}
			if endpoint == "" && message == "" {
				return fmt.Errorf("flag --endpoint or --message: one is required")
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
			c, ac, err := client(cmd)
			if err != nil {
				return err
			}
			all := &hookgatev1.ListAttemptsResponse{}
			all.Attempts, err = somePages(limit, func(token string, size int32) ([]*hookgatev1.Attempt, string, error) {
				resp, err := ac.ListAttempts(cmd.Context(), connect.NewRequest(&hookgatev1.ListAttemptsRequest{
					Tenant: tenant, EndpointId: endpoint, MessageId: message, Status: st, EventType: eventType,
					Since: from, Until: to, PageSize: size, PageToken: token,
				}))
				if err != nil {
					return nil, "", err
				}
				return resp.Msg.GetAttempts(), resp.Msg.GetNextPageToken(), nil
			})
			if err != nil {
				return err
			}
			if c.json() {
				return c.printJSON(all)
			}
			rows := make([][]string, 0, len(all.Attempts))
			for _, a := range all.Attempts {
				rows = append(rows, attemptRow(a))
			}
			return c.table(attemptHeader, rows)
		},
	}
	list.Flags().StringVar(&endpoint, "endpoint", "", "only attempts to this endpoint")
	list.Flags().StringVar(&message, "message", "", "only attempts of this message")
	list.Flags().StringVar(&status, "status", "", "only succeeded, failed, or pending (failed, a retry waiting) attempts")
	list.Flags().StringVar(&eventType, "event-type", "", "only attempts of messages of this event type")
	list.Flags().StringVar(&since, "since", "", "only attempts at or after this time: a duration ago (1h, 30m) or RFC 3339")
	list.Flags().StringVar(&until, "until", "", "only attempts before this time: a duration ago or RFC 3339")
	list.Flags().IntVar(&limit, "limit", listLimit, "print at most this many (0: all)")

	get := &cobra.Command{
		Use: "get ATTEMPT_ID", Short: "Show an attempt, with the start of the response", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ac, err := client(cmd)
			if err != nil {
				return err
			}
			resp, err := ac.GetAttempt(cmd.Context(), connect.NewRequest(&hookgatev1.GetAttemptRequest{Tenant: tenant, AttemptId: args[0]}))
			if err != nil {
				return apiError(err)
			}
			if c.json() {
				return c.printJSON(resp.Msg)
			}
			a := resp.Msg.Attempt
			return c.table([]string{"FIELD", "VALUE"}, [][]string{
				{"id", a.Id}, {"message", a.MessageId}, {"endpoint", a.EndpointId},
				{"attempt", strconv.Itoa(int(a.AttemptNumber))}, {"trigger", enumText(a.Trigger.String(), "ATTEMPT_TRIGGER_")},
				{"time", timeText(a.Time, a.Time != nil)}, {"duration", a.Duration.AsDuration().String()}, {"url", a.Url},
				{"result", lastResult(a.ResponseStatusCode, a.ErrorClass)}, {"response", strconv.Quote(string(a.ResponseBody))},
				{"next attempt", timeText(a.NextAttemptTime, a.NextAttemptTime != nil)},
				{"delivery state", deliveryStateText(a.DeliveryState)},
			})
		},
	}
	cmd.AddCommand(list, get)
	return cmd
}

var attemptStatuses = map[string]hookgatev1.AttemptStatus{
	"":          hookgatev1.AttemptStatus_ATTEMPT_STATUS_UNSPECIFIED,
	"succeeded": hookgatev1.AttemptStatus_ATTEMPT_STATUS_SUCCEEDED,
	"failed":    hookgatev1.AttemptStatus_ATTEMPT_STATUS_FAILED,
	"pending":   hookgatev1.AttemptStatus_ATTEMPT_STATUS_PENDING,
}

// timeFlag reads a --since/--until value: empty (unbounded), a duration
// before now ("1h", "90m") or an RFC 3339 time.
func timeFlag(name, v string, now time.Time) (*timestamppb.Timestamp, error) {
	if v == "" {
		return nil, nil
	}
	if d, err := time.ParseDuration(v); err == nil {
		if d < 0 {
			return nil, fmt.Errorf("flag --%s %q: a duration ago must not be negative", name, v)
		}
		return timestamppb.New(now.Add(-d)), nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return nil, fmt.Errorf("flag --%s %q: want a duration ago (1h) or an RFC 3339 time", name, v)
	}
	return timestamppb.New(t), nil
}

var attemptHeader = []string{"ID", "MESSAGE", "ENDPOINT", "#", "TIME", "RESULT", "DURATION", "STATE", "NEXT ATTEMPT"}

func attemptRow(a *hookgatev1.Attempt) []string {
	return []string{
		a.Id, a.MessageId, a.EndpointId, strconv.Itoa(int(a.AttemptNumber)), timeText(a.Time, a.Time != nil),
		lastResult(a.ResponseStatusCode, a.ErrorClass), a.Duration.AsDuration().String(),
		deliveryStateText(a.DeliveryState), timeText(a.NextAttemptTime, a.NextAttemptTime != nil),
	}
}

// lastResult is an HTTP status, an error class, or both.
func lastResult(status int32, class string) string {
	switch {
	case status != 0 && class != "" && class != "http_status":
		return strconv.Itoa(int(status)) + " " + class
	case status != 0:
		return strconv.Itoa(int(status))
	case class != "":
		return class
	}
	return "-"
}

func deliveryStateText(s hookgatev1.DeliveryState) string {
	return enumText(s.String(), "DELIVERY_STATE_")
}

func enumText(name, prefix string) string {
	return strings.ToLower(strings.TrimPrefix(name, prefix))
}

// somePages pages until limit items are read (0: to the end).
func somePages[T any](limit int, page func(token string, size int32) ([]T, string, error)) ([]T, error) {
	var all []T
	for token := ""; ; {
		size := int32(500)
		if limit > 0 {
			size = int32(min(500, limit-len(all)))
		}
		items, next, err := page(token, size)
		if err != nil {
			return nil, apiError(err)
		}
		all = append(all, items...)
		if token = next; token == "" || (limit > 0 && len(all) >= limit) {
			return all, nil
		}
	}
}
