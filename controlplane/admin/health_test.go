package admin_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"github.com/hookgate/hookgate/controlplane/admin"
	"github.com/hookgate/hookgate/controlplane/outbound"
	"github.com/hookgate/hookgate/controlplane/outbound/outboundtest"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/gen/hookgate/v1/hookgatev1connect"
	"github.com/hookgate/hookgate/testkit/natstest"
	"github.com/nats-io/nats.go/jetstream"
)

// healthEnv is the endpoint API with its NATS connection (health bucket,
// attempts stream), as the control plane runs it.
type healthEnv struct {
	*env
	js  jetstream.JetStream
	kv  jetstream.KeyValue
	eps hookgatev1connect.EndpointServiceClient
	app string
}

func newHealthEnv(t *testing.T) *healthEnv {
	t.Helper()
	e := newEnv(t)
	app := outboundSetup(t, e)
	ns := natstest.Start(t)
	js := ns.JetStream(t)
	ctx := context.Background()
	// The dispatchers create both; the bucket as dispatch.HealthBucketConfig.
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: admin.HealthBucket, History: 1, Storage: jetstream.FileStorage})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateOrUpdateStream(ctx, outboundtest.AttemptsStream()); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	mux := admin.NewHandler(admin.Services{
		Endpoints: admin.NewEndpointService(e.store, e.keyring, e.clock, log, admin.WithEndpointOps(ns.Conn(t))),
	}, admin.NewAuthenticator(e.store, log).Wrap, grpchealth.NewStaticChecker())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &healthEnv{env: e, js: js, kv: kv, app: app,
		eps: hookgatev1connect.NewEndpointServiceClient(&http.Client{}, srv.URL, connect.WithInterceptors(bearer(e.platform)))}
}

func (h *healthEnv) create(t *testing.T) string {
	t.Helper()
	r, err := h.eps.CreateEndpoint(context.Background(), connect.NewRequest(&hookgatev1.CreateEndpointRequest{Endpoint: &hookgatev1.Endpoint{
		Tenant: "acme", ApplicationId: h.app, Url: "https://example.com/hooks", EventTypes: []string{"order.created"},
	}}))
	if err != nil {
		t.Fatal(err)
	}
	return r.Msg.Endpoint.Id
}

func (h *healthEnv) get(t *testing.T, id string) *hookgatev1.Endpoint {
	t.Helper()
	r, err := h.eps.GetEndpoint(context.Background(), connect.NewRequest(&hookgatev1.GetEndpointRequest{Tenant: "acme", EndpointId: id}))
	if err != nil {
		t.Fatal(err)
	}
	return r.Msg.Endpoint
}

// storedHealth is a dispatcher's value: 3 successes then 2 failures, the
// last a timeout; one sample is older than 24 hours.
func storedHealth(t *testing.T, id string, now time.Time) []byte {
	t.Helper()
	at := func(d time.Duration) time.Time { return now.Add(-d) }
	rec := admin.HealthRecord{
		Tenant: "acme", EndpointID: id, SuccessCount: 3, FailureCount: 2, ConsecutiveFailures: 2, ErrorsSinceLastSuccess: 1,
		LastSuccessAt: at(3 * time.Minute), LastFailureAt: at(time.Minute), FailingSince: at(2 * time.Minute),
		LastStatus:         &admin.HealthStatusJSON{Message: "timeout", ErrorClass: "timeout", Timestamp: at(time.Minute)},
		LastResponseTimeMs: 5000, AvgResponseTimeMs: 1,
		Recent: []admin.HealthSampleJSON{
			{T: at(25 * time.Hour).UnixNano(), D: 9000, OK: true},
			{T: at(4 * time.Minute).UnixNano(), D: 10, OK: true}, {T: at(3 * time.Minute).UnixNano(), D: 20, OK: true},
			{T: at(2 * time.Minute).UnixNano(), D: 30}, {T: at(time.Minute).UnixNano(), D: 5000, End: true},
		},
		AutoDisabledAt: at(30 * time.Second),
	}
	b, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestEndpointHealthShown: get, list and GetEndpointHealth show what the
// dispatchers stored, with the average over the samples of the last 24 h;
// an endpoint without attempts has none; a value that does not decode is
// left out, not an error.
func TestEndpointHealthShown(t *testing.T) {
	t.Parallel()
	h := newHealthEnv(t)
	ctx := context.Background()
	id, fresh, broken := h.create(t), h.create(t), h.create(t)
	now := h.clock.Now()
	if _, err := h.kv.Put(ctx, "acme."+id, storedHealth(t, id, now)); err != nil {
		t.Fatal(err)
	}
	if _, err := h.kv.Put(ctx, "acme."+broken, []byte("{")); err != nil {
		t.Fatal(err)
	}
	check := func(t *testing.T, got *hookgatev1.EndpointHealth) {
		t.Helper()
		if got.GetSuccessCount() != 3 || got.GetFailureCount() != 2 || got.GetConsecutiveFailures() != 2 || got.GetErrorsSinceLastSuccess() != 1 {
			t.Errorf("counts %v", got)
		}
		// (10+20+30+5000)/4: the 25-hour-old sample is out of the window.
		if got.GetAvgResponseTimeMs() != 1265 || got.GetSampledAttempts() != 4 || got.GetLastResponseTimeMs() != 5000 {
			t.Errorf("avg %d over %d, last %d; want 1265 over 4, 5000", got.GetAvgResponseTimeMs(), got.GetSampledAttempts(), got.GetLastResponseTimeMs())
		}
		if st := got.GetLastStatus(); st.GetMessage() != "timeout" || st.GetCode() != 0 || !st.GetTime().AsTime().Equal(now.Add(-time.Minute)) || got.GetLastErrorClass() != "timeout" {
			t.Errorf("last status %v", st)
		}
		if !got.GetLastSuccessTime().AsTime().Equal(now.Add(-3*time.Minute)) || !got.GetFailingSince().AsTime().Equal(now.Add(-2*time.Minute)) {
			t.Errorf("last success %v failing since %v", got.GetLastSuccessTime().AsTime(), got.GetFailingSince().AsTime())
		}
	}
	t.Run("get", func(t *testing.T) { check(t, h.get(t, id).GetHealth()) })
	t.Run("list", func(t *testing.T) {
		r, err := h.eps.ListEndpoints(ctx, connect.NewRequest(&hookgatev1.ListEndpointsRequest{Tenant: "acme"}))
		if err != nil {
			t.Fatal(err)
		}
		seen := 0
		for _, ep := range r.Msg.Endpoints {
			switch ep.Id {
			case id:
				check(t, ep.GetHealth())
				seen++
			case fresh, broken:
				if ep.Health != nil {
					t.Errorf("endpoint %s has health %v, want none", ep.Id, ep.Health)
				}
				seen++
			}
		}
		if seen != 3 {
			t.Errorf("listed %d of the 3 endpoints", seen)
		}
	})
	t.Run("GetEndpointHealth", func(t *testing.T) {
		r, err := h.eps.GetEndpointHealth(ctx, connect.NewRequest(&hookgatev1.GetEndpointHealthRequest{Tenant: "acme", EndpointId: id}))
		if err != nil {
			t.Fatal(err)
		}
		check(t, r.Msg.GetHealth())
		if r.Msg.Status != hookgatev1.EndpointStatus_ENDPOINT_STATUS_ENABLED || r.Msg.SuccessCount != 3 || r.Msg.FailureCount != 2 {
			t.Errorf("status %v counts %d/%d", r.Msg.Status, r.Msg.SuccessCount, r.Msg.FailureCount)
		}
		r, err = h.eps.GetEndpointHealth(ctx, connect.NewRequest(&hookgatev1.GetEndpointHealthRequest{Tenant: "acme", EndpointId: fresh}))
		if err != nil || r.Msg.GetHealth().GetSuccessCount() != 0 || r.Msg.GetHealth().GetLastStatus() != nil {
			t.Errorf("fresh endpoint: %v, %v", r, err)
		}
	})
	t.Run("bad requests", func(t *testing.T) {
		for _, tt := range []struct {
			name, tenant, id string
			code             connect.Code
		}{
			{"unknown endpoint", "acme", "ep_doesnotexist", connect.CodeNotFound},
			{"bad id", "acme", "wh_1", connect.CodeInvalidArgument},
			{"bad tenant", "ACME", id, connect.CodeInvalidArgument},
		} {
			t.Run(tt.name, func(t *testing.T) {
				_, err := h.eps.GetEndpointHealth(ctx, connect.NewRequest(&hookgatev1.GetEndpointHealthRequest{Tenant: tt.tenant, EndpointId: tt.id}))
				wantCode(t, err, tt.code)
			})
		}
	})
}

// TestEnableResetsHealth: re-enabling a disabled endpoint clears its run
// of failures and its auto-disable mark and sets resetAt, keeping totals
// and response times; a disable, or an enable that changes nothing,
// leaves the value alone.
func TestEnableResetsHealth(t *testing.T) {
	t.Parallel()
	h := newHealthEnv(t)
	ctx := context.Background()
	id := h.create(t)
	stored := storedHealth(t, id, h.clock.Now())
	if _, err := h.kv.Put(ctx, "acme."+id, stored); err != nil {
		t.Fatal(err)
	}
	read := func() admin.HealthRecord {
		t.Helper()
		e, err := h.kv.Get(ctx, "acme."+id)
		if err != nil {
			t.Fatal(err)
		}
		var r admin.HealthRecord
		if err := json.Unmarshal(e.Value(), &r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	if _, err := h.eps.EnableEndpoint(ctx, connect.NewRequest(&hookgatev1.EnableEndpointRequest{Tenant: "acme", EndpointId: id})); err != nil {
		t.Fatal(err)
	}
	if r := read(); r.ConsecutiveFailures != 2 || !r.ResetAt.IsZero() {
		t.Fatalf("an enable of an enabled endpoint reset health: %+v", r)
	}
	if _, err := h.eps.DisableEndpoint(ctx, connect.NewRequest(&hookgatev1.DisableEndpointRequest{Tenant: "acme", EndpointId: id})); err != nil {
		t.Fatal(err)
	}
	if r := read(); r.ConsecutiveFailures != 2 {
		t.Fatalf("a disable reset health: %+v", r)
	}
	h.clock.Advance(time.Hour)
	if _, err := h.eps.EnableEndpoint(ctx, connect.NewRequest(&hookgatev1.EnableEndpointRequest{Tenant: "acme", EndpointId: id})); err != nil {
		t.Fatal(err)
	}
	r := read()
	if r.ConsecutiveFailures != 0 || r.ErrorsSinceLastSuccess != 0 || !r.FailingSince.IsZero() || !r.AutoDisabledAt.IsZero() || !r.ResetAt.Equal(h.clock.Now()) {
		t.Errorf("after re-enabling: %+v", r)
	}
	if r.SuccessCount != 3 || r.FailureCount != 2 || r.LastResponseTimeMs != 5000 || len(r.Recent) != 5 {
		t.Errorf("totals and response times not kept: %+v", r)
	}
	if got := h.get(t, id).GetHealth(); got.GetConsecutiveFailures() != 0 || got.GetFailingSince() != nil || got.GetSuccessCount() != 3 {
		t.Errorf("get after re-enabling: %v", got)
	}
}

// TestDeleteEndpointPurgesAttempts: deleting an endpoint removes its
// attempt records, their index copies and its health, and nothing of
// another endpoint's.
func TestDeleteEndpointPurgesAttempts(t *testing.T) {
	t.Parallel()
	h := newHealthEnv(t)
	ctx := context.Background()
	gone, kept := h.create(t), h.create(t)
	for _, id := range []string{gone, kept} {
		for i, state := range []string{"pending", "failed"} {
			rec := outbound.AttemptRecord{Tenant: "acme", MessageID: "msg_1", EndpointID: id, Number: i + 1, Trigger: "scheduled",
				Time: h.clock.Now(), StatusCode: 500, ErrorClass: "http_status", State: state}
			if _, err := outboundtest.Attempt(ctx, h.js, rec, "order.created"); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := h.kv.Put(ctx, "acme."+id, storedHealth(t, id, h.clock.Now())); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.eps.DeleteEndpoint(ctx, connect.NewRequest(&hookgatev1.DeleteEndpointRequest{Tenant: "acme", EndpointId: gone})); err != nil {
		t.Fatal(err)
	}
	st, err := h.js.Stream(ctx, outbound.AttemptsStream)
	if err != nil {
		t.Fatal(err)
	}
	count := func(subject string) uint64 {
		t.Helper()
		info, err := st.Info(ctx, jetstream.WithSubjectFilter(subject))
		if err != nil {
			t.Fatal(err)
		}
		var n uint64
		for _, c := range info.State.Subjects {
			n += c
		}
		return n
	}
	for _, tt := range []struct {
		subject string
		want    uint64
	}{
		{"hookgate.attempts.acme." + gone + ".>", 0},
		{"hookgate.attempts._index.acme." + gone + ".>", 0},
		{"hookgate.attempts.acme." + kept + ".>", 2},
		{"hookgate.attempts._index.acme." + kept + ".>", 2},
	} {
		if n := count(tt.subject); n != tt.want {
			t.Errorf("%s holds %d attempts, want %d", tt.subject, n, tt.want)
		}
	}
	if _, err := h.kv.Get(ctx, "acme."+gone); err == nil {
		t.Errorf("the deleted endpoint's health is still stored")
	}
	if _, err := h.kv.Get(ctx, "acme."+kept); err != nil {
		t.Errorf("the other endpoint's health: %v", err)
	}
}
