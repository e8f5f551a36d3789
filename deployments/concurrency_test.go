package deployments_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/deployments"
	"github.com/blueprint-etl/blueprint/flows"
	"github.com/blueprint-etl/blueprint/internal/badinput"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
)

func TestConcurrencyParse(t *testing.T) {
	const head = "deployments:\n  - name: d\n"
	cases := []struct {
		name     string
		yaml     string
		limit    int
		strategy string
		want     *runinfo.Concurrency
	}{
		{"none", head, 0, "", nil},
		{"limit alone takes the default strategy", head + "    concurrency_limit: 1\n", 1, runinfo.CollisionEnqueue,
			&runinfo.Concurrency{Deployment: "d", Limit: 1, Strategy: runinfo.CollisionEnqueue, TaskQueue: runinfo.TaskQueue}},
		{"both", head + "    concurrency_limit: 1000\n    collision_strategy: cancel_new\n", 1000, runinfo.CollisionCancelNew,
			&runinfo.Concurrency{Deployment: "d", Limit: 1000, Strategy: runinfo.CollisionCancelNew, TaskQueue: runinfo.TaskQueue}},
		{"strategy first, own task queue", head + "    collision_strategy: enqueue\n    task_queue: q\n    concurrency_limit: 3\n", 3, runinfo.CollisionEnqueue,
			&runinfo.Concurrency{Deployment: "d", Limit: 3, Strategy: runinfo.CollisionEnqueue, TaskQueue: "q"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := deployments.Parse(flows.Registry.Flows(), "m.yaml", []byte(tc.yaml))
			require.NoError(t, err)
			d, err := m.Get("d")
			require.NoError(t, err)
			assert.Equal(t, tc.limit, d.ConcurrencyLimit)
			assert.Equal(t, tc.strategy, d.CollisionStrategy)
			assert.Equal(t, tc.want, d.Concurrency())
		})
	}
}

func TestConcurrencyByHand(t *testing.T) {
	d := deployments.Deployment{Name: "h", Workflow: "OrdersReport", Flows: flows.Registry.Flows(), ConcurrencyLimit: 2}
	f, err := d.Flow()
	require.NoError(t, err)
	assert.Equal(t, &runinfo.Concurrency{Deployment: "h", Limit: 2, Strategy: runinfo.CollisionStrategies[0], TaskQueue: f.TaskQueue}, d.Concurrency(),
		"the strategy defaults and the task queue is the flow's")
	assert.Equal(t, "2 (enqueue)", deployments.FormatConcurrency(d.Concurrency()))
	assert.Equal(t, "none", deployments.FormatConcurrency(nil))
}

func TestConcurrencyRejects(t *testing.T) {
	const head = "deployments:\n  - name: d\n"
	cases := []struct {
		name  string
		yaml  string
		line  int
		field string
		want  string
	}{
		{"zero", head + "    concurrency_limit: 0\n", 3, "deployments[0].concurrency_limit", "0 is out of range; must be 1 to 1000 (leave the key out for no limit)"},
		{"negative", head + "    concurrency_limit: -1\n", 3, "deployments[0].concurrency_limit", "-1 is out of range; must be 1 to 1000"},
		{"too many", head + "    concurrency_limit: 1001\n", 3, "deployments[0].concurrency_limit", "1001 is out of range; must be 1 to 1000"},
		{"huge", head + "    concurrency_limit: 99999999999999999999\n", 3, "deployments[0].concurrency_limit", "99999999999999999999 is not an integer"},
		{"fraction", head + "    concurrency_limit: 1.5\n", 3, "deployments[0].concurrency_limit", "1.5 is not an integer; give the number of runs that may run at once, 1 to 1000, e.g. concurrency_limit: 1"},
		{"quoted", head + "    concurrency_limit: \"2\"\n", 3, "deployments[0].concurrency_limit", `"2" is not an integer`},
		{"word", head + "    concurrency_limit: one\n", 3, "deployments[0].concurrency_limit", `"one" is not an integer`},
		{"hex", head + "    concurrency_limit: 0x10\n", 3, "deployments[0].concurrency_limit", "0x10 is not an integer"},
		{"empty", head + "    concurrency_limit:\n", 3, "deployments[0].concurrency_limit", "has no value"},
		{"list", head + "    concurrency_limit: [1]\n", 3, "deployments[0].concurrency_limit", "must be a single value"},
		{"Prefect's spelling", head + "    concurrency_limit: 1\n    collision_strategy: ENQUEUE\n", 4, "deployments[0].collision_strategy",
			`unknown collision strategy "ENQUEUE" (valid: enqueue, cancel_new); did you mean "enqueue"?`},
		{"Prefect's CANCEL_NEW", head + "    concurrency_limit: 1\n    collision_strategy: CANCEL_NEW\n", 4, "deployments[0].collision_strategy", `did you mean "cancel_new"?`},
		{"unknown strategy", head + "    concurrency_limit: 1\n    collision_strategy: drop\n", 4, "deployments[0].collision_strategy", `unknown collision strategy "drop" (valid: enqueue, cancel_new)`},
		{"strategy without a limit", head + "    collision_strategy: cancel_new\n", 3, "deployments[0].collision_strategy",
			"has no effect without concurrency_limit: (add concurrency_limit: 1, or leave collision_strategy out)"},
		{"misspelt key", head + "    concurency_limit: 1\n", 3, "deployments[0].concurency_limit", `did you mean "concurrency_limit"?`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := deployments.Parse(flows.Registry.Flows(), "m.yaml", []byte(tc.yaml))
			require.Error(t, err)
			require.True(t, badinput.Is(err))
			got := problemFor(t, err, tc.field)
			assert.Equal(t, tc.line, got.Line, "%v", err)
			assert.Contains(t, got.Msg, tc.want)
			assert.NotContains(t, got.String(), "\n", "one line")
			assert.True(t, strings.HasPrefix(got.String(), fmt.Sprintf("m.yaml:%d: %s: ", tc.line, tc.field)), got.String())
		})
	}
}
