// Package runlog writes a run's log: the lines `blueprint runs logs` shows,
// stored in the warehouse (table run_logs) so that every worker shares them
// and they outlive the worker that wrote them.
//
// Activities write their lines as they go through a Logger bound to the
// attempt (Writer.Attempt): each line is committed at once, so the lines a
// SIGKILLed worker wrote before it died are kept. Workflow code never writes
// here directly: its lines (the run's outcome) go through an activity with
// a Once key, so that neither a replay nor a retried activity writes a line
// twice.
//
// It must not import `internal/source`, a flow's contract, `activities` or
// `workflows`.
package runlog

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"

	"github.com/blueprint-etl/blueprint/internal/failures"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/store"
)

// Environment variables of the worker that bound the run logs.
const (
	EnvMaxLines  = "BLUEPRINT_RUN_LOG_MAX_LINES"
	EnvRetention = "BLUEPRINT_RUN_LOG_RETENTION"
)

// Config bounds the run logs.
type Config struct {
	// MaxLines caps the lines per run (store.DefaultRunLogMaxLines if 0).
	MaxLines int
	// Retention is how long lines are kept (store.DefaultRunLogRetention
	// if 0).
	Retention time.Duration
}

// ConfigFromEnv reads EnvMaxLines and EnvRetention.
func ConfigFromEnv() (Config, error) {
	c := Config{MaxLines: store.DefaultRunLogMaxLines, Retention: store.DefaultRunLogRetention}
	if v := os.Getenv(EnvMaxLines); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 10 {
			return c, fmt.Errorf("%s=%q: must be an integer of at least 10", EnvMaxLines, v)
		}
		c.MaxLines = n
	}
	if v := os.Getenv(EnvRetention); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Hour {
			return c, fmt.Errorf("%s=%q: must be a duration of at least 1h, such as 720h (30 days)", EnvRetention, v)
		}
		c.Retention = d
	}
	return c, nil
}

// Writer writes run log lines to the warehouse. A nil *Writer or one
// without a Store writes nothing, so that code with a run log also runs
// without one.
type Writer struct {
	Store  *store.Store
	Config Config
	// Client reads a retried attempt's previous error from the server;
	// without one the line says the error is unknown.
	Client client.Client
}

// Append writes lines to run's log. A failure to write is logged by the
// caller's logger and otherwise ignored: the log must never fail a run.
func (w *Writer) Append(ctx context.Context, run runinfo.RunRef, lines ...store.LogLine) error {
	if w == nil || w.Store == nil {
		return nil
	}
	return w.Store.AppendLogs(ctx, run, w.Config.MaxLines, lines...)
}

// Logger writes the lines of one activity attempt.
type Logger struct {
	w       *Writer
	ctx     context.Context
	run     runinfo.RunRef
	stage   string
	attempt int
	// previous is the failure of the attempt before (see PreviousFailure).
	previous string
}

// Attempt returns the Logger of the running activity attempt of ctx for
// stage, and writes its first lines: when it is a retry, the error of the
// attempt before (read from the server, which keeps it even when the
// worker running that attempt was killed), then "<stage> started".
//
// The worker does it for every activity of every flow (see FromContext);
// an activity that asks again for its own stage gets that Logger, and no
// line is written twice.
func (w *Writer) Attempt(ctx context.Context, run runinfo.RunRef, stage string) *Logger {
	if l := FromContext(ctx); l != nil && l.w == w && l.run == run && strings.EqualFold(l.stage, stage) {
		return l
	}
	info := activity.GetInfo(ctx)
	l := &Logger{w: w, ctx: ctx, run: run, stage: stage, attempt: int(info.Attempt)}
	max := 0
	if info.RetryPolicy != nil {
		max = int(info.RetryPolicy.MaximumAttempts)
	}
	of := ""
	if max > 0 {
		of = fmt.Sprintf(" of %d", max)
	}
	if l.attempt > 1 {
		prev := l.attempt - 1
		cause, known := w.previousFailure(ctx, info)
		if known {
			l.previous = failures.OneLine(cause)
		}
		l.write(store.LogLine{Level: store.LogWarn, Stage: stage, Attempt: l.attempt,
			Message: store.AttemptFailedMessage(prev, cause), Once: store.FailedOnce(stage, prev)})
	}
	l.Info("%s started (attempt %d%s)", stage, l.attempt, of)
	return l
}

// previousFailure is the failure of the attempt before the running one,
// as the server recorded it in the pending activity; when it is not known,
// why (and false).
func (w *Writer) previousFailure(ctx context.Context, info activity.Info) (string, bool) {
	if w == nil || w.Store == nil {
		return "", false // the line is not written: nothing to ask the server
	}
	c := w.Client
	if c == nil {
		return "(unknown: no connection to the server)", false
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	desc, err := c.DescribeWorkflow(dctx, info.WorkflowExecution.ID, info.WorkflowExecution.RunID)
	if err != nil {
		return fmt.Sprintf("(unknown: describe the run: %v)", err), false
	}
	for _, pa := range desc.RawResponse.GetPendingActivities() {
		if pa.GetActivityId() == info.ActivityID && pa.GetLastFailure() != nil {
			return failures.Chain(pa.GetLastFailure()), true
		}
	}
	return "(unknown: the server no longer holds it)", false
}

// PreviousFailure is the failure of the attempt before this retry, on one
// line, as the run log recorded it; "" on a first attempt or when the
// worker could not read it.
func (l *Logger) PreviousFailure() string {
	if l == nil {
		return ""
	}
	return l.previous
}

// Info writes an info line.
func (l *Logger) Info(format string, args ...any) { l.log(store.LogInfo, format, args...) }

// Warn writes a warning line.
func (l *Logger) Warn(format string, args ...any) { l.log(store.LogWarn, format, args...) }

// Error writes an error line.
func (l *Logger) Error(format string, args ...any) { l.log(store.LogError, format, args...) }

// Chunk is an info line for a chunk's commit to write in its own
// transaction (store.ChunkLog): the line that reports a committed chunk is
// there exactly when the chunk is. None when there is no run log.
func (l *Logger) Chunk(format string, args ...any) []store.ChunkLog {
	return l.Line(store.LogInfo, format, args...)
}

// Line is a line at level for a store write to commit with what it
// reports (store.ChunkLog), or for Write with other lines: one
// transaction, not one per line. None when there is no run log.
func (l *Logger) Line(level, format string, args ...any) []store.ChunkLog {
	if l == nil || l.w == nil || l.w.Store == nil {
		return nil
	}
	return []store.ChunkLog{{MaxLines: l.w.Config.MaxLines,
		Line: store.LogLine{Level: level, Stage: l.stage, Attempt: l.attempt, Message: fmt.Sprintf(format, args...)}}}
}

// Write writes lines (of Line) in one transaction, in order.
func (l *Logger) Write(lines ...[]store.ChunkLog) {
	var all []store.LogLine
	for _, ls := range lines {
		for _, c := range ls {
			all = append(all, c.Line)
		}
	}
	if len(all) > 0 {
		l.write(all...)
	}
}

func (l *Logger) log(level, format string, args ...any) {
	if l == nil || l.w == nil || l.w.Store == nil {
		return
	}
	l.write(store.LogLine{Level: level, Stage: l.stage, Attempt: l.attempt, Message: fmt.Sprintf(format, args...)})
}

func (l *Logger) write(lines ...store.LogLine) {
	if l == nil || l.w == nil || l.w.Store == nil {
		return
	}
	if err := l.w.Append(l.ctx, l.run, lines...); err != nil && l.ctx.Err() == nil {
		activity.GetLogger(l.ctx).Warn("could not write the run log", "error", err, "line", lines[0].Message)
	}
}

type loggerKey struct{}

// WithLogger returns ctx carrying l, the Logger of the activity attempt
// ctx runs (the worker's interceptor sets it for every activity).
func WithLogger(ctx context.Context, l *Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, l)
}

// FromContext returns the Logger of the activity attempt ctx runs, or nil
// (a nil *Logger writes nothing, so it can be used as it is).
func FromContext(ctx context.Context) *Logger {
	l, _ := ctx.Value(loggerKey{}).(*Logger)
	return l
}
