package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/spf13/cobra"

	"github.com/blueprint-etl/blueprint/deployments"
	"github.com/blueprint-etl/blueprint/internal/datapipeline"
	"github.com/blueprint-etl/blueprint/internal/flow"
	"github.com/blueprint-etl/blueprint/internal/names"
	"github.com/blueprint-etl/blueprint/internal/record"
	"github.com/blueprint-etl/blueprint/internal/redact"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/store"
	"github.com/blueprint-etl/blueprint/starter"
)

func (a *app) runsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "runs",
		Aliases: []string{"flow-run", "flow-runs"},
		Short:   "List, show, cancel and retry pipeline runs",
		Long: `A run is one execution of the DataPipeline workflow, started by a schedule, a
backfill, a trigger or 'blueprint run'. Runs of a deployment carry the
BlueprintDeployment search attribute, so they can be listed by deployment.
(Prefect users: this is 'prefect flow-run'; the alias works too.)`,
		Example: `  blueprint runs ls --deployment production-etl
  blueprint runs ls --status failed --limit 5
  blueprint runs show production-etl-20250131T090000Z-1a2b3c4d5e6f
  blueprint runs logs production-etl-20250131T090000Z-1a2b3c4d5e6f --follow
  blueprint runs cancel production-etl-20250131T090000Z-1a2b3c4d5e6f
  blueprint runs retry production-etl-20250131T090000Z-1a2b3c4d5e6f`,
		Args: cobra.ArbitraryArgs,
		RunE: groupRunE,
	}
	cmd.AddCommand(a.runsLsCommand(), a.runsShowCommand(), a.runsCancelCommand(), a.runsLogsCommand(), a.runsRetryCommand())
	cmd.PersistentFlags().StringVar(&a.databaseURL, "database-url", "",
		"the workers' warehouse, where run logs are (default: $"+envDatabaseURL+", else "+store.DefaultSQLitePath+")")
	return cmd
}

// runRow is one run in a listing.
type runRow struct {
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
	Deployment string `json:"deployment"`
	Status     string `json:"status"`
	// Waiting: see runDetail.
	Waiting   string     `json:"waiting,omitempty"`
	TaskQueue string     `json:"task_queue"`
	StartedAt time.Time  `json:"started_at"`
	ClosedAt  *time.Time `json:"closed_at"`
	// ScheduledFor: see runDetail.
	ScheduledFor *time.Time `json:"scheduled_for,omitempty"`
}

// start is when the run started doing something: its scheduled time if it
// was created with a start delay, else its start.
func (r runRow) start() time.Time {
	if r.ScheduledFor != nil {
		return *r.ScheduledFor
	}
	return r.StartedAt
}

type runFilter struct {
	// flows are the registered flows: runs of other workflow types are
	// not blueprint's.
	flows      *flow.Registry
	deployment string
	status     string // one of statusOrder
	// retryOf lists the retries of a run: a runinfo.RetryOf value.
	retryOf string
}

// query is the visibility query of the filter; now splits scheduled from
// running runs, as runStatus does.
func (f runFilter) query(now time.Time) string {
	types := make([]string, 0, len(f.flows.Names()))
	for _, n := range f.flows.Names() {
		types = append(types, "'"+n+"'")
	}
	q := []string{fmt.Sprintf("WorkflowType IN (%s)", strings.Join(types, ", "))}
	if f.deployment != "" {
		q = append(q, fmt.Sprintf("%s = '%s'", runinfo.DeploymentSearchAttribute, f.deployment))
	}
	if f.retryOf != "" {
		q = append(q, fmt.Sprintf("%s = %s", runinfo.RetryOfSearchAttribute, queryString(f.retryOf)))
	}
	if f.status != "" {
		q = append(q, fmt.Sprintf("ExecutionStatus = '%s'", statusQueries[f.status]))
	}
	at := queryString(now.UTC().Format(time.RFC3339Nano))
	switch f.status {
	case statusScheduled:
		q = append(q, "ExecutionTime > "+at)
	case statusRunning:
		q = append(q, "ExecutionTime <= "+at)
	}
	return strings.Join(q, " AND ")
}

// queryString quotes s as a string of a visibility query: any workflow ID
// may appear in one, quotes and backslashes included.
func queryString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// listRuns lists up to limit runs, newest first, through visibility
// (which lags the server by up to a second or so).
func listRuns(ctx context.Context, c client.Client, ns string, f runFilter, limit int) ([]runRow, error) {
	rows := []runRow{}
	var token []byte
	now := time.Now()
	query := f.query(now)
	for len(rows) < limit {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: ns, PageSize: int32(min(limit-len(rows), 1000)), NextPageToken: token, Query: query,
		})
		if err != nil {
			if unknownBlueprintAttribute(err) {
				// The attributes are registered by the first deploy, run
				// or retry: until then no run has them.
				return rows, nil
			}
			return nil, fmt.Errorf("list runs (%s): %w", query, err)
		}
		for _, e := range resp.GetExecutions() {
			r := runRow{
				WorkflowID:   e.GetExecution().GetWorkflowId(),
				RunID:        e.GetExecution().GetRunId(),
				Deployment:   deploymentOf(e.GetSearchAttributes()),
				Status:       runStatus(e, now),
				TaskQueue:    e.GetTaskQueue(),
				StartedAt:    e.GetStartTime().AsTime(),
				ScheduledFor: delayedStart(e),
			}
			if r.Status == statusWaiting {
				r.Waiting = waitingOf(e.GetMemo())
			}
			if e.GetCloseTime() != nil {
				t := e.GetCloseTime().AsTime()
				r.ClosedAt = &t
			}
			rows = append(rows, r)
			if len(rows) == limit {
				break
			}
		}
		token = resp.GetNextPageToken()
		if len(token) == 0 {
			break
		}
	}
	return rows, nil
}

// countRuns counts the runs a filter matches.
func countRuns(ctx context.Context, c client.Client, ns string, f runFilter) (int64, error) {
	query := f.query(time.Now())
	resp, err := c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: ns, Query: query})
	if err != nil {
		return 0, fmt.Errorf("count runs (%s): %w", query, err)
	}
	return resp.GetCount(), nil
}

// unknownBlueprintAttribute recognises the server's answer to a query on
// one of blueprint's search attributes that it does not know.
func unknownBlueprintAttribute(err error) bool {
	var invalid *serviceerror.InvalidArgument
	return errors.As(err, &invalid) && (strings.Contains(invalid.Error(), runinfo.DeploymentSearchAttribute) ||
		strings.Contains(invalid.Error(), runinfo.RetryOfSearchAttribute))
}

// printRunRows writes runs as a table. STARTED is when the run started
// doing something (a scheduled run: when it will).
func printRunRows(w io.Writer, rows []runRow, indent string) error {
	t := newTable(w, indent+"WORKFLOW ID", "RUN ID", "DEPLOYMENT", "STATUS", "STARTED", "DURATION")
	for _, r := range rows {
		dur := ""
		switch {
		case r.ClosedAt != nil:
			dur = formatDuration(r.ClosedAt.Sub(r.start()))
		case r.Status == statusScheduled:
			dur = "starts in " + formatDuration(time.Until(r.start()))
		case r.Status == statusRunning, r.Status == statusWaiting:
			dur = formatDuration(time.Since(r.start())) + " so far"
		}
		t.row(indent+r.WorkflowID, r.RunID, r.Deployment, statusText(r.Status, r.Waiting), formatTime(r.start()), dur)
	}
	return t.flush()
}

// MaxListLimit bounds runs ls --limit.
const MaxListLimit = 1000

func (a *app) runsLsCommand() *cobra.Command {
	f := runFilter{flows: a.flows}
	var limit int
	cmd := &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List recent runs, newest first",
		Long: fmt.Sprintf(`List recent runs of the pipeline, newest first, optionally only those of one
deployment or in one status (%s).
Runs started by a schedule, a backfill, a trigger and 'blueprint run' are all
listed, of every flow. The listing comes from Temporal's visibility store,
which may lag a second behind a run that just started or ended.

--deployment refuses a name that is neither in the manifest nor on any run,
with the nearest name suggested. A listing cut short by --limit ends with
"Showing 20 of 67 runs; see more with --limit". A run created with a start
delay whose time has not come is scheduled (Temporal counts it as running):
its start time is under STARTED and "starts in 59m" under DURATION, and in
-o json it has scheduled_for. A run waiting for a slot of its deployment's
concurrency limit is waiting, with the reason: "waiting (concurrency limit 1
of 1 taken by production-etl-...)" (in -o json, status waiting and the reason
in waiting); --status running lists it. Durations in -o json are Go duration
strings ("1h0m0s") or carry their unit in the key (extract_ms).`, strings.Join(statusOrder, ", ")),
		Example: `  blueprint runs ls
  blueprint runs ls --deployment production-etl --status failed
  blueprint runs ls --limit 100 -o json`,
		Args: cobra.NoArgs,
		RunE: a.withServer(func(ctx context.Context, srv *session, _ []string) error {
			// A deployment of the manifest (NAME or FLOW/NAME) is checked
			// here; another name is accepted only if some run carries it
			// (a deployment since removed from the manifest).
			var unknown error
			if f.deployment != "" {
				m, err := a.loadManifest()
				if err != nil {
					return err
				}
				d, err := m.Get(f.deployment)
				name := f.deployment[strings.LastIndexByte(f.deployment, '/')+1:]
				switch {
				case err == nil:
					f.deployment = d.Name
				case slices.Contains(m.Names(), name):
					return err // FLOW/NAME with the wrong flow
				case !names.Valid(name): // which also keeps the visibility query well-formed
					return usagef("--deployment %q: not a deployment name (%s)", f.deployment, names.Rule)
				default:
					f.deployment, unknown = name, err
				}
			}
			if f.status == "canceled" { // Temporal's spelling
				f.status = statusCanceled
			}
			if _, ok := statusQueries[f.status]; f.status != "" && !ok {
				return usagef("--status %q: must be one of %s", f.status, strings.Join(statusOrder, ", "))
			}
			if limit < 1 || limit > MaxListLimit {
				return usagef("--limit %d: must be from 1 to %d", limit, MaxListLimit)
			}
			ctx, c, err := srv.connect(ctx)
			if err != nil {
				return err
			}
			rows, err := listRuns(ctx, c, a.settings.Namespace, f, limit)
			if err != nil {
				return err
			}
			if unknown != nil && len(rows) == 0 {
				if n, err := countRuns(ctx, c, a.settings.Namespace, runFilter{flows: a.flows, deployment: f.deployment}); err != nil || n == 0 {
					return unknown // not in the manifest, and no run ever had it
				}
			}
			// Say when the listing is cut short: the count is one more
			// visibility call, made only when the page is full.
			var more string
			if len(rows) == limit {
				if total, err := countRuns(ctx, c, a.settings.Namespace, f); err == nil && total > int64(len(rows)) {
					more = fmt.Sprintf("Showing %d of %d runs; see more with --limit (up to %d).", len(rows), total, MaxListLimit)
				}
			}
			if a.json() {
				if more != "" {
					fmt.Fprintln(a.stderr, more) // stdout carries the JSON document only
				}
				return a.printJSON(rows)
			}
			if len(rows) == 0 {
				fmt.Fprintln(a.stdout, "No runs found.")
				return nil
			}
			if err := printRunRows(a.stdout, rows, ""); err != nil {
				return err
			}
			if more != "" {
				fmt.Fprintf(a.stdout, "\n%s\n", more)
			}
			return nil
		}),
	}
	cmd.Flags().StringVarP(&f.deployment, "deployment", "d", "", "only runs of this deployment (NAME or FLOW/NAME)")
	cmd.Flags().StringVarP(&f.status, "status", "s", "", "only runs in this status: "+strings.Join(statusOrder, ", "))
	cmd.Flags().StringVar(&f.status, "state", "", "same as --status (Prefect's word)")
	cmd.Flags().IntVar(&limit, "limit", 20, fmt.Sprintf("at most this many runs (1-%d)", MaxListLimit))
	return cmd
}

func (a *app) runsShowCommand() *cobra.Command {
	var runID string
	cmd := &cobra.Command{
		Use:   "show WORKFLOW_ID",
		Short: "Show a run: parameters, status, each activity's attempts and failures, result",
		Long: `Show one run: its deployment, parameters, status and times; each activity
(Extract, Transform, Load) with its status, attempts and the error of every
failed attempt; then the result summary (rows extracted, rejected, loaded) or
the failure, and the run's Web UI link. Without --run-id, the latest run of the
workflow ID is shown.

Temporal keeps only the last two errors of an activity; the earlier ones come
from the run log in the warehouse (see 'blueprint runs logs' and its
--database-url).

While an activity waits for an unreachable warehouse (a restart, a failover,
a locked SQLite file), a Waiting line says so, from the activity's heartbeat:
"Load is waiting for the warehouse (connection refused) since ...". A run
waiting for a slot of its deployment's concurrency limit has status "waiting
(concurrency limit 1 of 1 taken by WORKFLOW_ID)".`,
		Example: `  blueprint runs show production-etl-20250131T090000Z-1a2b3c4d5e6f
  blueprint runs show production-etl-2025-01-31T15:00:00Z --run-id 0194b7a2-... -o json`,
		Args: cobra.ExactArgs(1),
		RunE: a.withServer(func(ctx context.Context, srv *session, args []string) error {
			ctx, c, err := srv.connect(ctx)
			if err != nil {
				return err
			}
			r, err := loadRun(ctx, c, a.settings.Namespace, args[0], runID)
			if err != nil {
				return err
			}
			if r.Retries, err = listRuns(ctx, c, a.settings.Namespace, runFilter{flows: a.flows, retryOf: runinfo.RetryOf(r.WorkflowID, r.RunID)}, maxRetriesShown); err != nil {
				return fmt.Errorf("list the retries of run %s: %w", r.WorkflowID, err)
			}
			a.addLoggedFailures(ctx, &r)
			if r.needsWorker {
				r.WaitingForWorker = a.noWorker(ctx, c, r.TaskQueue)
			}
			if a.json() {
				return a.printJSON(r)
			}
			return printRunDetail(a.stdout, r)
		}),
	}
	cmd.Flags().StringVar(&runID, "run-id", "", "a particular run of the workflow ID (default: the latest)")
	return cmd
}

// warehouseWaitLine says that an activity waits for the warehouse, as its
// heartbeat does (see internal/worker): the cause never holds a secret.
func warehouseWaitLine(w runinfo.WarehouseWait) string {
	return fmt.Sprintf("%s is waiting for the warehouse (%s) since %s", w.Activity, w.Cause, formatTime(w.Since))
}

// maxRetriesShown bounds the retries `runs show` lists.
const maxRetriesShown = 20

func printRunDetail(w io.Writer, r runDetail) error {
	fmt.Fprintf(w, "Run %s\n", r.WorkflowID)
	f := newFields(w, "  ")
	f.add("Run ID", "%s", r.RunID)
	f.add("Deployment", "%s", orDash(r.Deployment))
	f.add("Workflow", "%s on task queue %s", r.Workflow, r.TaskQueue)
	f.add("Status", "%s", statusText(r.Status, r.Waiting))
	start := r.StartedAt
	switch at := r.ScheduledFor; {
	case at == nil:
		f.add("Started", "%s", formatTime(r.StartedAt))
	case r.Status == statusScheduled:
		f.add("Created", "%s", formatTime(r.StartedAt))
		f.add("Starts", "%s (in %s; Temporal start delay)", formatTime(*at), formatDuration(time.Until(*at)))
	case r.ClosedAt != nil && r.ClosedAt.Before(*at):
		f.add("Created", "%s", formatTime(r.StartedAt))
		f.add("Scheduled for", "%s; it ended before it started", formatTime(*at))
	default:
		f.add("Created", "%s", formatTime(r.StartedAt))
		f.add("Started", "%s (Temporal start delay)", formatTime(*at))
		start = *at
	}
	switch {
	case r.ClosedAt != nil:
		f.add("Closed", "%s (took %s)", formatTime(*r.ClosedAt), formatDuration(r.ClosedAt.Sub(start)))
	case r.Status != statusScheduled:
		f.add("Running for", "%s", formatDuration(time.Since(start)))
	}
	f.add("Parameters", "%s", deployments.FormatParams(r.Parameters))
	if r.RetryOf != nil {
		f.add("Retry of", "%s (run %s)", r.RetryOf.WorkflowID, r.RetryOf.RunID)
	}
	if b := r.TriggeredBy; b != nil {
		f.add("Triggered by", "%s (run %s) of %s, which %s (trigger %d)", b.WorkflowID, b.RunID, orDash(b.Deployment), b.Status, b.Trigger)
	}
	if len(r.Retries) > 0 {
		list := make([]string, len(r.Retries))
		for i, rt := range r.Retries {
			list[i] = fmt.Sprintf("%s (%s)", rt.WorkflowID, rt.Status)
		}
		f.add("Retries", "%s", strings.Join(list, ", "))
	}
	f.add("Web UI", "%s", r.UIURL)
	if r.WaitingForWorker != "" {
		f.add("Waiting", "for a worker: %s", r.WaitingForWorker)
	}
	for _, av := range r.Activities {
		if w := av.waiting(); w != nil {
			f.add("Waiting", "%s", warehouseWaitLine(*w))
		}
	}
	if err := f.flush(); err != nil {
		return err
	}

	fmt.Fprintln(w, "\nActivities:")
	if len(r.Activities) == 0 && len(r.Children) > 0 {
		fmt.Fprintln(w, "  none (this flow runs child flows, below)")
	} else if len(r.Activities) == 0 {
		fmt.Fprintln(w, "  none yet (is a worker polling the task queue? check with: blueprint status)")
	} else {
		t := newTable(w, "  ACTIVITY", "STATUS", "ATTEMPTS", "DURATION", "PROGRESS")
		for _, av := range r.Activities {
			attempts := fmt.Sprint(av.Attempts)
			if av.MaxAttempts > 0 {
				attempts += fmt.Sprintf("/%d", av.MaxAttempts)
			}
			dur := ""
			if av.ClosedAt != nil {
				dur = formatDuration(av.ClosedAt.Sub(av.ScheduledAt))
			}
			progress := ""
			if cp := av.Checkpoint; cp != nil && cp.Stage != "" {
				progress = fmt.Sprintf("%d rows, %d chunks", cp.Records, cp.Chunks)
			}
			t.row("  "+av.Activity, av.Status, attempts, dur, progress)
		}
		if err := t.flush(); err != nil {
			return err
		}
		for _, av := range r.Activities {
			for _, fl := range av.Failures {
				fmt.Fprintf(w, "  %s attempt %d failed: %s\n", av.Activity, fl.Attempt, fl.Message)
			}
		}
	}
	if len(r.Children) > 0 {
		fmt.Fprintln(w, "\nChild runs:")
		t := newTable(w, "  WORKFLOW ID", "FLOW", "STATUS", "FAILURE")
		for _, c := range r.Children {
			t.row("  "+c.WorkflowID, c.Workflow, c.Status, c.Failure)
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	out := outcome{summary: r.Summary, result: r.Result}
	if out.summary != nil || out.result != nil {
		fmt.Fprintln(w, "\nResult:")
		if err := printOutcome(w, out, "  "); err != nil {
			return err
		}
	}
	if r.Failure != "" {
		fmt.Fprintf(w, "\nFailure: %s\n", r.Failure)
	}
	return nil
}

// printOutcome writes a completed run's result: DataPipeline's summary,
// or any other flow's result field by field.
func printOutcome(w io.Writer, out outcome, indent string) error {
	switch {
	case out.summary != nil:
		return printSummary(w, *out.summary, indent)
	case out.result != nil:
		return printResult(w, out.result, indent)
	}
	return nil
}

// printResult writes a flow's result generically: an object's fields one
// per line (nested values as one-line JSON), anything else as JSON.
func printResult(w io.Writer, result any, indent string) error {
	m, ok := result.(map[string]any)
	if !ok {
		_, err := fmt.Fprintf(w, "%s%s\n", indent, deployments.FormatValue(result))
		return err
	}
	f := newFields(w, indent)
	for _, k := range slices.Sorted(maps.Keys(m)) {
		v := m[k]
		if s, isText := v.(string); isText {
			f.add(k, "%s", s)
			continue
		}
		f.add(k, "%s", deployments.FormatValue(v))
	}
	return f.flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// printSummary writes a completed run's Summary.
func printSummary(w io.Writer, s datapipeline.Summary, indent string) error {
	f := newFields(w, indent)
	f.add("Source", "%s", redact.URL(s.Source))
	if s.Dataset != "" {
		f.add("Dataset", "%s", s.Dataset)
	}
	f.add("Extracted", "%d", s.Extracted)
	f.add("Valid", "%d", s.Valid)
	rejected := fmt.Sprint(s.Rejected)
	if len(s.Reasons) > 0 {
		rejected += " (" + record.FormatReasons(s.Reasons) + ")"
	}
	f.add("Rejected", "%s", rejected)
	f.add("Loaded", "%d inserted, %d updated, %d unchanged", s.Loaded.Inserted, s.Loaded.Updated, s.Loaded.Unchanged)
	d := s.Durations
	f.add("Durations", "extract %s, transform %s, load %s, total %s",
		formatDuration(d.Extract), formatDuration(d.Transform), formatDuration(d.Load), formatDuration(d.Total))
	return f.flush()
}

func (a *app) runsCancelCommand() *cobra.Command {
	var runID string
	cmd := &cobra.Command{
		Use:   "cancel WORKFLOW_ID",
		Short: "Ask a running run to cancel",
		Long: `Request cancellation of a running run. The activity in progress stops at its next
heartbeat, the run records itself as cancelled and ends with status cancelled.
A run that has already ended cannot be cancelled (exit code 2).`,
		Example: `  blueprint runs cancel production-etl-20250131T090000Z-1a2b3c4d5e6f`,
		Args:    cobra.ExactArgs(1),
		RunE: a.withServer(func(ctx context.Context, srv *session, args []string) error {
			ctx, c, err := srv.connect(ctx)
			if err != nil {
				return err
			}
			ns := a.settings.Namespace
			desc, err := describeRun(ctx, c, args[0], runID)
			if err != nil {
				return notFoundRun(err, ns, args[0])
			}
			info := desc.GetWorkflowExecutionInfo()
			if info.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
				return usagef("run %s has already ended (%s); there is nothing to cancel", args[0], statusName(info.GetStatus()))
			}
			rid := info.GetExecution().GetRunId()
			if err := c.CancelWorkflow(ctx, args[0], rid); err != nil {
				return fmt.Errorf("cancel run %s: %w", args[0], err)
			}
			// The workflow carries the cancel out (it records the run as
			// cancelled), so with no worker it stays requested.
			waiting := a.noWorker(ctx, c, info.GetTaskQueue())
			if a.json() {
				out := map[string]any{"workflow_id": args[0], "run_id": rid, "cancel_requested": true}
				if waiting != "" {
					out["waiting_for_worker"] = waiting
				}
				return a.printJSON(out)
			}
			fmt.Fprintf(a.stdout, "Cancellation of %s (run %s) requested; follow it with: blueprint runs show %s\n", args[0], rid, args[0])
			if waiting != "" {
				fmt.Fprintf(a.stdout, "The cancel is pending until a worker runs: %s.\n", waiting)
			}
			return nil
		}),
	}
	cmd.Flags().StringVar(&runID, "run-id", "", "a particular run of the workflow ID (default: the latest)")
	return cmd
}

// uiLink is the Web UI address of a run.
func uiLink(ns, workflowID, runID string) string { return starter.UILink(ns, workflowID, runID) }
