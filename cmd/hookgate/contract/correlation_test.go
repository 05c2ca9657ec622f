// Package contract checks that the control plane and the data plane agree
// where each implements one side of the same rule.
package contract

import (
	"strings"
	"testing"

	"github.com/hookgate/hookgate/controlplane/admin"
	"github.com/hookgate/hookgate/dataplane/envelope"
)

var correlationSeeds = []string{
	"a", "data.object.id", "entry[0].changes[0].value.messages[0].text.body", "items[2]", "a[0][1].b",
	"$meta.@id", "a-b_c:d", "", ".", "a.", ".a", "a..b", "a[", "a[]", "a[x]", "a[01]", "a[-1]", "[0]",
	"a[0]b", "a b", "a\tb", "[0].sg_message_id", "[0][1]", "a\x7f", "\xff", "a]", "a[1234567890]", "ü.ö", strings.Repeat("a.", 300) + "a",
}

// The control plane accepts a correlation path only if the edge parses it;
// a path accepted at the API that the edge refuses would reject every call.
func TestCorrelationGrammarAgrees(t *testing.T) {
	for _, s := range correlationSeeds {
		checkAgree(t, s)
	}
}

func FuzzCorrelationGrammarAgrees(f *testing.F) {
	for _, s := range correlationSeeds {
		f.Add(s)
	}
	f.Fuzz(checkAgree)
}

func checkAgree(t *testing.T, s string) {
	_, err := envelope.ParseCorrelationPath(s)
	if ok := admin.ValidCorrelationPath(s); ok != (err == nil) {
		t.Fatalf("control plane accepts %q: %v; edge parses it: %v", s, ok, err)
	}
}
