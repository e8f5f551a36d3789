package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/blueprint-etl/blueprint/internal/datapipeline"
	"github.com/blueprint-etl/blueprint/internal/record"
	"github.com/blueprint-etl/blueprint/internal/restapi"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/source"
	"github.com/blueprint-etl/blueprint/internal/sourceurl"
	"github.com/blueprint-etl/blueprint/internal/store"
	"github.com/blueprint-etl/blueprint/internal/transform"
	"github.com/blueprint-etl/blueprint/starter"
)

const mib = 1 << 20

// Absolute limits of the throughput run.
const (
	maxWorkerRSS      = 256 * mib
	maxHistoryPayload = 64 << 10
	maxHistoryEvents  = 100
)

// Targets of the throughput measurement: the pipeline's rows/s against
// the store alone, against the whole in-process program (the earlier
// baseline, kept for comparison), and of the big run against the 1M one.
const (
	storeOnlyTarget = 0.7
	programTarget   = 0.5
	scalingTarget   = 0.8
)

// pipelineRun is one throughput run of the pipeline.
type pipelineRun struct {
	BatchSize  int                     `json:"batch_size"`
	SourceURL  string                  `json:"source_url"`
	Seconds    float64                 `json:"seconds"`
	Rows       int64                   `json:"rows"`
	RowsPerSec float64                 `json:"rows_per_sec"`
	StageMS    map[string]float64      `json:"stage_ms"`
	Extracted  int64                   `json:"extracted"`
	Rejected   int64                   `json:"rejected"`
	Loaded     datapipeline.LoadResult `json:"loaded"`
	// CPU seconds of each process during the run.
	CPUSeconds map[string]float64 `json:"cpu_seconds"`
	// PostgreSQL's CPU seconds (a lower bound: exited backends are lost).
	PostgresCPUSeconds float64 `json:"postgres_cpu_seconds,omitempty"`
	// WorkerPeakRSSBytes is the worker's peak RSS (VmHWM) after the run:
	// the peak of every run so far on that worker.
	WorkerPeakRSSBytes int64        `json:"worker_peak_rss_bytes"`
	History            historyStats `json:"history"`
}

type throughputDetail struct {
	Database string `json:"database"`
	// Run is the BatchSize run, Big the BigRows run after it on the same
	// worker process, into the same database (other records: every row
	// is new in both).
	Run *pipelineRun `json:"run"`
	Big *pipelineRun `json:"big_run"`

	// The baseline: the store alone writing the rows the pipeline loads,
	// already normalised, in one process (store.WriteOrders in chunks).
	// ProgramSeconds adds what it took to generate, normalise and
	// deduplicate them in process first: the earlier baseline.
	BaselineSeconds     float64 `json:"baseline_seconds"`
	BaselineRows        int64   `json:"baseline_rows"`
	BaselineRowsPerSec  float64 `json:"baseline_rows_per_sec"`
	PrepareSeconds      float64 `json:"prepare_seconds"`
	ProgramRowsPerSec   float64 `json:"program_rows_per_sec"`
	BaselineCPUSeconds  float64 `json:"baseline_cpu_seconds"`
	BaselinePostgresCPU float64 `json:"baseline_postgres_cpu_seconds,omitempty"`
	ScalingRatio        float64 `json:"scaling_ratio"`
	// ParallelWrites is how many chunks the store writes at once for Load
	// (store.ParallelWrites); above 1, the store alone is also timed
	// writing the rows that way (informational: the target's baseline is
	// the plain upsert above).
	ParallelWrites             int       `json:"parallel_writes"`
	ParallelBaselineSeconds    float64   `json:"parallel_baseline_seconds,omitempty"`
	ParallelBaselineRowsPerSec float64   `json:"parallel_baseline_rows_per_sec,omitempty"`
	WorkerMemAtPeak            memSample `json:"worker_mem_at_peak"`
	WorkerPeakRSSBytes         int64     `json:"worker_peak_rss_bytes"`

	// Products is the ten-field declared dataset measured after orders
	// (see products.go): one Rows run, no scaling run.
	Products *datasetThroughput `json:"products,omitempty"`
}

// measureThroughput runs the throughput measurement on SQLite, and on
// PostgreSQL when configured. The main worker is stopped first: each
// database gets a fresh worker process, and the machine is otherwise idle.
func (b *bench) measureThroughput() error {
	if err := b.workerA.Stop(b.grace()); err != nil {
		return err
	}
	sqlite := func(name string) (string, func(), error) {
		return "sqlite:" + filepath.Join(b.tmp, "throughput-"+name+".db"), func() {}, nil
	}
	if err := b.throughput(store.DriverSQLite, "SQLite", sqlite); err != nil {
		return err
	}
	if !b.cfg.Postgres {
		b.note("throughput on PostgreSQL not measured: %s is not set", postgresEnv)
		return nil
	}
	pg := func(name string) (string, func(), error) { return freshSchema(b.ctx, b.log, b.cfg.PostgresURL, name) }
	return b.throughput(store.DriverPostgres, "PostgreSQL", pg)
}

// throughput measures one database: the store-only baseline into one
// fresh database, then, on a fresh worker process, the pipeline with
// batch_size Rows and then BigRows into another.
func (b *bench) throughput(driver, label string, fresh func(name string) (dsn string, drop func(), err error)) error {
	cfg := b.cfg
	d := &throughputDetail{Database: driver}
	if err := b.storeBaseline(d, driver, fresh); err != nil {
		return fmt.Errorf("%s baseline: %w", label, err)
	}

	pipeDSN, dropPipe, err := fresh("pipeline")
	if err != nil {
		return err
	}
	b.clean.add(dropPipe)
	queue := "bench-throughput-" + driver
	w, err := b.startWorker("throughput-"+driver, b.tuned, queue, pipeDSN)
	if err != nil {
		return err
	}
	if d.Run, err = b.pipelineRun(w, driver, queue, b.paramsWith(cfg.Rows)); err != nil {
		return err
	}
	big := b.paramsWith(cfg.BigRows)
	if big.SourceURL, err = otherRecords(big.SourceURL); err != nil {
		return err
	}
	if d.Big, err = b.pipelineRun(w, driver, queue, big); err != nil {
		return err
	}
	d.WorkerPeakRSSBytes = d.Big.WorkerPeakRSSBytes
	d.WorkerMemAtPeak = w.MemAtPeak()
	if err := w.Stop(b.grace()); err != nil {
		return err
	}
	d.ScalingRatio = d.Big.RowsPerSec / d.Run.RowsPerSec
	b.rep.Throughput = append(b.rep.Throughput, d)

	run, bigRun := d.Run, d.Big
	if run.Rows != d.BaselineRows {
		b.note("throughput %s: the pipeline loaded %d rows, the baseline %d: they should be the same rows", label, run.Rows, d.BaselineRows)
	}
	maxEvents := max(run.History.Events, bigRun.History.Events)
	maxPayload := max(run.History.MaxEventPayloadBytes, bigRun.History.MaxEventPayloadBytes)
	rows, bigRows := countLabel(cfg.Rows), countLabel(cfg.BigRows)
	b.rep.Measurements = append(b.rep.Measurements,
		compared("throughput_"+driver, fmt.Sprintf("throughput, %s rows into %s", rows, label), "rows/s",
			run.RowsPerSec, d.BaselineRowsPerSec, "store alone", ">=", storeOnlyTarget),
		compared("throughput_program_"+driver, fmt.Sprintf("throughput, %s rows into %s vs the whole in-process program", rows, label), "rows/s",
			run.RowsPerSec, d.ProgramRowsPerSec, "in-process program", ">=", programTarget),
		compared("scaling_"+driver, fmt.Sprintf("scaling, %s vs %s rows into %s, same worker", bigRows, rows, label), "rows/s",
			bigRun.RowsPerSec, run.RowsPerSec, rows+" run", ">=", scalingTarget),
		limited("worker_rss_"+driver, fmt.Sprintf("worker peak RSS (%s and %s rows, %s)", rows, bigRows, label), "MiB",
			float64(d.WorkerPeakRSSBytes)/mib, "<=", maxWorkerRSS/mib),
		limited("history_payload_"+driver, fmt.Sprintf("largest history event payload (%s runs)", label), "bytes",
			float64(maxPayload), "<=", maxHistoryPayload),
		limited("history_events_"+driver, fmt.Sprintf("history events of a run (%s runs)", label), "events",
			float64(maxEvents), "<=", maxHistoryEvents))
	b.note("throughput %s: baseline = store.WriteOrdersAs of the rows the pipeline loads, with a run in first_run and last_run as Load writes them, already generated, normalised and deduplicated (%.2f s, not timed), in chunks of %d in one process into a fresh database: %.2f s; the in-process program line adds the preparation to it",
		label, d.PrepareSeconds, cfg.BaselineChunk, d.BaselineSeconds)
	if d.ParallelBaselineRowsPerSec > 0 {
		b.note("throughput %s: Load writes %d chunks at once (store.ParallelWrites); the store alone writing the same rows %d chunks at once took %.2f s (%.0f rows/s), and the %s-row run's rows/s against it is %.2f (informational: the target's baseline is the plain upsert, one chunk after the other)",
			label, d.ParallelWrites, d.ParallelWrites, d.ParallelBaselineSeconds, d.ParallelBaselineRowsPerSec, rows, run.RowsPerSec/d.ParallelBaselineRowsPerSec)
	}
	b.note("throughput %s: pipeline runs end to end (client start -> result) on one fresh worker process into one fresh database, %s rows then %s other rows; stages of the %s run: %s; of the %s run: %s",
		label, rows, bigRows, rows, stageLine(run.StageMS), bigRows, stageLine(bigRun.StageMS))
	cpu := fmt.Sprintf("throughput %s: CPU seconds of the %s run: worker %.1f, dev server %.1f, harness %.1f; of the %s run: worker %.1f; baseline %.1f",
		label, rows, run.CPUSeconds["worker"], run.CPUSeconds["server"], run.CPUSeconds["harness"], bigRows, bigRun.CPUSeconds["worker"], d.BaselineCPUSeconds)
	if driver == store.DriverPostgres {
		cpu += fmt.Sprintf("; the PostgreSQL server (all its processes, other clients included) at least %.1f during the %s run, %.1f during the baseline", run.PostgresCPUSeconds, rows, d.BaselinePostgresCPU)
	}
	b.note("%s", cpu)
	m := d.WorkerMemAtPeak
	b.note("worker memory %s: peak RSS (VmHWM) %.0f MiB after the %s run, %.0f MiB after the %s run; sampled near the peak: RSS %.0f MiB = files %.0f MiB (the binary) + anonymous %.0f MiB, of which the Go runtime had mapped %.0f MiB (heap objects %.0f MiB at that instant) and C memory (SQLite's page caches) about %.0f MiB",
		label, float64(run.WorkerPeakRSSBytes)/mib, rows, float64(bigRun.WorkerPeakRSSBytes)/mib, bigRows, float64(m.RSS)/mib, float64(m.File)/mib, float64(m.Anon)/mib,
		float64(m.GoMapped)/mib, float64(m.GoHeap)/mib, float64(max(0, m.Anon-m.GoMapped))/mib)
	b.note("history %s: events %d (%s run) and %d (%s run); payload = largest sum of payload data bytes of one event (%s); largest single payload %d bytes, largest event as protojson %d bytes",
		label, run.History.Events, rows, bigRun.History.Events, bigRows, bigRun.History.MaxEventPayloadType,
		max(run.History.MaxPayloadBytes, bigRun.History.MaxPayloadBytes), max(run.History.MaxEventJSONBytes, bigRun.History.MaxEventJSONBytes))
	if err := b.productsThroughput(driver, label, fresh, d); err != nil {
		return err
	}
	b.note("scaling %s: the %s-row run is of orders only; products are measured at %s rows", label, bigRows, rows)
	return nil
}

// storeBaseline measures the store alone: the rows the pipeline would load
// are prepared first (demo source, transform.Normalize, the same duplicate
// rule), and only their writes are timed.
func (b *bench) storeBaseline(d *throughputDetail, driver string, fresh func(name string) (string, func(), error)) error {
	params := b.paramsWith(b.cfg.Rows)
	t := time.Now()
	key, chunks, err := prepareOrders(b.ctx, params, b.cfg.BaselineChunk)
	if err != nil {
		return err
	}
	d.PrepareSeconds = time.Since(t).Seconds()
	b.logf("[throughput %s] baseline: the store alone writes %d prepared rows", driver, b.cfg.Rows)
	base, err := b.timeStoreWrites(driver, "baseline", fresh, nil, func(st *store.Store) (int64, error) {
		return writeAtOnce(b.ctx, st, 1, baselineRunRef(), key, chunks)
	})
	if err != nil {
		return err
	}
	d.BaselineSeconds, d.BaselineRows, d.BaselineRowsPerSec = base.Seconds, base.Rows, base.RowsPerSec
	d.BaselineCPUSeconds, d.BaselinePostgresCPU = base.CPUSeconds, base.PostgresCPU
	d.ProgramRowsPerSec = float64(base.Rows) / (base.Seconds + d.PrepareSeconds)
	b.logf("[throughput %s] baseline: %d rows in %.2f s (%.0f rows/s; preparing them took %.2f s)", driver, base.Rows, d.BaselineSeconds, d.BaselineRowsPerSec, d.PrepareSeconds)
	if d.ParallelWrites = store.ParallelWritesOn(driver); d.ParallelWrites < 2 {
		return nil
	}
	par, err := b.timeStoreWrites(driver, "baseline_parallel", fresh, nil, func(st *store.Store) (int64, error) {
		return writeAtOnce(b.ctx, st, d.ParallelWrites, baselineRunRef(), key, chunks)
	})
	if err != nil {
		return err
	}
	d.ParallelBaselineSeconds, d.ParallelBaselineRowsPerSec = par.Seconds, par.RowsPerSec
	b.logf("[throughput %s] baseline, %d chunks at once as Load writes them: %d rows in %.2f s (%.0f rows/s)", driver, d.ParallelWrites, par.Rows, par.Seconds, par.RowsPerSec)
	return nil
}

// writeAtOnce writes chunks with the store alone, n chunks at once (one:
// the plain upsert, one chunk after the other), each goroutine taking
// every nth chunk, as Load's chunk writes run side by side; it returns how
// many rows were written.
func writeAtOnce(ctx context.Context, st *store.Store, n int, run runinfo.RunRef, key string, chunks [][]record.Order) (int64, error) {
	var (
		wg   sync.WaitGroup
		rows atomic.Int64
		errs = make([]error, n)
	)
	for g := range n {
		wg.Go(func() {
			for i := g; i < len(chunks); i += n {
				res, err := st.WriteOrdersAs(ctx, run, key, chunks[i])
				if err != nil {
					errs[g] = err
					return
				}
				rows.Add(res.Inserted + res.Updated + res.Unchanged)
			}
		})
	}
	wg.Wait()
	return rows.Load(), errors.Join(errs...)
}

// baselineRunRef is the run the store-alone baselines record as writing their
// rows, shaped as a pipeline run of the harness is (a workflow ID made as
// its are, a UUID run ID): the baseline writes the rows a run leaves in
// the table, with the run in their bookkeeping columns, not rows without
// it (NULLs), which are 140 bytes a row smaller.
func baselineRunRef() runinfo.RunRef {
	var id [16]byte
	_, _ = rand.Read(id[:])
	id[6], id[8] = id[6]&0x0f|0x40, id[8]&0x3f|0x80 // version 4, RFC 4122 variant
	h := hex.EncodeToString(id[:])
	return runinfo.RunRef{
		WorkflowID: starter.NewWorkflowID("bench-"+strings.ToLower(datapipeline.WorkflowType), time.Now()),
		RunID:      h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:],
	}
}

// baselineRun is one timed run of the store alone.
type baselineRun struct {
	Seconds    float64
	Rows       int64
	RowsPerSec float64
	// CPUSeconds is the harness process's; PostgresCPU the PostgreSQL
	// server's (all its processes), on PostgreSQL.
	CPUSeconds  float64
	PostgresCPU float64
}

// timeStoreWrites opens a fresh database called name, lets setup prepare
// it (untimed; nil for nothing), and times write, which writes prepared
// rows and returns how many, profiled as measure
// throughput-DRIVER-NAME when the harness writes profiles.
func (b *bench) timeStoreWrites(driver, name string, fresh func(name string) (string, func(), error),
	setup func(st *store.Store) error, write func(st *store.Store) (int64, error)) (baselineRun, error) {
	var out baselineRun
	dsn, drop, err := fresh(name)
	if err != nil {
		return out, err
	}
	b.clean.add(drop)
	st, err := store.Open(b.ctx, dsn)
	if err != nil {
		return out, err
	}
	if setup != nil {
		if err := setup(st); err != nil {
			_ = st.Close()
			return out, err
		}
	}
	b.settle(driver)
	var prof profiler
	prefix := ""
	if b.cfg.ProfileDir != "" {
		prefix = filepath.Join(b.cfg.ProfileDir, "throughput-"+driver+"-"+strings.ReplaceAll(name, "_", "-"))
		if err := prof.start(prefix); err != nil {
			_ = st.Close()
			return out, err
		}
	}
	cpuBefore, sysBefore := procCPU(os.Getpid()), sampleCPU()
	start := time.Now()
	rows, err := write(st)
	elapsed := time.Since(start)
	// Sampled before Close: PostgreSQL's backends take their CPU time
	// with them when they exit.
	out.CPUSeconds = procCPU(os.Getpid()) - cpuBefore
	if driver == store.DriverPostgres {
		out.PostgresCPU = sharesBetween(sysBefore, sampleCPU(), b.rep.Machine.Cores).PostgresSeconds
	}
	if prefix != "" {
		if perr := prof.stop(); err == nil && perr != nil {
			err = perr
		}
		b.addProfiles(prefix)
	}
	if cerr := st.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return out, err
	}
	out.Seconds, out.Rows = elapsed.Seconds(), rows
	out.RowsPerSec = float64(rows) / elapsed.Seconds()
	return out, nil
}

// pipelineRun runs the pipeline once on worker w, profiled.
func (b *bench) pipelineRun(w *workerProc, driver, queue string, params datapipeline.Params) (*pipelineRun, error) {
	b.logf("[throughput %s] pipeline: batch_size=%d, %s", driver, params.BatchSize, params.SourceURL)
	measure := "throughput-" + driver
	if params.Dataset != "" {
		measure += "-" + params.Dataset
	}
	b.settle(driver)
	meter := b.meter(b.tuned, w)
	before, sysBefore := meter.sample(), sampleCPU()
	var r runResult
	err := b.profiled(w, measure+"-"+countLabel(params.BatchSize), func() error {
		var err error
		r, err = b.runWorkflow(b.ctx, b.tuned.c, datapipeline.WorkflowType, queue, params, bulkRunTimeout)
		return err
	})
	if err != nil {
		return nil, err
	}
	var tally cpuTally
	tally.add(before, meter.sample())
	p := &pipelineRun{BatchSize: params.BatchSize, SourceURL: params.SourceURL, CPUSeconds: tally.seconds}
	if driver == store.DriverPostgres {
		p.PostgresCPUSeconds = sharesBetween(sysBefore, sampleCPU(), b.rep.Machine.Cores).PostgresSeconds
	}
	if p.WorkerPeakRSSBytes, err = w.PeakRSS(); err != nil {
		return nil, err
	}
	s := r.summary
	p.Seconds = r.elapsed.Seconds()
	p.Extracted, p.Rejected, p.Loaded = s.Extracted, s.Rejected, s.Loaded
	p.Rows = s.Loaded.Inserted + s.Loaded.Updated + s.Loaded.Unchanged
	p.RowsPerSec = float64(p.Rows) / p.Seconds
	p.StageMS = map[string]float64{"extract": ms(s.Durations.Extract), "transform": ms(s.Durations.Transform),
		"load": ms(s.Durations.Load), "workflow_total": ms(s.Durations.Total)}
	if p.History, err = runHistory(b.ctx, b.tuned.c, r.workflowID, r.runID); err != nil {
		return nil, err
	}
	b.logf("[throughput %s] pipeline: %d rows in %.2f s (%.0f rows/s), worker peak RSS %.0f MiB, %d events, largest event payload %d bytes",
		driver, p.Rows, p.Seconds, p.RowsPerSec, float64(p.WorkerPeakRSSBytes)/mib, p.History.Events, p.History.MaxEventPayloadBytes)
	return p, nil
}

// otherRecords is a demo source URL with another seed: records that
// share no id with the first run's, so every row of the big run is new too.
func otherRecords(sourceURL string) (string, error) {
	u, err := url.Parse(sourceURL)
	if err != nil {
		return "", fmt.Errorf("source_url %q: %w", sourceURL, err)
	}
	if u.Scheme != "demo" {
		return "", fmt.Errorf("source_url %q: the throughput runs need a demo:// source", sourceURL)
	}
	q := u.Query()
	q.Set("seed", "7919")
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func stageLine(m map[string]float64) string {
	return fmt.Sprintf("extract %.0f ms, transform %.0f ms, load %.0f ms, workflow %.0f ms", m["extract"], m["transform"], m["load"], m["workflow_total"])
}

func countLabel(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 1000 && n%1000 == 0:
		return fmt.Sprintf("%dk", n/1000)
	default:
		return fmt.Sprint(n)
	}
}

// prepareOrders reads the demo source, normalises and deduplicates the
// records as the pipeline does, and returns the source key and the clean
// orders in chunks of chunk.
func prepareOrders(ctx context.Context, params datapipeline.Params, chunk int) (string, [][]record.Order, error) {
	return prepareChunks(ctx, params, restapi.RecordFields, chunk, func(raw []byte) (record.Order, string, bool) {
		o, reason, _ := transform.Normalize(raw)
		return o, o.ID, reason == ""
	})
}

// prepareChunks reads the demo source of params for fields, keeps the
// records norm accepts whose key the run has not seen (the pipeline's
// duplicate rule), and returns the source key and them in chunks of
// chunk: the rows a pipeline run loads, for a store-alone baseline.
func prepareChunks[T any](ctx context.Context, params datapipeline.Params, fields []string, chunk int, norm func(raw []byte) (row T, key string, ok bool)) (string, [][]T, error) {
	spec, err := sourceurl.Parse(params.SourceURL)
	if err != nil {
		return "", nil, err
	}
	key, err := source.Key(spec, source.Config{})
	if err != nil {
		return "", nil, err
	}
	r, err := source.Open(ctx, spec, "", int64(params.BatchSize), fields, source.Attempt{Number: 1, Max: runinfo.MaxAttempts}, source.Config{})
	if err != nil {
		return "", nil, err
	}
	defer r.Close()
	dedup := transform.NewDeduper()
	var chunks [][]T
	rows := make([]T, 0, chunk)
	for {
		page, err := r.Next(ctx)
		if err == io.EOF { // source.Reader's end of the feed
			break
		}
		if err != nil {
			return "", nil, err
		}
		for _, raw := range page.Records {
			row, id, ok := norm(raw)
			if !ok || dedup.Seen(id) {
				continue
			}
			rows = append(rows, row)
			if len(rows) == chunk {
				chunks = append(chunks, rows)
				rows = make([]T, 0, chunk)
			}
		}
		if page.Cursor == "" {
			break
		}
	}
	if len(rows) > 0 {
		chunks = append(chunks, rows)
	}
	return key, chunks, nil
}

// pingPostgres checks that the server at dsn answers.
func pingPostgres(ctx context.Context, dsn string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return errors.New(store.RedactDSN(err.Error()))
	}
	defer c.Close(context.Background())
	return c.Ping(ctx)
}

// freshSchema creates an empty schema on the server at base and returns a
// DSN using it (search_path) and a function dropping it.
// settle starts a timed throughput measure on PostgreSQL with a
// CHECKPOINT: the server writes out the pages the measure before it
// dirtied (a million rows are about a gigabyte of WAL, PostgreSQL's
// max_wal_size), which it would otherwise write during this one. A
// server that refuses it (a user without the pg_checkpoint role) is
// noted once, and the measures go on without.
func (b *bench) settle(driver string) {
	if driver != store.DriverPostgres || b.settleFailed {
		return
	}
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Minute)
	defer cancel()
	c, err := pgx.Connect(ctx, b.cfg.PostgresURL)
	if err == nil {
		_, err = c.Exec(ctx, "CHECKPOINT")
		_ = c.Close(context.Background())
	}
	if err != nil {
		b.settleFailed = true
		b.note("throughput PostgreSQL: no CHECKPOINT before each measure (%v): a measure may write out the pages of the one before it", err)
	}
}

func freshSchema(ctx context.Context, log io.Writer, base, name string) (string, func(), error) {
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	schema := "bench_" + name + "_" + hex.EncodeToString(rnd[:])
	u, err := url.Parse(base)
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", postgresEnv, err)
	}
	exec := func(ctx context.Context, sql string) error {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			return fmt.Errorf("connect to %s: %w", store.RedactDSN(base), err)
		}
		defer c.Close(context.Background())
		_, err = c.Exec(ctx, sql)
		return err
	}
	ident := pgx.Identifier{schema}.Sanitize()
	if err := exec(ctx, "CREATE SCHEMA "+ident); err != nil {
		return "", nil, fmt.Errorf("create schema %s: %w", schema, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	drop := func() {
		// Not ctx: the schema must go even when the run was interrupted.
		if err := exec(context.Background(), "DROP SCHEMA IF EXISTS "+ident+" CASCADE"); err != nil {
			fmt.Fprintf(log, "bench: drop schema %s: %v\n", schema, err)
		}
	}
	return u.String(), drop, nil
}
