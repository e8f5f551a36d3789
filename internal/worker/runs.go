package worker

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/workflow"

	"github.com/blueprint-etl/blueprint/internal/flowrun"
	"github.com/blueprint-etl/blueprint/internal/gate"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/runlog"
	"github.com/blueprint-etl/blueprint/internal/store"
)

// runs is the worker interceptor that gives the code of every flow its
// run, so that no flow has to wire it by hand:
//   - workflow code gets the data converter the run's memo was encoded
//     with (flowrun.WithConverter: webhooks under encryption) and the run
//     log (flowrun.WithSink, written in the background by workflowLines);
//   - every activity attempt gets its run log Logger (runlog.WithLogger),
//     which has written "<activity> started (attempt n of m)" and, on a
//     retry, the previous attempt's error, whatever the activity's name;
//   - in tests that configure gates, every activity (local ones aside: they
//     hold their workflow task) first waits at gate.Activity while a test
//     holds it there.
//
// Activities marked Bookkeeping (they record the run, and write their own
// lines) and local activities get no Logger.
type runs struct {
	interceptor.WorkerInterceptorBase
	dc    converter.DataConverter
	log   *runlog.Writer
	lines *workflowLines
	quiet map[string]bool // Bookkeeping activities, by name
	gates gate.Dir        // "" outside tests
}

func (r *runs) InterceptWorkflow(_ workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	return &runsWorkflow{WorkflowInboundInterceptorBase: interceptor.WorkflowInboundInterceptorBase{Next: next}, root: r}
}

type runsWorkflow struct {
	interceptor.WorkflowInboundInterceptorBase
	root *runs
}

func (i *runsWorkflow) Init(outbound interceptor.WorkflowOutboundInterceptor) error {
	return i.Next.Init(&runsOutbound{WorkflowOutboundInterceptorBase: interceptor.WorkflowOutboundInterceptorBase{Next: outbound}})
}

// runsOutbound tells the run the retry policy of every activity it
// schedules, for its readable failure (flowrun.NoteActivity).
type runsOutbound struct {
	interceptor.WorkflowOutboundInterceptorBase
}

func (o *runsOutbound) ExecuteActivity(ctx workflow.Context, activityType string, args ...any) workflow.Future {
	max := 0
	if p := workflow.GetActivityOptions(ctx).RetryPolicy; p != nil {
		max = int(p.MaximumAttempts)
	}
	flowrun.NoteActivity(ctx, activityType, max)
	return o.Next.ExecuteActivity(ctx, activityType, args...)
}

func (i *runsWorkflow) ExecuteWorkflow(ctx workflow.Context, in *interceptor.ExecuteWorkflowInput) (any, error) {
	ctx = flowrun.WithConverter(ctx, i.root.dc)
	if i.root.lines != nil {
		ctx = flowrun.WithSink(ctx, i.root.lines)
	}
	return i.Next.ExecuteWorkflow(ctx, in)
}

func (r *runs) InterceptActivity(_ context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &runsActivity{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}, root: r}
}

type runsActivity struct {
	interceptor.ActivityInboundInterceptorBase
	root *runs
}

func (i *runsActivity) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	info := activity.GetInfo(ctx)
	if i.root.gates != "" && !info.IsLocalActivity {
		if err := i.root.gates.At(ctx, gate.Activity(info.WorkflowExecution.ID, info.ActivityType.Name)); err != nil {
			return nil, err
		}
	}
	if i.root.log != nil && !info.IsLocalActivity && !i.root.quiet[info.ActivityType.Name] {
		run := runinfo.RunRef{WorkflowID: info.WorkflowExecution.ID, RunID: info.WorkflowExecution.RunID}
		ctx = runlog.WithLogger(ctx, i.root.log.Attempt(ctx, run, strings.ToLower(info.ActivityType.Name)))
	}
	return i.Next.ExecuteActivity(ctx, in)
}

// Bounds of the workflow lines waiting to be written: a flow that logs
// faster than the warehouse takes them loses lines past maxPendingLines
// (and says so in the worker's log), rather than holding its workflow
// task; one write waits for an unreachable warehouse for at most
// lineWriteWait, and its lines are written by the run's next replay.
const (
	maxPendingLines = 10_000
	lineWriteWait   = 10 * time.Second
)

// workflowLines writes the run log lines of workflow code in the
// background: a workflow task must not wait for the warehouse. A
// goroutine runs only while lines are pending, so a worker that stopped
// leaves none behind once they are written.
type workflowLines struct {
	w      *runlog.Writer
	logger log.Logger

	mu       sync.Mutex
	pending  []flowrun.Line
	flushing bool
	dropped  int
}

// WriteLine implements flowrun.Sink.
func (q *workflowLines) WriteLine(l flowrun.Line) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.pending) >= maxPendingLines {
		q.dropped++
		return
	}
	q.pending = append(q.pending, l)
	if !q.flushing {
		q.flushing = true
		go q.flush()
	}
}

func (q *workflowLines) flush() {
	for {
		q.mu.Lock()
		batch, dropped := q.pending, q.dropped
		q.pending, q.dropped = nil, 0
		if len(batch) == 0 {
			q.flushing = false
			q.mu.Unlock()
			return
		}
		q.mu.Unlock()
		if dropped > 0 && q.logger != nil {
			q.logger.Warn("run log lines of workflow code were dropped: the warehouse does not keep up", "lines", dropped)
		}
		q.write(batch)
	}
}

// write appends the batch's lines, run by run, in order.
func (q *workflowLines) write(batch []flowrun.Line) {
	max := q.w.Config.MaxLines
	if max <= 0 {
		max = store.DefaultRunLogMaxLines
	}
	for len(batch) > 0 {
		run := batch[0].Run
		var lines []store.LogLine
		rest := batch[:0:0]
		for _, l := range batch {
			if l.Run != run {
				rest = append(rest, l)
				continue
			}
			n := l.Seq
			switch {
			case n > max+1:
				continue
			case n == max+1:
				lines = append(lines, store.LogLine{Level: store.LogWarn, Stage: l.Stage, Once: "workflow/limit", Time: l.Time,
					Message: "log limit of " + strconv.Itoa(max) + " lines from the flow's workflow code reached; later ones are dropped (BLUEPRINT_RUN_LOG_MAX_LINES)"})
				continue
			}
			lines = append(lines, store.LogLine{Level: levelOf(l.Level), Stage: l.Stage, Message: l.Message, Once: l.Once, Time: l.Time})
		}
		ctx, cancel := context.WithTimeout(store.WithWait(context.Background(), lineWriteWait), lineWriteWait+5*time.Second)
		err := q.w.Append(ctx, run, lines...)
		cancel()
		if err != nil && q.logger != nil {
			q.logger.Warn("could not write the run log lines of workflow code; the run's next replay writes them", "run", run.Key(), "error", err)
		}
		batch = rest
	}
}

func levelOf(l flowrun.Level) string {
	switch l {
	case flowrun.LevelWarn:
		return store.LogWarn
	case flowrun.LevelError:
		return store.LogError
	default:
		return store.LogInfo
	}
}
