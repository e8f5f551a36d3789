//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/internal/datapipeline"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/source"
	"github.com/blueprint-etl/blueprint/internal/testutil"
	"github.com/blueprint-etl/blueprint/internal/transform"
)

// dumpTables is every text a warehouse keeps about runs, for a grep.
func (w *warehouse) dumpTables(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, q := range []string{
		`SELECT workflow_id, run_id, deployment, source, coalesce(CAST(params AS TEXT), ''), status, coalesce(CAST(rejected_by_reason AS TEXT), ''), error FROM pipeline_runs`,
		`SELECT run_key, stage, cursor, CAST(counts AS TEXT), '', '', '', '' FROM stage_checkpoints`,
		`SELECT run_key, reason, record_id, detail, raw, '', '', '' FROM rejected_records`,
		`SELECT DISTINCT source, '', '', '', '', '', '', '' FROM orders`,
	} {
		rows, err := w.DB().QueryContext(context.Background(), q)
		require.NoError(t, err, q)
		for rows.Next() {
			var cols [8]string
			require.NoError(t, rows.Scan(&cols[0], &cols[1], &cols[2], &cols[3], &cols[4], &cols[5], &cols[6], &cols[7]))
			b.WriteString(strings.Join(cols[:], " | ") + "\n")
		}
		require.NoError(t, rows.Err())
		require.NoError(t, rows.Close())
	}
	return b.String()
}

// TestSecretsNeverShown configures a worker and the CLI with an API key
// (from the environment for the worker, from temporal.toml for the CLI), a
// warehouse URL with a password, sources whose URLs carry an api_key, and a
// bearer token for HTTP sources. A source URL with a password is refused
// wherever it is given (it would be stored in the run's history). The
// credentials are used, but no worker log line, no CLI output (success,
// failure, JSON or table) and no warehouse table holds any of them.
func TestSecretsNeverShown(t *testing.T) {
	t.Parallel()
	const (
		apiKey  = "e2e-temporal-api-key-3f9c1d7a"
		srcPass = "e2e-source-password-71be"
		srcKey  = "e2e-source-api-key-4d2a"
		bearer  = "e2e-bearer-token-9e0c44"
		pgPass  = "e2e-pg-password-5a7f"
	)
	secrets := []string{apiKey, srcPass, srcKey, bearer}
	srv := startServer(t, false)
	wh := postgresWarehouse(t, pgPass)
	if wh == nil {
		t.Log("BLUEPRINT_TEST_POSTGRES_URL is not set: SQLite warehouse, no database password to hide")
		wh = sqliteWarehouse(t)
	} else {
		secrets = append(secrets, pgPass)
	}

	// The source wants the bearer token and the api_key: a run that
	// completes used them.
	var byToken, byPassword atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, _, basic := r.BasicAuth(); basic {
			byPassword.Add(1)
		}
		switch {
		case r.URL.Query().Get("api_key") != srcKey:
			http.Error(w, "no api key", http.StatusUnauthorized)
			return
		case r.Header.Get("Authorization") == "Bearer "+bearer:
			byToken.Add(1)
		default:
			http.Error(w, "who are you", http.StatusUnauthorized)
			return
		}
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, ordersJSON(strings.Trim(r.URL.Path, "/"), 20))
	}))
	t.Cleanup(ts.Close)
	host := strings.TrimPrefix(ts.URL, "http://")
	withKey := func(path string) string { return fmt.Sprintf("http://%s/%s?api_key=%s", host, path, srcKey) }
	withPassword := func(path string) string {
		return fmt.Sprintf("http://etl:%s@%s/%s?api_key=%s", srcPass, host, path, srcKey)
	}

	workerEnv := []string{"BLUEPRINT_DATABASE_URL=" + wh.DSN, "TEMPORAL_API_KEY=" + apiKey, "TEMPORAL_TLS=false",
		"BLUEPRINT_LOG_LEVEL=debug", "BLUEPRINT_LOG_FORMAT=json"}
	workers := []*workerProc{
		startWorker(t, "secrets", srv.addr, workerEnv...),
		startWorker(t, "secrets-token", srv.addr, append(workerEnv, "BLUEPRINT_TASK_QUEUE=e2e-token", "BLUEPRINT_HTTP_BEARER_TOKEN="+bearer)...),
	}

	dir := t.TempDir()
	toml := filepath.Join(dir, "temporal.toml")
	require.NoError(t, os.WriteFile(toml, []byte(fmt.Sprintf(`[profile.default]
address = %q
namespace = "default"
api_key = %q

[profile.default.tls]
disabled = true
`, srv.addr, apiKey)), 0o600))
	manifest := filepath.Join(dir, "deployments.yaml")
	require.NoError(t, os.WriteFile(manifest, []byte(fmt.Sprintf(`deployments:
  - name: sec-no-token
    parameters:
      batch_size: 100
      source_url: %q
  - name: sec-token
    task_queue: e2e-token
    parameters:
      batch_size: 100
      source_url: %q
  - name: sec-nightly
    task_queue: e2e-token
    parameters:
      batch_size: 100
      source_url: %q
    schedule:
      cron: "0 9 * * *"
`, withKey("no-token"), withKey("token"), withKey("nightly"))), 0o600))
	badManifest := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(badManifest, []byte(fmt.Sprintf("deployments:\n  - name: sec-bad\n    parameters:\n      source_url: %q\n",
		"ftp://etl:"+srcPass+"@example.com/x?api_key="+srcKey)), 0o600))
	passwordManifest := filepath.Join(dir, "password.yaml")
	require.NoError(t, os.WriteFile(passwordManifest, []byte(fmt.Sprintf("deployments:\n  - name: sec-password\n    parameters:\n      source_url: %q\n",
		withPassword("password"))), 0o600))

	env := childEnv(t, "TEMPORAL_CONFIG_FILE="+toml, "BLUEPRINT_DATABASE_URL="+wh.DSN,
		fmt.Sprintf("BLUEPRINT_UI_URL=http://127.0.0.1:%d", testutil.FreePort(t)))
	outputs := map[string]string{} // command (redacted) -> what it printed
	cli := func(code int, args ...string) cliResult {
		t.Helper()
		r := blueprint(t, env, args...)
		cmd := strings.Join(args, " ")
		for _, s := range secrets {
			cmd = strings.ReplaceAll(cmd, s, "SECRET")
		}
		outputs[fmt.Sprintf("output of blueprint %s (#%d)", cmd, len(outputs))] = r.stdout + r.stderr
		if code >= 0 {
			require.Equal(t, code, r.code, "blueprint %s\n%s", strings.Join(args, " "), r)
		}
		return r
	}

	view := cli(0, "config", "view")
	require.Regexp(t, `API key:\s+set \(hidden\)`, view.stdout)
	require.Regexp(t, `TLS:\s+off`, view.stdout)
	cli(0, "config", "view", "-o", "json")
	cli(0, "-f", manifest, "deploy")
	cli(0, "-f", manifest, "deploy", "--dry-run", "-o", "json")
	cli(0, "-f", manifest, "deployment", "ls")
	cli(0, "-f", manifest, "deployment", "inspect", "sec-nightly")
	cli(0, "-f", manifest, "deployment", "inspect", "sec-nightly", "-o", "json")
	cli(0, "-f", manifest, "run", "sec-token", "--id", "sec-1", "--watch")
	cli(0, "-f", manifest, "run", "sec-token", "--id", "sec-2", "--watch", "-o", "json")
	cli(1, "-f", manifest, "run", "sec-no-token", "--id", "sec-3", "--watch")
	cli(0, "-f", manifest, "run", "sec-token", "--id", "sec-4", "--param", "batch_size=5")
	cli(1, "-f", manifest, "run", "sec-token", "--id", "sec-5", "--param", "source_url="+withKey("missing"), "--watch")
	// A password in a source URL is refused, wherever it comes from.
	for _, args := range [][]string{
		{"-f", manifest, "run", "sec-token", "--id", "sec-refused-1", "--param", "source_url=" + withPassword("x")},
		{"-f", manifest, "run", "sec-token", "--id", "sec-refused-2", "--params", fmt.Sprintf(`{"source_url": %q}`, withPassword("x"))},
		{"-f", manifest, "run", "sec-token", "--id", "sec-refused-3", "--param", "source_url=ftp://etl:" + srcPass + "@example.com/x?api_key=" + srcKey},
		{"-f", manifest, "run", "sec-token", "--id", "sec-refused-4", "--param", "source_url=http://etl:" + srcPass + "@exa mple.com/?api_key=" + srcKey},
		{"-f", manifest, "run", "sec-token", "--id", "sec-refused-5", "--params", fmt.Sprintf(`{"source_url": "http://etl:%s@%s/x?api_key=%s", "batch_size": "x"}`, srcPass, host, srcKey)},
		{"-f", passwordManifest, "run", "sec-password", "--id", "sec-refused-6"},
		{"-f", passwordManifest, "deploy"},
		{"-f", badManifest, "deploy"},
	} {
		require.NotEmpty(t, cli(2, args...).stderr)
	}
	for _, id := range []string{"sec-1", "sec-2", "sec-3", "sec-4", "sec-5"} {
		cli(0, "runs", "show", id)
		cli(0, "runs", "show", id, "-o", "json")
	}
	cli(0, "runs", "ls")
	cli(0, "runs", "ls", "-o", "json")
	cli(-1, "-f", manifest, "status")
	cli(-1, "-f", manifest, "status", "-o", "json")
	cli(1, "--address", fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t)), "runs", "ls")

	require.Positive(t, byToken.Load(), "the bearer token reached the source")
	require.Zero(t, byPassword.Load(), "no URL with a password reached the source")
	dump := wh.dumpTables(t)
	require.Equal(t, int64(5), wh.count(t, `SELECT count(*) FROM pipeline_runs`), "runs are recorded:\n%s", dump)
	require.Contains(t, dump, "http://"+host+"/token?api_key=xxxxx", "the source is recorded, redacted")

	texts := map[string]string{"warehouse tables": dump}
	for _, w := range workers {
		texts["worker "+w.name+" log"] = w.logs.String()
	}
	for cmd, o := range outputs {
		texts[cmd] = o
	}
	for name, text := range texts {
		for _, s := range secrets {
			assert.NotContains(t, text, s, "%s shows a secret:\n%s", name, text)
		}
	}
}

// TestSQLInjectionIsStoredVerbatim loads records, a workflow ID and a file
// name made of SQL: they are data, stored as they are, and every table is
// intact afterwards. SQLite always; PostgreSQL too when configured.
func TestSQLInjectionIsStoredVerbatim(t *testing.T) {
	t.Parallel()
	srv := startServer(t, false)
	c := srv.client()
	warehouses := []*warehouse{sqliteWarehouse(t)}
	if pg := postgresWarehouse(t, ""); pg != nil {
		warehouses = append(warehouses, pg)
	} else {
		t.Log("BLUEPRINT_TEST_POSTGRES_URL is not set: SQLite only")
	}

	ids := []string{
		`x'); DROP TABLE orders;--`,
		`'; DELETE FROM pipeline_runs WHERE '1'='1`,
		`" OR 1=1 --`,
		`Robert'); DROP TABLE stage_chunks;--`,
		`1; UPDATE orders SET amount = 0`,
		`$1`,
		`?`,
		`\'; --`,
		`%' OR '%'='`,
		`💣'); DROP TABLE rejected_records;--`,
	}
	var lines []string
	for _, id := range ids {
		lines = append(lines, fmt.Sprintf(`{"id":%q,"customer_email":"o'brien+drop@example.com","category":"Books'); DROP TABLE orders;--","amount":"12.50","currency":"EUR","timestamp":"2026-03-01T10:00:00Z"}`, id))
	}
	rejected := []string{
		`{"id":"bad-amount","customer_email":"a@example.com","category":"books","amount":"1; DROP TABLE orders","currency":"EUR","timestamp":"2026-03-01T10:00:00Z"}`,
		`'); DROP TABLE pipeline_runs; --`,
	}
	lines = append(lines, rejected...)
	const workflowID = `inj'); DROP TABLE pipeline_runs;--`
	const file = `inj');DROP_TABLE_orders;--.ndjson`

	for i, wh := range warehouses {
		t.Run(wh.Driver(), func(t *testing.T) {
			root := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(root, file), []byte(strings.Join(lines, "\n")+"\n"), 0o600))
			queue := fmt.Sprintf("e2e-inject-%d", i)
			startWorker(t, queue, srv.addr, "BLUEPRINT_DATABASE_URL="+wh.DSN, "BLUEPRINT_FILE_ROOT="+root, "BLUEPRINT_TASK_QUEUE="+queue)
			src := "file:" + file
			r := startRun(t, c, workflowID, queue, datapipeline.Params{BatchSize: 100, SourceURL: src})
			var sum datapipeline.Summary
			require.NoError(t, r.Get(testContext(t), &sum))
			wh.checkRun(t, expect(t, src, 100, source.Config{FileRoot: root}), sum)

			ctx := context.Background()
			for i, id := range ids {
				want, reason, _ := transform.Normalize([]byte(lines[i]))
				require.Empty(t, reason)
				got, err := wh.Order(ctx, sum.Source, id)
				require.NoError(t, err, "order %q", id)
				require.Equal(t, id, got.ID, "the id is stored verbatim")
				require.Equal(t, []string{want.CustomerEmail, want.Category, want.Amount, want.Currency}, []string{got.CustomerEmail, got.Category, got.Amount, got.Currency})
				require.True(t, want.Timestamp.Equal(got.Timestamp))
			}
			rej, err := wh.Rejected(ctx, runinfo.RunRef{WorkflowID: r.GetID(), RunID: r.GetRunID()}, 0)
			require.NoError(t, err)
			require.Len(t, rej, len(rejected))
			for i, rj := range rej {
				require.Equal(t, rejected[i], rj.Raw, "the rejected record is kept verbatim")
			}
			run, err := wh.GetRun(ctx, runinfo.RunRef{WorkflowID: workflowID, RunID: r.GetRunID()})
			require.NoError(t, err)
			require.Equal(t, workflowID, run.WorkflowID)
			realRoot, err := filepath.EvalSymlinks(root)
			require.NoError(t, err)
			require.Equal(t, "file://"+filepath.Join(realRoot, file), run.Source, "a file source is keyed by its absolute path")
			for _, table := range []string{"orders", "pipeline_runs", "stage_chunks", "stage_checkpoints", "rejected_records", "schema_migrations"} {
				wh.count(t, "SELECT count(*) FROM "+table) // still there
			}
			require.EqualValues(t, len(ids), wh.count(t, `SELECT count(*) FROM orders`))
			require.EqualValues(t, 1, wh.count(t, `SELECT count(*) FROM pipeline_runs`))
		})
	}
}

// TestFileSourcesStayInTheirRoot asks a worker whose file root is a
// temporary directory for files outside it: absolute paths, "..", and a
// symlink that points out. Each run fails at once (BadSource, one
// attempt, no retry) without reading the file.
func TestFileSourcesStayInTheirRoot(t *testing.T) {
	t.Parallel()
	srv := startServer(t, false)
	c := srv.client()
	wh := sqliteWarehouse(t)
	parent := t.TempDir()
	root := filepath.Join(parent, "root")
	require.NoError(t, os.MkdirAll(filepath.Join(root, "sub"), 0o750))
	outside := filepath.Join(parent, "outside.ndjson")
	require.NoError(t, os.WriteFile(outside, []byte(order("secret-1")+"\n"), 0o600))
	require.NoError(t, os.Symlink(outside, filepath.Join(root, "link.ndjson")))
	require.NoError(t, os.WriteFile(filepath.Join(root, "inside.ndjson"), []byte(order("inside-1")+"\n"), 0o600))
	startWorker(t, "files", srv.addr, "BLUEPRINT_DATABASE_URL="+wh.DSN, "BLUEPRINT_FILE_ROOT="+root)

	tests := []struct{ url, msg string }{
		{"file:///etc/passwd", "not supported"},
		{"file://" + outside, "outside the file root"},
		{"file:../outside.ndjson", "outside the file root"},
		{"file:sub/../../outside.ndjson", "outside the file root"},
		{"file:link.ndjson", "outside the file root"},
		{(&url.URL{Scheme: "file", Path: outside}).String(), "outside the file root"},
	}
	for i, tt := range tests {
		r := startRun(t, c, fmt.Sprintf("confined-%d", i), runinfo.TaskQueue, datapipeline.Params{BatchSize: 10, SourceURL: tt.url})
		appErr, acts := mustFail(t, c, r)
		require.Equal(t, runinfo.ErrBadSource, appErr.Type(), tt.url)
		ex := activityOf(t, acts, datapipeline.ExtractActivity)
		require.EqualValues(t, 1, ex.Attempt, "%s is not retried", tt.url)
		require.True(t, ex.NonRetryable)
		require.Contains(t, ex.Failure, tt.msg, tt.url)
		require.NotContains(t, ex.Failure, "secret-1", "the file is not read")
		requireFailedRun(t, wh, r, tt.msg)
	}
	n, err := wh.CountOrders(context.Background(), "")
	require.NoError(t, err)
	require.Zero(t, n)

	// The root itself works.
	r := startRun(t, c, "confined-ok", runinfo.TaskQueue, datapipeline.Params{BatchSize: 10, SourceURL: "file:inside.ndjson"})
	var sum datapipeline.Summary
	require.NoError(t, r.Get(testContext(t), &sum))
	wh.checkRun(t, expect(t, "file:inside.ndjson", 10, source.Config{FileRoot: root}), sum)
}
