package store

import (
	"context"
	"encoding/hex"
	"fmt"

	storagev1 "github.com/hookgate/hookgate/gen/hookgate/storage/v1"
	clientv3 "go.etcd.io/etcd/client/v3"
)

func tokenKey(id string) string { return TokensPrefix + id }

func tokenDigestKey(digest []byte) string {
	return TokenDigestsPrefix + hex.EncodeToString(digest)
}

// CreateToken stores a token record and its digest index in one
// transaction. A tenant token is stored only while its tenant exists, so it
// cannot outlive a concurrent tenant deletion.
func (s *Store) CreateToken(ctx context.Context, rec *storagev1.TokenRecord) error {
	id, tenant := rec.GetToken().GetId(), rec.GetToken().GetTenant()
	val, err := marshal(rec)
	if err != nil {
		return fmt.Errorf("create token %s: %w", id, err)
	}
	cmps := []clientv3.Cmp{
		clientv3.Compare(clientv3.CreateRevision(tokenKey(id)), "=", 0),
		clientv3.Compare(clientv3.CreateRevision(tokenDigestKey(rec.GetSha256())), "=", 0),
	}
	if tenant != "" {
		cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(tenantKey(tenant)), ">", 0))
	}
	resp, err := s.kv.Txn(ctx).If(cmps...).
		Then(
			clientv3.OpPut(tokenKey(id), val),
			clientv3.OpPut(tokenDigestKey(rec.GetSha256()), id),
		).Commit()
	if err != nil {
		return fmt.Errorf("create token %s: %w", id, err)
	}
	if !resp.Succeeded {
		if tenant != "" {
			if _, err := s.Tenant(ctx, tenant); err != nil {
				return err
			}
		}
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

// ListTokens pages through tokens of one scope: a tenant, or "" for platform.
func (s *Store) ListTokens(ctx context.Context, tenant string, page Page) ([]*storagev1.TokenRecord, string, error) {
	var out []*storagev1.TokenRecord
	next, err := s.scan(ctx, TokensPrefix, page, func(kv keyValue) (bool, error) {
		rec := &storagev1.TokenRecord{}
		if err := unmarshal(kv, rec); err != nil {
			return false, err
		}
		if rec.GetToken().GetTenant() != tenant {
			return false, nil
		}
		out = append(out, rec)
		return true, nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("list tokens: %w", err)
	}
	return out, next, nil
}

// DeleteToken removes a token and its digest index; it takes effect on the
// next call the token makes.
func (s *Store) DeleteToken(ctx context.Context, rec *storagev1.TokenRecord) error {
	id := rec.GetToken().GetId()
	resp, err := s.kv.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(tokenKey(id)), ">", 0)).
		Then(clientv3.OpDelete(tokenKey(id)), clientv3.OpDelete(tokenDigestKey(rec.GetSha256()))).
		Commit()
	if err != nil {
		return fmt.Errorf("delete token %s: %w", id, err)
	}
	if !resp.Succeeded {
		return fmt.Errorf("token %s: %w", id, ErrNotFound)
	}
	return nil
}
