package schedules

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
)

func TestParseCron(t *testing.T) {
	all := func(lo, hi int) []int { return full(field{lo: lo, hi: hi}) }
	tests := []struct {
		cron string
		want calendar
		text string // String() of the result
	}{
		{"0 9 * * *", calendar{seconds: []int{0}, minutes: []int{0}, hours: []int{9}, doms: all(1, 31), months: all(1, 12), dows: all(0, 6)}, "0 9 * * *"},
		{"*/15 9-17 * * MON-FRI", calendar{seconds: []int{0}, minutes: []int{0, 15, 30, 45}, hours: all(9, 17), doms: all(1, 31), months: all(1, 12), dows: []int{1, 2, 3, 4, 5}}, "*/15 9-17 * * 1-5"},
		{"0 0 1,15 jan,Jul sun", calendar{seconds: []int{0}, minutes: []int{0}, hours: []int{0}, doms: []int{1, 15}, months: []int{1, 7}, dows: []int{0}}, "0 0 1,15 1,7 0"},
		{"5/20 * * * 0", calendar{seconds: []int{0}, minutes: []int{5, 25, 45}, hours: all(0, 23), doms: all(1, 31), months: all(1, 12), dows: []int{0}}, "5,25,45 * * * 0"},
		{"1-10/3 0 * * 0-6", calendar{seconds: []int{0}, minutes: []int{1, 4, 7, 10}, hours: []int{0}, doms: all(1, 31), months: all(1, 12), dows: all(0, 6)}, "1,4,7,10 0 * * *"},
		{"@daily", calendar{seconds: []int{0}, minutes: []int{0}, hours: []int{0}, doms: all(1, 31), months: all(1, 12), dows: all(0, 6)}, "0 0 * * *"},
		{"@hourly", calendar{seconds: []int{0}, minutes: []int{0}, hours: all(0, 23), doms: all(1, 31), months: all(1, 12), dows: all(0, 6)}, "0 * * * *"},
		{" 00 09  * * sun-sat ", calendar{seconds: []int{0}, minutes: []int{0}, hours: []int{9}, doms: all(1, 31), months: all(1, 12), dows: all(0, 6)}, "0 9 * * *"},
	}
	for _, tt := range tests {
		t.Run(tt.cron, func(t *testing.T) {
			got, err := parseCron(tt.cron)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.text, got.String())
			// What renders must parse back to the same times.
			again, err := parseCron(got.String())
			require.NoError(t, err)
			assert.True(t, again.equal(got), "round trip of %q", got.String())
		})
	}
}

func TestParseCronRejects(t *testing.T) {
	// The messages are deployments.ParseCron's: the one parser.
	tests := []struct{ cron, msg string }{
		{"0 9 ? * *", `day-of-month field "?": the "?" wildcard is not supported by Temporal; use "*"`},
		{"0 9 * *", "has 4 fields, want 5"},
		{"0 24 * * *", `hour field "24": end of range (24) above maximum (23)`},
		{"0 9 * * 5-2", `day-of-week field "5-2": beginning of range (5) beyond end of range (2)`},
		{"*/0 * * * *", `minute field "*/0"`},
		{"0 9 L * *", `day-of-month field "L": failed to parse int from L`},
		{"0 9 * * 7", `day-of-week field "7": end of range (7) above maximum (6)`},
		{"@reboot", `unknown descriptor "@reboot"`},
	}
	for _, tt := range tests {
		t.Run(tt.cron, func(t *testing.T) {
			_, err := parseCron(tt.cron)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.msg)
		})
	}
}

func TestFromServerDefaultsAndRanges(t *testing.T) {
	// Empty lists take the SDK's defaults; End before Start means Start;
	// day-of-week 7 is Sunday.
	got := fromServer(client.ScheduleCalendarSpec{
		Hour:      []client.ScheduleRange{{Start: 9}},
		DayOfWeek: []client.ScheduleRange{{Start: 5, End: 7}},
		Year:      []client.ScheduleRange{{Start: 2030}},
	})
	assert.Equal(t, "0 9 * * 0,5,6 2030", got.String())
	want, err := parseCron("0 9 * * fri-sat,sun")
	require.NoError(t, err)
	assert.False(t, got.equal(want), "a year limit is a difference")
	got.years = nil
	assert.True(t, got.equal(want))
}

func TestRenderField(t *testing.T) {
	tests := []struct {
		f    field
		set  []int
		want string
	}{
		{minuteField, []int{0, 15, 30, 45}, "*/15"},
		{minuteField, []int{0, 30}, "0,30"},
		{hourField, []int{1, 2, 3, 7, 8}, "1-3,7,8"},
		{dowField, full(dowField), "*"},
		{domField, []int{1}, "1"},
		{monthField, []int{}, "-"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, renderField(tt.f, tt.set), "%v", tt.set)
	}
}
