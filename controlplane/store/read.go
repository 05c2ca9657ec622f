package store

import (
	"context"
	"errors"
	"fmt"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrClusterChanged means the pages of one read were answered by different
// etcd clusters (the endpoints now reach another cluster): the read is not
// of one history.
var ErrClusterChanged = errors.New("etcd cluster changed during the read")

// Page sizes of ReadPrefix's paged read, for an etcd without RangeStream.
const (
	// DefaultReadPageSize is the first page's size in keys.
	DefaultReadPageSize = 1000
	// maxReadPageSize bounds a page however small its values.
	maxReadPageSize = 64 * 1024
	// readPageBytes is the size a page aims at: pages grow while they are
	// under half of it and shrink while over twice it.
	readPageBytes = 2 << 20
)

// ReadOptions says how ReadPrefix reads.
type ReadOptions struct {
	// Revision is the revision to read at; 0 reads at the current one.
	Revision int64
	// KeysOnly leaves values out.
	KeysOnly bool
	// PageSize is the first page's size in keys when etcd cannot stream the
	// range; 0 is DefaultReadPageSize.
	PageSize int64
}

// ReadResult says what one ReadPrefix read was of.
type ReadResult struct {
	// Revision is the revision every key was read at.
	Revision int64
	// ClusterID is the etcd cluster that answered.
	ClusterID uint64
	// Pages is how many range requests the read took; 1 when etcd streamed
	// the range.
	Pages int
}

// ReadPrefix reads every key under prefix at one revision and calls fn for
// each, in key order, exactly once. Its cost is linear in the keys read.
//
// It streams the range (etcd 3.7's RangeStream: chunks that etcd sizes
// itself, one revision pinned by the server, no count of what remains). An
// etcd or a KV that cannot stream (etcd before 3.7, a namespaced KV) is read
// in pages instead: the first at the current revision, linearizable, and the
// rest at that revision, each continuing after the last key. etcd counts the
// rest of the range on every page of a limited Range, so a paged read of n
// keys costs O(n²/page) in etcd; pages grow to about 2 MiB to keep that
// small (50 pages for 1,000,000 webhooks).
//
// A revision etcd has compacted fails with rpctypes.ErrCompacted; pages
// from different clusters fail with ErrClusterChanged. An error from fn
// ends the read and is returned as it is.
func ReadPrefix(ctx context.Context, kv clientv3.KV, prefix string, o ReadOptions, fn func(*mvccpb.KeyValue) error) (ReadResult, error) {
	res, err := readStream(ctx, kv, prefix, o, fn)
	if errors.Is(err, errNoStream) {
		return readPages(ctx, kv, prefix, o, fn)
	}
	return res, err
}

// errNoStream means etcd answered RangeStream Unimplemented before sending
// anything.
var errNoStream = errors.New("range stream unimplemented")

func readStream(ctx context.Context, kv clientv3.KV, prefix string, o ReadOptions, fn func(*mvccpb.KeyValue) error) (ReadResult, error) {
	// The channel must be drained to its end whatever happens: GetStream's
	// goroutine blocks on it until the stream ends, and cancelling makes
	// the stream end at once.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch, err := kv.GetStream(ctx, prefix, rangeOpts(prefix, o.Revision, o.KeysOnly)...)
	if err != nil {
		if unimplemented(err) {
			return ReadResult{}, errNoStream
		}
		return ReadResult{}, fmt.Errorf("stream range %s: %w", prefix, err)
	}
	defer func() {
		cancel()
		for range ch {
		}
	}()
	var (
		res    ReadResult
		chunks int
	)
	for r := range ch {
		if err := r.Err(); err != nil {
			if chunks == 0 && unimplemented(err) {
				return ReadResult{}, errNoStream
			}
			return ReadResult{}, fmt.Errorf("stream range %s: %w", prefix, err)
		}
		chunks++
		for _, e := range r.Kvs {
			if err := fn(e); err != nil {
				return ReadResult{}, err
			}
		}
		// Only the last chunk carries the header: the cluster, and the
		// revision etcd pinned when none was asked for (else its current
		// one, as a Range answers).
		if h := r.Header; h != nil {
			res.Revision, res.ClusterID = h.Revision, h.ClusterId
		}
	}
	if o.Revision > 0 && res.Revision != 0 {
		res.Revision = o.Revision
	}
	if res.Revision == 0 {
		return ReadResult{}, fmt.Errorf("stream range %s: ended without its revision", prefix)
	}
	res.Pages = 1
	return res, nil
}

func readPages(ctx context.Context, kv clientv3.KV, prefix string, o ReadOptions, fn func(*mvccpb.KeyValue) error) (ReadResult, error) {
	var res ReadResult
	limit := o.PageSize
	if limit <= 0 {
		limit = DefaultReadPageSize
	}
	rev := o.Revision
	key := prefix
	for {
		opts := append(rangeOpts(prefix, rev, o.KeysOnly), clientv3.WithLimit(limit))
		// The pages after the first are of a revision this cluster has
		// reached: any member may answer them without a quorum read.
		serializable := rev > 0 && res.Pages > 0
		var (
			resp *clientv3.GetResponse
			err  error
		)
		if serializable {
			resp, err = kv.Get(ctx, key, append(opts, clientv3.WithSerializable())...)
		} else {
			resp, err = kv.Get(ctx, key, opts...)
		}
		if serializable && errors.Is(err, rpctypes.ErrFutureRev) {
			// A member behind the revision: ask again, linearizable.
			resp, err = kv.Get(ctx, key, opts...)
		}
		if err != nil {
			return ReadResult{}, fmt.Errorf("range %s from %q: %w", prefix, key, err)
		}
		res.Pages++
		switch {
		case res.ClusterID == 0:
			res.ClusterID = resp.Header.ClusterId
		case res.ClusterID != resp.Header.ClusterId:
			return ReadResult{}, fmt.Errorf("range %s from %q: %w", prefix, key, ErrClusterChanged)
		}
		if rev == 0 {
			rev = resp.Header.Revision
		}
		size := 0
		for _, e := range resp.Kvs {
			size += len(e.Key) + len(e.Value)
			if err := fn(e); err != nil {
				return ReadResult{}, err
			}
		}
		if !resp.More || len(resp.Kvs) == 0 {
			res.Revision = rev
			return res, nil
		}
		key = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
		limit = nextPageSize(limit, size)
	}
}

// nextPageSize doubles a page under half of readPageBytes and halves one
// over twice it, as etcd sizes RangeStream's chunks.
func nextPageSize(limit int64, size int) int64 {
	switch {
	case size < readPageBytes/2:
		limit = min(2*limit, maxReadPageSize)
	case size > 2*readPageBytes:
		limit = max(limit/2, 1)
	}
	return limit
}

func rangeOpts(prefix string, rev int64, keysOnly bool) []clientv3.OpOption {
	opts := []clientv3.OpOption{clientv3.WithRange(clientv3.GetPrefixRangeEnd(prefix))}
	if rev > 0 {
		opts = append(opts, clientv3.WithRev(rev))
	}
	if keysOnly {
		opts = append(opts, clientv3.WithKeysOnly())
	}
	return opts
}

// unimplemented reports an etcd (or KV) without the method asked for.
func unimplemented(err error) bool {
	var ee rpctypes.EtcdError
	if errors.As(err, &ee) {
		return ee.Code() == codes.Unimplemented
	}
	return status.Code(err) == codes.Unimplemented
}
