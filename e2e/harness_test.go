//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"

	"github.com/blueprint-etl/blueprint/internal/conn"
	"github.com/blueprint-etl/blueprint/internal/devserver"
	"github.com/blueprint-etl/blueprint/internal/testutil"
)

const modulePath = "github.com/blueprint-etl/blueprint"

// Binaries built by TestMain, exactly as `make build` builds them.
var (
	workerBin string
	cliBin    string
)

// figures are what the suite survived and checked, printed at the end.
var figures struct {
	kills, workerRestarts, serverRestarts, serverRetries, runs, rowsChecked, badInputs atomic.Int64
}

// hangGuard bounds every wait of the suite. It is not a timing assertion:
// only a run that is stuck for good (a lost workflow) comes near it.
const hangGuard = 5 * time.Minute

func TestMain(m *testing.M) { os.Exit(runMain(m)) }

func runMain(m *testing.M) int {
	if _, err := devserver.Binary(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	dir, err := os.MkdirTemp("", "blueprint-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	workerBin = filepath.Join(dir, "blueprint-worker")
	cliBin = filepath.Join(dir, "blueprint")
	for bin, pkg := range map[string]string{workerBin: modulePath + "/worker", cliBin: modulePath + "/cmd/blueprint"} {
		if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n%s", pkg, err, out)
			return 1
		}
	}
	started := time.Now()
	code := m.Run()
	if left := testutil.Children(); len(left) > 0 {
		// Every test kills what it started; a survivor is a leak.
		fmt.Fprintf(os.Stderr, "FAIL: processes left behind by the tests (now killed): %v\n", left)
		for pid := range left {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		code = 1
	}
	fmt.Printf("e2e figures: %d worker kills survived, %d worker restarts, %d server restarts (%d starts retried), %d runs checked, %d rows checked, %d bad inputs tried (%s)\n",
		figures.kills.Load(), figures.workerRestarts.Load(), figures.serverRestarts.Load(), figures.serverRetries.Load(), figures.runs.Load(),
		figures.rowsChecked.Load(), figures.badInputs.Load(), time.Since(started).Round(time.Second))
	return code
}

// childEnv is the environment of every process the tests start: the
// test's own without any TEMPORAL_* or BLUEPRINT_* variable, and with a
// config directory of its own, so that neither the developer's variables
// nor their temporal.toml can change what a test connects to. extra
// comes last and wins.
func childEnv(t *testing.T, extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "TEMPORAL_") || strings.HasPrefix(k, "BLUEPRINT_") || k == "XDG_CONFIG_HOME" {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "XDG_CONFIG_HOME="+t.TempDir(), "BLUEPRINT_METRICS_ADDR=off")
	return append(env, extra...)
}

// tail is the end of s, for failure messages.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "...\n" + s[len(s)-n:]
}

// keepLog saves the whole output of a failed test's process where the
// test's temporary directory does not remove it.
func keepLog(t *testing.T, name, text string) {
	f, err := os.CreateTemp("", "blueprint-e2e-"+strings.ReplaceAll(t.Name(), "/", "_")+"-"+name+"-*.log")
	if err != nil {
		t.Logf("keep %s log: %v", name, err)
		return
	}
	defer f.Close()
	if _, err := f.WriteString(text); err == nil {
		t.Logf("%s output saved in %s", name, f.Name())
	}
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	t.Cleanup(cancel)
	return ctx
}

// server is a Temporal dev server process that a test can stop and start
// again on the same port and database file.
type server struct {
	t    *testing.T
	opts devserver.Options
	log  *testutil.SyncBuffer
	dev  *devserver.Server
	addr string
}

// startServer starts a dev server; persistent keeps its state in a file,
// so that restart keeps every workflow.
func startServer(t *testing.T, persistent bool) *server {
	t.Helper()
	s := &server{t: t, log: &testutil.SyncBuffer{}}
	s.opts = devserver.Options{Port: testutil.FreePort(t), Log: s.log}
	if persistent {
		s.opts.DBFile = filepath.Join(t.TempDir(), "temporal.db")
	}
	s.addr = fmt.Sprintf("127.0.0.1:%d", s.opts.Port)
	// A fresh server that does not come up (its port taken meanwhile by
	// another process, or a machine busy with another test's kills) gets
	// one more try on another port; a restart keeps its port.
	dev, err := devserver.Start(context.Background(), s.opts)
	if err != nil && !persistent {
		t.Logf("the dev server did not start on %s (%v); its output:\n%s\ntrying another port", s.addr, err, tail(s.log.String(), 2000))
		s.opts.Port = testutil.FreePort(t)
		s.addr = fmt.Sprintf("127.0.0.1:%d", s.opts.Port)
		dev, err = devserver.Start(context.Background(), s.opts)
	}
	require.NoError(t, err)
	s.dev = dev
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("dev server output:\n%s", tail(s.log.String(), 4000))
		}
	})
	return s
}

func (s *server) stop() {
	if s.dev == nil {
		return
	}
	s.dev.Client().Close()
	if err := s.dev.Stop(); err != nil {
		s.t.Logf("stop dev server: %v", err)
	}
	s.dev = nil
}

// restartTries is how many times restart starts the server before it
// gives up.
const restartTries = 3

// restart stops the server and starts it again on the same port and file.
// The dev server itself has once failed to come back on a busy CI machine
// (the old process printed a stack trace as it stopped, and the new one
// never answered). That is the Temporal CLI failing, not blueprint, and
// what these tests check is that the worker and the runs outlive the
// server: so a start that fails is logged with the server's output and
// tried again, and figures count the retries.
func (s *server) restart() {
	s.t.Helper()
	s.stop()
	var err error
	for try := 1; try <= restartTries; try++ {
		var dev *devserver.Server
		if dev, err = devserver.Start(context.Background(), s.opts); err == nil {
			s.dev = dev
			figures.serverRestarts.Add(1)
			return
		}
		figures.serverRetries.Add(1)
		s.t.Logf("restart of the dev server on %s, try %d of %d: %v", s.addr, try, restartTries, err)
	}
	require.NoError(s.t, err)
}

// client returns a new client of the server that the test closes at its
// end. It outlives server restarts: gRPC reconnects.
func (s *server) client() client.Client {
	s.t.Helper()
	c, err := client.Dial(client.Options{HostPort: s.addr, Namespace: conn.DefaultNamespace, Logger: conn.QuietLogger()})
	require.NoError(s.t, err)
	s.t.Cleanup(c.Close)
	return c
}

// workerProc is the blueprint worker binary, run as a process that a test
// kills, stops and restarts.
type workerProc struct {
	t    *testing.T
	name string
	env  []string
	logs *testutil.SyncBuffer

	cmd    *exec.Cmd
	done   chan struct{} // closed when the current process has exited
	err    error         // its Wait error, once done is closed
	starts int
}

// startWorker starts the worker binary connected to addr with the given
// extra environment, waits until it polls, and kills it when the test ends.
func startWorker(t *testing.T, name, addr string, env ...string) *workerProc {
	t.Helper()
	w := newWorker(t, name, addr, env...)
	w.start()
	return w
}

// newWorker is startWorker without the start.
func newWorker(t *testing.T, name, addr string, env ...string) *workerProc {
	t.Helper()
	w := &workerProc{t: t, name: name, logs: &testutil.SyncBuffer{},
		env: childEnv(t, append([]string{"TEMPORAL_ADDRESS=" + addr, "BLUEPRINT_LOG_FORMAT=text"}, env...)...)}
	t.Cleanup(func() {
		w.kill()
		if t.Failed() {
			t.Logf("worker %s output:\n%s", w.name, tail(w.logs.String(), 8000))
			keepLog(t, "worker-"+w.name, w.logs.String())
		}
	})
	return w
}

// start starts a new process and waits until it logs that it polls.
func (w *workerProc) start() {
	w.t.Helper()
	w.launch()
	w.waitStarted()
}

// launch starts a new process.
func (w *workerProc) launch() {
	w.t.Helper()
	require.False(w.t, w.running(), "worker %s is already running", w.name)
	cmd := exec.Command(workerBin)
	cmd.Env = w.env
	cmd.Stdout, cmd.Stderr = w.logs, w.logs
	setProcAttr(cmd)
	require.NoError(w.t, cmd.Start())
	w.cmd, w.done, w.err = cmd, make(chan struct{}), nil
	w.starts++
	go func(done chan struct{}) {
		w.err = cmd.Wait()
		close(done)
	}(w.done)
}

// waitStarted waits until the process launched last logs that it polls.
func (w *workerProc) waitStarted() {
	w.t.Helper()
	want := w.starts
	// The guard only catches a hang.
	require.Eventually(w.t, func() bool {
		return !w.running() || strings.Count(w.logs.String(), "worker started") >= want
	}, hangGuard, 50*time.Millisecond, "worker %s to start", w.name)
	if !w.running() {
		w.t.Fatalf("worker %s exited at start: %v\n%s", w.name, w.err, tail(w.logs.String(), 4000))
	}
}

func (w *workerProc) running() bool {
	if w.done == nil {
		return false
	}
	select {
	case <-w.done:
		return false
	default:
		return true
	}
}

// kill ends the process with SIGKILL, as a crash or an OOM kill would.
func (w *workerProc) kill() {
	if !w.running() {
		return
	}
	_ = w.cmd.Process.Signal(syscall.SIGKILL)
	<-w.done
}

// restart kills the worker and starts a new one.
func (w *workerProc) restart() {
	w.t.Helper()
	w.kill()
	w.start()
	figures.workerRestarts.Add(1)
}

// send sends sig to the running process.
func (w *workerProc) send(sig syscall.Signal) {
	w.t.Helper()
	require.True(w.t, w.running())
	require.NoError(w.t, w.cmd.Process.Signal(sig))
}

// exitCode waits until the process has exited and returns its exit code.
func (w *workerProc) exitCode() int {
	w.t.Helper()
	select {
	case <-w.done:
	case <-time.After(hangGuard):
		w.t.Fatalf("worker %s did not exit", w.name)
	}
	var ee *exec.ExitError
	if errors.As(w.err, &ee) {
		return ee.ExitCode()
	}
	require.NoError(w.t, w.err)
	return 0
}

func (w *workerProc) pid() int { return w.cmd.Process.Pid }

// cliResult is the outcome of one blueprint command.
type cliResult struct {
	code           int
	stdout, stderr string
}

func (r cliResult) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// blueprint runs the CLI binary with env (see childEnv) and args.
func blueprint(t *testing.T, env []string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, cliBin, args...)
	cmd.Env = env
	cmd.Stdin = strings.NewReader("")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	setProcAttr(cmd)
	err := cmd.Run()
	r := cliResult{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("blueprint %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// events reads the whole history of a run.
func events(t *testing.T, c client.Client, workflowID, runID string) []*historypb.HistoryEvent {
	t.Helper()
	it := c.GetWorkflowHistory(testContext(t), workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var evs []*historypb.HistoryEvent
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		evs = append(evs, ev)
	}
	return evs
}

// activityRun is what history says about one scheduled activity.
type activityRun struct {
	Type      string
	Scheduled time.Time
	// Attempt is the attempt that ended the activity (history records the
	// start of the last attempt only); 0 if it never started.
	Attempt int32
	Started time.Time
	// LastFailure is the failure of the attempt before Attempt.
	LastFailure string
	// Outcome is "completed", "failed", "timed_out", "canceled" or "".
	Outcome string
	Failure string
	// FailureType is the ApplicationError type of the failure, if any.
	FailureType  string
	NonRetryable bool
}

// activityRuns lists the activities of a run's history in scheduling order.
func activityRuns(evs []*historypb.HistoryEvent) []*activityRun {
	var list []*activityRun
	byID := map[int64]*activityRun{}
	for _, ev := range evs {
		switch {
		case ev.GetActivityTaskScheduledEventAttributes() != nil:
			a := &activityRun{Type: ev.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName(), Scheduled: ev.GetEventTime().AsTime()}
			byID[ev.GetEventId()] = a
			list = append(list, a)
		case ev.GetActivityTaskStartedEventAttributes() != nil:
			at := ev.GetActivityTaskStartedEventAttributes()
			a := byID[at.GetScheduledEventId()]
			a.Attempt, a.Started = at.GetAttempt(), ev.GetEventTime().AsTime()
			if f := at.GetLastFailure(); f != nil {
				a.LastFailure = f.GetMessage()
				if cause := f.GetCause(); cause != nil {
					a.LastFailure += ": " + cause.GetMessage()
				}
			}
		case ev.GetActivityTaskCompletedEventAttributes() != nil:
			byID[ev.GetActivityTaskCompletedEventAttributes().GetScheduledEventId()].Outcome = "completed"
		case ev.GetActivityTaskFailedEventAttributes() != nil:
			at := ev.GetActivityTaskFailedEventAttributes()
			a := byID[at.GetScheduledEventId()]
			a.Outcome, a.Failure = "failed", at.GetFailure().GetMessage()
			if info := at.GetFailure().GetApplicationFailureInfo(); info != nil {
				a.FailureType, a.NonRetryable = info.GetType(), info.GetNonRetryable()
			}
		case ev.GetActivityTaskTimedOutEventAttributes() != nil:
			at := ev.GetActivityTaskTimedOutEventAttributes()
			a := byID[at.GetScheduledEventId()]
			a.Outcome, a.Failure = "timed_out", at.GetFailure().GetMessage()
		case ev.GetActivityTaskCanceledEventAttributes() != nil:
			byID[ev.GetActivityTaskCanceledEventAttributes().GetScheduledEventId()].Outcome = "canceled"
		}
	}
	return list
}

// activityOf returns the one activity of type typ in list.
func activityOf(t *testing.T, list []*activityRun, typ string) *activityRun {
	t.Helper()
	var found *activityRun
	for _, a := range list {
		if a.Type == typ {
			require.Nil(t, found, "activity %s was scheduled twice", typ)
			found = a
		}
	}
	require.NotNil(t, found, "no %s activity in history", typ)
	return found
}
