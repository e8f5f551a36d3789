package deployments_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/deployments"
	"github.com/blueprint-etl/blueprint/flows"
	"github.com/blueprint-etl/blueprint/internal/badinput"
	"github.com/blueprint-etl/blueprint/internal/datapipeline"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
)

// TestParametersAreTheFlows: each deployment's parameters are checked
// against its own flow's schema, wherever the workflow key is.
func TestParametersAreTheFlows(t *testing.T) {
	m, err := deployments.Parse(flows.Registry.Flows(), "f.yaml", []byte(`
deployments:
  - name: load
    parameters: {batch_size: 10}
  - name: report
    parameters:
      from: 2025-01-01
      to: "2025-01-31"
      timezone: Europe/Paris
    workflow: OrdersReport
  - name: nightly
    workflow: NightlyETL
    parameters:
      sources: ["demo://orders?seed=1", "demo://orders?seed=2"]
      max_parallel: 2
`))
	require.NoError(t, err)
	load, report, nightly := m.Deployments[0], m.Deployments[1], m.Deployments[2]
	assert.Equal(t, datapipeline.WorkflowType, load.Workflow)
	assert.Equal(t, "OrdersReport", report.Workflow)
	assert.Equal(t, runinfo.TaskQueue, report.TaskQueue, "the flow's task queue")
	p, err := report.Params()
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"from": "2025-01-01", "to": "2025-01-31", "timezone": "Europe/Paris"}, p)
	p, err = nightly.Params()
	require.NoError(t, err)
	assert.Equal(t, map[string]any{
		"sources": []string{"demo://orders?seed=1", "demo://orders?seed=2"}, "batch_size": int64(100), "max_parallel": int64(2), "timezone": "UTC",
	}, p)
}

func TestParameterValidForOneFlowInvalidForAnother(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		line       int
		field, msg string
	}{
		{"batch_size is not a report parameter", "deployments:\n  - name: x\n    workflow: OrdersReport\n    parameters:\n      batch_size: 10\n",
			5, "deployments[0].parameters.batch_size", `unknown parameter "batch_size" (valid: from, to, timezone)`},
		{"timezone is not a pipeline parameter", "deployments:\n  - name: x\n    workflow: DataPipeline\n    parameters:\n      timezone: UTC\n",
			5, "deployments[0].parameters.timezone", `unknown parameter "timezone" (valid: batch_size, source_url, max_rejected, dataset)`},
		{"sources must be a list", "deployments:\n  - name: x\n    workflow: NightlyETL\n    parameters:\n      sources: demo://orders\n",
			5, "deployments[0].parameters.sources", `must be a list of strings, got the string "demo://orders"`},
		{"a list item of the wrong type", "deployments:\n  - name: x\n    workflow: NightlyETL\n    parameters:\n      sources:\n        - demo://orders\n        - 5\n",
			7, "deployments[0].parameters.sources[1]", "must be a string, got the integer 5"},
		{"a bad source in the list", "deployments:\n  - name: x\n    workflow: NightlyETL\n    parameters:\n      sources:\n        - demo://orders\n        - ftp://example.com/x\n",
			7, "deployments[0].parameters.sources[1]", `invalid value: sources[1]="ftp://example.com/x"`},
		{"not a date", "deployments:\n  - name: x\n    workflow: OrdersReport\n    parameters:\n      from: 2025-13-01\n",
			5, "deployments[0].parameters.from", `must be a date YYYY-MM-DD such as 2025-01-31, got "2025-13-01"`},
		{"not a time zone", "deployments:\n  - name: x\n    workflow: OrdersReport\n    parameters:\n      timezone: Mars/Olympus\n",
			5, "deployments[0].parameters.timezone", `invalid value: timezone="Mars/Olympus": is not a time zone`},
		{"an enum-like bound", "deployments:\n  - name: x\n    workflow: NightlyETL\n    parameters:\n      sources: [demo://orders]\n      max_parallel: 0\n",
			6, "deployments[0].parameters.max_parallel", "invalid value: max_parallel=0: must be at least 1"},
		{"a required list missing", "deployments:\n  - name: x\n    workflow: NightlyETL\n    parameters:\n      batch_size: 5\n",
			4, "deployments[0].parameters.sources", "invalid value: sources: must have at least 1 items"},
		{"no value", "deployments:\n  - name: x\n    parameters:\n      batch_size:\n",
			4, "deployments[0].parameters.batch_size", "has no value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := deployments.Parse(flows.Registry.Flows(), "f.yaml", []byte(tc.yaml))
			require.Error(t, err)
			assert.True(t, badinput.Is(err))
			problems := deployments.Problems(err)
			require.Len(t, problems, 1, "%v", err)
			assert.Equal(t, tc.line, problems[0].Line, "%v", err)
			assert.Equal(t, tc.field, problems[0].Field)
			assert.Contains(t, problems[0].Msg, tc.msg)
			assert.False(t, strings.Contains(err.Error(), "\n"))
		})
	}
}
