package cli_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/blueprint-etl/blueprint/cmd/blueprint/internal/cli"
	"github.com/blueprint-etl/blueprint/flows"
	"github.com/blueprint-etl/blueprint/flows/flowstest"
	"github.com/blueprint-etl/blueprint/internal/codec"
	"github.com/blueprint-etl/blueprint/internal/conn"
	"github.com/blueprint-etl/blueprint/internal/datapipeline"
	"github.com/blueprint-etl/blueprint/internal/devserver"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/source"
	"github.com/blueprint-etl/blueprint/internal/store"
	"github.com/blueprint-etl/blueprint/internal/testutil"
	"github.com/blueprint-etl/blueprint/internal/worker"
)

// Test keys: fixed, so that a failure is reproducible; never used anywhere
// but here.
var (
	keyK1 = "k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0x11}, codec.KeySize))
	keyK2 = "k2:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0x22}, codec.KeySize))
)

// encryptedClient connects as the worker and the CLI do, with keys as
// BLUEPRINT_ENCRYPTION_KEYS.
func encryptedClient(t *testing.T, addr, keys string) client.Client {
	t.Helper()
	opts, s, err := conn.Load(conn.Overrides{Address: addr, Namespace: "default"}, testutil.Env{codec.EnvKeys: keys})
	require.NoError(t, err)
	require.NotEmpty(t, s.EncryptionKeys)
	c, err := conn.Dial(context.Background(), opts)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

// startCodecServer runs `blueprint codec-server` in process until the test
// ends, with the environment as it is when called.
func startCodecServer(t *testing.T, args ...string) string {
	t.Helper()
	port := testutil.FreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var out, errb bytes.Buffer
	go func() {
		done <- cli.ExecuteContext(ctx, testFlows, append([]string{"codec-server", "--listen", addr}, args...), strings.NewReader(""), &out, &errb)
	}()
	t.Cleanup(func() {
		cancel()
		require.Equal(t, 0, <-done, "codec-server exits 0 when stopped")
	})
	require.Eventually(t, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			_ = c.Close()
		}
		return err == nil
	}, 10*time.Second, 20*time.Millisecond, "codec server on %s", addr)
	return "http://" + addr
}

// ndjsonOrders writes a small orders file whose customer e-mails carry
// marker, and returns its file name.
func ndjsonOrders(t *testing.T, dir, name, marker string) {
	t.Helper()
	var b strings.Builder
	for i := range 5 {
		fmt.Fprintf(&b, `{"id":"%s-%d","customer_email":"%s-%d@example.com","category":"books","amount":"12.50","currency":"EUR","timestamp":"2026-03-01T10:00:00Z"}`+"\n", name, i, marker, i)
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o600))
}

// temporalCLI runs the Temporal CLI and returns what it printed.
func temporalCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	bin, err := devserver.Binary()
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// dbFiles reads the dev server's SQLite database with its WAL.
func dbFiles(t *testing.T, path string) []byte {
	t.Helper()
	var all []byte
	for _, p := range []string{path, path + "-wal", path + "-journal"} {
		b, err := os.ReadFile(p)
		if os.IsNotExist(err) {
			continue
		}
		require.NoError(t, err)
		all = append(all, b...)
	}
	require.NotEmpty(t, all)
	return all
}

// TestEncryptedRuns runs the pipeline with BLUEPRINT_ENCRYPTION_KEYS set on
// a dev server that persists to a file, and checks what reaches the server:
// nothing of the parameters (a marker), while the CLI, the codec server
// (through `temporal workflow show --codec-endpoint`), the Web UI (headless
// Chromium) and a replay read them back; then rotates the key, and runs a
// worker that lacks the key.
func TestEncryptedRuns(t *testing.T) {
	const (
		marker  = "mrk7Q3secretZ9" // in the parameters and the records of the encrypted runs
		control = "ctl4V8plainK2"  // in the parameters of an unencrypted run
		queue   = "tq-cli-encrypted"
	)
	dir := t.TempDir()
	files := filepath.Join(dir, "files")
	require.NoError(t, os.MkdirAll(files, 0o755))
	ndjsonOrders(t, files, "orders-"+marker+".ndjson", marker)
	ndjsonOrders(t, files, "orders-"+control+".ndjson", control)

	uiPort := testutil.FreePort(t)
	uiOrigins := []string{fmt.Sprintf("http://127.0.0.1:%d", uiPort), fmt.Sprintf("http://localhost:%d", uiPort)}
	t.Setenv(codec.EnvKeys, keyK1)
	t.Setenv(codec.EnvServerAuth, "")
	codecURL := startCodecServer(t, "--ui-origin", uiOrigins[0], "--ui-origin", uiOrigins[1])
	t.Setenv(codec.EnvServerAuth, "Bearer codec-test-token")
	codecAuthURL := startCodecServer(t, "--ui-origin", "")
	t.Setenv(codec.EnvServerAuth, "")

	dbFile := filepath.Join(dir, "temporal.db")
	es, err := devserver.Start(context.Background(), devserver.Options{DBFile: dbFile, UIPort: uiPort,
		ExtraArgs: []string{"--ui-codec-endpoint", codecURL}})
	require.NoError(t, err)
	t.Cleanup(func() {
		es.Client().Close()
		_ = es.Stop()
	})
	addr := es.FrontendHostPort()
	plain := es.Client()

	startWorker := func(queue, keys string) {
		st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "warehouse.db"))
		require.NoError(t, err)
		t.Cleanup(func() { _ = st.Close() })
		flowstest.StartWith(t, encryptedClient(t, addr, keys), st, worker.Config{TaskQueue: queue, Sources: source.Config{FileRoot: files}}, flows.Registry)
	}
	startWorker(queue, keyK1)

	manifest := writeManifest(t, manifestOf(deployment("cli-enc", queue, `{batch_size: 100}`, "")))
	run := func(args ...string) result {
		t.Helper()
		var out, errb bytes.Buffer
		code := cli.Execute(append([]string{"--address", addr, "--namespace", "default", "-f", manifest}, args...), strings.NewReader(""), &out, &errb)
		return result{code: code, stdout: out.String(), stderr: errb.String()}
	}

	// An encrypted run, started and watched by the CLI.
	r := run("run", "cli-enc", "--id", "enc-1", "--param", "source_url=file:orders-"+marker+".ndjson", "--watch")
	require.Equal(t, 0, r.code, "%s", r)
	// An unencrypted run on the same server: the control that shows the
	// database check can see a parameter when it is there.
	crun, err := plain.ExecuteWorkflow(ctx(t), client.StartWorkflowOptions{ID: "enc-control", TaskQueue: queue}, datapipeline.WorkflowType,
		datapipeline.Params{BatchSize: 100, SourceURL: "file:orders-" + control + ".ndjson"})
	require.NoError(t, err)
	require.NoError(t, crun.Get(ctx(t), nil))

	// The CLI decodes what it reads back.
	r = run("runs", "show", "enc-1", "-o", "json")
	require.Equal(t, 0, r.code, "%s", r)
	assert.Contains(t, r.stdout, "orders-"+marker+".ndjson", "runs show decrypts the parameters")

	// What the server holds: the start event's input is encrypted with k1.
	started := firstEvent(t, plain, "enc-1").GetWorkflowExecutionStartedEventAttributes().GetInput().GetPayloads()[0]
	assert.Equal(t, codec.EncodingEncrypted, string(started.GetMetadata()["encoding"]))
	assert.Equal(t, "k1", string(started.GetMetadata()[codec.MetadataKeyID]))

	t.Run("temporal workflow show", func(t *testing.T) {
		show := func(args ...string) (*commonpb.Payload, error) {
			out, err := temporalCLI(t, append([]string{"workflow", "show", "--address", addr, "-w", "enc-1", "-o", "json"}, args...)...)
			if err != nil {
				return nil, fmt.Errorf("%w: %s", err, out)
			}
			var h historypb.History
			require.NoError(t, protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal([]byte(out), &h), out)
			require.NotEmpty(t, h.Events)
			return h.Events[0].GetWorkflowExecutionStartedEventAttributes().GetInput().GetPayloads()[0], nil
		}
		p, err := show()
		require.NoError(t, err)
		assert.Equal(t, codec.EncodingEncrypted, string(p.GetMetadata()["encoding"]), "without the codec endpoint: ciphertext")
		assert.NotContains(t, string(p.GetData()), marker)

		p, err = show("--codec-endpoint", codecURL)
		require.NoError(t, err)
		assert.Equal(t, "json/plain", string(p.GetMetadata()["encoding"]), "with the codec endpoint: the parameters")
		assert.JSONEq(t, `{"batch_size": 100, "source_url": "file:orders-`+marker+`.ndjson"}`, string(p.GetData()))

		if p, err := show("--codec-endpoint", codecAuthURL); err == nil {
			assert.Equal(t, codec.EncodingEncrypted, string(p.GetMetadata()["encoding"]),
				"the codec server that requires Authorization decodes nothing without it")
		}
		p, err = show("--codec-endpoint", codecAuthURL, "--codec-auth", "Bearer codec-test-token")
		require.NoError(t, err)
		assert.Contains(t, string(p.GetData()), "orders-"+marker+".ndjson")
	})

	t.Run("Web UI in headless Chromium", func(t *testing.T) {
		page := fmt.Sprintf("%s/namespaces/default/workflows/enc-1/%s/history", uiOrigins[0], runID(t, plain, "enc-1"))
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		dom := []byte(testutil.DumpDOM(ctx, t, page, 15*time.Second))
		if p := os.Getenv("BLUEPRINT_TEST_UI_DOM"); p != "" {
			require.NoError(t, os.WriteFile(p, dom, 0o600))
		}
		// The page as text: the Input panel, then the decoded parameters.
		text := strings.Join(strings.Fields(regexp.MustCompile(`<[^>]*>`).ReplaceAllString(string(dom), " ")), " ")
		assert.Regexp(t, `Input \S* ?\S* ?\{ "batch_size" : 100 , "source_url" : "file:orders-`+marker+`\.ndjson" \}`, text,
			"the Input panel shows the decoded parameters")
	})

	t.Run("replay of the encrypted history", func(t *testing.T) {
		h := &historypb.History{Events: events(t, plain, "enc-1")}
		replayer := func(keys string) sdkworker.WorkflowReplayer {
			opts := sdkworker.WorkflowReplayerOptions{}
			if keys != "" {
				k, err := codec.ParseKeys(keys)
				require.NoError(t, err)
				opts.DataConverter = codec.DataConverter(k)
			}
			r, err := sdkworker.NewWorkflowReplayerWithOptions(opts)
			require.NoError(t, err)
			// The flows as the worker registers them: wrapped, so that
			// every run ends as the flow wrapper ends it.
			flows.Registry.Flows().RegisterWorkflows(r)
			return r
		}
		quiet := sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
		require.NoError(t, replayer(keyK2+","+keyK1).ReplayWorkflowHistory(quiet, h))
		assert.Error(t, replayer("").ReplayWorkflowHistory(quiet, h), "without the key the input cannot be read")
	})

	t.Run("schedules, memos and user metadata", func(t *testing.T) {
		// deploy encrypts the schedule's action and memo, and reads them
		// back to see the schedule is its own and up to date.
		scheduled := writeManifest(t, manifestOf(deployment("cli-enc-nightly", queue, `{batch_size: 100, source_url: "file:orders-`+marker+`.ndjson"}`, chicago9)))
		t.Cleanup(func() {
			_ = plain.ScheduleClient().GetHandle(context.Background(), "cli-enc-nightly").Delete(context.Background())
		})
		deploy := func() result {
			var out, errb bytes.Buffer
			code := cli.Execute([]string{"--address", addr, "-f", scheduled, "deploy"}, strings.NewReader(""), &out, &errb)
			return result{code: code, stdout: out.String(), stderr: errb.String()}
		}
		r := deploy()
		require.Equal(t, 0, r.code, "%s", r)
		assert.Contains(t, r.stdout, "1 created")
		r = deploy()
		require.Equal(t, 0, r.code, "%s", r)
		assert.Contains(t, r.stdout, "0 created, 0 updated, 1 unchanged", "deploy reads its encrypted marks back")

		// The raw API: the SDK's Describe decodes the runs' summary and
		// details, which a client without the key cannot.
		desc, err := plain.WorkflowService().DescribeSchedule(ctx(t), &workflowservice.DescribeScheduleRequest{Namespace: "default", ScheduleId: "cli-enc-nightly"})
		require.NoError(t, err)
		for name, p := range desc.GetMemo().GetFields() {
			assert.Equal(t, codec.EncodingEncrypted, string(p.GetMetadata()["encoding"]), "schedule memo %s", name)
		}
		action := desc.GetSchedule().GetAction().GetStartWorkflow()
		require.Len(t, action.GetInput().GetPayloads(), 1)
		encrypted := map[string]*commonpb.Payload{
			"the schedule's parameters": action.GetInput().GetPayloads()[0],
			"the runs' summary":         action.GetUserMetadata().GetSummary(),
			"the runs' details":         action.GetUserMetadata().GetDetails(),
		}
		for name, p := range action.GetMemo().GetFields() {
			encrypted["action memo "+name] = p
		}
		for name, p := range encrypted {
			require.NotNil(t, p, name)
			assert.Equal(t, codec.EncodingEncrypted, string(p.GetMetadata()["encoding"]), name)
			assert.NotContains(t, string(p.GetData()), marker, name)
		}

		// A run's memo and static summary and details (no worker polls
		// this queue: the start event is all there is).
		c := encryptedClient(t, addr, keyK1)
		_, err = c.ExecuteWorkflow(ctx(t), client.StartWorkflowOptions{
			ID: "enc-metadata", TaskQueue: queue + "-idle",
			Memo:          map[string]any{"note": marker},
			StaticSummary: "summary " + marker, StaticDetails: "details " + marker,
		}, datapipeline.WorkflowType, datapipeline.Params{BatchSize: 1, SourceURL: "demo://orders"})
		require.NoError(t, err)
		t.Cleanup(func() { _ = plain.TerminateWorkflow(context.Background(), "enc-metadata", "", "test over") })
		a := firstEvent(t, plain, "enc-metadata")
		for name, p := range map[string]*commonpb.Payload{
			"memo":    a.GetWorkflowExecutionStartedEventAttributes().GetMemo().GetFields()["note"],
			"summary": a.GetUserMetadata().GetSummary(),
			"details": a.GetUserMetadata().GetDetails(),
		} {
			require.NotNil(t, p, name)
			assert.Equal(t, codec.EncodingEncrypted, string(p.GetMetadata()["encoding"]), name)
			assert.NotContains(t, string(p.GetData()), marker, name)
		}
	})

	t.Run("retry", func(t *testing.T) {
		// The retry reads the original's encrypted input, and its own is
		// encrypted again: same parameters, never in plain text.
		r := run("runs", "retry", "enc-1", "--id", "enc-1-retry", "--watch")
		require.Equal(t, 0, r.code, "%s", r)
		started := firstEvent(t, plain, "enc-1-retry").GetWorkflowExecutionStartedEventAttributes()
		input := started.GetInput().GetPayloads()[0]
		assert.Equal(t, codec.EncodingEncrypted, string(input.GetMetadata()["encoding"]))
		assert.NotContains(t, string(input.GetData()), marker)
		link := started.GetMemo().GetFields()[runinfo.MemoRetryOf]
		require.NotNil(t, link)
		assert.Equal(t, codec.EncodingEncrypted, string(link.GetMetadata()["encoding"]), "the memo, like every payload")

		params := func(id string) map[string]any {
			r := run("runs", "show", id, "-o", "json")
			require.Equal(t, 0, r.code, "%s", r)
			var v struct {
				Parameters map[string]any `json:"parameters"`
				RetryOf    *struct {
					WorkflowID string `json:"workflow_id"`
				} `json:"retry_of"`
			}
			require.NoError(t, json.Unmarshal([]byte(r.stdout), &v), r.stdout)
			if id == "enc-1-retry" {
				require.NotNil(t, v.RetryOf)
				assert.Equal(t, "enc-1", v.RetryOf.WorkflowID)
			}
			return v.Parameters
		}
		assert.Equal(t, map[string]any{"batch_size": 100.0, "source_url": "file:orders-" + marker + ".ndjson"}, params("enc-1-retry"))
		assert.Equal(t, params("enc-1"), params("enc-1-retry"))
	})

	t.Run("rotation", func(t *testing.T) {
		// k2 now encrypts; k1 is kept to read what it encrypted.
		t.Setenv(codec.EnvKeys, keyK2+","+keyK1)
		startWorker(queue+"-rotated", keyK2+","+keyK1)
		rotated := writeManifest(t, manifestOf(deployment("cli-enc", queue+"-rotated", `{batch_size: 100}`, "")))
		var out, errb bytes.Buffer
		code := cli.Execute([]string{"--address", addr, "-f", rotated, "run", "cli-enc", "--id", "enc-2", "--param", "source_url=file:orders-" + marker + ".ndjson", "--watch"},
			strings.NewReader(""), &out, &errb)
		require.Equal(t, 0, code, "%s\n%s", out.String(), errb.String())
		started := firstEvent(t, plain, "enc-2").GetWorkflowExecutionStartedEventAttributes().GetInput().GetPayloads()[0]
		assert.Equal(t, "k2", string(started.GetMetadata()[codec.MetadataKeyID]), "the new primary key encrypts")

		for _, id := range []string{"enc-1", "enc-2"} {
			r := run("runs", "show", id, "-o", "json")
			require.Equal(t, 0, r.code, "%s", r)
			assert.Contains(t, r.stdout, "orders-"+marker+".ndjson", "%s decrypts after the rotation", id)
		}
	})

	t.Run("a worker without the key", func(t *testing.T) {
		// Started with k1; the only worker of the queue holds k2.
		startWorker(queue+"-k2-only", keyK2)
		c := encryptedClient(t, addr, keyK1)
		wr, err := c.ExecuteWorkflow(ctx(t), client.StartWorkflowOptions{ID: "enc-missing-key", TaskQueue: queue + "-k2-only"}, datapipeline.WorkflowType,
			datapipeline.Params{BatchSize: 10, SourceURL: "file:orders-" + marker + ".ndjson"})
		require.NoError(t, err)
		t.Cleanup(func() { _ = plain.TerminateWorkflow(context.Background(), "enc-missing-key", "", "test over") })
		var failure string
		require.Eventually(t, func() bool {
			for _, e := range events(t, plain, "enc-missing-key") {
				if a := e.GetWorkflowTaskFailedEventAttributes(); a != nil {
					failure = a.GetFailure().GetMessage()
					return true
				}
			}
			return false
		}, 30*time.Second, 100*time.Millisecond, "the workflow task fails")
		assert.Contains(t, failure, `payload is encrypted with key "k1", which BLUEPRINT_ENCRYPTION_KEYS does not hold (it holds k2)`)
		d, err := plain.DescribeWorkflow(ctx(t), wr.GetID(), wr.GetRunID())
		require.NoError(t, err)
		assert.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, d.RawResponse.GetWorkflowExecutionInfo().GetStatus(),
			"the run waits for a worker with the key; it is not failed")
	})

	t.Run("database file holds no plaintext, after all of the above", func(t *testing.T) {
		db := dbFiles(t, dbFile)
		assert.True(t, bytes.Contains(db, []byte(control)), "the unencrypted run's parameters are in the database file")
		assert.False(t, bytes.Contains(db, []byte(marker)), "the encrypted run's parameters must not be in the database file")
	})
}

func events(t *testing.T, c client.Client, workflowID string) []*historypb.HistoryEvent {
	t.Helper()
	var all []*historypb.HistoryEvent
	it := c.GetWorkflowHistory(ctx(t), workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		require.NoError(t, err)
		all = append(all, e)
	}
	return all
}

func firstEvent(t *testing.T, c client.Client, workflowID string) *historypb.HistoryEvent {
	t.Helper()
	return events(t, c, workflowID)[0]
}

func runID(t *testing.T, c client.Client, workflowID string) string {
	t.Helper()
	d, err := c.DescribeWorkflow(ctx(t), workflowID, "")
	require.NoError(t, err)
	return d.RawResponse.GetWorkflowExecutionInfo().GetExecution().GetRunId()
}
