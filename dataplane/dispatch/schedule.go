package dispatch

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// State is the state of one delivery: a (message, endpoint) pair.
type State string

// Delivery states (DESIGN.md "Outbound contract").
const (
	StatePending   State = "pending"
	StateSucceeded State = "succeeded"
	StateFailed    State = "failed"
	StateCancelled State = "cancelled"
)

// Schedule limits.
const (
	MaxScheduleAttempts = 32
	MaxScheduleDelay    = 30 * 24 * time.Hour
)

// DefaultDelays is the retry schedule of DESIGN.md: the delay before each
// attempt, the first immediately, eight attempts in all.
func DefaultDelays() []time.Duration {
	return []time.Duration{0, 5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour}
}

// ErrSchedule is returned for a schedule that cannot be used.
var ErrSchedule = errors.New("invalid retry schedule")

// Schedule says when the attempts of a delivery are due. It is a value;
// its methods are pure and take the time they reason about.
type Schedule struct {
	delays []time.Duration
	scale  float64
}

// NewSchedule returns a schedule of the given delays (nil: DefaultDelays;
// delays[i] is the wait before attempt i+1, counted from the end of
// attempt i, delays[0] from the message's arrival) with every wait
// multiplied by scale (0: 1; the --retry-time-scale of tests, e.g. 0.001).
func NewSchedule(delays []time.Duration, scale float64) (Schedule, error) {
	if delays == nil {
		delays = DefaultDelays()
	}
	if len(delays) == 0 || len(delays) > MaxScheduleAttempts {
		return Schedule{}, fmt.Errorf("%w: %d attempts, want 1 to %d", ErrSchedule, len(delays), MaxScheduleAttempts)
	}
	for i, d := range delays {
		if d < 0 || d > MaxScheduleDelay {
			return Schedule{}, fmt.Errorf("%w: delay %d is %s, want 0 to %s", ErrSchedule, i+1, d, MaxScheduleDelay)
		}
	}
	if scale == 0 {
		scale = 1
	}
	if math.IsNaN(scale) || math.IsInf(scale, 0) || scale <= 0 || scale > 1 {
		return Schedule{}, fmt.Errorf("%w: time scale %v, want more than 0 and at most 1", ErrSchedule, scale)
	}
	return Schedule{delays: append([]time.Duration(nil), delays...), scale: scale}, nil
}

// Attempts is the number of attempts the schedule makes.
func (s Schedule) Attempts() int { return len(s.delays) }

// Delay is the scaled wait before attempt n (from 1); false when the
// schedule has no attempt n.
func (s Schedule) Delay(n int) (time.Duration, bool) {
	if n < 1 || n > len(s.delays) {
		return 0, false
	}
	return s.scaled(s.delays[n-1]), true
}

// RetryDelay is the wait before attempt n after a failure that carried
// retryAfter (0 for none): the scheduled delay, or retryAfter clamped to
// [scheduled, 2 × scheduled] so a receiver can slow retries down but
// neither stall a delivery nor hurry it. The clamp works in unscaled time,
// then the result is scaled, so a compressed schedule honours Retry-After
// in the same proportion.
func (s Schedule) RetryDelay(n int, retryAfter time.Duration) (time.Duration, bool) {
	if n < 1 || n > len(s.delays) {
		return 0, false
	}
	d := s.delays[n-1]
	if retryAfter > d {
		d = min(retryAfter, 2*d)
	}
	return s.scaled(d), true
}

// Next decides what follows attempt a, which ended at now: the delivery
// succeeded, failed (the last attempt failed, or the endpoint answered 410
// and is disabled), or stays pending with the next attempt due at the
// returned time. A cancelled attempt (the dispatcher stopped) does not
// count: the same attempt is due again at once.
func (s Schedule) Next(a *Attempt, now time.Time) (time.Time, State) {
	switch {
	case a.Succeeded():
		return time.Time{}, StateSucceeded
	case a.ErrorClass == ClassCancelled:
		return now, StatePending
	case a.Disable != "":
		return time.Time{}, StateFailed
	}
	d, ok := s.RetryDelay(a.Number+1, a.RetryAfter)
	if !ok {
		return time.Time{}, StateFailed
	}
	return now.Add(d), StatePending
}

func (s Schedule) scaled(d time.Duration) time.Duration {
	if s.scale == 1 {
		return d
	}
	return time.Duration(float64(d) * s.scale)
}
