package store

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"

	storagev1 "github.com/hookgate/hookgate/gen/hookgate/storage/v1"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// platformScope is the scope segment of platform tokens' keys. A tenant slug
// is [a-z0-9-], so it can never be "_platform".
const platformScope = "_platform"

// tokenScope is the key segment of a token's scope: its tenant, or
// platformScope for a platform token ("").
func tokenScope(tenant string) string {
	if tenant == "" {
		return platformScope
	}
	return tenant
}

// tokenScopePrefix holds every token record of one scope, so deleting a
// tenant deletes its tokens with one range operation, whatever their number.
func tokenScopePrefix(tenant string) string { return TokensPrefix + tokenScope(tenant) + "/" }

func tokenKey(tenant, id string) string { return tokenScopePrefix(tenant) + id }

func tokenIDKey(id string) string { return TokenIDsPrefix + id }

func tokenDigestKey(digest []byte) string {
	return TokenDigestsPrefix + hex.EncodeToString(digest)
}

// CreateToken stores a token record and its id and digest indexes in one
// transaction. A tenant token is stored only while its tenant exists: the
// transaction compares the tenant key, and DeleteTenant removes the
// tenant's token prefix by range in its own transaction, so a token created
// concurrently with a deletion is either refused or deleted with the tenant.
func (s *Store) CreateToken(ctx context.Context, rec *storagev1.TokenRecord) error {
	id, tenant := rec.GetToken().GetId(), rec.GetToken().GetTenant()
	val, err := marshal(rec)
	if err != nil {
		return fmt.Errorf("create token %s: %w", id, err)
	}
	key := tokenKey(tenant, id)
	cmps := []clientv3.Cmp{
		clientv3.Compare(clientv3.CreateRevision(tokenIDKey(id)), "=", 0),
		clientv3.Compare(clientv3.CreateRevision(tokenDigestKey(rec.GetSha256())), "=", 0),
	}
	if tenant != "" {
		cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(tenantKey(tenant)), ">", 0))
	}
	resp, err := s.kv.Txn(ctx).If(cmps...).
		Then(
			clientv3.OpPut(key, val),
			clientv3.OpPut(tokenIDKey(id), key),
			clientv3.OpPut(tokenDigestKey(rec.GetSha256()), key),
			clientv3.OpPut(TokenMirrorKey(tenant, id), val),
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

// MirrorToken writes the mirror of an existing token record when it has
// none, for tokens created before mirrors existed. It writes nothing when
// the token is gone or already mirrored.
func (s *Store) MirrorToken(ctx context.Context, rec *storagev1.TokenRecord) error {
	id, tenant := rec.GetToken().GetId(), rec.GetToken().GetTenant()
	val, err := marshal(rec)
	if err != nil {
		return fmt.Errorf("mirror token %s: %w", id, err)
	}
	mirror := TokenMirrorKey(tenant, id)
	_, err = s.kv.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(tokenKey(tenant, id)), ">", 0),
			clientv3.Compare(clientv3.CreateRevision(mirror), "=", 0)).
		Then(clientv3.OpPut(mirror, val)).Commit()
	if err != nil {
		return fmt.Errorf("mirror token %s: %w", id, err)
	}
	return nil
}

// TokenByDigest finds the token whose secret has the given SHA-256 digest.
// An index entry whose record is gone (its tenant was deleted by range) is
// not a token.
func (s *Store) TokenByDigest(ctx context.Context, digest []byte) (*storagev1.TokenRecord, error) {
	return s.tokenByIndex(ctx, tokenDigestKey(digest), "token digest")
}

// Token reads one token record by id.
func (s *Store) Token(ctx context.Context, id string) (*storagev1.TokenRecord, error) {
	rec, err := s.tokenByIndex(ctx, tokenIDKey(id), "token "+id)
	if err != nil {
		return nil, fmt.Errorf("token %s: %w", id, err)
	}
	return rec, nil
}

// TokenTenant tells the scope of a token by id: its tenant, or "" for a
// platform token.
func (s *Store) TokenTenant(ctx context.Context, id string) (string, error) {
	rec, err := s.Token(ctx, id)
	if err != nil {
		return "", err
	}
	return rec.GetToken().GetTenant(), nil
}

// tokenByIndex follows an index entry (id or digest) to the record it names.
func (s *Store) tokenByIndex(ctx context.Context, index, what string) (*storagev1.TokenRecord, error) {
	resp, err := s.kv.Get(ctx, index)
	if err != nil {
		return nil, fmt.Errorf("look up %s: %w", what, err)
	}
	if len(resp.Kvs) == 0 {
		return nil, ErrNotFound
	}
	key := string(resp.Kvs[0].Value)
	if !strings.HasPrefix(key, TokensPrefix) {
		return nil, fmt.Errorf("look up %s: index entry %s names %q: %w", what, index, key, ErrNotFound)
	}
	rec := &storagev1.TokenRecord{}
	if _, err := s.get(ctx, key, rec); err != nil {
		return nil, err
	}
	return rec, nil
}

// ListTokens pages through tokens of one scope: a tenant, or "" for platform.
func (s *Store) ListTokens(ctx context.Context, tenant string, page Page) ([]*storagev1.TokenRecord, string, error) {
	var out []*storagev1.TokenRecord
	next, err := s.scan(ctx, tokenScopePrefix(tenant), page, func(kv keyValue) (bool, error) {
		rec := &storagev1.TokenRecord{}
		if err := unmarshal(kv, rec); err != nil {
			return false, err
		}
		out = append(out, rec)
		return true, nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("list tokens: %w", err)
	}
	return out, next, nil
}

// DeleteToken removes a token and its indexes; it takes effect on the next
// call the token makes.
func (s *Store) DeleteToken(ctx context.Context, rec *storagev1.TokenRecord) error {
	id, tenant := rec.GetToken().GetId(), rec.GetToken().GetTenant()
	key := tokenKey(tenant, id)
	resp, err := s.kv.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), ">", 0)).
		Then(clientv3.OpDelete(key), clientv3.OpDelete(tokenIDKey(id)), clientv3.OpDelete(tokenDigestKey(rec.GetSha256())),
			clientv3.OpDelete(TokenMirrorKey(tenant, id))).
		Commit()
	if err != nil {
		return fmt.Errorf("delete token %s: %w", id, err)
	}
	if !resp.Succeeded {
		return fmt.Errorf("token %s: %w", id, ErrNotFound)
	}
	return nil
}

// dropTokenIndexes deletes the id and digest index entries of tokens whose
// records are gone, in transactions under etcd's default limit of 128
// operations. An entry it misses is harmless: a lookup through it finds no
// record and answers ErrNotFound.
func (s *Store) dropTokenIndexes(ctx context.Context, recs []*storagev1.TokenRecord) error {
	const perTxn = 64 // two operations per token
	for len(recs) > 0 {
		n := min(len(recs), perTxn)
		ops := make([]clientv3.Op, 0, 2*n)
		for _, rec := range recs[:n] {
			ops = append(ops, clientv3.OpDelete(tokenIDKey(rec.GetToken().GetId())), clientv3.OpDelete(tokenDigestKey(rec.GetSha256())))
		}
		if _, err := s.kv.Txn(ctx).Then(ops...).Commit(); err != nil {
			return fmt.Errorf("drop token indexes: %w", err)
		}
		recs = recs[n:]
	}
	return nil
}
