package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/blueprint-etl/blueprint/deployments"
	"github.com/blueprint-etl/blueprint/internal/conn"
	"github.com/blueprint-etl/blueprint/internal/datapipeline"
	"github.com/blueprint-etl/blueprint/internal/devserver"
	"github.com/blueprint-etl/blueprint/internal/flow"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
)

// busyShare is the share of the CPU that other processes may use before
// the report says the machine was shared.
const busyShare = 0.05

// phaseNames are the measurements, in the order they run. The throughput
// phase stops the main worker, so it comes last.
var phaseNames = []string{"latency", "concurrency", "cli", "tuning", "deployments", "throughput"}

// deploymentName is the deployment whose parameters the pipeline runs use
// and that the CLI measurement starts.
const deploymentName = "production-etl"

// bench is one harness run: its processes, its temporary directory and
// what it measured so far.
type bench struct {
	ctx   context.Context
	cfg   config
	log   io.Writer
	clean cleanups
	rep   *Report

	// flows hold the flow of the measured deployment.
	flows                 *flow.Registry
	exe, tmp, temporalBin string
	deployment            deployments.Deployment
	params                datapipeline.Params // the deployment's, validated

	tuned   *server
	workerA *workerProc // on tuned, task queue runinfo.TaskQueue

	// settleFailed: PostgreSQL refused the CHECKPOINT before a measure
	// (see settle).
	settleFailed bool
}

// server is a dev server and a client of it.
type server struct {
	name string
	srv  *devserver.Server
	c    client.Client
}

func (s *server) addr() string { return s.srv.FrontendHostPort() }

// run measures everything cfg asks for. Every process it starts is
// stopped and every file it creates is removed before it returns, whether
// it succeeds, fails or ctx is cancelled (SIGINT).
func run(ctx context.Context, cfg config, reg *flow.Registry, log io.Writer) (rep *Report, err error) {
	started := time.Now()
	cpuStart := sampleCPU()
	b := &bench{ctx: ctx, cfg: cfg, flows: reg, log: log, rep: &Report{Timestamp: started.UTC(), Config: cfg, PhaseCPU: map[string]cpuShares{}}}
	defer func() {
		b.clean.run()
		// Safety net: nothing this process started may outlive it.
		for _, pid := range childProcesses() {
			fmt.Fprintf(log, "bench: killing leftover child process %d\n", pid)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		if err != nil && ctx.Err() != nil {
			err = fmt.Errorf("%w: %w", errInterrupted, err)
		}
		if err == nil {
			m := &rep.Machine
			m.OtherCPUShare = sharesBetween(cpuStart, sampleCPU(), m.Cores).Other
			if m.OtherCPUShare > busyShare {
				var busy []string
				for _, name := range phaseNames {
					if sh, ok := rep.PhaseCPU[name]; ok && sh.Other > busyShare {
						busy = append(busy, fmt.Sprintf("%s %.0f%%", name, 100*sh.Other))
					}
				}
				b.note("the machine was shared: other processes used %.0f%% of its CPU during the run (by phase: %s): they skew the figures",
					100*m.OtherCPUShare, strings.Join(busy, ", "))
			}
		}
	}()

	if err := b.setup(); err != nil {
		return nil, err
	}
	phases := map[string]func() error{
		"latency":     b.measureLatency,
		"concurrency": b.measureConcurrency,
		"cli":         b.measureCLI,
		"tuning":      b.measureTuning,
		"deployments": b.measureDeployments,
		"throughput":  b.measureThroughput,
	}
	for _, name := range phaseNames {
		if !slices.Contains(cfg.Phases, name) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		t := time.Now()
		before := sampleCPU()
		if err := phases[name](); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		sh := sharesBetween(before, sampleCPU(), b.rep.Machine.Cores)
		b.rep.PhaseCPU[name] = sh
		b.logf("[%s] done in %s (other processes: %.0f%% of the CPU)", name, time.Since(t).Round(100*time.Millisecond), 100*sh.Other)
	}
	if len(cfg.Phases) < len(phaseNames) {
		b.note("only these phases ran: %s", strings.Join(cfg.Phases, ", "))
	}
	b.rep.ElapsedSeconds = time.Since(started).Seconds()

	return b.rep, nil
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.log, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// grace is how long a stopping worker may take: less once interrupted.
func (b *bench) grace() time.Duration {
	if b.ctx.Err() != nil {
		return interruptedGrace
	}
	return workerStopGrace
}

// setup reads the deployment, builds the CLI, starts the tuned dev server
// and the main worker.
func (b *bench) setup() error {
	var err error
	if b.exe, err = os.Executable(); err != nil {
		return fmt.Errorf("find own executable: %w", err)
	}
	if b.temporalBin, err = devserver.Binary(); err != nil {
		return err
	}
	if b.tmp, err = os.MkdirTemp("", "blueprint-bench-*"); err != nil {
		return fmt.Errorf("temporary directory: %w", err)
	}
	tmp := b.tmp
	b.clean.add(func() {
		if err := os.RemoveAll(tmp); err != nil {
			fmt.Fprintf(b.log, "bench: remove %s: %v\n", tmp, err)
		}
	})
	if b.cfg.ProfileDir != "" {
		if err := os.MkdirAll(b.cfg.ProfileDir, 0o755); err != nil {
			return fmt.Errorf("profile directory: %w", err)
		}
		// Profiles of an earlier run must not pass for this one's.
		old, _ := filepath.Glob(filepath.Join(b.cfg.ProfileDir, "*.pprof"))
		for _, f := range old {
			if err := os.Remove(f); err != nil {
				return fmt.Errorf("profile directory: %w", err)
			}
		}
	}
	m, err := deployments.Default(b.flows)
	if err != nil {
		return fmt.Errorf("deployments manifest: %w", err)
	}
	if b.deployment, err = m.Get(deploymentName); err != nil {
		return err
	}
	doc, err := b.deployment.Params()
	if err != nil {
		return err
	}
	if err := remarshal(doc, &b.params); err != nil {
		return fmt.Errorf("deployment %s parameters: %w", deploymentName, err)
	}
	b.rep.Machine = describeMachine(b.temporalBin)
	b.logf("machine: %s", b.rep.Machine.summary())

	if b.cfg.Postgres {
		// Fail before the long phases, not after them.
		if err := pingPostgres(b.ctx, b.cfg.PostgresURL); err != nil {
			return fmt.Errorf("%s is set but PostgreSQL cannot be used: %w", postgresEnv, err)
		}
	}
	if slices.Contains(b.cfg.Phases, "cli") || slices.Contains(b.cfg.Phases, "deployments") {
		if err := b.buildCLI(); err != nil {
			return err
		}
	}
	if b.tuned, err = b.startServer("tuned", false); err != nil {
		return err
	}
	b.workerA, err = b.startWorker("main", b.tuned, runinfo.TaskQueue, "sqlite:"+filepath.Join(b.tmp, "warehouse.db"))
	return err
}

// buildCLI builds cmd/blueprint into the temporary directory, as a user
// would run it.
func (b *bench) buildCLI() error {
	t := time.Now()
	cmd := exec.CommandContext(b.ctx, "go", "build", "-o", filepath.Join(b.tmp, "blueprint"), "./cmd/blueprint")
	cmd.Dir = b.cfg.Root
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go build ./cmd/blueprint: %w\n%s", err, out)
	}
	b.logf("built bin/blueprint in %s", time.Since(t).Round(100*time.Millisecond))
	return nil
}

// startServer starts a dev server, tuned or with default settings.
func (b *bench) startServer(name string, untuned bool) (*server, error) {
	logf, err := os.Create(filepath.Join(b.tmp, "server-"+name+".log"))
	if err != nil {
		return nil, err
	}
	t := time.Now()
	// The harness's client encodes like the workers and the CLI it starts:
	// encrypted when BLUEPRINT_ENCRYPTION_KEYS is set.
	dc, err := conn.DataConverter(nil)
	if err != nil {
		_ = logf.Close()
		return nil, err
	}
	srv, err := devserver.Start(b.ctx, devserver.Options{Untuned: untuned, Log: logf, DataConverter: dc})
	if err != nil {
		_ = logf.Close()
		return nil, fmt.Errorf("%s dev server: %w", name, err)
	}
	s := &server{name: name, srv: srv, c: srv.Client()}
	b.clean.add(func() { b.stopServer(s); _ = logf.Close() })
	b.logf("%s dev server on %s in %s", name, s.addr(), time.Since(t).Round(100*time.Millisecond))
	return s, nil
}

// stopServer stops a dev server, waiting at most serverStopTimeout.
func (b *bench) stopServer(s *server) {
	s.c.Close()
	done := make(chan error, 1)
	go func() { done <- s.srv.Stop() }()
	select {
	case err := <-done:
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) && !errors.Is(err, os.ErrProcessDone) {
			fmt.Fprintf(b.log, "bench: stop %s dev server: %v\n", s.name, err)
		}
	case <-time.After(serverStopTimeout):
		// run's safety net kills it.
		fmt.Fprintf(b.log, "bench: %s dev server did not stop within %s\n", s.name, serverStopTimeout)
	}
}

// startWorker starts a worker process polling queue on s, registered for
// cleanup.
func (b *bench) startWorker(name string, s *server, queue, dsn string) (*workerProc, error) {
	t := time.Now()
	w, err := startWorker(b.ctx, b.exe, b.tmp, name, s.addr(), queue, dsn)
	if err != nil {
		return nil, err
	}
	b.clean.add(func() {
		if err := w.Stop(b.grace()); err != nil {
			fmt.Fprintf(b.log, "bench: %v\n", err)
		}
	})
	b.logf("worker %s (pid %d) polling %s in %s", name, w.Pid(), queue, time.Since(t).Round(10*time.Millisecond))
	return w, nil
}

// profiled runs fn with w's CPU and allocation profiles taken, as measure
// name, when the harness writes profiles.
func (b *bench) profiled(w *workerProc, name string, fn func() error) error {
	if b.cfg.ProfileDir == "" {
		return fn()
	}
	prefix := filepath.Join(b.cfg.ProfileDir, name)
	if err := w.Profile(prefix); err != nil {
		return err
	}
	err := fn()
	if perr := w.Profile(""); perr != nil {
		return errors.Join(err, perr)
	}
	b.addProfiles(prefix)
	return err
}

// addProfiles lists the profiles of a measure in the report.
func (b *bench) addProfiles(prefix string) {
	for _, suffix := range []string{".cpu.pprof", ".allocs.pprof"} {
		p := prefix + suffix
		if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
		b.rep.Profiles = append(b.rep.Profiles, p)
	}
}

// paramsWith is the deployment's parameters with another batch size.
func (b *bench) paramsWith(batch int) datapipeline.Params {
	p := b.params
	p.BatchSize = batch
	return p
}

func (b *bench) note(format string, args ...any) {
	b.rep.Notes = append(b.rep.Notes, fmt.Sprintf(format, args...))
}

// remarshal decodes a parameter document into the flow's struct.
func remarshal(doc map[string]any, v any) error {
	b, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}
