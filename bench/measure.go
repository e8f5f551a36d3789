package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/blueprint-etl/blueprint/internal/conn"
	"github.com/blueprint-etl/blueprint/internal/datapipeline"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/starter"
)

// Bounds on single runs, so that a hung run fails the harness instead of
// hanging it.
const (
	shortRunTimeout = 2 * time.Minute
	burstTimeout    = 10 * time.Minute
	bulkRunTimeout  = 30 * time.Minute
	idleTimeout     = 5 * time.Minute
)

// runResult is one workflow run, timed from the client's start call to its
// result.
type runResult struct {
	elapsed    time.Duration
	summary    datapipeline.Summary
	workflowID string
	runID      string
}

// runWorkflow starts wfType on queue of c with the deployment's start
// options and waits for its result.
func (b *bench) runWorkflow(ctx context.Context, c client.Client, wfType, queue string, params datapipeline.Params, timeout time.Duration) (runResult, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	opts := starter.Options(b.deployment, starter.NewWorkflowID("bench-"+strings.ToLower(wfType), time.Now()), params.Object())
	opts.TaskQueue = queue
	start := time.Now()
	wr, err := c.ExecuteWorkflow(ctx, opts, wfType, params)
	if err != nil {
		return runResult{}, fmt.Errorf("start %s: %w", wfType, err)
	}
	r := runResult{workflowID: wr.GetID(), runID: wr.GetRunID()}
	if err := wr.Get(ctx, &r.summary); err != nil {
		return r, fmt.Errorf("%s %s: %w", wfType, r.workflowID, err)
	}
	r.elapsed = time.Since(start)
	return r, nil
}

// interleave calls a(i) and b(i) n times, alternating which goes first
// (ABBA...), so that a drift of the machine affects both alike.
func interleave(n int, a, b func(i int) error) error {
	for i := range n {
		first, second := a, b
		if i%2 == 1 {
			first, second = b, a
		}
		if err := first(i); err != nil {
			return err
		}
		if err := second(i); err != nil {
			return err
		}
	}
	return nil
}

type latencyDetail struct {
	BatchSize int `json:"batch_size"`
	Warmup    int `json:"warmup_runs"`
	// Pipeline and Floor are start to close as the server recorded it:
	// from the WorkflowExecutionStarted event to the closing event of each
	// run's history.
	Pipeline stats `json:"pipeline"`
	Floor    stats `json:"floor"`
	// ClientPipeline and ClientFloor are the same runs timed by the
	// harness, from the start call to the result.
	ClientPipeline stats `json:"client_pipeline"`
	ClientFloor    stats `json:"client_floor"`
	// Stage medians of the pipeline runs, as the workflow measured them
	// (activity scheduling and queueing included).
	StageMedianMS map[string]float64 `json:"pipeline_stage_median_ms"`
	// LoadedLastRun says what the last run did to the warehouse.
	LoadedLastRun datapipeline.LoadResult `json:"loaded_last_run"`
	// CPU milliseconds per run of the worker, the dev server and the
	// harness (the client), from /proc at a 10 ms resolution.
	PipelineCPUPerRunMS map[string]float64 `json:"pipeline_cpu_per_run_ms"`
	FloorCPUPerRunMS    map[string]float64 `json:"floor_cpu_per_run_ms"`
}

// latencyTarget is the most the pipeline's latency may be, as a multiple
// of the floor's, at the median and at p90.
const latencyTarget = 1.3

// measureLatency: DataPipeline with the deployment's parameters and
// batch_size LatencyBatch vs the floor, on the same worker, interleaved.
func (b *bench) measureLatency() error {
	cfg := b.cfg
	params := b.paramsWith(cfg.LatencyBatch)
	c := b.tuned.c
	var pipe, floor, clientPipe, clientFloor []time.Duration
	var last datapipeline.Summary
	stages := map[string][]time.Duration{}
	meter := b.meter(b.tuned, b.workerA)
	var pipeCPU, floorCPU cpuTally
	// pipeRun and floorRun return one run; record says whether it counts
	// (false for warm-up runs). The server-side time is read from the
	// history after the run, outside the CPU accounting.
	pipeRun := func(record bool) func(int) error {
		return func(int) error {
			before := meter.sample()
			r, err := b.runWorkflow(b.ctx, c, datapipeline.WorkflowType, runinfo.TaskQueue, params, shortRunTimeout)
			if err != nil || !record {
				return err
			}
			pipeCPU.add(before, meter.sample())
			server, err := startToClose(b.ctx, c, r.workflowID, r.runID)
			if err != nil {
				return err
			}
			pipe, clientPipe = append(pipe, server), append(clientPipe, r.elapsed)
			d := r.summary.Durations
			stages["extract"] = append(stages["extract"], d.Extract)
			stages["transform"] = append(stages["transform"], d.Transform)
			stages["load"] = append(stages["load"], d.Load)
			stages["workflow_total"] = append(stages["workflow_total"], d.Total)
			last = r.summary
			return nil
		}
	}
	floorRun := func(record bool) func(int) error {
		return func(int) error {
			before := meter.sample()
			r, err := b.runWorkflow(b.ctx, c, floorWorkflowType, runinfo.TaskQueue, params, shortRunTimeout)
			if err != nil || !record {
				return err
			}
			floorCPU.add(before, meter.sample())
			server, err := startToClose(b.ctx, c, r.workflowID, r.runID)
			if err != nil {
				return err
			}
			floor, clientFloor = append(floor, server), append(clientFloor, r.elapsed)
			return nil
		}
	}
	b.logf("[latency] %d warm-up + %d measured runs of each (batch_size=%d)", cfg.WarmupRuns, cfg.LatencyRuns, cfg.LatencyBatch)
	if err := interleave(cfg.WarmupRuns, pipeRun(false), floorRun(false)); err != nil {
		return err
	}
	err := b.profiled(b.workerA, "latency", func() error {
		return interleave(cfg.LatencyRuns, pipeRun(true), floorRun(true))
	})
	if err != nil {
		return err
	}
	d := &latencyDetail{BatchSize: cfg.LatencyBatch, Warmup: cfg.WarmupRuns, Pipeline: summarize(pipe), Floor: summarize(floor),
		ClientPipeline: summarize(clientPipe), ClientFloor: summarize(clientFloor),
		StageMedianMS: map[string]float64{}, LoadedLastRun: last.Loaded,
		PipelineCPUPerRunMS: pipeCPU.perRunMS(len(pipe)), FloorCPUPerRunMS: floorCPU.perRunMS(len(floor))}
	for k, v := range stages {
		d.StageMedianMS[k] = median(v)
	}
	b.rep.Latency = d
	b.logf("[latency] start to close: pipeline p50 %.1f ms p90 %.1f ms, floor p50 %.1f ms p90 %.1f ms",
		d.Pipeline.Median, d.Pipeline.P90, d.Floor.Median, d.Floor.P90)
	b.rep.Measurements = append(b.rep.Measurements,
		compared("latency", fmt.Sprintf("latency p50, DataPipeline batch_size=%d", cfg.LatencyBatch), "ms",
			d.Pipeline.Median, d.Floor.Median, "floor", "<=", latencyTarget),
		compared("latency_p90", fmt.Sprintf("latency p90, DataPipeline batch_size=%d", cfg.LatencyBatch), "ms",
			d.Pipeline.P90, d.Floor.P90, "floor", "<=", latencyTarget))
	b.note("latency: start to close as the server recorded it in each run's history (WorkflowExecutionStarted to the closing event); %d runs of each, pipeline and floor interleaved (ABBA) after %d warm-up runs of each; floor = 3 no-op activities with workflows.ActivityOptions() on the same worker process",
		cfg.LatencyRuns, cfg.WarmupRuns)
	b.note("latency: seen by the client (start call to result), p50 pipeline %.1f ms vs floor %.1f ms (%.2fx); stage medians %s",
		d.ClientPipeline.Median, d.ClientFloor.Median, d.ClientPipeline.Median/d.ClientFloor.Median, stageLine(d.StageMedianMS))
	b.note("latency: CPU per run, pipeline vs floor: %s", cpuLine(d.PipelineCPUPerRunMS, d.FloorCPUPerRunMS))
	b.note("latency: every run loads into the same SQLite warehouse, so reruns upsert unchanged rows (the realistic daily case; last run: %d inserted, %d updated, %d unchanged)",
		last.Loaded.Inserted, last.Loaded.Updated, last.Loaded.Unchanged)
	return nil
}

type concurrencyDetail struct {
	Runs      int `json:"runs"`
	BatchSize int `json:"batch_size"`
	// Seconds of each burst, from the first start call to the last result.
	PipelineSeconds    []float64 `json:"pipeline_seconds"`
	FloorSeconds       []float64 `json:"floor_seconds"`
	PipelineRunsPerSec float64   `json:"pipeline_runs_per_sec"`
	FloorRunsPerSec    float64   `json:"floor_runs_per_sec"`
	PipelineFailures   int       `json:"pipeline_failures"`
	FloorFailures      int       `json:"floor_failures"`
	FirstFailure       string    `json:"first_failure,omitempty"`
	// CPU milliseconds per run, as for latency.
	PipelineCPUPerRunMS map[string]float64 `json:"pipeline_cpu_per_run_ms"`
	FloorCPUPerRunMS    map[string]float64 `json:"floor_cpu_per_run_ms"`
}

// concurrencyTarget is the least the pipeline's rate of completed runs,
// many at once, may be as a fraction of the floor's.
const concurrencyTarget = 0.9

// measureConcurrency: Concurrent pipeline runs started at once vs as
// many floor runs, in two rounds (floor, pipeline, pipeline, floor).
func (b *bench) measureConcurrency() error {
	cfg := b.cfg
	params := b.paramsWith(cfg.ConcurrentBatch)
	d := &concurrencyDetail{Runs: cfg.Concurrent, BatchSize: cfg.ConcurrentBatch}
	var pipeTotal, floorTotal float64
	meter := b.meter(b.tuned, b.workerA)
	var pipeCPU, floorCPU cpuTally
	burst := func(wfType string) error {
		before := meter.sample()
		elapsed, failed, firstErr := b.burst(wfType, params)
		if err := b.ctx.Err(); err != nil {
			return err
		}
		after := meter.sample()
		s := elapsed.Seconds()
		if wfType == floorWorkflowType {
			floorCPU.add(before, after)
			d.FloorSeconds = append(d.FloorSeconds, s)
			d.FloorFailures += failed
			floorTotal += s
		} else {
			pipeCPU.add(before, after)
			d.PipelineSeconds = append(d.PipelineSeconds, s)
			d.PipelineFailures += failed
			pipeTotal += s
		}
		if firstErr != nil && d.FirstFailure == "" {
			d.FirstFailure = firstErr.Error()
		}
		b.logf("[concurrency] %d %s runs at once: %.2f s, %d failed", cfg.Concurrent, wfType, s, failed)
		return nil
	}
	err := b.profiled(b.workerA, "concurrency", func() error {
		for _, wf := range []string{floorWorkflowType, datapipeline.WorkflowType, datapipeline.WorkflowType, floorWorkflowType} {
			if err := burst(wf); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	d.PipelineRunsPerSec = float64(2*cfg.Concurrent-d.PipelineFailures) / pipeTotal
	d.FloorRunsPerSec = float64(2*cfg.Concurrent-d.FloorFailures) / floorTotal
	d.PipelineCPUPerRunMS = pipeCPU.perRunMS(2 * cfg.Concurrent)
	d.FloorCPUPerRunMS = floorCPU.perRunMS(2 * cfg.Concurrent)
	b.rep.Concurrency = d
	b.rep.Measurements = append(b.rep.Measurements,
		compared("concurrency", fmt.Sprintf("%d runs at once, batch_size=%d", cfg.Concurrent, cfg.ConcurrentBatch), "runs/s",
			d.PipelineRunsPerSec, d.FloorRunsPerSec, "floor", ">=", concurrencyTarget),
		limited("concurrency_failures", fmt.Sprintf("failed runs of %d started at once", cfg.Concurrent), "runs",
			float64(d.PipelineFailures), "<=", 0))
	b.note("concurrency: completed runs / seconds from the first start call to the last result, over two bursts of each (floor, pipeline, pipeline, floor); all runs load the same %d rows into the shared SQLite warehouse",
		cfg.ConcurrentBatch)
	b.note("concurrency: CPU per run, pipeline vs floor: %s", cpuLine(d.PipelineCPUPerRunMS, d.FloorCPUPerRunMS))
	if d.FirstFailure != "" {
		b.note("concurrency: first failure: %s", d.FirstFailure)
	}
	return nil
}

// burst starts Concurrent runs of wfType at once and waits for all.
func (b *bench) burst(wfType string, params datapipeline.Params) (elapsed time.Duration, failed int, firstErr error) {
	var (
		wg sync.WaitGroup
		mu sync.Mutex
	)
	start := time.Now()
	for range b.cfg.Concurrent {
		wg.Go(func() {
			_, err := b.runWorkflow(b.ctx, b.tuned.c, wfType, runinfo.TaskQueue, params, burstTimeout)
			if err != nil {
				mu.Lock()
				failed++
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return time.Since(start), failed, firstErr
}

type cliDetail struct {
	Blueprint stats    `json:"blueprint_run"`
	Temporal  stats    `json:"temporal_workflow_start"`
	Commands  []string `json:"commands"`
}

// measureCLI: the wall time of `blueprint run production-etl` vs `temporal
// workflow start` of the same workflow, from exec to exit, interleaved.
// The runs they start complete before the next phase.
func (b *bench) measureCLI() error {
	addr := b.tuned.addr()
	// Both CLIs read the same client configuration: an empty file, so that
	// a profile of the user's cannot redirect them.
	confFile := filepath.Join(b.tmp, "temporal.toml")
	if err := os.WriteFile(confFile, nil, 0o600); err != nil {
		return err
	}
	env := cliEnv(confFile)
	input := fmt.Sprintf(`{"batch_size":%d,"source_url":%q}`, b.params.BatchSize, b.params.SourceURL)
	bp := []string{filepath.Join(b.tmp, "blueprint"), "run", deploymentName, "--address", addr}
	tc := []string{b.temporalBin, "workflow", "start", "--address", addr, "--type", datapipeline.WorkflowType,
		"--task-queue", runinfo.TaskQueue, "--input", input}
	var bpTimes, tcTimes []time.Duration
	timed := func(args []string, into *[]time.Duration) func(int) error {
		return func(int) error {
			d, err := timeCommand(b.ctx, env, args)
			if err != nil {
				return err
			}
			if into != nil {
				*into = append(*into, d)
			}
			return nil
		}
	}
	b.logf("[cli] 1 warm-up + %d measured starts of each", b.cfg.CLIRuns)
	if err := interleave(1, timed(bp, nil), timed(tc, nil)); err != nil {
		return err
	}
	if err := interleave(b.cfg.CLIRuns, timed(bp, &bpTimes), timed(tc, &tcTimes)); err != nil {
		return err
	}
	d := &cliDetail{Blueprint: summarize(bpTimes), Temporal: summarize(tcTimes),
		Commands: []string{"blueprint run production-etl --address HOST:PORT",
			"temporal workflow start --address HOST:PORT --type DataPipeline --task-queue local-process-pool --input '" + input + "'"}}
	b.rep.CLI = d
	b.logf("[cli] blueprint p50 %.1f ms, temporal p50 %.1f ms", d.Blueprint.Median, d.Temporal.Median)
	b.rep.Measurements = append(b.rep.Measurements, compared("cli_start", "CLI start: blueprint run "+deploymentName, "ms",
		d.Blueprint.Median, d.Temporal.Median, "temporal CLI", "<=", 1.0))
	b.note("cli: median wall time from exec to exit of %d starts of each, interleaved after 1 warm-up each; bin/blueprint built with go build, both CLIs with an empty client config file",
		b.cfg.CLIRuns)
	b.logf("[cli] waiting for the started runs to complete")
	return waitIdle(b.ctx, b.tuned.c)
}

// cliEnv is this process's environment without TEMPORAL_* settings, with
// the given client config file.
func cliEnv(confFile string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TEMPORAL_") {
			env = append(env, kv)
		}
	}
	return append(env, "TEMPORAL_CONFIG_FILE="+confFile)
}

// timeCommand runs args and returns the wall time from exec to exit.
func timeCommand(ctx context.Context, env, args []string) (time.Duration, error) {
	return timeCommandIn(ctx, "", env, args)
}

// timeCommandIn is timeCommand run in dir ("" for the harness's).
func timeCommandIn(ctx context.Context, dir string, env, args []string) (time.Duration, error) {
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env, cmd.Dir = env, dir
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	elapsed := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w\n%s", filepath.Base(args[0]), strings.Join(args[1:3], " "), err, out.Bytes())
	}
	return elapsed, nil
}

// waitIdle waits until no workflow runs on c's namespace.
func waitIdle(ctx context.Context, c client.Client) error {
	ctx, cancel := context.WithTimeout(ctx, idleTimeout)
	defer cancel()
	for {
		resp, err := c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{
			Namespace: conn.DefaultNamespace, Query: `ExecutionStatus = "Running"`})
		if err != nil {
			return fmt.Errorf("count running workflows: %w", err)
		}
		if resp.GetCount() == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d workflows still running: %w", resp.GetCount(), ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

type tuningDetail struct {
	Tuned   stats `json:"tuned_floor"`
	Untuned stats `json:"untuned_floor"`
}

// measureTuning: the floor on the tuned dev server vs one with default
// settings, interleaved. Each server has its own worker process.
func (b *bench) measureTuning() error {
	untuned, err := b.startServer("untuned", true)
	if err != nil {
		return err
	}
	wu, err := b.startWorker("untuned", untuned, runinfo.TaskQueue, "sqlite:"+filepath.Join(b.tmp, "warehouse-untuned.db"))
	if err != nil {
		return err
	}
	params := b.paramsWith(b.cfg.LatencyBatch)
	var tuned, def []time.Duration
	on := func(s *server, into *[]time.Duration) func(int) error {
		return func(int) error {
			r, err := b.runWorkflow(b.ctx, s.c, floorWorkflowType, runinfo.TaskQueue, params, shortRunTimeout)
			if err != nil {
				return fmt.Errorf("%s server: %w", s.name, err)
			}
			if into != nil {
				*into = append(*into, r.elapsed)
			}
			return nil
		}
	}
	b.logf("[tuning] %d warm-up + %d measured floor runs on each server", b.cfg.WarmupRuns, b.cfg.TuningRuns)
	if err := interleave(b.cfg.WarmupRuns, on(b.tuned, nil), on(untuned, nil)); err != nil {
		return err
	}
	if err := interleave(b.cfg.TuningRuns, on(b.tuned, &tuned), on(untuned, &def)); err != nil {
		return err
	}
	if err := wu.Stop(b.grace()); err != nil {
		return err
	}
	b.stopServer(untuned)
	d := &tuningDetail{Tuned: summarize(tuned), Untuned: summarize(def)}
	b.rep.Tuning = d
	b.logf("[tuning] floor p50 tuned %.1f ms, default settings %.1f ms", d.Tuned.Median, d.Untuned.Median)
	b.rep.Measurements = append(b.rep.Measurements, compared("server_tuning", "floor p50 on the tuned dev server", "ms",
		d.Tuned.Median, d.Untuned.Median, "default dev server", "<=", 1.0))
	b.note("tuning: floor median of %d runs on each of two dev servers (devserver.TunedArgs vs default settings), interleaved; a worker process per server",
		b.cfg.TuningRuns)
	return nil
}

// meter measures the CPU time of the worker w, the dev server s and the
// harness.
func (b *bench) meter(s *server, w *workerProc) cpuMeter {
	m := cpuMeter{"worker": w.Pid(), "harness": os.Getpid()}
	if pid := serverPID(s.addr()); pid > 0 {
		m["server"] = pid
	}
	return m
}

// cpuLine formats CPU per run of the pipeline against the floor.
func cpuLine(pipe, floor map[string]float64) string {
	var parts []string
	for _, name := range []string{"worker", "server", "harness"} {
		if p, ok := pipe[name]; ok {
			parts = append(parts, fmt.Sprintf("%s %.1f vs %.1f ms", name, p, floor[name]))
		}
	}
	return strings.Join(parts, ", ")
}
