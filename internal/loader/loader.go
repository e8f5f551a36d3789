// Package loader is how the records of a dataset are checked and loaded:
// the one place that tells the built-in orders from a declared dataset.
// DataPipeline's stages, `blueprint source check` and the flow kit's
// datasets (Dataset) all check and load records through it, and never ask
// which dataset it is.
//
// A declared dataset's records are checked by its declaration
// (dataset.Rules) and loaded into its own table. The built-in orders are
// checked by their own Go rules (internal/transform.Normalize: lower-cased
// e-mails, canonical amounts, ISO currencies) and loaded into the orders
// table that the store's migrations made; dataset.Lookup("orders")
// declares their fields and key.
//
// It must not import `activities`, `workflows`, `flows` or `cmd`.
package loader

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"

	"github.com/blueprint-etl/blueprint/internal/dataset"
	"github.com/blueprint-etl/blueprint/internal/record"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/store"
	"github.com/blueprint-etl/blueprint/internal/transform"
)

// Records is what a run knows of the dataset it loads: the fields its
// source is read for, the rules each record is checked by, and how a chunk
// of the records that passed is written.
type Records interface {
	// Fields are the dataset's fields, which a source is read for.
	Fields() []string
	// Check checks a chunk of records (NDJSON, see transform.Chunk); d
	// finds duplicate keys among the records it has seen (nil: none).
	Check(raw []byte, d *transform.Deduper) ([]transform.Valid, []record.Rejected)
	// Rows normalises the records of a chunk whose indexes are not in
	// rejected (as Check numbered them), ahead of their commit.
	Rows(raw []byte, rejected []int) (Rows, error)
	// Kept are the rows of valid, as Check returned them (which carries
	// its records normalised): what Rows gives for the chunk without
	// Check's rejections, without normalising it again. false when valid
	// does not carry them.
	Kept(valid []transform.Valid) (Rows, bool)
}

// Rows are the normalised records of one chunk.
type Rows interface {
	Len() int
	// Load upserts them and commits chunk seq of the run's load, in one
	// transaction with logs, exactly once: a committed chunk is not
	// written again (and gives zero counts). source is the records'
	// namespace. The transaction commits after turn (nil: at once), so
	// that a stage can write a chunk beside the one before it
	// (store.LoadChunkAfter).
	Load(ctx context.Context, st *store.Store, run runinfo.RunRef, source string, seq int, turn store.Turn, logs ...store.ChunkLog) (store.Loaded, error)
}

// For returns the records of def: the built-in orders' Go rules for a
// built-in definition, else def's compiled rules.
func For(def dataset.Definition) (Records, error) {
	if def.Builtin {
		return orderRecords{def: def}, nil
	}
	rules, err := dataset.Compile(def)
	if err != nil {
		return nil, fmt.Errorf("dataset %q: %w", def.Name, err)
	}
	return declaredRecords{rules: rules, def: def}, nil
}

// Of returns the records of a run's dataset, as its input names it: def
// when the run loads a declared dataset (its definition travels in the
// input), else the built-in dataset called name. An unknown name without a definition, or a definition
// that does not compile, is a non-retryable InvalidParameters error: no
// retry can cure it.
func Of(name string, def *dataset.Definition) (Records, error) {
	if def != nil {
		recs, err := For(*def)
		if err != nil {
			return nil, temporal.NewNonRetryableApplicationError(err.Error(), runinfo.ErrInvalidParameters, nil)
		}
		return recs, nil
	}
	builtin, ok := dataset.Lookup(name)
	if !ok {
		return nil, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("dataset %q: the input carries no definition of it, and it is not built in; start the run with the blueprint CLI, which takes it from the manifest's datasets:", name),
			runinfo.ErrInvalidParameters, nil)
	}
	return For(builtin)
}

// EnsureTable makes the table of a declared dataset follow def before
// anything is read: created on the first run, a nullable column added for
// a new field. A change the table cannot take without losing data is a
// non-retryable InvalidParameters error (the CLI refuses it before a run
// starts; a schedule deployed earlier meets it here). A nil def (a
// built-in dataset, whose table is the store's migrations') does nothing.
func EnsureTable(ctx context.Context, st *store.Store, def *dataset.Definition) (store.TablePlan, error) {
	if def == nil {
		return store.TablePlan{}, nil
	}
	plan, err := st.EnsureDataset(ctx, *def)
	var change *dataset.ChangeError
	switch {
	case errors.As(err, &change):
		return plan, temporal.NewNonRetryableApplicationError(err.Error(), runinfo.ErrInvalidParameters, err)
	case err != nil:
		return plan, fmt.Errorf("dataset %q: %w", def.Name, err)
	}
	return plan, nil
}

// orderRecords are the built-in orders.
type orderRecords struct{ def dataset.Definition }

func (o orderRecords) Fields() []string { return o.def.FieldNames() }

func (orderRecords) Check(raw []byte, d *transform.Deduper) ([]transform.Valid, []record.Rejected) {
	return transform.Chunk(raw, d)
}

func (orderRecords) Rows(raw []byte, rejected []int) (Rows, error) {
	orders, err := transform.Orders(raw, rejected, nil)
	if err != nil {
		return nil, err
	}
	return orderRows(orders), nil
}

func (orderRecords) Kept(valid []transform.Valid) (Rows, bool) {
	orders := make([]record.Order, len(valid))
	for i := range valid {
		orders[i] = valid[i].Order
	}
	return orderRows(orders), true
}

type orderRows []record.Order

func (o orderRows) Len() int { return len(o) }

func (o orderRows) Load(ctx context.Context, st *store.Store, run runinfo.RunRef, source string, seq int, turn store.Turn, logs ...store.ChunkLog) (store.Loaded, error) {
	return st.LoadChunkAfter(ctx, run, source, seq, o, turn, logs...)
}

// declaredRecords are the records of a dataset of the manifest.
type declaredRecords struct {
	rules *dataset.Rules
	def   dataset.Definition
}

func (d declaredRecords) Fields() []string { return d.def.FieldNames() }

func (d declaredRecords) Check(raw []byte, dd *transform.Deduper) ([]transform.Valid, []record.Rejected) {
	return transform.DatasetChunk(raw, dd, d.rules)
}

func (d declaredRecords) Rows(raw []byte, rejected []int) (Rows, error) {
	rows, err := transform.DatasetRows(raw, rejected, d.rules, nil)
	if err != nil {
		return nil, err
	}
	return datasetRows{def: &d.def, rows: rows}, nil
}

func (d declaredRecords) Kept(valid []transform.Valid) (Rows, bool) {
	rows := make([]dataset.Row, len(valid))
	for i := range valid {
		rows[i] = valid[i].Row
	}
	return datasetRows{def: &d.def, rows: rows}, true
}

type datasetRows struct {
	def  *dataset.Definition
	rows []dataset.Row
}

func (r datasetRows) Len() int { return len(r.rows) }

func (r datasetRows) Load(ctx context.Context, st *store.Store, run runinfo.RunRef, source string, seq int, turn store.Turn, logs ...store.ChunkLog) (store.Loaded, error) {
	return st.LoadDatasetChunkAfter(ctx, run, source, seq, *r.def, r.rows, turn, logs...)
}
