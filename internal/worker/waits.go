package worker

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"

	"github.com/blueprint-etl/blueprint/internal/datapipeline"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/runlog"
	"github.com/blueprint-etl/blueprint/internal/store"
)

// CallHeartbeatEvery is how often an activity heartbeats while one of its
// warehouse calls takes long (waiting for a lock, or for the warehouse to
// come back): well within runinfo.HeartbeatWindow, so that a live
// activity is never taken for a dead one while the warehouse is slow or
// down. A call shorter than this sends nothing.
const CallHeartbeatEvery = runinfo.HeartbeatWindow / 4

// signalTimeout bounds one WarehouseWaitSignal.
const signalTimeout = 10 * time.Second

// waits is the worker interceptor that lets every activity, of every
// flow, ride out a warehouse outage visibly: it gives each activity a
// store.Observer (activityWaits) through its context, so that the store's
// wait (see internal/store) heartbeats the activity, shows the wait in
// the heartbeat's details and in the run's current details, and is
// written to the run log once the warehouse is back.
type waits struct {
	interceptor.WorkerInterceptorBase
	// client signals the waits to the activities' workflows (nil: not).
	client client.Client
	// log writes the run log line about a wait (nil: none).
	log *runlog.Writer
}

func (w *waits) InterceptActivity(_ context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &waitsInbound{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}, root: w}
}

type waitsInbound struct {
	interceptor.ActivityInboundInterceptorBase
	root *waits
	out  interceptor.ActivityOutboundInterceptor
}

func (i *waitsInbound) Init(outbound interceptor.ActivityOutboundInterceptor) error {
	i.out = outbound
	return i.Next.Init(&waitsOutbound{ActivityOutboundInterceptorBase: interceptor.ActivityOutboundInterceptorBase{Next: outbound}})
}

func (i *waitsInbound) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	a := newActivityWaits(ctx, i.root, i.out)
	defer a.close()
	ctx = context.WithValue(store.WithObserver(ctx, a), waitsKey{}, a)
	return i.Next.ExecuteActivity(ctx, in)
}

// waitsOutbound passes the activity's own heartbeats through its
// activityWaits, which adds the wait in progress to them.
type waitsOutbound struct {
	interceptor.ActivityOutboundInterceptorBase
}

func (o *waitsOutbound) RecordHeartbeat(ctx context.Context, details ...any) {
	if a, ok := ctx.Value(waitsKey{}).(*activityWaits); ok {
		a.heartbeat(details)
		return
	}
	o.Next.RecordHeartbeat(ctx, details...)
}

type waitsKey struct{}

// activityWaits is the store.Observer of one activity execution.
//
// While a warehouse call has been running for CallHeartbeatEvery it
// heartbeats the activity's last details, so a call blocked on a lock or
// on an unreachable warehouse keeps the attempt alive. While calls wait
// for the warehouse, the details (when they are a datapipeline.Checkpoint,
// or none) carry the wait (Checkpoint.Waiting), the workflow is signalled
// at the wait's start and end (runinfo.WarehouseWaitSignal), and once
// the warehouse is back one run log line says how long the wait took.
// Local activities cannot heartbeat; they signal and log.
type activityWaits struct {
	ctx  context.Context // the activity's, without this observer
	info activity.Info
	root *waits
	out  interceptor.ActivityOutboundInterceptor

	mu    sync.Mutex
	sigMu sync.Mutex        // taken under mu: the signals go in the order of the waits
	calls map[int]time.Time // warehouse calls in progress, by number: their start
	seq   int
	// last is the activity's last heartbeat details; custom is true when
	// they are not a datapipeline.Checkpoint (the wait is then not added: the
	// activity may read them back on a retry).
	last    []any
	custom  bool
	waiters int
	wait    *runinfo.WarehouseWait // the wait in progress, nil when none
	stop    func()
}

func newActivityWaits(ctx context.Context, root *waits, out interceptor.ActivityOutboundInterceptor) *activityWaits {
	a := &activityWaits{ctx: store.WithObserver(ctx, nil), info: activity.GetInfo(ctx), root: root, out: out, calls: map[int]time.Time{}}
	if a.info.IsLocalActivity {
		a.stop = func() {}
		return a
	}
	tctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	a.stop = func() { cancel(); <-done }
	go func() {
		defer close(done)
		t := time.NewTicker(CallHeartbeatEvery)
		defer t.Stop()
		for {
			select {
			case <-tctx.Done():
				return
			case now := <-t.C:
				if a.longCall(now) {
					a.send()
				}
			}
		}
	}()
	return a
}

func (a *activityWaits) close() { a.stop() }

// longCall reports whether a warehouse call has been running for
// CallHeartbeatEvery at now.
func (a *activityWaits) longCall(now time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, start := range a.calls {
		if now.Sub(start) >= CallHeartbeatEvery {
			return true
		}
	}
	return false
}

// Call implements store.Observer.
func (a *activityWaits) Call() func() {
	a.mu.Lock()
	a.seq++
	n := a.seq
	a.calls[n] = time.Now()
	a.mu.Unlock()
	return func() {
		a.mu.Lock()
		delete(a.calls, n)
		a.mu.Unlock()
	}
}

// heartbeat records the activity's own heartbeat and sends it, with the
// wait in progress.
func (a *activityWaits) heartbeat(details []any) {
	a.mu.Lock()
	a.last = details
	a.custom = false
	if len(details) > 0 {
		_, isCheckpoint := details[0].(datapipeline.Checkpoint)
		a.custom = len(details) > 1 || (details[0] != nil && !isCheckpoint)
	}
	a.mu.Unlock()
	a.send()
}

// send heartbeats the last details, with the wait in progress.
func (a *activityWaits) send() {
	if a.info.IsLocalActivity {
		return
	}
	a.mu.Lock()
	details := a.last
	if !a.custom {
		var cp datapipeline.Checkpoint
		if len(details) == 1 {
			cp, _ = details[0].(datapipeline.Checkpoint)
		}
		if a.wait != nil {
			w := *a.wait
			cp.Waiting = &w
		}
		if len(details) == 1 || cp.Waiting != nil {
			details = []any{cp}
		}
	}
	a.mu.Unlock()
	a.out.RecordHeartbeat(a.ctx, details...)
}

// Waiting implements store.Observer.
func (a *activityWaits) Waiting(w store.Wait) {
	a.mu.Lock()
	first := a.wait == nil
	if first {
		a.wait = &runinfo.WarehouseWait{Activity: a.info.ActivityType.Name, Since: w.Since.UTC()}
	}
	if w.Tries == 0 {
		a.waiters++
	}
	a.wait.Cause = w.Cause
	shown := *a.wait
	if !first {
		a.mu.Unlock()
		return
	}
	a.sigMu.Lock()
	a.mu.Unlock()
	a.signal(shown)
	a.sigMu.Unlock()
	a.send()
}

// Waited implements store.Observer.
func (a *activityWaits) Waited(w store.Wait, back bool) {
	a.mu.Lock()
	a.waiters--
	if a.waiters > 0 || a.wait == nil {
		a.mu.Unlock()
		return
	}
	over := *a.wait
	a.wait = nil
	a.sigMu.Lock()
	a.mu.Unlock()
	over.Over = true
	a.signal(over)
	a.sigMu.Unlock()
	a.send()
	if back {
		a.logWait(over, time.Since(over.Since))
	}
}

// signal tells the activity's workflow that the wait started or ended.
// It is best effort: the run's current details are not worth failing or
// holding up the activity for.
func (a *activityWaits) signal(w runinfo.WarehouseWait) {
	if a.root.client == nil {
		return
	}
	ctx, cancel := context.WithTimeout(a.ctx, signalTimeout)
	defer cancel()
	wf := a.info.WorkflowExecution
	if err := a.root.client.SignalWorkflow(ctx, wf.ID, wf.RunID, runinfo.WarehouseWaitSignal, w); err != nil {
		activity.GetLogger(a.ctx).Warn("could not show the warehouse wait in the run's current details", "error", err)
	}
}

// logWait writes the run log line about a wait that is over, now that the
// warehouse is back (the line itself could not be written before).
func (a *activityWaits) logWait(w runinfo.WarehouseWait, took time.Duration) {
	if a.root.log == nil {
		return
	}
	wf := a.info.WorkflowExecution
	line := store.LogLine{Level: store.LogWarn, Stage: strings.ToLower(a.info.ActivityType.Name), Attempt: int(a.info.Attempt),
		Message: WaitedMessage(w.Cause, w.Since, took)}
	if err := a.root.log.Append(a.ctx, runinfo.RunRef{WorkflowID: wf.ID, RunID: wf.RunID}, line); err != nil && a.ctx.Err() == nil {
		activity.GetLogger(a.ctx).Warn("could not write the run log", "error", err, "line", line.Message)
	}
}

// WaitedMessage is the run log line about a wait for the warehouse that
// is over.
func WaitedMessage(cause string, since time.Time, took time.Duration) string {
	return fmt.Sprintf("waited %s for the warehouse (%s) since %s; it is back", took.Round(100*time.Millisecond), cause, since.UTC().Format(time.RFC3339))
}
