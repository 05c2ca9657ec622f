package store

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/proto"
)

// ErrBadPageToken means a page token was not one this store issued for the
// same listing.
var ErrBadPageToken = errors.New("invalid page token")

// Page asks for one page of a listing.
type Page struct {
	// Size is how many items to return; the caller bounds it.
	Size int
	// Token is the opaque token of the previous page; empty for the first.
	Token string
}

type keyValue struct {
	key         string
	value       []byte
	modRevision int64
}

func unmarshal(kv keyValue, m proto.Message) error {
	if err := proto.Unmarshal(kv.value, m); err != nil {
		return fmt.Errorf("decode %s: %w", kv.key, err)
	}
	return nil
}

func etag(rev int64) string { return strconv.FormatInt(rev, 10) }

// ParseEtag turns an etag back into the revision it names; empty is 0.
func ParseEtag(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	rev, err := strconv.ParseInt(s, 10, 64)
	if err != nil || rev <= 0 {
		return 0, fmt.Errorf("etag %q: %w", s, ErrConflict)
	}
	return rev, nil
}

// scan walks keys under prefix in order, starting after the page token, and
// calls keep for each; keep says whether the item counts toward the page
// (filters return false). It returns the token of the next page, empty at
// the end.
func (s *Store) scan(ctx context.Context, prefix string, page Page, keep func(keyValue) (bool, error)) (string, error) {
	start := prefix
	if page.Token != "" {
		raw, err := base64.RawURLEncoding.DecodeString(page.Token)
		if err != nil || !strings.HasPrefix(string(raw), prefix) {
			return "", ErrBadPageToken
		}
		start = string(raw) + "\x00"
	}
	end := clientv3.GetPrefixRangeEnd(prefix)
	kept := 0
	batch := int64(max(page.Size, 16))
	for {
		resp, err := s.kv.Get(ctx, start, clientv3.WithRange(end), clientv3.WithLimit(batch))
		if err != nil {
			return "", fmt.Errorf("range %s: %w", prefix, err)
		}
		for _, kv := range resp.Kvs {
			ok, err := keep(keyValue{key: string(kv.Key), value: kv.Value, modRevision: kv.ModRevision})
			if err != nil {
				return "", err
			}
			if ok {
				kept++
			}
			if kept == page.Size {
				if string(kv.Key) == lastKey(resp) && !resp.More {
					return "", nil
				}
				return base64.RawURLEncoding.EncodeToString(kv.Key), nil
			}
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return "", nil
		}
		start = lastKey(resp) + "\x00"
	}
}

func lastKey(resp *clientv3.GetResponse) string {
	return string(resp.Kvs[len(resp.Kvs)-1].Key)
}
