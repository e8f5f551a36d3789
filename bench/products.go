package main

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/blueprint-etl/blueprint/internal/datapipeline"
	"github.com/blueprint-etl/blueprint/internal/dataset"
	"github.com/blueprint-etl/blueprint/internal/sourceurl"
	"github.com/blueprint-etl/blueprint/internal/store"
	"github.com/blueprint-etl/blueprint/internal/testutil"
)

// The products throughput measurement: issue 22 asks that a declared
// dataset load as fast, against the store alone, as the built-in orders.
// DataPipeline loads Rows products (ten fields, every type; demo://products)
// declared as testutil.Products, on a fresh worker into a fresh database,
// against the store alone writing the same rows (store.WriteDataset).

// productsDataset is the dataset name the products runs load.
const productsDataset = "products"

// datasetThroughput is the throughput of a declared dataset on one
// database: one pipeline run and its store-alone baseline.
type datasetThroughput struct {
	Dataset string       `json:"dataset"`
	Fields  int          `json:"fields"`
	Run     *pipelineRun `json:"run"`

	// The baseline: store.WriteDataset of the rows the pipeline loads,
	// already normalised (dataset.Rules.Normalize) and deduplicated, in
	// chunks of the pipeline's chunk size in one process, into a fresh
	// database whose table EnsureDataset made first (not timed).
	BaselineSeconds     float64 `json:"baseline_seconds"`
	BaselineRows        int64   `json:"baseline_rows"`
	BaselineRowsPerSec  float64 `json:"baseline_rows_per_sec"`
	PrepareSeconds      float64 `json:"prepare_seconds"`
	BaselineCPUSeconds  float64 `json:"baseline_cpu_seconds"`
	BaselinePostgresCPU float64 `json:"baseline_postgres_cpu_seconds,omitempty"`
	// WorkerPeakRSSBytes is the peak RSS of the worker that ran Run alone.
	WorkerPeakRSSBytes int64 `json:"worker_peak_rss_bytes"`
}

// productsParams are the deployment's parameters for a products run of
// batch rows: the same demo source and seed, its products feed, and the
// dataset's definition in the input, as the CLI sends it.
func (b *bench) productsParams(batch int) (datapipeline.Params, error) {
	p := b.paramsWith(batch)
	u, err := url.Parse(p.SourceURL)
	if err != nil {
		return p, fmt.Errorf("source_url %q: %w", p.SourceURL, err)
	}
	if u.Scheme != sourceurl.Demo {
		return p, fmt.Errorf("source_url %q: the throughput runs need a demo:// source", p.SourceURL)
	}
	u.Host, u.Opaque = productsDataset, ""
	def := testutil.Products()
	p.SourceURL, p.Dataset, p.DatasetDefinition = u.String(), def.Name, &def
	return p, nil
}

// productsThroughput measures the products dataset on one database, after
// orders, and adds its measurements and notes.
func (b *bench) productsThroughput(driver, label string, fresh func(name string) (dsn string, drop func(), err error), orders *throughputDetail) error {
	params, err := b.productsParams(b.cfg.Rows)
	if err != nil {
		return err
	}
	def := *params.DatasetDefinition
	d := &datasetThroughput{Dataset: def.Name, Fields: len(def.Fields)}

	t := time.Now()
	key, chunks, err := prepareDataset(b.ctx, params, b.cfg.BaselineChunk)
	if err != nil {
		return fmt.Errorf("%s products baseline: %w", label, err)
	}
	d.PrepareSeconds = time.Since(t).Seconds()
	b.logf("[throughput %s] products baseline: the store alone writes %d prepared rows", driver, b.cfg.Rows)
	ensure := func(st *store.Store) error {
		_, err := st.EnsureDataset(b.ctx, def)
		return err
	}
	base, err := b.timeStoreWrites(driver, "products_baseline", fresh, ensure, func(st *store.Store) (int64, error) {
		var rows int64
		run := baselineRunRef()
		for _, chunk := range chunks {
			res, err := st.WriteDatasetAs(b.ctx, def, run, key, chunk)
			if err != nil {
				return rows, err
			}
			rows += res.Inserted + res.Updated + res.Unchanged
		}
		return rows, nil
	})
	if err != nil {
		return fmt.Errorf("%s products baseline: %w", label, err)
	}
	d.BaselineSeconds, d.BaselineRows, d.BaselineRowsPerSec = base.Seconds, base.Rows, base.RowsPerSec
	d.BaselineCPUSeconds, d.BaselinePostgresCPU = base.CPUSeconds, base.PostgresCPU
	b.logf("[throughput %s] products baseline: %d rows in %.2f s (%.0f rows/s; preparing them took %.2f s)", driver, base.Rows, base.Seconds, base.RowsPerSec, d.PrepareSeconds)

	pipeDSN, dropPipe, err := fresh("pipeline_products")
	if err != nil {
		return err
	}
	b.clean.add(dropPipe)
	queue := "bench-throughput-products-" + driver
	w, err := b.startWorker("throughput-products-"+driver, b.tuned, queue, pipeDSN)
	if err != nil {
		return err
	}
	if d.Run, err = b.pipelineRun(w, driver, queue, params); err != nil {
		return err
	}
	d.WorkerPeakRSSBytes = d.Run.WorkerPeakRSSBytes
	if err := w.Stop(b.grace()); err != nil {
		return err
	}
	orders.Products = d

	run, rows := d.Run, countLabel(b.cfg.Rows)
	if run.Rows != d.BaselineRows {
		b.note("throughput %s products: the pipeline loaded %d rows, the baseline %d: they should be the same rows", label, run.Rows, d.BaselineRows)
	}
	b.rep.Measurements = append(b.rep.Measurements,
		compared("throughput_products_"+driver, fmt.Sprintf("throughput, %s rows of a %d-field dataset (products) into %s", rows, d.Fields, label), "rows/s",
			run.RowsPerSec, d.BaselineRowsPerSec, "store alone", ">=", storeOnlyTarget),
		limited("worker_rss_products_"+driver, fmt.Sprintf("worker peak RSS (%s products, %s)", rows, label), "MiB",
			float64(d.WorkerPeakRSSBytes)/mib, "<=", maxWorkerRSS/mib),
		limited("history_events_products_"+driver, fmt.Sprintf("history events of a products run (%s)", label), "events",
			float64(run.History.Events), "<=", maxHistoryEvents))
	b.note("throughput %s products: %s rows of demo://products (%d fields, dataset: products with its definition in the input), %d rejected; baseline = store.WriteDatasetAs of the rows the pipeline loads, with a run in their bookkeeping columns as Load writes them, already normalised by dataset.Rules.Normalize and deduplicated (%.2f s, not timed), in chunks of %d in one process into a fresh database (table made by EnsureDataset first): %.2f s; pipeline on its own fresh worker into another fresh database; stages: %s",
		label, rows, d.Fields, run.Rejected, d.PrepareSeconds, b.cfg.BaselineChunk, d.BaselineSeconds, stageLine(run.StageMS))
	b.note("throughput %s, absolute, %s rows: orders pipeline %s rows/s (store alone %s); products pipeline %s rows/s (store alone %s); CPU seconds of the products run: worker %.1f, dev server %.1f; of its baseline %.1f",
		label, rows, fmtNum(orders.Run.RowsPerSec), fmtNum(orders.BaselineRowsPerSec), fmtNum(run.RowsPerSec), fmtNum(d.BaselineRowsPerSec),
		run.CPUSeconds["worker"], run.CPUSeconds["server"], d.BaselineCPUSeconds)
	return nil
}

// prepareDataset reads the demo source of a run of a declared dataset,
// normalises and deduplicates the records as the pipeline does, and
// returns the source key and the rows it would load, in chunks of chunk.
func prepareDataset(ctx context.Context, params datapipeline.Params, chunk int) (string, [][]dataset.Row, error) {
	def := params.DatasetDefinition
	if def == nil {
		return "", nil, fmt.Errorf("dataset %q: no definition", params.Dataset)
	}
	rules, err := dataset.Compile(*def)
	if err != nil {
		return "", nil, err
	}
	return prepareChunks(ctx, params, def.FieldNames(), chunk, func(raw []byte) (dataset.Row, string, bool) {
		row, reason, _ := rules.Normalize(raw)
		return row, row.Key, reason == ""
	})
}
