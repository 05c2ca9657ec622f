package dev

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/nats-io/nkeys"
)

// Files of the data folder besides etcd/ and nats/.
const (
	lockFile            = "lock"
	adminTokenFile      = "admin-token"
	keyringFile         = "keyring.json"
	edgeTokenFile       = "edge-token"
	dispatcherTokenFile = "dispatcher-token"
	// NATSUserFile holds the nkey seed of the embedded NATS's one user;
	// the CLI's events tail reads it.
	NATSUserFile = "nats-user.nk"
)

// prepareDataDir makes sure dir is a folder this process can write.
func prepareDataDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("flag --data-dir %q: %w", dir, err)
	}
	probe, err := os.CreateTemp(dir, ".probe-*")
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("flag --data-dir %q: not writable: %w", dir, err)
	}
	name := probe.Name()
	_ = probe.Close()
	return os.Remove(name)
}

// lockDataDir takes the folder's lock for this process, so a second
// hookgate dev on the same folder says who holds it instead of waiting
// forever in bbolt's own lock. The lock is released when the file is closed
// or the process dies.
func lockDataDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, lockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("data folder %s: %w", dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		data, _ := os.ReadFile(path)
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			if pid, perr := strconv.Atoi(strings.TrimSpace(string(data))); perr == nil {
				return nil, fmt.Errorf("data folder %s is in use by pid %d", dir, pid)
			}
			return nil, fmt.Errorf("data folder %s is in use by another process", dir)
		}
		return nil, fmt.Errorf("data folder %s: lock: %w", dir, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}

// nodeToken returns the token in path, creating the file (mode 0600) with
// a new one when it is missing.
func nodeToken(path string) (string, error) {
	return loadOrCreate(path, func() ([]byte, error) {
		var b [32]byte
		_, _ = rand.Read(b[:])
		return []byte("hgn_" + base64.RawURLEncoding.EncodeToString(b[:]) + "\n"), nil
	})
}

// natsUser returns the public nkey of the embedded NATS's user, creating
// its seed file (mode 0600) when it is missing.
func natsUser(path string) (string, error) {
	seed, err := loadOrCreate(path, func() ([]byte, error) {
		kp, err := nkeys.CreateUser()
		if err != nil {
			return nil, err
		}
		s, err := kp.Seed()
		if err != nil {
			return nil, err
		}
		return append(s, '\n'), nil
	})
	if err != nil {
		return "", err
	}
	kp, err := nkeys.FromSeed([]byte(seed))
	if err != nil {
		return "", fmt.Errorf("nats user %s: %w", path, err)
	}
	defer kp.Wipe()
	return kp.PublicKey()
}

// loadOrCreate reads a secret file, or creates it with make's content. The
// file is created exclusively, so two starts cannot write different ones.
func loadOrCreate(path string, make func() ([]byte, error)) (string, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if data, err = make(); err != nil {
			return "", fmt.Errorf("create %s: %w", path, err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return "", fmt.Errorf("create %s: %w", path, err)
		}
		_, err = f.Write(data)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return "", fmt.Errorf("write %s: %w", path, err)
		}
	} else if err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	v := strings.TrimSpace(string(data))
	if v == "" {
		return "", fmt.Errorf("%s is empty: delete it to have a new one made", path)
	}
	return v, nil
}
