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

func TestNotifyParse(t *testing.T) {
	m, err := deployments.Parse(flows.Registry.Flows(), "m.yaml", []byte(`deployments:
  - name: watched
    notify:
      - url_env: SLACK_WEBHOOK_URL
        events: [failed, cancelled]
      - {events: [completed], url_env: TEAM_HOOK}
  - name: quiet
  - name: empty
    notify: []
`))
	require.NoError(t, err)
	d, err := m.Get("watched")
	require.NoError(t, err)
	assert.Equal(t, []runinfo.Webhook{
		{URLEnv: "SLACK_WEBHOOK_URL", Events: []string{runinfo.EventFailed, runinfo.EventCancelled}},
		{URLEnv: "TEAM_HOOK", Events: []string{runinfo.EventCompleted}},
	}, d.Notify)
	for _, name := range []string{"quiet", "empty"} {
		d, err := m.Get(name)
		require.NoError(t, err)
		assert.Empty(t, d.Notify, name)
	}
}

func TestNotifyRejects(t *testing.T) {
	const secret = "https://hooks.slack.com/services/T000/B000/hunter2"
	dep := "deployments:\n  - name: d\n    notify:\n"
	hooks := make([]string, deployments.MaxWebhooks+1)
	for i := range hooks {
		hooks[i] = fmt.Sprintf("      - {url_env: HOOK_%d, events: [failed]}\n", i)
	}
	cases := []struct {
		name  string
		yaml  string
		line  int
		field string
		want  string
	}{
		{"literal URL", dep + "      - url: " + secret + "\n        events: [failed]\n", 4, "deployments[0].notify[0].url",
			"a webhook URL is a secret and does not belong in the manifest (it would be stored with every run); put it in an environment variable of the worker and name the variable: url_env: SLACK_WEBHOOK_URL"},
		{"literal URL next to url_env", dep + "      - url_env: HOOK\n        url: " + secret + "\n        events: [failed]\n", 5, "deployments[0].notify[0].url", "a webhook URL is a secret"},
		{"unknown event", dep + "      - url_env: HOOK\n        events: [failed, complete]\n", 5, "deployments[0].notify[0].events[1]",
			`unknown event "complete" (valid: failed, completed, cancelled); did you mean "completed"?`},
		{"duplicate event", dep + "      - {url_env: HOOK, events: [failed, failed]}\n", 4, "deployments[0].notify[0].events[1]", `duplicate event "failed"`},
		{"no events", dep + "      - {url_env: HOOK, events: []}\n", 4, "deployments[0].notify[0].events", "must be a non-empty list of events such as [failed, cancelled] (valid: failed, completed, cancelled)"},
		{"events not a list", dep + "      - {url_env: HOOK, events: failed}\n", 4, "deployments[0].notify[0].events", `got the string "failed"`},
		{"missing events", dep + "      - url_env: HOOK\n", 4, "deployments[0].notify[0].events", "missing; list the events to be told of (failed, completed, cancelled)"},
		{"missing url_env", dep + "      - events: [failed]\n", 4, "deployments[0].notify[0].url_env", "missing; name the worker's environment variable that holds the webhook URL"},
		{"bad variable name", dep + "      - {url_env: SLACK-HOOK, events: [failed]}\n", 4, "deployments[0].notify[0].url_env", `"SLACK-HOOK" is not an environment variable name`},
		{"variable as ${...}", dep + "      - {url_env: \"${SLACK_HOOK}\", events: [failed]}\n", 4, "deployments[0].notify[0].url_env", "is not an environment variable name"},
		{"worker's own variable", dep + "      - {url_env: BLUEPRINT_DATABASE_URL, events: [failed]}\n", 4, "deployments[0].notify[0].url_env", "is the worker's own configuration; the manifest may not name BLUEPRINT_* variables"},
		{"same variable twice", dep + "      - {url_env: HOOK, events: [failed]}\n      - {url_env: HOOK, events: [completed]}\n", 5, "deployments[0].notify[1].url_env", "$HOOK is already a webhook of this deployment (line 4)"},
		{"unknown key", dep + "      - {url_env: HOOK, event: [failed]}\n", 4, "deployments[0].notify[0].event", `unknown key (valid: url_env, events); did you mean "events"?`},
		{"not a list", "deployments:\n  - name: d\n    notify: {url_env: HOOK}\n", 3, "deployments[0].notify", "must be a list of webhooks such as [{url_env: SLACK_WEBHOOK_URL, events: [failed]}], got a mapping"},
		{"item not a mapping", dep + "      - SLACK_HOOK\n", 4, "deployments[0].notify[0]", "must be a mapping such as {url_env: SLACK_WEBHOOK_URL, events: [failed]}"},
		{"too many", dep + strings.Join(hooks, ""), 3, "deployments[0].notify", fmt.Sprintf("%d webhooks is more than the %d allowed", deployments.MaxWebhooks+1, deployments.MaxWebhooks)},
		{"misspelt key", "deployments:\n  - name: d\n    notfy: []\n", 3, "deployments[0].notfy", `did you mean "notify"?`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := deployments.Parse(flows.Registry.Flows(), "m.yaml", []byte(tc.yaml))
			require.Error(t, err)
			require.True(t, badinput.Is(err))
			assert.NotContains(t, err.Error(), "hunter2", "a webhook URL is never shown")
			assert.NotContains(t, err.Error(), "hooks.slack.com")
			got := problemFor(t, err, tc.field)
			assert.Equal(t, tc.line, got.Line, "%v", err)
			assert.Contains(t, got.Msg, tc.want)
		})
	}
}
