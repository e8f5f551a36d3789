//go:build e2e

package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/blueprint-etl/blueprint/internal/datapipeline"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
)

// goodManifest is the manifest the bad command lines use; the manifest
// cases each change one thing in a copy of its first deployment.
const goodManifest = `deployments:
  - name: e2e-adhoc
    parameters:
      batch_size: 10
      source_url: demo://orders
  - name: e2e-nightly
    parameters:
      batch_size: 10
    schedule:
      cron: "0 9 * * *"
      timezone: America/Chicago
`

// badManifestDeployment starts the one deployment of a bad manifest; its
// name is the schedule a deploy would create.
const badManifestDeployment = "deployments:\n  - name: e2e-bad\n"

// TestBadInput feeds the CLI and the manifest loader malformed, mistyped,
// out-of-range and misspelled input. Each one exits 2 with one line naming
// the problem, and creates no workflow, no schedule and no row, although a
// worker is polling and the server accepts anything. The same parameters
// sent straight to the workflow, as the Web UI or the Temporal CLI would,
// fail it with a non-retryable InvalidParameters error before any activity.
func TestBadInput(t *testing.T) {
	t.Parallel()
	srv := startServer(t, false)
	c := srv.client()
	wh := sqliteWarehouse(t)
	startWorker(t, "badinput", srv.addr, "BLUEPRINT_DATABASE_URL="+wh.DSN)
	env := childEnv(t, "TEMPORAL_ADDRESS="+srv.addr)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	require.NoError(t, os.WriteFile(good, []byte(goodManifest), 0o600))

	type badInput struct {
		name string
		args []string
		// msg is part of the one-line message.
		msg string
		// workflowID is the --id a run would have used.
		workflowID string
	}
	var cases []badInput
	run := func(name, msg string, args ...string) {
		id := fmt.Sprintf("bad-%d", len(cases))
		cases = append(cases, badInput{name, append([]string{"-f", good, "run", "e2e-adhoc", "--id", id}, args...), msg, id})
	}
	param := func(name, kv, msg string) { run("--param "+name, msg, "--param", kv) }
	params := func(name, doc, msg string) { run("--params "+name, msg, "--params", doc) }
	manifest := func(name, body, msg string) {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".yaml")
		require.NoError(t, os.WriteFile(path, []byte(body), 0o600))
		cases = append(cases, badInput{"manifest " + name, []string{"-f", path, "deploy"}, msg, ""})
	}

	param("non-numeric", "batch_size=abc", `batch_size must be an integer, got "abc"`)
	param("zero", "batch_size=0", "batch_size=0: must be at least 1")
	param("negative", "batch_size=-5", "batch_size=-5: must be at least 1")
	param("above the maximum", "batch_size=100000001", "batch_size=100000001: must be at most 100000000")
	param("huge", "batch_size=99999999999999999999999", "which is out of range")
	param("fraction", "batch_size=1.5", `batch_size must be an integer, got "1.5"`)
	param("exponent", "batch_size=1e3", `batch_size must be an integer, got "1e3"`)
	param("empty value", "batch_size=", "the value is empty")
	param("misspelled", "batchsize=5", `unknown parameter "batchsize" (valid: batch_size, source_url, max_rejected, dataset); did you mean "batch_size"?`)
	param("shorthand", "source=demo://orders", `did you mean "source_url"?`)
	param("unknown", "foo=bar", `unknown parameter "foo"`)
	param("without =", "batch_size", "must be key=value")
	param("empty URL", "source_url=", "the value is empty")
	param("unsupported scheme", "source_url=ftp://example.com/x", `scheme "ftp" is not supported`)
	param("URL without host", "source_url=http://", "has no host")
	param("URL without scheme", "source_url=orders.csv", "has no scheme")
	param("bad port", "source_url=http://example.com:99999/x", `port "99999" is not between 1 and 65535`)
	param("white space in URL", "source_url=http://exa mple.com", "must not contain white space")
	param("file URL with a host", "source_url=file://remotehost/x.json", `not host "remotehost"`)
	param("unknown dataset", "source_url=demo://customers", `unknown demo dataset "customers"`)
	param("misspelled demo option", "source_url=demo://orders?sed=1", `unknown demo option "sed"`)
	param("bad latency", "source_url=demo://orders?latency=forever", `latency="forever" must be a duration`)
	param("latency out of range", "source_url=demo://orders?latency=2h", `latency="2h" must be a duration from 0s to 1m0s`)
	param("failure rate out of range", "source_url=demo://orders?failure_rate=2", `failure_rate="2" must be a number from 0 to 1`)
	params("malformed JSON", "{batch_size: 5", "--params: parameters are not valid JSON")
	params("array", "[1,2]", "must be a JSON object")
	params("string", `"batch_size"`, "must be a JSON object")
	params("null", "null", "must be a JSON object")
	params("string for integer", `{"batch_size": "10"}`, `batch_size: must be an integer, got the string "10"`)
	params("fraction", `{"batch_size": 10.5}`, "batch_size: must be an integer, got the number 10.5")
	params("boolean", `{"batch_size": true}`, "batch_size: must be an integer, got the boolean true")
	params("huge number", `{"batch_size": 1e400}`, "batch_size: must be an integer, got the number 1e400")
	params("misspelled key", `{"batchSize": 10}`, `unknown parameter "batchSize"`)
	params("key given twice", `{"batch_size": 10, "batch_size": 20}`, `parameter "batch_size" is given twice`)
	params("trailing data", `{"batch_size": 10} {"x": 1}`, "unexpected text after the JSON object")
	params("number for URL", `{"source_url": 42}`, "source_url: must be a string, got the number 42")
	params("object for URL", `{"source_url": {"url": "demo://orders"}}`, "source_url: must be a string, got an object")
	run("params file missing", "no such file or directory", "--params", "@"+filepath.Join(dir, "missing.json"))
	run("negative watch timeout", "--timeout -1s: must not be negative", "--watch", "--timeout", "-1s")
	run("timeout without watch", "--timeout applies to --watch", "--timeout", "5m")
	cases = append(cases,
		badInput{"unknown deployment", []string{"-f", good, "run", "e2e-adhco", "--id", "bad-unknown"}, `unknown deployment "e2e-adhco"`, "bad-unknown"},
		badInput{"workflow ID too long", []string{"-f", good, "run", "e2e-adhoc", "--id", strings.Repeat("x", 1001)}, "1000", ""},
		badInput{"workflow ID with a newline", []string{"-f", good, "run", "e2e-adhoc", "--id", "bad\nid"}, "must not contain control characters", ""},
		badInput{"manifest missing", []string{"-f", filepath.Join(dir, "missing.yaml"), "deploy"}, "no such file or directory", ""},
		badInput{"bad output format", []string{"-f", good, "-o", "yaml", "run", "e2e-adhoc", "--id", "bad-output"}, `-o/--output "yaml": must be table or json`, "bad-output"},
	)

	d := badManifestDeployment
	manifest("unknown top-level key", d+"extra: true\n", "extra: unknown key (valid: deployments, sources, datasets)")
	manifest("misspelled key", d+"    schedul:\n      cron: \"0 9 * * *\"\n", `did you mean "schedule"?`)
	manifest("unknown parameter", d+"    parameters: {batchsize: 10}\n", `unknown parameter "batchsize"`)
	manifest("string for integer", d+"    parameters: {batch_size: ten}\n", `batch_size: must be an integer, got the string "ten"`)
	manifest("quoted integer", d+"    parameters: {batch_size: \"10\"}\n", `must be an integer, got the string "10"`)
	manifest("negative", d+"    parameters: {batch_size: -1}\n", "batch_size=-1: must be at least 1")
	manifest("zero", d+"    parameters: {batch_size: 0}\n", "batch_size=0: must be at least 1")
	manifest("huge float", d+"    parameters: {batch_size: 1e100}\n", "must be an integer, got the number 1e+100")
	manifest("huge integer", d+"    parameters: {batch_size: 123456789012345678901234567890}\n", "is out of range for an integer")
	manifest("fraction", d+"    parameters: {batch_size: 2.5}\n", "must be an integer, got the number 2.5")
	manifest("unsupported URL", d+"    parameters: {source_url: \"ftp://example.com/x\"}\n", `scheme "ftp" is not supported`)
	manifest("empty URL", d+"    parameters: {source_url: \"\"}\n", "source_url: is required")
	manifest("number for URL", d+"    parameters: {source_url: 42}\n", "source_url: must be a string, got the integer 42")
	manifest("parameters as a list", d+"    parameters: [batch_size, 10]\n", "parameters: must be a mapping")
	manifest("cron minute out of range", d+"    schedule: {cron: \"61 * * * *\"}\n", `minute field "61"`)
	manifest("cron with 4 fields", d+"    schedule: {cron: \"0 9 * *\"}\n", "has 4 fields, want 5")
	manifest("unknown cron descriptor", d+"    schedule: {cron: \"@fortnightly\"}\n", `unknown descriptor "@fortnightly"`)
	manifest("empty cron", d+"    schedule: {cron: \"\"}\n", "schedule.cron: is empty")
	manifest("cron that never fires", d+"    schedule: {cron: \"0 0 31 2 *\"}\n", "never fires")
	manifest("cron with ?", d+"    schedule: {cron: \"0 9 ? * *\"}\n", `the "?" wildcard is not supported by Temporal`)
	manifest("cron with a zone prefix", d+"    schedule: {cron: \"CRON_TZ=UTC 0 9 * * *\"}\n", "a time zone prefix is not allowed here")
	manifest("unknown time zone", d+"    schedule: {cron: \"0 9 * * *\", timezone: Mars/Olympus}\n", `unknown time zone "Mars/Olympus"`)
	manifest("local time zone", d+"    schedule: {cron: \"0 9 * * *\", timezone: Local}\n", `"Local" is this machine's zone`)
	manifest("unknown overlap policy", d+"    schedule: {cron: \"0 9 * * *\", overlap: sometimes}\n", `unknown overlap policy "sometimes"`)
	manifest("catchup window too short", d+"    schedule: {cron: \"0 9 * * *\", catchup_window: 1s}\n", "1s is too short; must be at least 10s")
	manifest("negative jitter", d+"    schedule: {cron: \"0 9 * * *\", jitter: -5s}\n", "-5s is negative")
	manifest("paused not a boolean", d+"    schedule: {cron: \"0 9 * * *\", paused: maybe}\n", "paused: must be true or false")
	manifest("two schedules", d+"    schedule: {cron: \"0 9 * * *\"}\n    schedule: {cron: \"0 10 * * *\"}\n", "duplicate key")
	manifest("unknown workflow", d+"    workflow: NotAWorkflow\n", `unknown workflow "NotAWorkflow"`)
	manifest("empty task queue", d+"    task_queue: \"\"\n", "task_queue: is empty")
	manifest("duplicate names", d+"    schedule: {cron: \"0 9 * * *\"}\n  - name: e2e-bad\n", `duplicate name "e2e-bad"`)
	manifest("invalid name", "deployments:\n  - name: Prod ETL\n", `"Prod ETL" is not a valid name`)
	manifest("empty name", "deployments:\n  - name: \"\"\n", `"" is not a valid name`)
	manifest("malformed YAML", "deployments: [\n", "invalid YAML")
	manifest("wrong shape", "deployments: \"a string\"\n", "deployments: must be a list of deployments")
	manifest("empty file", "", "the manifest is empty")
	manifest("no deployments", "deployments: []\n", "no deployments")

	require.GreaterOrEqual(t, len(cases), 40)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := blueprint(t, env, tc.args...)
			figures.badInputs.Add(1)
			require.Equal(t, 2, r.code, "%s", r)
			assert.Empty(t, r.stdout)
			first, _, _ := strings.Cut(r.stderr, "\n")
			assert.True(t, strings.HasPrefix(first, "blueprint: "), "stderr: %q", r.stderr)
			assert.Contains(t, first, tc.msg, "the first line names the problem")
			if tc.workflowID != "" {
				requireNoWorkflow(t, c, tc.workflowID)
			}
			requireNothingCreated(t, c, wh)
		})
	}

	t.Run("raw workflow input", func(t *testing.T) {
		raw := []struct{ name, json, msg string }{
			{"malformed JSON", `{"batch_size": 5`, "not valid JSON"},
			{"trailing data", `{"batch_size": 5} {}`, "unexpected text after the JSON object of parameters"},
			{"array", `[1, 2]`, "must be a JSON object"},
			{"string", `"batch_size"`, "must be a JSON object"},
			{"null", `null`, "must be a JSON object"},
			{"string for integer", `{"batch_size": "10"}`, `batch_size: must be an integer, got the string "10"`},
			{"fraction", `{"batch_size": 1.5}`, "batch_size: must be an integer, got the number 1.5"},
			{"huge", `{"batch_size": 99999999999999999999}`, "batch_size=99999999999999999999: is out of range for an integer"},
			{"zero", `{"batch_size": 0}`, "batch_size=0: must be at least 1"},
			{"negative", `{"batch_size": -5}`, "batch_size=-5: must be at least 1"},
			{"above the maximum", `{"batch_size": 100000001}`, "batch_size=100000001: must be at most 100000000"},
			{"misspelled", `{"batchSize": 10}`, `unknown parameter "batchSize" (valid: batch_size, source_url, max_rejected, dataset); did you mean "batch_size"?`},
			{"unknown", `{"batch_size": 10, "colour": "red"}`, `unknown parameter "colour"`},
			{"empty URL", `{"source_url": ""}`, "source_url: is required"},
			{"unsupported URL", `{"source_url": "ftp://example.com/x"}`, `scheme "ftp" is not supported`},
			{"number for URL", `{"source_url": 42}`, "source_url: must be a string, got the number 42"},
			{"bad demo option", `{"source_url": "demo://orders?fail=sometimes"}`, `fail="sometimes" must be always or never`},
		}
		for i, tc := range raw {
			t.Run(tc.name, func(t *testing.T) {
				figures.badInputs.Add(1)
				id := fmt.Sprintf("raw-%d", i)
				input := converter.NewRawValue(&commonpb.Payload{
					Metadata: map[string][]byte{converter.MetadataEncoding: []byte(converter.MetadataEncodingJSON)},
					Data:     []byte(tc.json),
				})
				r, err := c.ExecuteWorkflow(testContext(t), client.StartWorkflowOptions{ID: id, TaskQueue: runinfo.TaskQueue}, datapipeline.WorkflowType, input)
				require.NoError(t, err)
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				err = r.Get(ctx, nil)
				require.Error(t, err)
				if ctx.Err() != nil {
					desc, derr := c.DescribeWorkflow(context.Background(), id, "")
					require.NoError(t, derr)
					t.Fatalf("the run with input %s did not end within a minute (status %v, pending workflow task %v)", tc.json,
						desc.RawResponse.GetWorkflowExecutionInfo().GetStatus(), desc.RawResponse.GetPendingWorkflowTask())
				}
				var appErr *temporal.ApplicationError
				require.True(t, errors.As(err, &appErr), "%v", err)
				require.Equal(t, runinfo.ErrInvalidParameters, appErr.Type(), "%v", err)
				require.True(t, appErr.NonRetryable())
				require.Contains(t, appErr.Error(), tc.msg)
				for _, ev := range events(t, c, id, r.GetRunID()) {
					require.NotEqual(t, enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, ev.GetEventType(), "no activity runs on bad input")
				}
				requireNothingCreated(t, c, wh)
			})
		}
	})

	// The checks above can fail: a good command starts a run that writes
	// rows, and a good deploy creates a schedule.
	t.Run("good input does create", func(t *testing.T) {
		r := blueprint(t, env, "-f", good, "run", "e2e-adhoc", "--id", "good-run", "--watch")
		require.Equal(t, 0, r.code, "%s", r)
		_, err := c.DescribeWorkflow(testContext(t), "good-run", "")
		require.NoError(t, err)
		n, err := wh.CountOrders(context.Background(), "")
		require.NoError(t, err)
		require.Positive(t, n)
		r = blueprint(t, env, "-f", good, "deploy")
		require.Equal(t, 0, r.code, "%s", r)
		_, err = c.ScheduleClient().GetHandle(testContext(t), "e2e-nightly").Describe(testContext(t))
		require.NoError(t, err)
	})
}

// requireNoWorkflow checks that no workflow has the ID.
func requireNoWorkflow(t *testing.T, c client.Client, id string) {
	t.Helper()
	_, err := c.DescribeWorkflow(testContext(t), id, "")
	var nf *serviceerror.NotFound
	require.ErrorAs(t, err, &nf, "workflow %s must not exist", id)
}

// requireNothingCreated checks that the server has no schedule and the
// warehouse no row.
func requireNothingCreated(t *testing.T, c client.Client, wh *warehouse) {
	t.Helper()
	ctx := testContext(t)
	for _, id := range []string{"e2e-bad", "e2e-nightly", "e2e-adhoc"} {
		_, err := c.ScheduleClient().GetHandle(ctx, id).Describe(ctx)
		var nf *serviceerror.NotFound
		require.ErrorAs(t, err, &nf, "schedule %s must not exist", id)
	}
	it, err := c.ScheduleClient().List(ctx, client.ScheduleListOptions{})
	require.NoError(t, err)
	require.False(t, it.HasNext(), "no schedule is listed")
	for _, table := range []string{"orders", "pipeline_runs", "stage_chunks", "stage_ids", "stage_checkpoints", "rejected_records"} {
		require.Zero(t, wh.count(t, "SELECT count(*) FROM "+table), "table %s stays empty", table)
	}
}
