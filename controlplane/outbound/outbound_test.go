package outbound_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hookgate/hookgate/controlplane/outbound"
	"github.com/hookgate/hookgate/testkit/natstest"
	"github.com/nats-io/nats.go/jetstream"
)

// Sparse matches spread over many scan windows are all found, in order,
// across pages, and a missing stream or bucket reads as empty.
func TestListMessagesAcrossWindows(t *testing.T) {
	t.Parallel()
	js := natstest.Start(t).JetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r := outbound.NewReader(js)
	f := outbound.MessageFilter{Tenant: "acme", AppID: "app_a"}
	if got, next, err := r.ListMessages(ctx, f, 5, ""); err != nil || len(got) != 0 || next != "" {
		t.Fatalf("no stream: %v %q %v", got, next, err)
	}
	if ds, err := r.Deliveries(ctx, "acme", "m1"); err != nil || len(ds) != 0 {
		t.Fatalf("no bucket: %v %v", ds, err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: outbound.OutboundStream, Subjects: []string{"hookgate.out.>"}}); err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range 1000 {
		subject, id := "hookgate.out.acme.app_b.order.created", fmt.Sprintf("b%d", i)
		if i%97 == 0 {
			subject, id = "hookgate.out.acme.app_a.order.created", fmt.Sprintf("a%d", i)
			want = append(want, id)
		}
		data := fmt.Sprintf(`{"id":%q,"eventType":"order.created","payload":{}}`, id)
		if _, err := js.Publish(ctx, subject, []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	slices.Reverse(want)
	var got []string
	pages := 0
	for token := ""; ; pages++ {
		ms, next, err := r.ListMessages(ctx, f, 3, token)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			got = append(got, m.Id)
		}
		if token = next; token == "" {
			break
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if pages != 3 {
		t.Fatalf("%d messages in %d+1 pages of 3", len(want), pages)
	}
	m, err := r.GetMessage(ctx, "acme", "a0", outbound.MessageFilter{})
	if err != nil || m.Id != "a0" {
		t.Fatalf("oldest by id: %v %v", m, err)
	}
}
