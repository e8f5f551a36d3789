package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every bad input exits 2 with a one-line message naming the problem, and
// starts, creates or changes nothing.
func TestBadInputExitsTwoAndChangesNothing(t *testing.T) {
	const name = "cli-bad"
	cleanupSchedule(t, name)
	good := writeManifest(t, manifestOf(
		deployment(name, "tq-cli-bad", `{batch_size: 10}`, chicago9),
		deployment("cli-bad-adhoc", "tq-cli-bad", `{batch_size: 10}`, ""),
	))
	ok(t, "-f", good, "deploy")
	ok(t, "-f", good, "deployment", "pause", name, "--note", "before the bad inputs")
	before := scheduleDescription(t, name)

	dir := t.TempDir()
	badCron := filepath.Join(dir, "bad-cron.yaml")
	require.NoError(t, os.WriteFile(badCron, []byte(manifestOf(
		deployment("cli-bad-new", "tq-cli-bad", `{batch_size: 10}`, chicago9),
		deployment("cli-bad-question", "tq-cli-bad", `{batch_size: 10}`, "      cron: \"0 9 ? * *\"\n"),
	)), 0o600))
	credentials := filepath.Join(dir, "credentials.yaml")
	require.NoError(t, os.WriteFile(credentials, []byte(manifestOf(
		deployment("cli-bad-credentials", "tq-cli-bad", `{source_url: "https://etl:hunter2@example.com/orders"}`, chicago9),
	)), 0o600))
	badYAML := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(badYAML, []byte("deployments:\n  - name: cli-bad-new\n    parameters: {batch_size: many}\n"), 0o600))

	tests := []struct {
		name string
		args []string
		msg  string // the one-line message on stderr
		// started is the workflow ID the command would have started.
		started string
		// created is a schedule the command would have created.
		created string
	}{
		{"unknown command", []string{"frobnicate"}, `unknown command "frobnicate" for "blueprint"`, "", ""},
		{"unknown flag", []string{"-f", good, "run", name, "--id", "bad-1", "--bogus"}, "unknown flag: --bogus", "bad-1", ""},
		{"missing argument", []string{"-f", good, "run"}, "accepts 1 arg(s), received 0", "", ""},
		{"extra argument", []string{"-f", good, "run", name, "extra", "--id", "bad-2"}, "accepts 1 arg(s), received 2", "bad-2", ""},
		{"unknown deployment", []string{"-f", good, "run", "cli-bda", "--id", "bad-3"}, `unknown deployment "cli-bda"`, "bad-3", ""},
		{"param not an integer", []string{"-f", good, "run", name, "--id", "bad-4", "--param", "batch_size=abc"}, `--param "batch_size=abc": batch_size must be an integer, got "abc"`, "bad-4", ""},
		{"unknown param", []string{"-f", good, "run", name, "--id", "bad-5", "--param", "batchsize=5"}, `unknown parameter "batchsize"`, "bad-5", ""},
		{"param without =", []string{"-f", good, "run", name, "--id", "bad-6", "--param", "batch_size"}, `--param "batch_size": must be key=value`, "bad-6", ""},
		{"param out of range", []string{"-f", good, "run", name, "--id", "bad-7", "--param", "batch_size=0"}, "batch_size=0: must be at least 1", "bad-7", ""},
		{"bad source URL", []string{"-f", good, "run", name, "--id", "bad-8", "--param", "source_url=ftp://example.com/x"}, `scheme "ftp" is not supported`, "bad-8", ""},
		{"credentials in --param", []string{"-f", good, "run", name, "--id", "bad-8c", "--param", "source_url=https://etl:hunter2@example.com/x"}, `source_url="https://etl:xxxxx@example.com/x": must not carry credentials`, "bad-8c", ""},
		{"credentials in --params", []string{"-f", good, "run", name, "--id", "bad-8d", "--params", `{"source_url": "https://hunter2@example.com/x"}`}, `source_url="https://xxxxx@example.com/x": must not carry credentials`, "bad-8d", ""},
		{"credentials in the manifest, run", []string{"-f", credentials, "run", "cli-bad-credentials", "--id", "bad-8e"}, "must not carry credentials", "bad-8e", ""},
		{"credentials in the manifest, deploy", []string{"-f", credentials, "deploy"}, "BLUEPRINT_HTTP_BEARER_TOKEN", "", "cli-bad-credentials"},
		{"params not JSON", []string{"-f", good, "run", name, "--id", "bad-9", "--params", "{batch_size: 5"}, "--params", "bad-9", ""},
		{"params file missing", []string{"-f", good, "run", name, "--id", "bad-10", "--params", "@" + filepath.Join(dir, "nope.json")}, "no such file or directory", "bad-10", ""},
		{"negative timeout", []string{"-f", good, "run", name, "--id", "bad-11", "--watch", "--timeout", "-1s"}, "--timeout -1s: must not be negative", "bad-11", ""},
		{"timeout without watch", []string{"-f", good, "run", name, "--id", "bad-12", "--timeout", "1m"}, "--timeout applies to --watch", "bad-12", ""},
		{"bad output format", []string{"-f", good, "-o", "yaml", "run", name, "--id", "bad-13"}, `-o/--output "yaml": must be table or json`, "bad-13", ""},
		{"manifest missing", []string{"-f", filepath.Join(dir, "missing.yaml"), "deploy"}, "manifest: stat", "", ""},
		{"manifest invalid", []string{"-f", badYAML, "deploy"}, "deployments[0].parameters.batch_size: must be an integer", "", "cli-bad-new"},
		{"cron the server would reject", []string{"-f", badCron, "deploy"}, `the "?" wildcard is not supported by Temporal`, "", "cli-bad-new"},
		{"start-in zero", []string{"-f", good, "run", name, "--id", "bad-14", "--start-in", "0s"}, "--start-in 0s: must be more than zero", "bad-14", ""},
		{"start-in negative", []string{"-f", good, "run", name, "--id", "bad-15", "--start-in", "-5m"}, "--start-in -5m: must be more than zero", "bad-15", ""},
		{"start-in not a duration", []string{"-f", good, "run", name, "--id", "bad-16", "--start-in", "soon"}, `--start-in "soon": not a duration`, "bad-16", ""},
		{"start-at in the past", []string{"-f", good, "run", name, "--id", "bad-17", "--start-at", "2020-01-01T09:00:00-06:00"}, "--start-at 2020-01-01T09:00:00-06:00: is not in the future", "bad-17", ""},
		{"start-at not RFC 3339", []string{"-f", good, "run", name, "--id", "bad-18", "--start-at", "tomorrow 9am"}, `--start-at "tomorrow 9am": not an RFC 3339 time`, "bad-18", ""},
		{"start-in and start-at", []string{"-f", good, "run", name, "--id", "bad-19", "--start-in", "1h", "--start-at", "2099-01-01T00:00:00Z"}, "--start-in 1h and --start-at 2099-01-01T00:00:00Z: give one or the other, not both", "bad-19", ""},
		{"runs retry unknown", []string{"-f", good, "runs", "retry", "no-such-run", "--id", "bad-20"}, `no run no-such-run in namespace default`, "bad-20", ""},
		{"runs retry timeout without watch", []string{"-f", good, "runs", "retry", "no-such-run", "--id", "bad-21", "--timeout", "1m"}, "--timeout applies to --watch", "bad-21", ""},
		{"runs ls bad status", []string{"runs", "ls", "--status", "exploded"}, `--status "exploded": must be one of scheduled, running, completed, failed, cancelled, terminated, timed_out`, "", ""},
		{"runs ls bad limit", []string{"runs", "ls", "--limit", "0"}, "--limit 0: must be from 1 to 1000", "", ""},
		{"runs ls bad deployment", []string{"runs", "ls", "--deployment", "x' OR '1'='1"}, "not a deployment name", "", ""},
		{"runs show unknown", []string{"runs", "show", "no-such-run"}, `no run with workflow ID "no-such-run" in namespace default`, "", ""},
		{"runs cancel unknown", []string{"runs", "cancel", "no-such-run"}, `no run with workflow ID "no-such-run" in namespace default`, "", ""},
		{"backfill from after to", []string{"-f", good, "deployment", "backfill", name, "--from", "2025-01-02T00:00:00Z", "--to", "2025-01-01T00:00:00Z"}, "--from 2025-01-02T00:00:00Z must be before --to 2025-01-01T00:00:00Z", "", ""},
		{"backfill bad time", []string{"-f", good, "deployment", "backfill", name, "--from", "yesterday", "--to", "2025-01-01T00:00:00Z"}, `--from "yesterday": not an RFC 3339 time`, "", ""},
		{"backfill missing flag", []string{"-f", good, "deployment", "backfill", name, "--from", "2025-01-01T00:00:00Z"}, `required flag(s) "to" not set`, "", ""},
		{"backfill nothing due", []string{"-f", good, "deployment", "backfill", name, "--from", "2025-01-01T16:00:00Z", "--to", "2025-01-01T17:00:00Z"}, "is due between", "", ""},
		{"backfill bad overlap", []string{"-f", good, "deployment", "backfill", name, "--from", "2025-01-01T00:00:00Z", "--to", "2025-01-02T00:00:00Z", "--overlap", "sometimes"}, `--overlap: unknown overlap policy "sometimes"`, "", ""},
		{"pause unscheduled deployment", []string{"-f", good, "deployment", "pause", "cli-bad-adhoc"}, `deployment "cli-bad-adhoc" has no schedule`, "", ""},
		{"inspect unknown deployment", []string{"-f", good, "deployment", "inspect", "cli-bad-nope"}, `unknown deployment "cli-bad-nope"`, "", ""},
		{"codec-server bad listen", []string{"codec-server", "--listen", "8081"}, `--listen "8081": must be host:port (like 127.0.0.1:8081)`, "", ""},
		{"codec-server bad port", []string{"codec-server", "--listen", "127.0.0.1:http"}, `--listen "127.0.0.1:http": port "http" must be a number from 0 to 65535`, "", ""},
		{"codec-server bad origin", []string{"codec-server", "--ui-origin", "localhost:8233"}, `--ui-origin "localhost:8233": must start with http:// or https://`, "", ""},
		{"codec-server origin with path", []string{"codec-server", "--ui-origin", "http://localhost:8233/namespaces"}, "must be an origin: scheme://host:port, no path", "", ""},
		{"codec-server without keys", []string{"codec-server", "--listen", "127.0.0.1:0"}, "BLUEPRINT_ENCRYPTION_KEYS is not set", "", ""},
		{"codec-server extra argument", []string{"codec-server", "now"}, `unknown command "now" for "blueprint codec-server"`, "", ""},
		{"unknown subcommand", []string{"deployment", "explode"}, `unknown command "explode" for "blueprint deployment"`, "", ""},
	}
	require.GreaterOrEqual(t, len(tests), 15)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := blueprint(t, tt.args...)
			require.Equal(t, 2, r.code, "%s", r)
			assert.Empty(t, r.stdout, "nothing on stdout")
			first, _, _ := strings.Cut(r.stderr, "\n")
			assert.True(t, strings.HasPrefix(first, "blueprint: "), "stderr: %q", r.stderr)
			assert.Contains(t, first, tt.msg, "the message is on one line")
			assert.NotContains(t, r.stderr, "Usage:", "no usage dump")
			assert.NotContains(t, r.stderr, "hunter2", "credentials are never printed")
			if tt.started != "" {
				notStarted(t, tt.started)
			}
			if tt.created != "" {
				assert.Nil(t, scheduleDescription(t, tt.created), "schedule %s must not be created", tt.created)
			}
		})
	}

	after := scheduleDescription(t, name)
	assert.Equal(t, before.Info.NumActions, after.Info.NumActions, "no run was started by the schedule")
	assert.Equal(t, before.Info.LastUpdateAt, after.Info.LastUpdateAt, "the schedule was not changed")
	assert.True(t, after.Schedule.State.Paused)
	assert.Equal(t, "before the bad inputs", after.Schedule.State.Note)
}
