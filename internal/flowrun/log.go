package flowrun

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/blueprint-etl/blueprint/internal/runinfo"
)

// Level is a run log line's severity.
type Level int

// The levels of Logger's lines.
const (
	LevelInfo Level = iota
	LevelWarn
	LevelError
)

// Line is a run log line written from workflow code.
type Line struct {
	Run   runinfo.RunRef
	Level Level
	// Stage is the run's current stage (see Details.Stage), "" before the
	// first.
	Stage   string
	Message string
	// Seq numbers the run's lines from workflow code from 1, the same in
	// every replay; Once ("workflow/<Seq>") keys the line within its run,
	// so a replay that writes it again writes nothing.
	Seq  int
	Once string
	// Time is the workflow's time of the line.
	Time time.Time
}

// Sink takes the lines of workflow code. WriteLine must not block: it
// runs inside a workflow task (the worker writes them in the background).
type Sink interface{ WriteLine(Line) }

type sinkKey struct{}

// WithSink gives the workflow code of ctx the worker's run log (its
// interceptor does it). Without one, Logger writes to the worker's own
// log only.
func WithSink(ctx workflow.Context, s Sink) workflow.Context {
	return workflow.WithValue(ctx, sinkKey{}, s)
}

// Logger writes a run's log from its workflow code: `blueprint runs logs`
// shows the lines with the run's current stage. It is replay-safe without
// being lossy: every execution of the code, replays included, hands the
// same lines with the same Once keys to the worker, which writes each
// once; a line a dead worker had not written yet is written by the replay
// on the next one.
type Logger struct {
	sink Sink
	run  runinfo.RunRef
	r    *run
	seq  int
}

func newLogger(ctx workflow.Context) *Logger {
	info := workflow.GetInfo(ctx)
	sink, _ := ctx.Value(sinkKey{}).(Sink)
	return &Logger{sink: sink, run: runinfo.RunRef{WorkflowID: info.WorkflowExecution.ID, RunID: info.WorkflowExecution.RunID}}
}

// Log is the run log of the flow run of ctx (see Begin). Outside a flow's
// run it writes to the worker's own log only.
func Log(ctx workflow.Context) *Logger {
	if r := runOf(ctx); r != nil {
		return r.log
	}
	return &Logger{}
}

// Info writes an informational line.
func (l *Logger) Info(ctx workflow.Context, format string, args ...any) {
	l.write(ctx, LevelInfo, format, args...)
}

// Warn writes a warning.
func (l *Logger) Warn(ctx workflow.Context, format string, args ...any) {
	l.write(ctx, LevelWarn, format, args...)
}

// Error writes an error line.
func (l *Logger) Error(ctx workflow.Context, format string, args ...any) {
	l.write(ctx, LevelError, format, args...)
}

func (l *Logger) write(ctx workflow.Context, level Level, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	wl := workflow.GetLogger(ctx) // replay-safe: silent while replaying
	switch level {
	case LevelWarn:
		wl.Warn(msg)
	case LevelError:
		wl.Error(msg)
	default:
		wl.Info(msg)
	}
	if l.sink == nil {
		return
	}
	l.seq++
	stage := ""
	if l.r != nil && l.r.details != nil {
		stage = l.r.details.stage
	}
	l.sink.WriteLine(Line{Run: l.run, Level: level, Stage: stage, Message: msg,
		Seq: l.seq, Once: fmt.Sprintf("workflow/%d", l.seq), Time: workflow.Now(ctx)})
}
