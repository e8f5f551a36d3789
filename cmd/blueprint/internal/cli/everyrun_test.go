package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/workflow"

	"github.com/blueprint-etl/blueprint/cmd/blueprint/internal/cli"
	"github.com/blueprint-etl/blueprint/flows"
	"github.com/blueprint-etl/blueprint/flows/flowstest"
	"github.com/blueprint-etl/blueprint/internal/codec"
	"github.com/blueprint-etl/blueprint/internal/datapipeline"
	"github.com/blueprint-etl/blueprint/internal/devserver"
	"github.com/blueprint-etl/blueprint/internal/flow"
	"github.com/blueprint-etl/blueprint/internal/flowrun"
	"github.com/blueprint-etl/blueprint/internal/gate"
	"github.com/blueprint-etl/blueprint/internal/notify"
	"github.com/blueprint-etl/blueprint/internal/report"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/runlog"
	"github.com/blueprint-etl/blueprint/internal/store"
	"github.com/blueprint-etl/blueprint/internal/testutil"
	"github.com/blueprint-etl/blueprint/internal/worker"
	"github.com/blueprint-etl/blueprint/starter"
)

// greeter is a flow as a user writes one (docs/flows.md), in no shipped
// registry: its workflow sets its current details and logs with flowrun,
// its activity logs with runlog.FromContext, and nothing of it ends the run
// (no EndRun, no Notify): the flow wrapper does, as for every flow.
var greeter = worker.Flow{
	Flow: flow.New("AcceptanceGreeter", greetWorkflow, flow.Options{Description: "Greet someone (tests only)"}),
	Activities: func(worker.Deps) []worker.Activity {
		return []worker.Activity{{Name: greetActivity, Func: greet}}
	},
}

const greetActivity = "Greet"

type greetParams struct {
	Name string `json:"name" validate:"required,max=40" default:"world" help:"who to greet"`
	Fail bool   `json:"fail" default:"false" help:"make every attempt of Greet fail"`
}

type greetResult struct {
	Greeting string `json:"greeting"`
}

func (r greetResult) OneLine() string { return r.Greeting }

func greetWorkflow(ctx workflow.Context, p greetParams) (greetResult, error) {
	flowrun.SetStage(ctx, "greet", "**Name:** "+p.Name)
	flowrun.Log(ctx).Info(ctx, "greeting %s", p.Name)
	// A retry policy of its own: its failure names its own attempts.
	policy := runinfo.RetryPolicy()
	policy.MaximumAttempts = 2
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute, RetryPolicy: policy})
	var res greetResult
	if err := workflow.ExecuteActivity(actx, greetActivity, p).Get(ctx, &res); err != nil {
		return res, err
	}
	flowrun.Log(ctx).Info(ctx, "greeted %s", p.Name)
	return res, nil
}

func greet(ctx context.Context, p greetParams) (greetResult, error) {
	log := runlog.FromContext(ctx)
	if p.Fail {
		log.Warn("%s cannot be greeted: the greeter is hoarse", p.Name)
		return greetResult{}, errors.New("the greeter is hoarse")
	}
	log.Info("saying hello to %s", p.Name)
	return greetResult{Greeting: "hello, " + p.Name}, nil
}

// hooks receives the webhooks' POSTs: /completed and /failed.
type hooks struct {
	mu  sync.Mutex
	got map[string][]notify.Payload
}

func newHooks(t *testing.T) (*hooks, string) {
	h := &hooks{got: map[string][]notify.Payload{}}
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p notify.Payload
		if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		h.got[r.URL.Path] = append(h.got[r.URL.Path], p)
	}))
	t.Cleanup(s.Close)
	return h, s.URL
}

// of returns the notifications of workflowID, by path.
func (h *hooks) of(workflowID string) map[string][]notify.Payload {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string][]notify.Payload{}
	for path, ps := range h.got {
		for _, p := range ps {
			if p.WorkflowID == workflowID {
				out[path] = append(out[path], p)
			}
		}
	}
	return out
}

// everyRunCase is one flow of the acceptance test: a run that completes and
// one that fails, and what each shows.
type everyRunCase struct {
	flow     string
	ok, bad  any
	hold     func(id string) string // the gate the completed run is held at
	details  func(id string) string // its current details meanwhile
	outcome  string                 // the failed run's outcome line starts so
	failure  string                 // its failure message starts so
	logLines []string               // lines of the completed run's log
}

var (
	jan1 = flow.DateOf(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	jan2 = jan1.AddDays(1)
)

func everyRunCases() []everyRunCase {
	return []everyRunCase{{
		flow: datapipeline.WorkflowType,
		ok:   datapipeline.Params{BatchSize: 200, SourceURL: "demo://orders?seed=3"},
		bad:  datapipeline.Params{BatchSize: 100, SourceURL: "demo://orders?fail=always"},
		hold: func(id string) string { return gate.Activity(id, datapipeline.ExtractActivity) },
		details: func(string) string {
			return "**Stage:** extract\n\n**Reading:** up to 200 records from demo://orders?seed=3"
		},
		outcome:  "run failed in extract: synthetic source unavailable",
		failure:  "Extract failed after 3 attempts: synthetic source unavailable",
		logLines: []string{"extract started (attempt 1 of 3)"},
	}, {
		flow: report.OrdersReportWorkflow,
		ok:   report.Params{From: jan1, To: jan2, Timezone: "UTC"},
		bad:  report.Params{From: jan2, To: jan1, Timezone: "UTC"},
		hold: func(id string) string { return gate.Activity(id, report.DailyRevenueActivity) },
		details: func(string) string {
			return "**Stage:** report\n\n**Days:** 2025-01-01..2025-01-02 (UTC)"
		},
		outcome: "run failed: invalid parameters: from=2025-01-02 is after to=2025-01-01",
		failure: "invalid parameters: from=2025-01-02 is after to=2025-01-01",
		logLines: []string{"totalling the orders of 2025-01-01..2025-01-02 (UTC) per day, category and currency into daily_revenue",
			"reportdailyrevenue started (attempt 1 of 3)"},
	}, {
		flow: report.NightlyETLWorkflow,
		ok:   report.NightlyParams{Sources: []string{"demo://orders?seed=4"}, BatchSize: 100, MaxParallel: 1, Timezone: "UTC"},
		bad:  report.NightlyParams{Sources: []string{"demo://orders?fail=always"}, BatchSize: 100, MaxParallel: 1, Timezone: "UTC"},
		// The parent has no activity: its child's Extract is held.
		hold: func(id string) string { return gate.Activity(id+"-source-1", datapipeline.ExtractActivity) },
		details: func(id string) string {
			return "**Stage:** load sources\n\n**Source 1:** demo://orders?seed=4: running (" + id + "-source-1)"
		},
		outcome:  "run failed: 1 of 1 sources failed: demo://orders?fail=always",
		failure:  "1 of 1 sources failed: demo://orders?fail=always",
		logLines: []string{"loading 1 sources, at most 1 at a time"},
	}, {
		flow: greeter.Name,
		ok:   greetParams{Name: "ada"},
		bad:  greetParams{Name: "ada", Fail: true},
		hold: func(id string) string { return gate.Activity(id, greetActivity) },
		details: func(string) string {
			return "**Stage:** greet\n\n**Name:** ada"
		},
		outcome:  "run failed in greet: the greeter is hoarse",
		failure:  "Greet failed after 2 attempts: the greeter is hoarse",
		logLines: []string{"greeting ada", "greet started (attempt 1 of 2)", "saying hello to ada", "greeted ada"},
	}}
}

// TestEveryRunOfEveryFlowEnds is issue 21's acceptance test, on a dev
// server with its Web UI, for every shipped flow and a user's flow, with
// and without BLUEPRINT_ENCRYPTION_KEYS: a completed and a failed run,
// each started with two webhooks in its memo (one for completed, one for
// failed), end with their outcome in the run log, their row in flow_runs
// and the POST of the right webhook; while the completed run's activity
// is held, its current details say what it does; the failed run's failure
// is readable in `runs show` and (unencrypted) in the Web UI.
func TestEveryRunOfEveryFlowEnds(t *testing.T) {
	testutil.RequireChromium(t)
	es, err := devserver.Start(context.Background(), devserver.Options{UI: true})
	require.NoError(t, err)
	t.Cleanup(func() {
		es.Client().Close()
		_ = es.Stop()
	})
	addr := es.FrontendHostPort()
	uiBase := fmt.Sprintf("http://127.0.0.1:%d", es.UIPort())
	h, hookURL := newHooks(t)
	env := map[string]string{"DONE_HOOK": hookURL + "/completed", "FAILED_HOOK": hookURL + "/failed"}
	memo := map[string]any{runinfo.MemoNotify: []runinfo.Webhook{
		{URLEnv: "DONE_HOOK", Events: []string{runinfo.EventCompleted}},
		{URLEnv: "FAILED_HOOK", Events: []string{runinfo.EventFailed}},
	}}
	// worker.Registry does not give back its worker.Flows: the shipped
	// ones are named, and checked to be every flow of flows.Registry.
	reg, err := worker.NewRegistry(flows.DataPipeline, flows.OrdersReport, flows.NightlyETL, greeter)
	require.NoError(t, err)
	var cases []string
	for _, tc := range everyRunCases() {
		cases = append(cases, tc.flow)
	}
	// Every flow of the registry has a case, except those a user added
	// after the shipped ones (docs/flows.md's TestWriteYourOwnFlow runs
	// this package with one): it checks the shipped flows are there, not
	// that nothing else is.
	shipped := flows.Registry.Flows().Names()[:3]
	require.Equal(t, []string{flows.DataPipeline.Name, flows.OrdersReport.Name, flows.NightlyETL.Name}, shipped)
	require.Equal(t, append(shipped, greeter.Name), cases, "a case for every shipped flow, and the user's")
	require.Equal(t, cases, reg.Flows().Names())
	cliFlows := flow.MustRegistry(append(flows.Registry.Flows().Flows(), greeter.Flow)...)

	for _, encrypted := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "encrypted"}[encrypted], func(t *testing.T) {
			c := es.Client()
			if encrypted {
				// The worker, its client and the CLI all read the keys
				// from the environment, as in production.
				t.Setenv(codec.EnvKeys, keyK1)
				c = encryptedClient(t, addr, keyK1)
			}
			st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "warehouse.db"))
			require.NoError(t, err)
			t.Cleanup(func() { _ = st.Close() })
			queue := testutil.UniqueID("tq-every-run")
			gates := gate.Dir(t.TempDir())
			flowstest.StartWith(t, c, st, worker.Config{TaskQueue: queue, Gates: gates, Env: func(k string) (string, bool) {
				v, ok := env[k]
				return v, ok
			}}, reg)

			for _, tc := range everyRunCases() {
				t.Run(tc.flow, func(t *testing.T) {
					ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
					defer cancel()
					startRun := func(id string, params any) client.WorkflowRun {
						run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue, Memo: memo}, tc.flow, params)
						require.NoError(t, err)
						return run
					}

					// The completed run, looked at while its activity is held.
					okID := testutil.UniqueID("every-run-ok")
					point := tc.hold(okID)
					require.NoError(t, gates.Hold(point))
					t.Cleanup(func() { _ = gates.Release(point) })
					okRun := startRun(okID, tc.ok)
					require.NoError(t, gates.Wait(ctx, point))
					v, err := c.QueryWorkflow(ctx, okID, okRun.GetRunID(), flowrun.MetadataQuery)
					require.NoError(t, err)
					var md sdkpb.WorkflowMetadata
					require.NoError(t, v.Get(&md))
					assert.Equal(t, tc.details(okID), md.GetCurrentDetails(), "the current details while the run runs")
					require.NoError(t, gates.Release(point))
					require.NoError(t, okRun.Get(ctx, nil))

					badID := testutil.UniqueID("every-run-failed")
					badRun := startRun(badID, tc.bad)
					require.Error(t, badRun.Get(ctx, nil))

					for _, r := range []struct {
						run    client.WorkflowRun
						status string
					}{{okRun, runinfo.RunCompleted}, {badRun, runinfo.RunFailed}} {
						ref := runinfo.RunRef{WorkflowID: r.run.GetID(), RunID: r.run.GetRunID()}
						lines, err := st.RunLogs(ctx, ref, store.LogQuery{})
						require.NoError(t, err)
						var outcome []string
						for _, l := range lines {
							if l.Stage == "run" {
								outcome = append(outcome, l.Message)
							}
						}
						require.Len(t, outcome, 1, "one outcome line in the run log of %s", r.status)
						if r.status == runinfo.RunCompleted {
							assert.True(t, strings.HasPrefix(outcome[0], "run completed"), outcome[0])
						} else {
							assert.True(t, strings.HasPrefix(outcome[0], tc.outcome), "%q starts with %q", outcome[0], tc.outcome)
						}

						fr, ok, err := st.GetFlowRun(ctx, ref)
						require.NoError(t, err)
						require.True(t, ok, "the %s run is in flow_runs", r.status)
						assert.Equal(t, tc.flow, fr.Flow)
						assert.Equal(t, r.status, fr.Status)

						// The run waited for its notification before it
						// ended: the POST has arrived, to the webhook of
						// its outcome only.
						got := h.of(ref.WorkflowID)
						require.Len(t, got["/"+r.status], 1, "the %s webhook was notified: %v", r.status, got)
						assert.Len(t, got, 1, "no other webhook was notified: %v", got)
						p := got["/"+r.status][0]
						assert.Equal(t, r.status, p.Status)
						assert.Equal(t, ref.RunID, p.RunID)
						assert.Equal(t, tc.flow, p.Workflow)
					}

					// The completed run's log, from the workflow code and
					// the activities (written in the background: a workflow
					// task does not wait for the warehouse).
					okRef := runinfo.RunRef{WorkflowID: okID, RunID: okRun.GetRunID()}
					require.Eventually(t, func() bool {
						lines, err := st.RunLogs(ctx, okRef, store.LogQuery{})
						require.NoError(t, err)
						for _, want := range tc.logLines {
							found := false
							for _, l := range lines {
								found = found || l.Message == want
							}
							if !found {
								return false
							}
						}
						return true
					}, time.Minute, 20*time.Millisecond, "the run log has %q", tc.logLines)

					// The failure, readable where a person looks first.
					show := runCLI(t, cliFlows, addr, "runs", "show", badID)
					require.Equal(t, 0, show.code, "%s", show)
					assert.Regexp(t, `(?m)^Failure: `+regexp.QuoteMeta(tc.failure), show.stdout)
					if !encrypted {
						testutil.WaitHTTP(ctx, t, uiBase)
						page := strings.TrimSuffix(starter.UILink("default", badID, badRun.GetRunID()), "/history")
						page = uiBase + page[strings.Index(page, "/namespaces/"):]
						// The history's last event, as the Web UI renders it.
						want := "Workflow Execution Failed Failure Message " + tc.failure
						txt := testutil.PageText(ctx, t, page+"/history", want)
						assert.True(t, strings.Contains(txt, want), "the Web UI shows %q; its page has: ...%s", want, txt[max(0, len(txt)-3000):])
					}
				})
			}
		})
	}
}

// runCLI runs the CLI in process against the server at addr, knowing the
// flows of reg.
func runCLI(t *testing.T, reg *flow.Registry, addr string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.ExecuteContext(context.Background(), reg, append([]string{"--address", addr, "--namespace", "default"}, args...), strings.NewReader(""), &out, &errb)
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}
