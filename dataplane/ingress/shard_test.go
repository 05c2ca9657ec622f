package ingress_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/hookgate/hookgate/dataplane/ingress"
)

// tenantShardVectors are the control plane's (controlplane/distribute
// shard_internal_test.go): edges, control plane and load balancers must
// compute the same shard.
var tenantShardVectors = []struct {
	tenant string
	counts [7]uint32 // shard of count 1, 2, 3, 4, 16, 1000, 65536
}{
	{"acme", [7]uint32{0, 0, 0, 3, 15, 621, 35179}},
	{"globex", [7]uint32{0, 1, 1, 1, 1, 680, 19045}},
	{"initech", [7]uint32{0, 0, 2, 3, 10, 454, 46674}},
	{"umbrella", [7]uint32{0, 0, 0, 0, 8, 266, 12582}},
	{"hooli", [7]uint32{0, 1, 1, 1, 9, 604, 10720}},
	{"tenant-0001", [7]uint32{0, 0, 0, 0, 0, 581, 49632}},
	{"zzz", [7]uint32{0, 1, 1, 1, 6, 637, 59286}},
}

func TestTenantShardVectors(t *testing.T) {
	counts := [7]uint32{1, 2, 3, 4, 16, 1000, 65536}
	for _, v := range tenantShardVectors {
		for i, c := range counts {
			if got := ingress.TenantShard(v.tenant, c); got != v.counts[i] {
				t.Errorf("TenantShard(%q, %d) = %d, want %d", v.tenant, c, got, v.counts[i])
			}
		}
	}
}

func TestShardConstructors(t *testing.T) {
	tests := []struct {
		name    string
		make    func() (ingress.Shard, error)
		serves  []string
		refuses []string
		str     string
		wantErr string
	}{
		{name: "tenants", make: func() (ingress.Shard, error) { return ingress.TenantsShard([]string{"globex", "acme", "acme"}) },
			serves: []string{"acme", "globex"}, refuses: []string{"hooli", "acme-2", ""}, str: "tenants acme,globex"},
		{name: "hash", make: func() (ingress.Shard, error) { return ingress.HashShard(3, 4) },
			serves: []string{"acme", "initech"}, refuses: []string{"globex", "umbrella"}, str: "3/4"},
		{name: "every tenant", make: func() (ingress.Shard, error) { return ingress.Shard{}, nil },
			serves: []string{"acme", "globex"}, str: "every tenant"},
		{name: "no tenants", make: func() (ingress.Shard, error) { return ingress.TenantsShard(nil) }, wantErr: "no tenants"},
		{name: "bad slug", make: func() (ingress.Shard, error) { return ingress.TenantsShard([]string{"acme", "Bad"}) }, wantErr: `"Bad" is not a tenant slug`},
		{name: "count 0", make: func() (ingress.Shard, error) { return ingress.HashShard(0, 0) }, wantErr: "count must be at least 1"},
		{name: "index at count", make: func() (ingress.Shard, error) { return ingress.HashShard(4, 4) }, wantErr: "index 4 must be below count 4"},
		{name: "count too large", make: func() (ingress.Shard, error) { return ingress.HashShard(0, ingress.MaxShardCount+1) }, wantErr: "at most"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := tt.make()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, tenant := range tt.serves {
				if !s.Serves(tenant) {
					t.Errorf("does not serve %q", tenant)
				}
			}
			for _, tenant := range tt.refuses {
				if s.Serves(tenant) {
					t.Errorf("serves %q", tenant)
				}
			}
			if s.String() != tt.str {
				t.Errorf("String() = %q, want %q", s.String(), tt.str)
			}
			if (s.Proto() == nil) != s.All() {
				t.Errorf("Proto() = %v for All() = %v", s.Proto(), s.All())
			}
		})
	}
}

// TestCallOutsideTheShardIsMisdirected: an edge serving acme answers a
// call for globex 421 with the reason, not its tenants, counted without a
// tenant label; acme's calls are served as before, and a tenant outside
// the shard is 421 even before the edge has a configuration.
func TestCallOutsideTheShardIsMisdirected(t *testing.T) {
	t.Parallel()
	shard, err := ingress.TenantsShard([]string{"acme"})
	if err != nil {
		t.Fatal(err)
	}
	e := newEdgeEnvWith(t, envOptions{config: func(c *ingress.Config) { c.Shard = shard }})
	w := e.hook("wh_1")
	if code, _, body := e.do(t, call{path: "/in/acme/" + w.Id + "?key=" + key1, body: `{}`}); code != http.StatusOK {
		t.Fatalf("acme's call: %d %v", code, body)
	}
	for _, c := range []call{
		{path: "/in/globex/" + w.Id + "?key=" + key1, body: `{}`},
		{method: http.MethodGet, path: "/in/globex/wh_2"},
		{path: "/in/hooli/wh_3"},
	} {
		code, _, body := e.do(t, c)
		if code != http.StatusMisdirectedRequest || !strings.Contains(body["error"], "misdirected request: this edge does not serve the tenant") {
			t.Errorf("%s %s: %d %v, want 421 misdirected", c.method, c.path, code, body)
		}
		if strings.Contains(body["error"], "acme") {
			t.Errorf("the answer names the edge's tenants: %q", body["error"])
		}
	}
	if got := e.metric(t, "hookgate_edge_requests_total", "misdirected"); got != 3 {
		t.Errorf("hookgate_edge_requests_total{outcome=misdirected} = %v, want 3", got)
	}
	e.routes.mu.Lock()
	e.routes.ready = false
	e.routes.mu.Unlock()
	if code, _, _ := e.do(t, call{path: "/in/globex/wh_2"}); code != http.StatusMisdirectedRequest {
		t.Errorf("without configuration: %d, want 421", code)
	}
	if code, _, _ := e.do(t, call{path: "/in/acme/wh_2"}); code != http.StatusServiceUnavailable {
		t.Errorf("own tenant without configuration: %d, want 503", code)
	}
}
