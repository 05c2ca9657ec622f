package configsync_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/dataplane/configsync"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func sum(s string) []byte { d := sha256.Sum256([]byte(s)); return d[:] }

// TestWebhookRoundTrip: the compact form gives back every field the edge
// uses, exactly (url excepted), and refuses what it cannot hold.
func TestWebhookRoundTrip(t *testing.T) {
	exp := timestamppb.New(time.Date(2026, 3, 23, 16, 0, 0, 123, time.UTC))
	full := &hookgatev1.EdgeWebhook{
		Tenant: "acme", Id: "wh_1", Active: true, Provider: hookgatev1.Provider_PROVIDER_CUSTOM_HMAC,
		Keys: []*hookgatev1.KeyDigest{{Sha256: sum("k1")}, {Sha256: sum("k0"), ExpireTime: exp}},
		Bindings: []*hookgatev1.Binding{
			{ProcessId: "orders", ThreadId: "main", Trigger: hookgatev1.Trigger_TRIGGER_START_PROCESS},
			{ProcessId: "billing", Trigger: hookgatev1.Trigger_TRIGGER_RESUME_PROCESS, CorrelationPath: "data.id"},
		},
		MaxBodyBytes: 4096, RateLimit: &hookgatev1.RateLimit{RequestsPerSecond: 5, Burst: 10}, RawBody: true,
		ProviderSecrets: map[string]string{"secret": "s1", "other": "o1"},
		CustomHmac:      &hookgatev1.CustomHmac{Header: "X-Sig"},
		RequireKey:      proto.Bool(false),
		PreviousProviderSecrets: map[string]*hookgatev1.PreviousSecret{
			"secret": {Value: "s0", ExpireTime: exp},
			"gone":   {Value: "g0", ExpireTime: exp}, // a previous value without a current one
		},
	}
	tests := []struct {
		name    string
		in      *hookgatev1.EdgeWebhook
		want    *hookgatev1.EdgeWebhook // nil: in without url
		wantErr string
	}{
		{name: "every field", in: full},
		{name: "minimal", in: &hookgatev1.EdgeWebhook{Tenant: "acme", Id: "wh_2", RequireKey: proto.Bool(true)}},
		{
			name: "url is dropped, require_key unset reads true",
			in:   &hookgatev1.EdgeWebhook{Tenant: "acme", Id: "wh_3", Url: "https://hooks.example/in/acme/wh_3"},
			want: &hookgatev1.EdgeWebhook{Tenant: "acme", Id: "wh_3", RequireKey: proto.Bool(true)},
		},
		{
			name: "an expiry at the epoch stays in the past",
			in:   &hookgatev1.EdgeWebhook{Tenant: "acme", Id: "wh_4", Keys: []*hookgatev1.KeyDigest{{Sha256: sum("k"), ExpireTime: &timestamppb.Timestamp{}}}},
			want: &hookgatev1.EdgeWebhook{Tenant: "acme", Id: "wh_4", RequireKey: proto.Bool(true),
				Keys: []*hookgatev1.KeyDigest{{Sha256: sum("k"), ExpireTime: timestamppb.New(time.Unix(0, 1))}}},
		},
		{name: "short digest", in: &hookgatev1.EdgeWebhook{Tenant: "acme", Id: "wh_5", Keys: []*hookgatev1.KeyDigest{{Sha256: []byte("short")}}}, wantErr: "digest of 5 bytes"},
		{name: "empty digest", in: &hookgatev1.EdgeWebhook{Tenant: "acme", Id: "wh_6", Keys: []*hookgatev1.KeyDigest{{}}}, wantErr: "digest of 0 bytes"},
		{name: "binding not UTF-8", in: &hookgatev1.EdgeWebhook{Tenant: "acme", Id: "wh_7", Bindings: []*hookgatev1.Binding{{ProcessId: "\xff"}}}, wantErr: "encode bindings"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := configsync.NewWebhook(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("NewWebhook: %v, want an error with %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), string(sum("k"))) {
					t.Fatalf("error carries a digest: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			if want == nil {
				want = proto.Clone(tt.in).(*hookgatev1.EdgeWebhook)
				want.Url = ""
			}
			if got := w.Proto(); !proto.Equal(got, want) {
				t.Errorf("Proto() =\n%v\nwant\n%v", got, want)
			}
			if w.GetTenant() != want.GetTenant() || w.GetId() != want.GetId() || w.GetActive() != want.GetActive() ||
				w.GetMaxBodyBytes() != want.GetMaxBodyBytes() || w.GetRawBody() != want.GetRawBody() || w.GetRequireKey() != want.GetRequireKey() {
				t.Errorf("getters disagree with Proto(): %v", want)
			}
		})
	}
}

// TestWebhookKeysExpire: a rotated key stops at its expiry, to the
// nanosecond; the current key never does.
func TestWebhookKeysExpire(t *testing.T) {
	at := time.Date(2026, 3, 23, 16, 0, 0, 500, time.UTC)
	w, err := configsync.NewWebhook(&hookgatev1.EdgeWebhook{Tenant: "acme", Id: "wh_1",
		Keys: []*hookgatev1.KeyDigest{{Sha256: sum("k1")}, {Sha256: sum("k0"), ExpireTime: timestamppb.New(at)}}})
	if err != nil {
		t.Fatal(err)
	}
	keys := w.Keys()
	tests := []struct {
		name string
		key  int
		now  time.Time
		want bool
	}{
		{"current, far future", 0, at.Add(100 * 365 * 24 * time.Hour), false},
		{"previous, before", 1, at.Add(-time.Nanosecond), false},
		{"previous, at expiry", 1, at, true},
		{"previous, after", 1, at.Add(time.Hour), true},
	}
	for _, tt := range tests {
		if got := keys[tt.key].Expired(tt.now); got != tt.want {
			t.Errorf("%s: Expired = %v, want %v", tt.name, got, tt.want)
		}
	}
	if string(keys[0].SHA256[:]) != string(sum("k1")) || string(keys[1].SHA256[:]) != string(sum("k0")) {
		t.Errorf("digests out of order or changed")
	}
	var nilHook *configsync.Webhook
	if nilHook.GetActive() || nilHook.Keys() != nil || nilHook.Proto() != nil || nilHook.GetTenant() != "" {
		t.Errorf("a nil Webhook is not empty")
	}
}

// TestWebhookCarriesEveryField fails when EdgeWebhook gains a field the
// compact form does not hold: add it to Webhook (inline when calls read it,
// else to the shared encoding in compactor.encode) and to this list.
func TestWebhookCarriesEveryField(t *testing.T) {
	carried := map[protoreflect.Name]bool{
		"tenant": true, "id": true, "active": true, "provider": true, "keys": true, "bindings": true,
		"max_body_bytes": true, "rate_limit": true, "raw_body": true, "provider_secrets": true,
		"custom_hmac": true, "require_key": true, "previous_provider_secrets": true,
		"url": true, // dropped on purpose: the edge never reads it
	}
	fields := (&hookgatev1.EdgeWebhook{}).ProtoReflect().Descriptor().Fields()
	for i := range fields.Len() {
		if name := fields.Get(i).Name(); !carried[name] {
			t.Errorf("EdgeWebhook.%s is not carried by configsync.Webhook", name)
		}
	}
}

// TestTableRefusesUnusableWebhooks: a webhook the compact form cannot hold
// is NACKed with its key, and the table keeps what it had.
func TestTableRefusesUnusableWebhooks(t *testing.T) {
	tb := configsync.NewTable()
	mustApply(t, tb, snapshot(1, res("acme", "wh_1", 1)))
	bad := res("acme", "wh_2", 2)
	bad.GetWebhook().Keys = []*hookgatev1.KeyDigest{{Sha256: []byte("not a digest")}}
	for _, u := range []*hookgatev1.StreamConfigResponse{snapshot(2, bad), delta(2, nil, bad)} {
		_, err := tb.Apply(u)
		if err == nil || !strings.Contains(err.Error(), `"webhook/acme/wh_2"`) || strings.Contains(err.Error(), "not a digest") {
			t.Errorf("Apply(snapshot %v): %v, want a refusal naming the key and not the digest", u.GetSnapshot(), err)
		}
	}
	if s := tb.Snapshot(); s.Revision != 1 || s.Len() != 1 {
		t.Errorf("table at %d with %d webhooks after refusals, want 1 and 1", s.Revision, s.Len())
	}
}

// TestSharedKeyIsTheMessageEncoding: the bindings' fast encoding is the
// deterministic protobuf encoding, so Proto decodes it and equal bindings
// share one key whichever path encoded them.
func TestSharedKeyIsTheMessageEncoding(t *testing.T) {
	tests := []struct {
		name     string
		bindings []*hookgatev1.Binding
		rate     *hookgatev1.RateLimit
	}{
		{name: "none"},
		{name: "one start", bindings: []*hookgatev1.Binding{{ProcessId: "orders", ThreadId: "main", Trigger: hookgatev1.Trigger_TRIGGER_START_PROCESS}}},
		{name: "defaults left out", bindings: []*hookgatev1.Binding{{}}},
		{name: "resume with a path and unicode", bindings: []*hookgatev1.Binding{
			{ProcessId: "ordres-é", Trigger: hookgatev1.Trigger_TRIGGER_RESUME_PROCESS, CorrelationPath: "entry[0].changes[0].value"},
			{ProcessId: strings.Repeat("p", 300), ThreadId: "t"},
		}},
		{name: "negative trigger", bindings: []*hookgatev1.Binding{{ProcessId: "x", Trigger: -1}}},
		{name: "with a rate limit (slow path)", bindings: []*hookgatev1.Binding{{ProcessId: "orders"}}, rate: &hookgatev1.RateLimit{RequestsPerSecond: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := configsync.NewWebhook(&hookgatev1.EdgeWebhook{Tenant: "acme", Id: "wh_1", Bindings: tt.bindings, RateLimit: tt.rate})
			if err != nil {
				t.Fatal(err)
			}
			want, err := proto.MarshalOptions{Deterministic: true}.Marshal(&hookgatev1.EdgeWebhook{Bindings: tt.bindings, RateLimit: tt.rate})
			if err != nil {
				t.Fatal(err)
			}
			if w.SharedKey() != string(want) {
				t.Errorf("SharedKey = %x, want %x", w.SharedKey(), want)
			}
			if got := w.Proto(); len(got.GetBindings()) != len(tt.bindings) || (len(tt.bindings) > 0 && !proto.Equal(got.GetBindings()[0], tt.bindings[0])) {
				t.Errorf("Proto() bindings = %v, want %v", got.GetBindings(), tt.bindings)
			}
		})
	}
	// A Binding field the fast encoding does not know would be lost.
	if n := (&hookgatev1.Binding{}).ProtoReflect().Descriptor().Fields().Len(); n != 4 {
		t.Errorf("Binding has %d fields; appendBindings encodes 4", n)
	}
}

// TestWebhookPrintsNoSecret: however a Webhook or its key digests are
// printed or logged, no secret or digest shows.
func TestWebhookPrintsNoSecret(t *testing.T) {
	w, err := configsync.NewWebhook(&hookgatev1.EdgeWebhook{Tenant: "acme", Id: "wh_1", Provider: hookgatev1.Provider_PROVIDER_SLACK,
		Keys:                    []*hookgatev1.KeyDigest{{Sha256: sum("k1")}},
		ProviderSecrets:         map[string]string{"signing_secret": "s3cr3t-value"},
		PreviousProviderSecrets: map[string]*hookgatev1.PreviousSecret{"signing_secret": {Value: "0ld-value", ExpireTime: timestamppb.Now()}}})
	if err != nil {
		t.Fatal(err)
	}
	var logged strings.Builder
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("x", "webhook", w, "key", w.Keys()[0])
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		for _, v := range []any{w, w.Keys()[0], w.Keys()} {
			out := fmt.Sprintf(verb, v) + logged.String()
			if strings.Contains(out, "s3cr3t") || strings.Contains(out, "0ld-value") ||
				strings.Contains(out, hex.EncodeToString(sum("k1"))) || strings.Contains(out, string(sum("k1"))) {
				t.Errorf("%s of %T shows a secret or digest: %s", verb, v, out)
			}
		}
	}
	if !strings.Contains(fmt.Sprint(w), "acme/wh_1") {
		t.Errorf("String does not name the webhook: %s", w)
	}
}
