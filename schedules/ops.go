package schedules

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/blueprint-etl/blueprint/deployments"
	"github.com/blueprint-etl/blueprint/internal/badinput"
)

// ErrNotDeployed is wrapped by the errors of operations on a schedule that
// is not on the server.
var ErrNotDeployed = errors.New("schedule not deployed")

// Status is a deployment's schedule as the server has it.
type Status struct {
	ScheduleID string `json:"schedule_id"`
	// Deployed is false when the server has no schedule with this ID; the
	// other fields are then empty.
	Deployed bool `json:"deployed"`
	// Managed says blueprint created the schedule.
	Managed bool   `json:"managed"`
	Paused  bool   `json:"paused"`
	Note    string `json:"note"`
	// Cron is the server's spec written as cron (see describeSpec).
	Cron          string         `json:"cron"`
	Timezone      string         `json:"timezone"`
	Overlap       string         `json:"overlap"`
	CatchupWindow time.Duration  `json:"catchup_window"`
	Jitter        time.Duration  `json:"jitter"`
	NextRuns      []time.Time    `json:"next_runs"`
	Actions       int            `json:"actions"`
	RecentActions []ActionResult `json:"recent_actions"`
	CreatedAt     time.Time      `json:"created_at"`
	UpdatedAt     time.Time      `json:"updated_at,omitzero"`
}

// ActionResult is one run a schedule started.
type ActionResult struct {
	ScheduledAt time.Time `json:"scheduled_at"`
	StartedAt   time.Time `json:"started_at"`
	WorkflowID  string    `json:"workflow_id"`
	RunID       string    `json:"run_id"`
}

// Describe returns the server's state of a schedule. A schedule that does
// not exist gives a Status with Deployed false and no error.
func Describe(ctx context.Context, c client.Client, scheduleID string) (Status, error) {
	desc, err := c.ScheduleClient().GetHandle(ctx, scheduleID).Describe(ctx)
	var notFound *serviceerror.NotFound
	switch {
	case errors.As(err, &notFound):
		return statusOf(scheduleID, nil), nil
	case err != nil:
		return statusOf(scheduleID, nil), serverError(fmt.Sprintf("describe schedule %q", scheduleID), err)
	}
	return statusOf(scheduleID, desc), nil
}

// statusOf is the Status of a described schedule; desc nil is one the
// server does not have.
func statusOf(scheduleID string, desc *client.ScheduleDescription) Status {
	st := Status{ScheduleID: scheduleID, NextRuns: []time.Time{}, RecentActions: []ActionResult{}}
	if desc == nil {
		return st
	}
	st.Deployed = true
	st.Managed = managed(desc.Memo)
	if s := desc.Schedule.State; s != nil {
		st.Paused, st.Note = s.Paused, s.Note
	}
	if s := desc.Schedule.Spec; s != nil {
		st.Cron = describeSpec(s)
		st.Timezone = zoneName(s.TimeZoneName)
		st.Jitter = s.Jitter
	}
	if p := desc.Schedule.Policy; p != nil {
		st.Overlap = deployments.OverlapName(p.Overlap)
		st.CatchupWindow = p.CatchupWindow
	}
	st.NextRuns = append(st.NextRuns, desc.Info.NextActionTimes...)
	st.Actions = desc.Info.NumActions
	for _, a := range desc.Info.RecentActions {
		r := ActionResult{ScheduledAt: a.ScheduleTime, StartedAt: a.ActualTime}
		if w := a.StartWorkflowResult; w != nil {
			r.WorkflowID, r.RunID = w.WorkflowID, w.FirstExecutionRunID
		}
		st.RecentActions = append(st.RecentActions, r)
	}
	st.CreatedAt = desc.Info.CreatedAt
	if !desc.Info.LastUpdateAt.IsZero() && desc.Info.LastUpdateAt.Unix() > 0 {
		st.UpdatedAt = desc.Info.LastUpdateAt
	}
	return st
}

// Pause pauses a schedule with a note saying why. Runs already started
// keep going; no new ones start until Resume. The pause survives
// `blueprint deploy` unless the manifest sets `paused: false`.
func Pause(ctx context.Context, c client.Client, scheduleID, note string) error {
	err := c.ScheduleClient().GetHandle(ctx, scheduleID).Pause(ctx, client.SchedulePauseOptions{Note: note})
	return opError("pause", scheduleID, err)
}

// Resume unpauses a schedule. Runs missed while it was paused are not
// made up for; use Backfill for that.
func Resume(ctx context.Context, c client.Client, scheduleID, note string) error {
	err := c.ScheduleClient().GetHandle(ctx, scheduleID).Unpause(ctx, client.ScheduleUnpauseOptions{Note: note})
	return opError("resume", scheduleID, err)
}

// Backfill starts the runs the schedule would have started between from
// and to, now, with the overlap policy given (unspecified: the schedule's).
func Backfill(ctx context.Context, c client.Client, scheduleID string, from, to time.Time, overlap enumspb.ScheduleOverlapPolicy) error {
	if !from.Before(to) {
		return badinput.Errorf("backfill: --from %s must be before --to %s", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	err := c.ScheduleClient().GetHandle(ctx, scheduleID).Backfill(ctx, client.ScheduleBackfillOptions{
		Backfill: []client.ScheduleBackfill{{Start: from, End: to, Overlap: overlap}},
	})
	return opError("backfill", scheduleID, err)
}

// TriggerWait bounds how long Trigger waits to learn which run it started.
const TriggerWait = 15 * time.Second

// Trigger makes the schedule start a run now, with the overlap policy
// given (unspecified: the schedule's, which may skip the run while another
// is going). It returns the started run once the schedule reports it, or a
// zero ActionResult if that takes longer than TriggerWait.
func Trigger(ctx context.Context, c client.Client, scheduleID string, overlap enumspb.ScheduleOverlapPolicy) (ActionResult, error) {
	h := c.ScheduleClient().GetHandle(ctx, scheduleID)
	before, err := h.Describe(ctx)
	if err != nil {
		return ActionResult{}, opError("trigger", scheduleID, err)
	}
	seen := map[string]bool{}
	for _, a := range before.Info.RecentActions {
		if a.StartWorkflowResult != nil {
			seen[a.StartWorkflowResult.WorkflowID] = true
		}
	}
	if err := h.Trigger(ctx, client.ScheduleTriggerOptions{Overlap: overlap}); err != nil {
		return ActionResult{}, opError("trigger", scheduleID, err)
	}

	wctx, cancel := context.WithTimeout(ctx, TriggerWait)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-wctx.Done():
			return ActionResult{}, nil
		case <-tick.C:
		}
		desc, err := h.Describe(wctx)
		if err != nil {
			// The trigger has been accepted; learning its run is best
			// effort. gRPC may cancel a call at the wait's deadline just
			// before the context says so, and a busy server may fail one
			// poll: keep polling until the wait is over.
			continue
		}
		for _, a := range slices.Backward(desc.Info.RecentActions) {
			if r := a.StartWorkflowResult; r != nil && !seen[r.WorkflowID] {
				return ActionResult{ScheduledAt: a.ScheduleTime, StartedAt: a.ActualTime, WorkflowID: r.WorkflowID, RunID: r.FirstExecutionRunID}, nil
			}
		}
	}
}

// opError turns a schedule operation's error into a one-line message.
func opError(op, scheduleID string, err error) error {
	if err == nil {
		return nil
	}
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return fmt.Errorf("%s: schedule %q is not on the server; run `blueprint deploy` first: %w", op, scheduleID, ErrNotDeployed)
	}
	return serverError(fmt.Sprintf("%s schedule %q", op, scheduleID), err)
}

// serverError says plainly when the server could not be reached, instead
// of a gRPC status dump.
func serverError(op string, err error) error {
	var unavailable *serviceerror.Unavailable
	var deadline *serviceerror.DeadlineExceeded
	switch {
	case errors.As(err, &unavailable):
		return fmt.Errorf("%s: cannot reach the Temporal server: %w", op, err)
	case errors.As(err, &deadline), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: the Temporal server did not answer in time: %w", op, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}
