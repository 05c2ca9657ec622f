package outbound_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/hookgate/hookgate/controlplane/outbound"
	"github.com/hookgate/hookgate/controlplane/outbound/outboundtest"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/testkit/natstest"
	"github.com/nats-io/nats.go/jetstream"
)

// A copy whose first attempt succeeded has no state in the bucket: its
// newest record stands for it, merged with the bucket's states by endpoint
// id; a test send's record stands for none.
func TestDeliveriesFromRecords(t *testing.T) {
	t.Parallel()
	js := natstest.Start(t).JetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, outboundtest.AttemptsStream()); err != nil {
		t.Fatal(err)
	}
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: outbound.DeliveriesKV})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	rec := func(ep, trigger, state string, n, code int) outbound.AttemptRecord {
		return outbound.AttemptRecord{Tenant: "acme", MessageID: "m1", EndpointID: ep, AppID: "app_a", EventType: "order.created",
			Number: n, Trigger: trigger, Time: at, StatusCode: code, State: state}
	}
	for _, r := range []outbound.AttemptRecord{
		rec("ep_c", "scheduled", "succeeded", 1, 200), // only a record
		rec("ep_a", "scheduled", "pending", 1, 500),   // and a state
		rec("ep_t", "test", "succeeded", 1, 200),      // a test send
	} {
		if _, err := outboundtest.Attempt(ctx, js, r, "order.created"); err != nil {
			t.Fatal(err)
		}
	}
	state, _ := json.Marshal(outbound.Delivery{Tenant: "acme", MessageID: "m1", EndpointID: "ep_a", AppID: "app_a",
		EventType: "order.created", State: "pending", Attempts: 1, LastStatusCode: 500, CreatedAt: at, UpdatedAt: at})
	if _, err := kv.Put(ctx, "acme.m1.ep_a", state); err != nil {
		t.Fatal(err)
	}

	ds, err := outbound.NewReader(js).Deliveries(ctx, "acme", "m1")
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 2 {
		t.Fatalf("deliveries %v, want ep_a and ep_c", ds)
	}
	a, c := ds[0], ds[1]
	if a.GetEndpointId() != "ep_a" || a.GetState() != hookgatev1.DeliveryState_DELIVERY_STATE_PENDING || a.GetLastStatusCode() != 500 {
		t.Errorf("ep_a %v, want the bucket's pending state", a)
	}
	if c.GetEndpointId() != "ep_c" || c.GetState() != hookgatev1.DeliveryState_DELIVERY_STATE_SUCCEEDED || c.GetAttemptCount() != 1 ||
		c.GetApplicationId() != "app_a" || c.GetEventType() != "order.created" || !c.GetLastAttemptTime().AsTime().Equal(at) {
		t.Errorf("ep_c %v, want succeeded at 1 attempt of app_a's order.created, from its record", c)
	}
}
