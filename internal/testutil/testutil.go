// Package testutil holds what the tests of several packages share: free
// ports, a buffer a process writes while the test reads it, a scan for
// processes a test left behind, unique names for server-side objects, the
// TestMain of packages whose tests share one Temporal dev server, and
// HTTP order feeds that fail the way real servers do (Feed). Only _test.go
// files import it.
//
// It must not import `internal/store`, `activities` or `workflows`.
package testutil

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"testing"

	"github.com/blueprint-etl/blueprint/internal/devserver"
	"github.com/blueprint-etl/blueprint/internal/procs"
)

// FreePort returns a TCP port of 127.0.0.1 that nobody listens on right
// now.
func FreePort(t testing.TB) int {
	t.Helper()
	port, err := devserver.FreePort()
	if err != nil {
		t.Fatalf("testutil: %v", err)
	}
	return port
}

// FreeAddr is FreePort as host:port.
func FreeAddr(t testing.TB) string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(FreePort(t)))
}

// SyncBuffer collects a process's output while the test reads it.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Children lists the processes whose parent is this test binary, by pid
// with their command name (Linux only: empty elsewhere). A TestMain that
// finds any after m.Run has a test that leaked a process.
func Children() map[int]string {
	left := map[int]string{}
	for _, p := range procs.Children() {
		left[p.PID] = p.Comm
	}
	return left
}

// UniqueID returns prefix and a random suffix: a workflow ID, task queue or
// schedule ID that no other test, and no earlier pass of `go test
// -count=2` on the same server, uses.
func UniqueID(prefix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return prefix + "-" + hex.EncodeToString(b[:])
}

// RequireTemporal is the TestMain of a package whose tests start dev
// servers of their own: without the Temporal CLI it stops at once with the
// one line that says how to get it, instead of failing test after test.
func RequireTemporal(m *testing.M) int {
	if _, err := devserver.Binary(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// RunWithDevServer is the TestMain of a package whose tests share one
// dev server: it starts the server into *srv, runs the tests, stops it and
// fails if a test left a process behind. Without the Temporal CLI it stops
// at once with the one line that says how to get it.
func RunWithDevServer(m *testing.M, srv **devserver.Server) int {
	if _, err := devserver.Binary(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	s, err := devserver.Start(context.Background(), devserver.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	*srv = s
	code := m.Run()
	s.Client().Close()
	if err := s.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stop dev server:", err)
	}
	if left := Children(); len(left) > 0 {
		// Every test stops what it started; a survivor is a leak.
		fmt.Fprintf(os.Stderr, "FAIL: processes left behind by the tests: %v\n", left)
		code = 1
	}
	return code
}

// Env is an environment for code that reads one through an
// envconfig.EnvLookup, such as conn.Load: the test's own, not the
// process's.
type Env map[string]string

// LookupEnv is os.LookupEnv on e.
func (e Env) LookupEnv(k string) (string, bool) {
	v, ok := e[k]
	return v, ok
}

// Environ is os.Environ on e.
func (e Env) Environ() []string {
	out := make([]string, 0, len(e))
	for k, v := range e {
		out = append(out, k+"="+v)
	}
	return out
}
