package envelope_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/hookgate/hookgate/dataplane/envelope"
)

var parseCorrelationPathTests = []struct {
	name, path string
	err        string // the whole message; empty when the path is accepted
}{
	{"one field", "a", ""},
	{"stripe", "data.object.id", ""},
	{"meta", "entry[0].changes[0].value.messages[0].text.body", ""},
	{"index last", "items[2]", ""},
	{"nested indices", "a[0][1].b", ""},
	{"leading index", "[0].id", ""},
	{"index only", "[3]", ""},
	{"punctuation in names", "$ref.@type.x:y.a-b.a_b", ""},
	{"space in name", "first name.x", ""},
	{"non-ASCII names", "héllo.wörld.😀", ""},
	{"largest index", "a[999999999]", ""},
	{"index ten", "a[10]", ""},
	{"64 segments", "a" + strings.Repeat(".a", 63), ""},
	{"512 bytes", strings.Repeat("a", 512), ""},

	{"empty", "", `correlation path is empty`},
	{"double dot", "a..b", `correlation path "a..b": empty field name at offset 2`},
	{"leading dot", ".a", `correlation path ".a": empty field name at offset 0`},
	{"trailing dot", "a.", `correlation path "a.": empty field name at offset 2`},
	{"dot only", ".", `correlation path ".": empty field name at offset 0`},
	{"dot before index", "a.[0]", `correlation path "a.[0]": empty field name at offset 2`},
	{"unterminated index", "a[0", `correlation path "a[0": unterminated index at offset 1`},
	{"open bracket", "a[", `correlation path "a[": unterminated index at offset 1`},
	{"empty index", "a[]", `correlation path "a[]": empty index at offset 1`},
	{"leading zero", "a[01]", `correlation path "a[01]": index with a leading zero at offset 2`},
	{"negative index", "a[-1]", `correlation path "a[-1]": invalid character '-' in index at offset 2`},
	{"letter in index", "a[1x]", `correlation path "a[1x]": invalid character 'x' in index at offset 3`},
	{"space in index", "a[ 0]", `correlation path "a[ 0]": invalid character ' ' in index at offset 2`},
	{"long index", "a[1234567890]", `correlation path "a[1234567890]": index longer than 9 digits at offset 2`},
	{"stray close", "a]", `correlation path "a]": unexpected ']' at offset 1`},
	{"name after index", "a[0]b", `correlation path "a[0]b": want '.' or '[' after index, found 'b' at offset 4`},
	{"double close", "[0]]", `correlation path "[0]]": want '.' or '[' after index, found ']' at offset 3`},
	{"nested bracket", "a[[0]]", `correlation path "a[[0]]": invalid character '[' in index at offset 2`},
	{"control character", "a\x00b", `correlation path "a\x00b": control character in field name at offset 1`},
	{"newline", "a\nb", `correlation path "a\nb": control character in field name at offset 1`},
	{"invalid UTF-8", "a\xffb", `correlation path "a\xffb": invalid UTF-8 at offset 1`},
	{"513 bytes", strings.Repeat("a", 513), `correlation path of 513 bytes: longer than 512 bytes`},
	{"65 segments", "a" + strings.Repeat(".a", 64), `correlation path "` + "a" + strings.Repeat(".a", 64) + `": more than 64 segments at offset 128`},
	{"65 indices", "a" + strings.Repeat("[0]", 64), `correlation path "` + "a" + strings.Repeat("[0]", 64) + `": more than 64 segments at offset 190`},
}

func TestParseCorrelationPath(t *testing.T) {
	t.Parallel()
	for _, tt := range parseCorrelationPathTests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := envelope.ParseCorrelationPath(tt.path)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("ParseCorrelationPath(%q) error = %v, want %s", tt.path, err, tt.err)
				}
				if !errors.Is(err, envelope.ErrBadCorrelationPath) {
					t.Fatalf("error %v does not wrap ErrBadCorrelationPath", err)
				}
				if !p.IsZero() {
					t.Fatalf("refused path is not the zero value: %q", p)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseCorrelationPath(%q): %v", tt.path, err)
			}
			if got := p.String(); got != tt.path {
				t.Fatalf("String() = %q, want %q", got, tt.path)
			}
			if p.IsZero() {
				t.Fatal("parsed path reports IsZero")
			}
		})
	}
}

const metaBody = `{"object":"whatsapp_business_account","entry":[{"id":"1023","changes":[{"value":` +
	`{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":"1234"},` +
	`"contacts":[{"profile":{"name":"Ana"},"wa_id":"15551234567"}],"messages":[{"from":"15551234567",` +
	`"id":"wamid.HBgLMTU1NTEyMzQ1NjcVAgASGBQzQTdCNjZCQjI3RjI1QkQ0QUE3OQA=","timestamp":"1711207800",` +
	`"text":{"body":"Order \"ORD-12345\" \u00e9t\u00e9 \ud83d\ude00"},"type":"text"}]},"field":"messages"}]}]}`

var resolveTests = []struct {
	name, path, body string
	want             string
	err              string // the whole message; empty when the path resolves
	invalidJSON      bool   // the error also wraps ErrInvalidJSON
}{
	{name: "meta text", path: "entry[0].changes[0].value.messages[0].text.body", body: metaBody, want: "Order \"ORD-12345\" été 😀"},
	{name: "meta id", path: "entry[0].changes[0].value.messages[0].id", body: metaBody, want: "wamid.HBgLMTU1NTEyMzQ1NjcVAgASGBQzQTdCNjZCQjI3RjI1QkQ0QUE3OQA="},
	{name: "stripe", path: "data.object.id", body: `{"id":"evt_1","data":{"object":{"id":"pi_3","amount":100}}}`, want: "pi_3"},
	{name: "big integer", path: "n", body: `{"n":12345678901234567890}`, want: "12345678901234567890"},
	{name: "trailing zero", path: "n", body: `{"n":1.50}`, want: "1.50"},
	{name: "exponent", path: "n", body: `{"n":-1.5E+10}`, want: "-1.5E+10"},
	{name: "minus zero", path: "n", body: `{"n":-0}`, want: "-0"},
	{name: "true", path: "b", body: `{"b":true}`, want: "true"},
	{name: "false", path: "b", body: `{"b":false}`, want: "false"},
	{name: "empty string", path: "s", body: `{"s":""}`, want: ""},
	{name: "escapes", path: "s", body: `{"s":"a\"b\\c\/d\b\f\n\r\t\u0041\u00e9"}`, want: "a\"b\\c/d\b\f\n\r\tAé"},
	{name: "lone surrogate", path: "s", body: `{"s":"\ud800x"}`, want: "\uFFFDx"},
	{name: "surrogate then non-surrogate", path: "s", body: `{"s":"\ud800\u0041"}`, want: "\uFFFDA"},
	{name: "invalid UTF-8", path: "s", body: "{\"s\":\"a\xffb\"}", want: "a\uFFFDb"},
	{name: "escaped key", path: "ab", body: `{"a\u0062":1}`, want: "1"},
	{name: "non-ASCII key", path: "été", body: `{"\u00e9t\u00e9":"x"}`, want: "x"},
	{name: "surrogate pair key", path: "😀", body: `{"\ud83d\ude00":"smile"}`, want: "smile"},
	{name: "key prefix is no match", path: "ab", body: `{"abc":1,"a":2}`, err: "correlation path ab: ab is missing"},
	{name: "escaped key prefix is no match", path: "ab", body: `{"a\u0062c":1}`, err: "correlation path ab: ab is missing"},
	{name: "whitespace", path: "a[1].b", body: " \n\t{ \"a\" :\r[ 1 ,\n{ \"b\" : \"x\" } ] } \n", want: "x"},
	{name: "brackets inside strings", path: "a", body: `{"x":"]}{[\"","y":{"z":"}\\"},"a":"ok"}`, want: "ok"},
	{name: "nested arrays", path: "a[1][1][0]", body: `{"a":[[1,2],[3,[4,5]]]}`, want: "4"},
	{name: "skip nested values", path: "z", body: `{"a":{"b":[{"c":[]},{}]},"s":"x","n":null,"t":true,"z":7}`, want: "7"},
	{name: "top-level array", path: "[1].id", body: `[{"id":"a"},{"id":"b"}]`, want: "b"},
	{name: "top-level scalar index", path: "[0]", body: `["only"]`, want: "only"},
	{name: "last duplicate wins", path: "a", body: `{"a":1,"a":2}`, want: "2"},
	{name: "last duplicate object wins", path: "a.b", body: `{"a":{"b":1},"a":{"c":2}}`, err: "correlation path a.b: a.b is missing"},
	{name: "last duplicate scalar wins", path: "a", body: `{"a":{"b":1},"a":"s"}`, want: "s"},
	{name: "deep nesting skipped", path: "z", body: `{"a":` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `,"z":1}`, want: "1"},

	{name: "null", path: "a", body: `{"a":null}`, err: "correlation path a: a is null"},
	{name: "missing field", path: "entry[0].id", body: `{"entry":[{"ID":1}]}`, err: "correlation path entry[0].id: entry[0].id is missing"},
	{name: "missing element", path: "entry[0].id", body: `{"entry":[]}`, err: "correlation path entry[0].id: entry[0] is missing"},
	{name: "index past end", path: "items[5]", body: `{"items":[1,2,3]}`, err: "correlation path items[5]: items[5] is missing"},
	{name: "empty object", path: "a", body: `{}`, err: "correlation path a: a is missing"},
	{name: "field of string", path: "a.b", body: `{"a":"s"}`, err: "correlation path a.b: a is a string, not an object"},
	{name: "field of array", path: "a.b", body: `{"a":[]}`, err: "correlation path a.b: a is an array, not an object"},
	{name: "field of null", path: "a.b", body: `{"a":null}`, err: "correlation path a.b: a is null, not an object"},
	{name: "index of object", path: "a[0]", body: `{"a":{"0":1}}`, err: "correlation path a[0]: a is an object, not an array"},
	{name: "field of top-level array", path: "a", body: `[1]`, err: "correlation path a: body is an array, not an object"},
	{name: "index of top-level object", path: "[0]", body: `{"a":1}`, err: "correlation path [0]: body is an object, not an array"},
	{name: "ends at object", path: "a", body: `{"a":{"b":1}}`, err: "correlation path a: a is an object, not a scalar"},
	{name: "ends at array", path: "a.b", body: `{"a":{"b":[1]}}`, err: "correlation path a.b: a.b is an array, not a scalar"},

	{name: "empty body", path: "a", body: ``, invalidJSON: true, err: "correlation path a: invalid JSON body: unexpected end of input looking for value"},
	{name: "not JSON", path: "a", body: `x=1`, invalidJSON: true, err: "correlation path a: invalid JSON body: unexpected 'x' looking for value at offset 0"},
	{name: "bad number", path: "a", body: `{"a":1x}`, invalidJSON: true, err: "correlation path a: invalid JSON body: unexpected '1' looking for a number at offset 5"},
	{name: "bad literal", path: "a", body: `{"a":tru}`, invalidJSON: true, err: "correlation path a: invalid JSON body: unexpected 't' looking for a boolean at offset 5"},
	{name: "bad null", path: "a", body: `{"a":nul}`, invalidJSON: true, err: "correlation path a: invalid JSON body: unexpected 'n' looking for null at offset 5"},
	{name: "no colon", path: "a", body: `{"a" 1}`, invalidJSON: true, err: "correlation path a: invalid JSON body: unexpected '1' looking for ':' at offset 5"},
	{name: "no comma", path: "b", body: `{"a":1 "b":2}`, invalidJSON: true, err: "correlation path b: invalid JSON body: unexpected '\"' looking for ',' or '}' at offset 7"},
	{name: "truncated", path: "b", body: `{"a":1,`, invalidJSON: true, err: "correlation path b: invalid JSON body: unexpected end of input looking for object key"},
	{name: "unterminated string", path: "a", body: `{"a":"x`, invalidJSON: true, err: "correlation path a: invalid JSON body: unexpected '\"' looking for end of string at offset 5"},
	{name: "unterminated array", path: "b", body: `{"a":[1,`, invalidJSON: true, err: "correlation path b: invalid JSON body: unexpected end of input looking for end of object or array"},
	{name: "missing value", path: "a", body: `{"a":}`, invalidJSON: true, err: "correlation path a: invalid JSON body: unexpected '}' looking for value at offset 5"},
	{name: "bad element separator", path: "a[1]", body: `{"a":[1;2]}`, invalidJSON: true, err: "correlation path a[1]: invalid JSON body: unexpected '1' looking for a number at offset 6"},
	{name: "bad skipped literal", path: "b", body: `{"a":nulL,"b":1}`, invalidJSON: true, err: "correlation path b: invalid JSON body: unexpected 'n' looking for null at offset 5"},
}

func TestResolve(t *testing.T) {
	t.Parallel()
	for _, tt := range resolveTests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := envelope.ParseCorrelationPath(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.Resolve([]byte(tt.body))
			if tt.err == "" {
				if err != nil || got != tt.want {
					t.Fatalf("Resolve = %q, %v, want %q", got, err, tt.want)
				}
				return
			}
			if err == nil || err.Error() != tt.err {
				t.Fatalf("Resolve = %q, %v, want error %s", got, err, tt.err)
			}
			if !errors.Is(err, envelope.ErrNotResolved) {
				t.Fatalf("error %v does not wrap ErrNotResolved", err)
			}
			if errors.Is(err, envelope.ErrInvalidJSON) != tt.invalidJSON {
				t.Fatalf("errors.Is(%v, ErrInvalidJSON) = %v, want %v", err, !tt.invalidJSON, tt.invalidJSON)
			}
		})
	}
}

func TestResolveZeroPath(t *testing.T) {
	t.Parallel()
	var p envelope.CorrelationPath
	if !p.IsZero() || p.String() != "" {
		t.Fatalf("zero path: IsZero %v, String %q", p.IsZero(), p)
	}
	if _, err := p.Resolve([]byte(`{"a":1}`)); !errors.Is(err, envelope.ErrBadCorrelationPath) {
		t.Fatalf("Resolve on the zero path: %v", err)
	}
}

// referenceResolve walks body decoded by encoding/json: the oracle of
// FuzzParseCorrelationPath. path has been accepted by ParseCorrelationPath.
func referenceResolve(path string, body []byte) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", false
	}
	for i := 0; i < len(path); {
		if path[i] == '[' {
			end := i + strings.IndexByte(path[i:], ']')
			index, _ := strconv.Atoi(path[i+1 : end])
			a, ok := v.([]any)
			if !ok || index >= len(a) {
				return "", false
			}
			v, i = a[index], end+1
		} else {
			end := i + strings.IndexAny(path[i:], ".[")
			if end < i {
				end = len(path)
			}
			m, ok := v.(map[string]any)
			if !ok {
				return "", false
			}
			if v, ok = m[path[i:end]]; !ok {
				return "", false
			}
			i = end
		}
		if i < len(path) && path[i] == '.' {
			i++
		}
	}
	switch v := v.(type) {
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	case bool:
		return strconv.FormatBool(v), true
	}
	return "", false
}

func FuzzParseCorrelationPath(f *testing.F) {
	for _, tt := range parseCorrelationPathTests {
		f.Add(tt.path, []byte(`{"a":{"b":[1,{"c":"d"}]}}`))
	}
	for _, tt := range resolveTests {
		if len(tt.body) < 1000 {
			f.Add(tt.path, []byte(tt.body))
		}
	}
	f.Fuzz(func(t *testing.T, path string, body []byte) {
		p, err := envelope.ParseCorrelationPath(path)
		if err != nil {
			if !errors.Is(err, envelope.ErrBadCorrelationPath) {
				t.Fatalf("ParseCorrelationPath(%q) error %v does not wrap ErrBadCorrelationPath", path, err)
			}
			if _, err := p.Resolve(body); err == nil {
				t.Fatal("the zero path resolved")
			}
			return
		}
		if got := p.String(); got != path {
			t.Fatalf("ParseCorrelationPath(%q).String() = %q", path, got)
		}
		got, err := p.Resolve(body)
		if err != nil && !errors.Is(err, envelope.ErrNotResolved) {
			t.Fatalf("Resolve error %v does not wrap ErrNotResolved", err)
		}
		if !json.Valid(body) {
			return
		}
		want, ok := referenceResolve(path, body)
		if ok != (err == nil) || got != want {
			t.Fatalf("Resolve(%q) on %q = %q, %v; encoding/json finds %q, %v", path, body, got, err, want, ok)
		}
		if errors.Is(err, envelope.ErrInvalidJSON) {
			t.Fatalf("Resolve on valid JSON %q: %v", body, err)
		}
	})
}

func BenchmarkResolve(b *testing.B) {
	p, err := envelope.ParseCorrelationPath("entry[0].changes[0].value.messages[0].id")
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(metaBody)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Resolve(body); err != nil {
			b.Fatal(err)
		}
	}
}
