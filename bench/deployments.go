package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"golang.org/x/sync/errgroup"

	"github.com/blueprint-etl/blueprint/internal/conn"
	"github.com/blueprint-etl/blueprint/internal/datapipeline"
	"github.com/blueprint-etl/blueprint/starter"
)

// Targets of the deployments phase (issue 24): the blueprint commands over
// many deployments against the Temporal CLI doing the least the same
// listing needs.
const (
	// manyDeploymentsTarget bounds the no-op deploy, deployment ls,
	// deployment inspect and status, each against `temporal schedule
	// list` of the same schedules.
	manyDeploymentsTarget = 3.0
	// runsListTarget bounds `runs ls --limit 1000` against `temporal
	// workflow list --limit 1000`.
	runsListTarget = 2.0
	// growthTarget bounds time per deployment at the large size over time
	// per deployment at the small one: nothing may grow faster than
	// linearly with the number of deployments.
	growthTarget = 1.5
	// stallMS is the time over which a command's run is reported as
	// stalled.
	stallMS = 4000.0
	// runsStartConcurrency bounds the starts of the listed runs.
	runsStartConcurrency = 32
	// stubQueue is the task queue of the listed runs' stub worker.
	stubQueue = "bench-listed-runs"
)

// deploymentsDetail is what the deployments phase measured, per size.
type deploymentsDetail struct {
	Sizes []deploymentsSize `json:"sizes"`
	// ListedRuns completed runs were there for runs ls; creating them took
	// CreateRunsMS, until the server listed them all.
	ListedRuns   int     `json:"listed_runs"`
	CreateRunsMS float64 `json:"create_runs_ms"`
	RunsLs       stats   `json:"runs_ls"`
	WorkflowList stats   `json:"temporal_workflow_list"`
}

// deploymentsSize is the commands' times over one manifest of Deployments
// scheduled deployments.
type deploymentsSize struct {
	Deployments   int     `json:"deployments"`
	FirstDeployMS float64 `json:"first_deploy_ms"`
	// SettleMS is how long the harness took to describe each new schedule
	// once, after the first deploy and before the timed commands.
	SettleMS float64 `json:"settle_ms"`
	// Commands maps each command to its times and those of `temporal
	// schedule list` interleaved with it.
	Commands map[string]commandTimes `json:"commands"`
}

type commandTimes struct {
	Blueprint    stats `json:"blueprint"`
	ScheduleList stats `json:"temporal_schedule_list"`
}

// The commands timed at each size, in order.
var deploymentCommands = []struct{ key, name string }{
	{"noop_deploy", "no-op deploy"},
	{"deployment_ls", "deployment ls"},
	{"deployment_inspect", "deployment inspect"},
	{"status", "status"},
}

// measureDeployments: deploy, no-op deploy, deployment ls, deployment
// inspect and status over DeploySmall then DeployLarge scheduled
// deployments, each against `temporal schedule list` interleaved with it;
// then runs ls over ListedRuns completed runs against `temporal workflow
// list`.
func (b *bench) measureDeployments() error {
	dir := filepath.Join(b.tmp, "deployments")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	// status asks the Web UI: a local one that answers at once, so that
	// the check costs what a reachable UI costs.
	ui := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer ui.Close()
	confFile := filepath.Join(dir, "temporal.toml")
	if err := os.WriteFile(confFile, nil, 0o600); err != nil {
		return err
	}
	env := deploymentsEnv(confFile, ui.URL, "sqlite:"+filepath.Join(b.tmp, "warehouse.db"))
	d := &deploymentsDetail{}
	b.rep.Deployments = d
	addr := b.tuned.addr()
	bp := filepath.Join(b.tmp, "blueprint")
	list := []string{b.temporalBin, "schedule", "list", "--address", addr}
	for _, n := range []int{b.cfg.DeploySmall, b.cfg.DeployLarge} {
		prefix := fmt.Sprintf("bench-%d", n)
		manifest := filepath.Join(dir, prefix+".yaml")
		if err := os.WriteFile(manifest, []byte(generateManifest(prefix, n)), 0o644); err != nil {
			return err
		}
		bpArgs := func(args ...string) []string {
			return append([]string{bp, "-f", manifest, "--address", addr}, args...)
		}
		size := deploymentsSize{Deployments: n, Commands: map[string]commandTimes{}}
		first, err := timeCommandIn(b.ctx, dir, env, bpArgs("deploy"))
		if err != nil {
			return err
		}
		size.FirstDeployMS = ms(first)
		b.logf("[deployments] first deploy of %d scheduled deployments: %s", n, first.Round(time.Millisecond))
		settled, err := settleSchedules(b.ctx, b.tuned.c, prefix, n)
		if err != nil {
			return err
		}
		size.SettleMS = ms(settled)
		b.logf("[deployments] described the %d new schedules once in %s", n, settled.Round(time.Millisecond))
		args := map[string][]string{
			"noop_deploy":        bpArgs("deploy"),
			"deployment_ls":      bpArgs("deployment", "ls"),
			"deployment_inspect": bpArgs("deployment", "inspect", benchDeployment(prefix, n/2+1)),
			"status":             bpArgs("status"),
		}
		for _, c := range deploymentCommands {
			var bpTimes, listTimes []time.Duration
			// One warm-up of each, then the measured repetitions.
			if err := interleave(1, b.timedIn(dir, env, args[c.key], nil), b.timedIn(dir, env, list, nil)); err != nil {
				return err
			}
			if err := interleave(b.cfg.DeployReps, b.timedIn(dir, env, args[c.key], &bpTimes), b.timedIn(dir, env, list, &listTimes)); err != nil {
				return err
			}
			ct := commandTimes{Blueprint: summarize(bpTimes), ScheduleList: summarize(listTimes)}
			size.Commands[c.key] = ct
			b.logf("[deployments] %d: %s p50 %.1f ms, temporal schedule list p50 %.1f ms", n, c.name, ct.Blueprint.Median, ct.ScheduleList.Median)
		}
		d.Sizes = append(d.Sizes, size)
		// The next size's schedule list must list its own schedules only.
		if err := deleteSchedules(b.ctx, b.tuned.c, prefix, n); err != nil {
			return err
		}
	}
	if err := b.listedRuns(d); err != nil {
		return err
	}
	runsLs := []string{bp, "runs", "ls", "--limit", "1000", "--address", addr}
	wfList := []string{b.temporalBin, "workflow", "list", "--limit", "1000", "--address", addr}
	// runs ls must list the created runs as it lists real ones.
	cmd := exec.CommandContext(b.ctx, runsLs[0], runsLs[1:]...)
	cmd.Env, cmd.Dir = env, dir
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("runs ls: %w", err)
	}
	if listed, want := strings.Count(string(out), "bench-listed-"), min(1000, d.ListedRuns); listed < want {
		return fmt.Errorf("runs ls lists %d of the %d runs created for it", listed, want)
	}
	var rl, wl []time.Duration
	if err := interleave(1, b.timedIn(dir, env, runsLs, nil), b.timedIn(dir, env, wfList, nil)); err != nil {
		return err
	}
	if err := interleave(b.cfg.DeployReps, b.timedIn(dir, env, runsLs, &rl), b.timedIn(dir, env, wfList, &wl)); err != nil {
		return err
	}
	d.RunsLs, d.WorkflowList = summarize(rl), summarize(wl)
	b.logf("[deployments] runs ls --limit 1000 p50 %.1f ms, temporal workflow list p50 %.1f ms", d.RunsLs.Median, d.WorkflowList.Median)
	b.reportDeployments(d)
	return nil
}

// reportDeployments turns the detail into measurements.
func (b *bench) reportDeployments(d *deploymentsDetail) {
	small, large := d.Sizes[0], d.Sizes[len(d.Sizes)-1]
	for _, c := range deploymentCommands {
		ct := large.Commands[c.key]
		b.rep.Measurements = append(b.rep.Measurements, compared("deployments_"+c.key,
			fmt.Sprintf("%s, %d deployments", c.name, large.Deployments), "ms",
			ct.Blueprint.Median, ct.ScheduleList.Median, "temporal schedule list", "<=", manyDeploymentsTarget))
	}
	b.rep.Measurements = append(b.rep.Measurements, compared("deployments_runs_ls",
		fmt.Sprintf("runs ls --limit 1000 of %d runs", d.ListedRuns), "ms",
		d.RunsLs.Median, d.WorkflowList.Median, "temporal workflow list", "<=", runsListTarget))
	for _, c := range deploymentCommands {
		per := func(s deploymentsSize) float64 { return s.Commands[c.key].Blueprint.Median / float64(s.Deployments) }
		b.rep.Measurements = append(b.rep.Measurements, limited("deployments_growth_"+c.key,
			fmt.Sprintf("%s: time per deployment, %d vs %d", c.name, large.Deployments, small.Deployments), "x",
			per(large)/per(small), "<=", growthTarget))
	}
	var stalls []string
	for _, size := range d.Sizes {
		for _, c := range deploymentCommands {
			for _, v := range size.Commands[c.key].Blueprint.All {
				if v >= stallMS {
					stalls = append(stalls, fmt.Sprintf("%s at %d: %.0f ms", c.name, size.Deployments, v))
				}
			}
		}
	}
	if len(stalls) > 0 {
		b.note("deployments: runs over %.0f s (stalls of about 5 s, seen only in commands that describe schedules, on the dev server's side: the command's CPU stays low): %s",
			stallMS/1000, strings.Join(stalls, ", "))
	}
	b.note("deployments: first deploy of %d scheduled deployments %.0f ms, of %d %.0f ms (%.1f ms per schedule created)",
		small.Deployments, small.FirstDeployMS, large.Deployments, large.FirstDeployMS, large.FirstDeployMS/float64(large.Deployments))
	b.note("deployments: medians of %d runs of each command, interleaved with `temporal schedule list` (or `temporal workflow list --limit 1000`) after 1 warm-up each; DataPipeline deployments with paused cron schedules; the %d listed runs are DataPipeline runs of the deployment %s completed by a stub worker on task queue %s (one workflow task each: created in %.1f s), listed by the server as real runs are",
		b.cfg.DeployReps, d.ListedRuns, deploymentName, stubQueue, d.CreateRunsMS/1000)
}

// benchDeployment names deployment i of generateManifest(prefix, ...),
// which is also its schedule's ID.
func benchDeployment(prefix string, i int) string { return fmt.Sprintf("%s-%03d", prefix, i) }

// generateManifest is a manifest of n DataPipeline deployments named
// prefix-001..., each with a paused daily cron schedule of its own minute,
// so that none fires during the measurement.
func generateManifest(prefix string, n int) string {
	var sb strings.Builder
	sb.WriteString("# Generated by the bench's deployments phase.\ndeployments:\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&sb, `  - name: %s
    description: Bench deployment %d of %d.
    tags: [bench]
    workflow: %s
    parameters:
      batch_size: %d
      source_url: demo://orders
    schedule:
      cron: "%d %d * * *"
      timezone: UTC
      paused: true
`, benchDeployment(prefix, i), i, n, datapipeline.WorkflowType, 100+i, i%60, (i/60)%24)
	}
	return sb.String()
}

// deploymentsEnv is cliEnv with the Web UI and warehouse status checks,
// and without a manifest of the user's.
func deploymentsEnv(confFile, uiURL, dsn string) []string {
	var env []string
	for _, kv := range cliEnv(confFile) {
		if !strings.HasPrefix(kv, "BLUEPRINT_") {
			env = append(env, kv)
		}
	}
	return append(env, "BLUEPRINT_UI_URL="+uiURL, "BLUEPRINT_DATABASE_URL="+dsn)
}

// timedIn times args run in dir, appending to into when not nil.
func (b *bench) timedIn(dir string, env, args []string, into *[]time.Duration) func(int) error {
	return func(int) error {
		d, err := timeCommandIn(b.ctx, dir, env, args)
		if err != nil {
			return err
		}
		if into != nil {
			*into = append(*into, d)
		}
		return nil
	}
}

// settleSchedules describes each schedule of generateManifest(prefix, n)
// once, after the first deploy and before the timed commands, so that
// whatever the server does once per new schedule is not counted in the
// first timed description of it.
func settleSchedules(ctx context.Context, c client.Client, prefix string, n int) (time.Duration, error) {
	t := time.Now()
	err := eachSchedule(ctx, c, prefix, n, "describe", func(ctx context.Context, h client.ScheduleHandle) error {
		_, err := h.Describe(ctx)
		return err
	})
	return time.Since(t), err
}

// deleteSchedules deletes the schedules of generateManifest(prefix, n).
func deleteSchedules(ctx context.Context, c client.Client, prefix string, n int) error {
	return eachSchedule(ctx, c, prefix, n, "delete", func(ctx context.Context, h client.ScheduleHandle) error {
		return h.Delete(ctx)
	})
}

// eachSchedule calls do on the handle of each schedule of
// generateManifest(prefix, n), runsStartConcurrency at a time; verb names
// what do does in its error.
func eachSchedule(ctx context.Context, c client.Client, prefix string, n int, verb string, do func(context.Context, client.ScheduleHandle) error) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runsStartConcurrency)
	for i := 1; i <= n; i++ {
		g.Go(func() error {
			id := benchDeployment(prefix, i)
			if err := do(gctx, c.ScheduleClient().GetHandle(gctx, id)); err != nil {
				return fmt.Errorf("%s schedule %s: %w", verb, id, err)
			}
			return nil
		})
	}
	return g.Wait()
}

// listedRuns creates cfg.ListedRuns completed DataPipeline runs for runs
// ls to list: runs of the measured deployment, started as blueprint starts
// them (starter.Options: memo, search attribute, summary), completed by a
// stub of the workflow on a task queue of their own, since running the
// pipeline ten thousand times would take most of an hour and listing does
// not read what a run did. It waits until the server lists them all.
func (b *bench) listedRuns(d *deploymentsDetail) error {
	ctx, cancel := context.WithTimeout(b.ctx, bulkRunTimeout)
	defer cancel()
	n := b.cfg.ListedRuns
	d.ListedRuns = n
	c := b.tuned.c
	if err := starter.EnsureSearchAttributes(ctx, c, conn.DefaultNamespace); err != nil {
		return err
	}
	w := sdkworker.New(c, stubQueue, sdkworker.Options{})
	w.RegisterWorkflowWithOptions(stubPipeline, workflow.RegisterOptions{Name: datapipeline.WorkflowType})
	if err := w.Start(); err != nil {
		return fmt.Errorf("start the stub worker: %w", err)
	}
	defer w.Stop()
	t := time.Now()
	params := b.paramsWith(1)
	var started atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runsStartConcurrency)
	for i := range n {
		g.Go(func() error {
			opts := starter.Options(b.deployment, fmt.Sprintf("bench-listed-%05d", i), params.Object())
			opts.TaskQueue = stubQueue
			if _, err := c.ExecuteWorkflow(gctx, opts, datapipeline.WorkflowType, params); err != nil {
				return fmt.Errorf("start listed run %d: %w", i, err)
			}
			started.Add(1)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	query := fmt.Sprintf(`WorkflowType = '%s' AND TaskQueue = '%s' AND ExecutionStatus = 'Completed'`, datapipeline.WorkflowType, stubQueue)
	for {
		resp, err := c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: conn.DefaultNamespace, Query: query})
		if err != nil {
			return fmt.Errorf("count listed runs: %w", err)
		}
		if resp.GetCount() >= int64(n) {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d of %d listed runs completed: %w", resp.GetCount(), n, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
	elapsed := time.Since(t)
	d.CreateRunsMS = ms(elapsed)
	b.logf("[deployments] %d completed runs to list created in %s", started.Load(), elapsed.Round(100*time.Millisecond))
	return nil
}

// stubPipeline completes at once: a DataPipeline run as listings see it.
func stubPipeline(_ workflow.Context, p datapipeline.Params) (datapipeline.Summary, error) {
	return datapipeline.Summary{BatchSize: p.BatchSize}, nil
}
