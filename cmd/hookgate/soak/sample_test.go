package main

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"
)

func TestParseMetrics(t *testing.T) {
	const page = `# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 412
go_memstats_heap_inuse_bytes 1.23456e+08
go_memstats_heap_inuse_bytes_total 5
hookgate_dispatch_attempts_total{outcome="success",error_class="none"} 10
go_gc_duration_seconds{quantile="0.5"} 0.0001
`
	tests := []struct {
		name    string
		page    string
		want    map[string]float64
		wantErr string
	}{
		{"both", page, map[string]float64{"go_goroutines": 412, "go_memstats_heap_inuse_bytes": 123456000}, ""},
		{"with a timestamp", "go_goroutines 7 1700000000000\ngo_memstats_heap_inuse_bytes 8\n",
			map[string]float64{"go_goroutines": 7, "go_memstats_heap_inuse_bytes": 8}, ""},
		{"missing one", "go_goroutines 7\n", nil, "go_memstats_heap_inuse_bytes missing"},
		{"not a number", "go_goroutines seven\ngo_memstats_heap_inuse_bytes 8\n", nil, `value "seven"`},
		{"empty page", "", nil, "missing"},
		{"prefix of a name is not the name", "go_goroutines_x 1\ngo_memstats_heap_inuse_bytes 8\n", nil, "go_goroutines missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseMetrics(strings.NewReader(tt.page), "go_goroutines", "go_memstats_heap_inuse_bytes")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s = %g, want %g", k, got[k], v)
				}
			}
		})
	}
}

func TestParseRSS(t *testing.T) {
	tests := []struct {
		name    string
		status  string
		want    int64
		wantErr bool
	}{
		{"status file", "Name:\thookgate\nVmPeak:\t 900000 kB\nVmRSS:\t  345678 kB\nThreads:\t20\n", 345678, false},
		{"no VmRSS (a kernel thread)", "Name:\tkthreadd\nThreads:\t1\n", 0, true},
		{"bad unit", "VmRSS:\t12 MB\n", 0, true},
		{"bad number", "VmRSS:\tx kB\n", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseRSS(strings.NewReader(tt.status))
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("parseRSS = %d, %v; want %d, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestInboundSeq(t *testing.T) {
	tests := []struct {
		name string
		data string
		want uint64
		ok   bool
	}{
		{"envelope", `{"id":"evt_1","webhookMessage":{"payload":{"seq":"i42","t":"1","pad":"xx"}}}`, 42, true},
		{"outbound seq is not inbound", `{"payload":{"seq":"o42"}}`, 0, false},
		{"no seq", `{"payload":{}}`, 0, false},
		{"empty number", `{"seq":"i"}`, 0, false},
		{"not a number", `{"seq":"i4x2"}`, 0, false},
		{"unterminated", `{"seq":"i42`, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := inboundSeq([]byte(tt.data))
			if got != tt.want || ok != tt.ok {
				t.Errorf("inboundSeq = %d, %v; want %d, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestParseSeq(t *testing.T) {
	tests := []struct {
		s    string
		want uint64
		ok   bool
	}{
		{"o17", 17, true}, {"i17", 0, false}, {"o", 0, false}, {"", 0, false}, {"o-1", 0, false}, {"o1x", 0, false},
	}
	for _, tt := range tests {
		if got, ok := parseSeq(tt.s, 'o'); got != tt.want || ok != tt.ok {
			t.Errorf("parseSeq(%q) = %d, %v; want %d, %v", tt.s, got, ok, tt.want, tt.ok)
		}
	}
}

func TestBitset(t *testing.T) {
	var a, b bitset
	for _, i := range []uint64{1, 2, 63, 64, 65, 1000} {
		if a.set(i) {
			t.Errorf("set(%d) said it was there", i)
		}
	}
	if !a.set(64) || a.count() != 6 {
		t.Errorf("a second set(64) said new, or count %d != 6", a.count())
	}
	if a.has(3) || !a.has(1000) || a.has(100000) {
		t.Errorf("has is wrong")
	}
	b.set(1)
	b.set(64)
	n, some := a.missing(&b)
	if n != 4 || len(some) != 4 || some[0] != 2 || some[3] != 1000 {
		t.Errorf("missing = %d %v, want 4 [2 63 65 1000]", n, some)
	}
	if n, _ := b.missing(&a); n != 0 {
		t.Errorf("b has %d numbers a lacks, want 0", n)
	}
}

func TestFaultedDuring(t *testing.T) {
	t0 := time.Unix(1000, 0)
	r := &receiver{}
	r.setMode(fail500, t0.Add(10*time.Second))
	r.setMode(healthy, t0.Add(20*time.Second))
	r.setMode(hang, t0.Add(40*time.Second))
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	tests := []struct {
		name     string
		from, to int
		want     bool
	}{
		{"before any fault", 0, 9, false},
		{"sent before, delivered during", 5, 15, true},
		{"sent during, delivered after", 15, 25, true},
		{"between faults", 21, 39, false},
		{"into the open fault", 35, 45, true},
		{"after the open fault began", 50, 60, true},
	}
	for _, tt := range tests {
		if got := r.faultedDuring(at(tt.from), at(tt.to)); got != tt.want {
			t.Errorf("%s: faultedDuring(%d, %d) = %v, want %v", tt.name, tt.from, tt.to, got, tt.want)
		}
	}
}

func TestReports(t *testing.T) {
	var samples []sample
	for i := 1; i <= 20; i++ {
		ph := "hold"
		if i == 1 {
			ph = "ramp"
		}
		if i > 18 {
			ph = "drain"
		}
		samples = append(samples, sample{At: time.Duration(i) * 10 * time.Second, Phase: ph, Secs: 10, RSS: float64(100 + i),
			HeapInuse: 50, GoroutOps: 300, GoroutAdmin: 300,
			In:  stat{OK: 1000, Err: i % 7 / 6, P99: time.Duration(i) * time.Millisecond},
			Out: stat{OK: 500, P99: 2 * time.Millisecond}, ChurnOK: 10, Failing: map[bool]string{true: "ep1 500"}[i == 4]})
	}
	samples[5].RSS = math.NaN()
	rows := tableRows(samples, time.Minute)
	if len(rows) != 3 {
		t.Fatalf("%d rows, want 3 (the drain left out)", len(rows))
	}
	if r := rows[0]; r.end != time.Minute || r.inOK != 6000 || r.inP99 != 6*time.Millisecond || r.rss != 105 || r.churn != 60 ||
		len(r.faultNames) != 1 || r.errs != 1 {
		t.Errorf("first row %+v", r)
	}
	if r := rows[2]; r.secs != 60 || r.rss != 118 {
		t.Errorf("last row %+v, want 60 s ending with RSS 118", r)
	}
	var csv bytes.Buffer
	if err := writeCSV(&csv, samples); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(csv.String()), "\n")
	if len(lines) != 21 || !strings.HasPrefix(lines[0], "elapsed_s,phase,") || !strings.HasPrefix(lines[4], "40.0,hold,10.0,104.0,50.0,") {
		t.Errorf("CSV:\n%s", csv.String())
	}
	if !strings.Contains(lines[6], ",NaN,") {
		t.Errorf("an unread RSS is not NaN in the CSV: %s", lines[6])
	}
	var md bytes.Buffer
	sum := summary{Duration: 3 * time.Minute, Growth: []growth{checkGrowth(heapRule, nil)}}
	sum.judge()
	if err := writeMarkdown(&md, sum, samples); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| min | RSS MiB |", "| 1 | 105 | 50 | 300 | 100 |", "verdict: PASS", "ep1 500"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("soak.md lacks %q:\n%s", want, md.String())
		}
	}
	if rowEvery(30*time.Minute) != 5*time.Minute || rowEvery(3*time.Minute) != time.Minute {
		t.Errorf("rowEvery is wrong")
	}
}

func TestJudge(t *testing.T) {
	tests := []struct {
		name string
		sum  summary
		want string
	}{
		{"clean", summary{}, ""},
		{"errors", summary{Errors: map[string]int{"inbound: HTTP 503": 2}}, "2 errors during the hold and drain (inbound: HTTP 503 ×2)"},
		{"lost inbound", summary{InLost: 1, InLostSome: []uint64{9}}, "1 acknowledged POSTs not in HOOKGATE_INBOUND"},
		{"lost outbound", summary{OutLost: 3}, "3 acknowledged messages never reached"},
		{"leak", summary{Growth: []growth{checkGrowth(goroutineRule, ramp(100, 100, 1000))}}, "leak: goroutines"},
		{"dev died", summary{DevExited: true}, "hookgate dev exited"},
		{"ramp errors alone pass", summary{RampErrors: map[string]int{"inbound: HTTP 503": 1}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.sum.judge()
			got := strings.Join(tt.sum.Failures, "; ")
			if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
				t.Errorf("failures %q, want %q", got, tt.want)
			}
		})
	}
}
