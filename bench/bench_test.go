package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	historypb "go.temporal.io/api/history/v1"
	sdkpb "go.temporal.io/api/sdk/v1"

	"github.com/blueprint-etl/blueprint/flows"
	"github.com/blueprint-etl/blueprint/internal/store"
	"github.com/blueprint-etl/blueprint/internal/testutil"
)

// TestMain lets the test binary serve as the harness's worker process, as
// the bench binary does.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == workerFlag {
		os.Exit(workerMain(flows.Registry, os.Args[2:]))
	}
	os.Exit(testutil.RequireTemporal(m))
}

// TestQuickRun runs the whole harness at tiny sizes and checks that every
// figure was measured and is sane, not that any target is met: timings on
// a shared machine are not something a test can assert.
func TestQuickRun(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	out := filepath.Join(t.TempDir(), "results", "quick.json")
	var stdout, stderr bytes.Buffer
	code := benchMain(context.Background(), flows.Registry.Flows(), []string{"-quick", "-out", out}, &stdout, &stderr)
	require.Equal(t, 0, code, "stderr:\n%s", stderr.String())

	assertNoLeftovers(t, tmp)

	b, err := os.ReadFile(out)
	require.NoError(t, err)
	var rep Report
	require.NoError(t, json.Unmarshal(b, &rep))

	keys := []string{"latency", "latency_p90", "concurrency", "cli_start", "server_tuning", "deployments_runs_ls"}
	for _, c := range deploymentCommands {
		keys = append(keys, "deployments_"+c.key, "deployments_growth_"+c.key)
	}
	drivers := []string{store.DriverSQLite}
	if os.Getenv(postgresEnv) != "" {
		drivers = append(drivers, store.DriverPostgres)
	}
	for _, d := range drivers {
		keys = append(keys, "throughput_"+d, "throughput_program_"+d, "scaling_"+d, "worker_rss_"+d, "history_payload_"+d, "history_events_"+d,
			"throughput_products_"+d, "worker_rss_products_"+d, "history_events_products_"+d)
	}
	byKey := map[string]Measurement{}
	for _, m := range rep.Measurements {
		byKey[m.Key] = m
	}
	for _, k := range keys {
		m, ok := byKey[k]
		if !assert.True(t, ok, "measurement %s missing", k) {
			continue
		}
		assert.Positive(t, m.Value, k)
		assert.NotEmpty(t, m.Unit, k)
		assert.Contains(t, stdout.String(), m.Name, "table row of %s", k)
		if m.BaselineName != "" {
			assert.Positive(t, m.Baseline, k)
			assert.InDelta(t, m.Value/m.Baseline, m.Ratio, 1e-9, k)
		}
	}
	failures, ok := byKey["concurrency_failures"]
	require.True(t, ok)
	assert.Zero(t, failures.Value, "failed runs: %s", rep.Concurrency.FirstFailure)
	assert.Len(t, rep.Measurements, len(keys)+1, "unexpected measurements")

	cfg := quickConfig()
	require.NotNil(t, rep.Latency)
	assert.Equal(t, cfg.LatencyRuns, rep.Latency.Pipeline.N)
	assert.Equal(t, cfg.LatencyRuns, rep.Latency.Floor.N)
	require.NotNil(t, rep.CLI)
	assert.Equal(t, cfg.CLIRuns, rep.CLI.Blueprint.N)
	assert.Equal(t, cfg.CLIRuns, rep.CLI.Temporal.N)
	require.NotNil(t, rep.Concurrency)
	assert.Zero(t, rep.Concurrency.FloorFailures)
	require.NotNil(t, rep.Deployments)
	require.Len(t, rep.Deployments.Sizes, 2)
	assert.Equal(t, cfg.DeploySmall, rep.Deployments.Sizes[0].Deployments)
	assert.Equal(t, cfg.DeployLarge, rep.Deployments.Sizes[1].Deployments)
	for _, size := range rep.Deployments.Sizes {
		assert.Positive(t, size.FirstDeployMS)
		for _, c := range deploymentCommands {
			assert.Equal(t, cfg.DeployReps, size.Commands[c.key].Blueprint.N, c.key)
			assert.Equal(t, cfg.DeployReps, size.Commands[c.key].ScheduleList.N, c.key)
		}
	}
	assert.Equal(t, cfg.ListedRuns, rep.Deployments.ListedRuns)
	assert.Equal(t, cfg.DeployReps, rep.Deployments.RunsLs.N)
	require.NotNil(t, rep.Tuning)
	assert.Equal(t, cfg.TuningRuns, rep.Tuning.Untuned.N)
	require.Len(t, rep.Throughput, len(drivers))
	for _, d := range rep.Throughput {
		require.NotNil(t, d.Run, d.Database)
		require.NotNil(t, d.Big, d.Database)
		assert.Equal(t, cfg.Rows, d.Run.BatchSize)
		assert.Equal(t, cfg.BigRows, d.Big.BatchSize)
		for _, r := range []*pipelineRun{d.Run, d.Big} {
			assert.Equal(t, int64(r.BatchSize), r.Extracted, d.Database)
			assert.Equal(t, r.Rows, r.Loaded.Inserted, "every row is new (%s, %d rows)", d.Database, r.BatchSize)
			assert.Equal(t, r.Extracted, r.Rows+r.Rejected, d.Database)
			assert.Positive(t, r.History.MaxPayloadBytes, d.Database)
			assert.LessOrEqual(t, r.History.MaxPayloadBytes, r.History.MaxEventPayloadBytes, d.Database)
		}
		// The pipeline and the baseline write the same rows: the demo
		// source is deterministic and both drop the same records.
		assert.Equal(t, d.BaselineRows, d.Run.Rows, d.Database)
		assert.NotEqual(t, d.Run.SourceURL, d.Big.SourceURL, "the big run reads other records")
		assert.InDelta(t, d.Big.RowsPerSec/d.Run.RowsPerSec, d.ScalingRatio, 1e-9)
		assert.Greater(t, d.BaselineRowsPerSec, d.ProgramRowsPerSec, "the program line includes the preparation")
		// Where Load writes chunks side by side, the store alone is timed
		// writing them so too.
		assert.Equal(t, store.ParallelWritesOn(d.Database), d.ParallelWrites, d.Database)
		if d.ParallelWrites > 1 {
			assert.Positive(t, d.ParallelBaselineRowsPerSec, d.Database)
		} else {
			assert.Zero(t, d.ParallelBaselineRowsPerSec, d.Database)
		}

		// The products run loads the ten-field dataset from demo://products:
		// some rejected, the rest new, the same rows as its baseline.
		p := d.Products
		require.NotNil(t, p, d.Database)
		require.NotNil(t, p.Run, d.Database)
		assert.Equal(t, "products", p.Dataset)
		assert.Equal(t, 10, p.Fields)
		assert.Contains(t, p.Run.SourceURL, "demo://products")
		assert.Equal(t, int64(cfg.Rows), p.Run.Extracted, d.Database)
		assert.Positive(t, p.Run.Rejected, d.Database)
		assert.Equal(t, p.Run.Extracted, p.Run.Rows+p.Run.Rejected, d.Database)
		assert.Equal(t, p.Run.Rows, p.Run.Loaded.Inserted, "every products row is new (%s)", d.Database)
		assert.Equal(t, p.BaselineRows, p.Run.Rows, "the same rows as the baseline (%s)", d.Database)
		assert.Positive(t, p.WorkerPeakRSSBytes, d.Database)
	}

	// A CPU and an allocation profile of each profiled measure, next to the
	// results.
	var names []string
	for _, p := range rep.Profiles {
		assert.FileExists(t, p)
		assert.Equal(t, filepath.Join(filepath.Dir(out), "profiles"), filepath.Dir(p))
		names = append(names, filepath.Base(p))
	}
	for _, measure := range []string{"latency", "concurrency", "throughput-sqlite-10k", "throughput-sqlite-20k", "throughput-sqlite-baseline",
		"throughput-sqlite-products-10k", "throughput-sqlite-products-baseline"} {
		assert.Contains(t, names, measure+".cpu.pprof")
		assert.Contains(t, names, measure+".allocs.pprof")
	}

	// A second run compares itself with the first.
	assert.Contains(t, stdout.String(), "no previous results")
	stdout.Reset()
	code = benchMain(context.Background(), flows.Registry.Flows(), []string{"-quick", "-out", out, "-phases", "latency"}, &stdout, &stderr)
	require.Equal(t, 0, code, "stderr:\n%s", stderr.String())
	assert.Contains(t, stdout.String(), "changes since the previous results")
	assert.Regexp(t, `latency p50, DataPipeline batch_size=1000\|.*%\|`, stdout.String())
	assert.Contains(t, stdout.String(), "only in the previous results: ")

	assert.NotEmpty(t, rep.Machine.CPU)
	assert.Positive(t, rep.Machine.Cores)
	assert.Positive(t, rep.Machine.MemoryBytes)
	assert.NotEmpty(t, rep.Machine.GoVersion)
	assert.NotEmpty(t, rep.Machine.OS)
	assert.WithinDuration(t, time.Now(), rep.Timestamp, time.Hour)
	assert.True(t, rep.Config.Quick)
}

// TestInterrupt cancels the harness while runs are in flight: it must
// fail, and leave no process and no file behind.
func TestInterrupt(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := &cancelOn{marker: "[latency]", cancel: cancel}
	var stdout bytes.Buffer
	out := filepath.Join(t.TempDir(), "never.json")
	code := benchMain(ctx, flows.Registry.Flows(), []string{"-quick", "-out", out}, &stdout, stderr)
	assert.Equal(t, 1, code, "stderr:\n%s", stderr.String())
	assert.Contains(t, stderr.String(), errInterrupted.Error())
	assert.NoFileExists(t, out)
	assertNoLeftovers(t, tmp)
}

func TestUsage(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-nope"}, "usage:"},
		{[]string{"extra"}, "usage:"},
		{[]string{"-phases", "latency,nope"}, `unknown phase "nope"`},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		assert.Equal(t, 2, benchMain(context.Background(), flows.Registry.Flows(), tt.args, &stdout, &stderr), tt.args)
		assert.Contains(t, stderr.String(), tt.want, tt.args)
	}
}

// assertNoLeftovers checks that no child process is left and that the
// temporary directory the harness used is empty.
func assertNoLeftovers(t *testing.T, tmp string) {
	t.Helper()
	assert.Empty(t, childProcesses(), "child processes left running")
	entries, err := os.ReadDir(tmp)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.Empty(t, names, "files left in the temporary directory")
}

// cancelOn is a log writer that cancels once the log shows marker.
type cancelOn struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	marker string
	cancel func()
}

func (w *cancelOn) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.marker) {
		w.cancel()
	}
	return len(p), nil
}

func (w *cancelOn) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func TestSummarize(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name             string
		in               []time.Duration
		median, min, max float64
	}{
		{"one", []time.Duration{5 * ms}, 5, 5, 5},
		{"odd", []time.Duration{9 * ms, 1 * ms, 5 * ms}, 5, 1, 9},
		{"even: mean of the middle two", []time.Duration{4 * ms, 1 * ms, 2 * ms, 10 * ms}, 3, 1, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := summarize(tt.in)
			assert.Equal(t, len(tt.in), s.N)
			assert.InDelta(t, tt.median, s.Median, 1e-9)
			assert.InDelta(t, tt.min, s.Min, 1e-9)
			assert.InDelta(t, tt.max, s.Max, 1e-9)
		})
	}
	assert.Zero(t, summarize(nil).N)
}

func TestInterleave(t *testing.T) {
	var order []string
	err := interleave(3,
		func(i int) error { order = append(order, "a"); return nil },
		func(i int) error { order = append(order, "b"); return nil })
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b", "b", "a", "a", "b"}, order)
}

func TestMeasurementTargets(t *testing.T) {
	tests := []struct {
		name string
		m    Measurement
		pass bool
	}{
		{"ratio under a ceiling", compared("k", "n", "ms", 120, 100, "floor", "<=", 1.5), true},
		{"ratio over a ceiling", compared("k", "n", "ms", 160, 100, "floor", "<=", 1.5), false},
		{"ratio above a floor", compared("k", "n", "rows/s", 60, 100, "base", ">=", 0.5), true},
		{"ratio below a floor", compared("k", "n", "rows/s", 40, 100, "base", ">=", 0.5), false},
		{"value within a limit", limited("k", "n", "MiB", 256, "<=", 256), true},
		{"value over a limit", limited("k", "n", "MiB", 257, "<=", 256), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.pass, tt.m.Pass)
		})
	}
}

func TestWalkPayloads(t *testing.T) {
	payload := func(n int) *commonpb.Payload { return &commonpb.Payload{Data: make([]byte, n)} }
	ev := &historypb.HistoryEvent{
		Attributes: &historypb.HistoryEvent_ActivityTaskScheduledEventAttributes{
			ActivityTaskScheduledEventAttributes: &historypb.ActivityTaskScheduledEventAttributes{
				Input:  &commonpb.Payloads{Payloads: []*commonpb.Payload{payload(10), payload(20)}},
				Header: &commonpb.Header{Fields: map[string]*commonpb.Payload{"h": payload(3)}},
			},
		},
		UserMetadata: &sdkpb.UserMetadata{Summary: payload(4)},
	}
	var sizes []int
	walkPayloads(ev.ProtoReflect(), func(p *commonpb.Payload) { sizes = append(sizes, len(p.Data)) })
	assert.ElementsMatch(t, []int{10, 20, 3, 4}, sizes)
}

// TestTableSaysHowLongTheRunTook: the table's head says the run's own
// duration and its phases, so that a report of two runs can say both.
func TestTableSaysHowLongTheRunTook(t *testing.T) {
	var buf bytes.Buffer
	(&Report{ElapsedSeconds: 61.4, Config: config{Phases: []string{"latency", "throughput"}}}).PrintTable(&buf)
	assert.Contains(t, buf.String(), "took 1m1s, phases: latency, throughput\n")
}
