package deployments

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/blueprint-etl/blueprint/internal/suggest"

	// The time zone database is embedded so that schedules validate the
	// same way on machines (and containers) without /usr/share/zoneinfo.
	_ "time/tzdata"
)

// Schedule says when a deployment runs by itself. It becomes a Temporal
// Schedule whose ID is the deployment name.
type Schedule struct {
	// Cron is a 5-field cron expression (minute hour day-of-month month
	// day-of-week) or a descriptor such as @daily, evaluated in Timezone.
	Cron string
	// Timezone is an IANA time zone name; DefaultTimezone when the manifest
	// names none.
	Timezone string
	// Paused is nil when the manifest does not say: deploy then leaves the
	// server's paused state alone (a new schedule starts unpaused), so that
	// an operator's pause survives a redeploy. true/false force the state.
	Paused *bool
	// Note goes with the paused state on the server.
	Note string
	// Overlap is what happens when a run is due while the previous one is
	// still going: one of OverlapPolicies' keys (DefaultOverlap if absent).
	Overlap string
	// CatchupWindow is how late a run missed during an outage may still
	// start.
	CatchupWindow time.Duration
	// Jitter delays each run by a random amount up to this, so that many
	// schedules at the same minute do not all start at once.
	Jitter time.Duration
	// Location is Timezone loaded.
	Location *time.Location
	// Line is the manifest line of the `schedule:` key.
	Line int
}

// OverlapPolicies maps the manifest's overlap values to Temporal's.
var OverlapPolicies = map[string]enumspb.ScheduleOverlapPolicy{
	"skip":            enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
	"buffer_one":      enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE,
	"buffer_all":      enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ALL,
	"cancel_other":    enumspb.SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER,
	"terminate_other": enumspb.SCHEDULE_OVERLAP_POLICY_TERMINATE_OTHER,
	"allow_all":       enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL,
}

// overlapNames lists OverlapPolicies' keys in documentation order.
var overlapNames = []string{"skip", "buffer_one", "buffer_all", "cancel_other", "terminate_other", "allow_all"}

// OverlapPolicy returns the Temporal overlap policy of the schedule
// (SKIP for an empty or unknown Overlap, which a loaded manifest never has).
func (s Schedule) OverlapPolicy() enumspb.ScheduleOverlapPolicy {
	if p, ok := OverlapPolicies[s.Overlap]; ok {
		return p
	}
	return enumspb.SCHEDULE_OVERLAP_POLICY_SKIP
}

// Next returns the next n times the schedule fires strictly after after, in
// the schedule's time zone, ignoring jitter. It returns nil for an invalid
// cron expression (a loaded manifest never has one).
func (s Schedule) Next(after time.Time, n int) []time.Time {
	if n <= 0 {
		return nil
	}
	sched, err := parseCron(s.Cron)
	if err != nil {
		return nil
	}
	loc := s.Location
	if loc == nil {
		if loc, err = loadLocation(s.Timezone); err != nil {
			return nil
		}
	}
	out := make([]time.Time, 0, n)
	t := after.In(loc)
	for range n {
		// The parsed schedule carries time.Local, which robfig/cron reads
		// as "the zone of the time given": loc.
		t = sched.Next(t)
		if t.IsZero() {
			break
		}
		out = append(out, t)
	}
	return out
}

// loadLocation loads an IANA zone; "" is UTC. "Local" is refused: it means
// a different zone on every machine, and the server has its own.
func loadLocation(name string) (*time.Location, error) {
	switch name {
	case "":
		return time.UTC, nil
	case "Local":
		return nil, fmt.Errorf("%q is this machine's zone, not a fixed one; use an IANA name such as America/Chicago or UTC", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q; use an IANA name such as America/Chicago, Europe/Berlin or UTC", name)
	}
	return loc, nil
}

// cronParser accepts what both robfig/cron and Temporal's schedule spec
// understand: 5 fields or a descriptor.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

var (
	cronFields  = []string{"minute", "hour", "day-of-month", "month", "day-of-week"}
	cronAllowed = []string{"0-59", "0-23", "1-31", "1-12 or JAN-DEC", "0-6 or SUN-SAT"}
	descriptors = []string{"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
)

// parseCron checks a cron expression and, when it is wrong, says which
// field breaks which rule.
func parseCron(expr string) (cron.Schedule, error) {
	expr = strings.TrimSpace(expr)
	switch {
	case expr == "":
		return nil, fmt.Errorf(`is empty; use 5 fields such as "0 9 * * *" (minute hour day-of-month month day-of-week) or a descriptor such as @daily`)
	case strings.HasPrefix(expr, "TZ=") || strings.HasPrefix(expr, "CRON_TZ="):
		return nil, fmt.Errorf("%q: a time zone prefix is not allowed here; set schedule.timezone instead", expr)
	case strings.HasPrefix(expr, "@every"):
		return nil, fmt.Errorf("%q: interval schedules are not supported; use a cron expression such as \"*/15 * * * *\"", expr)
	case strings.HasPrefix(expr, "@"):
		if !slices.Contains(descriptors, expr) {
			return nil, fmt.Errorf("unknown descriptor %q (valid: %s)%s", expr, strings.Join(descriptors, ", "), suggest.DidYouMean(expr, descriptors))
		}
	default:
		fields := strings.Fields(expr)
		if len(fields) != len(cronFields) {
			hint := ""
			if len(fields) == 6 {
				hint = " (seconds are not supported)"
			}
			return nil, fmt.Errorf("%q has %d fields, want 5: %s%s", expr, len(fields), strings.Join(cronFields, " "), hint)
		}
		if _, err := safeParse(expr); err != nil {
			// Find the field to blame by parsing it alone, with every other
			// field a wildcard.
			for i, f := range fields {
				probe := slices.Repeat([]string{"*"}, len(cronFields))
				probe[i] = f
				if _, ferr := safeParse(strings.Join(probe, " ")); ferr != nil {
					msg, _, _ := strings.Cut(ferr.Error(), ": strconv.")
					return nil, fmt.Errorf("%q: %s field %q: %s (allowed: %s, combined with * , - /)", expr, cronFields[i], f, msg, cronAllowed[i])
				}
			}
			return nil, fmt.Errorf("%q: %v", expr, err)
		}
	}
	sched, err := safeParse(expr)
	if err != nil {
		return nil, fmt.Errorf("%q: %v", expr, err)
	}
	// robfig/cron gives up after five years; a leap day fires within four.
	if sched.Next(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)).IsZero() {
		return nil, fmt.Errorf("%q never fires (no date matches its day-of-month and month)", expr)
	}
	return sched, nil
}

// safeParse is cronParser.Parse, turning a panic inside the library on
// malformed input into an error.
func safeParse(expr string) (s cron.Schedule, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("cannot be parsed")
		}
	}()
	return cronParser.Parse(expr)
}
