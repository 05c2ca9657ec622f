package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/hookgate/hookgate/controlplane/store"
	"github.com/hookgate/hookgate/testkit/etcdtest"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/namespace"
)

const readPrefix = "/hookgate/webhooks/"

// putMany writes n keys under readPrefix in transactions of 128 puts, with
// neighbours just outside the prefix on either side, and returns the keys
// and the revision after the last write.
func putMany(t *testing.T, kv clientv3.KV, n int) ([]string, int64) {
	t.Helper()
	ctx := context.Background()
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("%sacme/wh_%06d", readPrefix, i)
	}
	for lo := 0; lo < n; lo += 128 {
		var ops []clientv3.Op
		for _, k := range keys[lo:min(lo+128, n)] {
			ops = append(ops, clientv3.OpPut(k, "v1:"+k))
		}
		if _, err := kv.Txn(ctx).Then(ops...).Commit(); err != nil {
			t.Fatalf("put keys: %v", err)
		}
	}
	// '.' sorts just before '/', '0' just after it.
	for _, k := range []string{"/hookgate/webhooks.", "/hookgate/webhooks0", "/hookgate/webhook"} {
		if _, err := kv.Put(ctx, k, "outside"); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := kv.Get(ctx, "any", clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	return keys, resp.Header.Revision
}

// TestReadPrefixReadsEveryKeyOnceAtOneRevision: more keys than a page (or
// than RangeStream's first chunks), each read exactly once, in order, at one
// revision although keys change and appear while the read goes on; streamed
// by etcd, and in pages through a KV that cannot stream (a namespace).
func TestReadPrefixReadsEveryKeyOnceAtOneRevision(t *testing.T) {
	t.Parallel()
	const n = 2500
	streamed := func(t *testing.T) clientv3.KV { return etcdtest.Start(t).Client(t) }
	paged := func(t *testing.T) clientv3.KV { return namespace.NewKV(etcdtest.Start(t).Client(t), "/paged") }
	tests := []struct {
		name      string
		kv        func(*testing.T) clientv3.KV
		pageSize  int64
		keysOnly  bool
		wantPages func(int) bool
	}{
		{name: "streamed", kv: streamed, wantPages: func(p int) bool { return p == 1 }},
		{name: "streamed keys only", kv: streamed, keysOnly: true, wantPages: func(p int) bool { return p == 1 }},
		// Pages of 100, 200, 400, 800 and 1,600 keys.
		{name: "paged", kv: paged, pageSize: 100, wantPages: func(p int) bool { return p == 5 }},
		{name: "paged keys only", kv: paged, pageSize: 100, keysOnly: true, wantPages: func(p int) bool { return p == 5 }},
		{name: "paged from one key a page", kv: paged, pageSize: 1, wantPages: func(p int) bool { return p == 12 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			kv := tt.kv(t)
			keys, rev := putMany(t, kv, n)
			seen := make(map[string]int, n)
			var order []string
			changed := false
			res, err := store.ReadPrefix(ctx, kv, readPrefix, store.ReadOptions{PageSize: tt.pageSize, KeysOnly: tt.keysOnly},
				func(e *mvccpb.KeyValue) error {
					k := string(e.Key)
					seen[k]++
					order = append(order, k)
					if tt.keysOnly && len(e.Value) != 0 {
						t.Errorf("%s read with its value, want keys only", k)
					}
					if !tt.keysOnly && string(e.Value) != "v1:"+k {
						t.Errorf("%s = %q, want the value at revision %d", k, e.Value, rev)
					}
					if e.ModRevision > rev {
						t.Errorf("%s at mod revision %d, after the read's revision %d", k, e.ModRevision, rev)
					}
					if !changed {
						// While the read goes on: a later key changes and a
						// new one appears; neither may be seen.
						changed = true
						if _, err := kv.Put(ctx, keys[n-1], "v2"); err != nil {
							return err
						}
						if _, err := kv.Put(ctx, readPrefix+"acme/wh_999999", "new"); err != nil {
							return err
						}
					}
					return nil
				})
			if err != nil {
				t.Fatalf("ReadPrefix: %v", err)
			}
			if res.Revision != rev {
				t.Errorf("read at revision %d, want %d (the revision when it started)", res.Revision, rev)
			}
			if res.ClusterID == 0 {
				t.Error("cluster id 0, want etcd's")
			}
			if !tt.wantPages(res.Pages) {
				t.Errorf("read in %d pages", res.Pages)
			}
			if len(order) != n {
				t.Errorf("read %d keys, want %d", len(order), n)
			}
			for k, c := range seen {
				if c != 1 {
					t.Errorf("%s read %d times", k, c)
				}
			}
			if !slices.Equal(order, keys) {
				t.Errorf("keys read out of order or not the prefix's: first %q, last %q", order[0], order[len(order)-1])
			}

			// The same revision again, asked for, after the writes.
			count := 0
			again, err := store.ReadPrefix(ctx, kv, readPrefix, store.ReadOptions{Revision: rev, PageSize: tt.pageSize, KeysOnly: tt.keysOnly},
				func(e *mvccpb.KeyValue) error {
					count++
					return nil
				})
			if err != nil {
				t.Fatalf("ReadPrefix at revision %d: %v", rev, err)
			}
			if again.Revision != rev || count != n {
				t.Errorf("read %d keys at revision %d, want %d at %d", count, again.Revision, n, rev)
			}
		})
	}
}

// TestReadPrefixFails: what a read cannot do, streamed and paged.
func TestReadPrefixFails(t *testing.T) {
	t.Parallel()
	srv := etcdtest.Start(t)
	cli := srv.Client(t)
	ctx := context.Background()
	paged := namespace.NewKV(cli, "/paged")
	for _, kv := range []clientv3.KV{cli, paged} {
		putMany(t, kv, 300)
	}
	resp, err := cli.Put(ctx, "/last", "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Compact(ctx, resp.Header.Revision); err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop")
	tests := []struct {
		name string
		o    store.ReadOptions
		fn   func() func(*mvccpb.KeyValue) error
		want error
	}{
		{name: "compacted revision", o: store.ReadOptions{Revision: resp.Header.Revision - 1}, want: rpctypes.ErrCompacted},
		{name: "future revision", o: store.ReadOptions{Revision: resp.Header.Revision + 1000}, want: rpctypes.ErrFutureRev},
		{name: "fn fails", fn: func() func(*mvccpb.KeyValue) error {
			return func(*mvccpb.KeyValue) error { return stop }
		}, want: stop},
		{name: "fn fails on a later page", o: store.ReadOptions{PageSize: 10}, fn: func() func(*mvccpb.KeyValue) error {
			n := 0
			return func(*mvccpb.KeyValue) error {
				if n++; n == 250 {
					return stop
				}
				return nil
			}
		}, want: stop},
	}
	for _, kv := range []struct {
		name string
		kv   clientv3.KV
	}{{"streamed", cli}, {"paged", paged}} {
		for _, tt := range tests {
			t.Run(kv.name+"/"+tt.name, func(t *testing.T) {
				fn := func(*mvccpb.KeyValue) error { return nil }
				if tt.fn != nil {
					fn = tt.fn()
				}
				_, err := store.ReadPrefix(ctx, kv.kv, readPrefix, tt.o, fn)
				if !errors.Is(err, tt.want) {
					t.Errorf("err = %v, want %v", err, tt.want)
				}
			})
		}
	}
}
