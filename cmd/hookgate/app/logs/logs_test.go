package logs_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/hookgate/hookgate/cmd/hookgate/app/logs"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

func records(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// TestZapReachesSlog: etcd's errors (a full disk, say) become structured
// records with the project's keys; what is below the level or known noise
// does not.
func TestZapReachesSlog(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	z := logs.Zap(log, "etcd", zapcore.WarnLevel, "known noise").With(zap.String("member", "m1"))
	z.Info("chatty start-up detail")
	z.Warn("known noise")
	z.Error("failed to write WAL", zap.Error(errors.New("no space left on device")), zap.Int("size", 42))
	got := records(t, &buf)
	if len(got) != 1 {
		t.Fatalf("records %v, want only the error", got)
	}
	r := got[0]
	for k, want := range map[string]any{"level": "ERROR", "msg": "failed to write WAL", "component": "etcd",
		"err": "no space left on device", "member": "m1", "size": float64(42)} {
		if r[k] != want {
			t.Fatalf("record %v: %s = %v, want %v", r, k, r[k], want)
		}
	}
}

func TestNATSLoggerReachesSlog(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	n := logs.NewNATS(log)
	n.Tracef("<<- [PUB secret.subject 5]")
	n.Errorf("JetStream failed to store a msg on stream '%s': %v", "HOOKGATE_INBOUND", "no space left on device")
	n.Warnf("slow consumer")
	got := records(t, &buf)
	if len(got) != 2 || got[0]["level"] != "ERROR" || got[1]["level"] != "WARN" {
		t.Fatalf("records %v, want an error then a warning", got)
	}
	if d, _ := got[0]["detail"].(string); !strings.Contains(d, "no space left on device") || got[0]["component"] != "nats" {
		t.Fatalf("error record %v", got[0])
	}
	if strings.Contains(buf.String(), "secret.subject") {
		t.Fatalf("a protocol trace reached the log: %s", buf.String())
	}
	if !strings.Contains(n.FirstError(), "HOOKGATE_INBOUND") {
		t.Fatalf("FirstError = %q", n.FirstError())
	}
}
