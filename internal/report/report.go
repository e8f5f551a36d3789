// Package report holds the contract of the OrdersReport and NightlyETL
// flows: names, parameters, activity inputs and results. It does no I/O,
// so deterministic workflow code may import it.
//
// It must not import `internal/store`, `internal/source`, `activities` or
// `workflows`: a contract does no I/O, so workflow code may import it.
package report

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/blueprint-etl/blueprint/internal/datapipeline"
	"github.com/blueprint-etl/blueprint/internal/flow"
	"github.com/blueprint-etl/blueprint/internal/restapi"
	"github.com/blueprint-etl/blueprint/internal/sourceurl"
)

// Names on the Temporal server.
const (
	// OrdersReportWorkflow totals orders per day into daily_revenue.
	OrdersReportWorkflow = "OrdersReport"
	// NightlyETLWorkflow loads several sources, then reports on them.
	NightlyETLWorkflow = "NightlyETL"
	// DailyRevenueActivity recomputes daily_revenue for a day range.
	DailyRevenueActivity = "ReportDailyRevenue"
)

// MaxDays bounds one report: ten years of days.
const MaxDays = 3660

// Params are OrdersReport's parameters.
type Params struct {
	From     flow.Date `json:"from" help:"first day to report, inclusive (default: to, or yesterday in timezone)"`
	To       flow.Date `json:"to" help:"last day to report, inclusive (default: yesterday in timezone)"`
	Timezone string    `json:"timezone" validate:"required,timezone" default:"UTC" help:"IANA time zone whose calendar days are reported, e.g. America/Chicago"`
}

// Input is the DailyRevenueActivity's input. Missing days are resolved by
// the activity from Now, the workflow's deterministic time, because only
// the activity may load time zone data.
type Input struct {
	From     flow.Date `json:"from"`
	To       flow.Date `json:"to"`
	Timezone string    `json:"timezone"`
	Now      time.Time `json:"now"`
}

// Result is what a report did: the days it covered and the totals it
// wrote, never the rows themselves.
type Result struct {
	From     string `json:"from"`
	To       string `json:"to"`
	Timezone string `json:"timezone"`
	// Orders counted and (day, category, currency) totals computed.
	Orders    int64 `json:"orders"`
	Totals    int   `json:"totals"`
	Inserted  int   `json:"inserted"`
	Updated   int   `json:"updated"`
	Unchanged int   `json:"unchanged"`
	Deleted   int   `json:"deleted"`
}

// NightlyParams are NightlyETL's parameters.
type NightlyParams struct {
	Sources     []string `json:"sources" validate:"min=1,max=100,unique,dive,source_url_length,source_url" help:"source URLs to load (http(s)://, file://, demo:// or source:NAME from the manifest's sources:), one DataPipeline child run each"`
	BatchSize   int      `json:"batch_size" validate:"batch_size" default:"100" help:"records to extract from each source"`
	MaxParallel int      `json:"max_parallel" validate:"min=1,max=50" default:"4" help:"child runs loading at the same time"`
	Timezone    string   `json:"timezone" validate:"required,timezone" default:"UTC" help:"time zone of the report's days"`
	// MaxRejected is passed on to every DataPipeline child; the default
	// is left out of the child's input, as before the parameter existed.
	MaxRejected datapipeline.RejectLimit `json:"max_rejected,omitzero" help:"each source's max_rejected: rejected records a child run may have and still load the rest, a count (10) or a percentage (5%) (default: a child fails only when it rejects every record)"`
	// SourceDefinitions are the definitions of the source:NAME items of
	// Sources, by NAME. The blueprint CLI fills them from the manifest's
	// sources: (it fills the definitions of every source:NAME in a
	// parameter with the source_url rule), so the worker needs no copy of
	// the manifest; each child run gets the one of its source
	// (SourceDefinition). They hold environment variable names, never
	// secrets. Not a parameter one sets by hand (param:"-").
	SourceDefinitions map[string]restapi.Definition `json:"source_definitions,omitempty" validate:"-" param:"-"`
}

// CheckParams is the rule no struct tag can say: a definition comes only
// with a source:NAME item of sources, under its own name, and DataPipeline
// (every child) can read the source it defines. A source:NAME item
// without a definition is not refused here: its child run fails saying
// so, as it did before the definitions existed, so that the history of a
// run started before then replays the same.
func (p NightlyParams) CheckParams() []string {
	named := map[string]bool{}
	for _, ref := range p.Sources {
		if spec, err := sourceurl.Parse(ref); err == nil && spec.Kind == sourceurl.Named {
			named[spec.Name] = true
		}
	}
	var problems []string
	for _, name := range slices.Sorted(maps.Keys(p.SourceDefinitions)) {
		def, field := p.SourceDefinitions[name], "source_definitions."+name
		switch {
		case !named[name]:
			problems = append(problems, fmt.Sprintf("%s: a source definition goes with a sources item %s%s only", field, restapi.RefPrefix, name))
		case def.Name != name:
			problems = append(problems, fmt.Sprintf("%s: the definition is of source %q", field, def.Name))
		default:
			for _, pr := range datapipeline.CheckSource(def, restapi.RecordFields) {
				problems = append(problems, field+"."+pr.String())
			}
		}
	}
	return problems
}

// SourceDefinition is the definition the child run that reads ref gets
// (datapipeline.Params.Source): that of source NAME for source:NAME, nil
// for any other URL. It is nil too for a source:NAME the input has no
// definition of: the child then fails, saying so.
func (p NightlyParams) SourceDefinition(ref string) *restapi.Definition {
	return sourceurl.DefinitionOf(ref, p.SourceDefinitions)
}

// SourceOutcome is what happened to one source of a NightlyETL run.
type SourceOutcome struct {
	// Source is the URL with credentials hidden.
	Source     string `json:"source"`
	WorkflowID string `json:"workflow_id"`
	Status     string `json:"status"` // completed or failed
	Extracted  int64  `json:"extracted,omitempty"`
	Loaded     int64  `json:"loaded,omitempty"` // inserted + updated + unchanged
	Error      string `json:"error,omitempty"`
}

// NightlyResult is NightlyETL's result (and, when a source failed, the
// details of its failure).
type NightlyResult struct {
	Sources []SourceOutcome `json:"sources"`
	Loaded  int             `json:"loaded"`
	Failed  int             `json:"failed"`
	// Report is the OrdersReport child's result; nil when no source
	// loaded any order.
	Report           *Result `json:"report,omitempty"`
	ReportWorkflowID string  `json:"report_workflow_id,omitempty"`
}

// Days names the days a report covered: "2024-05-01..2024-05-03 (UTC)".
func (r Result) Days() string { return fmt.Sprintf("%s..%s (%s)", r.From, r.To, r.Timezone) }

// OneLine says what a report did, for the run's log, details and
// notifications.
func (r Result) OneLine() string {
	return fmt.Sprintf("%s: %d orders, %d totals", r.Days(), r.Orders, r.Totals)
}

// OneLine says what a NightlyETL run did.
func (r NightlyResult) OneLine() string {
	s := fmt.Sprintf("%d of %d sources loaded", r.Loaded, len(r.Sources))
	if r.Failed > 0 {
		s += fmt.Sprintf(", %d failed", r.Failed)
	}
	if r.Report != nil {
		s += "; report " + r.Report.OneLine()
	} else {
		s += "; no report (no orders loaded)"
	}
	return s
}
