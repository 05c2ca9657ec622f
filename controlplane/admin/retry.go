package admin

import (
	"strconv"
	"time"

	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
)

// Limits of a tenant's retry schedule.
const (
	maxRetries    = 20
	maxRetryDelay = 24 * time.Hour
)

// validateRetrySchedule checks a tenant's override: at most 20 delays,
// each 0 to 24 h. Unset or empty means the default schedule.
func validateRetrySchedule(rs *hookgatev1.RetrySchedule) error {
	if n := len(rs.GetDelays()); n > maxRetries {
		return invalid("tenant.retry_schedule.delays", "at most %d delays, got %d", maxRetries, n)
	}
	for i, d := range rs.GetDelays() {
		field := "tenant.retry_schedule.delays[" + strconv.Itoa(i) + "]"
		if d == nil || d.CheckValid() != nil {
			return invalid(field, "is not a valid duration")
		}
		if v := d.AsDuration(); v < 0 || v > maxRetryDelay {
			return invalid(field, "must be 0 to %s, got %s", maxRetryDelay, v)
		}
	}
	return nil
}
