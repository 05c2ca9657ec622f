package verify_test

import (
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/dataplane/verify"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"google.golang.org/protobuf/types/known/durationpb"
)

// TestValidateCustom checks every CUSTOM_HMAC rule, naming the field.
func TestValidateCustom(t *testing.T) {
	t.Parallel()
	base := func(mod func(c *hookgatev1.CustomHmac)) *hookgatev1.CustomHmac {
		c := &hookgatev1.CustomHmac{Header: "X-Signature"}
		if mod != nil {
			mod(c)
		}
		return c
	}
	tests := []struct {
		name  string
		c     *hookgatev1.CustomHmac
		field string // "" when valid
	}{
		{"minimal", base(nil), ""},
		{"stripe-like", base(func(c *hookgatev1.CustomHmac) {
			c.Header, c.TimestampHeader, c.TimestampPrefix, c.Prefix, c.Separator = "Stripe-Signature", "stripe-signature", "t=", "v1=", ","
			c.Template = "{timestamp}.{body}"
		}), ""},
		{"standard-webhooks-like", base(func(c *hookgatev1.CustomHmac) {
			c.IdHeader, c.TimestampHeader, c.Template, c.Encoding, c.Prefix, c.Separator = "webhook-id", "webhook-timestamp", "{id}.{timestamp}.{body}", "base64", "v1,", " "
			c.Tolerance = durationpb.New(time.Minute)
		}), ""},
		{"every placeholder", base(func(c *hookgatev1.CustomHmac) {
			c.IdHeader, c.TimestampHeader, c.TimestampUnit, c.Algorithm, c.Encoding = "X-Id", "X-Ts", "rfc3339", "sha512", "base64url"
			c.Template = "{method} {url}\n{id}:{timestamp}:{header:X-Shop}:{body}}"
		}), ""},
		{"nil", nil, "custom_hmac"},
		{"no header", &hookgatev1.CustomHmac{}, "header"},
		{"header with colon", base(func(c *hookgatev1.CustomHmac) { c.Header = "X-Sig:" }), "header"},
		{"unknown algorithm", base(func(c *hookgatev1.CustomHmac) { c.Algorithm = "md5" }), "algorithm"},
		{"upper-case algorithm", base(func(c *hookgatev1.CustomHmac) { c.Algorithm = "SHA256" }), "algorithm"},
		{"unknown encoding", base(func(c *hookgatev1.CustomHmac) { c.Encoding = "base32" }), "encoding"},
		{"unknown placeholder", base(func(c *hookgatev1.CustomHmac) { c.Template = "{body}{nonce}" }), "template"},
		{"unclosed placeholder", base(func(c *hookgatev1.CustomHmac) { c.Template = "{body}{timestamp" }), "template"},
		{"no body", base(func(c *hookgatev1.CustomHmac) { c.Template = "{url}" }), "template"},
		{"two bodies", base(func(c *hookgatev1.CustomHmac) { c.Template = "{body}{body}" }), "template"},
		{"timestamp without header", base(func(c *hookgatev1.CustomHmac) { c.Template = "{timestamp}.{body}" }), "template"},
		{"id without header", base(func(c *hookgatev1.CustomHmac) { c.Template = "{id}.{body}" }), "template"},
		{"bad header placeholder", base(func(c *hookgatev1.CustomHmac) { c.Template = "{header:}{body}" }), "template"},
		{"template too long", base(func(c *hookgatev1.CustomHmac) { c.Template = strings.Repeat("x", 1025) + "{body}" }), "template"},
		{"too many parts", base(func(c *hookgatev1.CustomHmac) { c.Template = strings.Repeat("{url}.", 16) + "{body}" }), "template"},
		{"unsigned timestamp", base(func(c *hookgatev1.CustomHmac) { c.TimestampHeader = "X-Ts" }), "template"},
		{"unknown unit", base(func(c *hookgatev1.CustomHmac) {
			c.TimestampHeader, c.Template, c.TimestampUnit = "X-Ts", "{timestamp}{body}", "us"
		}), "timestamp_unit"},
		{"auto unit is internal", base(func(c *hookgatev1.CustomHmac) {
			c.TimestampHeader, c.Template, c.TimestampUnit = "X-Ts", "{timestamp}{body}", "auto"
		}), "timestamp_unit"},
		{"unit without timestamp", base(func(c *hookgatev1.CustomHmac) { c.TimestampUnit = "ms" }), "timestamp_unit"},
		{"tolerance without timestamp", base(func(c *hookgatev1.CustomHmac) { c.Tolerance = durationpb.New(time.Minute) }), "tolerance"},
		{"negative tolerance", base(func(c *hookgatev1.CustomHmac) {
			c.TimestampHeader, c.Template, c.Tolerance = "X-Ts", "{timestamp}{body}", durationpb.New(-time.Second)
		}), "tolerance"},
		{"tolerance over a day", base(func(c *hookgatev1.CustomHmac) {
			c.TimestampHeader, c.Template, c.Tolerance = "X-Ts", "{timestamp}{body}", durationpb.New(25*time.Hour)
		}), "tolerance"},
		{"bad timestamp header", base(func(c *hookgatev1.CustomHmac) { c.TimestampHeader, c.Template = "X Ts", "{timestamp}{body}" }), "timestamp_header"},
		{"timestamp in signature header without prefix", base(func(c *hookgatev1.CustomHmac) {
			c.TimestampHeader, c.Template, c.Separator = "x-signature", "{timestamp}{body}", ","
		}), "timestamp_header"},
		{"timestamp prefix without separator", base(func(c *hookgatev1.CustomHmac) {
			c.TimestampHeader, c.TimestampPrefix, c.Template = "X-Signature", "t=", "{timestamp}{body}"
		}), "timestamp_prefix"},
		{"timestamp prefix in another header", base(func(c *hookgatev1.CustomHmac) {
			c.TimestampHeader, c.TimestampPrefix, c.Template = "X-Ts", "t=", "{timestamp}{body}"
		}), ""},
		{"timestamp prefix without timestamp header", base(func(c *hookgatev1.CustomHmac) { c.TimestampPrefix = "t=" }), "timestamp_prefix"},
		{"timestamp prefix equals prefix", base(func(c *hookgatev1.CustomHmac) {
			c.TimestampHeader, c.TimestampPrefix, c.Prefix, c.Separator, c.Template = "X-Signature", "v1=", "v1=", ",", "{timestamp}{body}"
		}), "timestamp_prefix"},
		{"bad id header", base(func(c *hookgatev1.CustomHmac) { c.IdHeader, c.Template = "X\nId", "{id}{body}" }), "id_header"},
		{"alphanumeric separator", base(func(c *hookgatev1.CustomHmac) { c.Separator = "x" }), "separator"},
		{"base64 separator", base(func(c *hookgatev1.CustomHmac) { c.Separator = "=" }), "separator"},
		{"long separator", base(func(c *hookgatev1.CustomHmac) { c.Separator = ",,,,," }), "separator"},
		{"separator in prefix", base(func(c *hookgatev1.CustomHmac) { c.Separator, c.Prefix = ",", "v1," }), "separator"},
		{"prefix with newline", base(func(c *hookgatev1.CustomHmac) { c.Prefix = "v1\n" }), "prefix"},
		{"prefix with leading blank", base(func(c *hookgatev1.CustomHmac) { c.Prefix = " v1=" }), "prefix"},
		{"prefix too long", base(func(c *hookgatev1.CustomHmac) { c.Prefix = strings.Repeat("v", 65) }), "prefix"},
		{"timestamp prefix with tab", base(func(c *hookgatev1.CustomHmac) {
			c.TimestampHeader, c.TimestampPrefix, c.Separator, c.Template = "X-Signature", "\tt=", ",", "{timestamp}{body}"
		}), "timestamp_prefix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := verify.ValidateCustom(tt.c)
			_, cerr := verify.Custom(tt.c)
			if (err == nil) != (cerr == nil) {
				t.Fatalf("ValidateCustom %v but Custom %v", err, cerr)
			}
			if tt.field == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			var ce *verify.ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("want *ConfigError for %s, got %v", tt.field, err)
			}
			if ce.Field != tt.field {
				t.Fatalf("want field %s, got %v", tt.field, err)
			}
		})
	}
}

// TestCustomVerify signs with every placeholder, algorithm and encoding.
func TestCustomVerify(t *testing.T) {
	t.Parallel()
	now := time.UnixMilli(1_800_000_000_123)
	body := `{"a":1}`
	c := &hookgatev1.CustomHmac{
		Header: "X-Sig", Algorithm: "sha512", Encoding: "base64url", Prefix: "s=", Separator: ",",
		Template:        "{method} {url}|{id}|{timestamp}|{header:X-Shop}|{body}|end",
		TimestampHeader: "X-Ts", TimestampUnit: "ms", IdHeader: "X-Id", Tolerance: durationpb.New(30 * time.Second),
	}
	s, err := verify.Custom(c)
	if err != nil {
		t.Fatal(err)
	}
	url := "https://edge.example/in/acme/wh_1?key=x"
	sign := func(key string, ts time.Time) string {
		m := mac(sha512.New, []byte(key), "POST ", url, "|", "id-1", "|", strconv.FormatInt(ts.UnixMilli(), 10), "|", "shop-1", "|", body, "|end")
		return base64.RawURLEncoding.EncodeToString(m)
	}
	req := func(sig string, ts time.Time, mod ...string) *verify.Request {
		h := hmacHdr("X-Sig", sig, "X-Ts", strconv.FormatInt(ts.UnixMilli(), 10), "X-Id", "id-1", "X-Shop", "shop-1")
		for i := 0; i+1 < len(mod); i += 2 {
			if mod[i+1] == "" {
				h.Del(mod[i])
			} else {
				h.Set(mod[i], mod[i+1])
			}
		}
		return &verify.Request{Method: http.MethodPost, URL: url, Header: h, Body: []byte(body), Now: now}
	}
	sec := verify.Secrets{verify.CustomSecret: {"k1"}}
	tests := []struct {
		name string
		r    *verify.Request
		want verify.Reason
	}{
		{"valid", req("s="+sign("k1", now), now), ""},
		{"valid padded", req("s="+sign("k1", now)+"==", now), ""},
		{"valid second entry", req("s="+sign("k0", now)+", other=1 ,s="+sign("k1", now), now), ""},
		{"signed header changed", req("s="+sign("k1", now), now, "X-Shop", "shop-2"), verify.SignatureMismatch},
		{"id changed", req("s="+sign("k1", now), now, "X-Id", "id-2"), verify.SignatureMismatch},
		{"id missing", req("s="+sign("k1", now), now, "X-Id", ""), verify.SignatureMalformed},
		{"timestamp missing", req("s="+sign("k1", now), now, "X-Ts", ""), verify.TimestampMissing},
		{"timestamp malformed", req("s="+sign("k1", now), now, "X-Ts", "-1"), verify.TimestampMalformed},
		{"timestamp in seconds", req("s="+sign("k1", now), now, "X-Ts", strconv.FormatInt(now.Unix(), 10)), verify.TimestampOutsideTolerance},
		{"timestamp huge", req("s="+sign("k1", now), now, "X-Ts", "999999999999999999"), verify.TimestampOutsideTolerance},
		{"timestamp too long", req("s="+sign("k1", now), now, "X-Ts", "9999999999999999999"), verify.TimestampMalformed},
		{"stale", req("s="+sign("k1", now.Add(-31*time.Second)), now.Add(-31*time.Second)), verify.TimestampOutsideTolerance},
		{"future", req("s="+sign("k1", now.Add(31*time.Second)), now.Add(31*time.Second)), verify.TimestampOutsideTolerance},
		{"only other entries", req("v0=abc,x=1", now), verify.SignatureMalformed},
		{"wrong alphabet", req("s="+strings.NewReplacer("-", "+", "_", "/").Replace(sign("k1", now))+"+/", now), verify.SignatureMalformed},
		{"too many entries", req(strings.Repeat("x=1,", 40)+"s="+sign("k1", now), now), verify.SignatureMalformed},
		{"blank header", req("  ", now), verify.SignatureMissing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { hmacWantReason(t, s.Verify(tt.r, sec), tt.want) })
	}
	// The prefix-less, separator-less default: hex of the body only.
	d, err := verify.Custom(&hookgatev1.CustomHmac{Header: "X-Sig"})
	if err != nil {
		t.Fatal(err)
	}
	r := &verify.Request{Header: hmacHdr("X-Sig", strings.ToUpper(hexMAC("k1", body))), Body: []byte(body), Now: now}
	hmacWantReason(t, d.Verify(r, sec), "")
	r.Header = hmacHdr("X-Sig", "sha256="+hexMAC("k1", body))
	hmacWantReason(t, d.Verify(r, sec), verify.SignatureMalformed)
	r.Header = hmacHdr("X-Sig", hex.EncodeToString(mac(sha512.New, []byte("k1"), body)))
	hmacWantReason(t, d.Verify(r, sec), verify.SignatureMalformed)

	// A timestamp header of its own that carries the timestamp prefix.
	tp, err := verify.Custom(&hookgatev1.CustomHmac{Header: "X-Sig", TimestampHeader: "X-Ts", TimestampPrefix: "t=", Template: "{timestamp}.{body}"})
	if err != nil {
		t.Fatal(err)
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	r.Header = hmacHdr("X-Sig", hexMAC("k1", ts, ".", body), "X-Ts", "t="+ts)
	hmacWantReason(t, tp.Verify(r, sec), "")
	r.Header = hmacHdr("X-Sig", hexMAC("k1", ts, ".", body), "X-Ts", ts)
	hmacWantReason(t, tp.Verify(r, sec), verify.TimestampMalformed)
}
