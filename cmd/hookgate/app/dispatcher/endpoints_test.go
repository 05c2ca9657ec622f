package dispatcher

import (
	"encoding/base64"
	"io"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/dataplane/dispatch"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func secret(b byte) string {
	return "whsec_" + base64.StdEncoding.EncodeToString([]byte(strings.Repeat(string(rune('a'+b)), 32)))
}

func endpointResource(tenant, id, app string, enabled bool, types []string, secrets ...*hookgatev1.SigningSecret) *hookgatev1.ConfigResource {
	return &hookgatev1.ConfigResource{
		Key: "endpoint/" + tenant + "/" + id,
		Resource: &hookgatev1.ConfigResource_Endpoint{Endpoint: &hookgatev1.DispatchEndpoint{
			Tenant: tenant, Id: id, ApplicationId: app, Url: "https://example.com/" + id,
			EventTypes: types, Enabled: enabled, RateLimitPerSecond: 5, Burst: 7, MaxInFlight: 3, TimeoutMs: 1500,
			Headers: map[string]string{"X-A": "b"}, Secrets: secrets,
		}},
	}
}

func ids(eps []*dispatch.Endpoint) []string {
	var out []string
	for _, e := range eps {
		out = append(out, e.ID)
	}
	sort.Strings(out)
	return out
}

func TestEndpointIndex(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := now
	var cancelled []string
	x := newEndpointIndex(slog.New(slog.NewTextHandler(io.Discard, nil)), func() time.Time { return clock }, 1,
		func(tenant, id string) { cancelled = append(cancelled, tenant+"/"+id) })
	table := x.newTable()

	cur := &hookgatev1.SigningSecret{Secret: secret(0)}
	prev := &hookgatev1.SigningSecret{Secret: secret(1), ExpireTime: timestamppb.New(now.Add(time.Hour))}
	expired := &hookgatev1.SigningSecret{Secret: secret(2), ExpireTime: timestamppb.New(now.Add(-time.Second))}
	if _, err := table.Apply(&hookgatev1.StreamConfigResponse{Revision: 1, Snapshot: true, Upserts: []*hookgatev1.ConfigResource{
		endpointResource("acme", "ep_a", "app_1", true, []string{"order.created", "order.paid"}, cur, prev),
		endpointResource("acme", "ep_b", "app_1", true, []string{"order.paid"}, cur, expired),
		endpointResource("acme", "ep_off", "app_1", false, []string{"order.created"}, cur),
		endpointResource("acme", "ep_nosecret", "app_1", true, []string{"order.created"}, &hookgatev1.SigningSecret{Secret: "bogus"}),
		endpointResource("acme", "ep_other", "app_2", true, []string{"order.created"}, cur),
		endpointResource("beta", "ep_c", "app_1", true, []string{"order.created"}, cur),
	}}); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name             string
		tenant, app, typ string
		want             []string
	}{
		{"subscribed enabled only", "acme", "app_1", "order.created", []string{"ep_a"}},
		{"two subscribers", "acme", "app_1", "order.paid", []string{"ep_a", "ep_b"}},
		{"other application", "acme", "app_2", "order.created", []string{"ep_other"}},
		{"other tenant", "beta", "app_1", "order.created", []string{"ep_c"}},
		{"unknown type", "acme", "app_1", "order.shipped", nil},
		{"unknown app", "acme", "app_9", "order.created", nil},
		{"type prefix is not a type", "acme", "app_1", "order", nil},
		{"empty", "", "", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ids(x.Subscribed(tt.tenant, tt.app, tt.typ)); !slices.Equal(got, tt.want) {
				t.Errorf("Subscribed(%s, %s, %s) = %v, want %v", tt.tenant, tt.app, tt.typ, got, tt.want)
			}
		})
	}

	a, ok := x.Endpoint("acme", "ep_a")
	if !ok {
		t.Fatal("ep_a unknown")
	}
	if len(a.Secrets) != 2 || a.TimeoutMS != 1500 || a.RatePerSecond != 5 || a.Burst != 7 || a.MaxInFlight != 3 || a.Headers["X-A"] != "b" || a.URL != "https://example.com/ep_a" {
		t.Errorf("ep_a = %+v, want 2 secrets and the resource's limits, headers and URL", *a)
	}
	if b, _ := x.Endpoint("acme", "ep_b"); len(b.Secrets) != 1 {
		t.Errorf("ep_b signs with %d secrets, want 1 (the rotated one expired)", len(b.Secrets))
	}
	for _, id := range []string{"ep_off", "ep_nosecret", "ep_zzz"} {
		if _, ok := x.Endpoint("acme", id); ok {
			t.Errorf("Endpoint(acme, %s) found, want not (disabled, no usable secret, unknown)", id)
		}
	}
	// The rotated secret stops signing at its expiry, without an update.
	clock = now.Add(2 * time.Hour)
	if a, _ := x.Endpoint("acme", "ep_a"); len(a.Secrets) != 1 {
		t.Errorf("after expiry ep_a signs with %d secrets, want 1", len(a.Secrets))
	}
	for _, e := range x.Subscribed("acme", "app_1", "order.paid") {
		if len(e.Secrets) != 1 {
			t.Errorf("after expiry Subscribed gives %s with %d secrets, want 1", e.ID, len(e.Secrets))
		}
	}

	// A delta disables ep_a and deletes ep_b: both are cancelled, once.
	if _, err := table.Apply(&hookgatev1.StreamConfigResponse{Revision: 2,
		Upserts: []*hookgatev1.ConfigResource{endpointResource("acme", "ep_a", "app_1", false, []string{"order.created"}, cur)},
		Deletes: []string{"endpoint/acme/ep_b"},
	}); err != nil {
		t.Fatal(err)
	}
	sort.Strings(cancelled)
	if want := []string{"acme/ep_a", "acme/ep_b"}; !slices.Equal(cancelled, want) {
		t.Errorf("cancelled %v, want %v", cancelled, want)
	}
	if got := ids(x.Subscribed("acme", "app_1", "order.paid")); got != nil {
		t.Errorf("after the delta Subscribed(order.paid) = %v, want none", got)
	}
	// Re-enabling cancels nothing.
	cancelled = nil
	if _, err := table.Apply(&hookgatev1.StreamConfigResponse{Revision: 3,
		Upserts: []*hookgatev1.ConfigResource{endpointResource("acme", "ep_a", "app_1", true, []string{"order.created"}, cur)},
	}); err != nil {
		t.Fatal(err)
	}
	if cancelled != nil {
		t.Errorf("re-enabling cancelled %v", cancelled)
	}
	if got := ids(x.Subscribed("acme", "app_1", "order.created")); !slices.Equal(got, []string{"ep_a"}) {
		t.Errorf("after re-enabling Subscribed = %v, want [ep_a]", got)
	}
}

func tenantResource(tenant string, delays ...*durationpb.Duration) *hookgatev1.ConfigResource {
	t := &hookgatev1.DispatchTenant{Tenant: tenant}
	if delays != nil {
		t.RetrySchedule = &hookgatev1.RetrySchedule{Delays: delays}
	}
	return &hookgatev1.ConfigResource{Key: "tenant/" + tenant, Resource: &hookgatev1.ConfigResource_Tenant{Tenant: t}}
}

// TestScheduleIndex: a tenant's retry_schedule becomes its engine
// schedule (first attempt on arrival, then one attempt per delay, scaled by
// --retry-time-scale); none, an empty one or an unusable one is the
// default, and a delta replaces or removes it.
func TestScheduleIndex(t *testing.T) {
	x := newEndpointIndex(slog.New(slog.NewTextHandler(io.Discard, nil)), time.Now, 0.5, func(string, string) {})
	table := x.newTable()
	d := durationpb.New
	many := make([]*durationpb.Duration, dispatch.MaxScheduleAttempts)
	for i := range many {
		many[i] = d(time.Second)
	}
	if _, err := table.Apply(&hookgatev1.StreamConfigResponse{Revision: 1, Snapshot: true, Upserts: []*hookgatev1.ConfigResource{
		tenantResource("acme", d(10*time.Second), d(time.Minute)),
		tenantResource("zero", d(0)),
		tenantResource("none"),
		tenantResource("empty", []*durationpb.Duration{}...),
		tenantResource("negative", d(-time.Second)),
		tenantResource("toolong", d(dispatch.MaxScheduleDelay+time.Second)),
		tenantResource("toomany", many...),
		tenantResource("invalid", &durationpb.Duration{Seconds: 1, Nanos: -5}),
		tenantResource("nildelay", d(time.Second), nil),
	}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		tenant string
		want   []time.Duration // scaled delays before attempts 1..n; nil: default
	}{
		{"acme", []time.Duration{0, 5 * time.Second, 30 * time.Second}},
		{"zero", []time.Duration{0, 0}},
		{"none", nil},
		{"empty", nil},
		{"negative", nil},
		{"toolong", nil},
		{"toomany", nil},
		{"invalid", nil},
		{"nildelay", nil},
		{"unknown", nil},
		{"", nil},
	}
	for _, tt := range tests {
		t.Run(tt.tenant, func(t *testing.T) {
			s, ok := x.Schedule(tt.tenant)
			if tt.want == nil {
				if ok {
					t.Fatalf("Schedule(%q) = %d attempts, want the default", tt.tenant, s.Attempts())
				}
				return
			}
			if !ok || s.Attempts() != len(tt.want) {
				t.Fatalf("Schedule(%q) = %d attempts, %v; want %d", tt.tenant, s.Attempts(), ok, len(tt.want))
			}
			for i, w := range tt.want {
				if got, _ := s.Delay(i + 1); got != w {
					t.Errorf("delay before attempt %d = %s, want %s", i+1, got, w)
				}
			}
		})
	}

	// A delta replaces acme's schedule and removes zero's.
	if _, err := table.Apply(&hookgatev1.StreamConfigResponse{Revision: 2,
		Upserts: []*hookgatev1.ConfigResource{tenantResource("acme", d(2*time.Second))},
		Deletes: []string{"tenant/zero"},
	}); err != nil {
		t.Fatal(err)
	}
	if s, ok := x.Schedule("acme"); !ok || s.Attempts() != 2 {
		t.Errorf("after the delta acme has %d attempts (%v), want 2", s.Attempts(), ok)
	} else if got, _ := s.Delay(2); got != time.Second {
		t.Errorf("after the delta acme waits %s before attempt 2, want 1s", got)
	}
	if _, ok := x.Schedule("zero"); ok {
		t.Error("after its delete tenant zero keeps an override")
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"zero", Config{}, ""},
		{"cidrs", Config{AllowPrivateCIDRs: []string{"127.0.0.1/32", "10.0.0.0/8", "::1/128"}, RetryTimeScale: 0.001, Workers: 4}, ""},
		{"bad cidr", Config{AllowPrivateCIDRs: []string{"127.0.0.1"}}, "--allow-private-cidrs"},
		{"scale too big", Config{RetryTimeScale: 2}, "--retry-time-scale"},
		{"negative scale", Config{RetryTimeScale: -1}, "--retry-time-scale"},
		{"negative workers", Config{Workers: -1}, "--dispatch-workers"},
		{"ack wait", Config{AckWait: 2 * time.Second}, ""},
		{"ack wait too short", Config{AckWait: 500 * time.Millisecond}, "--ack-wait"},
		{"ack wait too long", Config{AckWait: time.Hour}, "--ack-wait"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate = %v, want an error naming %s", err, tt.wantErr)
			}
		})
	}
}
