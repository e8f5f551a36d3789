package main_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/blueprint-etl/blueprint/flows"
	"github.com/blueprint-etl/blueprint/internal/datapipeline"
	"github.com/blueprint-etl/blueprint/internal/devserver"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/store"
	"github.com/blueprint-etl/blueprint/internal/testutil"
)

var workerBin string

func TestMain(m *testing.M) {
	// Without the Temporal CLI the package stops at once, with one line.
	if _, err := devserver.Binary(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	dir, err := os.MkdirTemp("", "blueprint-worker")
	if err != nil {
		panic(err)
	}
	workerBin = filepath.Join(dir, "blueprint-worker")
	if out, err := exec.Command("go", "build", "-o", workerBin, ".").CombinedOutput(); err != nil {
		panic(fmt.Sprintf("build worker: %v\n%s", err, out))
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

func TestUnreachableServerFailsFast(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, workerBin)
	cmd.Env = append(os.Environ(), "TEMPORAL_ADDRESS="+testutil.FreeAddr(t), "BLUEPRINT_METRICS_ADDR=off",
		"BLUEPRINT_DATABASE_URL=sqlite:"+filepath.Join(t.TempDir(), "w.db"))
	out, err := cmd.CombinedOutput()
	var exitErr *exec.ExitError
	require.ErrorAs(t, err, &exitErr, "output: %s", out)
	require.NotEqual(t, 0, exitErr.ExitCode())
	require.Contains(t, string(out), "cannot reach the Temporal server")
	require.NotContains(t, string(out), "goroutine ", "no stack trace")
}

func TestBadConfigurationIsRefused(t *testing.T) {
	for _, tc := range []struct{ env, want string }{
		{"BLUEPRINT_LOG_FORMAT=xml", `BLUEPRINT_LOG_FORMAT="xml"`},
		{"BLUEPRINT_LOG_LEVEL=loud", `BLUEPRINT_LOG_LEVEL="loud"`},
		{"BLUEPRINT_HTTP_TIMEOUT=soon", `BLUEPRINT_HTTP_TIMEOUT="soon"`},
		{"BLUEPRINT_MAX_RESPONSE_BYTES=-1", `BLUEPRINT_MAX_RESPONSE_BYTES="-1"`},
		{"BLUEPRINT_WAREHOUSE_WAIT=forever", `BLUEPRINT_WAREHOUSE_WAIT="forever": must be a duration from 0s (do not wait) to 1h0m0s, such as 5m`},
		{"BLUEPRINT_WAREHOUSE_WAIT=2h", `BLUEPRINT_WAREHOUSE_WAIT="2h": must be a duration from 0s`},
	} {
		t.Run(tc.env, func(t *testing.T) {
			cmd := exec.Command(workerBin)
			cmd.Env = append(os.Environ(), tc.env, "BLUEPRINT_METRICS_ADDR=off")
			out, err := cmd.CombinedOutput()
			require.Error(t, err)
			require.Contains(t, string(out), tc.want)
		})
	}
}

// TestFlowTablesNewerThanTheCode: a worker whose warehouse has a version
// of a flow's tables that the flow does not declare (its code went back)
// stops before it polls, naming the flow and the version.
func TestFlowTablesNewerThanTheCode(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "w.db")
	st, err := store.Open(ctx, dsn)
	require.NoError(t, err)
	name := flows.Registry.Flows().Names()[0]
	_, err = st.DB().ExecContext(ctx, `INSERT INTO flow_migrations (owner, version, applied_at) VALUES ($1, 1000, $2)`, name, st.TimeArg(time.Now()))
	require.NoError(t, err)
	require.NoError(t, st.Close())

	// An unreachable server: the worker stops before it would dial it.
	cmd := exec.CommandContext(ctx, workerBin)
	cmd.Env = append(os.Environ(), "TEMPORAL_ADDRESS="+testutil.FreeAddr(t), "BLUEPRINT_METRICS_ADDR=off", "BLUEPRINT_DATABASE_URL="+dsn)
	out, err := cmd.CombinedOutput()
	var exitErr *exec.ExitError
	require.ErrorAs(t, err, &exitErr, "output: %s", out)
	require.Contains(t, string(out), fmt.Sprintf(`worker: migrate the flows' tables in sqlite:%s: flow %q: migration version 1000 was applied to the warehouse but is no longer declared`, strings.TrimPrefix(dsn, "sqlite:"), name))
	require.NotContains(t, string(out), "cannot reach the Temporal server")
}

// TestWorkerProcess runs the worker binary against a dev server: it runs a
// pipeline, logs JSON lines carrying the workflow and activity ids,
// exports metrics, never prints the API key, and stops cleanly on SIGTERM.
func TestWorkerProcess(t *testing.T) {
	srv := devserver.ForTest(t)
	metrics := testutil.FreeAddr(t)
	logs := &testutil.SyncBuffer{}
	dbPath := filepath.Join(t.TempDir(), "w.db")
	cmd := exec.Command(workerBin)
	cmd.Env = append(os.Environ(),
		"TEMPORAL_ADDRESS="+srv.FrontendHostPort(),
		"BLUEPRINT_DATABASE_URL=sqlite:"+dbPath,
		"BLUEPRINT_LOG_FORMAT=json",
		"BLUEPRINT_METRICS_ADDR="+metrics,
	)
	cmd.Stdout, cmd.Stderr = logs, logs
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run, err := srv.Client().ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "worker-process", TaskQueue: runinfo.TaskQueue},
		datapipeline.WorkflowType, datapipeline.Params{BatchSize: 2000, SourceURL: "demo://orders"})
	require.NoError(t, err)
	var sum datapipeline.Summary
	require.NoError(t, run.Get(ctx, &sum))
	require.Equal(t, int64(2000), sum.Extracted)

	resp, err := http.Get("http://" + metrics + "/metrics")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Contains(t, string(body), "blueprint_rows_extracted")
	require.Contains(t, string(body), "temporal_activity_execution_latency")

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, cmd.Wait(), "graceful stop exits 0; logs:\n%s", logs.String())

	activityLines := 0
	sc := bufio.NewScanner(strings.NewReader(logs.String()))
	for sc.Scan() {
		var line map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &line), "not a JSON line: %s", sc.Text())
		if line["msg"] == "worker started" {
			// The resolved warehouse, and its fingerprint in the identity
			// the CLI compares.
			require.Equal(t, "sqlite:"+dbPath, line["warehouse"], "the start-up line names the warehouse")
			require.Regexp(t, `^wh=[0-9a-f]{8}$`, line["warehouse_id"])
			require.Regexp(t, `^\d+@\S+ `+line["warehouse_id"].(string)+`$`, line["identity"])
		}
		if line["msg"] == "extracted" || line["msg"] == "loaded" {
			activityLines++
			require.Equal(t, "worker-process", line["WorkflowID"])
			require.NotEmpty(t, line["ActivityID"])
		}
	}
	require.Equal(t, 2, activityLines)
	require.Contains(t, logs.String(), "worker stopped")
}

// TestCommandLine: the worker takes no flags; --help prints the
// configuration it reads and starts nothing, anything else exits 2.
func TestCommandLine(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--help"}, 0, "Usage: blueprint-worker"},
		{[]string{"-h"}, 0, "BLUEPRINT_DATABASE_URL"},
		{[]string{"-help"}, 0, "runs every registered flow (" + strings.Join(flows.Registry.Flows().Names(), ", ") + ")"},
		{[]string{"--queue", "x"}, 2, "blueprint-worker: flag provided but not defined: -queue; it takes no flags"},
		{[]string{"start"}, 2, `blueprint-worker: unexpected argument "start"`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			// An unreachable server: had the worker started, it would say so.
			cmd := exec.Command(workerBin, tc.args...)
			cmd.Env = append(os.Environ(), "TEMPORAL_ADDRESS="+testutil.FreeAddr(t), "BLUEPRINT_METRICS_ADDR=off",
				"BLUEPRINT_DATABASE_URL=sqlite:"+filepath.Join(t.TempDir(), "w.db"))
			out, err := cmd.CombinedOutput()
			code := 0
			var exitErr *exec.ExitError
			if errors.As(err, &exitErr) {
				code = exitErr.ExitCode()
			}
			require.Equal(t, tc.code, code, "%s", out)
			require.Contains(t, string(out), tc.want)
			require.NotContains(t, string(out), "cannot reach the Temporal server", "nothing was started")
		})
	}
}
