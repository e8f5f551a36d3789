// Package failures writes Temporal failures for people: one line, the
// outermost failure first, blueprint's error types named. The CLI (`runs
// show`, `run --watch`) and the run log (each attempt's error) use it, so a
// failure reads the same everywhere.
//
// It must not import `internal/store`, `internal/source`, `activities` or
// `workflows`.
package failures

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	"go.temporal.io/sdk/temporal"

	"github.com/blueprint-etl/blueprint/internal/runinfo"
)

// errorTypes are the failure types worth naming: blueprint's own. Other
// types are Go type names ("wrapError") that say nothing to a user.
var errorTypes = []string{runinfo.ErrInvalidParameters, runinfo.ErrBadSource, runinfo.ErrBadData, runinfo.ErrTransient, runinfo.ErrSourcesFailed, runinfo.ErrTooManyRejected}

// Chain writes a failure and its causes on one line, outermost
// first: "activity Extract failed (maximum attempts reached): source
// unavailable (Transient)", or for a run's failure, which the workflow
// summarizes, "Extract failed after 3 attempts: source unavailable".
func Chain(f *failurepb.Failure) string {
	var parts []string
	for depth := 0; f != nil && depth < 20; f, depth = f.GetCause(), depth+1 {
		raw := f.GetMessage()
		msg := raw
		switch {
		case f.GetActivityFailureInfo() != nil:
			info := f.GetActivityFailureInfo()
			if len(parts) > 0 && strings.HasPrefix(parts[len(parts)-1], info.GetActivityType().GetName()+" ") {
				// The workflow's summary (package failure) already names
				// the stage and its attempts.
				continue
			}
			msg = fmt.Sprintf("activity %s failed", info.GetActivityType().GetName())
			if rs := RetryState(info.GetRetryState()); rs != "" {
				msg += " (" + rs + ")"
			}
		case f.GetChildWorkflowExecutionFailureInfo() != nil:
			msg = fmt.Sprintf("child workflow %s failed", f.GetChildWorkflowExecutionFailureInfo().GetWorkflowType().GetName())
		case f.GetApplicationFailureInfo() != nil && slices.Contains(errorTypes, f.GetApplicationFailureInfo().GetType()) &&
			f.GetCause().GetActivityFailureInfo() == nil: // a summary says it in words
			msg = fmt.Sprintf("%s (%s)", msg, f.GetApplicationFailureInfo().GetType())
		case f.GetTimeoutFailureInfo() != nil:
			msg = fmt.Sprintf("%s timeout", strings.ToLower(strings.TrimPrefix(f.GetTimeoutFailureInfo().GetTimeoutType().String(), "TIMEOUT_TYPE_")))
		case f.GetCanceledFailureInfo() != nil && msg == "":
			msg = "cancelled"
		}
		// A Go error converted to a failure repeats its wrapped causes'
		// text in each level: keep the outermost that says it all.
		if msg != "" && (len(parts) == 0 || !strings.Contains(parts[len(parts)-1], raw)) {
			parts = append(parts, OneLine(msg))
		}
	}
	return strings.Join(parts, ": ")
}

// RetryState says why an activity stopped retrying, "" when it says
// nothing useful.
func RetryState(s enumspb.RetryState) string {
	switch s {
	case enumspb.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED:
		return "maximum attempts reached"
	case enumspb.RETRY_STATE_NON_RETRYABLE_FAILURE:
		return "not retryable"
	case enumspb.RETRY_STATE_TIMEOUT:
		return "retry timeout reached"
	case enumspb.RETRY_STATE_CANCEL_REQUESTED:
		return "cancelled"
	default:
		return ""
	}
}

// OneLine keeps a message on one line.
func OneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' }), "; ")
}

// Cause writes the cause of an error that a workflow got from an activity
// the way Chain writes a failure's last link: the application error's
// message with blueprint's error type, "timeout" or "canceled", without the
// activity wrapper's event IDs. It is deterministic: workflow code uses it.
func Cause(err error) string {
	var app *temporal.ApplicationError
	var timeout *temporal.TimeoutError
	var canceled *temporal.CanceledError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &app):
		msg := OneLine(app.Message())
		if slices.Contains(errorTypes, app.Type()) {
			msg += " (" + app.Type() + ")"
		}
		return msg
	case errors.As(err, &timeout):
		return strings.ToLower(strings.TrimPrefix(timeout.TimeoutType().String(), "TIMEOUT_TYPE_")) + " timeout"
	case errors.As(err, &canceled):
		return "cancelled"
	default:
		return OneLine(err.Error())
	}
}
