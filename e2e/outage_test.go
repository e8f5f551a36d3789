//go:build e2e

package e2e

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/blueprint-etl/blueprint/internal/datapipeline"
	"github.com/blueprint-etl/blueprint/internal/flow"
	"github.com/blueprint-etl/blueprint/internal/report"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/source"
	"github.com/blueprint-etl/blueprint/internal/store"
	"github.com/blueprint-etl/blueprint/internal/store/storetest"
	"github.com/blueprint-etl/blueprint/internal/testutil"
)

// outageFor is how long each warehouse outage lasts: a routine database
// restart or failover takes 10-60 s. It is the scenario, not a guard:
// nothing is asserted about time.
const outageFor = 30 * time.Second

// Sizes of the outage scenarios: several chunks per stage.
const (
	outageRows  = 20_000
	outageChunk = 2000
	// outageHold is the page (of 100 records) of a held feed that Extract
	// is held at: several chunks are committed before it.
	outageHold = 70
)

// heldFeed serves outageRows valid orders over local HTTP, holding the
// first request of page hold until the test releases it (see
// testutil.HeldFeed): the test then knows that Extract is reading, past
// the pages before.
func heldFeed(t *testing.T, hold int, faults ...testutil.RequestFault) (*testutil.Feed, string) {
	return testutil.HeldFeed(t, outageRows, testutil.RequestAt{Page: hold, Request: 1}, faults...)
}

// arrived waits until Extract asks for a held feed's held page.
func arrived(t *testing.T, feed *testutil.Feed) {
	t.Helper()
	select {
	case <-feed.Arrived():
	case <-time.After(hangGuard):
		t.Fatal("Extract never asked for the held page")
	}
}

// outage is one scenario: a worker of its own, on a task queue of its
// own, writing to a warehouse of its own.
type outage struct {
	t     *testing.T
	c     client.Client
	addr  string
	queue string
	pg    *storetest.Cluster // nil on SQLite
	wh    *warehouse
	w     *workerProc
}

// newOutage prepares a scenario on a private PostgreSQL cluster (dsn "")
// or on the SQLite warehouse dsn; the worker is created, not started.
func newOutage(t *testing.T, srv *server, c client.Client, name, dsn string) *outage {
	o := &outage{t: t, c: c, addr: srv.addr, queue: testutil.UniqueID("e2e-outage-" + name)}
	if dsn == "" {
		o.pg = storetest.NewCluster(t)
		dsn = o.pg.URL()
	}
	o.wh = openWarehouse(t, dsn)
	o.wh.SetWait(hangGuard) // the test's own reads wait out the outages too
	if o.pg != nil {
		// No pooled connection of the test's outlives an outage or a drop.
		o.wh.DB().SetMaxIdleConns(0)
	}
	o.w = newWorker(t, name, srv.addr, "BLUEPRINT_DATABASE_URL="+dsn, "BLUEPRINT_TASK_QUEUE="+o.queue,
		fmt.Sprint("BLUEPRINT_CHUNK_RECORDS=", outageChunk))
	return o
}

func (o *outage) run(id string, p datapipeline.Params) client.WorkflowRun {
	o.t.Helper()
	return startRun(o.t, o.c, testutil.UniqueID(id), o.queue, p)
}

// cli runs blueprint against the test's server and warehouse.
func (o *outage) cli(args ...string) cliResult {
	o.t.Helper()
	return blueprint(o.t, childEnv(o.t, "TEMPORAL_ADDRESS="+o.addr, "BLUEPRINT_DATABASE_URL="+o.wh.DSN), args...)
}

// waitShown waits until `blueprint runs show` says that activity waits for
// the warehouse, read from the activity's heartbeat: it does for as long
// as the warehouse is down, which the test ends. It returns the line.
func (o *outage) waitShown(run client.WorkflowRun, activity string) string {
	o.t.Helper()
	want := activity + " is waiting for the warehouse ("
	var out cliResult
	require.Eventually(o.t, func() bool {
		out = o.cli("runs", "show", run.GetID(), "--run-id", run.GetRunID())
		return strings.Contains(out.stdout, want)
	}, hangGuard, 500*time.Millisecond, "runs show never said %q", want)
	for _, l := range strings.Split(out.stdout, "\n") {
		if strings.Contains(l, want) {
			assert.Regexp(o.t, `^\s*Waiting:\s+`+activity+` is waiting for the warehouse \(.+\) since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d`, l)
			return l
		}
	}
	return ""
}

// down stops the PostgreSQL server and returns when.
func (o *outage) down() time.Time {
	o.t.Helper()
	o.pg.Stop()
	return time.Now()
}

// upAfter starts the server again once it has been down for outageFor.
func (o *outage) upAfter(stopped time.Time) {
	o.t.Helper()
	time.Sleep(time.Until(stopped.Add(outageFor)))
	o.pg.Start()
}

// lockTable takes an exclusive lock on table from a connection of its own,
// held until the connection ends (the server stops, or it is dropped).
func (o *outage) lockTable(table string) *pgx.Conn {
	o.t.Helper()
	ctx := testContext(o.t)
	conn, err := pgx.Connect(ctx, o.wh.DSN)
	require.NoError(o.t, err)
	o.t.Cleanup(func() { _ = conn.Close(context.Background()) })
	_, err = conn.Exec(ctx, `BEGIN`)
	require.NoError(o.t, err)
	_, err = conn.Exec(ctx, `LOCK TABLE `+table+` IN ACCESS EXCLUSIVE MODE`)
	require.NoError(o.t, err)
	return conn
}

// waitLocked waits until a session of the worker, other than the one of
// process ID not, waits for the lock on table, and returns its process
// ID: the run is in the stage that writes it, and stays there while the
// lock is held.
func (o *outage) waitLocked(table string, not int32) int32 {
	o.t.Helper()
	ctx := testContext(o.t)
	conn, err := pgx.Connect(ctx, o.wh.DSN)
	require.NoError(o.t, err)
	defer conn.Close(context.Background())
	var pid int32
	require.Eventually(o.t, func() bool {
		err := conn.QueryRow(ctx, `SELECT pid FROM pg_locks WHERE relation = $1::regclass AND NOT granted AND pid <> $2 LIMIT 1`, table, not).Scan(&pid)
		if errors.Is(err, pgx.ErrNoRows) {
			return false
		}
		require.NoError(o.t, err)
		return true
	}, hangGuard, 50*time.Millisecond, "no session waits for the lock on %s", table)
	return pid
}

// stopWhileLocked runs a demo source whose activity, in stage, waits for
// a lock on table: the server stops then, for outageFor, and the run must
// end as a clean one.
func (o *outage) stopWhileLocked(table, activity, stage string) {
	o.t.Helper()
	o.lockTable(table)
	url := "demo://orders?seed=4101"
	run := o.run("outage-"+stage, datapipeline.Params{BatchSize: outageRows, SourceURL: url})
	o.waitLocked(table, 0)
	stopped := o.down()
	o.waitShown(run, activity)
	o.upAfter(stopped)
	o.finish(run, url, activity, stage)
}

// finish waits for the run, which must complete, and checks that it
// loaded exactly the rows a clean run of sourceURL loads, in one attempt
// of the activity that met the outage, and that its log records the wait
// at stage and the outcome.
func (o *outage) finish(run client.WorkflowRun, sourceURL string, activity, stage string) datapipeline.Summary {
	o.t.Helper()
	var sum datapipeline.Summary
	require.NoError(o.t, run.Get(testContext(o.t), &sum), "run %s must complete", run.GetID())
	o.wh.checkRun(o.t, expect(o.t, sourceURL, outageRows, source.Config{}), sum)
	a := activityOf(o.t, activityRuns(events(o.t, o.c, run.GetID(), run.GetRunID())), activity)
	assert.Equal(o.t, int32(1), a.Attempt, "the outage cost %s no attempt", activity)
	o.logged(run, stage, "run completed: ")
	return sum
}

// logged checks that the run's log has a line about a wait for the
// warehouse at stage, written once it was back, and ends with the outcome.
func (o *outage) logged(run client.WorkflowRun, stage, outcome string) {
	o.t.Helper()
	lines, err := o.wh.RunLogs(testContext(o.t), runinfo.RunRef{WorkflowID: run.GetID(), RunID: run.GetRunID()}, store.LogQuery{})
	require.NoError(o.t, err)
	require.NotEmpty(o.t, lines)
	found := false
	for _, l := range lines {
		found = found || (l.Stage == stage && strings.HasPrefix(l.Message, "waited ") && strings.Contains(l.Message, " for the warehouse ("))
	}
	assert.True(o.t, found, "a run log line about the wait at stage %s", stage)
	if outcome != "" {
		assert.Contains(o.t, lines[len(lines)-1].Message, outcome)
	}
}

// TestWarehouseOutages stops the warehouse (a private PostgreSQL server)
// for outageFor in the middle of each stage, and of an OrdersReport run
// and of the recording of a failed run, drops every connection five times
// during one run, and locks a SQLite warehouse for outageFor. Each
// scenario runs in parallel with its own server or file and worker. The
// outage is met at a point the test knows (a gated page of an HTTP
// source, a table lock a session of the worker waits for) and shows in
// `blueprint runs show` for as long as it lasts. Every run ends as it
// would have without the outage: the same rows, its outcome in the
// warehouse, and no attempt spent on the outage.
func TestWarehouseOutages(t *testing.T) {
	t.Parallel()
	srv := startServer(t, false)
	c := srv.client()

	t.Run("postgres stopped during extract", func(t *testing.T) {
		t.Parallel()
		o := newOutage(t, srv, c, "extract", "")
		o.w.start()
		feed, url := heldFeed(t, outageHold)
		run := o.run("outage-extract", datapipeline.Params{BatchSize: outageRows, SourceURL: url})
		arrived(t, feed)
		stopped := o.down()
		feed.Release()
		line := o.waitShown(run, datapipeline.ExtractActivity)
		assert.NotContains(t, line, "postgres@", "no user or DSN in the cause")
		o.upAfter(stopped)
		o.finish(run, url, datapipeline.ExtractActivity, runinfo.StageExtract)
	})

	t.Run("postgres stopped during transform", func(t *testing.T) {
		t.Parallel()
		o := newOutage(t, srv, c, "transform", "")
		o.w.start()
		o.stopWhileLocked("rejected_records", datapipeline.TransformActivity, runinfo.StageTransform) // Transform's first chunk writes its rejects
	})

	t.Run("worker started while postgres is down, then stopped during load", func(t *testing.T) {
		t.Parallel()
		o := newOutage(t, srv, c, "load", "")
		o.pg.Stop()
		o.w.launch()
		// The worker says that it waits, and does not exit.
		require.Eventually(t, func() bool {
			return strings.Contains(o.w.logs.String(), "the warehouse is unreachable: waiting for it")
		}, hangGuard, 50*time.Millisecond)
		require.True(t, o.w.running())
		status := o.cli("status")
		assert.Regexp(t, `(?m)^✗ warehouse postgres://127\.0\.0\.1:\d+/postgres is unreachable from here: connection refused \(workers wait up to \$BLUEPRINT_WAREHOUSE_WAIT`, status.stdout)
		o.pg.Start()
		o.w.waitStarted()
		assert.Contains(t, o.w.logs.String(), "the warehouse is reachable")
		status = o.cli("status")
		assert.Regexp(t, `(?m)^✓ warehouse postgres://127\.0\.0\.1:\d+/postgres is reachable from here$`, status.stdout)

		o.stopWhileLocked("orders", datapipeline.LoadActivity, runinfo.StageLoad) // Load's first chunk waits for it
	})

	t.Run("postgres stopped during an OrdersReport run", func(t *testing.T) {
		t.Parallel()
		o := newOutage(t, srv, c, "report", "")
		o.w.start()
		url := "demo://orders?seed=4103"
		load := o.run("outage-report-load", datapipeline.Params{BatchSize: outageRows, SourceURL: url})
		var sum datapipeline.Summary
		require.NoError(t, load.Get(testContext(t), &sum))
		o.wh.checkRun(t, expect(t, url, outageRows, source.Config{}), sum)
		p := report.Params{From: flow.DateOf(sum.Loaded.FirstOrderedAt.UTC()), To: flow.DateOf(sum.Loaded.LastOrderedAt.UTC()), Timezone: "UTC"}

		o.lockTable("daily_revenue") // the report reads it, then writes it
		rep, err := c.ExecuteWorkflow(testContext(t), client.StartWorkflowOptions{ID: testutil.UniqueID("outage-report"), TaskQueue: o.queue}, report.OrdersReportWorkflow, p)
		require.NoError(t, err)
		o.waitLocked("daily_revenue", 0)
		stopped := o.down()
		o.waitShown(rep, report.DailyRevenueActivity)
		o.upAfter(stopped)
		var res report.Result
		require.NoError(t, rep.Get(testContext(t), &res))
		assert.Equal(t, sum.Valid, res.Orders)
		assert.Equal(t, res.Totals, res.Inserted, "a first report inserts every total")
		a := activityOf(t, activityRuns(events(t, c, rep.GetID(), rep.GetRunID())), report.DailyRevenueActivity)
		assert.Equal(t, int32(1), a.Attempt, "the outage cost the report no attempt")
		o.logged(rep, strings.ToLower(report.DailyRevenueActivity), "")
		rows, err := o.wh.DailyRevenue(testContext(t), "UTC", p.From.String(), p.To.String())
		require.NoError(t, err)
		require.Len(t, rows, res.Totals)

		// A clean run of the same report finds every total as it is.
		again, err := c.ExecuteWorkflow(testContext(t), client.StartWorkflowOptions{ID: testutil.UniqueID("outage-report-clean"), TaskQueue: o.queue}, report.OrdersReportWorkflow, p)
		require.NoError(t, err)
		var clean report.Result
		require.NoError(t, again.Get(testContext(t), &clean))
		assert.Equal(t, report.Result{From: res.From, To: res.To, Timezone: "UTC", Orders: res.Orders, Totals: res.Totals, Unchanged: res.Totals}, clean)
		after, err := o.wh.DailyRevenue(testContext(t), "UTC", p.From.String(), p.To.String())
		require.NoError(t, err)
		assert.Equal(t, rows, after)
	})

	t.Run("postgres stopped while a failed run is recorded", func(t *testing.T) {
		t.Parallel()
		o := newOutage(t, srv, c, "finish", "")
		o.w.start()
		// The first page answers 404: Extract fails before it stages a
		// chunk (a chunk's commit reads pipeline_runs), and FinishRun
		// records the failure.
		feed, url := heldFeed(t, 0, testutil.RequestFault{RequestAt: testutil.RequestAt{Page: 0, Request: 1}, Fault: testutil.FaultNotFound})
		run := o.run("outage-finish", datapipeline.Params{BatchSize: outageRows, SourceURL: url})
		arrived(t, feed) // Extract recorded the run; FinishRun will wait for this lock
		o.lockTable("pipeline_runs")
		feed.Release()
		o.waitLocked("pipeline_runs", 0)
		stopped := o.down()
		o.waitShown(run, datapipeline.FinishRunActivity)
		o.upAfter(stopped)
		appErr, acts := mustFail(t, c, run)
		assert.Contains(t, appErr.Error(), "404")
		assert.Equal(t, int32(1), activityOf(t, acts, datapipeline.FinishRunActivity).Attempt, "the outage cost FinishRun no attempt")
		requireFailedRun(t, o.wh, run, "404")
		o.logged(run, "finishrun", "run failed in extract: ")
	})

	t.Run("every connection dropped five times", func(t *testing.T) {
		t.Parallel()
		o := newOutage(t, srv, c, "drops", "")
		o.w.start()
		// A duplicate in the first page: Transform's first chunk writes
		// a rejected record (the ids of its valid ones stay in memory).
		recs := testutil.OrderRecords("held", outageRows)
		recs[1] = recs[0]
		feed := &testutil.Feed{Style: testutil.FeedLinkArray, Records: recs, PageSize: 100, Hold: testutil.RequestAt{Page: outageHold, Request: 1}}
		feed.Start(t)
		url, _ := feed.Source()
		rejects, orders := o.lockTable("rejected_records"), o.lockTable("orders")
		run := o.run("outage-drops", datapipeline.Params{BatchSize: outageRows, SourceURL: url})
		drop := func(keep ...*pgx.Conn) {
			var pids []uint32
			for _, k := range keep {
				pids = append(pids, k.PgConn().PID())
			}
			n, err := o.pg.TerminateAll(testContext(t), pids...)
			require.NoError(t, err)
			require.Positive(t, n, "the worker had connections to drop")
		}
		// 1: while Extract reads (its pooled connections are dropped).
		arrived(t, feed)
		drop(rejects, orders)
		feed.Release()
		// 2 and 3: inside Transform's transaction, which waits for the
		// lock on rejected_records (its first chunk's rejects) and runs
		// again each time; the second drop ends the lock too.
		first := o.waitLocked("rejected_records", 0)
		drop(rejects, orders)
		o.waitLocked("rejected_records", first)
		drop(orders)
		// 4 and 5: the same inside Load's transaction, with the lock on
		// orders.
		first = o.waitLocked("orders", 0)
		drop(orders)
		o.waitLocked("orders", first)
		drop()
		var sum datapipeline.Summary
		require.NoError(t, run.Get(testContext(t), &sum))
		o.wh.checkRun(t, expect(t, url, outageRows, source.Config{}), sum)
		for _, a := range []string{datapipeline.ExtractActivity, datapipeline.TransformActivity, datapipeline.LoadActivity} {
			assert.Equal(t, int32(1), activityOf(t, activityRuns(events(t, c, run.GetID(), run.GetRunID())), a).Attempt, "dropped connections cost %s no attempt", a)
		}
		o.logged(run, runinfo.StageTransform, "run completed: ")
		o.logged(run, runinfo.StageLoad, "")
	})

	t.Run("sqlite locked by another process during extract", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "warehouse.db")
		// SQLite's own wait for the lock is short here, so that the
		// store's wait (heartbeating, shown, logged) takes over.
		o := newOutage(t, srv, c, "sqlite", "sqlite:"+path+"?_pragma=busy_timeout(1000)")
		o.w.start()
		feed, url := heldFeed(t, outageHold)
		run := o.run("outage-sqlite", datapipeline.Params{BatchSize: outageRows, SourceURL: url})
		arrived(t, feed)
		db, err := sql.Open("sqlite", path)
		require.NoError(t, err)
		defer db.Close()
		lock, err := db.Conn(testContext(t))
		require.NoError(t, err)
		_, err = lock.ExecContext(testContext(t), `BEGIN EXCLUSIVE`)
		require.NoError(t, err)
		locked := time.Now()
		feed.Release()
		line := o.waitShown(run, datapipeline.ExtractActivity)
		assert.Contains(t, line, "(the SQLite database is locked by another connection (SQLITE_BUSY))")
		time.Sleep(time.Until(locked.Add(outageFor)))
		_, err = lock.ExecContext(testContext(t), `COMMIT`)
		require.NoError(t, err)
		require.NoError(t, lock.Close())
		o.finish(run, url, datapipeline.ExtractActivity, runinfo.StageExtract)
	})
}
