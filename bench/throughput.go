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
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/blueprint-etl/blueprint/internal/pipeline"
	"github.com/blueprint-etl/blueprint/internal/record"
	"github.com/blueprint-etl/blueprint/internal/source"
	"github.com/blueprint-etl/blueprint/internal/store"
	"github.com/blueprint-etl/blueprint/internal/transform"
)

const mib = 1 << 20

// Absolute limits of the throughput run.
const (
	maxWorkerRSS      = 256 * mib
	maxHistoryPayload = 64 << 10
	maxHistoryEvents  = 100
)

type throughputDetail struct {
	Database  string `json:"database"`
	BatchSize int    `json:"batch_size"`

	PipelineSeconds    float64             `json:"pipeline_seconds"`
	PipelineRows       int64               `json:"pipeline_rows"`
	PipelineRowsPerSec float64             `json:"pipeline_rows_per_sec"`
	StageMS            map[string]float64  `json:"pipeline_stage_ms"`
	Extracted          int64               `json:"extracted"`
	Rejected           int64               `json:"rejected"`
	Loaded             pipeline.LoadResult `json:"loaded"`

	// The baseline: an in-process program writing the same rows.
	BaselineSeconds      float64 `json:"baseline_seconds"`
	BaselineWriteSeconds float64 `json:"baseline_write_seconds"` // WriteOrders calls alone
	BaselineRows         int64   `json:"baseline_rows"`
	BaselineRowsPerSec   float64 `json:"baseline_rows_per_sec"`

	// CPU seconds of each process during the pipeline run, and of the
	// harness during the baseline.
	PipelineCPUSeconds map[string]float64 `json:"pipeline_cpu_seconds"`
	BaselineCPUSeconds float64            `json:"baseline_cpu_seconds"`
	// PostgreSQL's CPU seconds (a lower bound: exited backends are lost).
	PipelinePostgresCPUSeconds float64 `json:"pipeline_postgres_cpu_seconds,omitempty"`
	BaselinePostgresCPUSeconds float64 `json:"baseline_postgres_cpu_seconds,omitempty"`

	WorkerPeakRSSBytes int64 `json:"worker_peak_rss_bytes"`
	// WorkerMemAtPeak breaks the peak down, as sampled near it.
	WorkerMemAtPeak memSample    `json:"worker_mem_at_peak"`
	History         historyStats `json:"history"`
}

// measureThroughput runs the throughput measurement on SQLite, and on
// PostgreSQL when configured. The main worker is stopped first: each run
// gets a fresh worker process, and the machine is otherwise idle.
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

// throughput measures one database: the in-process baseline into one
// fresh database, then the pipeline, on a fresh worker process, into
// another.
func (b *bench) throughput(driver, label string, fresh func(name string) (dsn string, drop func(), err error)) error {
	cfg := b.cfg
	params := b.paramsWith(cfg.Rows)
	d := &throughputDetail{Database: driver, BatchSize: cfg.Rows}

	baseDSN, dropBase, err := fresh("baseline")
	if err != nil {
		return err
	}
	b.clean.add(dropBase)
	b.logf("[throughput %s] baseline: %d rows in process", driver, cfg.Rows)
	st, err := store.Open(b.ctx, baseDSN)
	if err != nil {
		return fmt.Errorf("%s baseline: %w", label, err)
	}
	cpuBefore, sysBefore := procCPU(os.Getpid()), sampleCPU()
	total, write, rows, err := writeBaseline(b.ctx, st, params, cfg.BaselineChunk)
	// Sampled before Close: PostgreSQL's backends take their CPU time
	// with them when they exit.
	d.BaselineCPUSeconds = procCPU(os.Getpid()) - cpuBefore
	if driver == store.DriverPostgres {
		d.BaselinePostgresCPUSeconds = sharesBetween(sysBefore, sampleCPU(), b.rep.Machine.Cores).PostgresSeconds
	}
	if cerr := st.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%s baseline: %w", label, err)
	}
	d.BaselineSeconds, d.BaselineWriteSeconds, d.BaselineRows = total.Seconds(), write.Seconds(), rows
	d.BaselineRowsPerSec = float64(rows) / total.Seconds()
	b.logf("[throughput %s] baseline: %d rows in %.2f s (%.0f rows/s; writes alone %.2f s)", driver, rows, d.BaselineSeconds, d.BaselineRowsPerSec, d.BaselineWriteSeconds)

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
	b.logf("[throughput %s] pipeline: batch_size=%d", driver, cfg.Rows)
	meter := b.meter(b.tuned, w)
	before, sysBefore := meter.sample(), sampleCPU()
	r, err := b.runWorkflow(b.ctx, b.tuned.c, pipeline.WorkflowType, queue, params, bulkRunTimeout)
	if err != nil {
		return err
	}
	var tally cpuTally
	tally.add(before, meter.sample())
	d.PipelineCPUSeconds = tally.seconds
	if driver == store.DriverPostgres {
		d.PipelinePostgresCPUSeconds = sharesBetween(sysBefore, sampleCPU(), b.rep.Machine.Cores).PostgresSeconds
	}
	if d.WorkerPeakRSSBytes, err = w.PeakRSS(); err != nil {
		return err
	}
	d.WorkerMemAtPeak = w.MemAtPeak()
	if err := w.Stop(b.grace()); err != nil {
		return err
	}
	s := r.summary
	d.PipelineSeconds = r.elapsed.Seconds()
	d.Extracted, d.Rejected, d.Loaded = s.Extracted, s.Rejected, s.Loaded
	d.PipelineRows = s.Loaded.Inserted + s.Loaded.Updated + s.Loaded.Unchanged
	d.PipelineRowsPerSec = float64(d.PipelineRows) / d.PipelineSeconds
	d.StageMS = map[string]float64{"extract": ms(s.Durations.Extract), "transform": ms(s.Durations.Transform),
		"load": ms(s.Durations.Load), "workflow_total": ms(s.Durations.Total)}
	if d.History, err = runHistory(b.ctx, b.tuned.c, r.workflowID, r.runID); err != nil {
		return err
	}
	b.logf("[throughput %s] pipeline: %d rows in %.2f s (%.0f rows/s), worker peak RSS %.0f MiB, %d events, largest event payload %d bytes",
		driver, d.PipelineRows, d.PipelineSeconds, d.PipelineRowsPerSec, float64(d.WorkerPeakRSSBytes)/mib, d.History.Events, d.History.MaxEventPayloadBytes)
	if d.PipelineRows != d.BaselineRows {
		b.note("throughput %s: the pipeline loaded %d rows, the baseline %d: they should be the same rows", label, d.PipelineRows, d.BaselineRows)
	}

	b.rep.Throughput = append(b.rep.Throughput, d)
	b.rep.Measurements = append(b.rep.Measurements,
		compared("throughput_"+driver, fmt.Sprintf("throughput, %s rows into %s", countLabel(cfg.Rows), label), "rows/s",
			d.PipelineRowsPerSec, d.BaselineRowsPerSec, "in-process", ">=", 0.5),
		limited("worker_rss_"+driver, fmt.Sprintf("worker peak RSS (%s run)", label), "MiB",
			float64(d.WorkerPeakRSSBytes)/mib, "<=", maxWorkerRSS/mib),
		limited("history_payload_"+driver, fmt.Sprintf("largest history event payload (%s run)", label), "bytes",
			float64(d.History.MaxEventPayloadBytes), "<=", maxHistoryPayload),
		limited("history_events_"+driver, fmt.Sprintf("history events (%s run)", label), "events",
			float64(d.History.Events), "<=", maxHistoryEvents))
	b.note("throughput %s: one run each into fresh databases, end to end (client start -> result) on a fresh worker process; baseline = demo reader + transform.Normalize + dedup + store.WriteOrders in chunks of %d, in process (generation included; WriteOrders alone %.2f s); stages %s",
		label, cfg.BaselineChunk, d.BaselineWriteSeconds, stageLine(d.StageMS))
	cpu := fmt.Sprintf("throughput %s: CPU seconds: pipeline worker %.1f, dev server %.1f, harness %.1f; baseline %.1f",
		label, d.PipelineCPUSeconds["worker"], d.PipelineCPUSeconds["server"], d.PipelineCPUSeconds["harness"], d.BaselineCPUSeconds)
	if driver == store.DriverPostgres {
		cpu += fmt.Sprintf("; the PostgreSQL server (all its processes, other clients included) at least %.1f during the pipeline run, %.1f during the baseline", d.PipelinePostgresCPUSeconds, d.BaselinePostgresCPUSeconds)
	}
	b.note("%s", cpu)
	m := d.WorkerMemAtPeak
	b.note("worker memory %s: peak RSS (VmHWM) %.0f MiB; sampled near the peak: RSS %.0f MiB = files %.0f MiB (the binary) + anonymous %.0f MiB, of which the Go runtime had mapped %.0f MiB (heap objects %.0f MiB at that instant) and C memory (SQLite's page caches) about %.0f MiB",
		label, float64(d.WorkerPeakRSSBytes)/mib, float64(m.RSS)/mib, float64(m.File)/mib, float64(m.Anon)/mib,
		float64(m.GoMapped)/mib, float64(m.GoHeap)/mib, float64(max(0, m.Anon-m.GoMapped))/mib)
	b.note("history %s: payload = largest sum of payload data bytes of one event (%s); largest single payload %d bytes, largest event as protojson %d bytes",
		label, d.History.MaxEventPayloadType, d.History.MaxPayloadBytes, d.History.MaxEventJSONBytes)
	return nil
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

// writeBaseline is the plain program: read the demo source, normalize and
// deduplicate as Transform does, and upsert into st with store.WriteOrders
// in chunks. It returns the total time, the time of the writes alone and the
// number of rows written.
func writeBaseline(ctx context.Context, st *store.Store, params pipeline.Params, chunk int) (total, write time.Duration, rows int64, err error) {
	spec, err := pipeline.ParseSourceURL(params.SourceURL)
	if err != nil {
		return 0, 0, 0, err
	}
	key, err := source.Key(spec, source.Config{})
	if err != nil {
		return 0, 0, 0, err
	}

	start := time.Now()
	r, err := source.Open(ctx, spec, "", int64(params.BatchSize), source.Attempt{Number: 1, Max: pipeline.MaxAttempts}, source.Config{})
	if err != nil {
		return 0, 0, 0, err
	}
	defer r.Close()
	dedup := transform.NewDeduper()
	orders := make([]record.Order, 0, chunk)
	flush := func() error {
		if len(orders) == 0 {
			return nil
		}
		t := time.Now()
		res, err := st.WriteOrders(ctx, key, orders)
		write += time.Since(t)
		if err != nil {
			return err
		}
		rows += res.Inserted + res.Updated + res.Unchanged
		orders = orders[:0]
		return nil
	}
	for {
		page, err := r.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, 0, 0, err
		}
		for _, raw := range page.Records {
			o, reason, _ := transform.Normalize(raw)
			if reason != "" || dedup.Seen(o.ID) {
				continue
			}
			orders = append(orders, o)
			if len(orders) == chunk {
				if err := flush(); err != nil {
					return 0, 0, 0, err
				}
			}
		}
		if page.Cursor == "" {
			break
		}
	}
	if err := flush(); err != nil {
		return 0, 0, 0, err
	}
	return time.Since(start), write, rows, nil
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
