package cli

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/blueprint-etl/blueprint/deployments"
	"github.com/blueprint-etl/blueprint/internal/redact"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/starter"
)

func (a *app) runsRetryCommand() *cobra.Command {
	var (
		runID   string
		id      string
		watch   bool
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "retry WORKFLOW_ID",
		Short: "Start a new run of an ended run's deployment with the same parameters",
		Long: `Start a new run of the deployment an ended run belongs to, with the same flow,
task queue and exactly the parameters that run received (read from its
history; encrypted parameters are decrypted and encrypted again with
BLUEPRINT_ENCRYPTION_KEYS). The new run gets a new workflow ID and is linked
to the original both ways: 'runs show' of the retry says "Retry of", 'runs
show' of the original lists its retries (retry_of and retries in -o json).
The link is the BlueprintRetryOf search attribute (and the blueprint.retry-of
memo), so 'temporal workflow list --query "BlueprintRetryOf = 'ID/RUN_ID'"'
finds the retries too.

Only a run that has ended (completed, failed, cancelled, terminated or timed
out) can be retried; a running or scheduled run is refused with exit code 2
(cancel it first). So is a run that no deployment started (one started with
'temporal workflow start', which carries no BlueprintDeployment), and one
whose deployment is no longer in the manifest. --watch and --timeout work as
for 'blueprint run'.`,
		Example: `  blueprint runs retry production-etl-20250131T090000Z-1a2b3c4d5e6f
  blueprint runs retry production-etl-20250131T090000Z-1a2b3c4d5e6f --watch
  blueprint runs retry my-first-run --run-id 0194b7a2-... --id my-first-run-again -o json`,
		Args: cobra.ExactArgs(1),
		RunE: a.withManifest(func(ctx context.Context, srv *session, m *deployments.Manifest, args []string) error {
			if err := checkWatchTimeout(watch, timeout); err != nil {
				return err
			}
			sctx, c, err := srv.connect(ctx)
			if err != nil {
				return err
			}
			ns := a.settings.Namespace
			started, err := starter.Retry(sctx, c, ns, m, starter.RetryRequest{WorkflowID: args[0], RunID: runID, NewWorkflowID: id})
			if err != nil {
				return err
			}
			a.warnNoWorker(sctx, c, started.TaskQueue)
			view := startedViewOf(ns, started)
			return a.started(ctx, c, view, started.Params, watch, timeout)
		}),
	}
	f := cmd.Flags()
	f.StringVar(&runID, "run-id", "", "a particular run of the workflow ID (default: the latest)")
	f.StringVar(&id, "id", "", "workflow ID of the new run (default: DEPLOYMENT-<UTC time>-<random>)")
	f.BoolVarP(&watch, "watch", "w", false, "follow the new run's progress until it ends; exit 0 only if it completed")
	f.DurationVar(&timeout, "timeout", 0, "with --watch: stop watching after this long (e.g. 10m); the run keeps going")
	return cmd
}

// startedViewOf is what `run` and `runs retry` print about a run they
// started.
func startedViewOf(ns string, s starter.Started) startedView {
	v := startedView{
		Deployment: s.Deployment, Workflow: s.Workflow, WorkflowID: s.WorkflowID, RunID: s.RunID,
		TaskQueue: s.TaskQueue, Namespace: ns, Parameters: redact.Object(s.Params),
		UIURL: starter.UILink(ns, s.WorkflowID, s.RunID),
	}
	if wf, run, ok := runinfo.ParseRetryOf(s.RetryOf); ok {
		v.RetryOf = &runRef{WorkflowID: wf, RunID: run, UIURL: uiLink(ns, wf, run)}
	}
	return v
}
