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

// Schedule says when a deployment runs by itself: one entry of its
// `schedules:` list (or its single `schedule:`). Each becomes one Temporal
// Schedule, whose ID Deployment.ScheduleID gives.
type Schedule struct {
	// Slug names the schedule within its deployment (`--schedule SLUG`)
	// and, from the second schedule on, ends its ID. A loaded manifest
	// always has one: the manifest's, else the entry's position ("1", "2"...).
	Slug string
	// Cron is a 5-field cron expression (minute hour day-of-month month
	// day-of-week) or a descriptor such as @daily, evaluated in Timezone.
	// Empty for an interval schedule.
	Cron string
	// Interval, when not 0, makes the schedule fire every Interval, at the
	// times that are Offset past a multiple of Interval since the Unix
	// epoch, as the Temporal server counts them (Cron is empty then).
	Interval time.Duration
	Offset   time.Duration
	// Timezone is an IANA time zone name; DefaultTimezone when the manifest
	// names none. An interval does not depend on it: it only says in which
	// zone times are shown.
	Timezone string
	// Paused is nil when the manifest does not say: deploy then leaves the
	// server's paused state alone (a new schedule starts unpaused), so that
	// an operator's pause survives a redeploy. true/false force the state.
	// The manifest sets it with `paused:` or, Prefect's way, `active:`
	// (active: false is paused: true).
	Paused *bool
	// Parameters are the entry's own parameter values, in the canonical
	// form of Deployment.Parameters, merged over the deployment's (see
	// Deployment.ForSchedule). Nil when the entry has none.
	Parameters map[string]any
	// Note goes with the paused state on the server.
	Note string
	// Overlap is what happens when a run is due while the previous one is
	// still going: one of OverlapNames() (DefaultOverlap if absent).
	Overlap string
	// CatchupWindow is how late a run missed during an outage may still
	// start.
	CatchupWindow time.Duration
	// Jitter delays each run by a random amount up to this, so that many
	// schedules at the same minute do not all start at once.
	Jitter time.Duration
	// Location is Timezone loaded.
	Location *time.Location
	// Line is the manifest line of the `schedule:` key or of the list item.
	Line int
}

// When says when the schedule fires, in one line: the cron expression, or
// the interval as FormatInterval writes it.
func (s Schedule) When() string {
	if s.Interval > 0 {
		return FormatInterval(s.Interval, s.Offset)
	}
	return s.Cron
}

// FormatInterval writes an interval schedule as "@every 15m0s", with the
// offset after a slash ("@every 1h0m0s/15m0s"): how plans, diffs and
// listings show an interval, the manifest's and the server's alike.
func FormatInterval(every, offset time.Duration) string {
	out := "@every " + every.String()
	if offset != 0 {
		out += "/" + offset.String()
	}
	return out
}

// MinInterval is the shortest interval of a schedule: the step of a cron
// schedule too. Intervals and offsets are whole seconds, the server's unit.
const MinInterval = time.Minute

// OverlapPolicy returns the Temporal overlap policy of the schedule
// (SKIP for an empty or unknown Overlap, which a loaded manifest never has).
func (s Schedule) OverlapPolicy() enumspb.ScheduleOverlapPolicy {
	if p, err := ParseOverlap(s.Overlap); err == nil {
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
	loc := s.Location
	if loc == nil {
		var err error
		if loc, err = loadLocation(s.Timezone); err != nil {
			return nil
		}
	}
	if s.Interval > 0 {
		return nextIntervals(s.Interval, s.Offset, after, n, loc)
	}
	sched, err := ParseCron(s.Cron)
	if err != nil {
		return nil
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

// nextIntervals computes an interval schedule's times as the Temporal
// server does (service/worker/scheduler's nextIntervalTime): in whole
// seconds, the first time strictly after after that is offset past a
// multiple of every since the Unix epoch, whatever the time zone.
func nextIntervals(every, offset time.Duration, after time.Time, n int, loc *time.Location) []time.Time {
	iv := max(int64(every/time.Second), 1)
	ph := max(int64(offset/time.Second), 0)
	ts := after.Unix() // whole seconds, rounded down
	next := ((ts-ph)/iv+1)*iv + ph
	out := make([]time.Time, 0, n)
	for range n {
		out = append(out, time.Unix(next, 0).In(loc))
		next += iv
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

// ParseCron is the one cron parser of blueprint: the manifest loader, the
// schedule's next-run times and the comparison of a deployed schedule with
// the manifest all read cron through it. It accepts what both robfig/cron
// and the Temporal server accept, and when an expression is wrong, says
// which field breaks which rule. The result keeps robfig/cron's bit sets:
// the seconds field is always 0.
func ParseCron(expr string) (*cron.SpecSchedule, error) {
	expr = strings.TrimSpace(expr)
	switch {
	case expr == "":
		return nil, fmt.Errorf(`is empty; use 5 fields such as "0 9 * * *" (minute hour day-of-month month day-of-week) or a descriptor such as @daily`)
	case strings.HasPrefix(expr, "TZ=") || strings.HasPrefix(expr, "CRON_TZ="):
		return nil, fmt.Errorf("%q: a time zone prefix is not allowed here; set schedule.timezone instead", expr)
	case strings.HasPrefix(expr, "@every"):
		return nil, fmt.Errorf("%q: @every is not a cron expression; write the schedule's interval instead of its cron, e.g. interval: 15m", expr)
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
		for i, f := range fields {
			// robfig/cron reads "?" as "*"; the Temporal server refuses it.
			if strings.Contains(f, "?") {
				return nil, fmt.Errorf(`%q: %s field %q: the "?" wildcard is not supported by Temporal; use "*"`, expr, cronFields[i], f)
			}
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
// malformed input into an error. With the parser's options (no @every) a
// schedule is always a *cron.SpecSchedule.
func safeParse(expr string) (s *cron.SpecSchedule, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("cannot be parsed")
		}
	}()
	parsed, err := cronParser.Parse(expr)
	if err != nil {
		return nil, err
	}
	spec, ok := parsed.(*cron.SpecSchedule)
	if !ok {
		return nil, fmt.Errorf("is not a calendar schedule")
	}
	return spec, nil
}
