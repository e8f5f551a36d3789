package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/store"
)

// followInterval is how often `runs logs --follow` reads new lines.
const followInterval = 500 * time.Millisecond

// envDatabaseURL names the warehouse, as for the worker.
const envDatabaseURL = "BLUEPRINT_DATABASE_URL"

// warehouse opens the warehouse the workers write run logs to: --database-url,
// else $BLUEPRINT_DATABASE_URL, else ./data/warehouse.db. It never creates
// one: a missing SQLite file is bad input, named in the message.
func (a *app) warehouse(ctx context.Context) (*store.Store, error) {
	dsn := a.warehouseDSN()
	st, err := store.OpenExisting(ctx, dsn)
	switch {
	case errors.Is(err, store.ErrNoWarehouse):
		where := dsn
		if where == "" {
			where = store.DefaultSQLitePath
		}
		return nil, usagef("no warehouse at %s: run the command where the worker runs, or pass the worker's --database-url (or set %s)", where, envDatabaseURL)
	case err != nil:
		return nil, fmt.Errorf("open the warehouse %s: %w", store.RedactDSN(dsn), err)
	}
	return st, nil
}

// warehouseDSN is the warehouse's address: --database-url, else
// $BLUEPRINT_DATABASE_URL, else "" (./data/warehouse.db).
func (a *app) warehouseDSN() string {
	if a.databaseURL != "" {
		return a.databaseURL
	}
	return os.Getenv(envDatabaseURL)
}

// warehouseIfAny is warehouse for a command that has something to say
// without one (datasets ls): nil, and no error, when there is none yet.
func (a *app) warehouseIfAny(ctx context.Context) (*store.Store, error) {
	st, err := store.OpenExisting(ctx, a.warehouseDSN())
	switch {
	case errors.Is(err, store.ErrNoWarehouse):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("open the warehouse %s: %w", store.RedactDSN(a.warehouseDSN()), err)
	}
	return st, nil
}

func (a *app) runsLogsCommand() *cobra.Command {
	var (
		runID, level string
		follow       bool
	)
	cmd := &cobra.Command{
		Use:   "logs WORKFLOW_ID",
		Short: "Print a run's log: stages, progress, each attempt's error, the outcome",
		Long: fmt.Sprintf(`Print the log lines of one run in the order they were written, each with its
time, level, stage and attempt: each stage's start and end, rows
so far, every failed attempt with its error, rejected counts by reason, and the
final status. Without --run-id, the latest run of the workflow ID is shown.

The workers write the lines to the warehouse as they go (lines written by a
worker that was killed are kept), so this command reads the warehouse:
--database-url, else $%s, else ./data/warehouse.db, as the worker does.
The worker keeps at most $BLUEPRINT_RUN_LOG_MAX_LINES lines per run (default
%d) and deletes lines older than $BLUEPRINT_RUN_LOG_RETENTION (default %s).

--follow prints new lines as they come until the run ends, then exits like
'run --watch': 0 if it completed, 1 otherwise. With -o json, the lines are a
JSON array, or with --follow one JSON object per line.`, envDatabaseURL, store.DefaultRunLogMaxLines, store.DefaultRunLogRetention),
		Example: `  blueprint runs logs production-etl-20250131T090000Z-1a2b3c4d5e6f
  blueprint runs logs production-etl-20250131T090000Z-1a2b3c4d5e6f --level warn
  blueprint runs logs adhoc-etl-20250131T090000Z-4d5e6f7a8b9c --follow
  BLUEPRINT_DATABASE_URL=postgres://etl@db/warehouse blueprint runs logs ID -o json`,
		Args: cobra.ExactArgs(1),
		RunE: a.run(func(ctx context.Context, args []string) error {
			if level != "" && !slices.Contains(store.LogLevels, level) {
				return usagef("--level %q: must be one of %s", level, strings.Join(store.LogLevels, ", "))
			}
			rctx, cancel := context.WithTimeout(ctx, rpcTimeout)
			defer cancel()
			st, err := a.warehouse(rctx)
			if err != nil {
				return err
			}
			defer st.Close()
			c, err := a.connect(rctx)
			if err != nil {
				return err
			}
			desc, err := describeRun(rctx, c, args[0], runID)
			if err != nil {
				return notFoundRun(err, a.settings.Namespace, args[0])
			}
			info := desc.GetWorkflowExecutionInfo()
			ref := runinfo.RunRef{WorkflowID: info.GetExecution().GetWorkflowId(), RunID: info.GetExecution().GetRunId()}
			q := store.LogQuery{MinLevel: level}
			if !follow {
				lines, err := st.RunLogs(rctx, ref, q)
				if err != nil {
					return err
				}
				if a.json() {
					return a.printJSON(lines)
				}
				if len(lines) == 0 {
					fmt.Fprintf(a.stdout, "No log lines for run %s (%s) yet.\n", ref.WorkflowID, runStatus(info, time.Now()))
					return nil
				}
				return a.printLogLines(lines, true)
			}
			return a.followLogs(ctx, c, st, ref, q)
		}),
	}
	cmd.Flags().StringVar(&runID, "run-id", "", "a particular run of the workflow ID (default: the latest)")
	cmd.Flags().StringVar(&level, "level", "", "only lines of this level or worse: "+strings.Join(store.LogLevels, ", "))
	cmd.Flags().BoolVar(&follow, "follow", false, "print new lines until the run ends; exit 0 only if it completed")
	return cmd
}

// printLogLines writes lines as a table (header first when asked) or, with
// -o json, one JSON object per line.
func (a *app) printLogLines(lines []store.LogLine, header bool) error {
	if a.json() {
		for _, l := range lines {
			if err := a.printJSONLine(l); err != nil {
				return err
			}
		}
		return nil
	}
	for _, l := range lines {
		if header {
			fmt.Fprintf(a.stdout, "%-23s  %-5s  %-9s  %-7s  %s\n", "TIME", "LEVEL", "STAGE", "ATTEMPT", "MESSAGE")
			header = false
		}
		attempt := "-"
		if l.Attempt > 0 {
			attempt = fmt.Sprint(l.Attempt)
		}
		fmt.Fprintf(a.stdout, "%-23s  %-5s  %-9s  %-7s  %s\n", l.Time.Local().Format("2006-01-02 15:04:05.000"), l.Level, orDash(l.Stage), attempt, oneLine(l.Message))
	}
	return nil
}

// followLogs prints the run's lines as they are written until it ends,
// then exits with its outcome.
func (a *app) followLogs(ctx context.Context, c client.Client, st *store.Store, ref runinfo.RunRef, q store.LogQuery) error {
	header := true
	tick := time.NewTicker(followInterval)
	defer tick.Stop()
	for {
		// Whether it ended is read before the lines: every line it wrote
		// before ending is then in the read that follows.
		rctx, cancel := context.WithTimeout(ctx, rpcTimeout)
		desc, derr := describeRun(rctx, c, ref.WorkflowID, ref.RunID)
		lines, err := st.RunLogs(rctx, ref, q)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("stopped following (interrupted); run %s keeps going: %w", ref.WorkflowID, ctx.Err())
			}
			return err
		}
		if len(lines) > 0 {
			if err := a.printLogLines(lines, header); err != nil {
				return err
			}
			header = false
			q.AfterID = lines[len(lines)-1].ID
		}
		if derr == nil && desc.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			return a.logsOutcome(ctx, c, ref)
		}
		if derr != nil && ctx.Err() == nil {
			return fmt.Errorf("follow run %s: %w", ref.WorkflowID, derr)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("stopped following (interrupted); run %s keeps going: %w", ref.WorkflowID, ctx.Err())
		case <-tick.C:
		}
	}
}

// logsOutcome ends `runs logs --follow` as `run --watch` ends: exit 0 for a
// completed run, 1 with the failure otherwise.
func (a *app) logsOutcome(ctx context.Context, c client.Client, ref runinfo.RunRef) error {
	ctx, cancel := context.WithTimeout(ctx, rpcTimeout)
	defer cancel()
	it := c.GetWorkflowHistory(ctx, ref.WorkflowID, ref.RunID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return fmt.Errorf("read the outcome of run %s: %w", ref.WorkflowID, err)
		}
		status, _, failure, ok := closeOutcome(ev, "") // the result is not read
		if !ok {
			continue
		}
		if status == statusCompleted {
			return nil
		}
		return exitError(ExitFailure, fmt.Errorf("run %s %s: %s", ref.WorkflowID, status, failure))
	}
	return errors.New("the run ended but its history has no close event")
}

// addLoggedFailures completes the failed attempts of r's activities with
// the ones its run log recorded: Temporal's history keeps only an
// activity's last failure and the one before it. Without a warehouse, a
// note on stderr says what is missing.
func (a *app) addLoggedFailures(ctx context.Context, r *runDetail) {
	missing := false
	for _, av := range r.Activities {
		want := int(av.Attempts) - 1
		if av.Status == statusFailed || av.Status == statusTimedOut {
			want++
		}
		missing = missing || len(av.Failures) < want
	}
	if !missing {
		return
	}
	st, err := a.warehouse(ctx)
	var fails []store.AttemptFailure
	if err == nil {
		fails, err = st.AttemptFailures(ctx, runinfo.RunRef{WorkflowID: r.WorkflowID, RunID: r.RunID})
		_ = st.Close()
	}
	if err != nil {
		if !a.json() {
			fmt.Fprintf(a.stderr, "note: the errors of earlier attempts are in the run log, which could not be read: %s\n", oneLine(err.Error()))
		}
		return
	}
	for i := range r.Activities {
		av := &r.Activities[i]
		for _, f := range fails {
			if !strings.EqualFold(f.Stage, av.Activity) || slices.ContainsFunc(av.Failures, func(e attemptFailure) bool { return int(e.Attempt) == f.Attempt }) {
				continue
			}
			av.Failures = append(av.Failures, attemptFailure{Attempt: int32(f.Attempt), Message: f.Message})
		}
		slices.SortFunc(av.Failures, func(x, y attemptFailure) int { return int(x.Attempt - y.Attempt) })
	}
}
