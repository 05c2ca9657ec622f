package failures_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hookgate/hookgate/controlplane/failures"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/testkit/natstest"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
)

func TestListNewestFirstWithPaging(t *testing.T) {
	t.Parallel()
	js := natstest.Start(t).JetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r := failures.NewReader(js)

	// Before any edge made the stream, the list is empty, not an error.
	if got, next, err := r.List(ctx, "acme", "wh_a", 10, ""); err != nil || len(got) != 0 || next != "" {
		t.Fatalf("no stream: %v %q %v", got, next, err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: failures.Stream, Subjects: []string{"hookgate.failed.>"}}); err != nil {
		t.Fatal(err)
	}
	for i := range 7 {
		for _, id := range []string{"wh_a", "wh_b"} {
			data, _ := proto.Marshal(&hookgatev1.FailedTrigger{Id: fmt.Sprintf("%s-%d", id, i), Tenant: "acme", WebhookId: id, Reason: "bad_key"})
			if _, err := js.Publish(ctx, "hookgate.failed.acme."+id, data); err != nil {
				t.Fatal(err)
			}
		}
	}
	var ids []string
	token := ""
	pages := 0
	for {
		got, next, err := r.List(ctx, "acme", "wh_a", 3, token)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, ft := range got {
			ids = append(ids, ft.Id)
		}
		if token = next; token == "" {
			break
		}
	}
	want := "wh_a-6 wh_a-5 wh_a-4 wh_a-3 wh_a-2 wh_a-1 wh_a-0"
	if fmt.Sprint(ids) != "["+want+"]" || pages != 3 {
		t.Fatalf("listed %v in %d pages, want [%s] in 3", ids, pages, want)
	}
	// A listing leaves no consumer behind: admin calls in a loop must not
	// run the stream into its consumer limit.
	s, err := js.Stream(ctx, failures.Stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Consumers != 0 {
		t.Fatalf("%d consumers left after listing, want 0", info.State.Consumers)
	}
	if _, _, err := r.List(ctx, "acme", "wh_a", 3, "nope"); err != failures.ErrBadPageToken {
		t.Fatalf("bad token: %v", err)
	}
}
