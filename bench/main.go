// Command bench measures what Temporal orchestration costs the blueprint
// pipeline, against baselines measured in the same run on the same machine:
//
//  1. latency: DataPipeline (production-etl, batch_size=1000) vs a floor
//     workflow of three no-op activities on the same worker, start to
//     close as the server recorded it in each run's history (median, p90);
//  2. concurrency: 200 small runs started at once vs 200 floor workflows;
//  3. CLI start: `blueprint run production-etl` vs `temporal workflow start`;
//  4. server tuning: the floor on the tuned dev server vs a default one;
//  5. throughput: a million rows end to end vs the store alone upserting
//     the same, already normalised rows in one process; then ten million
//     rows on the same worker (the scaling line), with the worker's peak
//     RSS and the runs' history size (SQLite, and PostgreSQL when
//     BLUEPRINT_TEST_POSTGRES_URL is set);
//  6. deployments: deploy (first and no-op), deployment ls, deployment
//     inspect and status over 30 and 300 generated scheduled deployments
//     vs `temporal schedule list` of the same schedules, the growth per
//     deployment from 30 to 300, and `runs ls --limit 1000` over 10,000
//     completed runs vs `temporal workflow list --limit 1000`.
//
// Machines are noisy, so every figure is reported as a ratio to a baseline
// measured side by side (interleaved where runs are short), never as an
// absolute time. It prints a table and what changed since the previous
// results file, writes every figure to a JSON file, and a CPU and an
// allocation profile of each measure next to it; it exits non-zero only
// when it could not measure. A missed target prints MISS.
//
//	go run ./bench                 # the full run (make bench), several minutes
//	go run ./bench -quick          # tiny sizes, for tests
//	go run ./bench -phases latency # one measure, e.g. to profile it
//
// The workers run in separate processes (this binary re-executed in a
// hidden worker mode), so that their peak RSS can be read from /proc and
// each measure profiled on its own.
//
// It must not import `cmd`: it measures the pipeline from below the CLI.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"

	"github.com/blueprint-etl/blueprint/activities"
	"github.com/blueprint-etl/blueprint/flows"
	"github.com/blueprint-etl/blueprint/internal/flow"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == workerFlag {
		os.Exit(workerMain(flows.Registry, os.Args[2:]))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := benchMain(ctx, flows.Registry.Flows(), os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// config holds the sizes of one harness run.
type config struct {
	Quick bool `json:"quick"`
	// LatencyRuns is the number of measured runs of each of the pipeline
	// and the floor; WarmupRuns of each are run first and discarded.
	LatencyRuns int `json:"latency_runs"`
	WarmupRuns  int `json:"warmup_runs"`
	// LatencyBatch is the batch_size of the latency runs.
	LatencyBatch int `json:"latency_batch_size"`
	// Rows is the batch_size of the throughput run; BigRows the batch_size
	// of the run that follows it on the same worker, for the scaling line.
	Rows    int `json:"throughput_rows"`
	BigRows int `json:"scaling_rows"`
	// BaselineChunk is how many orders one WriteOrders call of the
	// throughput baseline writes: the pipeline's chunk size.
	BaselineChunk int `json:"baseline_chunk"`
	// Concurrent runs are started at once; ConcurrentBatch is their batch_size.
	Concurrent      int `json:"concurrent_runs"`
	ConcurrentBatch int `json:"concurrent_batch_size"`
	CLIRuns         int `json:"cli_runs"`
	// DeploySmall and DeployLarge are the sizes of the generated manifests
	// of the deployments phase; each of its commands runs DeployReps times;
	// ListedRuns completed runs are there for its runs ls.
	DeploySmall int `json:"deploy_small"`
	DeployLarge int `json:"deploy_large"`
	DeployReps  int `json:"deploy_reps"`
	ListedRuns  int `json:"listed_runs"`
	TuningRuns  int `json:"tuning_runs"`
	// PostgresURL, when set, adds the throughput measurement on PostgreSQL.
	PostgresURL string `json:"-"`
	Postgres    bool   `json:"postgres"`

	// Phases are the phases to run, in phaseNames order.
	Phases []string `json:"phases"`

	Out string `json:"-"`
	// ProfileDir receives a CPU and an allocation profile of each
	// measure; "" for none.
	ProfileDir string `json:"-"`
	// Root is the module root: where ./cmd/blueprint is built from.
	Root string `json:"-"`
}

// postgresEnv names the PostgreSQL server of the PostgreSQL measurements,
// the one the tests use.
const postgresEnv = "BLUEPRINT_TEST_POSTGRES_URL"

func fullConfig() config {
	return config{
		LatencyRuns: 30, WarmupRuns: 3, LatencyBatch: 1000,
		Rows: 1_000_000, BigRows: 10_000_000, BaselineChunk: activities.DefaultChunkRecords,
		Concurrent: 200, ConcurrentBatch: 100,
		CLIRuns: 10, TuningRuns: 20,
		DeploySmall: 30, DeployLarge: 300, DeployReps: 5, ListedRuns: 10_000,
	}
}

func quickConfig() config {
	return config{
		Quick:       true,
		LatencyRuns: 3, WarmupRuns: 1, LatencyBatch: 1000,
		Rows: 10_000, BigRows: 20_000, BaselineChunk: activities.DefaultChunkRecords,
		Concurrent: 10, ConcurrentBatch: 100,
		CLIRuns: 2, TuningRuns: 3,
		DeploySmall: 5, DeployLarge: 10, DeployReps: 2, ListedRuns: 50,
	}
}

// benchMain runs the harness with command-line args and returns the exit
// code: 0 when every figure was measured (targets missed or not), 1 when
// the harness failed, 2 on a usage error. reg holds the flow of the
// deployment it measures.
func benchMain(ctx context.Context, reg *flow.Registry, args []string, stdout, stderr io.Writer) int {
	root := moduleRoot()
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", filepath.Join(root, "bench", "results", "latest.json"), "write every figure as JSON to this file")
	quick := fs.Bool("quick", false, "tiny sizes (3 latency runs, 10k and 20k rows, 10 concurrent, 2 CLI runs), for tests")
	profiles := fs.String("profiles", "", "write a CPU and an allocation profile of each measure into this directory (default: profiles/ next to -out; \"none\" for none)")
	only := fs.String("phases", strings.Join(phaseNames, ","), "run only these phases (comma-separated), e.g. to profile one")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: go run ./bench [-quick] [-out FILE] [-profiles DIR] [-phases LIST]")
		fmt.Fprintln(stderr, "Measures the pipeline against baselines run side by side; see the package doc.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "bench: unexpected arguments %q\n", fs.Args())
		fs.Usage()
		return 2
	}
	cfg := fullConfig()
	if *quick {
		cfg = quickConfig()
	}
	cfg.Out, cfg.ProfileDir, cfg.Root = *out, *profiles, root
	switch cfg.ProfileDir {
	case "":
		cfg.ProfileDir = filepath.Join(filepath.Dir(cfg.Out), "profiles")
	case "none":
		cfg.ProfileDir = ""
	}
	for name := range strings.SplitSeq(*only, ",") {
		if name = strings.TrimSpace(name); name == "" {
			continue
		}
		if !slices.Contains(phaseNames, name) {
			fmt.Fprintf(stderr, "bench: -phases: unknown phase %q (valid: %s)\n", name, strings.Join(phaseNames, ", "))
			return 2
		}
		cfg.Phases = append(cfg.Phases, name)
	}
	cfg.PostgresURL = os.Getenv(postgresEnv)
	cfg.Postgres = cfg.PostgresURL != ""

	rep, err := run(ctx, cfg, reg, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 1
	}
	rep.PrintTable(stdout)
	printChanges(stdout, cfg.Out, rep)
	if err := rep.WriteJSON(cfg.Out); err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 1
	}
	fmt.Fprintf(stdout, "\nresults: %s\n", cfg.Out)
	return 0
}

// moduleRoot is the directory holding go.mod: this file's parent, when the
// sources are where they were compiled, else the working directory.
func moduleRoot() string {
	if _, file, _, ok := runtime.Caller(0); ok {
		dir := filepath.Dir(filepath.Dir(file))
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
	}
	wd, err := os.Getwd()
	if err != nil {
		return "."
	}
	return wd
}
