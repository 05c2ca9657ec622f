package configsync_test

import (
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/dataplane/configsync"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
)

func validConfig() configsync.Config {
	return configsync.Config{
		ControlPlaneURL: "http://127.0.0.1:8070",
		NodeID:          "edge-1",
		Role:            hookgatev1.NodeRole_NODE_ROLE_EDGE,
		NodeToken:       "edge-token-1",
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		modify func(*configsync.Config)
		want   string // "" for valid
	}{
		{"loopback h2c", func(*configsync.Config) {}, ""},
		{"localhost h2c", func(c *configsync.Config) { c.ControlPlaneURL = "http://localhost:8070" }, ""},
		{"ipv6 loopback h2c", func(c *configsync.Config) { c.ControlPlaneURL = "http://[::1]:8070" }, ""},
		{"https with mTLS files", func(c *configsync.Config) {
			c.ControlPlaneURL = "https://cp.internal:8070"
			c.CAFile, c.CertFile, c.KeyFile = "ca.pem", "node.pem", "node-key.pem"
		}, ""},
		{"dispatcher", func(c *configsync.Config) { c.Role = hookgatev1.NodeRole_NODE_ROLE_DISPATCHER }, ""},
		{"plaintext allowed explicitly", func(c *configsync.Config) {
			c.ControlPlaneURL = "http://10.0.0.5:8070"
			c.AllowPlaintext = true
		}, ""},
		{"several replicas", func(c *configsync.Config) {
			c.ControlPlaneURLs = []string{"http://127.0.0.1:8071", "http://localhost:8072"}
		}, ""},
		{"replicas without ControlPlaneURL", func(c *configsync.Config) {
			c.ControlPlaneURL = ""
			c.ControlPlaneURLs = []string{"http://127.0.0.1:8071"}
		}, ""},
		{"an empty replica URL", func(c *configsync.Config) { c.ControlPlaneURLs = []string{""} }, "empty URL"},
		{"a remote plaintext replica", func(c *configsync.Config) { c.ControlPlaneURLs = []string{"http://10.0.0.5:8070"} }, "not on loopback"},
		{"replicas of mixed schemes", func(c *configsync.Config) { c.ControlPlaneURLs = []string{"https://cp.internal:8070"} }, "same scheme"},
		{"a replica without host", func(c *configsync.Config) { c.ControlPlaneURLs = []string{"https://"} }, "no host"},
		{"negative first-response timeout", func(c *configsync.Config) { c.FirstResponseTimeout = -time.Second }, "FirstResponseTimeout"},
		{"plaintext to a remote host", func(c *configsync.Config) { c.ControlPlaneURL = "http://10.0.0.5:8070" }, "not on loopback"},
		{"plaintext to a name", func(c *configsync.Config) { c.ControlPlaneURL = "http://cp.internal:8070" }, "not on loopback"},
		{"no URL", func(c *configsync.Config) { c.ControlPlaneURL = "" }, "ControlPlaneURL: required"},
		{"bad scheme", func(c *configsync.Config) { c.ControlPlaneURL = "ftp://127.0.0.1" }, "scheme"},
		{"no host", func(c *configsync.Config) { c.ControlPlaneURL = "http://" }, "no host"},
		{"TLS files over http", func(c *configsync.Config) { c.CAFile = "ca.pem" }, "need an https URL"},
		{"cert without key", func(c *configsync.Config) {
			c.ControlPlaneURL = "https://cp.internal:8070"
			c.CertFile = "node.pem"
		}, "CertFile and KeyFile"},
		{"client certificate, no token", func(c *configsync.Config) {
			c.ControlPlaneURL = "https://cp.internal:8070"
			c.CertFile, c.KeyFile, c.NodeToken = "node.pem", "node-key.pem", ""
		}, ""},
		{"no credential", func(c *configsync.Config) { c.NodeToken = "" }, "NodeToken or CertFile"},
		{"token with a line break", func(c *configsync.Config) { c.NodeToken = "a\nb" }, "NodeToken"},
		{"token with trailing space", func(c *configsync.Config) { c.NodeToken = "tok " }, "NodeToken"},
		{"empty node id", func(c *configsync.Config) { c.NodeID = "" }, "NodeID"},
		{"node id with a slash", func(c *configsync.Config) { c.NodeID = "edge/1" }, "NodeID"},
		{"no role", func(c *configsync.Config) { c.Role = hookgatev1.NodeRole_NODE_ROLE_UNSPECIFIED }, "Role"},
		{"backoff reversed", func(c *configsync.Config) {
			c.MinBackoff, c.MaxBackoff = time.Minute, time.Second
		}, "MinBackoff"},
		{"negative keepalive", func(c *configsync.Config) { c.KeepAlive = -time.Second }, "KeepAlive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := validConfig()
			tc.modify(&cfg)
			err := cfg.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Validate: %v; want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestNewChecksTLSFiles(t *testing.T) {
	cfg := validConfig()
	cfg.ControlPlaneURL = "https://cp.internal:8070"
	cfg.CAFile = t.TempDir() + "/missing.pem"
	if _, err := configsync.New(cfg, configsync.NewTable(), discard(), configsync.SystemClock{}); err == nil || !strings.Contains(err.Error(), "CAFile") {
		t.Fatalf("New with a missing CA file: %v; want an error naming CAFile", err)
	}
}
