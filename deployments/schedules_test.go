package deployments_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/deployments"
	"github.com/blueprint-etl/blueprint/flows"
	"github.com/blueprint-etl/blueprint/internal/badinput"
)

// twoSchedules is a deployment with a cron schedule and a 15-minute
// interval schedule that has its own batch_size.
const twoSchedules = `deployments:
  - name: orders
    parameters:
      batch_size: 1000
      source_url: demo://orders
    schedules:
      - cron: "0 9 * * *"
        timezone: America/Chicago
        active: true
      - slug: every-15m
        interval: 15m
        offset: 5m
        active: false
        note: waiting for the new feed
        overlap: buffer_one
        catchup_window: 5m
        jitter: 30s
        parameters:
          batch_size: 50
`

func TestParseSchedulesList(t *testing.T) {
	m, err := deployments.Parse(flows.Registry.Flows(), "s.yaml", []byte(twoSchedules))
	require.NoError(t, err)
	d := m.Deployments[0]
	require.Len(t, d.Schedules, 2)

	daily, quarter := d.Schedules[0], d.Schedules[1]
	assert.Equal(t, "1", daily.Slug, "no slug: the position")
	assert.Equal(t, "0 9 * * *", daily.Cron)
	assert.Equal(t, 7, daily.Line)
	require.NotNil(t, daily.Paused)
	assert.False(t, *daily.Paused, "active: true is paused: false")
	assert.Nil(t, daily.Parameters)

	assert.Equal(t, "every-15m", quarter.Slug)
	assert.Empty(t, quarter.Cron)
	assert.Equal(t, 15*time.Minute, quarter.Interval)
	assert.Equal(t, 5*time.Minute, quarter.Offset)
	assert.Equal(t, "@every 15m0s/5m0s", quarter.When())
	require.NotNil(t, quarter.Paused)
	assert.True(t, *quarter.Paused, "active: false is paused: true")
	assert.Equal(t, "waiting for the new feed", quarter.Note)
	assert.Equal(t, "buffer_one", quarter.Overlap)
	assert.Equal(t, 5*time.Minute, quarter.CatchupWindow)
	assert.Equal(t, 30*time.Second, quarter.Jitter)
	assert.Equal(t, map[string]any{"batch_size": int64(50)}, quarter.Parameters)

	assert.Equal(t, "orders", d.ScheduleID(0), "the first schedule keeps the deployment's name")
	assert.Equal(t, "orders-every-15m", d.ScheduleID(1))
	assert.Equal(t, []string{"1", "every-15m"}, d.Slugs())

	i, err := d.ScheduleBySlug("every-15m")
	require.NoError(t, err)
	assert.Equal(t, 1, i)
	_, err = d.ScheduleBySlug("every-15")
	require.Error(t, err)
	assert.True(t, badinput.Is(err))
	assert.Equal(t, `deployment "orders" has no schedule with slug "every-15" (valid: 1, every-15m); did you mean "every-15m"?`, err.Error())

	// The schedule's parameters are merged over the deployment's, which
	// stay as they are.
	p, err := d.ForSchedule(1).Params()
	require.NoError(t, err)
	assert.EqualValues(t, 50, p["batch_size"])
	assert.Equal(t, "demo://orders", p["source_url"])
	p, err = d.ForSchedule(0).Params()
	require.NoError(t, err)
	assert.EqualValues(t, 1000, p["batch_size"])
	assert.EqualValues(t, 1000, d.Parameters["batch_size"])
}

func TestParseScheduleDefaultSlugs(t *testing.T) {
	m, err := deployments.Parse(flows.Registry.Flows(), "s.yaml", []byte(`deployments:
  - name: a
    schedules:
      - {cron: "@daily"}
      - {cron: "@hourly"}
      - {interval: 1h30m}
  - name: b
    schedule: {interval: 2h}
`))
	require.NoError(t, err)
	a := m.Deployments[0]
	assert.Equal(t, []string{"a", "a-2", "a-3"}, []string{a.ScheduleID(0), a.ScheduleID(1), a.ScheduleID(2)})
	assert.Equal(t, time.Duration(0), a.Schedules[2].Offset)
	b := m.Deployments[1]
	require.Len(t, b.Schedules, 1, "schedule: is a list of one")
	assert.Equal(t, "b", b.ScheduleID(0))
	assert.Equal(t, 2*time.Hour, b.Schedules[0].Interval)
}

// Interval schedules fire at the Unix epoch plus the offset plus a
// multiple of the interval, whatever the time zone, as the server counts.
func TestScheduleNextInterval(t *testing.T) {
	utc := func(h, m, s int) time.Time { return time.Date(2026, 3, 1, h, m, s, 0, time.UTC) }
	cases := []struct {
		name           string
		every, offset  time.Duration
		tz             string
		after          time.Time
		want           []time.Time
		wantLocalHours []int
	}{
		{"15m on the quarter", 15 * time.Minute, 0, "UTC", utc(10, 7, 0), []time.Time{utc(10, 15, 0), utc(10, 30, 0), utc(10, 45, 0)}, nil},
		{"strictly after a fire time", 15 * time.Minute, 0, "UTC", utc(10, 15, 0), []time.Time{utc(10, 30, 0)}, nil},
		{"a fraction of a second past", 15 * time.Minute, 0, "UTC", utc(10, 15, 0).Add(time.Millisecond), []time.Time{utc(10, 30, 0)}, nil},
		{"offset 5m", 15 * time.Minute, 5 * time.Minute, "UTC", utc(10, 7, 0), []time.Time{utc(10, 20, 0), utc(10, 35, 0)}, nil},
		{"offset 5m, just before", 15 * time.Minute, 5 * time.Minute, "UTC", utc(10, 4, 59), []time.Time{utc(10, 5, 0)}, nil},
		// 2026-03-01T00:00Z is 1772323200 s, 2h past a multiple of 7h:
		// intervals count from the epoch, not from midnight.
		{"7h from the epoch", 7 * time.Hour, 0, "UTC", utc(0, 0, 0), []time.Time{utc(5, 0, 0), utc(12, 0, 0)}, nil},
		{"1d offset 15h in Chicago", 24 * time.Hour, 15 * time.Hour, "America/Chicago", utc(0, 0, 0), []time.Time{utc(15, 0, 0), utc(15, 0, 0).Add(24 * time.Hour)}, []int{9, 9}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := deployments.Schedule{Interval: tc.every, Offset: tc.offset, Timezone: tc.tz}
			got := s.Next(tc.after, len(tc.want))
			require.Len(t, got, len(tc.want))
			for i := range got {
				assert.True(t, tc.want[i].Equal(got[i]), "fire %d: want %s, got %s", i, tc.want[i], got[i].UTC())
				assert.Equal(t, tc.tz, got[i].Location().String(), "in the schedule's zone")
				if tc.wantLocalHours != nil {
					assert.Equal(t, tc.wantLocalHours[i], got[i].Hour())
				}
			}
		})
	}
}

func TestParseSchedulesRejects(t *testing.T) {
	const head = "deployments:\n  - name: x\n    parameters: {batch_size: 10}\n"
	list := func(items string) string { return head + "    schedules:\n" + items }
	cases := []struct {
		name  string
		yaml  string
		line  int
		field string
		want  string
	}{
		{"both schedule and schedules", head + "    schedule: {cron: '@daily'}\n    schedules:\n      - {cron: '@hourly'}\n", 5, "deployments[0].schedules",
			"a deployment has either `schedule:` (one) or `schedules:` (a list), not both (schedule: is at line 4)"},
		{"schedules not a list", head + "    schedules: {cron: '@daily'}\n", 4, "deployments[0].schedules", "must be a list of schedules"},
		{"empty list", head + "    schedules: []\n", 4, "deployments[0].schedules", "must be a list of schedules"},
		{"item not a mapping", list("      - '@daily'\n"), 5, "deployments[0].schedules[0]", "must be a mapping with a `cron:` or an `interval:` key"},
		{"neither cron nor interval", list("      - {timezone: UTC}\n"), 5, "deployments[0].schedules[0]", "no cron or interval"},
		{"cron and interval", list("      - cron: '@daily'\n        interval: 1h\n"), 6, "deployments[0].schedules[0].interval", "a schedule has either cron (at line 5) or interval, not both"},
		{"interval not a duration", list("      - {interval: 900}\n"), 5, "deployments[0].schedules[0].interval", `"900" is not a duration; use a number with a unit such as 90s, 15m or 1h`},
		{"interval too short", list("      - {interval: 30s}\n"), 5, "deployments[0].schedules[0].interval", "30s is too short; must be at least 1m0s"},
		{"interval negative", list("      - {interval: -15m}\n"), 5, "deployments[0].schedules[0].interval", "-15m is too short; must be at least 1m0s"},
		{"interval fraction of a second", list("      - {interval: 90.5s}\n"), 5, "deployments[0].schedules[0].interval", "90.5s is not a whole number of seconds"},
		{"offset without interval", list("      - {cron: '@daily', offset: 5m}\n"), 5, "deployments[0].schedules[0].offset", "only an interval schedule has an offset"},
		{"offset as long as the interval", list("      - {interval: 15m, offset: 15m}\n"), 5, "deployments[0].schedules[0].offset", "15m is not shorter than the interval 15m0s"},
		{"negative offset", list("      - {interval: 15m, offset: -1m}\n"), 5, "deployments[0].schedules[0].offset", "-1m is negative"},
		{"active not a boolean", list("      - {cron: '@daily', active: yes please}\n"), 5, "deployments[0].schedules[0].active", `must be true or false`},
		{"active and paused", list("      - cron: '@daily'\n        paused: false\n        active: true\n"), 7, "deployments[0].schedules[0].active", "paused: and active: say the same thing"},
		{"bad slug", list("      - {cron: '@daily'}\n      - {cron: '@hourly', slug: Hourly_Run}\n"), 6, "deployments[0].schedules[1].slug", `"Hourly_Run" is not a valid slug (lower-case letters, digits and '-'`},
		{"duplicate slug", list("      - {cron: '@daily', slug: run}\n      - {cron: '@hourly', slug: run}\n"), 6, "deployments[0].schedules[1].slug", `duplicate slug "run": deployments[0].schedules[0] has it too`},
		{"explicit slug equal to a default one", list("      - {cron: '@daily', slug: \"2\"}\n      - {cron: '@hourly'}\n"), 6, "deployments[0].schedules[1].slug", `duplicate slug "2"`},
		{"schedule ID too long", list("      - {cron: '@daily'}\n      - {cron: '@hourly', slug: " + strings.Repeat("s", 62) + "}\n"), 6, "deployments[0].schedules[1].slug", "is not a valid name (lower-case letters"},
		{"schedule ID is another deployment's name", list("      - {cron: '@daily'}\n      - {cron: '@hourly', slug: y}\n") + "  - name: x-y\n", 7, "deployments[1].name", `name "x-y" is the ID of the schedule deployments[0].schedules[1] (line 6)`},
		{"deployment name is a schedule ID", "deployments:\n  - name: x-y\n  - name: x\n    schedules:\n      - {cron: '@daily'}\n      - {cron: '@hourly', slug: y}\n", 6, "deployments[1].schedules[1]", `schedule ID "x-y" is the name of deployments[0]`},
		{"schedule ID of two deployments", "deployments:\n  - name: x\n    schedules:\n      - {cron: '@daily'}\n      - {cron: '@hourly', slug: a-b}\n  - name: x-a\n    schedules:\n      - {cron: '@daily'}\n      - {cron: '@hourly', slug: b}\n", 9, "deployments[1].schedules[1]", `schedule ID "x-a-b" is the ID of the schedule deployments[0].schedules[1] (line 5) too`},
		{"unknown schedule key", list("      - {cron: '@daily', intervall: 1h}\n"), 5, "deployments[0].schedules[0].intervall", `did you mean "interval"?`},
		{"unknown schedule parameter", list("      - cron: '@daily'\n        parameters: {batchsize: 5}\n"), 6, "deployments[0].schedules[0].parameters.batchsize", `unknown parameter "batchsize" (valid: batch_size, source_url, max_rejected, dataset); did you mean "batch_size"?`},
		{"mistyped schedule parameter", list("      - cron: '@daily'\n        parameters:\n          batch_size: lots\n"), 7, "deployments[0].schedules[0].parameters.batch_size", `must be an integer, got the string "lots"`},
		{"schedule parameter breaks a rule", list("      - cron: '@daily'\n        parameters:\n          batch_size: 0\n"), 7, "deployments[0].schedules[0].parameters.batch_size", "invalid value: batch_size=0: must be at least 1"},
		{"schedule parameters not a mapping", list("      - cron: '@daily'\n        parameters: [batch_size]\n"), 6, "deployments[0].schedules[0].parameters", "must be a mapping of parameter names to values"},
		{"schedule parameter of the wrong flow", "deployments:\n  - name: r\n    workflow: OrdersReport\n    schedules:\n      - cron: '@daily'\n        parameters: {batch_size: 5}\n", 6, "deployments[0].schedules[0].parameters.batch_size", `unknown parameter "batch_size"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := deployments.Parse(flows.Registry.Flows(), "deploy.yaml", []byte(tc.yaml))
			require.Error(t, err)
			assert.Nil(t, m)
			assert.True(t, badinput.Is(err), "error is an InputError: %v", err)
			got := problemFor(t, err, tc.field)
			assert.Equal(t, tc.line, got.Line, "line of %v", got)
			assert.Contains(t, got.Msg, tc.want)
			assert.NotContains(t, got.String(), "\n")
		})
	}
}
