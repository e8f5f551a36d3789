package schedules

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/blueprint-etl/blueprint/deployments"
)

// The Temporal server does not keep a cron string: it turns it into
// structured calendar ranges, so a schedule described by the server never
// says "0 9 * * *". To tell whether a deployed schedule matches the manifest,
// both sides are expanded here into the sets of seconds, minutes, hours...
// they match, which compares equal however the ranges happen to be written
// ("*", "0-6", "sun-sat"). The same sets render back as a cron line for
// `deploy` diffs and `deployment ls`.

// field is one calendar field: its name and bounds.
type field struct {
	name   string
	lo, hi int
}

var (
	secondField = field{name: "second", lo: 0, hi: 59}
	minuteField = field{name: "minute", lo: 0, hi: 59}
	hourField   = field{name: "hour", lo: 0, hi: 23}
	domField    = field{name: "day-of-month", lo: 1, hi: 31}
	monthField  = field{name: "month", lo: 1, hi: 12}
	dowField    = field{name: "day-of-week", lo: 0, hi: 6}
)

// calendar is a calendar spec expanded into sorted value sets. A nil years
// set matches every year.
type calendar struct {
	seconds, minutes, hours, doms, months, dows, years []int
}

// parseCron expands a cron expression into the sets of times it matches.
// deployments.ParseCron (robfig/cron) parses it, as the manifest loader
// did; only its bit sets are read here.
func parseCron(expr string) (calendar, error) {
	spec, err := deployments.ParseCron(expr)
	if err != nil {
		return calendar{}, fmt.Errorf("cron %w", err)
	}
	return calendar{
		seconds: fromBits(secondField, spec.Second),
		minutes: fromBits(minuteField, spec.Minute),
		hours:   fromBits(hourField, spec.Hour),
		doms:    fromBits(domField, spec.Dom),
		months:  fromBits(monthField, spec.Month),
		dows:    fromBits(dowField, spec.Dow),
	}, nil
}

// fromBits expands one of robfig/cron's field bit sets (bit v set: value v
// matches; the top bit marks a "*" and is not a value).
func fromBits(f field, bits uint64) []int {
	var set []int
	for v := f.lo; v <= f.hi; v++ {
		if bits&(1<<uint(v)) != 0 {
			set = append(set, v)
		}
	}
	return set
}

// normalize sorts a set, folds day-of-week 7 into 0 and drops duplicates
// and out-of-range values.
func normalize(f field, set []int) []int {
	out := make([]int, 0, len(set))
	for _, v := range set {
		if f.name == dowField.name && v == 7 {
			v = 0
		}
		if v >= f.lo && v <= f.hi {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// fromRanges expands the server's ranges; an empty list means the field's
// default (the SDK's: 0 for second, minute and hour, everything otherwise).
func fromRanges(f field, ranges []client.ScheduleRange, def []int) []int {
	if len(ranges) == 0 {
		return def
	}
	var set []int
	for _, r := range ranges {
		end, step := r.End, r.Step
		if end < r.Start {
			end = r.Start
		}
		if step < 1 {
			step = 1
		}
		for v := r.Start; v <= end; v += step {
			set = append(set, v)
		}
	}
	return normalize(f, set)
}

// fromServer expands a calendar spec as the server describes it.
func fromServer(c client.ScheduleCalendarSpec) calendar {
	cal := calendar{
		seconds: fromRanges(secondField, c.Second, []int{0}),
		minutes: fromRanges(minuteField, c.Minute, []int{0}),
		hours:   fromRanges(hourField, c.Hour, []int{0}),
		doms:    fromRanges(domField, c.DayOfMonth, full(domField)),
		months:  fromRanges(monthField, c.Month, full(monthField)),
		dows:    fromRanges(dowField, c.DayOfWeek, full(dowField)),
	}
	if len(c.Year) > 0 {
		cal.years = fromRanges(field{name: "year", lo: 0, hi: 1 << 30}, c.Year, nil)
	}
	return cal
}

func full(f field) []int {
	set := make([]int, 0, f.hi-f.lo+1)
	for v := f.lo; v <= f.hi; v++ {
		set = append(set, v)
	}
	return set
}

func (c calendar) equal(o calendar) bool {
	return slices.Equal(c.seconds, o.seconds) && slices.Equal(c.minutes, o.minutes) &&
		slices.Equal(c.hours, o.hours) && slices.Equal(c.doms, o.doms) &&
		slices.Equal(c.months, o.months) && slices.Equal(c.dows, o.dows) &&
		slices.Equal(c.years, o.years)
}

// String renders the calendar as a cron line: 5 fields, with the seconds
// in front and the years behind only when they are not the defaults.
func (c calendar) String() string {
	parts := []string{
		renderField(minuteField, c.minutes), renderField(hourField, c.hours),
		renderField(domField, c.doms), renderField(monthField, c.months),
		renderField(dowField, c.dows),
	}
	if !slices.Equal(c.seconds, []int{0}) {
		parts = append([]string{renderField(secondField, c.seconds)}, parts...)
	}
	if c.years != nil {
		parts = append(parts, renderField(field{name: "year", lo: c.years[0], hi: c.years[len(c.years)-1]}, c.years))
	}
	return strings.Join(parts, " ")
}

// renderField writes a value set compactly: "*", "*/15", "1-5", "1,15".
func renderField(f field, set []int) string {
	switch {
	case len(set) == 0:
		return "-"
	case len(set) == f.hi-f.lo+1 && len(set) > 1:
		return "*"
	}
	if len(set) > 2 && set[0] == f.lo {
		step := set[1] - set[0]
		progression := step > 1
		for i := 2; i < len(set) && progression; i++ {
			progression = set[i]-set[i-1] == step
		}
		if progression && set[len(set)-1]+step > f.hi {
			return fmt.Sprintf("*/%d", step)
		}
	}
	var items []string
	for i := 0; i < len(set); {
		j := i
		for j+1 < len(set) && set[j+1] == set[j]+1 {
			j++
		}
		switch {
		case j-i >= 2:
			items = append(items, fmt.Sprintf("%d-%d", set[i], set[j]))
		case j-i == 1:
			items = append(items, strconv.Itoa(set[i]), strconv.Itoa(set[j]))
		default:
			items = append(items, strconv.Itoa(set[i]))
		}
		i = j + 1
	}
	return strings.Join(items, ",")
}

// describeSpec renders a server spec's times: its calendars as cron lines
// and its intervals as "@every", joined with "; ".
func describeSpec(s *client.ScheduleSpec) string {
	if s == nil {
		return ""
	}
	var parts []string
	for _, c := range s.Calendars {
		parts = append(parts, fromServer(c).String())
	}
	for _, iv := range s.Intervals {
		parts = append(parts, deployments.FormatInterval(iv.Every, iv.Offset))
	}
	parts = append(parts, s.CronExpressions...)
	return strings.Join(parts, "; ")
}

// specMatches reports whether the server's spec fires exactly at the times
// of the one calendar want: one calendar, no intervals, no skips, no
// start or end.
func specMatches(s *client.ScheduleSpec, want calendar) bool {
	if s == nil || len(s.Calendars) != 1 || len(s.Intervals) != 0 || len(s.CronExpressions) != 0 ||
		len(s.Skip) != 0 || !s.StartAt.IsZero() || !s.EndAt.IsZero() {
		return false
	}
	return fromServer(s.Calendars[0]).equal(want)
}

// intervalMatches reports whether the server's spec fires exactly every
// every at offset: one interval, no calendars, no skips, no start or end.
func intervalMatches(s *client.ScheduleSpec, every, offset time.Duration) bool {
	if s == nil || len(s.Intervals) != 1 || len(s.Calendars) != 0 || len(s.CronExpressions) != 0 ||
		len(s.Skip) != 0 || !s.StartAt.IsZero() || !s.EndAt.IsZero() {
		return false
	}
	return s.Intervals[0].Every == every && s.Intervals[0].Offset == offset
}
