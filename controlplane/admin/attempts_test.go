package admin_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"connectrpc.com/connect"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func attemptKeys(as []*hookgatev1.Attempt) []string {
	out := make([]string, 0, len(as))
	for _, a := range as {
		out = append(out, a.EndpointId+"/"+a.MessageId+"#"+string(rune('0'+a.AttemptNumber)))
	}
	return out
}

func ts(s string) *timestamppb.Timestamp {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return timestamppb.New(t)
}

func TestListAndGetAttempts(t *testing.T) {
	t.Parallel()
	e := newOutboundEnv(t)
	ctx := context.Background()
	e.attempt(t, "acme", "ep_a", "m1", 1, 500, "http_status", "pending", "2026-03-23T15:30:00Z")
	e.attempt(t, "acme", "ep_b", "m1", 1, 200, "", "succeeded", "2026-03-23T15:30:00Z")
	e.attempt(t, "other", "ep_a", "m1", 1, 200, "", "succeeded", "2026-03-23T15:30:00Z")
	e.attempt(t, "acme", "ep_a", "m3", 1, 0, "timeout", "pending", "2026-03-23T15:30:01Z")
	e.attempt(t, "acme", "ep_a", "m1", 2, 200, "", "succeeded", "2026-03-23T15:30:05Z")
	e.publish(t, "hookgate.attempts.acme.ep_a.m1", "", `not json`)
	ac := e.attempts(e.platform)

	all := []string{"ep_a/m1#2", "ep_a/m3#1", "ep_b/m1#1", "ep_a/m1#1"}
	tests := []struct {
		name string
		req  *hookgatev1.ListAttemptsRequest
		want []string
		code connect.Code
	}{
		{"all, newest first, unreadable skipped", &hookgatev1.ListAttemptsRequest{Tenant: "acme"}, all, 0},
		{"one endpoint", &hookgatev1.ListAttemptsRequest{Tenant: "acme", EndpointId: "ep_a"}, []string{"ep_a/m1#2", "ep_a/m3#1", "ep_a/m1#1"}, 0},
		{"one message", &hookgatev1.ListAttemptsRequest{Tenant: "acme", MessageId: "m1"}, []string{"ep_a/m1#2", "ep_b/m1#1", "ep_a/m1#1"}, 0},
		{"one delivery", &hookgatev1.ListAttemptsRequest{Tenant: "acme", EndpointId: "ep_a", MessageId: "m1"}, []string{"ep_a/m1#2", "ep_a/m1#1"}, 0},
		{"succeeded only", &hookgatev1.ListAttemptsRequest{Tenant: "acme", Status: hookgatev1.AttemptStatus_ATTEMPT_STATUS_SUCCEEDED}, []string{"ep_a/m1#2", "ep_b/m1#1"}, 0},
		{"failed only", &hookgatev1.ListAttemptsRequest{Tenant: "acme", Status: hookgatev1.AttemptStatus_ATTEMPT_STATUS_FAILED}, []string{"ep_a/m3#1", "ep_a/m1#1"}, 0},
		{"unknown endpoint", &hookgatev1.ListAttemptsRequest{Tenant: "acme", EndpointId: "ep_zz"}, nil, 0},
		{"pending: failed, retry waiting", &hookgatev1.ListAttemptsRequest{Tenant: "acme", Status: hookgatev1.AttemptStatus_ATTEMPT_STATUS_PENDING}, []string{"ep_a/m3#1", "ep_a/m1#1"}, 0},
		{"unknown status", &hookgatev1.ListAttemptsRequest{Tenant: "acme", Status: 9}, nil, connect.CodeInvalidArgument},
		{"until not after since", &hookgatev1.ListAttemptsRequest{Tenant: "acme", Since: ts("2026-03-23T15:30:01Z"), Until: ts("2026-03-23T15:30:01Z")}, nil, connect.CodeInvalidArgument},
		{"bad event type", &hookgatev1.ListAttemptsRequest{Tenant: "acme", EventType: "order.>"}, nil, connect.CodeInvalidArgument},
		{"bad endpoint id", &hookgatev1.ListAttemptsRequest{Tenant: "acme", EndpointId: "ep_a.>"}, nil, connect.CodeInvalidArgument},
		{"bad message id", &hookgatev1.ListAttemptsRequest{Tenant: "acme", MessageId: "*"}, nil, connect.CodeInvalidArgument},
		{"bad page token", &hookgatev1.ListAttemptsRequest{Tenant: "acme", PageToken: "-3"}, nil, connect.CodeInvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := ac.ListAttempts(ctx, connect.NewRequest(tt.req))
			if codeOf(err) != tt.code {
				t.Fatalf("code %v (%v), want %v", codeOf(err), err, tt.code)
			}
			if err == nil && !slices.Equal(attemptKeys(resp.Msg.Attempts), tt.want) {
				t.Fatalf("got %v, want %v", attemptKeys(resp.Msg.Attempts), tt.want)
			}
		})
	}

	// Pages of one walk back through all four.
	var got []*hookgatev1.Attempt
	for token := ""; ; {
		resp, err := ac.ListAttempts(ctx, connect.NewRequest(&hookgatev1.ListAttemptsRequest{Tenant: "acme", PageSize: 1, PageToken: token}))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, resp.Msg.Attempts...)
		if token = resp.Msg.NextPageToken; token == "" {
			break
		}
	}
	if !slices.Equal(attemptKeys(got), all) {
		t.Fatalf("paged: %v", attemptKeys(got))
	}
	timeout := got[1]
	if timeout.Status != hookgatev1.AttemptStatus_ATTEMPT_STATUS_FAILED || timeout.ErrorClass != "timeout" || timeout.Error != "timeout" ||
		timeout.Trigger != hookgatev1.AttemptTrigger_ATTEMPT_TRIGGER_SCHEDULED || timeout.Url != "https://example.com/hook" ||
		timeout.Duration.AsDuration() != 12500*time.Microsecond || string(timeout.ResponseBody) != "nope" ||
		timeout.DeliveryState != hookgatev1.DeliveryState_DELIVERY_STATE_PENDING {
		t.Fatalf("timeout attempt: %v", timeout)
	}

	// GetAttempt reads each back by the id the list gave.
	for _, a := range got {
		resp, err := ac.GetAttempt(ctx, connect.NewRequest(&hookgatev1.GetAttemptRequest{Tenant: "acme", AttemptId: a.Id}))
		if err != nil {
			t.Fatalf("get %s: %v", a.Id, err)
		}
		if !proto.Equal(resp.Msg.Attempt, a) {
			t.Fatalf("get %s: %v, listed %v", a.Id, resp.Msg.Attempt, a)
		}
	}
	// other's attempt is the third record stored.
	gets := []struct {
		name, tenant, id, token string
		code                    connect.Code
	}{
		{"another tenant's attempt id", "acme", "att_3", e.platform, connect.CodeNotFound},
		{"the same id in its own tenant", "other", "att_3", e.platform, 0},
		{"unreadable record", "acme", "att_6", e.platform, connect.CodeNotFound},
		{"past the end", "acme", "att_99", e.platform, connect.CodeNotFound},
		{"not an attempt id", "acme", "att_x", e.platform, connect.CodeNotFound},
		{"no prefix", "acme", "1", e.platform, connect.CodeNotFound},
		{"empty id", "acme", "", e.platform, connect.CodeInvalidArgument},
		{"another tenant's token", "acme", got[0].Id, e.other, connect.CodePermissionDenied},
	}
	for _, tt := range gets {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.attempts(tt.token).GetAttempt(ctx, connect.NewRequest(&hookgatev1.GetAttemptRequest{Tenant: tt.tenant, AttemptId: tt.id}))
			if codeOf(err) != tt.code {
				t.Fatalf("code %v (%v), want %v", codeOf(err), err, tt.code)
			}
		})
	}
	if _, err := e.attempts(e.other).ListAttempts(ctx, connect.NewRequest(&hookgatev1.ListAttemptsRequest{Tenant: "acme"})); codeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("other tenant's token lists acme: %v", err)
	}
}
