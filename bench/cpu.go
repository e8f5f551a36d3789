package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// CPU accounting: how much CPU time the worker process, the dev server and
// the harness itself (the client) spent on a set of runs. On a small
// machine every millisecond of CPU is latency, so this says where a gap
// between the pipeline and its floor comes from.

// procCPU is the CPU time (user + system) of process pid, in seconds; -1
// when it cannot be read.
func procCPU(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return -1
	}
	// After the command: state (field 3) ... utime (14), stime (15).
	u, err1 := strconv.ParseFloat(f[11], 64)
	s, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	return (u + s) / clockTick
}

// serverPID finds the dev server process listening on addr's port among
// this process's children; 0 when not found.
func serverPID(addr string) int {
	_, port, ok := strings.Cut(addr, ":")
	if !ok {
		return 0
	}
	for _, pid := range childProcesses() {
		cmdline, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(cmdline), "\x00")
		for i, a := range args {
			if a == "--port" && i+1 < len(args) && args[i+1] == port {
				return pid
			}
		}
	}
	return 0
}

// cpuMeter samples the CPU time of named processes.
type cpuMeter map[string]int

// sample returns the CPU time of each process, in seconds.
func (m cpuMeter) sample() map[string]float64 {
	s := make(map[string]float64, len(m))
	for name, pid := range m {
		s[name] = procCPU(pid)
	}
	return s
}

// cpuTally adds up CPU time per process over several measured spans.
type cpuTally struct {
	seconds map[string]float64
}

func (t *cpuTally) add(before, after map[string]float64) {
	if t.seconds == nil {
		t.seconds = map[string]float64{}
	}
	for name, a := range after {
		if b, ok := before[name]; ok && a >= 0 && b >= 0 {
			t.seconds[name] += a - b
		}
	}
}

// perRunMS is the CPU milliseconds per run of each process.
func (t *cpuTally) perRunMS(runs int) map[string]float64 {
	out := map[string]float64{}
	if runs <= 0 {
		return out
	}
	for name, s := range t.seconds {
		out[name] = 1000 * s / float64(runs)
	}
	return out
}

// clockTick is USER_HZ, the unit of /proc's CPU times: 100 on Linux.
const clockTick = 100

// cpuSample is the CPU time, in seconds, of the whole machine (busy, not
// idle), of this process with its children, and of PostgreSQL's
// processes (the database the PostgreSQL measurement loads into).
type cpuSample struct {
	at               time.Time
	busy, ours, pgdb float64
	ok               bool
}

func sampleCPU() cpuSample {
	s := cpuSample{at: time.Now()}
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return s
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return s
	}
	// user nice system idle iowait irq softirq steal
	for _, i := range []int{1, 2, 3, 6, 7, 8} {
		v, _ := strconv.ParseFloat(f[i], 64)
		s.busy += v / clockTick
	}
	b, err = os.ReadFile("/proc/self/stat")
	if err != nil {
		return s
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return s
	}
	// After the command: utime stime cutime cstime are fields 14-17. The
	// children's times count once they are reaped; until then they are
	// read from the live children.
	g := strings.Fields(string(b[i+1:]))
	if len(g) < 15 {
		return s
	}
	for _, j := range []int{11, 12, 13, 14} {
		v, _ := strconv.ParseFloat(g[j], 64)
		s.ours += v / clockTick
	}
	for _, pid := range childProcesses() {
		s.ours += max(0, procCPU(pid))
	}
	s.pgdb = postgresCPU()
	s.ok = true
	return s
}

// postgresCPU is the CPU time of the live PostgreSQL processes. A backend
// that exits between two samples takes its time with it: the figure is a
// lower bound.
func postgresCPU() float64 {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	total := 0.0
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, err := os.ReadFile(filepath.Join("/proc", e.Name(), "comm"))
		if err != nil || strings.TrimSpace(string(comm)) != "postgres" {
			continue
		}
		total += max(0, procCPU(pid))
	}
	return total
}

// cpuShares compares two samples.
type cpuShares struct {
	// Other is the share of the machine's CPU capacity that processes
	// other than the harness, its children and PostgreSQL used.
	Other float64 `json:"other_share"`
	// PostgresSeconds is PostgreSQL's CPU time (a lower bound).
	PostgresSeconds float64 `json:"postgres_seconds"`
}

func sharesBetween(a, b cpuSample, cores int) cpuShares {
	wall := b.at.Sub(a.at).Seconds()
	if !a.ok || !b.ok || wall <= 0 || cores <= 0 {
		return cpuShares{}
	}
	pg := max(0, b.pgdb-a.pgdb)
	other := max(0, (b.busy-a.busy)-(b.ours-a.ours)-pg)
	return cpuShares{Other: other / (wall * float64(cores)), PostgresSeconds: pg}
}
