package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ErrUnknownKey means a ciphertext names a key id the keyring lacks.
var ErrUnknownKey = errors.New("unknown keyring key id")

// Sealed is a value encrypted by a Keyring.
type Sealed struct {
	KeyID string
	Nonce []byte
	Data  []byte
}

// Keyring encrypts with its primary AES-256 key and decrypts with any of its
// keys, so the master key can be rotated without re-encrypting at once.
type Keyring struct {
	primary string
	aeads   map[string]cipher.AEAD
}

// keyringFile is the JSON form of a keyring on disk or in an environment
// variable: {"primary": "k1", "keys": {"k1": "<base64 32 bytes>"}}.
type keyringFile struct {
	Primary string            `json:"primary"`
	Keys    map[string]string `json:"keys"`
}

// ParseKeyring reads the JSON form of a keyring.
func ParseKeyring(data []byte) (*Keyring, error) {
	var f keyringFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("parse keyring: %w", err)
	}
	if len(f.Keys) == 0 {
		return nil, errors.New("parse keyring: no keys")
	}
	k := &Keyring{primary: f.Primary, aeads: make(map[string]cipher.AEAD, len(f.Keys))}
	for id, enc := range f.Keys {
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
		if err != nil || len(raw) != 32 {
			return nil, fmt.Errorf("parse keyring: key %q must be base64 of 32 bytes", id)
		}
		block, err := aes.NewCipher(raw)
		if err != nil {
			return nil, fmt.Errorf("parse keyring: key %q: %w", id, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("parse keyring: key %q: %w", id, err)
		}
		k.aeads[id] = aead
	}
	if _, ok := k.aeads[k.primary]; !ok {
		return nil, fmt.Errorf("parse keyring: primary key %q is not in keys", f.Primary)
	}
	return k, nil
}

// NewKeyringJSON returns the JSON form of a keyring with one fresh key.
func NewKeyringJSON() []byte {
	var raw [32]byte
	_, _ = rand.Read(raw[:])
	b, _ := json.MarshalIndent(keyringFile{
		Primary: "k1",
		Keys:    map[string]string{"k1": base64.StdEncoding.EncodeToString(raw[:])},
	}, "", "  ")
	return append(b, '\n')
}

// LoadOrCreateKeyring reads the keyring file at path, creating it with mode
// 0600 and one fresh key when it does not exist (hookgate dev).
func LoadOrCreateKeyring(path string) (*Keyring, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("create keyring %s: %w", path, err)
		}
		data = NewKeyringJSON()
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return nil, fmt.Errorf("create keyring %s: %w", path, err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("read keyring %s: %w", path, err)
	}
	k, err := ParseKeyring(data)
	if err != nil {
		return nil, fmt.Errorf("keyring %s: %w", path, err)
	}
	return k, nil
}

// KeyIDs lists the keyring's key ids in order.
func (k *Keyring) KeyIDs() []string {
	ids := make([]string, 0, len(k.aeads))
	for id := range k.aeads {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Seal encrypts plaintext with the primary key. aad binds the ciphertext to
// where it is stored, so a sealed value cannot be moved to another record.
func (k *Keyring) Seal(plaintext, aad []byte) Sealed {
	aead := k.aeads[k.primary]
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce)
	return Sealed{KeyID: k.primary, Nonce: nonce, Data: aead.Seal(nil, nonce, plaintext, aad)}
}

// Open decrypts a sealed value.
func (k *Keyring) Open(s Sealed, aad []byte) ([]byte, error) {
	aead, ok := k.aeads[s.KeyID]
	if !ok {
		return nil, fmt.Errorf("open sealed value: %w %q", ErrUnknownKey, s.KeyID)
	}
	if len(s.Nonce) != aead.NonceSize() {
		return nil, errors.New("open sealed value: bad nonce size")
	}
	out, err := aead.Open(nil, s.Nonce, s.Data, aad)
	if err != nil {
		return nil, fmt.Errorf("open sealed value with key %q: %w", s.KeyID, err)
	}
	return out, nil
}
