package distribute_test

import (
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/controlplane/distribute"
	"github.com/hookgate/hookgate/controlplane/secrets"
	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"
)

type clock struct{}

func (clock) Now() time.Time { return time.Unix(0, 0) }

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  distribute.Config
		want string // "" for valid
	}{
		{"defaults", distribute.Config{}, ""},
		{"all set", distribute.Config{ReplicaID: "cp-1", NodeToken: "t", LogSize: 10, StatusInterval: time.Second, LeaseTTL: 3 * time.Second, ResumeWait: time.Second, SendTimeout: time.Minute}, ""},
		{"negative log", distribute.Config{LogSize: -1}, "LogSize"},
		{"negative status interval", distribute.Config{StatusInterval: -time.Second}, "StatusInterval"},
		{"lease too short", distribute.Config{LeaseTTL: time.Second}, "LeaseTTL"},
		{"lease not whole seconds", distribute.Config{LeaseTTL: 2500 * time.Millisecond}, "whole seconds"},
		{"negative resume wait", distribute.Config{ResumeWait: -1}, "ResumeWait"},
		{"negative send timeout", distribute.Config{SendTimeout: -time.Second}, "SendTimeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Validate: %v; want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestNewNeedsItsDependencies(t *testing.T) {
	kr, err := secrets.ParseKeyring(secrets.NewKeyringJSON())
	if err != nil {
		t.Fatal(err)
	}
	// A client that never dials: New reads nothing from etcd.
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{"http://127.0.0.1:1"}, DialTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if _, err := distribute.New(distribute.Config{}, nil, kr, log, nil, clock{}); err == nil {
		t.Errorf("New without etcd succeeded")
	}
	if _, err := distribute.New(distribute.Config{}, cli, nil, log, nil, clock{}); err == nil {
		t.Errorf("New without keyring succeeded")
	}
	if _, err := distribute.New(distribute.Config{}, cli, kr, log, nil, nil); err == nil {
		t.Errorf("New without clock succeeded")
	}
	reg := prometheus.NewRegistry()
	if _, err := distribute.New(distribute.Config{}, cli, kr, log, reg, clock{}); err != nil {
		t.Fatalf("New: %v", err)
	}
	if _, err := distribute.New(distribute.Config{}, cli, kr, log, reg, clock{}); err == nil {
		t.Errorf("a second Distributor on the same registry succeeded")
	}
}
