package dispatch_test

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/hookgate/hookgate/dataplane/dispatch"
)

func mustSchedule(t *testing.T, delays []time.Duration, scale float64) dispatch.Schedule {
	t.Helper()
	s, err := dispatch.NewSchedule(delays, scale)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestScheduleDefault(t *testing.T) {
	t.Parallel()
	s := mustSchedule(t, nil, 0)
	want := []time.Duration{0, 5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour}
	if s.Attempts() != len(want) {
		t.Fatalf("attempts = %d", s.Attempts())
	}
	for i, w := range want {
		if d, ok := s.Delay(i + 1); !ok || d != w {
			t.Errorf("delay %d = %s %v, want %s", i+1, d, ok, w)
		}
	}
	for _, n := range []int{0, -1, 9} {
		if _, ok := s.Delay(n); ok {
			t.Errorf("delay %d exists", n)
		}
	}
	// Changing the returned default does not change schedules.
	dispatch.DefaultDelays()[1] = time.Hour
	if d, _ := mustSchedule(t, nil, 0).Delay(2); d != 5*time.Second {
		t.Fatalf("default changed to %s", d)
	}
}

func TestNewScheduleRejects(t *testing.T) {
	t.Parallel()
	many := make([]time.Duration, dispatch.MaxScheduleAttempts+1)
	tests := []struct {
		name   string
		delays []time.Duration
		scale  float64
	}{
		{"empty", []time.Duration{}, 1},
		{"too many", many, 1},
		{"negative delay", []time.Duration{0, -time.Second}, 1},
		{"delay too long", []time.Duration{0, dispatch.MaxScheduleDelay + 1}, 1},
		{"negative scale", nil, -1},
		{"scale above 1", nil, 2},
		{"NaN scale", nil, math.NaN()},
		{"Inf scale", nil, math.Inf(1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := dispatch.NewSchedule(tt.delays, tt.scale); !errors.Is(err, dispatch.ErrSchedule) {
				t.Fatalf("err = %v, want ErrSchedule", err)
			}
		})
	}
	// The schedule keeps its own copy of the delays.
	in := []time.Duration{0, time.Second}
	s := mustSchedule(t, in, 1)
	in[1] = time.Hour
	if d, _ := s.Delay(2); d != time.Second {
		t.Fatalf("schedule shares the caller's slice: %s", d)
	}
}

func TestScheduleNext(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 23, 15, 30, 0, 0, time.UTC)
	std := mustSchedule(t, nil, 1)
	fast := mustSchedule(t, nil, 0.001)
	custom := mustSchedule(t, []time.Duration{0, time.Minute, time.Hour}, 1)
	fail := func(n int) *dispatch.Attempt {
		return &dispatch.Attempt{Number: n, StatusCode: 500, ErrorClass: dispatch.ClassHTTPStatus}
	}
	withRA := func(n int, ra time.Duration) *dispatch.Attempt {
		a := fail(n)
		a.StatusCode, a.RetryAfter = 429, ra
		return a
	}
	tests := []struct {
		name  string
		s     dispatch.Schedule
		a     *dispatch.Attempt
		in    time.Duration // next due after now; -1 = none
		state dispatch.State
	}{
		{"success", std, &dispatch.Attempt{Number: 1, StatusCode: 200}, -1, dispatch.StateSucceeded},
		{"1st failed", std, fail(1), 5 * time.Second, dispatch.StatePending},
		{"2nd failed", std, fail(2), 5 * time.Minute, dispatch.StatePending},
		{"3rd failed", std, fail(3), 30 * time.Minute, dispatch.StatePending},
		{"4th failed", std, fail(4), 2 * time.Hour, dispatch.StatePending},
		{"5th failed", std, fail(5), 5 * time.Hour, dispatch.StatePending},
		{"6th failed", std, fail(6), 10 * time.Hour, dispatch.StatePending},
		{"7th failed", std, fail(7), 10 * time.Hour, dispatch.StatePending},
		{"last failed", std, fail(8), -1, dispatch.StateFailed},
		{"beyond last", std, fail(12), -1, dispatch.StateFailed},
		{"timeout", std, &dispatch.Attempt{Number: 1, ErrorClass: dispatch.ClassTimeout}, 5 * time.Second, dispatch.StatePending},
		{"blocked", std, &dispatch.Attempt{Number: 2, ErrorClass: dispatch.ClassBlockedAddress}, 5 * time.Minute, dispatch.StatePending},
		{"410 fails at once", std, &dispatch.Attempt{Number: 1, StatusCode: 410, ErrorClass: dispatch.ClassHTTPStatus, Disable: dispatch.ReasonGone}, -1, dispatch.StateFailed},
		{"cancelled repeats now", std, &dispatch.Attempt{Number: 3, ErrorClass: dispatch.ClassCancelled}, 0, dispatch.StatePending},
		{"retry-after inside", std, withRA(2, 7*time.Minute), 7 * time.Minute, dispatch.StatePending},
		{"retry-after below scheduled", std, withRA(2, time.Second), 5 * time.Minute, dispatch.StatePending},
		{"retry-after above twice", std, withRA(2, 24*time.Hour), 10 * time.Minute, dispatch.StatePending},
		{"retry-after exactly twice", std, withRA(1, 10*time.Second), 10 * time.Second, dispatch.StatePending},
		{"retry-after on last", std, withRA(8, time.Minute), -1, dispatch.StateFailed},
		{"scaled 1st", fast, fail(1), 5 * time.Millisecond, dispatch.StatePending},
		{"scaled 2nd", fast, fail(2), 300 * time.Millisecond, dispatch.StatePending},
		{"scaled retry-after", fast, withRA(1, 8*time.Second), 8 * time.Millisecond, dispatch.StatePending},
		{"scaled last", fast, fail(8), -1, dispatch.StateFailed},
		{"custom 1st", custom, fail(1), time.Minute, dispatch.StatePending},
		{"custom 2nd", custom, fail(2), time.Hour, dispatch.StatePending},
		{"custom last", custom, fail(3), -1, dispatch.StateFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next, state := tt.s.Next(tt.a, now)
			if state != tt.state {
				t.Fatalf("state = %s, want %s", state, tt.state)
			}
			if tt.in < 0 {
				if !next.IsZero() {
					t.Fatalf("next = %s, want none", next)
				}
				return
			}
			if want := now.Add(tt.in); !next.Equal(want) {
				t.Fatalf("next = %s, want %s", next.Sub(now), tt.in)
			}
		})
	}
}
