// Message and Summarize write the one line a person reads first when a
// run fails: the stage, how many attempts it took and the cause, e.g.
// "Extract failed after 3 attempts: synthetic source unavailable".
//
// Temporal's own top-level message for a failed activity is "activity
// error", with the cause nested below it. The Web UI shows that top line
// first, and so do most tools, so the workflow puts this summary on top
// and keeps the original error below it as the cause.

package failures

import (
	"errors"
	"fmt"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"

	"github.com/blueprint-etl/blueprint/internal/runinfo"
)

// TypeStageFailed is the error type of a summary whose cause carries no
// application error type (a timeout, a panic).
const TypeStageFailed = "StageFailed"

// Message is the one-line summary of a stage's error; an error that is not
// an activity's is returned as its own message (an application error's
// without the SDK's "(type: ..., retryable: ...)").
func Message(err error) string { return MessageAttempts(err, runinfo.MaxAttempts) }

// MessageAttempts is Message for an activity whose retry policy allowed
// maxAttempts attempts (the error does not carry the count; the workflow
// that scheduled the activity knows it).
func MessageAttempts(err error, maxAttempts int) string {
	var act *temporal.ActivityError
	if !errors.As(err, &act) {
		var app *temporal.ApplicationError
		if errors.As(err, &app) {
			return OneLine(app.Message())
		}
		return err.Error()
	}
	stage := act.ActivityType().GetName()
	cause := causeOf(act.Unwrap())
	switch act.RetryState() {
	case enumspb.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED:
		// Running out of attempts means the retry policy's maximum was
		// used.
		return fmt.Sprintf("%s failed after %d attempts: %s", stage, maxAttempts, cause)
	case enumspb.RETRY_STATE_NON_RETRYABLE_FAILURE:
		return fmt.Sprintf("%s failed (not retryable): %s", stage, cause)
	case enumspb.RETRY_STATE_TIMEOUT:
		return fmt.Sprintf("%s failed, out of time for retries: %s", stage, cause)
	case enumspb.RETRY_STATE_CANCEL_REQUESTED:
		return fmt.Sprintf("%s canceled", stage)
	}
	var canceled *temporal.CanceledError
	if errors.As(err, &canceled) {
		return fmt.Sprintf("%s canceled", stage)
	}
	return fmt.Sprintf("%s failed: %s", stage, cause)
}

// causeOf is the innermost meaningful message of an activity's cause.
func causeOf(err error) string {
	var parts []string
	for depth := 0; err != nil && depth < 10; depth++ {
		var msg string
		var next error
		switch e := err.(type) {
		case *temporal.ApplicationError:
			msg, next = e.Message(), e.Unwrap()
		case *temporal.TimeoutError:
			msg = strings.ToLower(strings.TrimPrefix(e.TimeoutType().String(), "TIMEOUT_TYPE_")) + " timeout"
			next = e.Unwrap()
		case *temporal.PanicError:
			msg = "panic: " + e.Error()
		case *temporal.CanceledError:
			msg = "cancelled"
		default:
			msg, next = err.Error(), errors.Unwrap(err)
		}
		// A Go error converted to a failure already holds its causes'
		// text: keep what is new.
		if msg != "" && (len(parts) == 0 || !strings.Contains(parts[len(parts)-1], msg)) {
			parts = append(parts, OneLine(msg))
		}
		err = next
	}
	if len(parts) == 0 {
		return "unknown error"
	}
	return strings.Join(parts, ": ")
}

// Summarize returns err with Message on top and err itself as the cause,
// keeping the cause's application error type (InvalidParameters,
// BadSource, ...) so that callers matching on it still do. A nil err, or
// one that is not an activity's, is returned unchanged.
func Summarize(err error) error { return SummarizeAttempts(err, runinfo.MaxAttempts) }

// SummarizeAttempts is Summarize for an activity whose retry policy
// allowed maxAttempts attempts.
func SummarizeAttempts(err error, maxAttempts int) error {
	var act *temporal.ActivityError
	if err == nil || !errors.As(err, &act) {
		return err
	}
	typ := TypeStageFailed
	var app *temporal.ApplicationError
	if errors.As(act, &app) && app.Type() != "" {
		typ = app.Type()
	}
	return temporal.NewApplicationErrorWithOptions(MessageAttempts(err, maxAttempts), typ, temporal.ApplicationErrorOptions{NonRetryable: true, Cause: err})
}
