package leader_test

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookgate/hookgate/controlplane/leader"
	"github.com/hookgate/hookgate/testkit/etcdtest"
	"github.com/hookgate/hookgate/testkit/poll"
)

func TestOneLeaderAtATimeAndHandOver(t *testing.T) {
	t.Parallel()
	etcd := etcdtest.Start(t).Client(t)
	log := slog.New(slog.DiscardHandler)

	var running atomic.Int32 // chores running now
	var overlap atomic.Bool
	var led sync.Map // which replicas have led
	chore := func(id string) func(ctx context.Context) {
		return func(ctx context.Context) {
			if running.Add(1) > 1 {
				overlap.Store(true)
			}
			led.Store(id, true)
			<-ctx.Done()
			running.Add(-1)
		}
	}
	ctxA, stopA := context.WithCancel(context.Background())
	ctxB, stopB := context.WithCancel(context.Background())
	defer stopB()
	doneA, doneB := make(chan error, 1), make(chan error, 1)
	go func() { doneA <- leader.Run(ctxA, etcd, "test", "a", log, chore("a")) }()
	poll.Until(t, 10*time.Second, "a to lead", func() bool { _, ok := led.Load("a"); return ok })
	go func() { doneB <- leader.Run(ctxB, etcd, "test", "b", log, chore("b")) }()

	// b must wait while a leads.
	time.Sleep(200 * time.Millisecond)
	if _, ok := led.Load("b"); ok {
		t.Fatal("b led while a was leader")
	}
	// a stops and resigns; b takes over without waiting for a lease to expire.
	stopA()
	if err := <-doneA; err != nil {
		t.Fatalf("a: %v", err)
	}
	poll.Until(t, 5*time.Second, "b to lead", func() bool { _, ok := led.Load("b"); return ok })
	stopB()
	if err := <-doneB; err != nil {
		t.Fatalf("b: %v", err)
	}
	if overlap.Load() {
		t.Fatal("two chores ran at once")
	}
}
