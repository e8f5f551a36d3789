package starter

import (
	"time"

	"github.com/blueprint-etl/blueprint/internal/badinput"
)

// ParseStartDelay reads `run --start-in` (a Go duration, e.g. 10m or
// 1h30m) or `--start-at` (an RFC 3339 time, e.g.
// 2026-12-01T09:00:00-06:00) into the run's start delay from now. Both
// empty is no delay. The rules: one of the two at most, a duration above
// zero, a time in the future. Every error is a one-line
// *badinput.Error naming the value and the rule.
func ParseStartDelay(startIn, startAt string, now time.Time) (time.Duration, error) {
	switch {
	case startIn != "" && startAt != "":
		return 0, badinput.Errorf("--start-in %s and --start-at %s: give one or the other, not both", startIn, startAt)
	case startIn != "":
		d, err := time.ParseDuration(startIn)
		if err != nil {
			return 0, badinput.Errorf("--start-in %q: not a duration; use a number with a unit, e.g. 90s, 10m or 1h30m", startIn)
		}
		if d <= 0 {
			return 0, badinput.Errorf("--start-in %s: must be more than zero (leave it out to start the run now)", startIn)
		}
		return d, nil
	case startAt != "":
		t, err := time.Parse(time.RFC3339, startAt)
		if err != nil {
			return 0, badinput.Errorf("--start-at %q: not an RFC 3339 time with a UTC offset, e.g. 2026-12-01T09:00:00-06:00 or 2026-12-01T15:00:00Z", startAt)
		}
		d := t.Sub(now)
		if d <= 0 {
			return 0, badinput.Errorf("--start-at %s: is not in the future (it is now %s); leave it out to start the run now", startAt, now.UTC().Format(time.RFC3339))
		}
		return d, nil
	}
	return 0, nil
}
