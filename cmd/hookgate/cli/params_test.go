package cli

import (
	"strings"
	"testing"
)

func TestParseParamArg(t *testing.T) {
	tests := []struct {
		name, arg, stdin string
		wantName, want   string
		wantErr          string
	}{
		{"inline", "stripe_live=whsec_1", "", "stripe_live", "whsec_1", ""},
		{"value with =", "p=a=b", "", "p", "a=b", ""},
		{"stdin", "p=-", "whsec_2\n", "p", "whsec_2", ""},
		{"stdin with CRLF", "p=-", "whsec_3\r\n", "p", "whsec_3", ""},
		{"stdin keeps inner newlines", "p=-", "a\nb\n", "p", "a\nb", ""},
		{"no =", "whsec_secret", "", "", "", "NAME=VALUE"},
		{"no name", "=whsec_secret", "", "", "", "NAME=VALUE"},
		{"empty stdin", "p=-", "", "", "", "empty"},
		{"oversize stdin", "p=-", strings.Repeat("v", maxSecretInput+1), "", "", "over"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name, value, err := parseParamArg(tt.arg, strings.NewReader(tt.stdin))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "whsec_secret") {
					t.Fatalf("error %q shows the value", err)
				}
				return
			}
			if err != nil || name != tt.wantName || value != tt.want {
				t.Fatalf("got %q=%q, %v", name, value, err)
			}
		})
	}
}

func TestWebhookCommandsParseNewFlags(t *testing.T) {
	tests := []struct {
		args []string
		flag string
		want string
	}{
		{[]string{"create", "--require-key=false"}, "require-key", "false"},
		{[]string{"create"}, "require-key", "true"},
		{[]string{"update", "--require-key=false"}, "require-key", "false"},
		{[]string{"rotate-secret", "--name", "signing_secret", "--value", "-", "--grace", "1h"}, "grace", "1h0m0s"},
		{[]string{"rotate-secret"}, "grace", "24h0m0s"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			sub, rest, err := newWebhooksCommand().Find(tt.args)
			if err != nil {
				t.Fatal(err)
			}
			if err := sub.ParseFlags(rest); err != nil {
				t.Fatal(err)
			}
			if got := sub.Flags().Lookup(tt.flag).Value.String(); got != tt.want {
				t.Fatalf("--%s = %s, want %s", tt.flag, got, tt.want)
			}
		})
	}
	// rotate-secret refuses a missing --name before calling anything.
	rs, _, _ := newWebhooksCommand().Find([]string{"rotate-secret"})
	if err := rs.RunE(rs, []string{"wh_1"}); err == nil || !strings.Contains(err.Error(), "--name") {
		t.Fatalf("without --name: %v", err)
	}
}
