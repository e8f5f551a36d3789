package trigger_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/trigger"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		text string
		refs []string
		err  string
	}{
		{"plain", nil, ""},
		{"{{ upstream.params.from }}", []string{"upstream.params.from"}, ""},
		{"after {{upstream.workflow_id}} ({{ upstream.status }})", []string{"upstream.workflow_id", "upstream.status"}, ""},
		{"{{ upstream.result.loaded }}", []string{"upstream.result.loaded"}, ""},
		{"{{ upstream.params }}", nil, "a template names upstream.FIELD"},
		{"{{ upstream.secret }}", nil, "a template names upstream.FIELD"},
		{"{{ downstream.run_id }}", nil, "a template names upstream.FIELD"},
		{"{{ upstream.params.a.b }}", nil, "a template names upstream.FIELD"},
		{"{{ upstream.run_id", nil, "unclosed or stray"},
		{"x }}", nil, "unclosed or stray"},
	} {
		refs, err := trigger.Parse(tc.text)
		if tc.err != "" {
			assert.ErrorContains(t, err, tc.err, tc.text)
			continue
		}
		require.NoError(t, err, tc.text)
		var got []string
		for _, r := range refs {
			got = append(got, r.String())
		}
		assert.Equal(t, tc.refs, got, tc.text)
	}
}

func TestRender(t *testing.T) {
	up := trigger.Upstream{
		Deployment: "production-etl", Run: runinfo.RunRef{WorkflowID: "wf-1", RunID: "r-1"}, Status: runinfo.RunCompleted,
		Params: map[string]json.RawMessage{"from": json.RawMessage(`"2025-01-31"`), "batch_size": json.RawMessage(`5000`)},
		Result: map[string]json.RawMessage{"extracted": json.RawMessage(`1000`)},
	}
	for _, tc := range []struct{ text, want, err string }{
		{"{{ upstream.params.from }}", `"2025-01-31"`, ""},
		{"{{ upstream.params.batch_size }}", `5000`, ""},
		{"{{upstream.result.extracted}}", `1000`, ""},
		{"after {{ upstream.workflow_id }}: {{ upstream.result.extracted }} rows", `"after wf-1: 1000 rows"`, ""},
		{"{{ upstream.deployment }}/{{ upstream.run_id }} {{ upstream.status }}", `"production-etl/r-1 completed"`, ""},
		{"{{ upstream.params.to }}", "", `no parameter "to"`},
		{"{{ upstream.result.nope }}", "", `no field "nope"`},
	} {
		got, err := trigger.Render(tc.text, up)
		if tc.err != "" {
			assert.ErrorContains(t, err, tc.err, tc.text)
			continue
		}
		require.NoError(t, err, tc.text)
		assert.JSONEq(t, tc.want, string(got), tc.text)
	}
	up.Status = runinfo.RunFailed
	_, err := trigger.Render("{{ upstream.result.extracted }}", up)
	assert.ErrorContains(t, err, "the upstream run failed, so it has no result")
}

func TestWorkflowID(t *testing.T) {
	up := runinfo.RunRef{WorkflowID: "production-etl-20250131T090000Z-1a2b3c", RunID: "0194f3a2-aaaa-bbbb"}
	id := trigger.WorkflowID("daily-report", 0, up)
	assert.Equal(t, "daily-report-after-production-etl-20250131T090000Z-1a2b3c-0194f3a2-t1", id)
	assert.Equal(t, id, trigger.WorkflowID("daily-report", 0, up), "the same upstream run, the same ID")
	assert.NotEqual(t, id, trigger.WorkflowID("daily-report", 1, up), "another entry")
	assert.NotEqual(t, id, trigger.WorkflowID("daily-report", 0, runinfo.RunRef{WorkflowID: up.WorkflowID, RunID: "0294f3a2-x"}), "another run")
	long := trigger.WorkflowID("d", 0, runinfo.RunRef{WorkflowID: strings.Repeat("x", 900), RunID: "r"})
	assert.LessOrEqual(t, len(long), 250)
}
