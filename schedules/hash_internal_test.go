package schedules

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/deployments"
	"github.com/blueprint-etl/blueprint/flows"
)

// The spec hash of a cron schedule is what it was before deployments had
// several schedules and intervals: a changed hash makes every deployed
// schedule "updated" once after an upgrade. The value was computed by
// blueprint at b422960 for this manifest; change it only on purpose.
func TestSpecHashOfACronScheduleIsStable(t *testing.T) {
	m, err := deployments.Parse(flows.Registry.Flows(), "pin.yaml", []byte(`deployments:
  - name: pinned
    task_queue: tq-pinned
    parameters: {batch_size: 1000, source_url: "demo://orders"}
    schedule:
      cron: "0 9 * * *"
      timezone: America/Chicago
`))
	require.NoError(t, err)
	ws, err := desireAll(m)
	require.NoError(t, err)
	require.Len(t, ws, 1)
	assert.Equal(t, "1f5f7db050ded789", ws[0].hash)

	// An interval schedule hashes its interval and offset.
	m.Deployments[0].Schedules[0].Cron, m.Deployments[0].Schedules[0].Interval = "", 15*time.Minute
	iv, err := desireAll(m)
	require.NoError(t, err)
	m.Deployments[0].Schedules[0].Offset = time.Minute
	off, err := desireAll(m)
	require.NoError(t, err)
	assert.NotEqual(t, ws[0].hash, iv[0].hash)
	assert.NotEqual(t, iv[0].hash, off[0].hash)
}
