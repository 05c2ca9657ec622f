package envelope_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/hookgate/hookgate/dataplane/envelope"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

func nested(open, close string, n int) string {
	return strings.Repeat(open, n) + "1" + strings.Repeat(close, n)
}

// manyKeys is an object of n distinct members plus, with dup, a repeat of
// the first: over 16 members the validator sorts by hash.
func manyKeys(n int, dup string) string {
	var b strings.Builder
	b.WriteString("{")
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"k` + strings.Repeat("x", i) + `":1`)
	}
	if dup != "" {
		b.WriteString(`,"` + dup + `":2`)
	}
	b.WriteString("}")
	return b.String()
}

// decodableTests are JSON bodies valid by RFC 8259 that a consumer's
// protojson may or may not take: every accepted one must decode in an
// envelope, every refused one names why.
var decodableTests = []struct {
	name, body string
	err        string // empty when accepted
}{
	{"plain", `{"a":1,"b":[1,2,{"a":2}]}`, ""},
	{"same name in sibling objects", `[{"a":1},{"a":1}]`, ""},
	{"same name nested", `{"a":{"a":{"a":1}}}`, ""},
	{"names differing by escape only in form", `{"a/":1,"a\/b":2}`, ""},
	{"many distinct names", manyKeys(40, ""), ""},
	{"tiny number", `{"n":1e-400}`, ""},
	{"large number", `{"n":-1.7976931348623157e308}`, ""},
	{"long integer", `{"n":12345678901234567890123456789}`, ""},
	{"exponent with leading zeros", `{"n":1e0000000000300}`, ""},
	{"surrogate pair", `"\ud83d\ude00"`, ""},
	{"escaped NUL", `"\u0000"`, ""},
	{"depth at the limit", nested("[", "]", envelope.MaxDepth), ""},
	{"object depth at the limit", nested(`{"a":`, "}", envelope.MaxDepth), ""},

	{"duplicate name", `{"a":1,"a":2}`, "invalid JSON body: duplicate key at offset 7"},
	{"duplicate name escaped", `{"a":1,"\u0061":2}`, "invalid JSON body: duplicate key at offset 7"},
	{"duplicate name nested", `[0,{"x":{"b":1,"c":2,"b":3}}]`, "invalid JSON body: duplicate key at offset 21"},
	{"duplicate among many", manyKeys(40, "kxxxxx"), ""},
	{"number too large", `{"n":1e999}`, "invalid JSON body: number out of range at offset 5"},
	{"negative number too large", `[-2e308]`, "invalid JSON body: number out of range at offset 1"},
	{"integer too long", "[" + strings.Repeat("9", 400) + "]", "invalid JSON body: number out of range at offset 1"},
	{"lone high surrogate", `"\ud800"`, "invalid JSON body: invalid escape at offset 1"},
	{"lone low surrogate", `"\udc00"`, "invalid JSON body: invalid escape at offset 1"},
	{"high surrogate then letter", `"\ud800\u0041"`, "invalid JSON body: invalid escape at offset 1"},
	{"surrogate pair reversed", `"\udc00\ud800"`, "invalid JSON body: invalid escape at offset 1"},
	{"too deep", nested("[", "]", envelope.MaxDepth+1), "invalid JSON body: nesting deeper than 100 levels at offset 100"},
	{"far too deep", nested(`{"a":`, "}", 9999), "invalid JSON body: nesting deeper than 100 levels at offset 500"},
	{"control character", "\"a\tb\"", "invalid JSON body: control character in string at offset 2"},
	{"bad escape", `"\x"`, "invalid JSON body: invalid escape at offset 1"},
}

func init() {
	// The duplicate among many is found wherever the sort puts it.
	for i := range decodableTests {
		if decodableTests[i].name == "duplicate among many" {
			decodableTests[i].err = "invalid JSON body: duplicate key at offset " + strconv.Itoa(strings.LastIndex(decodableTests[i].body, `"kxxxxx"`))
		}
	}
}

// jsonDepth is the deepest nesting of a valid JSON document.
func jsonDepth(b []byte) int {
	depth, deepest, inString := 0, 0, false
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			depth++
			deepest = max(deepest, depth)
		case c == '}' || c == ']':
			depth--
		}
	}
	return deepest
}

// envelopeDecodes reports whether an envelope carrying payload decodes as
// the documented InboundEnvelope (README: consumers use protojson).
func envelopeDecodes(payload []byte) error {
	e := envelope.Envelope{ID: "evt_1", Tenant: "acme", WebhookID: "wh_1", Provider: "GENERIC",
		ProcessID: "p", ThreadID: "main", Trigger: "START_PROCESS", Payload: payload}
	return protojson.Unmarshal(e.AppendJSON(nil), &hookgatev1.InboundEnvelope{})
}

func TestPayloadDecodableByConsumers(t *testing.T) {
	t.Parallel()
	for _, tt := range decodableTests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := envelope.Payload("application/json", []byte(tt.body))
			if tt.err == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if err := envelopeDecodes(got); err != nil {
					t.Fatalf("accepted, but the envelope does not decode: %v", err)
				}
				return
			}
			if err == nil || err.Error() != tt.err || !errors.Is(err, envelope.ErrInvalidJSON) {
				t.Fatalf("Payload error %v, want %s", err, tt.err)
			}
			// The rule is not stricter than the consumer, except for depth.
			if !strings.HasPrefix(tt.name, "too deep") && !strings.HasPrefix(tt.name, "far too deep") && !strings.HasPrefix(tt.name, "control") && !strings.HasPrefix(tt.name, "bad escape") {
				if err := envelopeDecodes([]byte(tt.body)); err == nil {
					t.Fatalf("refused %s, but protojson decodes it", tt.body)
				}
			}
		})
	}
}
