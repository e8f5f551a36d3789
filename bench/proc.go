package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/blueprint-etl/blueprint/internal/conn"
	"github.com/blueprint-etl/blueprint/internal/procs"
	"github.com/blueprint-etl/blueprint/internal/store"
	"github.com/blueprint-etl/blueprint/internal/worker"
)

// The worker process is this binary re-executed with workerFlag first. It
// prints readyLine once it polls, and stops when its standard input closes
// (the harness closes it, or dies) or on SIGINT/SIGTERM. Lines on its
// standard input are commands: profileStart PREFIX and profileStop, each
// answered by a profileReply line on its standard output.
const (
	workerFlag   = "-worker"
	readyLine    = "bench-worker-ready"
	profileStart = "profile-start"
	profileStop  = "profile-stop"
	profileReply = "profile-reply "
	replyOK      = "ok"
)

// Timeouts of process handling.
const (
	workerStartTimeout = time.Minute
	// workerStopGrace is longer than worker.StopTimeout, the time a
	// stopping worker gives running activities.
	workerStopGrace = worker.StopTimeout + 10*time.Second
	// interruptedGrace replaces workerStopGrace once the harness is being
	// interrupted: nobody waits for the activities' results any more.
	interruptedGrace  = 3 * time.Second
	serverStopTimeout = 20 * time.Second
	// profileTimeout bounds a profile command (writing a profile takes a
	// GC and a file).
	profileTimeout = time.Minute
)

// workerMain is the worker mode: the blueprint worker of the flows of reg
// (worker.New, as worker/main.go builds it) with the floor workflow
// registered next to the pipeline.
func workerMain(reg *worker.Registry, args []string) int {
	fs := flag.NewFlagSet("bench "+workerFlag, flag.ContinueOnError)
	o := workerOptions{flows: reg}
	fs.StringVar(&o.address, "address", "", "Temporal frontend host:port")
	fs.StringVar(&o.namespace, "namespace", conn.DefaultNamespace, "namespace")
	fs.StringVar(&o.taskQueue, "task-queue", "", "task queue")
	fs.StringVar(&o.dsn, "db", "", "warehouse DSN")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := serveWorker(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench worker:", err)
		return 1
	}
	return 0
}

type workerOptions struct {
	address, namespace, taskQueue, dsn string
	flows                              *worker.Registry
}

func serveWorker(o workerOptions) (err error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var prof profiler
	defer func() {
		if perr := prof.stop(); perr != nil && err == nil {
			err = perr
		}
	}()
	go func() {
		// Commands until EOF: the harness asks us to stop, or has died.
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			cmd, arg, _ := strings.Cut(sc.Text(), " ")
			var err error
			switch cmd {
			case profileStart:
				err = prof.start(arg)
			case profileStop:
				err = prof.stop()
			default:
				err = fmt.Errorf("unknown command %q", cmd)
			}
			reply := replyOK
			if err != nil {
				reply = strings.ReplaceAll(err.Error(), "\n", " ")
			}
			fmt.Println(profileReply + reply)
		}
		stop()
	}()

	cfg, err := worker.ConfigFromEnv()
	if err != nil {
		return err
	}
	cfg.TaskQueue, cfg.DatabaseURL = o.taskQueue, o.dsn
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("open warehouse %s: %w", store.RedactDSN(cfg.DatabaseURL), err)
	}
	defer st.Close()
	if err := o.flows.MigrateTables(ctx, st); err != nil {
		return fmt.Errorf("migrate the flows' tables in %s: %w", st.Location(), err)
	}
	dc, err := conn.DataConverter(nil)
	if err != nil {
		return err
	}
	c, err := conn.Dial(ctx, client.Options{HostPort: o.address, Namespace: o.namespace, Logger: conn.QuietLogger(), DataConverter: dc})
	if err != nil {
		return err
	}
	defer c.Close()

	worker.LimitMemory() // as worker/main.go does
	w := worker.New(c, st, cfg, o.flows)
	registerFloor(w)
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker on %s: %w", cfg.TaskQueue, err)
	}
	fmt.Println(readyLine)
	go reportMemory(ctx, os.Stdout)
	<-ctx.Done()
	w.Stop()
	return nil
}

// memSample is the worker's memory when its RSS peaked, as sampled every
// memSampleInterval: how much of the peak the Go runtime holds, and what
// is left for SQLite (C memory of modernc.org/libc) and mapped files.
type memSample struct {
	RSS  int64 `json:"rss_bytes"`
	Anon int64 `json:"rss_anon_bytes"`
	File int64 `json:"rss_file_bytes"`
	// GoMapped is what the Go runtime has mapped and not released to the
	// OS; GoHeap the heap objects (live and not yet swept) in it.
	GoMapped int64 `json:"go_mapped_bytes"`
	GoHeap   int64 `json:"go_heap_objects_bytes"`
}

const (
	memSampleInterval = 100 * time.Millisecond
	memLinePrefix     = "mem "
)

// reportMemory writes a memLinePrefix line with a JSON memSample to w
// whenever the process's RSS reaches a new peak.
func reportMemory(ctx context.Context, w io.Writer) {
	samples := []metrics.Sample{
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
		{Name: "/memory/classes/heap/objects:bytes"},
	}
	var peak int64
	t := time.NewTicker(memSampleInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		status, err := os.ReadFile("/proc/self/status")
		if err != nil {
			return
		}
		s := memSample{RSS: statusKB(status, "VmRSS"), Anon: statusKB(status, "RssAnon"), File: statusKB(status, "RssFile")}
		if s.RSS <= peak {
			continue
		}
		peak = s.RSS
		metrics.Read(samples)
		s.GoMapped = int64(samples[0].Value.Uint64() - samples[1].Value.Uint64())
		s.GoHeap = int64(samples[2].Value.Uint64())
		b, _ := json.Marshal(s)
		fmt.Fprintf(w, "%s%s\n", memLinePrefix, b)
	}
}

// statusKB reads a "Key:   N kB" line of /proc/PID/status, in bytes; -1
// when missing.
func statusKB(status []byte, key string) int64 {
	for line := range strings.SplitSeq(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return -1
			}
			return kb << 10
		}
	}
	return -1
}

// workerProc is a running worker process, seen from the harness.
type workerProc struct {
	name    string
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	logPath string
	exited  chan struct{}
	waitErr error
	once    sync.Once
	stopErr error

	mu      sync.Mutex
	mem     memSample   // the last one the worker reported
	replies chan string // answers to profile commands
}

// startWorker starts a worker process on taskQueue of the server at
// address, with warehouse dsn, and waits until it polls.
func startWorker(ctx context.Context, exe, dir, name, address, taskQueue, dsn string) (*workerProc, error) {
	p := &workerProc{name: name, logPath: filepath.Join(dir, "worker-"+name+".log"), exited: make(chan struct{}),
		replies: make(chan string, 1)}
	logf, err := os.Create(p.logPath)
	if err != nil {
		return nil, fmt.Errorf("worker %s: %w", name, err)
	}
	defer logf.Close() // the child has its own descriptor
	args := []string{workerFlag, "-address", address, "-task-queue", taskQueue, "-db", dsn}
	p.cmd = exec.Command(exe, args...)
	p.cmd.Stderr = logf
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("worker %s: %w", name, err)
	}
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		return nil, fmt.Errorf("worker %s: %w", name, err)
	}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start worker %s: %w", name, err)
	}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		ok := false
		for sc.Scan() {
			line := sc.Text()
			if js, isMem := strings.CutPrefix(line, memLinePrefix); isMem {
				var m memSample
				if json.Unmarshal([]byte(js), &m) == nil {
					p.mu.Lock()
					p.mem = m
					p.mu.Unlock()
				}
			}
			if reply, isReply := strings.CutPrefix(line, profileReply); isReply {
				select {
				case p.replies <- reply:
				default: // nobody asked
				}
			}
			if line == readyLine && !ok {
				ok = true
				ready <- true
			}
		}
		if !ok {
			ready <- false
		}
		// Wait only once stdout is drained, as exec.Cmd requires.
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	timer := time.NewTimer(workerStartTimeout)
	defer timer.Stop()
	select {
	case ok := <-ready:
		if ok {
			return p, nil
		}
		<-p.exited
		return nil, fmt.Errorf("worker %s exited before polling (%v): %s", name, p.waitErr, p.logTail())
	case <-timer.C:
		_ = p.Stop(interruptedGrace)
		return nil, fmt.Errorf("worker %s did not start within %s: %s", name, workerStartTimeout, p.logTail())
	case <-ctx.Done():
		_ = p.Stop(interruptedGrace)
		return nil, ctx.Err()
	}
}

// Profile starts profiling the worker into prefix.cpu.pprof and
// prefix.allocs.pprof, or, with prefix "", stops and writes them.
func (p *workerProc) Profile(prefix string) error {
	cmd := profileStop
	if prefix != "" {
		cmd = profileStart + " " + prefix
	}
	if _, err := fmt.Fprintln(p.stdin, cmd); err != nil {
		return fmt.Errorf("worker %s: %s: %w", p.name, cmd, err)
	}
	select {
	case reply := <-p.replies:
		if reply != replyOK {
			return fmt.Errorf("worker %s: %s: %s", p.name, cmd, reply)
		}
		return nil
	case <-p.exited:
		return fmt.Errorf("worker %s exited during %s: %s", p.name, cmd, p.logTail())
	case <-time.After(profileTimeout):
		return fmt.Errorf("worker %s: %s: no answer within %s", p.name, cmd, profileTimeout)
	}
}

// Pid is the worker's process id.
func (p *workerProc) Pid() int { return p.cmd.Process.Pid }

// PeakRSS is the process's peak resident set size (VmHWM), in bytes.
func (p *workerProc) PeakRSS() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.Pid()))
	if err != nil {
		return 0, fmt.Errorf("worker %s: read peak RSS: %w", p.name, err)
	}
	n := statusKB(b, "VmHWM")
	if n < 0 {
		return 0, fmt.Errorf("worker %s: no VmHWM in /proc/%d/status", p.name, p.Pid())
	}
	return n, nil
}

// MemAtPeak is the worker's last reported memory sample: its composition
// near its RSS peak.
func (p *workerProc) MemAtPeak() memSample {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mem
}

// Stop asks the worker to stop (closes its standard input) and kills it
// if it has not exited after grace. It is safe to call more than once.
func (p *workerProc) Stop(grace time.Duration) error {
	p.once.Do(func() {
		_ = p.stdin.Close()
		timer := time.NewTimer(grace)
		defer timer.Stop()
		select {
		case <-p.exited:
			if p.waitErr != nil {
				p.stopErr = fmt.Errorf("worker %s: %w: %s", p.name, p.waitErr, p.logTail())
			}
		case <-timer.C:
			_ = p.cmd.Process.Kill()
			<-p.exited
			p.stopErr = fmt.Errorf("worker %s did not stop within %s: killed", p.name, grace)
		}
	})
	return p.stopErr
}

// logTail is the end of the worker's log, for error messages.
func (p *workerProc) logTail() string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return "(no log)"
	}
	b = bytes.TrimSpace(b)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	if len(b) == 0 {
		return "(empty log)"
	}
	return string(b)
}

// cleanups runs functions in reverse order of registration, like defer,
// across the phases of a run.
type cleanups struct {
	mu  sync.Mutex
	fns []func()
}

func (c *cleanups) add(fn func()) {
	c.mu.Lock()
	c.fns = append(c.fns, fn)
	c.mu.Unlock()
}

func (c *cleanups) run() {
	c.mu.Lock()
	fns := c.fns
	c.fns = nil
	c.mu.Unlock()
	for i := len(fns) - 1; i >= 0; i-- {
		fns[i]()
	}
}

// childProcesses lists the live processes whose parent is this one
// (zombies, which have exited, are not).
func childProcesses() []int {
	var pids []int
	for _, p := range procs.Children() {
		if p.State != "Z" {
			pids = append(pids, p.PID)
		}
	}
	return pids
}

// errInterrupted is returned when the harness is stopped by a signal.
var errInterrupted = errors.New("interrupted")
