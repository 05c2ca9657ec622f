package secrets_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hookgate/hookgate/controlplane/secrets"
)

func TestSecretNeverPrints(t *testing.T) {
	t.Parallel()
	s := secrets.NewSecret(secrets.APIKeyPrefix)
	if !regexp.MustCompile(`^hgk_[A-Za-z0-9_-]{43}$`).MatchString(s.Reveal()) {
		t.Fatalf("key %q is not hgk_ + base64url(32 bytes)", s.Reveal())
	}
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("made", "key", s)
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%v %+v %s %q %x", s, s, s, s, s), logs.String()} {
		if strings.Contains(out, s.Reveal()) || strings.Contains(out, s.Reveal()[4:12]) {
			t.Fatalf("secret leaked into %q", out)
		}
		if !strings.Contains(out, "REDACTED") {
			t.Fatalf("%q does not say REDACTED", out)
		}
	}
	if !secrets.Equal(s.Digest(), secrets.Digest(s.Reveal())) {
		t.Fatal("digest of the same secret differs")
	}
	if secrets.Equal(s.Digest(), secrets.NewSecret(secrets.APIKeyPrefix).Digest()) {
		t.Fatal("two fresh secrets have equal digests")
	}
	if s.Prefix(8) != s.Reveal()[:8] {
		t.Fatalf("Prefix(8) = %q", s.Prefix(8))
	}
}

func TestNewID(t *testing.T) {
	t.Parallel()
	re := regexp.MustCompile(`^wh_[0-9a-v]{20}$`)
	seen := map[string]bool{}
	for range 1000 {
		id := secrets.NewID("wh_")
		if !re.MatchString(id) || seen[id] {
			t.Fatalf("id %q is malformed or repeated", id)
		}
		seen[id] = true
	}
}

func TestKeyringSealOpen(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "keyring.json")
	k, err := secrets.LoadOrCreateKeyring(path)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("keyring file mode %v, %v; want 0600", info.Mode().Perm(), err)
	}
	sealed := k.Seal([]byte("xoxb-secret"), []byte("webhook/acme/wh_1/signing_secret"))
	if bytes.Contains(sealed.Data, []byte("xoxb-secret")) {
		t.Fatal("ciphertext holds the plaintext")
	}
	again, err := secrets.LoadOrCreateKeyring(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := again.Open(sealed, []byte("webhook/acme/wh_1/signing_secret"))
	if err != nil || string(got) != "xoxb-secret" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := again.Open(sealed, []byte("webhook/acme/wh_2/signing_secret")); err == nil {
		t.Fatal("a sealed value opened under another record's aad")
	}
	sealed.KeyID = "k9"
	if _, err := again.Open(sealed, nil); err == nil {
		t.Fatal("a sealed value opened with an unknown key id")
	}
}

func TestParseKeyringRejects(t *testing.T) {
	t.Parallel()
	for name, in := range map[string]string{
		"not json":        "{",
		"no keys":         `{"primary":"k1","keys":{}}`,
		"short key":       `{"primary":"k1","keys":{"k1":"AAAA"}}`,
		"missing primary": `{"primary":"k2","keys":{"k1":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}}`,
	} {
		if _, err := secrets.ParseKeyring([]byte(in)); err == nil {
			t.Errorf("%s: ParseKeyring accepted %s", name, in)
		}
	}
}
