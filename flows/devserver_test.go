package flows_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/blueprint-etl/blueprint/flows"
	"github.com/blueprint-etl/blueprint/flows/flowstest"
	"github.com/blueprint-etl/blueprint/internal/codec"
	"github.com/blueprint-etl/blueprint/internal/datapipeline"
	"github.com/blueprint-etl/blueprint/internal/devserver"
	"github.com/blueprint-etl/blueprint/internal/flow"
	"github.com/blueprint-etl/blueprint/internal/flowrun"
	"github.com/blueprint-etl/blueprint/internal/record"
	"github.com/blueprint-etl/blueprint/internal/report"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/source"
	"github.com/blueprint-etl/blueprint/internal/store"
	"github.com/blueprint-etl/blueprint/internal/store/storetest"
	"github.com/blueprint-etl/blueprint/internal/testutil"
	"github.com/blueprint-etl/blueprint/internal/worker"
)

// Without the Temporal CLI the package stops at once, with one line.
func TestMain(m *testing.M) { os.Exit(testutil.RequireTemporal(m)) }

// TestPipelineOnDevServer runs the whole pipeline on a real dev server with
// a real worker and checks the rows in the warehouse.
func TestPipelineOnDevServer(t *testing.T) {
	srv := devserver.ForTest(t)
	c := srv.Client()
	st := flowstest.Start(t, c, runinfo.TaskQueue, flows.Registry)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	params := datapipeline.Params{BatchSize: 1000, SourceURL: "demo://orders"}
	first, firstRun := execute(ctx, t, c, "e2e-first", params)
	require.Equal(t, int64(1000), first.Extracted)
	require.Equal(t, first.Valid, first.Loaded.Inserted)
	count, err := st.CountOrders(ctx, "")
	require.NoError(t, err)
	require.Equal(t, first.Valid, count)

	second, _ := execute(ctx, t, c, "e2e-second", params)
	require.Zero(t, second.Loaded.Inserted, "a re-run adds no rows")
	require.Equal(t, first.Valid, second.Loaded.Unchanged)
	count, err = st.CountOrders(ctx, "")
	require.NoError(t, err)
	require.Equal(t, first.Valid, count, "no duplicates after a re-run")

	run, err := st.GetRun(ctx, runinfo.RunRef{WorkflowID: "e2e-first", RunID: firstRun})
	require.NoError(t, err)
	require.Equal(t, runinfo.RunCompleted, run.Status)
	require.Equal(t, first.Extracted, run.Extracted)
	require.Equal(t, first.Rejected, run.Rejected)
}

// TestTooWideAmountIsRejectedAndRunCompletes is the data rule's end to end
// check, on a real dev server and on each warehouse: an order whose amount
// has more integer digits than the warehouse holds is rejected by Transform
// with a reason, the others are loaded, and the run completes.
func TestTooWideAmountIsRejectedAndRunCompletes(t *testing.T) {
	srv := devserver.ForTest(t)
	c := srv.Client()
	dir := t.TempDir()
	wide := strings.Repeat("9", record.MaxAmountIntDigits+1)
	widest := strings.Repeat("9", record.MaxAmountIntDigits) + "." + strings.Repeat("9", record.MaxAmountFracDigits)
	data := `[{"id": "fits", "customer_email": "a@example.com", "category": "books", "amount": "` + widest + `", "currency": "EUR", "timestamp": "2026-01-02T00:00:00Z"},
{"id": "too-wide", "customer_email": "b@example.com", "category": "books", "amount": ` + wide + `, "currency": "EUR", "timestamp": "2026-01-02T00:00:00Z"},
{"id": "plain", "customer_email": "c@example.com", "category": "toys", "amount": "12.5", "currency": "USD", "timestamp": "2026-01-03T00:00:00Z"}]`
	require.NoError(t, os.WriteFile(filepath.Join(dir, "orders.json"), []byte(data), 0o644))

	for _, driver := range storetest.Drivers(t) {
		t.Run(driver, func(t *testing.T) {
			st := storetest.Open(t, driver)
			queue := testutil.UniqueID("wide-amount-" + driver)
			flowstest.StartWith(t, c, st, worker.Config{TaskQueue: queue, Sources: source.Config{FileRoot: dir}}, flows.Registry)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			id := testutil.UniqueID("wide-amount")
			run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue}, datapipeline.WorkflowType,
				datapipeline.Params{BatchSize: 10, SourceURL: "file://" + filepath.Join(dir, "orders.json")})
			require.NoError(t, err)
			var sum datapipeline.Summary
			require.NoError(t, run.Get(ctx, &sum), "the run completes")
			require.Equal(t, int64(3), sum.Extracted)
			require.Equal(t, int64(2), sum.Valid)
			require.Equal(t, int64(2), sum.Loaded.Inserted)
			require.Equal(t, map[string]int64{record.ReasonInvalidAmount: 1}, sum.Reasons)

			ref := runinfo.RunRef{WorkflowID: id, RunID: run.GetRunID()}
			rejected, err := st.Rejected(ctx, ref, 10)
			require.NoError(t, err)
			require.Len(t, rejected, 1)
			require.Equal(t, "too-wide", rejected[0].RecordID)
			require.Equal(t, record.ReasonInvalidAmount, rejected[0].Reason)
			require.Equal(t, fmt.Sprintf("amount %q has more than %d integer digits", wide, record.MaxAmountIntDigits), rejected[0].Detail)
			stored, err := st.Order(ctx, sum.Source, "fits")
			require.NoError(t, err)
			require.Equal(t, widest, stored.Amount)
			rec, err := st.GetRun(ctx, ref)
			require.NoError(t, err)
			require.Equal(t, runinfo.RunCompleted, rec.Status)
		})
	}
}

// TestHistoryStaysSmall checks that record data stays out of the history:
// payloads under 64 KiB and fewer than 100 events, whatever the batch size.
func TestHistoryStaysSmall(t *testing.T) {
	srv := devserver.ForTest(t)
	c := srv.Client()
	flowstest.Start(t, c, runinfo.TaskQueue, flows.Registry)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	_, runID := execute(ctx, t, c, "big", datapipeline.Params{BatchSize: 60000, SourceURL: "demo://orders"})
	events := history(ctx, t, c, "big", runID)
	require.Less(t, len(events), 100)
	for _, e := range events {
		b, err := protojson.Marshal(e)
		require.NoError(t, err)
		require.Less(t, len(b), 64<<10, "event %d (%s) is %d bytes", e.EventId, e.EventType, len(b))
	}
}

// TestRecordHistories records the replay test's histories from real runs,
// those missing from workflows/testdata. It runs only when asked: BLUEPRINT_RECORD_HISTORY=1 go test -run TestRecordHistories ./flows/
func TestRecordHistories(t *testing.T) {
	if os.Getenv("BLUEPRINT_RECORD_HISTORY") == "" {
		t.Skip("set BLUEPRINT_RECORD_HISTORY=1 to record workflows/testdata histories")
	}
	srv := devserver.ForTest(t)
	c := srv.Client()
	flowstest.Start(t, c, runinfo.TaskQueue, flows.Registry)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "workflows", "testdata")
	require.NoError(t, os.MkdirAll(dir, 0o755))

	for name, p := range map[string]datapipeline.Params{
		"completed": {BatchSize: 12000, SourceURL: "demo://orders"},
		"retried":   {BatchSize: 12000, SourceURL: "demo://orders?failure_rate=1"},
		"failed":    {BatchSize: 100, SourceURL: "demo://orders?fail=always"},
		"invalid":   {BatchSize: 0, SourceURL: "ftp://example.com"},
		// Since warehouse outages are waited out: EndRun's local activity
		// and FinishRun wait for the warehouse (blueprint-run-end 3,
		// blueprint-finish-run-wait 1).
		"completed-end-wait": {BatchSize: 1200, SourceURL: "demo://orders"},
		"failed-finish-wait": {BatchSize: 100, SourceURL: "demo://orders?fail=always"},
		// The rejection threshold's version marker, in a run under it and
		// one over it (the demo source rejects a few of every 100).
		"completed-max-rejected": {BatchSize: 200, SourceURL: "demo://orders", MaxRejected: datapipeline.MaxRejectedCount(200)},
		"failed-max-rejected":    {BatchSize: 200, SourceURL: "demo://orders", MaxRejected: datapipeline.MaxRejectedCount(0)},
		// Since the flow wrapper ends every run (flowrun.Finish): a run
		// whose parameters fail their check is recorded and notified.
		"invalid-ended": {BatchSize: 0, SourceURL: "ftp://example.com"},
	} {
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "history-" + name, TaskQueue: runinfo.TaskQueue}, datapipeline.WorkflowType, p)
		require.NoError(t, err)
		_ = run.Get(ctx, nil)
		saveHistory(ctx, t, c, dir, name, run)
	}

	// Since triggers: a run whose memo names a downstream deployment
	// starts it at its end (blueprint-triggers 1).
	{
		down := runinfo.Trigger{Deployment: "report-after", On: []string{runinfo.RunCompleted}, Workflow: report.OrdersReportWorkflow, TaskQueue: runinfo.TaskQueue,
			Parameters: map[string]any{"from": "1999-01-01", "to": "1999-01-01"}, Templates: map[string]string{"timezone": "UTC"}}
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "history-triggered", TaskQueue: runinfo.TaskQueue,
			Memo: map[string]any{runinfo.MemoTriggers: []runinfo.Trigger{down}}}, datapipeline.WorkflowType, datapipeline.Params{BatchSize: 50, SourceURL: "demo://orders"})
		require.NoError(t, err)
		require.NoError(t, run.Get(ctx, nil))
		saveHistory(ctx, t, c, dir, "triggered", run)
	}

	// Since datasets: a run of a declared dataset, whose Transform and
	// Load inputs carry its definition.
	{
		def := testutil.Products()
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "history-dataset", TaskQueue: runinfo.TaskQueue}, datapipeline.WorkflowType,
			datapipeline.Params{BatchSize: 300, SourceURL: "demo://products", Dataset: def.Name, DatasetDefinition: &def})
		require.NoError(t, err)
		require.NoError(t, run.Get(ctx, nil))
		saveHistory(ctx, t, c, dir, "dataset", run)
	}

	// Since concurrency limits: a run admitted through its deployment's
	// semaphore (blueprint-concurrency 1).
	{
		lim := runinfo.Concurrency{Deployment: "history-limited", Limit: 1, Strategy: runinfo.CollisionEnqueue, TaskQueue: runinfo.TaskQueue}
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "history-limited", TaskQueue: runinfo.TaskQueue,
			Memo: map[string]any{runinfo.MemoConcurrency: lim}}, datapipeline.WorkflowType, datapipeline.Params{BatchSize: 50, SourceURL: "demo://orders"})
		require.NoError(t, err)
		require.NoError(t, run.Get(ctx, nil))
		saveHistory(ctx, t, c, dir, "limited", run)
	}

	// OrdersReport: a day range given, and the defaults (yesterday, from
	// the workflow's own clock).
	for name, p := range map[string]report.Params{
		"report-range":   {From: flow.DateOf(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)), To: flow.DateOf(time.Date(2024, 1, 31, 0, 0, 0, 0, time.UTC)), Timezone: "America/Chicago"},
		"report-default": {Timezone: "UTC"},
		// Since the flow wrapper ends every run: the outcome recorded by
		// EndRun, a readable failure.
		"report-ended":        {From: flow.DateOf(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)), To: flow.DateOf(time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)), Timezone: "UTC"},
		"report-failed-ended": {From: flow.DateOf(time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)), To: flow.DateOf(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)), Timezone: "UTC"},
	} {
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "history-" + name, TaskQueue: runinfo.TaskQueue}, report.OrdersReportWorkflow, p)
		require.NoError(t, err)
		if err := run.Get(ctx, nil); name != "report-failed-ended" {
			require.NoError(t, err)
		}
		saveHistory(ctx, t, c, dir, name, run)
	}

	// NightlyETL: every child completes; and one child fails, the others
	// load and are reported, then the parent fails naming the source.
	for name, p := range map[string]report.NightlyParams{
		"nightly-completed":    {Sources: []string{"demo://orders?seed=1", "demo://orders?seed=2"}, BatchSize: 200, MaxParallel: 2, Timezone: "UTC"},
		"nightly-failed-child": {Sources: []string{"demo://orders?seed=1", "demo://orders?seed=2", "demo://orders?fail=always"}, BatchSize: 200, MaxParallel: 2, Timezone: "America/Chicago"},
		// Since the flow wrapper ends every run, and NightlyETL logs and
		// shows each child.
		"nightly-ended":              {Sources: []string{"demo://orders?seed=3", "demo://orders?seed=4"}, BatchSize: 200, MaxParallel: 1, Timezone: "UTC"},
		"nightly-failed-child-ended": {Sources: []string{"demo://orders?seed=3", "demo://orders?fail=always"}, BatchSize: 200, MaxParallel: 2, Timezone: "UTC"},
	} {
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "history-" + name, TaskQueue: runinfo.TaskQueue}, report.NightlyETLWorkflow, p)
		require.NoError(t, err)
		err = run.Get(ctx, nil)
		if strings.HasPrefix(name, "nightly-failed-child") {
			require.ErrorContains(t, err, "demo://orders?fail=always")
		} else {
			require.NoError(t, err)
		}
		saveHistory(ctx, t, c, dir, name, run)
	}

	// A DataPipeline and an OrdersReport run whose activity waited for a
	// locked warehouse: their histories hold the wait's signals.
	wh := newLockedWarehouse(t)
	flowstest.StartWith(t, c, wh.Store, worker.Config{TaskQueue: "history-waits", ChunkRecords: 500}, flows.Registry)
	for _, name := range []string{"waited-warehouse", "report-waited-warehouse"} {
		wh.hold(t)
		var run client.WorkflowRun
		var err error
		if name == "waited-warehouse" {
			run, err = c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "history-" + name, TaskQueue: "history-waits"}, datapipeline.WorkflowType,
				datapipeline.Params{BatchSize: 1200, SourceURL: "demo://orders"})
		} else {
			run, err = c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "history-" + name, TaskQueue: "history-waits"}, report.OrdersReportWorkflow,
				report.Params{Timezone: "UTC"})
		}
		require.NoError(t, err)
		require.Eventually(t, func() bool { return len(waitSignals(ctx, t, c, run.GetID(), run.GetRunID())) > 0 }, time.Minute, 50*time.Millisecond)
		wh.release(t)
		require.NoError(t, run.Get(ctx, nil))
		saveHistory(ctx, t, c, dir, name, run)
	}

	// NightlyETL cancelled while its child reads a source that holds its
	// first page until the end of the test: the child and the parent end
	// cancelled.
	feed, feedURL := testutil.HeldFeed(t, 100, testutil.RequestAt{Page: 0, Request: 1})
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "history-nightly-cancelled", TaskQueue: runinfo.TaskQueue}, report.NightlyETLWorkflow,
		report.NightlyParams{Sources: []string{feedURL}, BatchSize: 5000, MaxParallel: 1, Timezone: "UTC"})
	require.NoError(t, err)
	select {
	case <-feed.Arrived():
	case <-ctx.Done():
		t.Fatal("the child never read its source")
	}
	require.NoError(t, c.CancelWorkflow(ctx, run.GetID(), run.GetRunID()))
	var canceled *temporal.CanceledError
	require.ErrorAs(t, run.Get(ctx, nil), &canceled)
	saveHistory(ctx, t, c, dir, "nightly-cancelled", run)
}

// saveHistory writes run's history to dir/name.json, unless that file
// exists: a recorded history is what running workflows look like, and
// stays (delete it to record it again).
func saveHistory(ctx context.Context, t *testing.T, c client.Client, dir, name string, run client.WorkflowRun) {
	t.Helper()
	path := filepath.Join(dir, name+".json")
	if _, err := os.Stat(path); err == nil {
		t.Logf("%s exists: kept", path)
		return
	}
	b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(&historypb.History{Events: history(ctx, t, c, run.GetID(), run.GetRunID())})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, b, 0o644))
}

// TestRecordEncryptedHistory records the replay test's encrypted history,
// with the test key of workflows/testdata/encrypted/KEYS (a key made for
// this and used nowhere else). It runs only when asked:
// BLUEPRINT_RECORD_HISTORY=1 go test -run TestRecordEncryptedHistory ./flows/
func TestRecordEncryptedHistory(t *testing.T) {
	if os.Getenv("BLUEPRINT_RECORD_HISTORY") == "" {
		t.Skip("set BLUEPRINT_RECORD_HISTORY=1 to record workflows/testdata/encrypted histories")
	}
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "workflows", "testdata", "encrypted")
	spec, err := os.ReadFile(filepath.Join(dir, "KEYS"))
	require.NoError(t, err)
	keys, err := codec.ParseKeys(strings.TrimSpace(string(spec)))
	require.NoError(t, err)
	srv, err := devserver.Start(context.Background(), devserver.Options{DataConverter: codec.DataConverter(keys)})
	require.NoError(t, err)
	t.Cleanup(func() { srv.Client().Close(); _ = srv.Stop() })
	c := srv.Client()
	flowstest.Start(t, c, runinfo.TaskQueue, flows.Registry)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, runID := execute(ctx, t, c, "history-encrypted", datapipeline.Params{BatchSize: 500, SourceURL: "demo://orders?seed=7"})
	b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(&historypb.History{Events: history(ctx, t, c, "history-encrypted", runID)})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "completed.json"), b, 0o644))
}

func execute(ctx context.Context, t *testing.T, c client.Client, id string, p datapipeline.Params) (datapipeline.Summary, string) {
	t.Helper()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: runinfo.TaskQueue}, datapipeline.WorkflowType, p)
	require.NoError(t, err)
	var sum datapipeline.Summary
	require.NoError(t, run.Get(ctx, &sum))
	return sum, run.GetRunID()
}

func history(ctx context.Context, t *testing.T, c client.Client, id, runID string) []*historypb.HistoryEvent {
	t.Helper()
	var events []*historypb.HistoryEvent
	it := c.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		require.NoError(t, err)
		events = append(events, e)
	}
	return events
}

// TestRetryShowsInCurrentDetailsOnDevServer checks, on a real server, that
// a stage's retries reach the run's current details: each retried attempt
// of Extract signals its workflow, the Web UI's metadata query shows the
// attempt while it runs, and a run without retries has no signal in its
// history. The source scripts the run: attempt 1 fails at page 3 (503)
// after committing pages 1 and 2; attempt 2 resumes at page 3 and is held
// there until the test has looked at the run's current details, then fails
// at page 4; attempt 3 resumes at page 4 and completes.
func TestRetryShowsInCurrentDetailsOnDevServer(t *testing.T) {
	srv := devserver.ForTest(t)
	c := srv.Client()
	st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "warehouse.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	queue := testutil.UniqueID("attempts")
	flowstest.StartWith(t, c, st, worker.Config{TaskQueue: queue, ChunkRecords: 100}, flows.Registry)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	start := func(sourceURL string) client.WorkflowRun {
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: testutil.UniqueID("attempts"), TaskQueue: queue},
			datapipeline.WorkflowType, datapipeline.Params{BatchSize: 600, SourceURL: sourceURL})
		require.NoError(t, err)
		return run
	}
	outage := func(page int) testutil.RequestFault {
		return testutil.RequestFault{RequestAt: testutil.RequestAt{Page: page, Request: 1}, Fault: testutil.FaultServerError}
	}
	// Pages 0-based: the third and fourth pages' first requests fail;
	// the third's second request is held.
	feed, sourceURL := testutil.HeldFeed(t, 600, testutil.RequestAt{Page: 2, Request: 2}, outage(2), outage(3))
	run := start(sourceURL)
	done := make(chan error, 1)
	go func() { done <- run.Get(ctx, nil) }()

	// Attempt 2 is at the gate: it signalled the workflow before it
	// opened the source, and a query sees every event the history holds.
	select {
	case <-feed.Arrived():
	case err := <-done:
		t.Fatalf("the run ended before attempt 2 reached the gate: %v", err)
	case <-ctx.Done():
		t.Fatal("attempt 2 never reached the gate")
	}
	v, err := c.QueryWorkflow(ctx, run.GetID(), run.GetRunID(), flowrun.MetadataQuery)
	require.NoError(t, err)
	var md sdkpb.WorkflowMetadata
	require.NoError(t, v.Get(&md))
	during := md.GetCurrentDetails()
	feed.Release()
	require.NoError(t, <-done)

	var signals []runinfo.Attempt
	for _, e := range history(ctx, t, c, run.GetID(), run.GetRunID()) {
		if a := e.GetWorkflowExecutionSignaledEventAttributes(); a != nil {
			require.Equal(t, runinfo.AttemptSignal, a.GetSignalName())
			var at runinfo.Attempt
			require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(a.GetInput(), &at))
			signals = append(signals, at)
		}
	}
	require.Len(t, signals, 2, "attempts 2 and 3 of Extract, and nothing else")
	for i, at := range signals {
		require.Equal(t, runinfo.StageExtract, at.Stage)
		require.Equal(t, int32(i+2), at.Attempt)
		require.Equal(t, int32(runinfo.MaxAttempts), at.MaxAttempts)
		require.EqualValues(t, 200+100*i, at.Rows, "the failed attempts committed the pages before their fault")
		require.Contains(t, at.PreviousError, fmt.Sprintf("page=%d: 503 Service Unavailable", 3+i), "the earlier attempt's error, read from the server")
	}
	want := "**Stage:** extract\n\n**Reading:** up to 600 records from " + sourceURL + "\n\n" +
		strings.Join(flowrun.AttemptFacts(signals[0]), "\n\n")
	require.Equal(t, want, during, "the Web UI shows attempt 2 while it runs")
	require.Contains(t, want, "**Attempt:** 2 of 3 (resuming after 200 rows)")

	plain := start("demo://orders")
	require.NoError(t, plain.Get(ctx, nil))
	for _, e := range history(ctx, t, c, plain.GetID(), plain.GetRunID()) {
		require.Nil(t, e.GetWorkflowExecutionSignaledEventAttributes(), "a run without retries sends no signal")
	}
}
