package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"connectrpc.com/connect"
	"github.com/hookgate/hookgate/controlplane/outbound"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Endpoint health (docs/design.md "Endpoint health and auto-disable"): the
// dispatchers keep it in the KV bucket HOOKGATE_HEALTH, key
// {tenant}.{endpoint_id}; the control plane reads it for GetEndpoint,
// ListEndpoints and GetEndpointHealth, resets its run of failures when an
// endpoint is re-enabled, and deletes it with the endpoint.
const (
	HealthBucket = "HOOKGATE_HEALTH"
	// healthSamples and healthWindow bound the average as the dispatchers
	// do (dispatch.HealthSamples, dispatch.HealthWindow).
	healthWindow = 24 * time.Hour
	casRetries   = 16
)

// HealthRecord mirrors the dispatchers' dispatch.Health JSON (the control
// plane may not import the data plane; cmd/hookgate/contract compares the
// two).
type HealthRecord struct {
	Tenant                 string             `json:"tenant"`
	EndpointID             string             `json:"endpointId"`
	SuccessCount           int64              `json:"successCount"`
	FailureCount           int64              `json:"failureCount"`
	ConsecutiveFailures    int64              `json:"consecutiveFailures"`
	ErrorsSinceLastSuccess int64              `json:"errorsSinceLastSuccess"`
	LastSuccessAt          time.Time          `json:"lastSuccessAt,omitzero"`
	LastFailureAt          time.Time          `json:"lastFailureAt,omitzero"`
	FailingSince           time.Time          `json:"failingSince,omitzero"`
	LastStatus             *HealthStatusJSON  `json:"lastStatus,omitempty"`
	LastResponseTimeMs     int64              `json:"lastResponseTimeMs"`
	AvgResponseTimeMs      int64              `json:"avgResponseTimeMs"`
	Recent                 []HealthSampleJSON `json:"recent,omitempty"`
	ResetAt                time.Time          `json:"resetAt,omitzero"`
	AutoDisabledAt         time.Time          `json:"autoDisabledAt,omitzero"`
	UpdatedAt              time.Time          `json:"updatedAt,omitzero"`
}

// HealthStatusJSON mirrors dispatch.HealthStatus.
type HealthStatusJSON struct {
	Code       int       `json:"code,omitempty"`
	Message    string    `json:"message"`
	ErrorClass string    `json:"errorClass,omitempty"`
	Timestamp  time.Time `json:"timestamp"`
}

// HealthSampleJSON mirrors dispatch.HealthSample.
type HealthSampleJSON struct {
	T   int64 `json:"t"`
	D   int64 `json:"d"`
	OK  bool  `json:"ok,omitempty"`
	End bool  `json:"end,omitempty"`
}

// DecodeHealth turns a stored health value into the API's message; the
// average is recomputed over the samples within 24 hours of now.
func DecodeHealth(data []byte, now time.Time) (*hookgatev1.EndpointHealth, error) {
	var r HealthRecord
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("decode endpoint health: %w", err)
	}
	h := &hookgatev1.EndpointHealth{
		SuccessCount: r.SuccessCount, FailureCount: r.FailureCount,
		ConsecutiveFailures:    int32(min(r.ConsecutiveFailures, 1<<31-1)),
		ErrorsSinceLastSuccess: int32(min(r.ErrorsSinceLastSuccess, 1<<31-1)),
		LastSuccessTime:        ts(r.LastSuccessAt), LastFailureTime: ts(r.LastFailureAt), FailingSince: ts(r.FailingSince),
		LastResponseTimeMs: r.LastResponseTimeMs,
	}
	since := now.Add(-healthWindow).UnixNano()
	var sum, n int64
	for _, s := range r.Recent {
		if s.T >= since {
			sum, n = sum+s.D, n+1
		}
	}
	if n > 0 {
		h.AvgResponseTimeMs, h.SampledAttempts = sum/n, int32(n)
	}
	if st := r.LastStatus; st != nil {
		h.LastStatus = &hookgatev1.EndpointLastStatus{Code: int32(st.Code), Message: st.Message, Time: ts(st.Timestamp), ErrorClass: st.ErrorClass}
		if st.ErrorClass != "" {
			h.LastErrorClass = st.ErrorClass
		}
	}
	return h, nil
}

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// healthStore reaches the health bucket and the attempts stream over the
// control plane's NATS connection; the bucket is opened on first use (the
// dispatchers create it), so a fleet without dispatchers has no health.
type healthStore struct {
	js jetstream.JetStream

	mu sync.Mutex // guards kv
	kv jetstream.KeyValue
}

func newHealthStore(nc *nats.Conn) *healthStore {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil
	}
	return &healthStore{js: js}
}

// bucket is the health bucket; nil without an error while no dispatcher
// has created it.
func (h *healthStore) bucket(ctx context.Context) (jetstream.KeyValue, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.kv != nil {
		return h.kv, nil
	}
	kv, err := h.js.KeyValue(ctx, HealthBucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", HealthBucket, err)
	}
	h.kv = kv
	return kv, nil
}

// read is an endpoint's health; nil when none is stored.
func (h *healthStore) read(ctx context.Context, tenant, id string, now time.Time) (*hookgatev1.EndpointHealth, error) {
	kv, err := h.bucket(ctx)
	if kv == nil || err != nil {
		return nil, err
	}
	e, err := kv.Get(ctx, tenant+"."+id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read health of %s: %w", id, err)
	}
	return DecodeHealth(e.Value(), now)
}

// reset ends an endpoint's run of failures at at (EnableEndpoint): the
// counters are cleared and failures observed before at no longer count,
// so a re-enabled endpoint is not disabled again at once. Response times
// and totals stay. Fields this replica does not know are kept.
func (h *healthStore) reset(ctx context.Context, tenant, id string, at time.Time) error {
	kv, err := h.bucket(ctx)
	if kv == nil || err != nil {
		return err
	}
	key := tenant + "." + id
	for range casRetries {
		e, err := kv.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read health of %s: %w", id, err)
		}
		var fields map[string]json.RawMessage
		if json.Unmarshal(e.Value(), &fields) != nil {
			fields = map[string]json.RawMessage{}
		}
		for _, f := range []string{"consecutiveFailures", "errorsSinceLastSuccess"} {
			fields[f] = json.RawMessage("0")
		}
		delete(fields, "failingSince")
		delete(fields, "autoDisabledAt")
		stamp, _ := json.Marshal(at.UTC())
		fields["resetAt"] = stamp
		data, err := json.Marshal(fields)
		if err != nil {
			return fmt.Errorf("encode health of %s: %w", id, err)
		}
		_, err = kv.Update(ctx, key, data, e.Revision())
		if err == nil {
			return nil
		}
		var apiErr *jetstream.APIError
		if !errors.As(err, &apiErr) || apiErr.ErrorCode != jetstream.JSErrCodeStreamWrongLastSequence {
			return fmt.Errorf("reset health of %s: %w", id, err)
		}
	}
	return fmt.Errorf("reset health of %s: %d concurrent changes", id, casRetries)
}

// purge removes what the data plane keeps of a deleted endpoint: its
// attempt records and their index copies in HOOKGATE_ATTEMPTS and its
// health. Messages and delivery states stay (the states expire with the
// attempts' age).
func (h *healthStore) purge(ctx context.Context, tenant, id string) error {
	st, err := h.js.Stream(ctx, outbound.AttemptsStream)
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
	case err != nil:
		return fmt.Errorf("open %s: %w", outbound.AttemptsStream, err)
	default:
		for _, subject := range []string{
			"hookgate.attempts." + tenant + "." + id + ".>",
			"hookgate.attempts._index." + tenant + "." + id + ".>",
		} {
			if err := st.Purge(ctx, jetstream.WithPurgeSubject(subject)); err != nil {
				return fmt.Errorf("purge attempts of %s: %w", id, err)
			}
		}
	}
	kv, err := h.bucket(ctx)
	if kv == nil || err != nil {
		return err
	}
	if err := kv.Purge(ctx, tenant+"."+id); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("delete health of %s: %w", id, err)
	}
	return nil
}

// withHealth fills ep.Health from the bucket; a read that fails leaves it
// empty with a warning (health is a summary, not the endpoint).
func (s *EndpointService) withHealth(ctx context.Context, ep *hookgatev1.Endpoint) *hookgatev1.Endpoint {
	if s.health == nil || ep == nil {
		return ep
	}
	h, err := s.health.read(ctx, ep.Tenant, ep.Id, s.clock.Now())
	if err != nil {
		s.log.WarnContext(ctx, "read endpoint health", "tenant", ep.Tenant, "endpoint_id", ep.Id, "err", err)
		return ep
	}
	ep.Health = h
	return ep
}

// resetHealth is EnableEndpoint's reset of the counters (see reset).
func (s *EndpointService) resetHealth(ctx context.Context, tenant, id string) {
	if s.health == nil {
		return
	}
	if err := s.health.reset(ctx, tenant, id, s.clock.Now()); err != nil {
		s.log.WarnContext(ctx, "reset endpoint health", "tenant", tenant, "endpoint_id", id, "err", err)
	}
}

// purgeEndpoint is DeleteEndpoint's removal of the endpoint's attempts and
// health; the endpoint itself is already gone, so a failure is logged and
// the call still succeeds (the records age out with the stream).
func (s *EndpointService) purgeEndpoint(ctx context.Context, tenant, id string) {
	if s.health == nil {
		return
	}
	if err := s.health.purge(ctx, tenant, id); err != nil {
		s.log.WarnContext(ctx, "purge deleted endpoint's attempts", "tenant", tenant, "endpoint_id", id, "err", err)
	}
}

// GetEndpointHealth implements hookgatev1connect.EndpointServiceHandler:
// the endpoint's status and health figures (empty before its first
// attempt).
func (s *EndpointService) GetEndpointHealth(ctx context.Context, req *connect.Request[hookgatev1.GetEndpointHealthRequest]) (*connect.Response[hookgatev1.GetEndpointHealthResponse], error) {
	rec, rev, err := s.read(ctx, req.Msg.GetTenant(), req.Msg.GetEndpointId())
	if err != nil {
		return nil, err
	}
	ep := s.withHealth(ctx, endpointPublic(rec, rev))
	h := ep.GetHealth()
	if h == nil {
		h = &hookgatev1.EndpointHealth{}
	}
	return connect.NewResponse(&hookgatev1.GetEndpointHealthResponse{
		Status: ep.Status, DisabledReason: ep.DisabledReason,
		SuccessCount: h.SuccessCount, FailureCount: h.FailureCount,
		LastSuccessTime: h.LastSuccessTime, LastFailureTime: h.LastFailureTime,
		Health: h,
	}), nil
}
