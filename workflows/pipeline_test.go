package workflows_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/stretchr/testify/suite"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/blueprint-etl/blueprint/activities"
	"github.com/blueprint-etl/blueprint/internal/conn"
	"github.com/blueprint-etl/blueprint/internal/pipeline"
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
	acts     *activities.Activities
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
	s.acts = &activities.Activities{Store: st, ChunkRecords: 100, Sources: source.Config{PageSize: 100}}
	worker.Register(s.env, s.acts)
	s.attempts = map[string]int{}
	s.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		s.attempts[info.ActivityType.Name]++
	})
}

func (s *PipelineSuite) TearDownTest() {
	s.env.AssertExpectations(s.T())
	s.Require().NoError(s.store.Close())
}

func (s *PipelineSuite) run(p pipeline.Params) (pipeline.Summary, error) {
	s.env.ExecuteWorkflow(pipeline.WorkflowType, p)
	s.Require().True(s.env.IsWorkflowCompleted())
	var sum pipeline.Summary
	if err := s.env.GetWorkflowError(); err != nil {
		return sum, err
	}
	s.Require().NoError(s.env.GetWorkflowResult(&sum))
	return sum, nil
}

func (s *PipelineSuite) TestHappyPath() {
	sum, err := s.run(pipeline.Params{BatchSize: 1000, SourceURL: "demo://orders"})
	s.Require().NoError(err)
	s.Equal(int64(1000), sum.Extracted)
	s.Equal(sum.Extracted, sum.Valid+sum.Rejected)
	s.Positive(sum.Rejected, "the synthetic source has dirty rows")
	s.Equal(sum.Valid, sum.Loaded.Inserted, "a first load inserts every valid row")
	s.Equal(map[string]int{pipeline.ExtractActivity: 1, pipeline.TransformActivity: 1, pipeline.LoadActivity: 1}, s.attempts)

	n, err := s.store.CountOrders(context.Background(), "")
	s.Require().NoError(err)
	s.Equal(sum.Valid, n)
	run, err := s.store.GetRun(context.Background(), pipeline.RunRef{WorkflowID: sum.WorkflowID, RunID: sum.RunID})
	s.Require().NoError(err)
	s.Equal(pipeline.RunCompleted, run.Status)
	s.Equal(sum.Loaded.Inserted, run.Inserted)
}

func (s *PipelineSuite) TestTransientFailureThenSuccess() {
	// failure_rate=1 meets an outage on every attempt but the last.
	sum, err := s.run(pipeline.Params{BatchSize: 500, SourceURL: "demo://orders?failure_rate=1"})
	s.Require().NoError(err)
	s.Equal(pipeline.MaxAttempts, s.attempts[pipeline.ExtractActivity])
	s.Equal(int64(500), sum.Extracted, "resumed attempts neither lose nor repeat records")
	n, err := s.store.CountOrders(context.Background(), "")
	s.Require().NoError(err)
	s.Equal(sum.Valid, n)
}

func (s *PipelineSuite) TestPermanentFailureAfterThreeAttempts() {
	_, err := s.run(pipeline.Params{BatchSize: 100, SourceURL: "demo://orders?fail=always"})
	s.Require().Error(err)
	var appErr *temporal.ApplicationError
	s.Require().True(errors.As(err, &appErr), "%v", err)
	s.Equal(pipeline.ErrTransient, appErr.Type())
	// The top-level message names the stage, the attempts and the cause
	// (the Web UI shows it first); the activity's error stays as its cause.
	// The test environment does not report the retry state a server does
	// ("after 3 attempts": the CLI's tests check that against a server).
	const want = `^Extract failed( after 3 attempts)?: synthetic source unavailable \(fail=always\)$`
	s.Regexp(want, appErr.Message())
	var actErr *temporal.ActivityError
	s.Require().ErrorAs(err, &actErr)
	s.Equal(pipeline.ExtractActivity, actErr.ActivityType().GetName())
	s.Equal(map[string]int{pipeline.ExtractActivity: pipeline.MaxAttempts, pipeline.FinishRunActivity: 1}, s.attempts)
	runs, err := s.store.ListRuns(context.Background(), 10)
	s.Require().NoError(err)
	s.Require().Len(runs, 1)
	s.Equal(pipeline.RunFailed, runs[0].Status)
	s.Regexp(want, runs[0].Error)
}

func (s *PipelineSuite) TestInvalidParametersFailWithoutRetries() {
	_, err := s.run(pipeline.Params{BatchSize: 0, SourceURL: "ftp://example.com/x"})
	var appErr *temporal.ApplicationError
	s.Require().True(errors.As(err, &appErr), "%v", err)
	s.Equal(pipeline.ErrInvalidParameters, appErr.Type())
	s.True(appErr.NonRetryable())
	s.Contains(appErr.Error(), "batch_size=0")
	s.Contains(appErr.Error(), `scheme "ftp"`)
	s.Empty(s.attempts, "no activity runs on invalid input")
	runs, err := s.store.ListRuns(context.Background(), 10)
	s.Require().NoError(err)
	s.Empty(runs, "no row is written on invalid input")
}

// startRaw starts a run with raw JSON input, the way the Web UI or
// `temporal workflow start` would (bypassing the CLI), and returns the
// InvalidParameters error it must end with.
func (s *PipelineSuite) startRaw(input string) *temporal.ApplicationError {
	s.env = s.NewTestWorkflowEnvironment()
	worker.Register(s.env, s.acts)
	s.env.ExecuteWorkflow(pipeline.WorkflowType, converter.NewRawValue(&commonpb.Payload{
		Metadata: map[string][]byte{"encoding": []byte("json/plain")},
		Data:     []byte(input),
	}))
	s.Require().True(s.env.IsWorkflowCompleted())
	var appErr *temporal.ApplicationError
	s.Require().ErrorAs(s.env.GetWorkflowError(), &appErr)
	s.Equal(pipeline.ErrInvalidParameters, appErr.Type())
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
	first, err := s.run(pipeline.Params{BatchSize: 300, SourceURL: "demo://orders"})
	s.Require().NoError(err)

	// A new run of the deployment: another workflow id, the same data.
	s.env = s.NewTestWorkflowEnvironment()
	s.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: "rerun"})
	worker.Register(s.env, s.acts)
	second, err := s.run(pipeline.Params{BatchSize: 300, SourceURL: "demo://orders"})
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
	require.Equal(t, pipeline.RetryInterval, o.RetryPolicy.InitialInterval)
	require.InDelta(t, 1.0, o.RetryPolicy.BackoffCoefficient, 0)
	require.ElementsMatch(t, pipeline.NonRetryableErrorTypes, o.RetryPolicy.NonRetryableErrorTypes)
	require.Positive(t, o.HeartbeatTimeout)
}

// TestRetryResumesFromCheckpoint shows that a retried Extract continues
// after the last committed chunk: with pages and chunks of 100 records, the
// outages of attempts 1 and 2 strike after some pages, and the run must
// still stage exactly the records a run without failures stages. An
// attempt that started over, or skipped ahead, would change the counts.
func (s *PipelineSuite) TestRetryResumesFromCheckpoint() {
	s.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: "reference"})
	want, err := s.run(pipeline.Params{BatchSize: 2000, SourceURL: "demo://orders"})
	s.Require().NoError(err)

	s.env = s.NewTestWorkflowEnvironment()
	s.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: "flaky"})
	worker.Register(s.env, s.acts)
	s.attempts = map[string]int{}
	s.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		s.attempts[info.ActivityType.Name]++
	})
	got, err := s.run(pipeline.Params{BatchSize: 2000, SourceURL: "demo://orders?failure_rate=1"})
	s.Require().NoError(err)
	s.Equal(pipeline.MaxAttempts, s.attempts[pipeline.ExtractActivity])
	s.Equal(want.Extracted, got.Extracted)
	s.Equal(want.Valid, got.Valid)
	s.Equal(want.Reasons, got.Reasons, "the same records were rejected for the same reasons")
	s.Equal(want.Valid, got.Loaded.Unchanged, "and they are the rows the reference loaded")
	rejected, err := s.store.Rejected(context.Background(), pipeline.RunRef{WorkflowID: got.WorkflowID, RunID: got.RunID}, 10000)
	s.Require().NoError(err)
	s.Len(rejected, int(got.Rejected), "no chunk was transformed twice")
}
