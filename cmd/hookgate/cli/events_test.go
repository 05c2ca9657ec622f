package cli

import (
	"strings"
	"testing"
	"time"

	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestPrintable(t *testing.T) {
	tests := []struct {
		name, in string
		n        int
		want     string
	}{
		{"plain", `{"a":1}`, 10, `{"a":1}`},
		{"newlines and tabs", "a\nb\tc\r", 10, `a\nb\tc\r`},
		{"terminal escape", "\x1b[2Jgone", 20, `\x1b[2Jgone`},
		{"C1 control", "a\u009bb", 10, `a\u009bb`},
		{"line separator", "a\u2028b", 10, `a\u2028b`},
		{"invalid UTF-8", "a\xffb", 10, "a\uFFFDb"},
		{"cut", "abcdef", 3, "abc…"},
		{"multi-byte runes", "éééé", 2, "éé…"},
		{"exactly n", "abc", 3, "abc"},
		{"empty", "", 3, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := printable(tt.in, tt.n); got != tt.want {
				t.Fatalf("printable(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
			}
		})
	}
}

func TestEventLine(t *testing.T) {
	ev := &hookgatev1.InboundEvent{
		Id: "evt_1", WebhookId: "wh_1", ProcessId: "chat", Trigger: hookgatev1.Trigger_TRIGGER_RESUME_PROCESS,
		CorrelationKey: proto.String("+49\n151"), ReceiveTime: timestamppb.New(time.Date(2026, 3, 23, 15, 30, 0, 250e6, time.UTC)),
		ContentType: "application/json", BodySize: 5000, Body: []byte(`{"x":"` + strings.Repeat("y", 200)),
	}
	line := eventLine(ev)
	want := `2026-03-23T15:30:00.250Z  evt_1  wh_1  chat  resume  key=+49\n151  application/json  5000B  {"x":"yyyy`
	if !strings.HasPrefix(line, want) || !strings.HasSuffix(line, "…") || strings.Contains(line, "\n") {
		t.Fatalf("line %q, want it to start with %q and end cut", line, want)
	}
	line = eventLine(&hookgatev1.InboundEvent{Id: "evt_2", Trigger: hookgatev1.Trigger_TRIGGER_START_PROCESS})
	if line != "-  evt_2      start  -  -  0B  " {
		t.Fatalf("bare event line %q", line)
	}
}
