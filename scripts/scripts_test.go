package scripts_test

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/internal/conn"
	"github.com/blueprint-etl/blueprint/internal/devserver"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/starter"
)

// scripts are the shell scripts of this directory.
var scripts = []string{"lib.sh", "up.sh", "demo.sh", "down.sh"}

func readLib(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("lib.sh")
	require.NoError(t, err)
	return string(b)
}

// libVar returns the value of a NAME=value line of lib.sh.
func libVar(t *testing.T, lib, name string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + name + `=("?)([^"\n]*)("?)$`).FindStringSubmatch(lib)
	require.NotNil(t, m, "lib.sh sets %s", name)
	return m[2]
}

// The demo's dev server must run with the settings the tests and the
// benchmarks measure, which devserver.TunedArgs holds.
func TestTunedArgsMatchDevserver(t *testing.T) {
	lib := readLib(t)
	m := regexp.MustCompile(`(?s)\nBP_TUNED_ARGS=\((.*?)\n\)`).FindStringSubmatch(lib)
	require.NotNil(t, m, "lib.sh defines BP_TUNED_ARGS=( ... )")
	assert.Equal(t, devserver.TunedArgs, strings.Fields(m[1]))
}

// The names and addresses the scripts use are the ones the Go code uses.
func TestNamesMatchTheCode(t *testing.T) {
	lib := readLib(t)
	assert.Equal(t, runinfo.TaskQueue, libVar(t, lib, "BP_TASK_QUEUE"))
	assert.Equal(t, conn.DefaultNamespace, libVar(t, lib, "BP_NAMESPACE"))
	_, port, err := net.SplitHostPort(conn.DefaultAddress)
	require.NoError(t, err)
	assert.Equal(t, port, libVar(t, lib, "BP_GRPC_PORT"))
	assert.Equal(t, starter.DefaultUIURL, strings.ReplaceAll(libVar(t, lib, "BP_UI_URL"), "$BP_UI_PORT", libVar(t, lib, "BP_UI_PORT")))
	assert.Contains(t, lib, "--search-attribute "+runinfo.DeploymentSearchAttribute+"=Keyword")
	assert.Contains(t, lib, "--search-attribute "+runinfo.RetryOfSearchAttribute+"=Keyword")
}

func TestScriptsParse(t *testing.T) {
	for _, s := range scripts {
		out, err := exec.Command("bash", "-n", s).CombinedOutput()
		assert.NoError(t, err, "bash -n %s: %s", s, out)
	}
}

// checkout copies the scripts into a fresh directory laid out like the
// repository, so that down.sh works on its pid files, not the real ones.
func checkout(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"scripts", "bin", ".data/pids"} {
		require.NoError(t, os.MkdirAll(filepath.Join(root, d), 0o755))
	}
	for _, s := range scripts {
		b, err := os.ReadFile(s)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(root, "scripts", s), b, 0o755))
	}
	return root
}

// fakeWorker starts a program at root/bin/blueprint-worker (a copy of
// sleep), which is what the worker's command line looks like to the scripts.
func fakeWorker(t *testing.T, root string) *exec.Cmd {
	t.Helper()
	sleep, err := exec.LookPath("sleep")
	require.NoError(t, err)
	b, err := os.ReadFile(sleep)
	require.NoError(t, err)
	bin := filepath.Join(root, "bin", "blueprint-worker")
	require.NoError(t, os.WriteFile(bin, b, 0o755))
	return startProcess(t, bin, "300")
}

func startProcess(t *testing.T, name string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(name, args...)
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	return cmd
}

func writePid(t *testing.T, root, kind string, pid int) string {
	t.Helper()
	f := filepath.Join(root, ".data", "pids", kind+".pid")
	require.NoError(t, os.WriteFile(f, []byte(strconv.Itoa(pid)+"\n"), 0o644))
	return f
}

func runDown(t *testing.T, root string) string {
	t.Helper()
	var out bytes.Buffer
	cmd := exec.Command("bash", filepath.Join(root, "scripts", "down.sh"))
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Run(), "down.sh: %s", out.String())
	return out.String()
}

// alive reports whether pid runs and is not a zombie.
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return runtime.GOOS != "linux"
	}
	f := strings.Fields(string(b))
	return len(f) > 2 && f[2] != "Z"
}

// make down must never kill a process it did not start, even when a stale
// pid file names it (pids are reused).
func TestDownLeavesOtherProcessesAlone(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the ownership check reads /proc")
	}
	root := checkout(t)
	other := startProcess(t, "sleep", "300")
	workerPid := writePid(t, root, "worker", other.Process.Pid)
	serverPid := writePid(t, root, "server", other.Process.Pid)

	out := runDown(t, root)

	assert.True(t, alive(other.Process.Pid), "down.sh killed a process it did not start")
	assert.Contains(t, out, "belongs to another program; leaving it alone")
	assert.NoFileExists(t, workerPid)
	assert.NoFileExists(t, serverPid)
}

func TestDownStopsTheWorkerItStarted(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the ownership check reads /proc")
	}
	root := checkout(t)
	w := fakeWorker(t, root)
	pidFile := writePid(t, root, "worker", w.Process.Pid)

	out := runDown(t, root)

	assert.False(t, alive(w.Process.Pid), "the worker still runs: %s", out)
	assert.Contains(t, out, "Stopped the worker (pid "+strconv.Itoa(w.Process.Pid)+")")
	assert.Contains(t, out, "No server started by make demo is recorded")
	assert.NoFileExists(t, pidFile)
}

func TestDownWithNothingRecorded(t *testing.T) {
	root := checkout(t)
	out := runDown(t, root)
	assert.Contains(t, out, "No worker started by make demo is recorded")
	assert.Contains(t, out, "No server started by make demo is recorded")

	// A pid file naming no process is cleaned up. pid_max itself is never
	// a pid.
	b, err := os.ReadFile("/proc/sys/kernel/pid_max")
	if err != nil {
		t.Skip("no /proc/sys/kernel/pid_max")
	}
	pidMax, err := strconv.Atoi(strings.TrimSpace(string(b)))
	require.NoError(t, err)
	f := writePid(t, root, "server", pidMax)
	out = runDown(t, root)
	assert.Contains(t, out, "no longer running")
	assert.NoFileExists(t, f)
}
