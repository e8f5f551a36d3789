package cli_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/blueprint-etl/blueprint/schedules"
)

// A no-op deploy still reads every schedule: one edited outside blueprint
// (`temporal schedule update`, which replaces spec, action and policies) is
// reported as updated, not unchanged, and put back as the manifest says;
// deployment ls and status show it differing until then.
func TestDeployRestoresAScheduleEditedWithTheTemporalCLI(t *testing.T) {
	const name = "cli-edited-outside"
	cleanupSchedule(t, name)
	path := writeManifest(t, manifestOf(deployment(name, "tq-cli-edited", `{batch_size: 10, source_url: "demo://orders"}`,
		chicago9+"      paused: true\n")))
	ok(t, "-f", path, "deploy")
	r := ok(t, "-f", path, "deploy")
	assert.Regexp(t, `(?m)^cli-edited-outside\s+unchanged$`, r.stdout)

	out, err := temporalCLI(t, "schedule", "update", "--address", srv.FrontendHostPort(), "--namespace", "default",
		"--schedule-id", name, "--cron", "30 6 * * *", "--workflow-id", "edited-by-hand", "--task-queue", "tq-cli-edited",
		"--type", "DataPipeline", "--paused")
	require.NoError(t, err, out)

	r = ok(t, "-f", path, "deployment", "ls")
	assert.Regexp(t, `(?m)^cli-edited-outside\s.*paused, differs`, r.stdout)
	r = blueprint(t, "-f", path, "status")
	assert.Regexp(t, `schedule cli-edited-outside differs from the manifest \(.*cron: 30 6 \* \* \* -> 0 9 \* \* \*`, r.stdout, "%s", r)

	r = ok(t, "-f", path, "deploy")
	assert.Regexp(t, `(?m)^cli-edited-outside\s+updated$`, r.stdout)
	assert.Contains(t, r.stdout, "cron: 30 6 * * * -> 0 9 * * *")
	assert.Contains(t, r.stdout, "0 created, 1 updated, 0 unchanged, 0 deleted")

	st, err := schedules.Describe(ctx(t), srv.Client(), name)
	require.NoError(t, err)
	assert.Equal(t, "0 9 * * *", st.Cron)
	assert.Equal(t, "America/Chicago", st.Timezone)
	assert.True(t, st.Paused && st.Managed, "%+v", st)
	desc := scheduleDescription(t, name)
	require.NotNil(t, desc)
	action, isWorkflow := desc.Schedule.Action.(*client.ScheduleWorkflowAction)
	require.True(t, isWorkflow)
	assert.Equal(t, name, action.ID, "the manifest's action is back")

	r = ok(t, "-f", path, "deploy")
	assert.Regexp(t, `(?m)^cli-edited-outside\s+unchanged$`, r.stdout)
}
