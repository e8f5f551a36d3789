package worker

import (
	"os"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTasksFromEnv(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want Tasks
		err  string
	}{
		{name: "defaults", want: DefaultTasks},
		{name: "all set", env: map[string]string{EnvWorkflowPollers: "4", EnvActivityPollers: "16", EnvMaxActivities: "50"},
			want: Tasks{WorkflowPollers: 4, ActivityPollers: 16, MaxActivities: 50}},
		{name: "one set", env: map[string]string{EnvActivityPollers: "3"},
			want: Tasks{WorkflowPollers: DefaultTasks.WorkflowPollers, ActivityPollers: 3, MaxActivities: DefaultTasks.MaxActivities}},
		{name: "one workflow poller", env: map[string]string{EnvWorkflowPollers: "1"},
			err: `BLUEPRINT_WORKFLOW_POLLERS="1": must be an integer of at least 2`},
		{name: "zero activity pollers", env: map[string]string{EnvActivityPollers: "0"},
			err: `BLUEPRINT_ACTIVITY_POLLERS="0": must be an integer of at least 1`},
		{name: "not a number", env: map[string]string{EnvMaxActivities: "many"},
			err: `BLUEPRINT_MAX_ACTIVITIES="many": must be an integer of at least 1`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{EnvWorkflowPollers, EnvActivityPollers, EnvMaxActivities} {
				t.Setenv(k, tc.env[k])
			}
			got, err := tasksFromEnv()
			if tc.err != "" {
				require.EqualError(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got.withDefaults())
		})
	}
}

// TestLimitMemory: the worker's own heap limit comes with its GC target,
// and an operator's GOMEMLIMIT or GOGC wins. Not parallel: it sets the
// process's GC settings (and puts them back).
func TestLimitMemory(t *testing.T) {
	limit, percent := debug.SetMemoryLimit(-1), debug.SetGCPercent(-1)
	debug.SetGCPercent(percent)
	t.Cleanup(func() { debug.SetMemoryLimit(limit); debug.SetGCPercent(percent) })
	for _, c := range []struct {
		name        string
		env         map[string]string
		wantLimit   int64
		wantPercent int
	}{
		{"nothing set", nil, DefaultMemoryLimit, DefaultGCPercent},
		{"GOGC set", map[string]string{"GOGC": "150"}, DefaultMemoryLimit, 150},
		{"GOMEMLIMIT set", map[string]string{"GOMEMLIMIT": "1GiB"}, 1 << 30, 100},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, name := range []string{"GOMEMLIMIT", "GOGC"} {
				t.Setenv(name, "") // restored when the test ends
				require.NoError(t, os.Unsetenv(name))
			}
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			// What the runtime read from the environment at start.
			debug.SetMemoryLimit(1 << 30)
			debug.SetGCPercent(100)
			if c.env["GOGC"] != "" {
				debug.SetGCPercent(150)
			}
			LimitMemory()
			assert.Equal(t, c.wantLimit, debug.SetMemoryLimit(-1))
			assert.Equal(t, c.wantPercent, debug.SetGCPercent(-1))
			debug.SetGCPercent(c.wantPercent)
		})
	}
}
