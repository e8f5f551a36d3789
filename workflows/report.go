package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/blueprint-etl/blueprint/internal/flowrun"
	"github.com/blueprint-etl/blueprint/internal/report"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
)

// OrdersReport totals the warehouse's orders per day, category and
// currency into daily_revenue, for the days from..to (inclusive) in the
// parameters' time zone; both default to yesterday there, as of the
// workflow's own clock (workflow.Now), so a replay computes the same days.
// Running it again for the same days changes nothing; a day whose orders
// changed since is recomputed.
func OrdersReport(ctx workflow.Context, p report.Params) (report.Result, error) {
	if !p.From.IsZero() && !p.To.IsZero() && p.To.Before(p.From) {
		return report.Result{}, temporal.NewNonRetryableApplicationError(
			"invalid parameters: from="+p.From.String()+" is after to="+p.To.String(), runinfo.ErrInvalidParameters, nil)
	}
	// The run's current details show a wait for the warehouse (see
	// flowrun.FollowAttempts); setting them issues no command.
	details := flowrun.FollowAttempts(ctx)
	days := "yesterday"
	if !p.From.IsZero() || !p.To.IsZero() {
		days = p.From.String() + ".." + p.To.String()
	}
	details.Stage(ctx, reportStage, fmt.Sprintf("**Days:** %s (%s)", days, p.Timezone))
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        runinfo.RetryInterval,
			BackoffCoefficient:     runinfo.RetryBackoff,
			MaximumAttempts:        runinfo.MaxAttempts,
			NonRetryableErrorTypes: runinfo.NonRetryableErrorTypes,
		},
	})
	var res report.Result
	err := workflow.ExecuteActivity(actx, report.DailyRevenueActivity, report.Input{
		From: p.From, To: p.To, Timezone: p.Timezone, Now: workflow.Now(ctx),
	}).Get(ctx, &res)
	if err != nil {
		details.Stage(ctx, runinfo.StageFailed, "**Error:** "+flowrun.Cause(err))
		return res, err
	}
	details.Stage(ctx, runinfo.StageDone, fmt.Sprintf("**Result:** %s..%s (%s): %d orders, %d totals", res.From, res.To, res.Timezone, res.Orders, res.Totals))
	return res, nil
}

// reportStage is OrdersReport's one stage, as its current details name it.
const reportStage = "report"
