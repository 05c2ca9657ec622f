package contract

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookgate/hookgate/controlplane/outbound"
	"github.com/hookgate/hookgate/dataplane/dispatch"
	"github.com/hookgate/hookgate/dataplane/streams"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/testkit/natstest"
	"github.com/hookgate/hookgate/testkit/poll"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// oneEndpoint is an engine's configuration of one endpoint.
type oneEndpoint struct{ ep *dispatch.Endpoint }

func (o oneEndpoint) Subscribed(_, _, _ string) []*dispatch.Endpoint {
	return []*dispatch.Endpoint{o.ep}
}
func (o oneEndpoint) Endpoint(_, id string) (*dispatch.Endpoint, bool) {
	return o.ep, id == o.ep.ID
}

// TestEngineIndexReadsBack: what a running engine writes to the attempt
// index under load (batched copies among single ones) is what the control
// plane lists, page by page: every attempt once, as a succeeded
// first attempt.
func TestEngineIndexReadsBack(t *testing.T) {
	t.Parallel()
	js := natstest.Start(t).JetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := streams.EnsureDispatch(ctx, js, streams.DefaultConfig()); err != nil {
		t.Fatal(err)
	}
	var got atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { got.Add(1) }))
	t.Cleanup(srv.Close)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	secret, err := dispatch.ParseSecret("whsec_" + base64.StdEncoding.EncodeToString(key))
	if err != nil {
		t.Fatal(err)
	}
	ep := &dispatch.Endpoint{ID: "ep_i", Tenant: "acme", URL: srv.URL + "/hook", Secrets: []dispatch.Secret{secret}}
	eng, err := dispatch.NewEngine(dispatch.EngineConfig{Workers: 64}, dispatch.EngineDeps{
		JetStream: js, Endpoints: oneEndpoint{ep}, Log: slog.New(slog.DiscardHandler),
		Deliverer: dispatch.NewDeliverer(dispatch.DelivererConfig{Version: "test",
			Dialer: dispatch.DialerConfig{Policy: dispatch.NewAddressPolicy([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")})}}),
	})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- eng.Run(runCtx) }()
	t.Cleanup(func() { stop(); <-done })

	const n = 300
	var futures []jetstream.PubAckFuture
	for i := range n {
		m := nats.NewMsg(streams.OutboundMessageSubject("acme", "app_i", "order.created"))
		m.Data = fmt.Appendf(nil, `{"id":"msg_%d","eventType":"order.created","payload":{"i":%d}}`, i, i)
		f, err := js.PublishMsgAsync(m)
		if err != nil {
			t.Fatal(err)
		}
		futures = append(futures, f)
	}
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			t.Fatal(err)
		}
	}
	r := outbound.NewReader(js)
	list := func() (map[string]bool, error) {
		seen := map[string]bool{}
		for token := ""; ; {
			as, next, err := r.ListAttempts(ctx, outbound.AttemptFilter{Tenant: "acme", EndpointID: "ep_i"}, 7, token)
			if err != nil {
				return nil, err
			}
			for _, a := range as {
				if seen[a.MessageId] || a.Status != hookgatev1.AttemptStatus_ATTEMPT_STATUS_SUCCEEDED || a.AttemptNumber != 1 {
					return nil, fmt.Errorf("attempt %v listed twice or not a succeeded first attempt", a)
				}
				seen[a.MessageId] = true
			}
			if token = next; token == "" {
				return seen, nil
			}
		}
	}
	poll.NoError(t, 30*time.Second, func() error {
		seen, err := list()
		if err != nil {
			return err
		}
		if len(seen) != n {
			return fmt.Errorf("%d of %d attempts listed (%d delivered)", len(seen), n, got.Load())
		}
		return nil
	})
	s, err := js.Stream(ctx, streams.Attempts)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(streams.AttemptIndexSubject("acme", "ep_i", "succeeded", "succeeded", "order.created")))
	if err != nil {
		t.Fatal(err)
	}
	var msgs uint64
	for _, c := range info.State.Subjects {
		msgs += c
	}
	t.Logf("%d attempts indexed in %d messages", n, msgs)
}

// The control plane and the dispatchers find a message's endpoints from
// its record subjects alike (each module has its own copy).
func TestRecordEndpointsAgree(t *testing.T) {
	t.Parallel()
	js := natstest.Start(t).JetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := streams.EnsureDispatch(ctx, js, streams.DefaultConfig()); err != nil {
		t.Fatal(err)
	}
	for _, subject := range []string{
		streams.AttemptSubject("acme", "ep_b", "msg_1"), streams.AttemptSubject("acme", "ep_a", "msg_1"),
		streams.AttemptSubject("acme", "ep_a", "msg_1"), streams.AttemptSubject("acme", "ep_c", "msg_2"),
		streams.AttemptSubject("other", "ep_d", "msg_1"),
		streams.AttemptIndexSubject("acme", "ep_e", "succeeded", "succeeded", "msg_1"),
	} {
		if _, err := js.Publish(ctx, subject, []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
	}
	s, err := js.Stream(ctx, streams.Attempts)
	if err != nil {
		t.Fatal(err)
	}
	d, err := streams.RecordEndpoints(ctx, s, "acme", "msg_1")
	if err != nil {
		t.Fatal(err)
	}
	c, err := outbound.RecordEndpoints(ctx, s, "acme", "msg_1")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"ep_a", "ep_b"}; !slices.Equal(d, want) || !slices.Equal(c, want) {
		t.Fatalf("dispatchers find %v, the control plane %v, want %v", d, c, want)
	}
}
