package loader

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"go.temporal.io/sdk/temporal"

	"github.com/blueprint-etl/blueprint/internal/dataset"
	"github.com/blueprint-etl/blueprint/internal/record"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/runlog"
	"github.com/blueprint-etl/blueprint/internal/store"
	"github.com/blueprint-etl/blueprint/internal/transform"
)

// Dataset loads a run's records of one dataset, a chunk at a time, for a
// flow of any kind (the flow kit's OpenDataset): with the guarantees
// DataPipeline's stages give its records.
//
//   - Each record is loaded or rejected with a reason naming the field
//     and the rule (FIELD.RULE, or the built-in orders' reasons); no
//     record's content fails the run. A record whose key an earlier record
//     of the run had is rejected as a duplicate, across chunks too.
//   - Each chunk is checked, its rejections kept (rejected_records) and
//     its rows upserted by the dataset's key, each committed exactly once:
//     loading a committed chunk again (a retry that resumed from an older
//     heartbeat) writes nothing and counts nothing twice.
//   - The table follows the definition (Open creates it, or adds a
//     column); a change it cannot take fails at once.
//
// A run loads one dataset (store.ClaimLoad); a flow that loads several
// runs a child workflow for each, as NightlyETL does.
type Dataset struct {
	st     *store.Store
	run    runinfo.RunRef
	source string
	def    dataset.Definition
	recs   Records
	plan   store.TablePlan
}

// Open prepares run's load of the dataset called name: the built-in one,
// or def, the declared dataset of that name (nil for a built-in one). It
// makes the table follow def (EnsureTable) and claims the run's load for
// the dataset. source is the records' namespace: the source they come
// from, redacted (for the built-in orders it is part of the key). Its
// errors that no retry can cure are non-retryable.
func Open(ctx context.Context, st *store.Store, run runinfo.RunRef, source, name string, def *dataset.Definition) (*Dataset, error) {
	if def != nil && def.Name != name {
		return nil, invalid(fmt.Sprintf("dataset %q: the definition given is of dataset %q", name, def.Name), nil)
	}
	recs, err := Of(name, def)
	if err != nil {
		return nil, err
	}
	d := &Dataset{st: st, run: run, source: source, recs: recs}
	if def != nil {
		d.def = *def
	} else {
		d.def, _ = dataset.Lookup(name) // Of found it
	}
	if d.plan, err = EnsureTable(ctx, st, def); err != nil {
		return nil, err
	}
	if err := st.ClaimLoad(ctx, run, name); err != nil {
		if errors.Is(err, store.ErrLoadClaimed) {
			return nil, invalid(fmt.Sprintf("dataset %q: %v; a run loads one dataset: load another in a child workflow", name, err), err)
		}
		return nil, fmt.Errorf("dataset %q: %w", name, err)
	}
	return d, nil
}

func invalid(msg string, cause error) error {
	return temporal.NewNonRetryableApplicationError(msg, runinfo.ErrInvalidParameters, cause)
}

// Definition is the dataset's definition.
func (d *Dataset) Definition() dataset.Definition { return d.def }

// Fields are the dataset's fields: what to read a source for
// (source.ReadOptions.Fields), so that a named source's fields: mapping
// applies.
func (d *Dataset) Fields() []string { return d.recs.Fields() }

// TableChange is the run log's line for what Open did to the table: its
// creation, or the columns it added; "" when the table was as the
// definition says.
func (d *Dataset) TableChange() string { return TableLine(d.def.Name, d.plan) }

// TableLine is the run log's line for a plan EnsureTable carried out for
// dataset name; "" when there was nothing to do.
func TableLine(name string, plan store.TablePlan) string {
	switch {
	case plan.Create:
		return fmt.Sprintf("created table %s for dataset %s", name, name)
	case len(plan.Change.Added) > 0:
		return fmt.Sprintf("dataset %s: added %d column(s) to its table", name, len(plan.Change.Added))
	}
	return ""
}

// Totals are what a run's load of a dataset did so far, over every chunk
// committed: each record read was loaded (inserted, updated or unchanged)
// or rejected.
type Totals struct {
	Dataset   string           `json:"dataset"`
	Records   int64            `json:"records"`
	Inserted  int64            `json:"inserted"`
	Updated   int64            `json:"updated"`
	Unchanged int64            `json:"unchanged"`
	Rejected  int64            `json:"rejected"`
	Reasons   map[string]int64 `json:"rejected_by_reason,omitempty"`
}

// OneLine is the totals as the run log and webhooks show a run's result:
// "products: 10 records, 7 inserted, 0 updated, 1 unchanged, 2 rejected
// (price.min 1, sku.required 1)".
func (t Totals) OneLine() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d records, %d inserted, %d updated, %d unchanged, %d rejected",
		t.Dataset, t.Records, t.Inserted, t.Updated, t.Unchanged, t.Rejected)
	if t.Rejected > 0 {
		fmt.Fprintf(&b, " (%s)", record.FormatReasons(t.Reasons))
	}
	return b.String()
}

// Load checks and loads chunk seq of the run's records (raw JSON objects,
// as a source's Page has them) and returns the run's totals after it.
// Chunks are numbered from 0 and loaded in order, each once; loading a
// committed chunk again is a no-op. The activity's run log (runlog) gets
// the chunk's line in the chunk's own transaction. Call it, then record seq+1 with the
// source's cursor in a heartbeat: an attempt that resumes from it goes on
// with the next chunk, and one that resumes from an older heartbeat loads
// the committed chunks again for nothing.
func (d *Dataset) Load(ctx context.Context, seq int, records [][]byte) (Totals, error) {
	raw := bytes.Join(records, []byte{'\n'})
	valid, rejects := d.recs.Check(raw, transform.NewDeduper())
	// No Keys: the duplicate check keeps every chunk's keys in the
	// warehouse, as a flow's chunks cannot be read again to rebuild them.
	checked, err := d.st.PutTransformChunk(ctx, d.run, seq, valid, rejects, false, nil)
	if err != nil {
		return Totals{}, fmt.Errorf("dataset %s: chunk %d: %w", d.def.Name, seq, err)
	}
	rejected, err := d.st.RejectedIndexes(ctx, d.run, seq)
	if err != nil {
		return Totals{}, fmt.Errorf("dataset %s: %w", d.def.Name, err)
	}
	rows, err := d.recs.Rows(raw, rejected)
	if err != nil {
		return Totals{}, fmt.Errorf("dataset %s: chunk %d: %w", d.def.Name, seq, err)
	}
	// The chunk's run log line commits with the chunk, as DataPipeline's
	// Load writes its own: written once, and never lost to a worker killed
	// between the commit and a line written after it.
	line := runlog.FromContext(ctx).Chunk("dataset %s: chunk %d committed: %d records so far, %d rejected",
		d.def.Name, seq+1, checked.Records, checked.Rejected)
	if _, err := rows.Load(ctx, d.st, d.run, d.source, seq, nil, line...); err != nil {
		return Totals{}, fmt.Errorf("dataset %s: chunk %d: %w", d.def.Name, seq, err)
	}
	loaded, err := d.st.Checkpoint(ctx, d.run, runinfo.StageLoad)
	if err != nil {
		return Totals{}, fmt.Errorf("dataset %s: %w", d.def.Name, err)
	}
	return Totals{
		Dataset: d.def.Name, Records: checked.Records,
		Inserted: loaded.Inserted, Updated: loaded.Updated, Unchanged: loaded.Unchanged,
		Rejected: checked.Rejected, Reasons: checked.Reasons,
	}, nil
}
