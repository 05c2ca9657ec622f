package ingress_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestTraffic: the counts the config stream reports are those of
// hookgate_edge_requests_total, by class of status.
func TestTraffic(t *testing.T) {
	t.Parallel()
	e := newEdgeEnv(t)
	e.hook("wh_traffic")
	off := e.hook("wh_off")
	off.Active = false
	e.routes.put(off)
	if tr := e.edge.Traffic(); tr.Accepted+tr.RejectedAuth+tr.RejectedOther+tr.Unavailable != 0 {
		t.Fatalf("traffic before any call: %v", tr)
	}
	calls := []struct {
		c    call
		want int
	}{
		{call{path: "/in/acme/wh_traffic?key=" + key1, body: `{"n":1}`}, http.StatusOK},
		{call{path: "/in/acme/wh_traffic?key=" + key1, body: `{"n":2}`}, http.StatusOK},
		{call{path: "/in/acme/wh_traffic", headers: map[string]string{"X-Hookgate-Key": key1}, body: `{"n":3}`}, http.StatusOK},
		{call{path: "/in/acme/wh_traffic?key=hgk_wrong", body: `{}`}, http.StatusUnauthorized},
		{call{path: "/in/acme/wh_traffic", body: `{}`}, http.StatusUnauthorized},
		{call{path: "/in/acme/wh_nope?key=" + key1, body: `{}`}, http.StatusNotFound},
		{call{path: "/in/acme/wh_off?key=" + key1, body: `{}`}, http.StatusGone},
		{call{path: "/in/acme/wh_traffic?key=" + key1, body: `{"n":`}, http.StatusBadRequest},
		{call{path: "/in/acme/wh_traffic?key=" + key1, body: `{"big":"` + strings.Repeat("x", 2048) + `"}`}, http.StatusRequestEntityTooLarge},
	}
	for _, c := range calls {
		if code, _, body := e.do(t, c.c); code != c.want {
			t.Fatalf("%s: %d %v, want %d", c.c.path, code, body, c.want)
		}
	}
	tr := e.edge.Traffic()
	if tr.Accepted != 3 || tr.RejectedAuth != 2 || tr.RejectedOther != 4 || tr.Unavailable != 0 {
		t.Fatalf("traffic %v, want 3 accepted, 2 auth, 4 other 4xx, 0 5xx", tr)
	}
	var total float64
	for _, outcome := range []string{"accepted", "bad_key", "not_found", "deactivated", "invalid_json", "too_large"} {
		total += e.metric(t, "hookgate_edge_requests_total", outcome)
	}
	if total != 9 {
		t.Fatalf("hookgate_edge_requests_total sums to %v for the nine calls", total)
	}
}
