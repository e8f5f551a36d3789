package activities

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/blueprint-etl/blueprint/internal/flow"
	"github.com/blueprint-etl/blueprint/internal/report"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/store"
)

// Report holds the OrdersReport flow's activity and its dependencies.
type Report struct {
	Store *store.Store
}

// ReportDailyRevenue recomputes daily_revenue for the input's days. Days
// not given default to yesterday in the input's time zone, as of the
// workflow's time in.Now. A range that runs backwards or is longer than
// report.MaxDays is InvalidParameters.
func (r *Report) ReportDailyRevenue(ctx context.Context, in report.Input) (report.Result, error) {
	loc, err := time.LoadLocation(in.Timezone)
	if err != nil {
		return report.Result{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("timezone=%q: not a time zone", in.Timezone), runinfo.ErrInvalidParameters, err)
	}
	from, to := ResolveDays(in, loc)
	if to.Before(from) {
		return report.Result{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("invalid parameters: from=%s is after to=%s", from, to), runinfo.ErrInvalidParameters, nil)
	}
	if days := int(to.In(time.UTC).Sub(from.In(time.UTC)).Hours()/24) + 1; days > report.MaxDays {
		return report.Result{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("invalid parameters: from=%s to=%s is %d days; a report covers at most %d", from, to, days, report.MaxDays), runinfo.ErrInvalidParameters, nil)
	}
	res, err := r.Store.ReportDailyRevenue(ctx, loc, from.In(time.UTC), to.In(time.UTC))
	if err != nil {
		return report.Result{}, err
	}
	activity.GetLogger(ctx).Info("daily revenue", "from", from, "to", to, "timezone", in.Timezone,
		"orders", res.Orders, "inserted", res.Inserted, "updated", res.Updated, "deleted", res.Deleted)
	return report.Result{
		From: from.String(), To: to.String(), Timezone: in.Timezone,
		Orders: res.Orders, Totals: res.Rows, Inserted: res.Inserted, Updated: res.Updated, Unchanged: res.Unchanged, Deleted: res.Deleted,
	}, nil
}

// ResolveDays applies the defaults: to is yesterday in loc as of in.Now,
// from is to.
func ResolveDays(in report.Input, loc *time.Location) (from, to flow.Date) {
	from, to = in.From, in.To
	if to.IsZero() {
		to = flow.DateOf(in.Now.In(loc)).AddDays(-1)
	}
	if from.IsZero() {
		from = to
	}
	return from, to
}
