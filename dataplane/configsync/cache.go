package configsync

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// The cache file holds one protobuf StreamConfigResponse with snapshot set:
// the same message the control plane sends, so it needs no format of its
// own, with the etcd cluster id, so that a node restarted after its etcd
// cluster was replaced is not resumed from the old cluster's revision. It
// holds decrypted provider secrets: mode 0600, and off by default.

// loadCache applies the cache file to the table.
func (c *Client) loadCache() error {
	path := c.cfg.CacheFile
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		c.log.Info("no config cache yet", "file", path)
		return nil
	}
	if err != nil {
		return fmt.Errorf("read config cache: %w", err)
	}
	if info, err := os.Stat(path); err == nil && info.Mode().Perm()&0o077 != 0 {
		c.log.Warn("config cache is readable by other users; it holds provider secrets", "file", path, "mode", info.Mode().Perm().String())
	}
	var resp hookgatev1.StreamConfigResponse
	if err := proto.Unmarshal(data, &resp); err != nil {
		return fmt.Errorf("decode config cache: %w", err)
	}
	if !resp.GetSnapshot() {
		return errors.New("decode config cache: not a snapshot")
	}
	if err := c.checkRole(&resp); err != nil {
		return fmt.Errorf("config cache: %w", err)
	}
	upd, err := c.table.Apply(&resp)
	if err != nil {
		return fmt.Errorf("config cache: %w", err)
	}
	c.log.Info("config loaded from cache; serving it until the control plane answers",
		"file", path, "revision", resp.GetRevision(), "cluster_id", resp.GetClusterId(), "webhooks", upd.Snapshot.Len())
	return nil
}

// runCache writes the table to the cache file after it changes, at most
// once per CacheInterval, and a last time when ctx ends.
func (c *Client) runCache(ctx context.Context) {
	var (
		last    time.Time
		written int64
		due     <-chan time.Time
	)
	write := func() {
		snap := c.table.Snapshot()
		if snap == nil || snap.Revision == written {
			return
		}
		if err := writeCache(c.cfg.CacheFile, snap); err != nil {
			c.log.Warn("write config cache", "file", c.cfg.CacheFile, "err", err)
			return
		}
		written = snap.Revision
		c.log.Debug("config cache written", "file", c.cfg.CacheFile, "revision", snap.Revision)
	}
	for {
		select {
		case <-ctx.Done():
			write()
			return
		case <-c.cacheDirty:
			if due == nil {
				due = c.clock.After(max(0, c.cfg.CacheInterval-c.clock.Now().Sub(last)))
			}
		case <-due:
			due = nil
			write()
			last = c.clock.Now()
		}
	}
}

// encodeCache encodes snap as one StreamConfigResponse, a resource at a
// time: the table holds webhooks in their compact form, and making every
// EdgeWebhook message at once would hold them all (about 800 MB for a
// million) to write one file.
func encodeCache(snap *Snapshot) ([]byte, error) {
	data, err := proto.Marshal(&hookgatev1.StreamConfigResponse{Revision: snap.Revision, ClusterId: snap.ClusterID, Snapshot: true})
	if err != nil {
		return nil, err
	}
	upserts := (&hookgatev1.StreamConfigResponse{}).ProtoReflect().Descriptor().Fields().ByName("upserts").Number()
	var one []byte
	add := func(r *hookgatev1.ConfigResource) error {
		one, err = proto.MarshalOptions{}.MarshalAppend(one[:0], r)
		if err != nil {
			return fmt.Errorf("resource %q: %w", r.GetKey(), err)
		}
		data = protowire.AppendTag(data, upserts, protowire.BytesType)
		data = protowire.AppendBytes(data, one)
		return nil
	}
	for w := range snap.Webhooks() {
		if err := add(&hookgatev1.ConfigResource{
			Key:      ResourceKey(w.GetTenant(), w.GetId()),
			Resource: &hookgatev1.ConfigResource_Webhook{Webhook: w.Proto()},
		}); err != nil {
			return nil, err
		}
	}
	snap.Resources("", func(r *hookgatev1.ConfigResource) bool {
		err = add(r)
		return err == nil
	})
	if err != nil {
		return nil, err
	}
	return data, nil
}

// writeCache replaces the cache file atomically: a temporary file in the
// same folder, synced, then renamed over it.
func writeCache(path string, snap *Snapshot) (err error) {
	data, err := encodeCache(snap)
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	// Sync the folder so the rename survives a crash.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
