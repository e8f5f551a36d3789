package workflows

import (
	"fmt"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/blueprint-etl/blueprint/internal/datapipeline"
	"github.com/blueprint-etl/blueprint/internal/flow"
	"github.com/blueprint-etl/blueprint/internal/flowrun"
	"github.com/blueprint-etl/blueprint/internal/redact"
	"github.com/blueprint-etl/blueprint/internal/report"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
)

// NightlyETL loads every source with a DataPipeline child run, at most
// max_parallel at a time, then runs an OrdersReport child over the days of
// the orders they loaded. It is Prefect's flow-of-subflows: each child is
// a run of its own, listed under the parent by `blueprint runs show` and
// linked in the Web UI.
//
// A failing source does not stop the others. When every source is done,
// the report covers what loaded; then, if any source failed, the run
// fails with SourcesFailed naming them (the result, with every source's
// outcome, is in the failure's details). A cancelled run cancels its
// children and ends cancelled, without a report. Only counts and
// references pass through the history, never records.
func NightlyETL(ctx workflow.Context, p report.NightlyParams) (report.NightlyResult, error) {
	info := workflow.GetInfo(ctx)
	deployment := flowrun.Deployment(ctx)
	log := flowrun.Log(ctx)
	child := func(id, summary string) workflow.Context {
		o := workflow.ChildWorkflowOptions{
			WorkflowID: id,
			TaskQueue:  info.TaskQueueName,
			// The child's Web UI page names the run it belongs to.
			StaticSummary: summary + " (child of NightlyETL run " + info.WorkflowExecution.ID + ")",
			// Cancelling the parent cancels the children, which record
			// themselves as cancelled.
			ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_REQUEST_CANCEL,
		}
		if deployment != "" {
			o.TypedSearchAttributes = temporal.NewSearchAttributes(
				runinfo.DeploymentKey.ValueSet(deployment))
		}
		return workflow.WithChildOptions(ctx, o)
	}

	res := report.NightlyResult{Sources: make([]report.SourceOutcome, len(p.Sources))}
	var first, last *time.Time
	sel := workflow.NewSelector(ctx)
	running, next := 0, 0
	// The current details list every child with its status.
	show := func() {
		facts := make([]string, 0, len(res.Sources))
		for i, s := range res.Sources {
			status := s.Status
			if status == "" {
				status = "waiting"
			}
			line := fmt.Sprintf("**Source %d:** %s: %s", i+1, redact.URL(p.Sources[i]), status)
			if s.WorkflowID != "" {
				line += " (" + s.WorkflowID + ")"
			}
			if s.Status == runinfo.RunCompleted {
				line += fmt.Sprintf(", %d extracted, %d loaded", s.Extracted, s.Loaded)
			}
			facts = append(facts, line)
		}
		flowrun.SetStage(ctx, nightlyStage, facts...)
	}
	log.Info(ctx, "loading %d sources, at most %d at a time", len(p.Sources), p.MaxParallel)
	start := func(i int) {
		id := fmt.Sprintf("%s-source-%d", info.WorkflowExecution.ID, i+1)
		res.Sources[i] = report.SourceOutcome{Source: redact.URL(p.Sources[i]), WorkflowID: id, Status: runinfo.RunRunning}
		f := workflow.ExecuteChildWorkflow(child(id, fmt.Sprintf("Load source %d of %d: %s", i+1, len(p.Sources), redact.URL(p.Sources[i]))), datapipeline.WorkflowType,
			datapipeline.Params{BatchSize: p.BatchSize, SourceURL: p.Sources[i], MaxRejected: p.MaxRejected, Source: p.SourceDefinition(p.Sources[i])})
		running++
		show()
		sel.AddFuture(f, func(f workflow.Future) {
			running--
			var s datapipeline.Summary
			out := &res.Sources[i]
			defer show()
			if err := f.Get(ctx, &s); err != nil {
				if temporal.IsCanceledError(err) {
					out.Status = runinfo.RunCancelled
					log.Warn(ctx, "source %d (%s): cancelled", i+1, out.WorkflowID)
					return
				}
				out.Status, out.Error = runinfo.RunFailed, err.Error()
				res.Failed++
				log.Error(ctx, "source %d (%s) failed: %s", i+1, out.WorkflowID, flowrun.Cause(err))
				return
			}
			out.Status, out.Extracted = runinfo.RunCompleted, s.Extracted
			out.Loaded = s.Loaded.Inserted + s.Loaded.Updated + s.Loaded.Unchanged
			res.Loaded++
			log.Info(ctx, "source %d (%s) completed: %s", i+1, out.WorkflowID, s.OneLine())
			if a := s.Loaded.FirstOrderedAt; a != nil && (first == nil || a.Before(*first)) {
				first = a
			}
			if b := s.Loaded.LastOrderedAt; b != nil && (last == nil || b.After(*last)) {
				last = b
			}
		})
	}
	for next < len(p.Sources) || running > 0 {
		for next < len(p.Sources) && running < p.MaxParallel {
			start(next)
			next++
		}
		sel.Select(ctx)
	}
	if err := ctx.Err(); err != nil {
		return res, err // cancelled: the run ends cancelled, not failed
	}

	var failure error
	if first != nil && last != nil {
		// The loaded instants are UTC; a calendar day in the report's
		// zone can start up to 14 h away from the UTC day, so the range is
		// widened by a day on each side. Recomputing a day is idempotent.
		params := report.Params{
			From:     flow.DateOf(first.UTC()).AddDays(-1),
			To:       flow.DateOf(last.UTC()).AddDays(1),
			Timezone: p.Timezone,
		}
		res.ReportWorkflowID = info.WorkflowExecution.ID + "-report"
		flowrun.SetStage(ctx, "report", fmt.Sprintf("**Report:** %s..%s (%s), %s", params.From, params.To, params.Timezone, res.ReportWorkflowID))
		var rr report.Result
		if err := workflow.ExecuteChildWorkflow(child(res.ReportWorkflowID, fmt.Sprintf("Report on %s..%s (%s)", params.From, params.To, params.Timezone)),
			report.OrdersReportWorkflow, params).Get(ctx, &rr); err != nil {
			failure = fmt.Errorf("report on the loaded days failed: %w", err)
			log.Error(ctx, "the report (%s) failed: %s", res.ReportWorkflowID, flowrun.Cause(err))
		} else {
			res.Report = &rr
			log.Info(ctx, "the report (%s) completed: %s", res.ReportWorkflowID, rr.OneLine())
		}
	} else {
		log.Info(ctx, "no source loaded any order: no report")
	}
	if res.Failed > 0 {
		var failed []string
		for _, s := range res.Sources {
			if s.Status == runinfo.RunFailed {
				failed = append(failed, s.Source)
			}
		}
		msg := fmt.Sprintf("%d of %d sources failed: %s", res.Failed, len(p.Sources), strings.Join(failed, ", "))
		if res.Report != nil {
			msg += fmt.Sprintf("; the %d that loaded are reported (%s..%s)", res.Loaded, res.Report.From, res.Report.To)
		}
		return res, temporal.NewNonRetryableApplicationError(msg, runinfo.ErrSourcesFailed, failure, res)
	}
	if failure != nil {
		return res, failure
	}
	return res, nil
}

// nightlyStage is NightlyETL's stage while its sources load, as its
// current details name it.
const nightlyStage = "load sources"
