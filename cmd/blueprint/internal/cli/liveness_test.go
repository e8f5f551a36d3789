package cli_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/cmd/blueprint/internal/cli"
	"github.com/blueprint-etl/blueprint/flows"
	"github.com/blueprint-etl/blueprint/flows/flowstest"
	"github.com/blueprint-etl/blueprint/internal/devserver"
	"github.com/blueprint-etl/blueprint/internal/fleet"
	"github.com/blueprint-etl/blueprint/internal/testutil"
)

// Liveness is tested with a short long-poll expiry on the server and a
// threshold to match, so that the test takes seconds, not minutes: the
// rule (offline once the last poll is older than the long poll plus a
// margin) is the same as with the defaults, 60 s and 75 s.
const (
	testLongPoll     = "3s"
	testOfflineAfter = 8 * time.Second
)

// TestKilledWorkerShowsOffline kills a real worker process with SIGKILL:
// status exits 1 and names it offline with when it was last seen, run
// warns, --watch and runs show say the run waits for a worker, and a
// restarted worker makes status exit 0 again. A live idle worker never
// shows offline.
func TestKilledWorkerShowsOffline(t *testing.T) {
	if testing.Short() {
		t.Skip("starts its own dev server and worker processes")
	}
	lsrv, err := devserver.Start(context.Background(), devserver.Options{
		ExtraArgs: []string{"--dynamic-config-value", `matching.longPollExpirationInterval="` + testLongPoll + `"`},
	})
	require.NoError(t, err)
	t.Cleanup(func() { lsrv.Client().Close(); _ = lsrv.Stop() })
	t.Setenv(fleet.OfflineAfterEnv, testOfflineAfter.String())
	ui := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }))
	defer ui.Close()
	t.Setenv("BLUEPRINT_UI_URL", ui.URL)

	queue := testutil.UniqueID("tq-live")
	path := writeManifest(t, manifestOf(deployment("live-etl", queue, `{batch_size: 10}`, "")))
	bp := func(args ...string) result {
		var out, errb strings.Builder
		all := append([]string{"--address", lsrv.FrontendHostPort(), "-f", path}, args...)
		code := cli.Execute(all, strings.NewReader(""), &out, &errb)
		return result{code: code, stdout: out.String(), stderr: errb.String()}
	}

	bin := filepath.Join(t.TempDir(), "blueprint-worker")
	out, err := exec.Command("go", "build", "-o", bin, "../../../../worker").CombinedOutput()
	require.NoError(t, err, "%s", out)
	warehouse := "sqlite:" + filepath.Join(t.TempDir(), "w.db")
	start := func() *exec.Cmd {
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(), "TEMPORAL_ADDRESS="+lsrv.FrontendHostPort(), "BLUEPRINT_TASK_QUEUE="+queue,
			"BLUEPRINT_DATABASE_URL="+warehouse, "BLUEPRINT_METRICS_ADDR=off")
		logs := &testutil.SyncBuffer{}
		cmd.Stdout, cmd.Stderr = logs, logs
		require.NoError(t, cmd.Start())
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		return cmd
	}

	w := start()
	require.Eventually(t, func() bool { return bp("status").code == 0 }, 30*time.Second, 200*time.Millisecond, "the worker comes online")

	// Alive and idle for longer than twice the offline threshold: still
	// online. The server's record of the worker's polls says when that is
	// (a poll made that long after the first one), not the test's clock.
	lastPoll := func() time.Time {
		q, err := fleet.Describe(context.Background(), lsrv.Client(), queue, testOfflineAfter, time.Now())
		require.NoError(t, err)
		return q.LastSeen()
	}
	first := lastPoll()
	require.Eventually(t, func() bool { return lastPoll().Sub(first) > 2*testOfflineAfter }, 2*testOfflineAfter+time.Minute, 200*time.Millisecond,
		"the idle worker keeps polling")
	r := bp("status")
	require.Equal(t, 0, r.code, "a worker idle for longer than the threshold, but polling, is online\n%s", r)
	r = bp("run", "live-etl", "--id", testutil.UniqueID("live-ok"))
	require.Equal(t, 0, r.code, "%s", r)
	assert.NotContains(t, r.stderr, "warning")

	require.NoError(t, w.Process.Signal(syscall.SIGKILL))
	_ = w.Wait()
	killed := time.Now()
	require.Eventually(t, func() bool { return bp("status").code == 1 }, testOfflineAfter+20*time.Second, 500*time.Millisecond,
		"status exits 1 once the killed worker's last poll is older than the threshold")
	t.Logf("status saw the killed worker offline after %s (threshold %s)", time.Since(killed).Round(100*time.Millisecond), testOfflineAfter)
	r = bp("status")
	assert.Regexp(t, `(?m)^✗ no live worker polls task queue `+regexp.QuoteMeta(queue)+` \(deployments live-etl\); offline: \d+@\S+ wh=[0-9a-f]{8} last seen \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+ \(.+ ago\); start one with go run \./worker$`, r.stdout)
	r = bp("work-pool", "ls")
	assert.Regexp(t, `(?m)^`+regexp.QuoteMeta(queue)+`\s+live-etl\s+\d+@\S+ wh=[0-9a-f]{8}\s+offline\s+workflow,activity\s+\d{4}-`, r.stdout)
	assert.Contains(t, r.stdout, "No live worker polls "+queue)

	// A run started now waits, and every view says why.
	id := testutil.UniqueID("live-wait")
	r = bp("run", "live-etl", "--id", id)
	require.Equal(t, 0, r.code, "%s", r)
	assert.Contains(t, r.stderr, "warning: no live worker polls task queue "+queue+", last seen ")
	r = bp("run", "live-etl", "--id", id+"-watch", "--watch", "--timeout", "3s")
	require.Equal(t, 1, r.code, "%s", r)
	assert.Regexp(t, `(?m)^waiting for a worker: no live worker polls task queue `+regexp.QuoteMeta(queue)+`, last seen .+; the run waits until one starts \(go run \./worker\)$`, r.stdout)
	r = bp("runs", "show", id)
	require.Equal(t, 0, r.code, "%s", r)
	assert.Regexp(t, `(?m)^\s+Waiting:\s+for a worker: no live worker polls task queue `+regexp.QuoteMeta(queue), r.stdout)

	// A restarted worker: status exits 0 again and the waiting run completes.
	start()
	require.Eventually(t, func() bool { return bp("status").code == 0 }, 30*time.Second, 200*time.Millisecond, "the restarted worker comes online")
	r = bp("run", "live-etl", "--id", id+"-after", "--watch", "--timeout", "1m")
	require.Equal(t, 0, r.code, "%s", r)
	assert.NotContains(t, r.stderr, "warning")
	require.Eventually(t, func() bool {
		r := bp("runs", "show", id)
		return strings.Contains(r.stdout, "completed") && !strings.Contains(r.stdout, "Waiting:")
	}, time.Minute, 500*time.Millisecond, "the run that waited completes")
}

// TestStatusFlagsMixedWarehouses runs two workers on one task queue with
// different warehouses: status fails and names both.
func TestStatusFlagsMixedWarehouses(t *testing.T) {
	ui := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }))
	defer ui.Close()
	t.Setenv("BLUEPRINT_UI_URL", ui.URL)
	queue := testutil.UniqueID("tq-mixed")
	path := writeManifest(t, manifestOf(deployment("mixed-etl", queue, `{batch_size: 10}`, "")))
	flowstest.Start(t, srv.Client(), queue, flows.Registry)
	flowstest.Start(t, srv.Client(), queue, flows.Registry)
	var r result
	require.Eventually(t, func() bool {
		r = blueprint(t, "-f", path, "status")
		return strings.Contains(r.stdout, "2 live workers")
	}, 30*time.Second, 200*time.Millisecond)
	require.Equal(t, 1, r.code, "%s", r)
	assert.Regexp(t, `(?m)^✗ workers of task queue `+regexp.QuoteMeta(queue)+` use different warehouses: wh=[0-9a-f]{8} \(\d+@\S+\), wh=[0-9a-f]{8} \(\d+@\S+\); every worker of a task queue must use the same BLUEPRINT_DATABASE_URL`, r.stdout)
	r = blueprint(t, "-f", path, "work-pool", "ls")
	assert.Contains(t, r.stdout, "Workers on different warehouses, "+queue+": wh=")
}
