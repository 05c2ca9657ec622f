package envelope_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/hookgate/hookgate/dataplane/envelope"
)

var parsePathTests = []struct {
	name, path        string
	tenant, webhookID string // empty when the path is refused
}{
	{"typical", "/in/acme/wh_0123456789abcdefghij", "acme", "wh_0123456789abcdefghij"},
	{"short tenant", "/in/abc/wh_1", "abc", "wh_1"},
	{"tenant with hyphens", "/in/acme-eu-1/wh_x", "acme-eu-1", "wh_x"},
	{"tenant of 50", "/in/" + strings.Repeat("a", 50) + "/wh_z", strings.Repeat("a", 50), "wh_z"},
	{"id of 64", "/in/acme/wh_" + strings.Repeat("z", 64), "acme", "wh_" + strings.Repeat("z", 64)},
	{"id beyond base32", "/in/acme/wh_wxyz", "acme", "wh_wxyz"},

	{"empty", "", "", ""},
	{"root", "/", "", ""},
	{"prefix only", "/in/", "", ""},
	{"no leading slash", "in/acme/wh_1", "", ""},
	{"other prefix", "/out/acme/wh_1", "", ""},
	{"upper prefix", "/IN/acme/wh_1", "", ""},
	{"one segment", "/in/acme", "", ""},
	{"empty id", "/in/acme/", "", ""},
	{"empty tenant", "/in//wh_1", "", ""},
	{"trailing slash", "/in/acme/wh_1/", "", ""},
	{"three segments", "/in/acme/wh_1/x", "", ""},
	{"double slash", "/in/acme//wh_1", "", ""},
	{"tenant too short", "/in/ab/wh_1", "", ""},
	{"tenant too long", "/in/" + strings.Repeat("a", 51) + "/wh_1", "", ""},
	{"tenant upper case", "/in/Acme/wh_1", "", ""},
	{"tenant underscore", "/in/ac_me/wh_1", "", ""},
	{"tenant dot", "/in/ac.me/wh_1", "", ""},
	{"tenant dot dot", "/in/../wh_1", "", ""},
	{"tenant percent", "/in/acm%65/wh_1", "", ""},
	{"tenant non-ASCII", "/in/acmé/wh_1", "", ""},
	{"id prefix only", "/in/acme/wh_", "", ""},
	{"id other prefix", "/in/acme/ep_1", "", ""},
	{"id without underscore", "/in/acme/wh1", "", ""},
	{"id upper case", "/in/acme/wh_ABC", "", ""},
	{"id upper prefix", "/in/acme/WH_abc", "", ""},
	{"id too long", "/in/acme/wh_" + strings.Repeat("z", 65), "", ""},
	{"id with dot", "/in/acme/wh_a.json", "", ""},
	{"id with percent", "/in/acme/wh_%61", "", ""},
	{"id with query", "/in/acme/wh_1?key=x", "", ""},
	{"id with hyphen", "/in/acme/wh_a-b", "", ""},
	{"id with NUL", "/in/acme/wh_a\x00", "", ""},
}

func TestParsePath(t *testing.T) {
	t.Parallel()
	for _, tt := range parsePathTests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tenant, webhookID, ok := envelope.ParsePath(tt.path)
			if want := tt.tenant != ""; ok != want {
				t.Fatalf("ParsePath(%q) ok = %v, want %v", tt.path, ok, want)
			}
			if tenant != tt.tenant || webhookID != tt.webhookID {
				t.Fatalf("ParsePath(%q) = %q, %q, want %q, %q", tt.path, tenant, webhookID, tt.tenant, tt.webhookID)
			}
		})
	}
}

// TestParsePathDoesNotAllocate is not parallel: testing.AllocsPerRun
// refuses to run in a parallel test.
func TestParsePathDoesNotAllocate(t *testing.T) {
	path := "/in/acme/wh_0123456789abcdefghij"
	allocs := testing.AllocsPerRun(100, func() {
		if _, _, ok := envelope.ParsePath(path); !ok {
			t.Fatal("refused")
		}
	})
	if allocs != 0 {
		t.Fatalf("ParsePath allocates %.0f times", allocs)
	}
}

// inboundPath is the rule of DESIGN.md as a regular expression, the oracle
// of FuzzParsePath.
var inboundPath = regexp.MustCompile(`^/in/([a-z0-9-]{3,50})/(wh_[0-9a-z]{1,64})$`)

func FuzzParsePath(f *testing.F) {
	for _, tt := range parsePathTests {
		f.Add(tt.path)
	}
	f.Fuzz(func(t *testing.T, path string) {
		tenant, webhookID, ok := envelope.ParsePath(path)
		m := inboundPath.FindStringSubmatch(path)
		if ok != (m != nil) {
			t.Fatalf("ParsePath(%q) ok = %v, regexp match = %v", path, ok, m != nil)
		}
		if ok && (tenant != m[1] || webhookID != m[2]) {
			t.Fatalf("ParsePath(%q) = %q, %q, want %q, %q", path, tenant, webhookID, m[1], m[2])
		}
		if !ok && (tenant != "" || webhookID != "") {
			t.Fatalf("ParsePath(%q) refused but returned %q, %q", path, tenant, webhookID)
		}
	})
}

func BenchmarkParsePath(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		envelope.ParsePath("/in/acme/wh_0123456789abcdefghij")
	}
}
