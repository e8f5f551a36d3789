package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	enumspb "go.temporal.io/api/enums/v1"
	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/blueprint-etl/blueprint/deployments"
	"github.com/blueprint-etl/blueprint/internal/datapipeline"
	"github.com/blueprint-etl/blueprint/internal/dataset"
	"github.com/blueprint-etl/blueprint/internal/flowrun"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/store"
	"github.com/blueprint-etl/blueprint/starter"
)

// watchInterval is how often --watch asks the server for progress.
const watchInterval = 250 * time.Millisecond

// scheduledWatchInterval is how often --watch asks about a run that has
// not reached its start time (run --start-in/--start-at).
const scheduledWatchInterval = 2 * time.Second

// workerCheckInterval is how often --watch checks for a live worker while
// the run waits for one.
const workerCheckInterval = 2 * time.Second

// needsWorker reports whether a run has a task scheduled that no worker
// has picked up yet: a workflow task, or an activity that is not in a
// retry's back-off.
func needsWorker(desc *workflowservice.DescribeWorkflowExecutionResponse) bool {
	if desc.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return false
	}
	if desc.GetPendingWorkflowTask().GetState() == enumspb.PENDING_WORKFLOW_TASK_STATE_SCHEDULED {
		return true
	}
	for _, pa := range desc.GetPendingActivities() {
		if pa.GetState() == enumspb.PENDING_ACTIVITY_STATE_SCHEDULED &&
			(pa.GetScheduledTime() == nil || !pa.GetScheduledTime().AsTime().After(time.Now())) {
			return true
		}
	}
	return false
}

func (a *app) runCommand(use string) *cobra.Command {
	var (
		kv        []string
		paramsArg string
		id        string
		watch     bool
		timeout   time.Duration
		startIn   string
		startAt   string
	)
	cmd := &cobra.Command{
		Use:   use + " NAME",
		Short: "Start a run of a deployment now, optionally watching it to the end",
		Long: `Start a run of the deployment NAME with its parameters from the manifest,
overridden by --params (a JSON object) and then by each --param key=value, in
order. A key whose value is null in --params overrides nothing: the parameter
keeps the manifest's value, or else the flow's default ({"batch_size": null}
is the same as {}). Everything is checked before anything is started: a bad
parameter exits with code 2 and starts nothing.

The parameters are those of the deployment's flow: 'blueprint flows inspect
FLOW' lists them with their types, defaults and rules. --param values are
typed by the parameter: an integer, a number, true/false, a duration (90s,
1h30m), a date (2025-01-31), an RFC 3339 date-time, or text. A list takes one
item per --param (repeat it: --param sources=a --param sources=b); a field of
an object parameter is set with a dotted key (--param window.start=...).

--start-in DURATION (e.g. 10m) or --start-at TIME (RFC 3339 with its UTC
offset, e.g. 2026-12-01T09:00:00-06:00) creates the run now and starts it
later, with Temporal's start delay: until then 'runs ls' and 'runs show' show
it as scheduled, and 'runs cancel' cancels it. The duration must be more than
zero and the time in the future (else exit code 2, nothing started).

Without --watch, prints the workflow ID, run ID and Web UI link and exits 0 once
the run is started (or scheduled). With --watch, shows live progress (DataPipeline:
stage, rows, attempt; other flows: the run's current details on one line) until
the run ends, prints its summary, and exits 0 if it completed, 1 if it failed,
was cancelled, terminated or timed out. --timeout stops watching (exit 1) but
not the run, which keeps going. With a start delay, --watch waits for the
start (say so, "scheduled: starts at ...") and then follows the run; --timeout
counts from the start of the watch, wait included.

A run that loads a dataset of the manifest's datasets: first has its table
checked in the workers' warehouse (--database-url, else $BLUEPRINT_DATABASE_URL,
else ./data/warehouse.db), when there is one: a definition the table cannot
follow (a field's type changed, a decimal narrowed, another key) exits with
code 2, naming the column and both types, and nothing is started.`,
		Example: `  blueprint run production-etl
  blueprint run production-etl --param batch_size=500 --param source_url=demo://orders?seed=7 --watch
  blueprint run adhoc-etl --params '{"batch_size": 50}'
  blueprint run adhoc-etl --params @params.json --id adhoc-backfill-2025-01
  echo '{"batch_size": 10}' | blueprint run adhoc-etl --params - --watch --timeout 10m
  blueprint run production-etl --start-in 10m
  blueprint run production-etl --start-at 2026-12-01T09:00:00-06:00 --param batch_size=5000`,
		Args: cobra.ExactArgs(1),
		RunE: a.withManifest(func(ctx context.Context, srv *session, m *deployments.Manifest, args []string) error {
			d, err := m.Get(args[0])
			if err != nil {
				return err
			}
			if err := checkWatchTimeout(watch, timeout); err != nil {
				return err
			}
			// The delay counts from here: --start-at is the time the run
			// starts, give or take the time it takes to start it.
			delay, err := starter.ParseStartDelay(startIn, startAt, time.Now())
			if err != nil {
				return err
			}
			doc, err := starter.ReadParamsArg(paramsArg, a.stdin)
			if err != nil {
				return err
			}
			// Check the parameters before connecting, so that a typo is
			// reported as such even when the server is down.
			input, err := starter.ParseParams(d, doc, kv)
			if err != nil {
				return err
			}
			if err := a.checkRunDataset(ctx, d, input); err != nil {
				return err
			}

			sctx, c, err := srv.connect(ctx)
			if err != nil {
				return err
			}
			ns := a.settings.Namespace
			requested := time.Now()
			started, err := starter.Start(sctx, c, ns, m, starter.Request{Deployment: d.Name, ParamsJSON: doc, Params: kv, WorkflowID: id, StartDelay: delay})
			if err != nil {
				return err
			}
			a.warnNoWorker(sctx, c, started.TaskQueue)
			view := startedViewOf(ns, started)
			if delay > 0 {
				at := requested.Add(delay).Truncate(time.Second)
				view.StartsAt, view.delay = &at, delay
			}
			return a.started(ctx, c, view, started.Params, watch, timeout)
		}),
	}
	f := cmd.Flags()
	f.StringArrayVarP(&kv, "param", "p", nil, "set a parameter, key=value (repeatable; wins over --params)")
	f.StringVar(&paramsArg, "params", "", "parameters as a JSON object, @FILE to read it from a file, or - for standard input")
	f.StringVar(&id, "id", "", "workflow ID of the run (default: NAME-<UTC time>-<random>)")
	f.StringVar(&id, "workflow-id", "", "same as --id")
	f.BoolVarP(&watch, "watch", "w", false, "follow the run's progress until it ends; exit 0 only if it completed")
	f.DurationVar(&timeout, "timeout", 0, "with --watch: stop watching after this long (e.g. 10m); the run keeps going")
	f.StringVar(&startIn, "start-in", "", "start the run this long from now (a duration: 90s, 10m, 1h30m); until then it is scheduled")
	f.StringVar(&startAt, "start-at", "", "start the run at this time (RFC 3339, e.g. 2026-12-01T09:00:00-06:00); until then it is scheduled")
	f.StringVar(&a.databaseURL, "database-url", "",
		"the workers' warehouse, where the table of a declared dataset is checked first (default: $"+envDatabaseURL+", else "+store.DefaultSQLitePath+")")
	return cmd
}

// checkRunDataset checks, before the run starts, the table of the
// declared dataset the run loads (see checkDatasetTables).
func (a *app) checkRunDataset(ctx context.Context, d deployments.Deployment, input map[string]any) error {
	f, err := d.Flow()
	if err != nil {
		return err
	}
	def, ok, err := deployments.DatasetOf(f, input)
	if err != nil || !ok {
		return err
	}
	return a.checkDatasetTables(ctx, "run "+d.Name, []dataset.Definition{def})
}

// checkWatchTimeout checks --timeout against --watch.
func checkWatchTimeout(watch bool, timeout time.Duration) error {
	switch {
	case timeout < 0:
		return usagef("--timeout %s: must not be negative", timeout)
	case timeout > 0 && !watch:
		return usagef("--timeout applies to --watch; add --watch, or leave --timeout out")
	}
	return nil
}

// startedView is a started run, as `run -o json` prints it.
type startedView struct {
	Deployment string         `json:"deployment"`
	Workflow   string         `json:"workflow"`
	WorkflowID string         `json:"workflow_id"`
	RunID      string         `json:"run_id"`
	TaskQueue  string         `json:"task_queue"`
	Namespace  string         `json:"namespace"`
	Parameters map[string]any `json:"parameters"`
	UIURL      string         `json:"ui_url"`
	// StartsAt: the run was started with a start delay and starts then.
	StartsAt *time.Time `json:"starts_at,omitempty"`
	// RetryOf: the run was started by `runs retry` of this run.
	RetryOf *runRef `json:"retry_of,omitempty"`

	delay time.Duration // the start delay StartsAt comes from
}

// watchResult is what `run --watch -o json` prints when it stops.
type watchResult struct {
	startedView
	// Status is the run's status, or "running" (or "scheduled") when
	// --timeout stopped the watch first.
	Status  string                `json:"status"`
	Summary *datapipeline.Summary `json:"summary"`
	// Result is the result of a flow other than DataPipeline.
	Result  any    `json:"result,omitempty"`
	Failure string `json:"failure,omitempty"`
	// WatchTimedOut: --timeout expired; the run keeps going.
	WatchTimedOut bool `json:"watch_timed_out"`
}

func printStarted(w io.Writer, v startedView) {
	switch {
	case v.RetryOf != nil:
		fmt.Fprintf(w, "Started a retry of %s (run %s), a run of %s.\n", v.RetryOf.WorkflowID, v.RetryOf.RunID, v.Deployment)
	case v.StartsAt != nil:
		fmt.Fprintf(w, "Scheduled a run of %s to start at %s (in %s).\n", v.Deployment, formatTime(*v.StartsAt), formatDuration(v.delay))
	default:
		fmt.Fprintf(w, "Started a run of %s.\n", v.Deployment)
	}
	f := newFields(w, "  ")
	f.add("Workflow ID", "%s", v.WorkflowID)
	f.add("Run ID", "%s", v.RunID)
	f.add("Task queue", "%s", v.TaskQueue)
	f.add("Parameters", "%s", deployments.FormatParams(v.Parameters))
	f.add("Web UI", "%s", v.UIURL)
	_ = f.flush()
}

// warnNoWorker says so on stderr when no live worker polls the task queue:
// the run would sit there, which otherwise looks like a hang.
func (a *app) warnNoWorker(ctx context.Context, c client.Client, queue string) {
	if msg := a.noWorker(ctx, c, queue); msg != "" {
		fmt.Fprintf(a.stderr, "warning: %s\n", msg)
	}
}

// noWorker describes a task queue that no live worker polls, "" when one
// does (or when the server cannot say).
func (a *app) noWorker(ctx context.Context, c client.Client, queue string) string {
	fq, err := a.describeQueue(ctx, c, queue)
	if err != nil || len(fq.Online()) > 0 {
		return ""
	}
	seen := ""
	if t := fq.LastSeen(); !t.IsZero() {
		seen = ", last seen " + lastSeen(t)
	}
	return fmt.Sprintf("no live worker polls task queue %s%s; the run waits until one starts (go run ./worker)", queue, seen)
}

// progress is what --watch shows; a new line is printed when it changes.
type progress struct {
	stage       string
	rows        int64
	attempt     int32
	maxAttempts int32
	lastFailure string
	// waiting says why nothing moves: no live worker polls the queue.
	waiting string
	// scheduled is when a run with a start delay starts, while it has not.
	scheduled string
	// limited says why a run waits for its deployment's concurrency limit
	// ("waiting (concurrency limit 1 of 1 taken by ...)"), from its memo.
	limited string
	// checkpointed: the pending activity heartbeats a
	// datapipeline.Checkpoint, whose stage and rows are shown.
	checkpointed bool
	// details are the run's current details on one line (condensed), shown
	// instead of the stage and rows for a flow whose activities
	// heartbeat no checkpoint.
	details string
}

func (p progress) line() string {
	if p.scheduled != "" {
		return "scheduled: starts at " + p.scheduled
	}
	if p.limited != "" {
		return p.limited
	}
	if p.waiting != "" {
		return "waiting for a worker: " + p.waiting
	}
	if p.details != "" {
		s := p.details
		if p.attempt > 1 {
			s += fmt.Sprintf(" attempt=%d retries=%d", p.attempt, p.attempt-1)
			if p.lastFailure != "" {
				s += fmt.Sprintf(" last_error=%q", p.lastFailure)
			}
		}
		return s
	}
	s := fmt.Sprintf("stage=%s rows=%d attempt=%d", p.stage, p.rows, p.attempt)
	if p.attempt > 1 {
		s += fmt.Sprintf(" retries=%d", p.attempt-1)
		if p.lastFailure != "" {
			s += fmt.Sprintf(" last_error=%q", p.lastFailure)
		}
	}
	return s
}

// bar draws the one-line terminal view: the stage, a bar against the
// expected rows (batch size for extract, the extracted rows after it),
// rows and attempts; or, for a flow without checkpoints, its current
// details and the attempt of a retried activity.
func (p progress) bar(expected int64) string {
	if p.scheduled != "" {
		return "scheduled: starts at " + p.scheduled
	}
	if p.limited != "" {
		return p.limited
	}
	if p.waiting != "" {
		return "waiting for a worker: " + p.waiting
	}
	if p.details != "" {
		s := p.details
		if p.attempt > 1 {
			s += "  attempt " + strconv.Itoa(int(p.attempt))
			if p.maxAttempts > 0 {
				s += "/" + strconv.Itoa(int(p.maxAttempts))
			}
			if p.lastFailure != "" {
				s += "  (retrying after: " + shorten(p.lastFailure, 60) + ")"
			}
		}
		return s
	}
	const width = 24
	cells := strings.Repeat("░", width)
	if expected > 0 {
		done := int(min(p.rows, expected) * width / expected)
		cells = strings.Repeat("█", done) + strings.Repeat("░", width-done)
	}
	s := fmt.Sprintf("%-9s %s %d rows", p.stage, cells, p.rows)
	if p.attempt > 0 {
		if p.maxAttempts > 0 {
			s += fmt.Sprintf("  attempt %d/%d", p.attempt, p.maxAttempts)
		} else {
			s += fmt.Sprintf("  attempt %d", p.attempt)
		}
	}
	if p.attempt > 1 && p.lastFailure != "" {
		s += "  (retrying after: " + shorten(p.lastFailure, 60) + ")"
	}
	return s
}

// shorten cuts msg to n runes, "..." included.
func shorten(msg string, n int) string {
	if r := []rune(msg); len(r) > n {
		return string(r[:n-3]) + "..."
	}
	return msg
}

// condenseDetails puts a run's current details (Markdown, one fact per
// paragraph, as flowrun.Stage writes them) on one line: the facts joined
// by " · ", without the bold markers.
func condenseDetails(md string) string {
	var facts []string
	for _, line := range strings.Split(md, "\n") {
		if line = strings.Join(strings.Fields(strings.ReplaceAll(line, "**", "")), " "); line != "" {
			facts = append(facts, line)
		}
	}
	return strings.Join(facts, " · ")
}

// detailsWait bounds the metadata query of one --watch poll: a worker
// that does not answer (busy, or gone) leaves the last details shown.
const detailsWait = 5 * time.Second

// currentDetails asks the run's worker for its current details
// (flowrun.MetadataQuery, the Web UI's query), condensed to one line.
func currentDetails(ctx context.Context, c client.Client, workflowID, runID string) (string, error) {
	qctx, cancel := context.WithTimeout(ctx, detailsWait)
	defer cancel()
	v, err := c.QueryWorkflow(qctx, workflowID, runID, flowrun.MetadataQuery)
	if err != nil {
		return "", fmt.Errorf("query the current details of run %s: %w", workflowID, err)
	}
	var md sdkpb.WorkflowMetadata
	if err := v.Get(&md); err != nil {
		return "", fmt.Errorf("decode the current details of run %s: %w", workflowID, err)
	}
	return condenseDetails(md.GetCurrentDetails()), nil
}

// progressOf reads the progress from a run's description; prev is kept
// between activities.
func progressOf(desc *workflowservice.DescribeWorkflowExecutionResponse, prev progress) progress {
	pending := desc.GetPendingActivities()
	if len(pending) == 0 {
		if n := len(desc.GetPendingChildren()); n > 0 {
			// A flow that runs child flows: their own progress is in
			// their runs (blueprint runs show shows them).
			return progress{stage: fmt.Sprintf("children(%d running)", n)}
		}
		return prev
	}
	pa := pending[0]
	stage := strings.ToLower(pa.GetActivityType().GetName())
	if pa.GetActivityType().GetName() == datapipeline.FinishRunActivity {
		stage = "finish" // recording a failed or cancelled run
	}
	p := progress{
		stage:       stage,
		attempt:     max(pa.GetAttempt(), 1),
		maxAttempts: pa.GetMaximumAttempts(),
	}
	if cp := checkpointOf(pa.GetHeartbeatDetails()); cp != nil {
		p.checkpointed = true
		p.rows = cp.Records
		if cp.Stage != "" {
			p.stage = cp.Stage
		}
	}
	if f := pa.GetLastFailure(); f != nil && p.attempt > 1 {
		p.lastFailure = failureChain(f)
	}
	return p
}

// watch follows a started run to its end and reports the outcome.
// started tells what was started: the run's facts and how to follow it,
// or, with --watch, its progress until it ends (then the exit code is the
// run's outcome).
func (a *app) started(ctx context.Context, c client.Client, view startedView, params map[string]any, watch bool, timeout time.Duration) error {
	if !watch {
		if a.json() {
			return a.printJSON(view)
		}
		printStarted(a.stdout, view)
		fmt.Fprintf(a.stdout, "Follow it with: blueprint runs show %s\n", view.WorkflowID)
		return nil
	}
	if !a.json() {
		printStarted(a.stdout, view)
	}
	return a.watch(ctx, c, view, params, timeout)
}

func (a *app) watch(ctx context.Context, c client.Client, v startedView, params map[string]any, timeout time.Duration) error {
	out := a.stdout
	if a.json() {
		out = a.stderr // stdout carries the JSON document only
	}
	tty := isTerminal(out)
	wctx := ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	// Reset before each wait (Go 1.23 timers: no stale tick to drain).
	timer := time.NewTimer(watchInterval)
	defer timer.Stop()

	last := progress{stage: "starting"}
	var extracted int64
	// A flow whose activities heartbeat no checkpoint (any but
	// DataPipeline, until one does) is shown by its current details.
	byDetails := v.Workflow != datapipeline.WorkflowType
	// waiting is refreshed at most every workerCheckInterval while the
	// run has a task no worker has picked up.
	var waiting string
	var checked time.Time
	drawn := false
	endLine := func() {
		if tty && drawn {
			fmt.Fprintln(out)
			drawn = false
		}
	}
	runID := v.RunID
	wait := watchInterval
	for {
		desc, err := describeRun(wctx, c, v.WorkflowID, runID)
		if err != nil && wctx.Err() == nil && !nearDeadline(wctx, err) {
			endLine()
			return fmt.Errorf("watch run %s: %w", v.WorkflowID, err)
		}
		if err == nil && desc.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			endLine()
			next, done, err := a.finish(ctx, c, v, runID)
			if err != nil || done {
				return err
			}
			runID = next // continued as new: follow the new run
			continue
		}
		if err == nil {
			p := progressOf(desc, last)
			p.scheduled = ""
			if why := waitingOf(desc.GetWorkflowExecutionInfo().GetMemo()); why != "" {
				p.limited = "waiting (" + why + ")"
			} else {
				p.limited = ""
			}
			wait = watchInterval
			if info := desc.GetWorkflowExecutionInfo(); runStatus(info, time.Now()) == statusScheduled {
				at := *delayedStart(info)
				p.scheduled = formatTime(at)
				// Nothing happens before then, unless it is cancelled:
				// ask less often.
				wait = min(max(time.Until(at), watchInterval), scheduledWatchInterval)
			}
			switch {
			case !needsWorker(desc):
				waiting = ""
			case time.Since(checked) >= workerCheckInterval:
				waiting, checked = a.noWorker(wctx, c, v.TaskQueue), time.Now()
			}
			p.waiting = waiting
			if p.checkpointed {
				byDetails = false
			}
			// A live worker answers the query (its activity may not have
			// started yet); without one, it would wait for detailsWait.
			if byDetails && p.scheduled == "" && p.waiting == "" {
				p.details = last.details
				if d, err := currentDetails(wctx, c, v.WorkflowID, runID); err == nil && d != "" {
					p.details = d
				}
			}
			if p.stage == runinfo.StageExtract {
				extracted = max(extracted, p.rows)
			}
			if p != last || (tty && !drawn) {
				if tty {
					expected := extracted
					if p.stage == runinfo.StageExtract {
						expected, _ = params["batch_size"].(int64)
					}
					fmt.Fprintf(out, "\r\033[K%s", p.bar(expected))
					drawn = true
				} else {
					fmt.Fprintln(out, p.line())
				}
				last = p
			}
		}
		timer.Reset(wait)
		select {
		case <-wctx.Done():
		case <-timer.C:
			continue
		}
		endLine()
		if ctx.Err() != nil {
			return fmt.Errorf("stopped watching (interrupted); run %s keeps going: blueprint runs show %s: %w", v.WorkflowID, v.WorkflowID, ctx.Err())
		}
		status := statusRunning
		if last.scheduled != "" {
			status = statusScheduled
		}
		if a.json() {
			if err := a.printJSON(watchResult{startedView: v, Status: status, WatchTimedOut: true}); err != nil {
				return err
			}
		}
		return exitError(ExitFailure, fmt.Errorf("stopped watching after --timeout %s; run %s is still %s and keeps going (follow it with: blueprint runs show %s, or %s)",
			timeout, v.WorkflowID, status, v.WorkflowID, v.UIURL))
	}
}

// nearDeadline recognises a call cut short by the --timeout deadline: the
// client gives its calls a deadline a little before the context's.
func nearDeadline(ctx context.Context, err error) bool {
	dl, ok := ctx.Deadline()
	var de *serviceerror.DeadlineExceeded
	return ok && time.Until(dl) < time.Second && (errors.Is(err, context.DeadlineExceeded) || errors.As(err, &de))
}

// finish reports a run that ended. done is false when it continued as new
// as run next.
func (a *app) finish(ctx context.Context, c client.Client, v startedView, runID string) (next string, done bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, rpcTimeout)
	defer cancel()
	it := c.GetWorkflowHistory(ctx, v.WorkflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT)
	var status, failure string
	var out outcome
	var closedAt time.Time
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return "", true, fmt.Errorf("read the outcome of run %s: %w", v.WorkflowID, err)
		}
		if s, o, f, ok := closeOutcome(ev, v.Workflow); ok {
			status, out, failure, closedAt = s, o, f, ev.GetEventTime().AsTime()
			if a := ev.GetWorkflowExecutionContinuedAsNewEventAttributes(); a != nil {
				return a.GetNewExecutionRunId(), false, nil
			}
		}
	}
	if status == "" {
		return "", true, errors.New("the run ended but its history has no close event")
	}
	v.RunID = runID
	res := watchResult{startedView: v, Status: status, Summary: out.summary, Result: out.result, Failure: failure}
	if a.json() {
		if err := a.printJSON(res); err != nil {
			return "", true, err
		}
	}
	took := ""
	if desc, err := describeRun(ctx, c, v.WorkflowID, runID); err == nil {
		took = " in " + formatDuration(closedAt.Sub(desc.GetWorkflowExecutionInfo().GetStartTime().AsTime()))
	}
	if status == statusCompleted {
		if !a.json() {
			fmt.Fprintf(a.stdout, "Run %s completed%s.\n", v.WorkflowID, took)
			if err := printOutcome(a.stdout, out, "  "); err != nil {
				return "", true, err
			}
		}
		return "", true, nil
	}
	if !a.json() {
		fmt.Fprintf(a.stdout, "Run %s %s%s: %s\nDetails: blueprint runs show %s\n", v.WorkflowID, status, took, failure, v.WorkflowID)
	}
	return "", true, exitError(ExitFailure, fmt.Errorf("run %s %s: %s", v.WorkflowID, status, failure))
}

// deploymentQueues lists the distinct task queues of a manifest with the
// deployments on each, in manifest order.
func deploymentQueues(m *deployments.Manifest) ([]string, map[string][]string) {
	var queues []string
	byQueue := map[string][]string{}
	for _, d := range m.Deployments {
		if _, ok := byQueue[d.TaskQueue]; !ok {
			queues = append(queues, d.TaskQueue)
		}
		byQueue[d.TaskQueue] = append(byQueue[d.TaskQueue], d.Name)
	}
	return queues, byQueue
}
