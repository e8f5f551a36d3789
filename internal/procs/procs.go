// Package procs lists the processes this one started, from Linux's /proc:
// the tests use it to find a process a test left behind, the benchmark
// harness to measure and stop its workers. It imports nothing of blueprint.
package procs

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Proc is one child process.
type Proc struct {
	PID int
	// Comm is the command name the kernel keeps (at most 15 bytes).
	Comm string
	// State is the kernel's one-letter state: R, S, D, Z (a zombie: it
	// has exited, and its parent has not waited for it yet) ...
	State string
}

// Children lists the processes whose parent is this process, in /proc's
// order. It is empty where there is no /proc (not Linux).
func Children() []Proc {
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := strconv.Itoa(os.Getpid())
	var out []Proc
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", d.Name(), "stat"))
		if err != nil {
			continue // gone since the listing
		}
		// pid (comm) state ppid ...; comm may hold spaces and parentheses.
		s := string(stat)
		open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || end < open {
			continue
		}
		f := strings.Fields(s[end+1:])
		if len(f) > 1 && f[1] == self {
			out = append(out, Proc{PID: pid, Comm: s[open+1 : end], State: f[0]})
		}
	}
	return out
}
