package replay_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/hookgate/hookgate/controlplane/leader"
	"github.com/hookgate/hookgate/controlplane/outbound"
	"github.com/hookgate/hookgate/controlplane/replay"
	"github.com/hookgate/hookgate/controlplane/store"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/testkit/etcdtest"
	"github.com/hookgate/hookgate/testkit/natstest"
	"github.com/hookgate/hookgate/testkit/poll"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/timestamppb"
)

const tenant = "acme"

// streams makes what the dispatchers would: the outbound, deliver and
// attempts streams and the deliveries bucket.
func streams(t *testing.T, js jetstream.JetStream) jetstream.KeyValue {
	t.Helper()
	ctx := t.Context()
	for name, subj := range map[string]string{outbound.OutboundStream: "hookgate.out.>", replay.DeliverStream: "hookgate.deliver.>", outbound.AttemptsStream: "hookgate.attempts.>"} {
		if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{subj}}); err != nil {
			t.Fatal(err)
		}
	}
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: outbound.DeliveriesKV})
	if err != nil {
		t.Fatal(err)
	}
	return kv
}

func putDelivery(t *testing.T, kv jetstream.KeyValue, msg, ep, state string, at time.Time) {
	t.Helper()
	b, _ := json.Marshal(outbound.Delivery{Tenant: tenant, MessageID: msg, EndpointID: ep, AppID: "app_1", EventType: "order.created",
		State: state, Attempts: 2, CreatedAt: at, UpdatedAt: at})
	if _, err := kv.Put(t.Context(), tenant+"."+msg+"."+ep, b); err != nil {
		t.Fatal(err)
	}
}

func publishMessage(t *testing.T, js jetstream.JetStream, msg string) {
	t.Helper()
	m := nats.NewMsg("hookgate.out." + tenant + ".app_1.order.created")
	m.Header.Set(jetstream.MsgIDHeader, msg)
	m.Data = []byte(`{"id":"` + msg + `","eventType":"order.created","payload":{"id": "` + msg + `"}}`)
	if _, err := js.PublishMsg(t.Context(), m); err != nil {
		t.Fatal(err)
	}
}

// tasks reads every task in the deliver stream.
func tasks(t *testing.T, js jetstream.JetStream) []*nats.Msg {
	t.Helper()
	s, err := js.Stream(t.Context(), replay.DeliverStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var out []*nats.Msg
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(t.Context(), seq)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, &nats.Msg{Subject: m.Subject, Header: m.Header, Data: m.Data})
	}
	return out
}

// TestRecoveryRunsOnceAcrossReplicas: two control-plane replicas run the
// job runner under the election; the job re-queues only the endpoint's
// deliveries that ended failed in the window, each once, also when the
// leader stops mid-job and the other replica finishes it, and its progress
// is read back from the delivery states.
func TestRecoveryRunsOnceAcrossReplicas(t *testing.T) {
	t.Parallel()
	etcd := etcdtest.Start(t).Client(t)
	st := store.New(etcd)
	js := natstest.Start(t).JetStream(t)
	kv := streams(t, js)
	log := slog.New(slog.DiscardHandler)

	now := time.Now().UTC()
	since, until := now.Add(-time.Hour), now.Add(-time.Minute)
	rows := []struct {
		msg, ep, state string
		at             time.Time
		want           bool
	}{
		{"msg_f1", "ep_1", "failed", now.Add(-30 * time.Minute), true},
		{"msg_f2", "ep_1", "failed", now.Add(-20 * time.Minute), true},
		{"msg_f3", "ep_1", "failed", now.Add(-10 * time.Minute), true},
		{"msg_ok", "ep_1", "succeeded", now.Add(-15 * time.Minute), false},
		{"msg_pending", "ep_1", "pending", now.Add(-15 * time.Minute), false},
		{"msg_cancelled", "ep_1", "cancelled", now.Add(-15 * time.Minute), false},
		{"msg_before", "ep_1", "failed", now.Add(-2 * time.Hour), false},
		{"msg_after", "ep_1", "failed", now.Add(-30 * time.Second), false},
		{"msg_other", "ep_2", "failed", now.Add(-15 * time.Minute), false},
		{"msg_gone", "ep_1", "failed", now.Add(-25 * time.Minute), false}, // not stored: skipped
	}
	for _, r := range rows {
		putDelivery(t, kv, r.msg, r.ep, r.state, r.at)
		if r.msg != "msg_gone" {
			publishMessage(t, js, r.msg)
		}
	}
	rec := &hookgatev1.Recovery{Id: "rcv_test", Tenant: tenant, EndpointId: "ep_1", Since: timestamppb.New(since), Until: timestamppb.New(until),
		State: hookgatev1.RecoveryState_RECOVERY_STATE_QUEUED, CreateTime: timestamppb.New(now), UpdateTime: timestamppb.New(now)}
	if _, err := st.CreateRecovery(t.Context(), rec); err != nil {
		t.Fatal(err)
	}

	cfg := replay.RunnerConfig{Interval: 20 * time.Millisecond, Settle: 3 * time.Second, BatchSize: 2}
	var wg sync.WaitGroup
	start := func(id string) context.CancelFunc {
		ctx, cancel := context.WithCancel(context.Background())
		r := replay.NewRunner(cfg, st, js, log, nil)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := leader.Run(ctx, etcd, "recoveries", id, log, r.Run); err != nil {
				t.Errorf("replica %s: %v", id, err)
			}
		}()
		return cancel
	}
	stopA := start("a")
	stopB := start("b")
	defer func() { stopB(); wg.Wait() }()

	get := func() *hookgatev1.Recovery {
		r, _, err := st.Recovery(t.Context(), tenant, "rcv_test")
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	poll.Until(t, 20*time.Second, "the job to queue the window's failed deliveries", func() bool { return get().GetQueuedAll() })
	// The leader stops; the other replica takes the job over.
	stopA()
	got := get()
	if got.GetQueued() != 3 || got.GetSkipped() != 1 || got.GetState() != hookgatev1.RecoveryState_RECOVERY_STATE_RUNNING {
		t.Fatalf("job after queueing %v", got)
	}
	// One delivery succeeds, one fails again, one never ends.
	putDelivery(t, kv, "msg_f1", "ep_1", "succeeded", time.Now().UTC())
	putDelivery(t, kv, "msg_f2", "ep_1", "failed", time.Now().UTC())
	poll.Until(t, 20*time.Second, "the job to complete", func() bool {
		return get().GetState() == hookgatev1.RecoveryState_RECOVERY_STATE_COMPLETED
	})
	if got := get(); got.GetDelivered() != 1 || got.GetFailed() != 1 || got.GetPending() != 1 || got.GetQueued() != 3 {
		t.Fatalf("completed job %v, want 1 delivered, 1 failed again, 1 pending of 3", got)
	}
	want := map[string]bool{}
	for _, r := range rows {
		if r.want {
			want[r.msg] = true
		}
	}
	ts := tasks(t, js)
	if len(ts) != len(want) {
		t.Fatalf("%d tasks queued, want %d (each failed delivery of the window once)", len(ts), len(want))
	}
	for _, m := range ts {
		id := m.Header.Get(replay.HeaderMessageID)
		if !want[id] || m.Subject != "hookgate.deliver.acme.ep_1" || m.Header.Get(replay.HeaderTrigger) != replay.TriggerRecover ||
			m.Header.Get(replay.HeaderAppID) != "app_1" || m.Header.Get(replay.HeaderEventType) != "order.created" ||
			string(m.Data) != `{"id": "`+id+`"}` {
			t.Fatalf("task %s %v %q", m.Subject, m.Header, m.Data)
		}
		delete(want, id)
	}
}
