package flows_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/blueprint-etl/blueprint/internal/codec"
	"github.com/blueprint-etl/blueprint/internal/devserver"
	"github.com/blueprint-etl/blueprint/internal/flowrun"
	"github.com/blueprint-etl/blueprint/internal/notify"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/store"
	"github.com/blueprint-etl/blueprint/internal/store/storetest"
)

// TestWriteYourOwnFlow follows docs/flows.md's "Write your own flow" to the
// letter, in a copy of the module: the section's Go blocks become the
// files it names, its registry line and import go into flows/flows.go,
// its manifest entry at the end of deployments/deployments.yaml; nothing
// in cmd/, starter/, schedules/ or deployments/*.go is touched. Then the
// flow's own test passes, and the CLI and worker built from the copy run
// the section's commands against a dev server: the flow is listed and
// deployed, runs with a --param of each type, and every bad value the
// section shows is refused with exit 2, its message and nothing started.
func TestWriteYourOwnFlow(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the CLI and the worker of a copy of the module")
	}
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..")
	steps := writeYourOwnFlow(t, root)

	// The section's promises about itself.
	require.LessOrEqual(t, len(regexp.MustCompile(`(?m)^\*\*\d+\. `).FindAllString(steps.text, -1)), 6, "at most 6 steps")
	kinds := make([]string, len(steps.blocks))
	for i, b := range steps.blocks {
		kinds[i] = b.lang
	}
	require.Equal(t, []string{"go", "go", "go", "yaml", "sh", "sh"}, kinds, "flow, test, registry line, manifest entry, deploy, run")
	flowGo, testGo, registry, manifest, deploy, run := steps.blocks[0], steps.blocks[1], steps.blocks[2], steps.blocks[3], steps.blocks[4], steps.blocks[5]
	require.LessOrEqual(t, strings.Count(flowGo.body, "\n"), 100, "the example is at most 100 lines of Go")
	for _, b := range []block{flowGo, testGo} {
		for _, imp := range regexp.MustCompile(`"github.com/blueprint-etl/blueprint/(internal/[\w/]+)"`).FindAllStringSubmatch(b.body, -1) {
			assert.True(t, strings.HasPrefix(imp[1], "internal/flowkit"), "a flow written from the docs needs no internal/ package but the kit: %s", imp[1])
		}
	}

	// The new and changed sources go into an overlay (go build -overlay)
	// of the module, which stays as it is; the manifest and the binaries
	// into a directory of their own, where the commands run (the CLI
	// reads ./deployments/deployments.yaml).
	overlay := map[string]string{}
	tmp := t.TempDir()
	put := func(path, content string) {
		t.Helper()
		f := filepath.Join(tmp, "src", fmt.Sprint(len(overlay)))
		require.NoError(t, os.MkdirAll(filepath.Dir(f), 0o755))
		require.NoError(t, os.WriteFile(f, []byte(content), 0o644))
		overlay[filepath.Join(root, path)] = f
	}
	// Steps 1 and 2: the files the prose names.
	for _, b := range []block{flowGo, testGo} {
		require.NotEmpty(t, b.file, "the step names the file of its block")
		put(b.file, b.body)
	}
	// Step 3: the lines the registry snippet adds to the list, and the import.
	src, err := os.ReadFile(filepath.Join(root, "flows", "flows.go"))
	require.NoError(t, err)
	list := regexp.MustCompile(`(?s)var Registry = worker\.MustRegistry\(\n(.*?)\n\)`)
	have := list.FindStringSubmatch(string(src))
	want := list.FindStringSubmatch(registry.body)
	require.NotNil(t, have, "flows/flows.go has the Registry list")
	require.NotNil(t, want, "the snippet shows the Registry list")
	require.True(t, strings.HasPrefix(want[1], have[1]), "the snippet is today's list plus new lines:\n%s", want[1])
	imp := regexp.MustCompile("import `([^`]+)`").FindStringSubmatch(registry.prose)
	require.NotNil(t, imp, "step 3 names the import")
	out := strings.Replace(string(src), have[0], want[0], 1)
	put(filepath.Join("flows", "flows.go"), strings.Replace(out, "import (\n", "import (\n\t\""+imp[1]+"\"\n", 1))
	// Step 4: the manifest entry, at the end of the manifest the binaries
	// embed, and of the one the commands read.
	dir := filepath.Join(tmp, "work")
	m, err := os.ReadFile(filepath.Join(root, "deployments", "deployments.yaml"))
	require.NoError(t, err)
	m = append(m, []byte(manifest.body)...)
	put(filepath.Join("deployments", "deployments.yaml"), string(m))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "deployments"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "deployments", "deployments.yaml"), m, 0o644))
	deployment := regexp.MustCompile(`(?m)^  - name: (\S+)$`).FindStringSubmatch(manifest.body)
	require.NotNil(t, deployment)
	workflowType := regexp.MustCompile(`(?m)^    workflow: (\S+)$`).FindStringSubmatch(manifest.body)
	require.NotNil(t, workflowType)
	ov, err := json.Marshal(map[string]any{"Replace": overlay})
	require.NoError(t, err)
	overlayFile := filepath.Join(tmp, "overlay.json")
	require.NoError(t, os.WriteFile(overlayFile, ov, 0o644))

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	goCmd := func(args ...string) {
		t.Helper()
		start := time.Now()
		cmd := exec.CommandContext(ctx, "go", append(args[:1:1], append([]string{"-overlay", overlayFile}, args[1:]...)...)...)
		cmd.Dir = root
		b, err := cmd.CombinedOutput()
		require.NoError(t, err, "go %s:\n%s", strings.Join(args, " "), b)
		t.Logf("go %s: %s", strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
	}
	// Step 2's `go test`: the package exists in the overlay only, so its
	// test binary is built, then run here.
	testBin := filepath.Join(tmp, "flow.test")
	goCmd("test", "-c", "-vet=off", "-o", testBin, "./"+filepath.Dir(testGo.file)+"/")
	test := exec.CommandContext(ctx, testBin, "-test.count=1")
	test.Dir = tmp
	b, err := test.CombinedOutput()
	require.NoError(t, err, "the README's test of the flow:\n%s", b)
	// The module's own tests of what reads the list of flows and the
	// manifest still pass with the flow and its deployment added: they
	// check that the shipped ones are there, not that nothing else is.
	// (vet cannot run on a package that exists in the overlay only.)
	goCmd("test", "-count=1", "-vet=off", "./deployments/", "./cmd/blueprint/internal/cli/")
	// Step 5's `make build`, into bin/ of the directory the commands run in.
	goCmd("build", "-o", filepath.Join(dir, "bin")+"/", "./cmd/blueprint", "./worker")

	// Step 5's `scripts/up.sh`: a dev server and the worker.
	srv := devserver.ForTest(t)
	env := []string{"TEMPORAL_ADDRESS=" + srv.FrontendHostPort(), "TEMPORAL_NAMESPACE=default"}
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); !strings.HasPrefix(k, "TEMPORAL_") && !strings.HasPrefix(k, "BLUEPRINT_") {
			env = append(env, kv)
		}
	}
	wctx, stopWorker := context.WithCancel(ctx)
	worker := exec.CommandContext(wctx, filepath.Join(dir, "bin", "worker"))
	worker.Dir = dir
	worker.Env = append(env, "BLUEPRINT_METRICS_ADDR=off", "BLUEPRINT_DATABASE_URL=sqlite:"+filepath.Join(t.TempDir(), "warehouse.db"))
	var workerLog bytes.Buffer
	worker.Stdout, worker.Stderr = &workerLog, &workerLog
	require.NoError(t, worker.Start())
	t.Cleanup(func() {
		stopWorker()
		_ = worker.Wait()
		if t.Failed() {
			t.Logf("worker:\n%s", workerLog.String())
		}
	})

	sh := func(line string) (int, string, string) {
		t.Helper()
		cmd := exec.CommandContext(ctx, "bash", "-c", line)
		cmd.Dir, cmd.Env = dir, env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := cmd.ProcessState.ExitCode()
		if code < 0 {
			require.NoError(t, err, line)
		}
		return code, stdout.String(), stderr.String()
	}
	for _, line := range commands(deploy.body) {
		if strings.HasPrefix(line, "make build") {
			continue // done above, on a dev server of the test's own
		}
		code, stdout, stderr := sh(line)
		require.Equal(t, 0, code, "%s\nstdout:\n%s\nstderr:\n%s", line, stdout, stderr)
		switch {
		case strings.Contains(line, "flows ls"):
			assert.Regexp(t, `(?m)^`+workflowType[1]+`\s`, stdout, "the flow is listed")
		case strings.Contains(line, "deploy"):
			assert.Regexp(t, `(?m)^`+deployment[1]+`\s+created$`, stdout)
		}
	}
	// The schedule exists; it is paused so that its runs do not mix
	// with step 6's count.
	schedule := srv.Client().ScheduleClient().GetHandle(ctx, deployment[1])
	desc, err := schedule.Describe(ctx)
	require.NoError(t, err)
	require.NoError(t, schedule.Pause(ctx, client.SchedulePauseOptions{Note: "test: step 6 counts its own runs"}))
	assert.NotEmpty(t, desc.Info.NextActionTimes, "the schedule has runs to come")

	started := 0
	var refused int
	for _, line := range commands(run.body) {
		wantCode, wantMsg := 0, ""
		if c := regexp.MustCompile(`#\s*(.*?)\s*\(exit (\d+)\)\s*$`).FindStringSubmatch(line); c != nil {
			wantMsg = c[1]
			wantCode, err = strconv.Atoi(c[2])
			require.NoError(t, err)
		}
		code, stdout, stderr := sh(line)
		require.Equal(t, wantCode, code, "%s\nstdout:\n%s\nstderr:\n%s", line, stdout, stderr)
		if wantCode == 0 {
			if !strings.Contains(line, "blueprint run ") {
				continue // a preparation, such as the source's file
			}
			started++
			if strings.Contains(line, "--watch") {
				assert.Contains(t, stdout, " completed in ", line)
			}
			continue
		}
		refused++
		assert.Empty(t, stdout, line)
		assert.Regexp(t, `^blueprint: [^\n]+\n$`, stderr, "%s: one line", line)
		for _, part := range strings.Split(wantMsg, "...") {
			assert.Contains(t, stderr, strings.TrimSpace(part), line)
		}
	}
	require.Positive(t, started)
	require.GreaterOrEqual(t, refused, 2, "the section shows bad values being refused")
	// Nothing but the good runs was started.
	count := func() int64 {
		resp, err := srv.Client().CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{
			Namespace: "default", Query: fmt.Sprintf("WorkflowType = %q", workflowType[1])})
		require.NoError(t, err)
		return resp.GetCount()
	}
	require.Eventually(t, func() bool { return count() >= int64(started) }, 10*time.Second, 100*time.Millisecond)
	assert.Equal(t, int64(started), count())

	// The example as its users run it: a worker of its own on each
	// warehouse, killed in the middle of a read.
	stopWorker()
	_ = worker.Wait()
	for _, driver := range storetest.Drivers(t) {
		t.Run("killed mid-read on "+driver, func(t *testing.T) {
			exampleResumesAfterAKill(ctx, t, srv.Client(), dir, env, storetest.DSN(t, driver), workflowType[1])
		})
	}
}

// exampleResumesAfterAKill runs the guide's example flow on a worker
// process of its own over a local paginated API, SIGKILLs the worker
// while it waits for page 2 (after page 1 was committed and its cursor
// heartbeated), starts another, and checks that the run completes from
// the cursor (page 1 is never read again), with every product written
// once, the outcome in the run log and flow_runs, and a webhook told of a
// failed run. The example is the one the guide shows: a flow reading
// source_url and writing product_catalog.
func exampleResumesAfterAKill(ctx context.Context, t *testing.T, c client.Client, dir string, env []string, dsn, workflowType string) {
	arrived, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	var mu sync.Mutex
	requests := map[string]int{}
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page := r.URL.Query().Get("page")
		mu.Lock()
		requests[page]++
		n := requests[page]
		mu.Unlock()
		if page == "2" && n == 1 {
			once.Do(func() { close(arrived) })
			select { // held: the worker is killed meanwhile
			case <-release:
			case <-r.Context().Done():
				return
			}
		}
		switch page {
		case "":
			fmt.Fprintf(w, `{"data": [{"sku": "A-1", "name": "Lamp", "price": 19.9}, {"sku": "B-2", "name": "Desk", "price": 120}], "next": "http://%s/p?page=2"}`, r.Host)
		case "2":
			fmt.Fprintf(w, `{"data": [{"sku": "C-3", "name": "Chair", "price": 49}, {"name": "no sku"}], "next": "http://%s/p?page=3"}`, r.Host)
		default:
			fmt.Fprint(w, `{"data": [{"sku": "D-4", "name": "Shelf", "price": "75.50"}], "next": null}`)
		}
	}))
	defer api.Close()
	defer close(release)
	hooks := make(chan notify.Payload, 4)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p notify.Payload
		if json.NewDecoder(r.Body).Decode(&p) == nil {
			hooks <- p
		}
	}))
	defer hook.Close()

	queue := "wyof-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	startWorker := func(extra ...string) *exec.Cmd {
		w := exec.CommandContext(ctx, filepath.Join(dir, "bin", "worker"))
		w.Dir = dir
		w.Env = append(append(env, "BLUEPRINT_METRICS_ADDR=off", "BLUEPRINT_DATABASE_URL="+dsn, "BLUEPRINT_TASK_QUEUE="+queue,
			"PRODUCTS_WEBHOOK_URL="+hook.URL), extra...)
		var out bytes.Buffer
		w.Stdout, w.Stderr = &out, &out
		require.NoError(t, w.Start())
		t.Cleanup(func() {
			_ = w.Process.Kill()
			_ = w.Wait()
			if t.Failed() {
				t.Logf("worker:\n%s", out.String())
			}
		})
		return w
	}
	first := startWorker()
	hooksMemo := map[string]any{runinfo.MemoNotify: []runinfo.Webhook{{URLEnv: "PRODUCTS_WEBHOOK_URL", Events: []string{runinfo.EventFailed, runinfo.EventCompleted}}}}
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: queue, TaskQueue: queue, Memo: hooksMemo}, workflowType,
		map[string]any{"source_url": api.URL + "/p"})
	require.NoError(t, err)
	select {
	case <-arrived:
	case <-ctx.Done():
		t.Fatal("the worker never asked for page 2")
	}
	// Page 1's cursor is on the server (a durable state, not a moment).
	require.Eventually(t, func() bool {
		d, err := c.DescribeWorkflow(ctx, run.GetID(), run.GetRunID())
		return err == nil && len(d.RawResponse.GetPendingActivities()) == 1 && d.RawResponse.GetPendingActivities()[0].GetHeartbeatDetails() != nil
	}, time.Minute, 50*time.Millisecond, "the first page's cursor is heartbeated")
	// While it runs, its current details say what it reads.
	v, err := c.QueryWorkflow(ctx, run.GetID(), run.GetRunID(), flowrun.MetadataQuery)
	require.NoError(t, err)
	var meta sdkpb.WorkflowMetadata
	require.NoError(t, v.Get(&meta))
	assert.Contains(t, meta.GetCurrentDetails(), "**Reading:** "+api.URL+"/p", "the flow's live details")
	require.NoError(t, first.Process.Kill())
	_ = first.Wait()
	second := startWorker()

	var res struct{ Written, Skipped int64 }
	require.NoError(t, run.Get(ctx, &res))
	assert.Equal(t, int64(4), res.Written, "every product is written once, the run resumed after page 1")
	assert.Equal(t, int64(1), res.Skipped)
	mu.Lock()
	assert.Equal(t, 1, requests[""], "page 1 is not read again: the next attempt resumed from its cursor")
	assert.Equal(t, 2, requests["2"], "page 2 was read by the killed attempt and by the next")
	mu.Unlock()

	st, err := store.OpenExisting(ctx, dsn)
	require.NoError(t, err)
	defer st.Close()
	var rows int
	require.NoError(t, st.QueryRow(ctx, `SELECT count(*) FROM product_catalog WHERE run_id <> ''`).Scan(&rows))
	assert.Equal(t, 4, rows)
	ref := runinfo.RunRef{WorkflowID: run.GetID(), RunID: run.GetRunID()}
	fr, ok, err := st.GetFlowRun(ctx, ref)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, runinfo.RunCompleted, fr.Status)
	assert.Equal(t, "4 products written, 1 skipped", fr.Summary, "the result's OneLine")
	lines, err := st.RunLogs(ctx, ref, store.LogQuery{})
	require.NoError(t, err)
	var text []string
	for _, l := range lines {
		text = append(text, l.Stage+" "+strconv.Itoa(l.Attempt)+" "+l.Message)
	}
	all := strings.Join(text, "\n")
	assert.Contains(t, all, "syncproducts 2 syncproducts started (attempt 2 of 3)", "the worker opened each attempt's log")
	assert.Contains(t, all, "syncproducts 1 page of 2 records committed", "the activity's own lines")
	assert.Contains(t, all, "run 0 run completed: 4 products written, 1 skipped", "the outcome line")
	select {
	case p := <-hooks:
		assert.Equal(t, runinfo.RunCompleted, p.Status)
	case <-ctx.Done():
		t.Fatal("no webhook POST for the completed run")
	}

	// A failed run, with payloads encrypted (BLUEPRINT_ENCRYPTION_KEYS on
	// the worker and the client): a source that refuses every connection.
	keys := "k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0x11}, codec.KeySize))
	ring, err := codec.ParseKeys(keys)
	require.NoError(t, err)
	c, err = client.NewClientFromExisting(c, client.Options{DataConverter: codec.DataConverter(ring)})
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, second.Process.Kill()) // a worker without the key could not read the run
	_ = second.Wait()
	startWorker("BLUEPRINT_ENCRYPTION_KEYS=" + keys)
	failed, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: queue + "-failed", TaskQueue: queue, Memo: hooksMemo}, workflowType,
		map[string]any{"source_url": "http://127.0.0.1:1/nothing"})
	require.NoError(t, err)
	err = failed.Get(ctx, nil)
	require.Error(t, err)
	assert.Regexp(t, `SyncProducts failed after 3 attempts: `, err.Error(), "a readable failure")
	select {
	case p := <-hooks:
		assert.Equal(t, runinfo.RunFailed, p.Status)
		assert.Contains(t, p.Error, "127.0.0.1:1")
	case <-ctx.Done():
		t.Fatal("no webhook POST for the failed run")
	}
}

// section is a README section: its text and code blocks.
type section struct {
	text   string
	blocks []block
}

// block is a fenced code block, the prose before it and the file that
// prose names (`path/file.go`), if any.
type block struct {
	lang, body, prose, file string
}

// writeYourOwnFlow reads the guide's "Write your own flow" section: the
// one place that says which file and heading it is.
func writeYourOwnFlow(t *testing.T, root string) section {
	t.Helper()
	const file, heading = "docs/flows.md", "## Write your own flow"
	doc, err := os.ReadFile(filepath.Join(root, file))
	require.NoError(t, err)
	return readmeSection(t, string(doc), heading)
}

// readmeSection is the section of a Markdown document under heading, up
// to the next heading of its level or above.
func readmeSection(t *testing.T, doc, heading string) section {
	t.Helper()
	start := strings.Index("\n"+doc, "\n"+heading+"\n")
	require.GreaterOrEqual(t, start, 0, "the document has %q", heading)
	text := doc[start:]
	// The section ends at the next heading of its level or above, outside
	// code blocks (where a line may start with "# ").
	level := len(heading) - len(strings.TrimLeft(heading, "#"))
	next := regexp.MustCompile(`^#{1,` + strconv.Itoa(level) + `} `)
	inFence := false
	for at := len(heading) + 1; at < len(text); {
		line, _, _ := strings.Cut(text[at:], "\n")
		if strings.HasPrefix(line, "```") {
			inFence = !inFence
		} else if !inFence && next.MatchString(line) {
			text = text[:at]
			break
		}
		at += len(line) + 1
	}
	s := section{text: text}
	fence := regexp.MustCompile("(?ms)^```(\\w*)\n(.*?)^```\n")
	fileRe := regexp.MustCompile("`([\\w/]+\\.go)`")
	prev := 0
	for _, m := range fence.FindAllStringSubmatchIndex(text, -1) {
		b := block{lang: text[m[2]:m[3]], body: text[m[4]:m[5]], prose: text[prev:m[0]]}
		if f := fileRe.FindAllStringSubmatch(b.prose, -1); len(f) > 0 {
			b.file = f[len(f)-1][1]
		}
		s.blocks = append(s.blocks, b)
		prev = m[1]
	}
	require.Equal(t, 0, strings.Count(text[prev:], "```"), "every fence in the section is closed")
	return s
}

// commands splits a shell block into its commands, joining continued
// lines.
func commands(body string) []string {
	var out []string
	cur := ""
	for _, line := range strings.Split(body, "\n") {
		if strings.HasSuffix(line, "\\") {
			cur += strings.TrimSuffix(line, "\\")
			continue
		}
		if line = cur + line; strings.TrimSpace(line) != "" {
			out = append(out, line)
		}
		cur = ""
	}
	return out
}
