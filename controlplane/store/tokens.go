package store

import (
	"context"
	"encoding/hex"
	"fmt"

	storagev1 "github.com/hookgate/hookgate/gen/hookgate/storage/v1"
	clientv3 "go.etcd.io/etcd/client/v3"
)

func tokenKey(id string) string { return Prefix + "tokens/" + id }

func tokenDigestKey(digest []byte) string {
	return Prefix + "token-digests/" + hex.EncodeToString(digest)
}

// CreateToken stores a token record and its digest index in one transaction.
func (s *Store) CreateToken(ctx context.Context, rec *storagev1.TokenRecord) error {
	id := rec.GetToken().GetId()
	val, err := marshal(rec)
	if err != nil {
		return fmt.Errorf("create token %s: %w", id, err)
	}
	resp, err := s.kv.Txn(ctx).
		If(
			clientv3.Compare(clientv3.CreateRevision(tokenKey(id)), "=", 0),
			clientv3.Compare(clientv3.CreateRevision(tokenDigestKey(rec.GetSha256())), "=", 0),
		).
		Then(
			clientv3.OpPut(tokenKey(id), val),
			clientv3.OpPut(tokenDigestKey(rec.GetSha256()), id),
		).Commit()
	if err != nil {
		return fmt.Errorf("create token %s: %w", id, err)
	}
	if !resp.Succeeded {
		return fmt.Errorf("create token %s: %w", id, ErrAlreadyExists)
	}
	return nil
}

// TokenByDigest finds the token whose secret has the given SHA-256 digest.
func (s *Store) TokenByDigest(ctx context.Context, digest []byte) (*storagev1.TokenRecord, error) {
	resp, err := s.kv.Get(ctx, tokenDigestKey(digest))
	if err != nil {
		return nil, fmt.Errorf("look up token digest: %w", err)
	}
	if len(resp.Kvs) == 0 {
		return nil, ErrNotFound
	}
	return s.Token(ctx, string(resp.Kvs[0].Value))
}

// Token reads one token record.
func (s *Store) Token(ctx context.Context, id string) (*storagev1.TokenRecord, error) {
	rec := &storagev1.TokenRecord{}
	if _, err := s.get(ctx, tokenKey(id), rec); err != nil {
		return nil, fmt.Errorf("token %s: %w", id, err)
	}
	return rec, nil
}
