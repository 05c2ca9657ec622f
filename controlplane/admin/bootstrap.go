package admin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hookgate/hookgate/controlplane/secrets"
	"github.com/hookgate/hookgate/controlplane/store"
	storagev1 "github.com/hookgate/hookgate/gen/hookgate/storage/v1"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// BootstrapToken makes sure a platform admin token exists whose secret is in
// the file at path. When the file exists its token is registered if etcd
// lacks it (a restart, or an operator-provided token); otherwise a new token
// is created and written with mode 0600. It returns the token and whether it
// was created now.
func BootstrapToken(ctx context.Context, st *store.Store, path string, now time.Time) (string, bool, error) {
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		token := strings.TrimSpace(string(data))
		if !strings.HasPrefix(token, secrets.AdminTokenPrefix) {
			return "", false, fmt.Errorf("bootstrap token file %s: does not hold an %s token", path, secrets.AdminTokenPrefix)
		}
		rec, err := st.TokenByDigest(ctx, secrets.Digest(token))
		if err == nil {
			// A token from before token mirrors gets one, so edges accept it.
			if err := st.MirrorToken(ctx, rec); err != nil {
				return "", false, fmt.Errorf("bootstrap token: %w", err)
			}
			return token, false, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return "", false, fmt.Errorf("bootstrap token: %w", err)
		}
		if err := st.CreateToken(ctx, bootstrapRecord(token, now)); err != nil {
			return "", false, fmt.Errorf("bootstrap token: %w", err)
		}
		return token, false, nil
	case errors.Is(err, os.ErrNotExist):
		secret := secrets.NewSecret(secrets.AdminTokenPrefix)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return "", false, fmt.Errorf("bootstrap token file: %w", err)
		}
		// Register first: a file without a registered token is repaired on
		// the next start, a registered token without a file would be lost.
		if err := st.CreateToken(ctx, bootstrapRecord(secret.Reveal(), now)); err != nil {
			return "", false, fmt.Errorf("bootstrap token: %w", err)
		}
		if err := os.WriteFile(path, []byte(secret.Reveal()+"\n"), 0o600); err != nil {
			return "", false, fmt.Errorf("bootstrap token file: %w", err)
		}
		return secret.Reveal(), true, nil
	default:
		return "", false, fmt.Errorf("bootstrap token file: %w", err)
	}
}

func bootstrapRecord(token string, now time.Time) *storagev1.TokenRecord {
	return &storagev1.TokenRecord{
		Token: &hookgatev1.AdminToken{
			Id:          secrets.NewID("tok_"),
			Description: "bootstrap platform token",
			Kind:        hookgatev1.AdminTokenKind_ADMIN_TOKEN_KIND_ADMIN,
			Prefix:      token[:min(len(token), 8)],
			CreateTime:  timestamppb.New(now),
		},
		Sha256: secrets.Digest(token),
	}
}
