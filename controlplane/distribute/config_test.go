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
		{"shared token", distribute.Config{NodeToken: "t"}, ""},
		{"per-role tokens", distribute.Config{EdgeToken: "e", DispatcherToken: "d"}, ""},
		{"edge token only", distribute.Config{EdgeToken: "e"}, ""},
		{"per-role and shared tokens", distribute.Config{EdgeToken: "e", DispatcherToken: "d", NodeToken: "n"}, ""},
		{"client certificates", distribute.Config{RequireClientCert: true}, ""},
		{"all set", distribute.Config{ReplicaID: "cp-1", NodeToken: "t", LogSize: 10, StatusInterval: time.Second, LeaseTTL: 3 * time.Second, ResumeWait: time.Second, SendTimeout: time.Minute, ReadyTimeout: time.Second}, ""},
		{"no credential", distribute.Config{}, "no node credential"},
		{"no credential, other fields set", distribute.Config{ReplicaID: "cp-1", LogSize: 10}, "no node credential"},
		{"tokens with required certificates", distribute.Config{RequireClientCert: true, NodeToken: "t"}, "not both"},
		{"edge token equals dispatcher token", distribute.Config{EdgeToken: "same", DispatcherToken: "same"}, "EdgeToken"},
		{"edge token equals shared token", distribute.Config{EdgeToken: "same", NodeToken: "same"}, "EdgeToken"},
		{"dispatcher token equals shared token", distribute.Config{DispatcherToken: "same", NodeToken: "same"}, "DispatcherToken"},
		{"token with white space", distribute.Config{DispatcherToken: " d"}, "DispatcherToken"},
		{"negative log", distribute.Config{NodeToken: "t", LogSize: -1}, "LogSize"},
		{"negative status interval", distribute.Config{NodeToken: "t", StatusInterval: -time.Second}, "StatusInterval"},
		{"lease too short", distribute.Config{NodeToken: "t", LeaseTTL: time.Second}, "LeaseTTL"},
		{"lease not whole seconds", distribute.Config{NodeToken: "t", LeaseTTL: 2500 * time.Millisecond}, "whole seconds"},
		{"negative resume wait", distribute.Config{NodeToken: "t", ResumeWait: -1}, "ResumeWait"},
		{"negative send timeout", distribute.Config{NodeToken: "t", SendTimeout: -time.Second}, "SendTimeout"},
		{"negative ready timeout", distribute.Config{NodeToken: "t", ReadyTimeout: -time.Second}, "ReadyTimeout"},
		{"stats interval", distribute.Config{NodeToken: "t", StatsInterval: time.Second}, ""},
		{"stats interval too short", distribute.Config{NodeToken: "t", StatsInterval: 500 * time.Millisecond}, "StatsInterval"},
		{"negative stats interval", distribute.Config{NodeToken: "t", StatsInterval: -time.Second}, "StatsInterval"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Validate: %v; want an error containing %q", err, tc.want)
			case err != nil && (strings.Contains(err.Error(), "same") || strings.Contains(err.Error(), `" d"`)):
				t.Fatalf("Validate: %v: the error shows a token", err)
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
	cfg := distribute.Config{NodeToken: "node-token"}
	if _, err := distribute.New(distribute.Config{}, cli, kr, log, nil, clock{}); err == nil || !strings.Contains(err.Error(), "no node credential") {
		t.Errorf("New without a node credential: %v; want it refused", err)
	}
	if _, err := distribute.New(cfg, nil, kr, log, nil, clock{}); err == nil {
		t.Errorf("New without etcd succeeded")
	}
	if _, err := distribute.New(cfg, cli, nil, log, nil, clock{}); err == nil {
		t.Errorf("New without keyring succeeded")
	}
	if _, err := distribute.New(cfg, cli, kr, log, nil, nil); err == nil {
		t.Errorf("New without clock succeeded")
	}
	reg := prometheus.NewRegistry()
	if _, err := distribute.New(cfg, cli, kr, log, reg, clock{}); err != nil {
		t.Fatalf("New: %v", err)
	}
	if _, err := distribute.New(cfg, cli, kr, log, reg, clock{}); err == nil {
		t.Errorf("a second Distributor on the same registry succeeded")
	}
}
