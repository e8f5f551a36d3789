// Package runend holds the activities every flow's run ends with,
// whatever the flow: EndRun records the outcome (the run log's last line
// and the run's row in flow_runs, its readable failure included), Notify
// POSTs it to each of the deployment's webhooks that asked for it, and
// StartTriggered starts the runs of the triggers that name the run's
// deployment.
// The worker registers them once for all flows (internal/worker); the
// workflow side that calls them is internal/flowrun.
//
// It must not import `internal/flow`, `internal/source`, `activities` or
// `workflows`: it ends runs of any flow, and knows none of them.
package runend

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/blueprint-etl/blueprint/internal/notify"
	"github.com/blueprint-etl/blueprint/internal/restapi"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/runlog"
	"github.com/blueprint-etl/blueprint/internal/store"
	"github.com/blueprint-etl/blueprint/internal/webui"
	"go.temporal.io/sdk/client"
)

// onceFinal is the Once key of a run's outcome line: however often EndRun
// is retried, the log says how the run ended once.
const onceFinal = "final"

// Activities are EndRun and Notify, on the worker's dependencies.
type Activities struct {
	Store *store.Store
	// Log writes the run logs (nil: none are written).
	Log *runlog.Writer
	// Env looks up the worker's environment variables that hold webhook
	// URLs (os.LookupEnv when nil).
	Env func(string) (string, bool)
	// HTTP posts notifications (http.DefaultClient when nil).
	HTTP *http.Client
	// Client starts the runs of triggers (StartTriggered).
	Client client.Client
}

// EndRun records a run's outcome: in its log, the error of the stage's
// last attempt when it failed, then the final status with the summary or
// error; and, for a run of a known flow, its row in flow_runs. Every flow
// ends with it (see internal/flowrun).
func (a *Activities) EndRun(ctx context.Context, in runinfo.EndRunInput) error {
	var lines []store.LogLine
	level := map[string]string{runinfo.RunCompleted: store.LogInfo, runinfo.RunCancelled: store.LogWarn}[in.Status]
	if level == "" {
		level = store.LogError
	}
	if in.Stage != "" && in.Error != "" {
		attempt := 0
		if a.Store != nil {
			n, err := a.Store.LastLoggedAttempt(ctx, in.Run, in.Stage)
			if err != nil {
				return err
			}
			attempt = n
		}
		line := store.LogLine{Level: level, Stage: in.Stage, Attempt: attempt,
			Message: store.AttemptFailedMessage(attempt, in.Error), Once: store.FailedOnce(in.Stage, attempt)}
		if attempt == 0 { // it never started
			line.Message, line.Once = fmt.Sprintf("%s did not run: %s", in.Stage, in.Error), "not-run"
		}
		lines = append(lines, line)
	}
	msg := "run " + in.Status
	switch {
	case in.Error != "" && in.Stage != "":
		msg += " in " + in.Stage + ": " + in.Error
	case in.Error != "":
		msg += ": " + in.Error
	case in.Summary != "":
		msg += ": " + in.Summary
	}
	lines = append(lines, store.LogLine{Level: level, Stage: "run", Message: msg, Once: onceFinal})
	// Histories recorded before flow_runs carry no flow name: their
	// retried EndRun writes the log only, as it did then.
	if a.Store == nil || in.Flow == "" {
		if err := a.Log.Append(ctx, in.Run, lines...); err != nil {
			return fmt.Errorf("record the outcome of %s: %w", in.Run.Key(), err)
		}
		return nil
	}
	// The outcome's lines commit with its row: one transaction at the end
	// of every run, on its workflow task; a run log kept elsewhere than
	// the warehouse of the row is written first, on its own.
	var logs []store.ChunkLog
	switch {
	case a.Log == nil || a.Log.Store == nil: // no run log
	case a.Log.Store == a.Store:
		for _, l := range lines {
			logs = append(logs, store.ChunkLog{MaxLines: a.Log.Config.MaxLines, Line: l})
		}
	default:
		if err := a.Log.Append(ctx, in.Run, lines...); err != nil {
			return fmt.Errorf("record the outcome of %s: %w", in.Run.Key(), err)
		}
	}
	if err := a.Store.RecordFlowRun(ctx, store.FlowRun{Run: in.Run, Flow: in.Flow, Deployment: in.Deployment,
		Status: in.Status, Stage: in.Stage, Summary: in.Summary, Error: in.Error}, logs...); err != nil {
		return fmt.Errorf("record the outcome of %s: %w", in.Run.Key(), err)
	}
	return nil
}

// notifyLogWait bounds the wait of a notification's log line for an
// unreachable warehouse (see store.WithWait).
const notifyLogWait = 5 * time.Second

// Notify POSTs a run's outcome to one webhook. The URL is read from the
// worker's environment variable the webhook names, and never appears in a
// message: an unset variable or a refused POST says which variable.
// Failures are written to the run's log too; the workflow retries and then
// gives up without changing the run's outcome.
func (a *Activities) Notify(ctx context.Context, in runinfo.NotifyInput) error {
	info := activity.GetInfo(ctx)
	// A log line is not worth the attempt's budget: waiting out a
	// warehouse outage for it could time the attempt out after the POST
	// and send the notification twice.
	lctx := store.WithWait(ctx, notifyLogWait)
	logf := func(level, format string, args ...any) {
		_ = a.Log.Append(lctx, in.End.Run, store.LogLine{Level: level, Stage: "notify", Attempt: int(info.Attempt), Message: fmt.Sprintf(format, args...)})
	}
	// The manifest's rule, checked again: a memo can be written by any
	// client, and the worker's own BLUEPRINT_* settings are not webhooks.
	if err := restapi.CheckEnvName(in.Webhook.URLEnv); err != nil {
		logf(store.LogError, "notification not sent: %v", err)
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("webhook: %v", err), runinfo.ErrBadSource, nil)
	}
	env := a.Env
	if env == nil {
		env = os.LookupEnv
	}
	raw, ok := env(in.Webhook.URLEnv)
	if !ok || raw == "" {
		logf(store.LogError, "notification not sent: $%s is not set on the worker", in.Webhook.URLEnv)
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("webhook $%s is not set on the worker", in.Webhook.URLEnv), runinfo.ErrBadSource, nil)
	}
	if err := notify.CheckURL(raw); err != nil {
		logf(store.LogError, "notification not sent: $%s %v", in.Webhook.URLEnv, err)
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("webhook $%s %v", in.Webhook.URLEnv, err), runinfo.ErrBadSource, nil)
	}
	hc := a.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	p := notify.NewPayload(in, webui.RunLink(in.Namespace, in.End.Run.WorkflowID, in.End.Run.RunID))
	if err := notify.Post(ctx, hc, raw, p); err != nil {
		logf(store.LogWarn, "notification to $%s (attempt %d) failed: %v", in.Webhook.URLEnv, info.Attempt, err)
		var se *notify.StatusError
		if errors.As(err, &se) && !se.Retryable() {
			return temporal.NewNonRetryableApplicationError(fmt.Sprintf("webhook $%s: %v", in.Webhook.URLEnv, err), runinfo.ErrBadSource, nil)
		}
		return fmt.Errorf("webhook $%s: %w", in.Webhook.URLEnv, err)
	}
	logf(store.LogInfo, "notified $%s that the run %s", in.Webhook.URLEnv, in.End.Status)
	return nil
}
