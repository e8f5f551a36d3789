package flows_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/blueprint-etl/blueprint/deployments"
	"github.com/blueprint-etl/blueprint/flows"
	"github.com/blueprint-etl/blueprint/flows/flowstest"
	"github.com/blueprint-etl/blueprint/internal/datapipeline"
	"github.com/blueprint-etl/blueprint/internal/devserver"
	"github.com/blueprint-etl/blueprint/internal/flowrun"
	"github.com/blueprint-etl/blueprint/internal/notify"
	"github.com/blueprint-etl/blueprint/internal/report"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/store"
	"github.com/blueprint-etl/blueprint/internal/worker"
	"github.com/blueprint-etl/blueprint/starter"
)

// hookServer is a local webhook receiver: /ok takes every notification,
// /flaky fails twice with 503 and then takes them, /down always fails.
type hookServer struct {
	*httptest.Server
	mu    sync.Mutex
	calls map[string]int
	got   map[string][]notify.Payload
}

func newHookServer(t *testing.T) *hookServer {
	h := &hookServer{calls: map[string]int{}, got: map[string][]notify.Payload{}}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.calls[r.URL.Path]++
		if r.URL.Path == "/down" || (r.URL.Path == "/flaky" && h.calls[r.URL.Path] <= 2) {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		var p notify.Payload
		if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		h.got[r.URL.Path] = append(h.got[r.URL.Path], p)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookServer) snapshot() (map[string]int, map[string][]notify.Payload) {
	h.mu.Lock()
	defer h.mu.Unlock()
	calls := map[string]int{}
	for k, v := range h.calls {
		calls[k] = v
	}
	got := map[string][]notify.Payload{}
	for k, v := range h.got {
		got[k] = append([]notify.Payload(nil), v...)
	}
	return calls, got
}

// notifyWorker starts a worker whose webhook variables point at h.
func notifyWorker(t *testing.T, c client.Client, queue string, h *hookServer) *store.Store {
	t.Helper()
	env := map[string]string{"OK_HOOK": h.URL + "/ok", "FLAKY_HOOK": h.URL + "/flaky", "DOWN_HOOK": h.URL + "/down"}
	st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "warehouse.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	flowstest.StartWith(t, c, st, worker.Config{TaskQueue: queue, Env: func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}}, flows.Registry)
	return st
}

// TestNotifications runs the pipeline on a dev server with webhooks in its
// memo, as `blueprint run` and the schedules start it: one webhook takes
// the notification, one fails twice and then takes it, one always fails.
// The run completes all the same, each webhook that asked for "completed"
// gets the outcome, and no URL reaches the run log.
func TestNotifications(t *testing.T) {
	srv := devserver.ForTest(t)
	c := srv.Client()
	h := newHookServer(t)
	queue := "notify-" + t.Name()
	st := notifyWorker(t, c, queue, h)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	hooks := []runinfo.Webhook{
		{URLEnv: "OK_HOOK", Events: []string{runinfo.EventCompleted, runinfo.EventFailed}},
		{URLEnv: "FLAKY_HOOK", Events: []string{runinfo.EventCompleted}},
		{URLEnv: "DOWN_HOOK", Events: []string{runinfo.EventCompleted}},
		{URLEnv: "FAILED_ONLY", Events: []string{runinfo.EventFailed}},
	}
	id := fmt.Sprintf("notified-%d", time.Now().UnixNano())
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue, Memo: map[string]any{runinfo.MemoNotify: hooks}},
		datapipeline.WorkflowType, datapipeline.Params{BatchSize: 100, SourceURL: "demo://orders"})
	require.NoError(t, err)
	var sum datapipeline.Summary
	require.NoError(t, run.Get(ctx, &sum), "a failed notification does not fail the run")

	calls, got := h.snapshot()
	assert.Equal(t, map[string]int{"/ok": 1, "/flaky": 3, "/down": flowrun.NotifyAttempts}, calls)
	require.Len(t, got["/ok"], 1)
	p := got["/ok"][0]
	assert.Equal(t, id, p.WorkflowID)
	assert.Equal(t, run.GetRunID(), p.RunID)
	assert.Equal(t, runinfo.RunCompleted, p.Status)
	assert.Equal(t, datapipeline.WorkflowType, p.Workflow)
	assert.Equal(t, sum.OneLine(), p.Summary)
	assert.Contains(t, p.UIURL, "/namespaces/default/workflows/"+id+"/"+run.GetRunID())
	assert.Contains(t, p.Text, id+" completed: "+sum.OneLine())
	assert.Len(t, got["/flaky"], 1)

	lines := logLines(t, st, id, run.GetRunID())
	hasLine(t, lines, "info notify 1 notified $OK_HOOK that the run completed")
	hasLine(t, lines, "warn notify 2 notification to $FLAKY_HOOK (attempt 2) failed: the webhook answered HTTP 503: unavailable")
	hasLine(t, lines, "info notify 3 notified $FLAKY_HOOK that the run completed")
	hasLine(t, lines, fmt.Sprintf("warn notify %d notification to $DOWN_HOOK (attempt %d) failed", flowrun.NotifyAttempts, flowrun.NotifyAttempts))
	for _, l := range lines {
		assert.NotContains(t, l, h.URL, "a webhook URL is never logged")
	}
	for _, e := range history(ctx, t, c, id, run.GetRunID()) {
		b, err := json.Marshal(e)
		require.NoError(t, err)
		assert.NotContains(t, string(b), h.URL, "a webhook URL is never in the history")
	}
}

// TestNotificationOfAFailedRun sends a failed run's error to the webhook
// that asked for failures, and reports an unset variable in the run log
// without retrying it or changing the run's outcome.
func TestNotificationOfAFailedRun(t *testing.T) {
	srv := devserver.ForTest(t)
	c := srv.Client()
	h := newHookServer(t)
	queue := "notify-" + t.Name()
	st := notifyWorker(t, c, queue, h)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	hooks := []runinfo.Webhook{
		{URLEnv: "OK_HOOK", Events: []string{runinfo.EventFailed}},
		{URLEnv: "FLAKY_HOOK", Events: []string{runinfo.EventCompleted}},
		{URLEnv: "UNSET_HOOK", Events: []string{runinfo.EventFailed}},
	}
	id := fmt.Sprintf("notified-failure-%d", time.Now().UnixNano())
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue, Memo: map[string]any{runinfo.MemoNotify: hooks}},
		datapipeline.WorkflowType, datapipeline.Params{BatchSize: 100, SourceURL: "demo://orders?fail=always"})
	require.NoError(t, err)
	err = run.Get(ctx, nil)
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	assert.Equal(t, runinfo.ErrTransient, appErr.Type(), "the run fails with its own error, not a notification's")

	calls, got := h.snapshot()
	assert.Equal(t, map[string]int{"/ok": 1}, calls)
	require.Len(t, got["/ok"], 1)
	p := got["/ok"][0]
	assert.Equal(t, runinfo.RunFailed, p.Status)
	assert.Equal(t, runinfo.StageExtract, p.Stage)
	assert.Equal(t, "synthetic source unavailable (fail=always) (Transient)", p.Error)
	assert.Contains(t, p.Text, "failed in extract: synthetic source unavailable")

	lines := logLines(t, st, id, run.GetRunID())
	hasLine(t, lines, "error notify 1 notification not sent: $UNSET_HOOK is not set on the worker")
	n := 0
	for _, l := range lines {
		if strings.Contains(l, "UNSET_HOOK") {
			n++
		}
	}
	assert.Equal(t, 1, n, "an unset variable is not retried")
}

// TestNotificationsFromTheManifest starts a deployment whose manifest
// declares notify:, as `blueprint run` does: one webhook takes the
// notifications, one always fails. The completed run stays completed and
// the failed one fails with its own error; the run carries the variable
// names in its memo, never a URL.
func TestNotificationsFromTheManifest(t *testing.T) {
	srv := devserver.ForTest(t)
	c := srv.Client()
	h := newHookServer(t)
	queue := "notify-" + t.Name()
	notifyWorker(t, c, queue, h)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	m, err := deployments.Parse(flows.Registry.Flows(), "notify.yaml", []byte(fmt.Sprintf(`deployments:
  - name: notified
    task_queue: %s
    parameters: {batch_size: 50, source_url: "demo://orders"}
    notify:
      - url_env: OK_HOOK
        events: [completed, failed]
      - url_env: DOWN_HOOK
        events: [completed, failed, cancelled]
`, queue)))
	require.NoError(t, err)

	start := func(id string, params ...string) client.WorkflowRun {
		s, err := starter.Start(ctx, c, "default", m, starter.Request{Deployment: "notified", WorkflowID: id, Params: params})
		require.NoError(t, err)
		return c.GetWorkflow(ctx, s.WorkflowID, s.RunID)
	}
	stamp := time.Now().UnixNano()
	ok := start(fmt.Sprintf("notified-ok-%d", stamp))
	bad := start(fmt.Sprintf("notified-bad-%d", stamp), "source_url=demo://orders?fail=always")
	var sum datapipeline.Summary
	require.NoError(t, ok.Get(ctx, &sum), "a webhook that fails does not fail the run")
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, bad.Get(ctx, nil), &appErr)
	assert.Equal(t, runinfo.ErrTransient, appErr.Type(), "the run fails with its own error, not a notification's")

	calls, got := h.snapshot()
	assert.Equal(t, map[string]int{"/ok": 2, "/down": 2 * flowrun.NotifyAttempts}, calls)
	require.Len(t, got["/ok"], 2)
	slices.SortFunc(got["/ok"], func(a, b notify.Payload) int { return strings.Compare(a.Status, b.Status) }) // completed, then failed
	for i, want := range []struct {
		run    client.WorkflowRun
		status string
	}{{ok, runinfo.RunCompleted}, {bad, runinfo.RunFailed}} {
		p := got["/ok"][i]
		assert.Equal(t, "notified", p.Deployment, "the deployment is named")
		assert.Equal(t, want.run.GetID(), p.WorkflowID)
		assert.Equal(t, want.run.GetRunID(), p.RunID)
		assert.Equal(t, want.status, p.Status)
		assert.True(t, strings.HasPrefix(p.Text, "✅ notified run ") || strings.HasPrefix(p.Text, "❌ notified run "), p.Text)
	}
	assert.Equal(t, sum.OneLine(), got["/ok"][0].Summary)
	assert.Equal(t, "synthetic source unavailable (fail=always) (Transient)", got["/ok"][1].Error)

	for _, run := range []client.WorkflowRun{ok, bad} {
		desc, err := c.DescribeWorkflow(ctx, run.GetID(), run.GetRunID())
		require.NoError(t, err)
		var hooks []runinfo.Webhook
		require.NoError(t, desc.GetMemoValue(runinfo.MemoNotify, &hooks))
		assert.Equal(t, m.Deployments[0].Notify, hooks)
		for _, e := range history(ctx, t, c, run.GetID(), run.GetRunID()) {
			b, err := json.Marshal(e)
			require.NoError(t, err)
			assert.NotContains(t, string(b), h.URL, "a webhook URL is never in the history")
		}
	}
}

// logLines returns a run's log as "level stage attempt message" lines.
func logLines(t *testing.T, st *store.Store, workflowID, runID string) []string {
	t.Helper()
	lines, err := st.RunLogs(context.Background(), runinfo.RunRef{WorkflowID: workflowID, RunID: runID}, store.LogQuery{})
	require.NoError(t, err)
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = fmt.Sprintf("%s %s %d %s", l.Level, l.Stage, l.Attempt, l.Message)
	}
	return out
}

// hasLine checks that some line starts with prefix.
func hasLine(t *testing.T, lines []string, prefix string) {
	t.Helper()
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			return
		}
	}
	t.Errorf("no line starts with %q in:\n%s", prefix, strings.Join(lines, "\n"))
}

// TestNotificationOfInvalidParameters: a run of any flow whose
// parameters fail their check (as a schedule's may, after the flow's
// rules changed) is the one failure nothing else shows: it is logged,
// recorded in flow_runs and notified, with the problem named.
func TestNotificationOfInvalidParameters(t *testing.T) {
	srv := devserver.ForTest(t)
	c := srv.Client()
	h := newHookServer(t)
	queue := "notify-" + t.Name()
	st := notifyWorker(t, c, queue, h)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	bad := map[string]struct {
		input map[string]any
		named string
	}{
		datapipeline.WorkflowType:   {map[string]any{"batch_size": 0}, "batch_size=0"},
		report.OrdersReportWorkflow: {map[string]any{"timezone": "Mars/Olympus"}, "Mars/Olympus"},
		report.NightlyETLWorkflow:   {map[string]any{"sources": []string{}}, "sources"},
	}
	hooks := []runinfo.Webhook{{URLEnv: "OK_HOOK", Events: []string{runinfo.EventFailed}}}
	for _, name := range []string{datapipeline.WorkflowType, report.OrdersReportWorkflow, report.NightlyETLWorkflow} {
		t.Run(name, func(t *testing.T) {
			require.NotNil(t, flows.Registry.Flows().Lookup(name), "a shipped flow")
			tc := bad[name]
			id := fmt.Sprintf("invalid-%s-%d", name, time.Now().UnixNano())
			run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue, Memo: map[string]any{runinfo.MemoNotify: hooks}},
				name, tc.input)
			require.NoError(t, err)
			err = run.Get(ctx, nil)
			var app *temporal.ApplicationError
			require.ErrorAs(t, err, &app)
			assert.Equal(t, runinfo.ErrInvalidParameters, app.Type())

			_, got := h.snapshot()
			var mine []notify.Payload
			for _, p := range got["/ok"] {
				if p.WorkflowID == id {
					mine = append(mine, p)
				}
			}
			require.Len(t, mine, 1, "one POST for the failed run")
			assert.Equal(t, runinfo.RunFailed, mine[0].Status)
			assert.Contains(t, mine[0].Error, tc.named)

			fr, ok, err := st.GetFlowRun(ctx, runinfo.RunRef{WorkflowID: id, RunID: run.GetRunID()})
			require.NoError(t, err)
			require.True(t, ok, "the run is in flow_runs")
			assert.Equal(t, name, fr.Flow)
			assert.Equal(t, runinfo.RunFailed, fr.Status)
			hasLine(t, logLines(t, st, id, run.GetRunID()), "error run 0 run failed: invalid parameters")
		})
	}
}
