package edge

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/hookgate/hookgate/dataplane/ingress"
)

// ParseShard turns --shard ("N/M": shard N of M, from 0) and
// --shard-tenants (slugs) into the edge's shard; neither is every tenant.
// Errors name the flag and the bad value.
func ParseShard(hash string, tenants []string) (ingress.Shard, error) {
	switch {
	case hash != "" && len(tenants) > 0:
		return ingress.Shard{}, errors.New("flags --shard and --shard-tenants: give one or neither")
	case len(tenants) > 0:
		s, err := ingress.TenantsShard(tenants)
		if err != nil {
			return ingress.Shard{}, fmt.Errorf("flag --shard-tenants: %w", err)
		}
		return s, nil
	case hash == "":
		return ingress.Shard{}, nil
	}
	bad := func(why string) error {
		return fmt.Errorf("flag --shard %q: want N/M, shard N (from 0) of M shards of the tenant hash, e.g. 0/4: %s", hash, why)
	}
	n, m, ok := strings.Cut(hash, "/")
	if !ok {
		return ingress.Shard{}, bad("no '/'")
	}
	index, err1 := strconv.ParseUint(n, 10, 32)
	count, err2 := strconv.ParseUint(m, 10, 32)
	if err1 != nil || err2 != nil {
		return ingress.Shard{}, bad("not two whole numbers")
	}
	s, err := ingress.HashShard(uint32(index), uint32(count))
	if err != nil {
		return ingress.Shard{}, bad(strings.TrimPrefix(err.Error(), "shard: "))
	}
	return s, nil
}

// shardMarkerSuffix names the file beside --config-cache-file that says
// which shard the cache was written for.
const shardMarkerSuffix = ".shard"

// checkCacheShard drops a config cache file written for another shard than
// the edge's: its revision would make the control plane send only changes,
// and the edge would keep the old slice's tenants and miss the new ones'.
// It then records the edge's shard beside the cache. A cache without a
// marker is taken as one of every tenant (written before shards).
func checkCacheShard(cacheFile string, shard ingress.Shard, log *slog.Logger) error {
	if cacheFile == "" {
		return nil
	}
	marker := cacheFile + shardMarkerSuffix
	want := []byte(shard.String() + "\n")
	had, err := os.ReadFile(marker)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		had = []byte(ingress.Shard{}.String() + "\n")
	case err != nil:
		return fmt.Errorf("flag --config-cache-file: read %s: %w", marker, err)
	}
	if bytes.Equal(had, want) {
		return nil
	}
	if err := os.Remove(cacheFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("flag --config-cache-file: drop the cache of another shard: %w", err)
	} else if err == nil {
		log.Info("config cache was written for another shard; dropped, waiting for the control plane",
			"file", cacheFile, "cache_shard", strings.TrimSpace(string(had)), "shard", shard.String())
	}
	tmp, err := os.CreateTemp(filepath.Dir(marker), filepath.Base(marker)+".*")
	if err != nil {
		return fmt.Errorf("flag --config-cache-file: write %s: %w", marker, err)
	}
	_, werr := tmp.Write(want)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("flag --config-cache-file: write %s: %w", marker, err)
	}
	if err := os.Rename(tmp.Name(), marker); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("flag --config-cache-file: write %s: %w", marker, err)
	}
	return nil
}
