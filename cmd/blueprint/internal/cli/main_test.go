package cli_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/blueprint-etl/blueprint/cmd/blueprint/internal/cli"
	"github.com/blueprint-etl/blueprint/flows"
	"github.com/blueprint-etl/blueprint/flows/flowstest"
	"github.com/blueprint-etl/blueprint/internal/devserver"
	"github.com/blueprint-etl/blueprint/internal/testutil"
)

// srv is the package's one dev server. Tests do not run in parallel:
// deploy --prune acts on every schedule of the namespace.
var srv *devserver.Server

func TestMain(m *testing.M) {
	// The tests pass --address and --namespace; nothing from the
	// developer's environment may change where they connect or how, or
	// whether payloads are encrypted.
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "TEMPORAL_") || strings.HasPrefix(k, "BLUEPRINT_UI_URL") ||
			k == "BLUEPRINT_ENCRYPTION_KEYS" || k == "BLUEPRINT_CODEC_SERVER_AUTH" {
			os.Unsetenv(k)
		}
	}
	os.Exit(testutil.RunWithDevServer(m, &srv))
}

// testFlows are the flows the CLI of the tests knows: the shipped ones and
// flowstest.Kinds, a flow other than DataPipeline with a parameter of each
// kind.
var testFlows = flowstest.WithKinds(flows.Registry.Flows())

// result is the outcome of one command.
type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// blueprint runs the CLI in process against the test server.
func blueprint(t *testing.T, args ...string) result {
	t.Helper()
	return blueprintIn(t, nil, args...)
}

func blueprintIn(t *testing.T, stdin io.Reader, args ...string) result {
	t.Helper()
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	var out, errb bytes.Buffer
	all := append([]string{"--address", srv.FrontendHostPort(), "--namespace", "default"}, args...)
	code := cli.ExecuteContext(context.Background(), testFlows, all, stdin, &out, &errb)
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// ok runs a command that must succeed.
func ok(t *testing.T, args ...string) result {
	t.Helper()
	r := blueprint(t, args...)
	require.Equal(t, 0, r.code, "blueprint %s\n%s", strings.Join(args, " "), r)
	return r
}

// writeManifest writes a manifest to a temporary file.
func writeManifest(t *testing.T, yaml string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "deployments.yaml")
	require.NoError(t, os.WriteFile(path, []byte(yaml), 0o600))
	return path
}

// deployment is one manifest entry; sched "" leaves the schedule out.
func deployment(name, queue, params, sched string) string {
	s := fmt.Sprintf("  - name: %s\n    task_queue: %s\n    parameters: %s\n", name, queue, params)
	if sched != "" {
		s += "    schedule:\n" + sched
	}
	return s
}

func manifestOf(entries ...string) string { return "deployments:\n" + strings.Join(entries, "") }

const chicago9 = "      cron: \"0 9 * * *\"\n      timezone: America/Chicago\n"

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

func cleanupSchedule(t *testing.T, id string) {
	t.Cleanup(func() {
		_ = srv.Client().ScheduleClient().GetHandle(context.Background(), id).Delete(context.Background())
	})
}

// notStarted asserts that no workflow has the ID.
func notStarted(t *testing.T, workflowID string) {
	t.Helper()
	_, err := describeRaw(t, workflowID)
	var nf *serviceerror.NotFound
	require.ErrorAs(t, err, &nf, "workflow %s must not have been started", workflowID)
}

// scheduleDescription describes a schedule, nil if it does not exist.
func scheduleDescription(t *testing.T, id string) *client.ScheduleDescription {
	t.Helper()
	d, err := srv.Client().ScheduleClient().GetHandle(ctx(t), id).Describe(ctx(t))
	var nf *serviceerror.NotFound
	if err != nil && errors.As(err, &nf) {
		return nil
	}
	require.NoError(t, err)
	return d
}

// describeRaw describes a workflow's latest run.
func describeRaw(t *testing.T, workflowID string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	t.Helper()
	d, err := srv.Client().DescribeWorkflow(ctx(t), workflowID, "")
	if err != nil {
		return nil, err
	}
	return d.RawResponse, nil
}

// background is a command running in process while the test looks at
// its output.
type background struct {
	stdout, stderr *testutil.SyncBuffer
	done           chan int
	code           int
}

// start runs the CLI in the background against the test server.
func start(t *testing.T, args ...string) *background {
	t.Helper()
	b := &background{stdout: &testutil.SyncBuffer{}, stderr: &testutil.SyncBuffer{}, done: make(chan int, 1)}
	all := append([]string{"--address", srv.FrontendHostPort(), "--namespace", "default"}, args...)
	c, cancel := context.WithCancel(context.Background())
	go func() { b.done <- cli.ExecuteContext(c, testFlows, all, strings.NewReader(""), b.stdout, b.stderr) }()
	// A test that ends first interrupts it, as Ctrl-C would.
	t.Cleanup(func() { cancel(); b.wait(t) })
	return b
}

// waitFor waits until the command's output has a line matching re (what
// it printed stays printed), and fails the test if it ends without one.
func (b *background) waitFor(t *testing.T, re string) {
	t.Helper()
	line := regexp.MustCompile(`(?m)` + re)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := ctx(t)
	for !line.MatchString(b.stdout.String()) {
		select {
		case code := <-b.done:
			b.done <- code
			if line.MatchString(b.stdout.String()) {
				return
			}
			t.Fatalf("the command ended (exit %d) without printing a line matching %s\nstdout:\n%s\nstderr:\n%s", code, re, b.stdout, b.stderr)
		case <-deadline.Done():
			t.Fatalf("no line matching %s\nstdout:\n%s", re, b.stdout)
		case <-tick.C:
		}
	}
}

// wait waits for the command to end and returns its result.
func (b *background) wait(t *testing.T) result {
	t.Helper()
	if b.done != nil {
		b.code = <-b.done
		b.done = nil
	}
	return result{code: b.code, stdout: b.stdout.String(), stderr: b.stderr.String()}
}
