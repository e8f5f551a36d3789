package worker

import (
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
