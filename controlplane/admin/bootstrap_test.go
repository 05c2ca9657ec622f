package admin_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/controlplane/admin"
	"github.com/hookgate/hookgate/controlplane/secrets"
	"github.com/hookgate/hookgate/controlplane/store"
	"github.com/hookgate/hookgate/testkit/etcdtest"
	clientv3 "go.etcd.io/etcd/client/v3"
)

func TestBootstrapToken(t *testing.T) {
	t.Parallel()
	etcd := etcdtest.Start(t).Client(t)
	st := store.New(etcd)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "admin-token")

	token, minted, err := admin.BootstrapToken(ctx, st, path, time.Now())
	if err != nil || !minted || !strings.HasPrefix(token, "hga_") {
		t.Fatalf("first bootstrap = %q, %v, %v", token[:4], minted, err)
	}
	rec, err := st.TokenByDigest(ctx, secrets.Digest(token))
	if err != nil {
		t.Fatalf("token not registered: %v", err)
	}
	if rec.GetToken().GetTenant() != "" || rec.GetToken().GetPrefix() != token[:8] {
		t.Fatalf("bootstrap token record %v is not a platform token with its prefix", rec.GetToken())
	}

	// A restart finds the same token.
	again, minted, err := admin.BootstrapToken(ctx, st, path, time.Now())
	if err != nil || minted || again != token {
		t.Fatalf("second bootstrap minted=%v err=%v same=%v", minted, err, again == token)
	}

	// Only the digest is in etcd, never the token.
	all, err := etcd.Get(ctx, store.Prefix, clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range all.Kvs {
		if strings.Contains(string(kv.Key)+string(kv.Value), token) {
			t.Fatalf("etcd key %s holds the plaintext token", kv.Key)
		}
	}

	// An operator-provided token file is registered on start.
	own := secrets.NewSecret(secrets.AdminTokenPrefix).Reveal()
	ownPath := filepath.Join(t.TempDir(), "own-token")
	if err := os.WriteFile(ownPath, []byte(own+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, minted, err := admin.BootstrapToken(ctx, st, ownPath, time.Now())
	if err != nil || minted || got != own {
		t.Fatalf("provided token: minted=%v err=%v", minted, err)
	}
	if _, err := st.TokenByDigest(ctx, secrets.Digest(own)); err != nil {
		t.Fatalf("provided token not registered: %v", err)
	}

	// A file that holds something else is refused, naming the file.
	bad := filepath.Join(t.TempDir(), "bad")
	_ = os.WriteFile(bad, []byte("hunter2"), 0o600)
	if _, _, err := admin.BootstrapToken(ctx, st, bad, time.Now()); err == nil || !strings.Contains(err.Error(), bad) || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("bad token file error = %v", err)
	}
}
