package workflows_test

import (
	"context"
	"strings"

	"go.temporal.io/sdk/temporal"

	"github.com/blueprint-etl/blueprint/flows"
	"github.com/blueprint-etl/blueprint/internal/pipeline"
	"github.com/blueprint-etl/blueprint/internal/record"
	"github.com/blueprint-etl/blueprint/internal/store"
	"github.com/blueprint-etl/blueprint/internal/testutil"
)

// fileSource writes a JSON file of good records and bad ones (by reason)
// and has the suite's worker read files from its directory.
func (s *PipelineSuite) fileSource(good int, bad ...string) string {
	dir := s.T().TempDir()
	url := testutil.OrdersFile(s.T(), dir, "orders", good, bad...)
	s.env = s.NewTestWorkflowEnvironment()
	s.deps.Sources.FileRoot = dir
	flows.Registry.Register(s.env, s.deps)
	return url
}

// onlyRun is the run of the suite's warehouse, with its rejected records
// and the orders loaded.
func (s *PipelineSuite) onlyRun() (store.RunRecord, []record.Rejected, int64) {
	ctx := context.Background()
	runs, err := s.store.ListRuns(ctx, 10)
	s.Require().NoError(err)
	s.Require().Len(runs, 1)
	rejected, err := s.store.Rejected(ctx, pipeline.RunRef{WorkflowID: runs[0].WorkflowID, RunID: runs[0].RunID}, 0)
	s.Require().NoError(err)
	loaded, err := s.store.CountOrders(ctx, "")
	s.Require().NoError(err)
	return runs[0], rejected, loaded
}

// TestEveryRecordRejectedFailsByDefault: a run that rejects every record
// it extracted fails, without max_rejected, before Load, with the counts
// by reason; its rejected records stay in the warehouse.
func (s *PipelineSuite) TestEveryRecordRejectedFailsByDefault() {
	url := s.fileSource(0, record.ReasonInvalidAmount, record.ReasonInvalidAmount, record.ReasonMissingID, record.ReasonInvalidEmail)
	_, err := s.run(pipeline.Params{BatchSize: 100, SourceURL: url})
	var appErr *temporal.ApplicationError
	s.Require().ErrorAs(err, &appErr)
	s.Equal(pipeline.ErrTooManyRejected, appErr.Type())
	s.True(appErr.NonRetryable())
	const want = "rejected all 4 extracted records (invalid_amount: 2, invalid_email: 1, missing_id: 1); without max_rejected a run fails when it rejects every record; nothing was loaded, the rejected records are kept in rejected_records"
	s.Equal(want, appErr.Message())
	var so pipeline.Summary
	s.Require().NoError(appErr.Details(&so), "the counts so far are the failure's details")
	s.Equal(int64(4), so.Extracted)
	s.Equal(int64(4), so.Rejected)

	run, rejected, loaded := s.onlyRun()
	s.Equal(pipeline.RunFailed, run.Status)
	s.Equal(want, run.Error)
	s.Len(rejected, 4, "the rejected records stay")
	s.Zero(loaded)
	s.Zero(s.attempts[pipeline.LoadActivity], "nothing is loaded")
	lines := s.logs(run.WorkflowID, run.RunID)
	s.Equal("error run 0 run failed in transform: "+want+" (TooManyRejected)", lines[len(lines)-1])
	s.Equal("**Stage:** failed\n\n**Failed in:** transform\n\n**Error:** "+want+" (TooManyRejected)", s.details())
}

// TestNothingExtractedCompletes: the default fails a run that rejected
// everything only when there was something to reject.
func (s *PipelineSuite) TestNothingExtractedCompletes() {
	sum, err := s.run(pipeline.Params{BatchSize: 100, SourceURL: s.fileSource(0)})
	s.Require().NoError(err)
	s.Zero(sum.Extracted)
}

// TestMaxRejected: a count or a percentage of the extracted records, in
// both directions: at the limit the run loads what is valid, one more
// rejected record fails it before Load, with the rejected records kept.
func (s *PipelineSuite) TestMaxRejected() {
	// 10 records, 3 rejected (30%).
	bad := []string{record.ReasonInvalidAmount, record.ReasonMissingID, record.ReasonInvalidAmount}
	for _, tt := range []struct {
		limit string
		fails bool
	}{
		{"3", false},
		{"2", true},
		{"0", true},
		{"30%", false},
		{"29.9999%", true},
		{"100%", false},
	} {
		// A % in the test's name would be in its temporary directory's
		// path, which a file:// URL decodes.
		s.Run(strings.ReplaceAll(tt.limit, "%", " percent"), func() {
			s.SetupTest()
			defer s.TearDownTest()
			limit, err := pipeline.ParseRejectLimit(tt.limit)
			s.Require().NoError(err)
			sum, err := s.run(pipeline.Params{BatchSize: 100, SourceURL: s.fileSource(7, bad...), MaxRejected: limit})
			run, rejected, loaded := s.onlyRun()
			s.Len(rejected, 3, "the rejected records are kept either way")
			if !tt.fails {
				s.Require().NoError(err)
				s.Equal(int64(3), sum.Rejected)
				s.Equal(int64(7), sum.Loaded.Inserted)
				s.Equal(int64(7), loaded)
				s.Equal(pipeline.RunCompleted, run.Status)
				return
			}
			var appErr *temporal.ApplicationError
			s.Require().ErrorAs(err, &appErr)
			s.Equal(pipeline.ErrTooManyRejected, appErr.Type())
			more := "rejected 3 of 10 extracted records, more than max_rejected=" + tt.limit
			if strings.HasSuffix(tt.limit, "%") {
				more = "rejected 3 of 10 extracted records (30%), more than max_rejected=" + tt.limit
			}
			s.Equal(more+" (invalid_amount: 2, missing_id: 1); nothing was loaded, the rejected records are kept in rejected_records", appErr.Message())
			s.Zero(loaded, "nothing is loaded")
			s.Equal(pipeline.RunFailed, run.Status)
		})
	}
}
