package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sync"

	"github.com/google/pprof/profile"
)

// profiler takes a CPU profile and an allocation profile of one measure
// of a process: CPU from start to stop, allocations made between them (the
// runtime's allocation profile is cumulative since the process started, so
// the one written is the difference of two snapshots). The harness
// profiles itself for the throughput baseline; worker processes are told
// over their standard input (see workerProc.Profile).
type profiler struct {
	mu     sync.Mutex
	prefix string           // the running measure's files, without suffix
	base   *profile.Profile // allocations at start
	cpu    *os.File
}

// start begins profiling into prefix.cpu.pprof and prefix.allocs.pprof.
func (p *profiler) start(prefix string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.prefix != "" {
		return fmt.Errorf("profile %s: %s is still being profiled", filepath.Base(prefix), filepath.Base(p.prefix))
	}
	if err := os.MkdirAll(filepath.Dir(prefix), 0o755); err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	base, err := allocSnapshot()
	if err != nil {
		return err
	}
	f, err := os.Create(prefix + ".cpu.pprof")
	if err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return fmt.Errorf("profile: %w", err)
	}
	p.prefix, p.base, p.cpu = prefix, base, f
	return nil
}

// stop ends the running profile and writes both files; a no-op when none
// runs.
func (p *profiler) stop() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.prefix == "" {
		return nil
	}
	pprof.StopCPUProfile()
	err := p.cpu.Close()
	prefix, base := p.prefix, p.base
	p.prefix, p.base, p.cpu = "", nil, nil
	after, aerr := allocSnapshot()
	if aerr != nil {
		return errors.Join(err, aerr)
	}
	base.Scale(-1)
	diff, merr := profile.Merge([]*profile.Profile{after, base})
	if merr != nil {
		return errors.Join(err, fmt.Errorf("profile: allocations: %w", merr))
	}
	f, cerr := os.Create(prefix + ".allocs.pprof")
	if cerr != nil {
		return errors.Join(err, fmt.Errorf("profile: %w", cerr))
	}
	werr := diff.Write(f)
	return errors.Join(err, werr, f.Close())
}

// allocSnapshot is the runtime's cumulative allocation profile now, after
// a GC so that it is up to date.
func allocSnapshot() (*profile.Profile, error) {
	runtime.GC()
	var buf bytes.Buffer
	if err := pprof.Lookup("allocs").WriteTo(&buf, 0); err != nil {
		return nil, fmt.Errorf("profile: allocations: %w", err)
	}
	p, err := profile.Parse(&buf)
	if err != nil {
		return nil, fmt.Errorf("profile: allocations: %w", err)
	}
	return p, nil
}
