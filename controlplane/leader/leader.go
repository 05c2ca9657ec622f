// Package leader runs singleton chores on one control-plane replica at a
// time, under an etcd lease-based election. It does nothing but elect.
package leader

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// ElectionPrefix is where elections live in etcd.
const ElectionPrefix = "/hookgate/elections/"

// Run campaigns for leadership of name and runs chore while leader. chore's
// context ends when leadership is lost (the lease expired) or ctx ends; it
// must be idempotent, since leadership can end mid-run. Run campaigns again
// after a lost leadership and returns when ctx ends.
func Run(ctx context.Context, client *clientv3.Client, name, id string, log *slog.Logger, chore func(ctx context.Context)) error {
	for {
		err := lead(ctx, client, name, id, log, chore)
		if ctx.Err() != nil {
			return nil
		}
		log.Warn("leadership lost", "election", name, "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

func lead(ctx context.Context, client *clientv3.Client, name, id string, log *slog.Logger, chore func(ctx context.Context)) error {
	session, err := concurrency.NewSession(client, concurrency.WithTTL(10), concurrency.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("election %s: session: %w", name, err)
	}
	defer session.Close()
	election := concurrency.NewElection(session, ElectionPrefix+name)
	if err := election.Campaign(ctx, id); err != nil {
		return fmt.Errorf("election %s: campaign: %w", name, err)
	}
	log.Info("leadership gained", "election", name)
	choreCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-session.Done():
		case <-choreCtx.Done():
		}
		cancel()
	}()
	chore(choreCtx)
	if ctx.Err() != nil {
		// Resign so another replica takes over at once, not after the TTL.
		resignCtx, done := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer done()
		_ = election.Resign(resignCtx)
		return nil
	}
	return errors.New("session ended")
}
