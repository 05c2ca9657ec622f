package verifytest

import "testing"

func TestChangeFirst(t *testing.T) {
	for _, v := range []string{"Xtoken", "Ytoken", "atoken", "X", ""} {
		if got := changeFirst(v); got == v || len(got) != max(len(v), 1) {
			t.Errorf("changeFirst(%q) = %q: want a different string of the same length", v, got)
		}
	}
}
