package envelope_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"mime"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hookgate/hookgate/dataplane/envelope"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
)

var payloadTests = []struct {
	name, contentType, body string
	want                    string // the payload; empty when refused
	err                     string // the whole message when refused
	sentinel                error
}{
	{name: "json", contentType: "application/json", body: `{"orderId":"ORD-12345"}`, want: `{"orderId":"ORD-12345"}`},
	{name: "json charset", contentType: "application/json; charset=utf-8", body: `[1,2]`, want: `[1,2]`},
	{name: "json upper case", contentType: "APPLICATION/JSON;CHARSET=UTF-8", body: `{}`, want: `{}`},
	{name: "json spaces", contentType: " application/json ; charset=UTF-8", body: `{}`, want: `{}`},
	{name: "text/json", contentType: "text/json", body: `"s"`, want: `"s"`},
	{name: "suffix json", contentType: "application/cloudevents+json", body: `{"specversion":"1.0"}`, want: `{"specversion":"1.0"}`},
	{name: "suffix json mixed case", contentType: "Application/Problem+JSON", body: `{}`, want: `{}`},
	{name: "json verbatim", contentType: "application/json", body: " {\n  \"a\" : 1.50, \"b\": 12345678901234567890, \"c\": \"\\u00e9<>&\" }\n", want: " {\n  \"a\" : 1.50, \"b\": 12345678901234567890, \"c\": \"\\u00e9<>&\" }\n"},
	{name: "json scalar", contentType: "application/json", body: `42`, want: `42`},
	{name: "json non-ASCII", contentType: "application/json", body: `{"name":"été 😀"}`, want: `{"name":"été 😀"}`},

	{name: "json empty", contentType: "application/json", body: ``, sentinel: envelope.ErrInvalidJSON,
		err: "invalid JSON body: unexpected end of input looking for value at offset 0"},
	{name: "json bad value", contentType: "application/json", body: `{"a":x}`, sentinel: envelope.ErrInvalidJSON,
		err: "invalid JSON body: unexpected 'x' looking for value at offset 5"},
	{name: "json truncated", contentType: "application/json", body: `{"a":1`, sentinel: envelope.ErrInvalidJSON,
		err: "invalid JSON body: unexpected end of input looking for ',' or '}' at offset 6"},
	{name: "json trailing data", contentType: "application/json", body: `{} x`, sentinel: envelope.ErrInvalidJSON,
		err: "invalid JSON body: unexpected 'x' looking for end of input at offset 3"},
	{name: "json two values", contentType: "text/json", body: `{}{}`, sentinel: envelope.ErrInvalidJSON,
		err: "invalid JSON body: unexpected '{' looking for end of input at offset 2"},
	{name: "json invalid UTF-8", contentType: "application/json", body: "{\"a\":\"b\xffc\"}", sentinel: envelope.ErrInvalidJSON,
		err: "invalid JSON body: invalid UTF-8 at offset 7"},
	{name: "json byte order mark", contentType: "application/json", body: "\uFEFF{}", sentinel: envelope.ErrInvalidJSON,
		err: "invalid JSON body: unexpected 'ï' looking for value at offset 0"},
	{name: "json form body", contentType: "application/vnd.api+json", body: `a=1`, sentinel: envelope.ErrInvalidJSON,
		err: "invalid JSON body: unexpected 'a' looking for value at offset 0"},

	{name: "form", contentType: "application/x-www-form-urlencoded", body: "b=2&a=1&a=3&c", want: `{"a":["1","3"],"b":["2"],"c":[""]}`},
	{name: "form charset", contentType: "Application/X-WWW-Form-Urlencoded; charset=UTF-8", body: "a=1", want: `{"a":["1"]}`},
	{name: "form decoding", contentType: "application/x-www-form-urlencoded", body: "a=1+2%20%2B&%C3%A9=%E2%82%ac", want: `{"a":["1 2 +"],"é":["€"]}`},
	{name: "form empty", contentType: "application/x-www-form-urlencoded", body: "", want: `{}`},
	{name: "form empty pairs", contentType: "application/x-www-form-urlencoded", body: "&&a=1&", want: `{"a":["1"]}`},
	{name: "form empty key", contentType: "application/x-www-form-urlencoded", body: "=", want: `{"":[""]}`},
	{name: "form equals in value", contentType: "application/x-www-form-urlencoded", body: "a==b=", want: `{"a":["=b="]}`},
	{name: "form semicolon", contentType: "application/x-www-form-urlencoded", body: "a=1;b=2", want: `{"a":["1;b=2"]}`},
	{name: "form escaping", contentType: "application/x-www-form-urlencoded", body: `a="<>%26\%0A%00`, want: `{"a":["\"<>&\\\n\u0000"]}`},
	{name: "form invalid UTF-8 value", contentType: "application/x-www-form-urlencoded", body: "a=%FFx", want: `{"a":["\ufffdx"]}`},
	{name: "form invalid UTF-8 keys", contentType: "application/x-www-form-urlencoded", body: "%FF=1&%FE=2", want: `{"�":["1","2"]}`},
	{name: "form Slack command", contentType: "application/x-www-form-urlencoded",
		body: "token=x&team_id=T1&command=%2Fweather&text=94070&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2F1",
		want: `{"command":["/weather"],"response_url":["https://hooks.slack.com/commands/1"],"team_id":["T1"],"text":["94070"],"token":["x"]}`},

	{name: "form bad escape", contentType: "application/x-www-form-urlencoded", body: "a=%zz", sentinel: envelope.ErrInvalidForm,
		err: "invalid form body: bad percent-encoding at offset 2"},
	{name: "form short escape", contentType: "application/x-www-form-urlencoded", body: "a=1&b=%4", sentinel: envelope.ErrInvalidForm,
		err: "invalid form body: bad percent-encoding at offset 6"},
	{name: "form bad key escape", contentType: "application/x-www-form-urlencoded", body: "x=1&b%=2", sentinel: envelope.ErrInvalidForm,
		err: "invalid form body: bad percent-encoding at offset 5"},
	{name: "form lone percent", contentType: "application/x-www-form-urlencoded", body: "%", sentinel: envelope.ErrInvalidForm,
		err: "invalid form body: bad percent-encoding at offset 0"},

	{name: "no content type", contentType: "", body: "hello", want: `"hello"`},
	{name: "text", contentType: "text/plain; charset=utf-8", body: "a\"b\\c\n\t\x01<>&", want: `"a\"b\\c\n\t\u0001<>&"`},
	{name: "text empty", contentType: "text/plain", body: "", want: `""`},
	{name: "text invalid UTF-8", contentType: "application/octet-stream", body: "a\xff\xfeb", want: `"a\ufffd\ufffdb"`},
	{name: "text line separators", contentType: "text/plain", body: "\u2028\u2029", want: `"\u2028\u2029"`},
	{name: "xml", contentType: "application/xml", body: `<a b="1"/>`, want: `"<a b=\"1\"/>"`},
	{name: "multipart", contentType: "multipart/form-data; boundary=x", body: "--x--", want: `"--x--"`},
	{name: "json lookalike", contentType: "application/jsonp", body: "{}", want: `"{}"`},
	{name: "empty suffix subtype", contentType: "application/+json", body: "{}", want: `"{}"`},
	{name: "suffix json with slash", contentType: "application/a/b+json", body: "{}", want: `"{}"`},
	{name: "long s", contentType: "application/j\u017fon", body: "{}", want: `"{}"`},
}

func TestPayload(t *testing.T) {
	t.Parallel()
	for _, tt := range payloadTests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := envelope.Payload(tt.contentType, []byte(tt.body))
			appended, appendErr := envelope.AppendPayload([]byte("prefix:"), tt.contentType, []byte(tt.body))
			if tt.sentinel != nil {
				if err == nil || err.Error() != tt.err || !errors.Is(err, tt.sentinel) {
					t.Fatalf("Payload = %q, %v, want error %s wrapping %v", got, err, tt.err, tt.sentinel)
				}
				if appendErr == nil || appendErr.Error() != tt.err || string(appended) != "prefix:" {
					t.Fatalf("AppendPayload = %q, %v, want %q, %s", appended, appendErr, "prefix:", tt.err)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Fatalf("Payload = %s, %v, want %s", got, err, tt.want)
			}
			if appendErr != nil || string(appended) != "prefix:"+tt.want {
				t.Fatalf("AppendPayload = %s, %v, want prefix:%s", appended, appendErr, tt.want)
			}
			if !json.Valid(got) {
				t.Fatalf("payload %s is not valid JSON", got)
			}
		})
	}
}

func TestPayloadReturnsJSONBody(t *testing.T) {
	t.Parallel()
	body := []byte(`{"a":1}`)
	got, err := envelope.Payload("application/json", body)
	if err != nil {
		t.Fatal(err)
	}
	if &got[0] != &body[0] || len(got) != len(body) {
		t.Fatal("Payload copied a JSON body")
	}
}

// isJSONMediaType is the oracle of FuzzPayload, on a media type that
// mime.ParseMediaType accepted (and lower-cased).
func isJSONMediaType(mt string) bool {
	sub, ok := strings.CutPrefix(mt, "application/")
	return mt == "application/json" || mt == "text/json" ||
		ok && len(sub) > len("+json") && strings.HasSuffix(sub, "+json")
}

// validUTF8 replaces each byte that is not part of valid UTF-8 with U+FFFD,
// as encoding/json does.
func validUTF8(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		b.WriteRune(r)
		i += n
	}
	return b.String()
}

func FuzzPayload(f *testing.F) {
	for _, tt := range payloadTests {
		f.Add(tt.contentType, []byte(tt.body))
	}
	for _, tt := range decodableTests {
		f.Add("application/json", []byte(tt.body))
	}
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		got, err := envelope.Payload(contentType, body)
		appended, appendErr := envelope.AppendPayload([]byte("x"), contentType, body)
		if (err == nil) != (appendErr == nil) || err == nil && string(appended) != "x"+string(got) || err != nil && string(appended) != "x" {
			t.Fatalf("AppendPayload = %q, %v; Payload = %q, %v", appended, appendErr, got, err)
		}
		if err != nil {
			if !errors.Is(err, envelope.ErrInvalidJSON) && !errors.Is(err, envelope.ErrInvalidForm) {
				t.Fatalf("error %v wraps no sentinel", err)
			}
		} else if !json.Valid(got) || !utf8.Valid(got) {
			t.Fatalf("Payload(%q, %q) = %q: not valid JSON in UTF-8", contentType, body, got)
		} else if err := envelopeDecodes(got); err != nil {
			// Accepted means a consumer can decode the event.
			t.Fatalf("Payload(%q, %q) accepted, but its envelope does not decode: %v", contentType, body, err)
		}
		mt, _, mtErr := mime.ParseMediaType(contentType)
		if contentType != "" && mtErr != nil {
			return // the oracle cannot classify it
		}
		switch {
		case isJSONMediaType(mt):
			// Valid means: JSON in UTF-8 that protojson takes as a
			// google.protobuf.Value, at most MaxDepth levels deep.
			valid := json.Valid(body) && utf8.Valid(body) &&
				protojson.Unmarshal(body, &structpb.Value{}) == nil && jsonDepth(body) <= envelope.MaxDepth
			if valid != (err == nil) || valid && !bytes.Equal(got, body) {
				t.Fatalf("Payload(%q, %q) = %q, %v", contentType, body, got, err)
			}
		case mt == "application/x-www-form-urlencoded":
			checkForm(t, body, got, err)
		default:
			var want bytes.Buffer
			enc := json.NewEncoder(&want)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(string(body)); err != nil {
				t.Fatal(err)
			}
			if err != nil || string(got) != strings.TrimSuffix(want.String(), "\n") {
				t.Fatalf("Payload(%q, %q) = %s, %v, want %s", contentType, body, got, err, want.Bytes())
			}
		}
	})
}

// checkForm compares a form payload with net/url's reading of the body,
// where the two agree on the rules: no ';' (which net/url refuses) and keys
// in UTF-8 (which net/url keeps apart and Payload merges).
func checkForm(t *testing.T, body, got []byte, err error) {
	t.Helper()
	if bytes.IndexByte(body, ';') >= 0 {
		return
	}
	values, urlErr := url.ParseQuery(string(body))
	if (urlErr == nil) != (err == nil) {
		t.Fatalf("form %q: Payload error %v, net/url error %v", body, err, urlErr)
	}
	if err != nil {
		return
	}
	want := map[string][]string{}
	for k, vs := range values {
		if !utf8.ValidString(k) {
			return
		}
		for _, v := range vs {
			want[k] = append(want[k], validUTF8(v))
		}
	}
	var decoded map[string][]string
	if err := json.Unmarshal(got, &decoded); err != nil {
		t.Fatalf("form payload %s: %v", got, err)
	}
	if !reflect.DeepEqual(decoded, want) {
		t.Fatalf("form %q: payload %s, net/url reads %q", body, got, want)
	}
}

func BenchmarkAppendPayload(b *testing.B) {
	bodies := []struct{ name, contentType, body string }{
		{"json", "application/json", string(benchEnvelope().Payload)},
		{"form", "application/x-www-form-urlencoded", "token=x&team_id=T1&command=%2Fweather&text=" + strings.Repeat("a+b", 300)},
		{"text", "text/plain", strings.Repeat("hello, world\n", 80)},
		// The body of the ingress benchmark (make bench) at 64 KiB.
		{"json-64k", "application/json", `{"type":"order.created","data":"` + strings.Repeat("x", 64<<10-34) + `"}`},
	}
	for _, bb := range bodies {
		b.Run(bb.name, func(b *testing.B) {
			body := []byte(bb.body)
			buf := make([]byte, 0, 8<<10)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if buf, err = envelope.AppendPayload(buf[:0], bb.contentType, body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
