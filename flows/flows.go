// Package flows is the one list of the flows this blueprint runs. The
// worker registers every flow's workflow and activities from Registry; the
// CLI, the starter, the manifest loader and the schedule reconciler are
// given its contracts, Registry.Flows(), and learn each flow's name,
// parameters, defaults and rules from them. Only the programs (cmd/,
// worker/, bench's main) and tests name Registry: every other package is
// given the registry it works with.
//
// Adding a flow is one line in Registry (see "Write your own flow" in
// docs/flows.md): nothing in cmd/, starter/, schedules/ or deployments/ changes.
//
// It must not import `cmd`, `deployments`, `starter` or `schedules`: they
// learn the flows from it, not the other way round.
package flows

import (
	"github.com/blueprint-etl/blueprint/activities"
	"github.com/blueprint-etl/blueprint/internal/datapipeline"
	"github.com/blueprint-etl/blueprint/internal/flow"
	"github.com/blueprint-etl/blueprint/internal/report"
	"github.com/blueprint-etl/blueprint/internal/worker"
	"github.com/blueprint-etl/blueprint/workflows"
)

// Registry is every flow, in the order `blueprint flows ls` lists them.
var Registry = worker.MustRegistry(
	DataPipeline,
	OrdersReport,
	NightlyETL,
)

// DataPipeline extracts, transforms and loads one source's records.
var DataPipeline = worker.Flow{
	Flow: flow.New(datapipeline.WorkflowType, workflows.DataPipeline, flow.Options{
		Description: "Extract records from a source, clean them and upsert them into the orders table",
	}),
	Activities: func(d worker.Deps) []worker.Activity {
		a := &activities.Activities{Store: d.Store, Sources: d.Sources, ChunkRecords: d.ChunkRecords, Log: d.Log, Client: d.Client}
		return []worker.Activity{
			{Name: datapipeline.ExtractActivity, Func: a.Extract},
			{Name: datapipeline.TransformActivity, Func: a.Transform},
			{Name: datapipeline.LoadActivity, Func: a.Load},
			{Name: datapipeline.FinishRunActivity, Func: a.FinishRun, Bookkeeping: true},
		}
	},
}

// OrdersReport totals the warehouse's orders per day into daily_revenue.
var OrdersReport = worker.Flow{
	Flow: flow.New(report.OrdersReportWorkflow, workflows.OrdersReport, flow.Options{
		Description: "Total the orders of each day (in a time zone) per category and currency into daily_revenue",
	}),
	Activities: func(d worker.Deps) []worker.Activity {
		r := &activities.Report{Store: d.Store}
		return []worker.Activity{{Name: report.DailyRevenueActivity, Func: r.ReportDailyRevenue}}
	},
}

// NightlyETL loads several sources as DataPipeline child runs, then
// reports on the days they loaded with an OrdersReport child run.
var NightlyETL = worker.Flow{
	Flow: flow.New(report.NightlyETLWorkflow, workflows.NightlyETL, flow.Options{
		Description: "Load several sources in parallel (DataPipeline children), then report on the loaded days (OrdersReport child)",
	}),
}
