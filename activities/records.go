package activities

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"

	"github.com/blueprint-etl/blueprint/internal/datapipeline"
	"github.com/blueprint-etl/blueprint/internal/dataset"
	"github.com/blueprint-etl/blueprint/internal/record"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/runlog"
	"github.com/blueprint-etl/blueprint/internal/store"
	"github.com/blueprint-etl/blueprint/internal/transform"
)

// records is what the stages know of the dataset a run loads: the fields
// its source is read for, the rules Transform checks each record by, and
// how Load writes a chunk of the records Transform kept. The stages call
// it and never ask which dataset it is.
//
// A declared dataset's records are checked by its declaration
// (dataset.Rules) and loaded into its own table. The built-in orders are
// checked by their own Go rules (internal/transform.Normalize: lower-cased
// e-mails, canonical amounts, ISO currencies) and loaded into the orders
// table that the store's migrations made; dataset.Lookup("orders")
// declares their fields and key.
type records interface {
	// fields are the dataset's fields, which a source is read for.
	fields() []string
	// check checks one staged chunk (see transform.Chunk).
	check(raw []byte) ([]transform.Valid, []record.Rejected)
	// rows normalises the records of staged chunk seq that Transform kept
	// (rejected holds the others' indexes) for Load, ahead of the commit.
	rows(seq int, raw []byte, rejected []int) (chunkRows, error)
}

// chunkRows are the normalised records of one staged chunk.
type chunkRows interface {
	len() int
	// load upserts them and commits chunk seq of the load, in one
	// transaction (exactly once: a committed chunk is not written again).
	load(ctx context.Context, st *store.Store, run runinfo.RunRef, source string, seq int) (store.Loaded, error)
}

// recordsOf returns the records of a run's dataset: def when the run
// loads a declared dataset (the definition travels in the input), else
// the built-in dataset called name ("" is datapipeline.DefaultDataset).
// A definition that does not compile fails the run: no retry can cure it.
func recordsOf(name string, def *dataset.Definition) (records, error) {
	if def == nil {
		if name == "" {
			name = datapipeline.DefaultDataset
		}
		builtin, ok := dataset.Lookup(name)
		if !ok {
			return nil, temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("dataset %q: the input carries no definition of it, and it is not built in; start the run with the blueprint CLI, which takes it from the manifest's datasets:", name),
				runinfo.ErrInvalidParameters, nil)
		}
		return orderRecords{def: builtin}, nil
	}
	rules, err := dataset.Compile(*def)
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("dataset %q: %v", def.Name, err), runinfo.ErrInvalidParameters, nil)
	}
	return declaredRecords{rules: rules, def: *def}, nil
}

// orderRecords are the built-in orders.
type orderRecords struct{ def dataset.Definition }

func (o orderRecords) fields() []string { return o.def.FieldNames() }

func (orderRecords) check(raw []byte) ([]transform.Valid, []record.Rejected) {
	return transform.Chunk(raw, transform.NewDeduper())
}

func (orderRecords) rows(seq int, raw []byte, rejected []int) (chunkRows, error) {
	orders, err := transform.Orders(raw, rejected, nil)
	if err != nil {
		return nil, fmt.Errorf("staged chunk %d: %w", seq, err)
	}
	return orderRows(orders), nil
}

type orderRows []record.Order

func (o orderRows) len() int { return len(o) }

func (o orderRows) load(ctx context.Context, st *store.Store, run runinfo.RunRef, source string, seq int) (store.Loaded, error) {
	return st.LoadChunk(ctx, run, source, seq, o)
}

// declaredRecords are the records of a dataset of the manifest.
type declaredRecords struct {
	rules *dataset.Rules
	def   dataset.Definition
}

func (d declaredRecords) fields() []string { return d.def.FieldNames() }

func (d declaredRecords) check(raw []byte) ([]transform.Valid, []record.Rejected) {
	return transform.DatasetChunk(raw, transform.NewDeduper(), d.rules)
}

func (d declaredRecords) rows(seq int, raw []byte, rejected []int) (chunkRows, error) {
	rows, err := transform.DatasetRows(raw, rejected, d.rules, nil)
	if err != nil {
		return nil, fmt.Errorf("staged chunk %d: %w", seq, err)
	}
	return datasetRows{def: &d.def, rows: rows}, nil
}

type datasetRows struct {
	def  *dataset.Definition
	rows []dataset.Row
}

func (r datasetRows) len() int { return len(r.rows) }

func (r datasetRows) load(ctx context.Context, st *store.Store, run runinfo.RunRef, source string, seq int) (store.Loaded, error) {
	return st.LoadDatasetChunk(ctx, run, source, seq, *r.def, r.rows)
}

// ensureTable makes the table of a declared dataset follow its
// definition before anything is read: created on the first run, a
// nullable column added for a new field. A change the table cannot take
// without losing data fails the run at once, not retryably (the CLI
// refuses it before a run starts; a schedule deployed earlier meets it
// here). A built-in dataset's table is the store's migrations'.
func (a *Activities) ensureTable(ctx context.Context, rl *runlog.Logger, p datapipeline.Params) error {
	if p.DatasetDefinition == nil {
		return nil
	}
	plan, err := a.Store.EnsureDataset(ctx, *p.DatasetDefinition)
	var change *dataset.ChangeError
	switch {
	case errors.As(err, &change):
		return temporal.NewNonRetryableApplicationError(err.Error(), runinfo.ErrInvalidParameters, err)
	case err != nil:
		return fmt.Errorf("dataset %q: %w", p.DatasetDefinition.Name, err)
	case plan.Create:
		rl.Info("created table %s for dataset %s", p.DatasetDefinition.Name, p.DatasetDefinition.Name)
	case len(plan.Change.Added) > 0:
		rl.Info("dataset %s: added %d column(s) to its table", p.DatasetDefinition.Name, len(plan.Change.Added))
	}
	return nil
}
