package workflows_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/stretchr/testify/suite"
	commonpb "go.temporal.io/api/common/v1"
	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/blueprint-etl/blueprint/flows"
	"github.com/blueprint-etl/blueprint/internal/conn"
	"github.com/blueprint-etl/blueprint/internal/datapipeline"
	"github.com/blueprint-etl/blueprint/internal/flowrun"
	"github.com/blueprint-etl/blueprint/internal/record"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/runlog"
	"github.com/blueprint-etl/blueprint/internal/source"
	"github.com/blueprint-etl/blueprint/internal/store"
	"github.com/blueprint-etl/blueprint/internal/worker"
	"github.com/blueprint-etl/blueprint/workflows"
)

// PipelineSuite runs the workflow in the SDK's test environment with the
// real activities, a real SQLite warehouse and the synthetic source; only
// time is simulated, so retry intervals cost nothing.
type PipelineSuite struct {
	suite.Suite
	testsuite.WorkflowTestSuite
	env      *testsuite.TestWorkflowEnvironment
	store    *store.Store
	deps     worker.Deps
	attempts map[string]int
}

func TestPipelineSuite(t *testing.T) { suite.Run(t, new(PipelineSuite)) }

func (s *PipelineSuite) SetupSuite() {
	s.SetLogger(conn.QuietLogger())
}

func (s *PipelineSuite) SetupTest() {
	st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(s.T().TempDir(), "warehouse.db"))
	s.Require().NoError(err)
	s.store = st
	s.env = s.NewTestWorkflowEnvironment()
	// Small pages and chunks, so every run commits several checkpoints.
	s.deps = worker.Deps{Store: st, ChunkRecords: 100, Sources: source.Config{PageSize: 100},
		Log: &runlog.Writer{Store: st}}
	flows.Registry.Register(s.env, s.deps)
	s.attempts = map[string]int{}
	s.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		s.attempts[info.ActivityType.Name]++
	})
	// EndRun runs as a local activity (see internal/flowrun); count it too.
	s.env.SetOnLocalActivityStartedListener(func(info *activity.Info, _ context.Context, _ []any) {
		s.attempts[info.ActivityType.Name]++
	})
}

func (s *PipelineSuite) TearDownTest() {
	s.env.AssertExpectations(s.T())
	s.Require().NoError(s.store.Close())
}

func (s *PipelineSuite) run(p datapipeline.Params) (datapipeline.Summary, error) {
	s.env.ExecuteWorkflow(datapipeline.WorkflowType, p)
	s.Require().True(s.env.IsWorkflowCompleted())
	var sum datapipeline.Summary
	if err := s.env.GetWorkflowError(); err != nil {
		return sum, err
	}
	s.Require().NoError(s.env.GetWorkflowResult(&sum))
	return sum, nil
}

func (s *PipelineSuite) TestHappyPath() {
	sum, err := s.run(datapipeline.Params{BatchSize: 1000, SourceURL: "demo://orders"})
	s.Require().NoError(err)
	s.Equal(int64(1000), sum.Extracted)
	s.Equal(sum.Extracted, sum.Valid+sum.Rejected)
	s.Positive(sum.Rejected, "the synthetic source has dirty rows")
	s.Equal(sum.Valid, sum.Loaded.Inserted, "a first load inserts every valid row")
	s.Equal(map[string]int{datapipeline.ExtractActivity: 1, datapipeline.TransformActivity: 1, datapipeline.LoadActivity: 1, runinfo.EndRunActivity: 1}, s.attempts)

	lines := s.logs(sum.WorkflowID, sum.RunID)
	s.hasLine(lines, "info extract 1 extract started (attempt 1")
	s.hasLine(lines, "info extract 1 extract finished: 1000 records from demo://orders?seed=1 in 10 chunks")
	s.hasLine(lines, "info extract 1 chunk 10 committed: 1000 rows so far")
	s.hasLine(lines, "info transform 1 transform started (attempt 1")
	s.Contains(lines, fmt.Sprintf("info load 1 chunk 10 of 10 committed: %d rows so far", sum.Valid))
	s.Contains(lines, "info run 0 run completed: "+sum.OneLine())
	s.Equal("info run 0 run completed: "+sum.OneLine(), lines[len(lines)-1], "the outcome is the last line")
	s.hasLine(lines, fmt.Sprintf("warn transform 1 rejected %d records by reason: %s", sum.Rejected, record.FormatReasons(sum.Reasons)))

	n, err := s.store.CountOrders(context.Background(), "")
	s.Require().NoError(err)
	s.Equal(sum.Valid, n)
	run, err := s.store.GetRun(context.Background(), runinfo.RunRef{WorkflowID: sum.WorkflowID, RunID: sum.RunID})
	s.Require().NoError(err)
	s.Equal(runinfo.RunCompleted, run.Status)
	s.Equal(sum.Loaded.Inserted, run.Inserted)
}

func (s *PipelineSuite) TestTransientFailureThenSuccess() {
	// failure_rate=1 meets an outage on every attempt but the last.
	sum, err := s.run(datapipeline.Params{BatchSize: 500, SourceURL: "demo://orders?failure_rate=1"})
	s.Require().NoError(err)
	s.Equal(runinfo.MaxAttempts, s.attempts[datapipeline.ExtractActivity])
	s.Equal(int64(500), sum.Extracted, "resumed attempts neither lose nor repeat records")
	n, err := s.store.CountOrders(context.Background(), "")
	s.Require().NoError(err)
	s.Equal(sum.Valid, n)
}

func (s *PipelineSuite) TestPermanentFailureAfterThreeAttempts() {
	_, err := s.run(datapipeline.Params{BatchSize: 100, SourceURL: "demo://orders?fail=always"})
	s.Require().Error(err)
	var appErr *temporal.ApplicationError
	s.Require().True(errors.As(err, &appErr), "%v", err)
	s.Equal(runinfo.ErrTransient, appErr.Type())
	// The top-level message names the stage, the attempts and the cause
	// (the Web UI shows it first); the activity's error stays as its cause.
	// The test environment does not report the retry state a server does
	// ("after 3 attempts": the CLI's tests check that against a server).
	const want = `^Extract failed( after 3 attempts)?: synthetic source unavailable \(fail=always\)$`
	s.Regexp(want, appErr.Message())
	var actErr *temporal.ActivityError
	s.Require().ErrorAs(err, &actErr)
	s.Equal(datapipeline.ExtractActivity, actErr.ActivityType().GetName())
	s.Equal(map[string]int{datapipeline.ExtractActivity: runinfo.MaxAttempts, datapipeline.FinishRunActivity: 1, runinfo.EndRunActivity: 1}, s.attempts)
	runs, err := s.store.ListRuns(context.Background(), 10)
	s.Require().NoError(err)
	s.Require().Len(runs, 1)
	s.Equal(runinfo.RunFailed, runs[0].Status)
	s.Regexp(want, runs[0].Error)

	lines := s.logs(runs[0].WorkflowID, runs[0].RunID)
	for n := 1; n <= runinfo.MaxAttempts; n++ {
		s.hasLine(lines, fmt.Sprintf("info extract %d extract started (attempt %d", n, n))
	}
	last := lines[len(lines)-2:]
	s.Equal("error extract 3 attempt 3 failed: synthetic source unavailable (fail=always) (Transient)", last[0])
	s.Equal("error run 0 run failed in extract: synthetic source unavailable (fail=always) (Transient)", last[1])
}

// hasLine checks that a line starts with prefix.
func (s *PipelineSuite) hasLine(lines []string, prefix string) {
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			return
		}
	}
	s.Failf("no such log line", "no line starts with %q in %q", prefix, lines)
}

// logs returns a run's log lines as "level stage attempt message".
func (s *PipelineSuite) logs(workflowID, runID string) []string {
	lines, err := s.store.RunLogs(context.Background(), runinfo.RunRef{WorkflowID: workflowID, RunID: runID}, store.LogQuery{})
	s.Require().NoError(err)
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = fmt.Sprintf("%s %s %d %s", l.Level, l.Stage, l.Attempt, l.Message)
	}
	return out
}

func (s *PipelineSuite) TestInvalidParametersFailWithoutRetries() {
	_, err := s.run(datapipeline.Params{BatchSize: 0, SourceURL: "ftp://example.com/x"})
	var appErr *temporal.ApplicationError
	s.Require().True(errors.As(err, &appErr), "%v", err)
	s.Equal(runinfo.ErrInvalidParameters, appErr.Type())
	s.True(appErr.NonRetryable())
	s.Contains(appErr.Error(), "batch_size=0")
	s.Contains(appErr.Error(), `scheme "ftp"`)
	s.Equal(map[string]int{runinfo.EndRunActivity: 1}, s.attempts, "no stage runs on invalid input; the run's end is recorded")
	runs, err := s.store.ListRuns(context.Background(), 10)
	s.Require().NoError(err)
	s.Empty(runs, "no pipeline_runs row is written on invalid input")
	logs := s.logs("default-test-workflow-id", "default-test-run-id")
	s.Require().NotEmpty(logs)
	s.Contains(logs[len(logs)-1], "error run 0 run failed: invalid parameters")
	fr, ok, err := s.store.GetFlowRun(context.Background(), runinfo.RunRef{WorkflowID: "default-test-workflow-id", RunID: "default-test-run-id"})
	s.Require().NoError(err)
	s.Require().True(ok, "the failure is in the record of runs")
	s.Equal(runinfo.RunFailed, fr.Status)
	s.Equal(datapipeline.WorkflowType, fr.Flow)
	s.Contains(fr.Error, "batch_size=0")
}

// startRaw starts a run with raw JSON input, the way the Web UI or
// `temporal workflow start` would (bypassing the CLI), and returns the
// InvalidParameters error it must end with.
func (s *PipelineSuite) startRaw(input string) *temporal.ApplicationError {
	s.env = s.NewTestWorkflowEnvironment()
	flows.Registry.Register(s.env, s.deps)
	s.env.ExecuteWorkflow(datapipeline.WorkflowType, converter.NewRawValue(&commonpb.Payload{
		Metadata: map[string][]byte{"encoding": []byte("json/plain")},
		Data:     []byte(input),
	}))
	s.Require().True(s.env.IsWorkflowCompleted())
	var appErr *temporal.ApplicationError
	s.Require().ErrorAs(s.env.GetWorkflowError(), &appErr)
	s.Equal(runinfo.ErrInvalidParameters, appErr.Type())
	s.True(appErr.NonRetryable())
	return appErr
}

// TestCredentialsInSourceURLFailAsInvalidParameters: a source_url with
// credentials is refused without reaching a source, and the message names
// neither the password nor the token.
func (s *PipelineSuite) TestCredentialsInSourceURLFailAsInvalidParameters() {
	for _, u := range []string{"https://etl:hunter2@example.com/orders", "https://ghp_hunter2@example.com/orders"} {
		appErr := s.startRaw(`{"source_url": "` + u + `"}`)
		s.Contains(appErr.Error(), "must not carry credentials")
		s.Contains(appErr.Error(), "BLUEPRINT_HTTP_BEARER_TOKEN")
		s.NotContains(appErr.Error(), "hunter2")
	}
	s.Empty(s.attempts, "no activity runs on invalid input")
}

// TestMalformedInputFailsAsInvalidParameters sends bytes that are not JSON,
// as a hand-typed start in the Web UI or the Temporal CLI might.
func (s *PipelineSuite) TestMalformedInputFailsAsInvalidParameters() {
	s.Contains(s.startRaw(`{"batch_size": 5`).Error(), "not valid JSON")
	s.Empty(s.attempts, "no activity runs on invalid input")
}

func (s *PipelineSuite) TestRerunAddsNoDuplicates() {
	first, err := s.run(datapipeline.Params{BatchSize: 300, SourceURL: "demo://orders"})
	s.Require().NoError(err)

	// A new run of the deployment: another workflow id, the same data.
	s.env = s.NewTestWorkflowEnvironment()
	s.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: "rerun"})
	flows.Registry.Register(s.env, s.deps)
	second, err := s.run(datapipeline.Params{BatchSize: 300, SourceURL: "demo://orders"})
	s.Require().NoError(err)
	s.Zero(second.Loaded.Inserted)
	s.Zero(second.Loaded.Updated)
	s.Equal(first.Valid, second.Loaded.Unchanged)
	n, err := s.store.CountOrders(context.Background(), "")
	s.Require().NoError(err)
	s.Equal(first.Valid, n)
}

func TestActivityOptions(t *testing.T) {
	o := workflows.ActivityOptions()
	require.EqualValues(t, 3, o.RetryPolicy.MaximumAttempts)
	require.Equal(t, runinfo.RetryInterval, o.RetryPolicy.InitialInterval)
	require.InDelta(t, 1.0, o.RetryPolicy.BackoffCoefficient, 0)
	require.ElementsMatch(t, runinfo.NonRetryableErrorTypes, o.RetryPolicy.NonRetryableErrorTypes)
	require.Positive(t, o.HeartbeatTimeout)
}

// TestRetryResumesFromCheckpoint shows that a retried Extract continues
// after the last committed chunk: with pages and chunks of 100 records, the
// outages of attempts 1 and 2 strike after some pages, and the run must
// still stage exactly the records a run without failures stages. An
// attempt that started over, or skipped ahead, would change the counts.
func (s *PipelineSuite) TestRetryResumesFromCheckpoint() {
	s.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: "reference"})
	want, err := s.run(datapipeline.Params{BatchSize: 2000, SourceURL: "demo://orders"})
	s.Require().NoError(err)

	s.env = s.NewTestWorkflowEnvironment()
	s.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: "flaky"})
	flows.Registry.Register(s.env, s.deps)
	s.attempts = map[string]int{}
	s.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		s.attempts[info.ActivityType.Name]++
	})
	got, err := s.run(datapipeline.Params{BatchSize: 2000, SourceURL: "demo://orders?failure_rate=1"})
	s.Require().NoError(err)
	s.Equal(runinfo.MaxAttempts, s.attempts[datapipeline.ExtractActivity])
	s.Equal(want.Extracted, got.Extracted)
	s.Equal(want.Valid, got.Valid)
	s.Equal(want.Reasons, got.Reasons, "the same records were rejected for the same reasons")
	s.Equal(want.Valid, got.Loaded.Unchanged, "and they are the rows the reference loaded")
	rejected, err := s.store.Rejected(context.Background(), runinfo.RunRef{WorkflowID: got.WorkflowID, RunID: got.RunID}, 10000)
	s.Require().NoError(err)
	s.Len(rejected, int(got.Rejected), "no chunk was transformed twice")
}

// TestRetryShowsInCurrentDetails checks that the run's current details show
// the attempt a stage's activity announces when the server retries it
// (runinfo.AttemptSignal; the activities send it on a real server, see
// flows' TestRetryShowsInCurrentDetailsOnDevServer), and that the next
// stage starts without it. Extract's first attempt fails (failure_rate=1)
// and its retry waits 2 s: the signals arrive within that wait.
func (s *PipelineSuite) TestRetryShowsInCurrentDetails() {
	s.env.RegisterDelayedCallback(func() {
		s.env.SignalWorkflow(runinfo.AttemptSignal, runinfo.Attempt{Stage: runinfo.StageExtract, Attempt: 2, MaxAttempts: 3, Rows: 300,
			PreviousError: "synthetic source unavailable (Transient)"})
		s.env.SignalWorkflow(runinfo.AttemptSignal, runinfo.Attempt{Stage: runinfo.StageLoad, Attempt: 2, MaxAttempts: 3})
	}, runinfo.RetryInterval/4)
	var during string
	s.env.RegisterDelayedCallback(func() { during = s.details() }, runinfo.RetryInterval/2)
	sum, err := s.run(datapipeline.Params{BatchSize: 500, SourceURL: "demo://orders?failure_rate=1"})
	s.Require().NoError(err)
	s.Equal("**Stage:** extract\n\n**Reading:** up to 500 records from demo://orders?failure_rate=1\n\n"+
		"**Attempt:** 2 of 3 (resuming after 300 rows)\n\n**Previous attempt failed:** synthetic source unavailable (Transient)", during,
		"the extract attempt is shown; the load signal, for a stage not running, is not")
	s.Equal("**Stage:** done\n\n**Result:** "+sum.OneLine(), s.details(), "the next stage starts without the attempt")
}

// details are the run's current details, as the Web UI reads them.
func (s *PipelineSuite) details() string {
	v, err := s.env.QueryWorkflow(flowrun.MetadataQuery)
	s.Require().NoError(err)
	var md sdkpb.WorkflowMetadata
	s.Require().NoError(v.Get(&md))
	return md.GetCurrentDetails()
}
