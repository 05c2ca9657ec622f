// Package store keeps the control plane's records in etcd: tenants, admin
// tokens and webhooks as protobuf values under one prefix, each mutation a
// single transaction. It knows nothing of the API or of secrets' plaintext.
package store

import (
	"context"
	"errors"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/proto"
)

// Conditions callers act on.
var (
	ErrNotFound      = errors.New("not found")
	ErrAlreadyExists = errors.New("already exists")
	// ErrConflict means an etag did not match or a concurrent change won.
	ErrConflict = errors.New("conflict")
)

// Prefix is where every Hookgate key lives. The key layout under it is
// documented in docs/design.md.
const Prefix = "/hookgate/"

// Store reads and writes Hookgate records in etcd.
type Store struct {
	kv clientv3.KV
}

// New returns a Store on an etcd client (or a namespaced KV).
func New(kv clientv3.KV) *Store {
	return &Store{kv: kv}
}

// KV returns the underlying etcd KV, for watches and elections built on the
// same keys.
func (s *Store) KV() clientv3.KV { return s.kv }

// Ping checks that etcd answers a read.
func (s *Store) Ping(ctx context.Context) error {
	if _, err := s.kv.Get(ctx, Prefix+"ping", clientv3.WithCountOnly()); err != nil {
		return fmt.Errorf("etcd ping: %w", err)
	}
	return nil
}

// get reads one record into m and returns its mod revision.
func (s *Store) get(ctx context.Context, key string, m proto.Message) (int64, error) {
	resp, err := s.kv.Get(ctx, key)
	if err != nil {
		return 0, fmt.Errorf("get %s: %w", key, err)
	}
	if len(resp.Kvs) == 0 {
		return 0, ErrNotFound
	}
	if err := proto.Unmarshal(resp.Kvs[0].Value, m); err != nil {
		return 0, fmt.Errorf("decode %s: %w", key, err)
	}
	return resp.Kvs[0].ModRevision, nil
}

// marshal encodes a record deterministically, so equal records are equal bytes.
func marshal(m proto.Message) (string, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("encode %T: %w", m, err)
	}
	return string(b), nil
}
