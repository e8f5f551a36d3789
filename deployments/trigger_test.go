package deployments_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/deployments"
	"github.com/blueprint-etl/blueprint/flows"
	"github.com/blueprint-etl/blueprint/internal/badinput"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
)

// chain is a manifest where report starts after load, and audit after
// report: load -> report -> audit.
const chain = `deployments:
  - name: load
    parameters: {batch_size: 10}
  - name: report
    workflow: OrdersReport
    parameters: {timezone: America/Chicago}
    triggers:
      - after: load
        delay: 10m
        parameters:
          timezone: Europe/Berlin
          to: "{{ upstream.result.last_day }}"
  - name: audit
    triggers:
      - after: report
        on: [failed, cancelled]
        parameters:
          source_url: "demo://{{ upstream.params.timezone }}"
          batch_size: 7
      - after: load
        on: [completed]
`

func TestTriggersParse(t *testing.T) {
	m, err := deployments.Parse(flows.Registry.Flows(), "m.yaml", []byte(chain))
	require.NoError(t, err)
	report, err := m.Get("report")
	require.NoError(t, err)
	assert.Equal(t, []deployments.TriggerSpec{{
		After:      "load",
		On:         []string{runinfo.EventCompleted},
		Delay:      10 * time.Minute,
		Parameters: map[string]any{"timezone": "Europe/Berlin"},
		Templates:  map[string]string{"to": "{{ upstream.result.last_day }}"},
		Line:       8,
	}}, report.Triggers)
	assert.Equal(t, "after load on completed, 10m0s later, parameters: {\"timezone\":\"Europe/Berlin\",\"to\":\"{{ upstream.result.last_day }}\"}", report.Triggers[0].String())

	after := func(name string) []string {
		var out []string
		for _, ds := range m.TriggersAfter(name) {
			out = append(out, fmt.Sprintf("%s[%d]", ds.Deployment.Name, ds.Index))
		}
		return out
	}
	assert.Equal(t, []string{"report[0]", "audit[1]"}, after("load"))
	assert.Equal(t, []string{"audit[0]"}, after("report"))
	assert.Empty(t, after("audit"))
	load, err := m.Get("load")
	require.NoError(t, err)
	assert.Equal(t, m.TriggersAfter("load"), load.Downstream(), "a loaded deployment finds its manifest's triggers")
	assert.Empty(t, deployments.Deployment{Name: "load"}.Downstream(), "one made by hand has none")

	// The parameters a triggered run starts with: the defaults, the
	// deployment's, the trigger's over them; the templated ones absent.
	p, err := m.TriggersAfter("load")[0].Params()
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"timezone": "Europe/Berlin"}, p)
	p, err = m.TriggersAfter("report")[0].Params()
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"batch_size": int64(7)}, p)
}

func TestTriggersRejects(t *testing.T) {
	const two = "deployments:\n  - name: up\n    workflow: OrdersReport\n  - name: down\n    workflow: OrdersReport\n    triggers:\n"
	many := strings.Repeat("      - after: up\n", deployments.MaxTriggers+1)
	cases := []struct {
		name  string
		yaml  string
		line  int
		field string
		want  string
	}{
		{"unknown deployment", two + "      - after: upp\n", 7, "deployments[1].triggers[0].after", `unknown deployment "upp" (valid: up, down); did you mean "up"?`},
		{"itself", two + "      - after: down\n", 7, "deployments[1].triggers[0].after", `"down" is this deployment; a deployment cannot start after itself`},
		{"missing after", two + "      - on: [failed]\n", 7, "deployments[1].triggers[0].after", "missing; name the deployment whose runs start this one"},
		{"unknown key", two + "      - after: up\n        dela: 1m\n", 8, "deployments[1].triggers[0].dela", `unknown key (valid: after, on, delay, parameters); did you mean "delay"?`},
		{"misspelt triggers", "deployments:\n  - name: d\n    trigers: []\n", 3, "deployments[0].trigers", `did you mean "triggers"?`},
		{"not a list", two + "      after: up\n", 7, "deployments[1].triggers", "must be a list of triggers such as [{after: production-etl, on: [completed]}], got a mapping"},
		{"item not a mapping", two + "      - up\n", 7, "deployments[1].triggers[0]", "must be a mapping such as {after: production-etl, on: [completed]}"},
		{"too many", two + many, 6, "deployments[1].triggers", fmt.Sprintf("%d triggers is more than the %d allowed", deployments.MaxTriggers+1, deployments.MaxTriggers)},
		{"unknown event", two + "      - {after: up, on: [complete]}\n", 7, "deployments[1].triggers[0].on[0]", `unknown event "complete" (valid: failed, completed, cancelled); did you mean "completed"?`},
		{"duplicate event", two + "      - {after: up, on: [failed, failed]}\n", 7, "deployments[1].triggers[0].on[1]", `duplicate event "failed"`},
		{"empty on", two + "      - {after: up, on: []}\n", 7, "deployments[1].triggers[0].on", "must be a non-empty list of events"},
		{"same run twice", two + "      - {after: up, on: [failed]}\n      - {after: up, on: [cancelled, failed]}\n", 8, "deployments[1].triggers[1].after",
			"down after a failed run of up is started by deployments[1].triggers[0] too (line 7)"},
		{"delay too long", two + "      - {after: up, delay: 25h}\n", 7, "deployments[1].triggers[0].delay", "25h is too long; must be at most 24h0m0s"},
		{"delay negative", two + "      - {after: up, delay: -1s}\n", 7, "deployments[1].triggers[0].delay", "-1s is negative; must be 0s or more"},
		{"delay not a duration", two + "      - {after: up, delay: soon}\n", 7, "deployments[1].triggers[0].delay", `"soon" is not a duration`},
		{"cycle of two", "deployments:\n  - name: a\n    triggers: [{after: b}]\n  - name: b\n    triggers: [{after: a}]\n", 3, "deployments[0].triggers[0].after",
			"a cycle of triggers: a -> b -> a (each name starts after the one before it"},
		{"cycle of three", "deployments:\n  - name: a\n    triggers: [{after: c}]\n  - name: b\n    triggers: [{after: a}]\n  - name: c\n    triggers: [{after: b}]\n", 3, "deployments[0].triggers[0].after",
			"a cycle of triggers: a -> b -> c -> a"},
		{"unknown parameter", two + "      - after: up\n        parameters: {form: \"2025-01-01\"}\n", 8, "deployments[1].triggers[0].parameters.form", `unknown parameter "form" (valid: from, to, timezone); did you mean "from"?`},
		{"unknown templated parameter", two + "      - after: up\n        parameters: {form: \"{{ upstream.params.from }}\"}\n", 8, "deployments[1].triggers[0].parameters.form", `unknown parameter "form"`},
		{"bad static value", two + "      - after: up\n        parameters:\n          timezone: Mars/Olympus\n", 9, "deployments[1].triggers[0].parameters.timezone", "Mars/Olympus"},
		{"static value of the wrong type", two + "      - after: up\n        parameters:\n          from: 12\n", 9, "deployments[1].triggers[0].parameters.from", "must be a date"},
		{"template grammar", two + "      - after: up\n        parameters: {from: \"{{ downstream.x }}\"}\n", 8, "deployments[1].triggers[0].parameters.from", "{{ downstream.x }}: a template names upstream.FIELD"},
		{"unclosed template", two + "      - after: up\n        parameters: {from: \"{{ upstream.params.from \"}\n", 8, "deployments[1].triggers[0].parameters.from", "an unclosed or stray {{ or }}"},
		{"upstream parameter unknown", two + "      - after: up\n        parameters: {from: \"{{ upstream.params.form }}\"}\n", 8, "deployments[1].triggers[0].parameters.from",
			`{{ upstream.params.form }}: the upstream deployment up (flow OrdersReport) has no parameter "form" (valid: from, to, timezone); did you mean "from"?`},
		{"result on failure", two + "      - after: up\n        on: [completed, failed]\n        parameters: {from: \"{{ upstream.result.day }}\"}\n", 9, "deployments[1].triggers[0].parameters.from",
			"{{ upstream.result.day }}: only a completed run has a result; use it in a trigger with on: [completed] alone (this one is on: [completed, failed])"},
		{"template in a list", "deployments:\n  - name: up\n  - name: down\n    workflow: NightlyETL\n    triggers:\n      - after: up\n        parameters:\n          sources: [\"{{ upstream.params.source_url }}\"]\n", 8, "deployments[1].triggers[0].parameters.sources",
			"a template must be a parameter's whole value"},
		{"string into an integer", "deployments:\n  - name: up\n  - name: down\n    triggers:\n      - after: up\n        parameters: {batch_size: \"{{ upstream.params.source_url }}\"}\n", 6, "deployments[1].triggers[0].parameters.batch_size",
			`"{{ upstream.params.source_url }}" is a string (upstream.params.source_url), but batch_size is an integer`},
		{"text into an integer", "deployments:\n  - name: up\n  - name: down\n    triggers:\n      - after: up\n        parameters: {batch_size: \"1{{ upstream.params.batch_size }}\"}\n", 6, "deployments[1].triggers[0].parameters.batch_size",
			`"1{{ upstream.params.batch_size }}" renders a string, but batch_size is an integer`},
		{"integer into a date", "deployments:\n  - name: up\n  - name: down\n    workflow: OrdersReport\n    triggers:\n      - after: up\n        parameters: {from: \"{{ upstream.params.batch_size }}\"}\n", 7, "deployments[1].triggers[0].parameters.from",
			`"{{ upstream.params.batch_size }}" is an integer (upstream.params.batch_size), but from is a string (date)`},
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

func TestTriggersAccepts(t *testing.T) {
	for name, yaml := range map[string]string{
		"a template for a required parameter the deployment leaves to its default": "deployments:\n  - name: up\n  - name: down\n    triggers:\n      - after: up\n        parameters: {source_url: \"{{ upstream.params.source_url }}\"}\n",
		"an integer into a number-free integer":                                    "deployments:\n  - name: up\n  - name: down\n    triggers:\n      - after: up\n        parameters: {batch_size: \"{{ upstream.params.batch_size }}\"}\n",
		"a date into a string":                                                     "deployments:\n  - name: up\n    workflow: OrdersReport\n  - name: down\n    triggers:\n      - after: up\n        parameters: {source_url: \"demo://{{ upstream.params.from }}\"}\n",
		"a result, of unknown type":                                                "deployments:\n  - name: up\n  - name: down\n    triggers:\n      - after: up\n        parameters: {batch_size: \"{{ upstream.result.loaded }}\"}\n",
		"the same upstream on other events":                                        "deployments:\n  - name: up\n  - name: down\n    triggers:\n      - {after: up, on: [completed]}\n      - {after: up, on: [failed, cancelled], delay: 0s}\n",
		"a diamond":                                                                "deployments:\n  - name: a\n  - name: b\n    triggers: [{after: a}]\n  - name: c\n    triggers: [{after: a}]\n  - name: d\n    triggers: [{after: b}, {after: c}]\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := deployments.Parse(flows.Registry.Flows(), "m.yaml", []byte(yaml))
			assert.NoError(t, err)
		})
	}
}
