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
//
// Its run log says which days it totals and what it read and wrote, its
// current details the days and then the result; a failure is made
// readable, logged and notified by the flow wrapper (flowrun.Finish).
func OrdersReport(ctx workflow.Context, p report.Params) (report.Result, error) {
	if !p.From.IsZero() && !p.To.IsZero() && p.To.Before(p.From) {
		return report.Result{}, temporal.NewNonRetryableApplicationError(
			"invalid parameters: from="+p.From.String()+" is after to="+p.To.String(), runinfo.ErrInvalidParameters, nil)
	}
	log := flowrun.Log(ctx)
	days := "yesterday"
	if !p.From.IsZero() || !p.To.IsZero() {
		days = p.From.String() + ".." + p.To.String()
	}
	flowrun.SetStage(ctx, reportStage, fmt.Sprintf("**Days:** %s (%s)", days, p.Timezone))
	log.Info(ctx, "totalling the orders of %s (%s) per day, category and currency into daily_revenue", days, p.Timezone)
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Minute,
		RetryPolicy:         runinfo.RetryPolicy(),
		Summary:             fmt.Sprintf("Total the orders of %s (%s) into daily_revenue", days, p.Timezone),
	})
	var res report.Result
	err := workflow.ExecuteActivity(actx, report.DailyRevenueActivity, report.Input{
		From: p.From, To: p.To, Timezone: p.Timezone, Now: workflow.Now(ctx),
	}).Get(ctx, &res)
	if err != nil {
		return res, err
	}
	log.Info(ctx, "%s: read %d orders, wrote %d totals (%d inserted, %d updated, %d unchanged, %d deleted)",
		res.Days(), res.Orders, res.Totals, res.Inserted, res.Updated, res.Unchanged, res.Deleted)
	flowrun.SetStage(ctx, runinfo.StageDone, "**Result:** "+res.OneLine())
	return res, nil
}

// reportStage is OrdersReport's one stage, as its current details name it.
const reportStage = "report"
