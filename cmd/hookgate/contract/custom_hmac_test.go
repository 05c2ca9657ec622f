package contract

import (
	"errors"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/hookgate/hookgate/controlplane/admin"
	"github.com/hookgate/hookgate/dataplane/verify"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

// hmacRow is one CUSTOM_HMAC configuration: what the control plane answers
// (cp, the field it names, "" when it accepts) and whether the edge
// compiles it as given (edge). Rows where the edge is true and cp is not
// are the control plane's stricter rules, which are allowed; the reverse
// is the bug this file exists to prevent.
type hmacRow struct {
	name string
	c    *hookgatev1.CustomHmac
	cp   string
	edge bool
}

// sig is a configuration over the header X-Signature; mod changes it.
func sig(mod func(c *hookgatev1.CustomHmac)) *hookgatev1.CustomHmac {
	c := &hookgatev1.CustomHmac{Header: "X-Signature"}
	if mod != nil {
		mod(c)
	}
	return c
}

// withTS is sig with a timestamp header whose value is signed.
func withTS(mod func(c *hookgatev1.CustomHmac)) *hookgatev1.CustomHmac {
	return sig(func(c *hookgatev1.CustomHmac) {
		c.TimestampHeader, c.Template = "X-Timestamp", "{timestamp}.{body}"
		if mod != nil {
			mod(c)
		}
	})
}

// stripeLike carries the timestamp in the signature header, Stripe's
// "t=…,v1=…".
func stripeLike(mod func(c *hookgatev1.CustomHmac)) *hookgatev1.CustomHmac {
	c := &hookgatev1.CustomHmac{Header: "Stripe-Signature", TimestampHeader: "Stripe-Signature", TimestampPrefix: "t=",
		Prefix: "v1=", Separator: ",", Template: "{timestamp}.{body}"}
	if mod != nil {
		mod(c)
	}
	return c
}

func parts(n int) string {
	// "{url}." is two parts; "{body}" one more.
	return strings.Repeat("{url}.", n/2) + "{body}"
}

var hmacRows = []hmacRow{
	// Accepted by both: the HMAC presets a template can express, and the
	// bounds themselves.
	{"minimal", sig(nil), "", true},
	{"github-like", sig(func(c *hookgatev1.CustomHmac) { c.Header, c.Prefix = "X-Hub-Signature-256", "sha256=" }), "", true},
	{"shopify-like", sig(func(c *hookgatev1.CustomHmac) { c.Header, c.Encoding = "X-Shopify-Hmac-Sha256", "base64" }), "", true},
	{"stripe-like", stripeLike(nil), "", true},
	{"stripe-like, timestamp header in other case", stripeLike(func(c *hookgatev1.CustomHmac) { c.TimestampHeader = "stripe-signature" }), "", true},
	{"slack-like", sig(func(c *hookgatev1.CustomHmac) {
		c.Header, c.Prefix, c.TimestampHeader, c.Template = "X-Slack-Signature", "v0=", "X-Slack-Request-Timestamp", "v0:{timestamp}:{body}"
	}), "", true},
	{"standard-webhooks-like", sig(func(c *hookgatev1.CustomHmac) {
		c.Header, c.Encoding, c.Prefix, c.Separator = "webhook-signature", "base64", "v1,", " "
		c.IdHeader, c.TimestampHeader, c.Template = "webhook-id", "webhook-timestamp", "{id}.{timestamp}.{body}"
	}), "", true},
	{"paddle-like", stripeLike(func(c *hookgatev1.CustomHmac) {
		c.Header, c.TimestampHeader, c.TimestampPrefix, c.Prefix, c.Separator, c.Template = "Paddle-Signature", "Paddle-Signature", "ts=", "h1=", ";", "{timestamp}:{body}"
		c.Tolerance = durationpb.New(5 * time.Second)
	}), "", true},
	{"zoom-like", sig(func(c *hookgatev1.CustomHmac) {
		c.Header, c.Prefix, c.TimestampHeader, c.Template = "x-zm-signature", "v0=", "x-zm-request-timestamp", "v0:{timestamp}:{body}"
	}), "", true},
	{"calendly-like", stripeLike(func(c *hookgatev1.CustomHmac) {
		c.Header, c.TimestampHeader = "Calendly-Webhook-Signature", "calendly-webhook-signature"
	}), "", true},
	{"twitch-like", sig(func(c *hookgatev1.CustomHmac) {
		c.Header, c.Prefix, c.IdHeader = "Twitch-Eventsub-Message-Signature", "sha256=", "Twitch-Eventsub-Message-Id"
		c.TimestampHeader, c.TimestampUnit, c.Template = "Twitch-Eventsub-Message-Timestamp", "rfc3339", "{id}{timestamp}{body}"
		c.Tolerance = durationpb.New(10 * time.Minute)
	}), "", true},
	{"sha512 base64url over method and url", sig(func(c *hookgatev1.CustomHmac) {
		c.Algorithm, c.Encoding, c.Template = "sha512", "base64url", "{method} {url}\n{body}"
	}), "", true},
	{"sha1 with a header placeholder", sig(func(c *hookgatev1.CustomHmac) { c.Algorithm, c.Template = "sha1", "{header:X-Shop-Domain}.{body}" }), "", true},
	{"ms and a tolerance of 1 h", withTS(func(c *hookgatev1.CustomHmac) { c.TimestampUnit, c.Tolerance = "ms", durationpb.New(time.Hour) }), "", true},
	{"timestamp prefix on a header of its own", withTS(func(c *hookgatev1.CustomHmac) { c.TimestampPrefix = "t=" }), "", true},
	{"separator of 4 characters", sig(func(c *hookgatev1.CustomHmac) { c.Prefix, c.Separator = "v1=", " ;; " }), "", true},
	{"32 parts", sig(func(c *hookgatev1.CustomHmac) { c.Template = parts(30) + "x" }), "", true},
	{"template of 1024 bytes", sig(func(c *hookgatev1.CustomHmac) { c.Template = strings.Repeat("x", 1018) + "{body}" }), "", true},
	{"prefix of 32 characters", sig(func(c *hookgatev1.CustomHmac) { c.Prefix = strings.Repeat("p", 32) }), "", true},
	{"prefix with an inner blank", sig(func(c *hookgatev1.CustomHmac) { c.Prefix = "v1 =" }), "", true},

	// Refused by both.
	{"nil", nil, "custom_hmac", false},
	{"no header", &hookgatev1.CustomHmac{}, "header", false},
	{"header with a blank", sig(func(c *hookgatev1.CustomHmac) { c.Header = "X Signature" }), "header", false},
	{"header of 129 characters", sig(func(c *hookgatev1.CustomHmac) { c.Header = strings.Repeat("h", 129) }), "header", false},
	{"md5", sig(func(c *hookgatev1.CustomHmac) { c.Algorithm = "md5" }), "algorithm", false},
	{"upper-case algorithm", sig(func(c *hookgatev1.CustomHmac) { c.Algorithm = "SHA256" }), "algorithm", false},
	{"base32", sig(func(c *hookgatev1.CustomHmac) { c.Encoding = "base32" }), "encoding", false},
	{"unknown placeholder", sig(func(c *hookgatev1.CustomHmac) { c.Template = "{nonce}{body}" }), "template", false},
	{"unclosed placeholder", sig(func(c *hookgatev1.CustomHmac) { c.Template = "{body}{url" }), "template", false},
	{"brace inside a placeholder", sig(func(c *hookgatev1.CustomHmac) { c.Template = "{bo{body}" }), "template", false},
	{"no body", sig(func(c *hookgatev1.CustomHmac) { c.Template = "{url}" }), "template", false},
	{"{timestamp} without timestamp header", sig(func(c *hookgatev1.CustomHmac) { c.Template = "{timestamp}.{body}" }), "template", false},
	{"{id} without id header", sig(func(c *hookgatev1.CustomHmac) { c.Template = "{id}.{body}" }), "template", false},
	{"empty header placeholder", sig(func(c *hookgatev1.CustomHmac) { c.Template = "{header:}{body}" }), "template", false},
	{"template of 1025 bytes", sig(func(c *hookgatev1.CustomHmac) { c.Template = strings.Repeat("x", 1019) + "{body}" }), "template", false},
	{"unit us", withTS(func(c *hookgatev1.CustomHmac) { c.TimestampUnit = "us" }), "timestamp_unit", false},
	{"unit auto (presets only)", withTS(func(c *hookgatev1.CustomHmac) { c.TimestampUnit = "auto" }), "timestamp_unit", false},
	{"unit without timestamp header", sig(func(c *hookgatev1.CustomHmac) { c.TimestampUnit = "s" }), "timestamp_unit", false},
	{"tolerance without timestamp header", sig(func(c *hookgatev1.CustomHmac) { c.Tolerance = durationpb.New(time.Minute) }), "tolerance", false},
	{"negative tolerance", withTS(func(c *hookgatev1.CustomHmac) { c.Tolerance = durationpb.New(-time.Second) }), "tolerance", false},
	{"tolerance of 25 h", withTS(func(c *hookgatev1.CustomHmac) { c.Tolerance = durationpb.New(25 * time.Hour) }), "tolerance", false},
	{"timestamp prefix without timestamp header", sig(func(c *hookgatev1.CustomHmac) { c.TimestampPrefix = "t=" }), "timestamp_prefix", false},
	{"bad timestamp header", withTS(func(c *hookgatev1.CustomHmac) { c.TimestampHeader = "X:Ts" }), "timestamp_header", false},
	{"bad id header", sig(func(c *hookgatev1.CustomHmac) { c.IdHeader = "X Id" }), "id_header", false},
	{"timestamp in signature header without timestamp prefix", stripeLike(func(c *hookgatev1.CustomHmac) { c.TimestampPrefix = "" }), "timestamp_prefix", false},
	{"separator with a newline", sig(func(c *hookgatev1.CustomHmac) { c.Separator = "\n" }), "separator", false},
	{"prefix with a control character", sig(func(c *hookgatev1.CustomHmac) { c.Prefix = "v1\x01" }), "prefix", false},
	{"prefix of 65 characters", sig(func(c *hookgatev1.CustomHmac) { c.Prefix = strings.Repeat("p", 65) }), "prefix", false},

	// Refused by both since the control plane learnt the edge's rules
	// (each of these was accepted at registration and then answered 401
	// on every call).
	{"{body} twice", sig(func(c *hookgatev1.CustomHmac) { c.Template = "{body}.{body}" }), "template", false},
	{"33 parts", sig(func(c *hookgatev1.CustomHmac) { c.Template = parts(32) }), "template", false},
	{"timestamp header without {timestamp}", sig(func(c *hookgatev1.CustomHmac) { c.TimestampHeader = "X-Timestamp" }), "template", false},
	{"timestamp header without {timestamp}, template defaulted", sig(func(c *hookgatev1.CustomHmac) { c.TimestampHeader, c.Template = "X-Timestamp", "" }), "template", false},
	{"alphanumeric separator", sig(func(c *hookgatev1.CustomHmac) { c.Separator = "x" }), "separator", false},
	{"digit separator", sig(func(c *hookgatev1.CustomHmac) { c.Separator = "1" }), "separator", false},
	{"separator +", sig(func(c *hookgatev1.CustomHmac) { c.Separator = "+" }), "separator", false},
	{"separator /", sig(func(c *hookgatev1.CustomHmac) { c.Separator = "/" }), "separator", false},
	{"separator -", sig(func(c *hookgatev1.CustomHmac) { c.Separator = "-" }), "separator", false},
	{"separator _", sig(func(c *hookgatev1.CustomHmac) { c.Separator = "_" }), "separator", false},
	{"separator =", sig(func(c *hookgatev1.CustomHmac) { c.Separator = "=" }), "separator", false},
	{"separator with a base64 character inside", sig(func(c *hookgatev1.CustomHmac) { c.Separator = ";=" }), "separator", false},
	{"separator of 5 characters", sig(func(c *hookgatev1.CustomHmac) { c.Separator = " ; ; " }), "separator", false},
	{"separator inside the prefix", sig(func(c *hookgatev1.CustomHmac) { c.Prefix, c.Separator = "v1,", "," }), "separator", false},
	{"separator inside the timestamp prefix", withTS(func(c *hookgatev1.CustomHmac) { c.TimestampPrefix, c.Separator = "t:", ":" }), "separator", false},
	{"prefix starting with a blank", sig(func(c *hookgatev1.CustomHmac) { c.Prefix = " v1=" }), "prefix", false},
	{"timestamp prefix starting with a blank", withTS(func(c *hookgatev1.CustomHmac) { c.TimestampPrefix = " t=" }), "timestamp_prefix", false},
	{"timestamp in signature header (other case) without timestamp prefix", stripeLike(func(c *hookgatev1.CustomHmac) {
		c.TimestampHeader, c.TimestampPrefix = "stripe-signature", ""
	}), "timestamp_prefix", false},
	{"timestamp in signature header (other case) without separator", stripeLike(func(c *hookgatev1.CustomHmac) {
		c.TimestampHeader, c.Separator = "STRIPE-SIGNATURE", ""
	}), "timestamp_prefix", false},
	{"timestamp in signature header without prefix", stripeLike(func(c *hookgatev1.CustomHmac) { c.Prefix = "" }), "prefix", false},
	{"prefix starts the timestamp prefix", stripeLike(func(c *hookgatev1.CustomHmac) { c.Prefix, c.TimestampPrefix = "v", "v1=" }), "timestamp_prefix", false},
	{"timestamp prefix starts the prefix", stripeLike(func(c *hookgatev1.CustomHmac) { c.Prefix, c.TimestampPrefix = "t=1", "t=" }), "timestamp_prefix", false},
	{"prefix equals the timestamp prefix", stripeLike(func(c *hookgatev1.CustomHmac) { c.Prefix = "t=" }), "timestamp_prefix", false},

	// The control plane's stricter rules: the edge compiles these, the
	// control plane refuses them, which is allowed.
	{"lone closing brace", sig(func(c *hookgatev1.CustomHmac) { c.Template = "{body}}" }), "template", true},
	{"template not UTF-8", sig(func(c *hookgatev1.CustomHmac) { c.Template = "\xff{body}" }), "template", true},
	{"prefix of 33 characters", sig(func(c *hookgatev1.CustomHmac) { c.Prefix = strings.Repeat("p", 33) }), "prefix", true},
	{"prefix not ASCII", sig(func(c *hookgatev1.CustomHmac) { c.Prefix = "é=" }), "prefix", true},
	{"tolerance of 2 h", withTS(func(c *hookgatev1.CustomHmac) { c.Tolerance = durationpb.New(2 * time.Hour) }), "tolerance", true},
	{"tolerance 0", withTS(func(c *hookgatev1.CustomHmac) { c.Tolerance = durationpb.New(0) }), "tolerance", true},
	{"tolerance 0 without timestamp header", sig(func(c *hookgatev1.CustomHmac) { c.Tolerance = durationpb.New(0) }), "tolerance", true},
	{"tolerance not a valid duration", withTS(func(c *hookgatev1.CustomHmac) { c.Tolerance = &durationpb.Duration{Seconds: 60, Nanos: -1} }), "tolerance", true},
}

// TestCustomHmacAgreement: everything the control plane accepts, the edge
// compiles, as given and with the defaults the control plane stores; each
// row's answers are also pinned, so a rule that moves on either side shows.
func TestCustomHmacAgreement(t *testing.T) {
	var both []string
	for _, tt := range hmacRows {
		t.Run(tt.name, func(t *testing.T) {
			cpErr := checkCustomHmac(t, tt.c)
			edgeErr := verify.ValidateCustom(tt.c)
			if (edgeErr == nil) != tt.edge {
				t.Errorf("edge: %v, want accepted %v", edgeErr, tt.edge)
			}
			if tt.cp == "" {
				if cpErr != nil {
					t.Fatalf("control plane refuses: %v", cpErr)
				}
				return
			}
			var ce *connect.Error
			if !errors.As(cpErr, &ce) || ce.Code() != connect.CodeInvalidArgument {
				t.Fatalf("control plane: %v, want InvalidArgument", cpErr)
			}
			want := "webhook.custom_hmac." + tt.cp + ":"
			if tt.cp == "custom_hmac" {
				want = "webhook.custom_hmac:"
			}
			if !strings.HasPrefix(ce.Message(), want) {
				t.Errorf("control plane: %q, want it to name %s", ce.Message(), want)
			}
		})
		if tt.cp == "" {
			both = append(both, tt.name)
		}
	}
	if len(both) < 15 {
		t.Errorf("only %d configurations accepted by both planes", len(both))
	}
	t.Logf("accepted by both planes: %s", strings.Join(both, "; "))
}

// checkCustomHmac runs the control plane's validation on a copy of c and
// fails t when it accepts something the edge refuses, as given or as the
// control plane stores it (its defaults filled in). It returns the control
// plane's answer.
func checkCustomHmac(t *testing.T, c *hookgatev1.CustomHmac) error {
	t.Helper()
	var stored *hookgatev1.CustomHmac
	if c != nil {
		stored = proto.Clone(c).(*hookgatev1.CustomHmac)
	}
	cpErr := admin.ValidateCustomHmac(stored)
	if cpErr != nil {
		var ce *connect.Error
		if !errors.As(cpErr, &ce) || ce.Code() != connect.CodeInvalidArgument || !strings.HasPrefix(ce.Message(), "webhook.custom_hmac") {
			t.Fatalf("control plane refusal %v: want InvalidArgument naming webhook.custom_hmac…", cpErr)
		}
		return cpErr
	}
	if err := verify.ValidateCustom(c); err != nil {
		t.Fatalf("control plane accepts %v, the edge refuses it: %v", c, err)
	}
	if err := verify.ValidateCustom(stored); err != nil {
		t.Fatalf("control plane accepts %v and stores %v, which the edge refuses: %v", c, stored, err)
	}
	return nil
}

// FuzzCustomHmacAgreement: over every string field (and the tolerance),
// the control plane accepts a configuration only if the edge compiles it.
// The seed corpus is hmacRows.
func FuzzCustomHmacAgreement(f *testing.F) {
	for _, tt := range hmacRows {
		c := tt.c
		if c == nil {
			continue
		}
		f.Add(c.Header, c.Algorithm, c.Encoding, c.Prefix, c.Template, c.TimestampHeader, c.TimestampPrefix,
			c.TimestampUnit, c.IdHeader, c.Separator, c.Tolerance != nil, c.Tolerance.GetSeconds(), c.Tolerance.GetNanos())
	}
	f.Fuzz(func(t *testing.T, header, algorithm, encoding, prefix, template, tsHeader, tsPrefix, unit, idHeader, separator string,
		hasTolerance bool, tolSeconds int64, tolNanos int32) {
		c := &hookgatev1.CustomHmac{Header: header, Algorithm: algorithm, Encoding: encoding, Prefix: prefix, Template: template,
			TimestampHeader: tsHeader, TimestampPrefix: tsPrefix, TimestampUnit: unit, IdHeader: idHeader, Separator: separator}
		if hasTolerance {
			c.Tolerance = &durationpb.Duration{Seconds: tolSeconds, Nanos: tolNanos}
		}
		checkCustomHmac(t, c)
		if err := verify.ValidateCustom(c); err != nil {
			var ce *verify.ConfigError
			if !errors.As(err, &ce) || ce.Field == "" {
				t.Fatalf("edge refusal %v: want a *verify.ConfigError naming a field", err)
			}
		}
	})
}
