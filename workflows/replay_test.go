package workflows_test

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/blueprint-etl/blueprint/flows"
	"github.com/blueprint-etl/blueprint/internal/codec"
)

// TestReplay replays histories recorded from real runs on a dev server
// (see TestRecordHistories in flows/). A change to a flow that would break
// running workflows fails here; record new histories for new behaviour and
// keep the old ones.
func TestReplay(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "no recorded histories in testdata/")
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			flows.Registry.Flows().RegisterWorkflows(r)
			require.NoError(t, replayFile(t, r, nil, f))
		})
	}
}

// replayFile replays a recorded history as the execution it was recorded
// from: NightlyETL names its children after its own workflow ID, so a
// replay under the replayer's made-up ID would not match the history.
func replayFile(t *testing.T, r worker.WorkflowReplayer, logger log.Logger, path string) error {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	h, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
	require.NoError(t, f.Close())
	require.NoError(t, err)
	started := h.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes()
	require.NotEmpty(t, started.GetWorkflowId(), "the first event of %s starts the workflow and names it", path)
	return r.ReplayWorkflowHistoryWithOptions(logger, h, worker.ReplayWorkflowHistoryOptions{
		OriginalExecution: workflow.Execution{ID: started.GetWorkflowId(), RunID: started.GetOriginalExecutionRunId()},
	})
}

// TestReplayEncrypted replays a history recorded with payload encryption on
// (BLUEPRINT_ENCRYPTION_KEYS; the test key is in testdata/encrypted/KEYS):
// with the key it replays like any other; without it the workflow cannot
// read its input, so the replay fails instead of taking another path.
func TestReplayEncrypted(t *testing.T) {
	dir := filepath.Join("testdata", "encrypted")
	spec, err := os.ReadFile(filepath.Join(dir, "KEYS"))
	require.NoError(t, err)
	keys, err := codec.ParseKeys(strings.TrimSpace(string(spec)))
	require.NoError(t, err)
	history := filepath.Join(dir, "completed.json")
	f, err := os.Open(history)
	require.NoError(t, err)
	h, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
	require.NoError(t, f.Close())
	require.NoError(t, err)
	input := h.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes().GetInput().GetPayloads()[0]
	require.Equal(t, codec.EncodingEncrypted, string(input.GetMetadata()["encoding"]), "the recorded history is encrypted")

	replay := func(opts worker.WorkflowReplayerOptions) error {
		r, err := worker.NewWorkflowReplayerWithOptions(opts)
		require.NoError(t, err)
		flows.Registry.Flows().RegisterWorkflows(r)
		return replayFile(t, r, log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))), history)
	}
	require.NoError(t, replay(worker.WorkflowReplayerOptions{DataConverter: codec.DataConverter(keys)}))
	require.Error(t, replay(worker.WorkflowReplayerOptions{}))
}
