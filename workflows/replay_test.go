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

	"github.com/blueprint-etl/blueprint/internal/codec"
	"github.com/blueprint-etl/blueprint/internal/pipeline"
	"github.com/blueprint-etl/blueprint/workflows"
)

// TestReplay replays histories recorded from real runs on a dev server
// (see internal/worker's TestRecordHistories). A change to DataPipeline that
// would break running workflows fails here; record new histories for new
// behaviour and keep the old ones.
func TestReplay(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "no recorded histories in testdata/")
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflowWithOptions(workflows.DataPipeline, workflow.RegisterOptions{Name: pipeline.WorkflowType})
			require.NoError(t, r.ReplayWorkflowHistoryFromJSONFile(nil, f))
		})
	}
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
		r.RegisterWorkflowWithOptions(workflows.DataPipeline, workflow.RegisterOptions{Name: pipeline.WorkflowType})
		return r.ReplayWorkflowHistoryFromJSONFile(log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))), history)
	}
	require.NoError(t, replay(worker.WorkflowReplayerOptions{DataConverter: codec.DataConverter(keys)}))
	require.Error(t, replay(worker.WorkflowReplayerOptions{}))
}
