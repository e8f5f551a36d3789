package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/cmd/blueprint/internal/cli"
	"github.com/blueprint-etl/blueprint/deployments"
	"github.com/blueprint-etl/blueprint/flows"
	"github.com/blueprint-etl/blueprint/flows/flowstest"
	"github.com/blueprint-etl/blueprint/internal/store"
	"github.com/blueprint-etl/blueprint/internal/store/storetest"
	"github.com/blueprint-etl/blueprint/internal/testutil"
)

func TestStatus(t *testing.T) {
	const name = "cli-status"
	// Pollers outlive a test's worker on the server: each pass has queues
	// of its own.
	queue, adhocQueue := testutil.UniqueID("tq-cli-status"), testutil.UniqueID("tq-cli-status-adhoc")
	cleanupSchedule(t, name)
	path := writeManifest(t, manifestOf(
		deployment(name, queue, `{batch_size: 10}`, chicago9),
		deployment("cli-status-adhoc", adhocQueue, `{batch_size: 10}`, ""),
	))
	ui := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }))
	defer ui.Close()
	t.Setenv("BLUEPRINT_UI_URL", ui.URL)

	// Nothing deployed, no worker.
	r := blueprint(t, "-f", path, "status")
	require.Equal(t, 1, r.code, "%s", r)
	assert.Regexp(t, `(?m)^✓ Temporal server at \S+ is reachable and healthy$`, r.stdout)
	assert.Contains(t, r.stdout, "✓ namespace default exists\n")
	assert.Contains(t, r.stdout, "✓ Web UI at "+ui.URL+" is reachable\n")
	assert.Contains(t, r.stdout, "✗ no worker polls task queue "+queue+" (deployments cli-status): start one with go run ./worker\n")
	assert.Contains(t, r.stdout, "✗ no worker polls task queue "+adhocQueue+" (deployments cli-status-adhoc)")
	assert.Contains(t, r.stdout, "✗ schedule cli-status is not deployed: run blueprint deploy\n")
	assert.Contains(t, r.stdout, "✓ no warehouse at data/warehouse.db here: the workers' was not checked (set BLUEPRINT_DATABASE_URL to check it)\n")
	assert.Equal(t, "blueprint: 3 checks of 7 failed\n", r.stderr)

	flowstest.Start(t, srv.Client(), queue, flows.Registry)
	flowstest.Start(t, srv.Client(), adhocQueue, flows.Registry)
	ok(t, "-f", path, "deploy")
	// A worker is listed once its first poll reaches the server.
	require.Eventually(t, func() bool {
		return blueprint(t, "-f", path, "status").code == 0
	}, 30*time.Second, 200*time.Millisecond)
	r = ok(t, "-f", path, "status")
	assert.NotContains(t, r.stdout, "✗")
	assert.Regexp(t, `(?m)^✓ 1 live worker polling task queue `+queue+`: \d+@\S+ wh=[0-9a-f]{8}$`, r.stdout)
	assert.Regexp(t, `(?m)^✓ schedule cli-status deployed, active, next run \d{4}-\d\d-\d\d 09:00 C[DS]T$`, r.stdout)

	r = ok(t, "-f", path, "status", "-o", "json")
	var report struct {
		OK     bool `json:"ok"`
		Checks []struct {
			Check  string `json:"check"`
			OK     bool   `json:"ok"`
			Detail string `json:"detail"`
		} `json:"checks"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &report), r.stdout)
	assert.True(t, report.OK)
	assert.Len(t, report.Checks, 7)

	// A paused schedule is fine; one that differs from the manifest is not.
	ok(t, "-f", path, "deployment", "pause", name, "--note", "holiday")
	r = ok(t, "-f", path, "status")
	assert.Contains(t, r.stdout, `✓ schedule cli-status deployed, paused (note: "holiday")`)
	changed := writeManifest(t, manifestOf(
		deployment(name, queue, `{batch_size: 11}`, chicago9),
		deployment("cli-status-adhoc", adhocQueue, `{batch_size: 10}`, ""),
	))
	r = blueprint(t, "-f", changed, "status")
	assert.Equal(t, 1, r.code, "%s", r)
	assert.Contains(t, r.stdout, "✗ schedule cli-status differs from the manifest (parameters.batch_size: 10 -> 11): run blueprint deploy")

	// The Web UI down fails its check.
	ui.Close()
	r = blueprint(t, "-f", path, "status")
	assert.Equal(t, 1, r.code, "%s", r)
	assert.Contains(t, r.stdout, "✗ Web UI at "+ui.URL+" does not answer")
}

func TestWorkPoolLs(t *testing.T) {
	// A stopped worker stays listed (offline after a while): each pass
	// (-count=2) has queues of its own.
	queue, idle := testutil.UniqueID("tq-cli-pool"), testutil.UniqueID("tq-cli-pool-idle")
	path := writeManifest(t, manifestOf(
		deployment("cli-pool-a", queue, `{batch_size: 10}`, ""),
		deployment("cli-pool-b", queue, `{batch_size: 10}`, ""),
		deployment("cli-pool-idle", idle, `{batch_size: 10}`, ""),
	))
	flowstest.Start(t, srv.Client(), queue, flows.Registry)
	var r result
	require.Eventually(t, func() bool {
		r = ok(t, "-f", path, "work-pool", "ls")
		return strings.Contains(r.stdout, "workflow,activity")
	}, 30*time.Second, 200*time.Millisecond)
	assert.Regexp(t, `(?m)^TASK QUEUE\s+DEPLOYMENTS\s+WORKER\s+STATE\s+POLLS\s+LAST SEEN$`, r.stdout)
	assert.Regexp(t, `(?m)^`+queue+`\s+cli-pool-a,cli-pool-b\s+\d+@\S+ wh=[0-9a-f]{8}\s+online\s+workflow,activity\s+\d{4}-`, r.stdout)
	assert.Regexp(t, `(?m)^`+idle+`\s+cli-pool-idle\s+\(none\)\s+-\s+-\s+-\s*$`, r.stdout)
	assert.Contains(t, r.stdout, "No live worker polls "+idle)

	r = ok(t, "-f", path, "task-queue", "ls", "-o", "json")
	var queues []struct {
		TaskQueue   string   `json:"task_queue"`
		Deployments []string `json:"deployments"`
		Workers     []struct {
			Identity string   `json:"identity"`
			Polls    []string `json:"polls"`
		} `json:"workers"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &queues), r.stdout)
	require.Len(t, queues, 2)
	assert.Equal(t, []string{"cli-pool-a", "cli-pool-b"}, queues[0].Deployments)
	require.Len(t, queues[0].Workers, 1)
	assert.Equal(t, []string{"workflow", "activity"}, queues[0].Workers[0].Polls)
	assert.Empty(t, queues[1].Workers)
}

// An unreachable server fails fast, with one clear line and exit 1.
func TestUnreachableServer(t *testing.T) {
	// Whatever else runs on this machine, the Web UI is unreachable too.
	t.Setenv("BLUEPRINT_UI_URL", "http://127.0.0.1:1")
	for _, args := range [][]string{
		{"deploy"},
		{"run", "production-etl", "--id", "cli-unreachable"},
		{"runs", "ls"},
		{"runs", "retry", "cli-unreachable"},
		{"deployment", "ls"},
		{"status"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			code := cli.Execute(append([]string{"--address", "127.0.0.1:1"}, args...), strings.NewReader(""), &out, &errb)
			assert.Equal(t, 1, code, "stdout: %s\nstderr: %s", out.String(), errb.String())
			// It fails fast: on the refused connection ("cannot reach"),
			// not at the command's deadline ("did not answer in time").
			// No wall-clock assertion: a loaded machine is slow, not wrong.
			assert.NotContains(t, errb.String(), "did not answer in time")
			lines := strings.Split(strings.TrimSpace(errb.String()), "\n")
			assert.Len(t, lines, 1, "one line: %q", errb.String())
			if args[0] == "status" {
				assert.Regexp(t, `(?m)^✗ .*(cannot reach|connect to) the Temporal server at 127\.0\.0\.1:1`, out.String())
				assert.Equal(t, "blueprint: 2 checks of 3 failed", lines[0], "the server and the Web UI; no warehouse here to check")
				return
			}
			assert.Regexp(t, `^blueprint: .*(cannot reach|connect to) the Temporal server at 127\.0\.0\.1:1`, lines[0])
		})
	}
	notStarted(t, "cli-unreachable")
}

// TestStatusWarehouse checks status's warehouse line: whether the
// warehouse of $BLUEPRINT_DATABASE_URL is reachable from where the CLI
// runs, never with its password.
func TestStatusWarehouse(t *testing.T) {
	t.Setenv("BLUEPRINT_UI_URL", "http://127.0.0.1:1")
	dir := t.TempDir()
	existing := filepath.Join(dir, "warehouse.db")
	st, err := store.Open(context.Background(), "sqlite:"+existing)
	require.NoError(t, err)
	require.NoError(t, st.Close())
	refused := fmt.Sprintf("postgres://etl:db-password-123@127.0.0.1:%d/warehouse?sslmode=disable", testutil.FreePort(t))
	tests := []struct {
		name, dsn, want string
	}{
		{"SQLite file", "sqlite:" + existing, `✓ warehouse sqlite:` + regexp.QuoteMeta(existing) + ` is reachable from here`},
		{"no SQLite file", "sqlite:" + filepath.Join(dir, "missing.db"), `✗ warehouse sqlite:` + regexp.QuoteMeta(filepath.Join(dir, "missing.db")) + ` does not exist here \(check BLUEPRINT_DATABASE_URL\)`},
		{"PostgreSQL refuses", refused, `✗ warehouse postgres://127\.0\.0\.1:\d+/warehouse is unreachable from here: connection refused \(workers wait up to \$BLUEPRINT_WAREHOUSE_WAIT, default 5m0s, for it to come back\)`},
		{"not a warehouse URL", "mysql://etl:db-password-123@db/x", `✗ warehouse: \$BLUEPRINT_DATABASE_URL: store: database URL mysql://etl:xxxxx@db/x: scheme not supported; use postgres://, postgresql://, sqlite: or a path ending in \.db`},
	}
	if pg := os.Getenv(storetest.PostgresEnv); pg != "" {
		tests = append(tests, struct{ name, dsn, want string }{"PostgreSQL", pg, `✓ warehouse postgres://\S+ is reachable from here`})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("BLUEPRINT_DATABASE_URL", tt.dsn)
			var out, errb bytes.Buffer
			code := cli.Execute([]string{"--address", "127.0.0.1:1", "status"}, strings.NewReader(""), &out, &errb)
			assert.Equal(t, 1, code)
			assert.Regexp(t, `(?m)^`+tt.want+`$`, out.String())
			assert.NotContains(t, out.String()+errb.String(), "db-password-123")
		})
	}
}

func TestConfigViewHidesSecrets(t *testing.T) {
	t.Setenv("TEMPORAL_API_KEY", "sk-very-secret-key")
	t.Setenv("BLUEPRINT_DATABASE_URL", "postgres://etl:db-password-123@db.example.com:5432/warehouse?sslmode=require")
	t.Setenv("BLUEPRINT_UI_URL", "https://temporal.example.com/")

	r := ok(t, "config", "view")
	for _, secret := range []string{"sk-very-secret-key", "db-password-123"} {
		assert.NotContains(t, r.stdout+r.stderr, secret)
	}
	assert.Regexp(t, `(?m)^API key:\s+set \(hidden\)$`, r.stdout)
	assert.Regexp(t, `(?m)^Address:\s+127\.0\.0\.1:\d+$`, r.stdout)
	assert.Regexp(t, `(?m)^Namespace:\s+default$`, r.stdout)
	assert.Regexp(t, `(?m)^TLS:\s+on$`, r.stdout, "an API key turns TLS on")
	assert.Regexp(t, `(?m)^Database URL:\s+postgres://etl:xxxxx@db\.example\.com:5432/warehouse\?sslmode=require \(BLUEPRINT_DATABASE_URL\)$`, r.stdout)
	assert.Regexp(t, `(?m)^Web UI:\s+https://temporal\.example\.com$`, r.stdout)
	assert.Regexp(t, `(?m)^Manifest:\s+deployments/deployments\.yaml \(embedded\)$`, r.stdout)

	r = ok(t, "config", "view", "-o", "json")
	assert.NotContains(t, r.stdout, "sk-very-secret-key")
	assert.NotContains(t, r.stdout, "db-password-123")
	var v map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &v))
	assert.Equal(t, true, v["api_key_set"])
	assert.Equal(t, "postgres://etl:xxxxx@db.example.com:5432/warehouse?sslmode=require", v["database_url"])

	t.Setenv("TEMPORAL_API_KEY", "")
	t.Setenv("BLUEPRINT_DATABASE_URL", "")
	r = ok(t, "config", "view")
	assert.Regexp(t, `(?m)^API key:\s+not set$`, r.stdout)
	assert.Regexp(t, `(?m)^Database URL:\s+sqlite:data/warehouse\.db \(default\)$`, r.stdout)
	assert.Regexp(t, `(?m)^Encryption:\s+off \(BLUEPRINT_ENCRYPTION_KEYS not set\)$`, r.stdout)

	const key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" // 32 bytes
	t.Setenv("BLUEPRINT_ENCRYPTION_KEYS", "k2:"+key+",k1:"+key)
	r = ok(t, "config", "view")
	assert.Regexp(t, `(?m)^Encryption:\s+on, AES-256-GCM, key k2 \(also decrypts k1\)$`, r.stdout)
	assert.NotContains(t, r.stdout, key)
	r = ok(t, "config", "view", "-o", "json")
	assert.NotContains(t, r.stdout, key)
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &v))
	assert.Equal(t, []any{"k2", "k1"}, v["encryption_keys"])

	t.Setenv("BLUEPRINT_ENCRYPTION_KEYS", "k1:"+key+",k1:"+key)
	r = blueprint(t, "config", "view")
	assert.Equal(t, 2, r.code, "a bad key list is bad input")
	assert.Contains(t, r.stderr, `blueprint: BLUEPRINT_ENCRYPTION_KEYS: entry 2: key ID "k1" is listed twice`)
	assert.NotContains(t, r.stderr, key)
}

// config view names the manifest the other commands read, not the embedded
// copy, when a file is in use.
func TestConfigViewNamesTheManifestInUse(t *testing.T) {
	dir := t.TempDir()
	embedded := deployments.DefaultYAML()
	env := filepath.Join(dir, "env.yaml")
	require.NoError(t, os.WriteFile(env, embedded, 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "deployments"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "deployments", "deployments.yaml"), embedded, 0o644))

	t.Setenv(deployments.ManifestEnv, env)
	assert.Regexp(t, `(?m)^Manifest:\s+`+regexp.QuoteMeta(env)+`$`, ok(t, "config", "view").stdout)
	assert.Regexp(t, `(?m)^Manifest:\s+flag\.yaml$`, ok(t, "config", "view", "-f", "flag.yaml").stdout)
	t.Setenv(deployments.ManifestEnv, "")
	t.Chdir(dir)
	assert.Regexp(t, `(?m)^Manifest:\s+deployments/deployments\.yaml$`, ok(t, "config", "view").stdout)
}

// Every command explains itself: Short, Long and Example.
func TestHelp(t *testing.T) {
	root := cli.NewRootCommand(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Name() == "help" || c.Name() == "completion" || c.Hidden {
			return
		}
		assert.NotEmpty(t, c.Short, "%s: Short", c.CommandPath())
		assert.NotEmpty(t, c.Long, "%s: Long", c.CommandPath())
		assert.NotEmpty(t, c.Example, "%s: Example", c.CommandPath())
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)

	r := ok(t, "--help")
	for _, c := range []string{"deploy", "deployment", "run", "runs", "work-pool", "status", "config", "version"} {
		assert.Regexp(t, `(?m)^  `+c+`\s+\S`, r.stdout, "blueprint --help lists %s", c)
	}
	r = ok(t, "deployment", "--help")
	for _, c := range []string{"ls", "inspect", "pause", "resume", "backfill", "trigger", "run"} {
		assert.Regexp(t, `(?m)^  `+c+`\s+\S`, r.stdout, "blueprint deployment --help lists %s", c)
	}
	r = ok(t, "run", "--help")
	assert.Contains(t, r.stdout, "batch_size")
	assert.Contains(t, r.stdout, "source_url")

	r = ok(t, "version")
	assert.Regexp(t, `^blueprint \S+ \(go1\.\d+.*, Temporal Go SDK \d+\.\d+\.\d+\)\n$`, r.stdout)
}
