//go:build e2e

package e2e

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/blueprint-etl/blueprint/internal/pipeline"
	"github.com/blueprint-etl/blueprint/internal/source"
	"github.com/blueprint-etl/blueprint/internal/testutil"
)

// droppedRecords and droppedPage: the feed of TestDroppedConnection is 5
// pages of 50 records.
const droppedRecords, droppedPage = 250, 50

// TestDroppedConnection: a server that closes a fresh connection without
// answering (a crashed or restarting API; every response says Connection:
// close, so Go's transport does not retry it by itself) on page 3 of 5
// fails that Extract attempt, and the retry resumes at its checkpoint:
// DataPipeline completes with all 250 records in the warehouse, never
// with the 100 before the dropped page. In every pagination style, from a
// plain URL (auto-detected) or a named source.
func TestDroppedConnection(t *testing.T) {
	t.Parallel()
	srv := startServer(t, false)
	c := srv.client()
	wh := sqliteWarehouse(t)
	const queue = "e2e-dropped"
	startWorker(t, "dropped", srv.addr, "BLUEPRINT_DATABASE_URL="+wh.DSN, "BLUEPRINT_TASK_QUEUE="+queue,
		fmt.Sprint("BLUEPRINT_CHUNK_RECORDS=", droppedPage))

	type started struct {
		feed   *testutil.Feed
		params pipeline.Params
		run    client.WorkflowRun
	}
	var runs []started
	for _, style := range testutil.FeedStyles {
		f := &testutil.Feed{Style: style, Records: testutil.OrderRecords("dropped-"+string(style), droppedRecords), PageSize: droppedPage,
			Fault: testutil.FaultDrop, FaultPage: 2}
		if style == testutil.FeedSingle {
			f.FaultPage = 0 // its only page
		}
		f.Start(t)
		raw, def := f.Source()
		p := pipeline.Params{BatchSize: 1000, SourceURL: raw, Source: def}
		runs = append(runs, started{feed: f, params: p, run: startRun(t, c, "dropped-"+string(style), queue, p)})
	}

	for _, r := range runs {
		style := r.feed.Style
		var sum pipeline.Summary
		require.NoError(t, r.run.Get(testContext(t), &sum), "%s: the run completes after a retry", style)
		require.True(t, r.feed.Faulted(), "%s: the connection was dropped", style)
		require.EqualValues(t, droppedRecords, sum.Extracted, "%s: every record, not the pages before the dropped one", style)

		ex := activityOf(t, activityRuns(events(t, c, r.run.GetID(), r.run.GetRunID())), pipeline.ExtractActivity)
		require.EqualValues(t, 2, ex.Attempt, "%s: the dropped page failed one attempt", style)
		require.Contains(t, ex.LastFailure, "the server closed the connection without answering", style)
		require.Equal(t, "completed", ex.Outcome)
		if style != testutil.FeedSingle {
			require.Equal(t, 1, r.feed.Requests(0), "%s: the retry resumes at its checkpoint, after the first pages", style)
		}

		spec, err := r.params.Spec()
		require.NoError(t, err)
		exp := expectSpec(t, spec, r.params.BatchSize, source.Config{})
		require.Len(t, exp.Valid, droppedRecords)
		wh.checkRun(t, exp, sum)
	}
}
