package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/blueprint-etl/blueprint/deployments"
	"github.com/blueprint-etl/blueprint/internal/dataset"
	"github.com/blueprint-etl/blueprint/internal/store"
)

func (a *app) datasetsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "datasets",
		Aliases: []string{"dataset"},
		Short:   "List the datasets and compare their tables with the manifest",
		Long: `A dataset is a record type: typed fields, the rules each field's values must
pass, and the key a load upserts by. DataPipeline loads a run's records into the
table of its dataset (the dataset parameter; orders, built in, by default).
Datasets are declared in the manifest's datasets: section.

These commands read the manifest and the workers' warehouse (--database-url,
else $` + envDatabaseURL + `, else ` + store.DefaultSQLitePath + `) and change
nothing: they say whether each dataset's table exists, how many rows it has,
whether it matches the manifest's definition, and if not, what would change or
why the change is refused. Without a warehouse yet, every table is "not created
yet".`,
		Example: `  blueprint datasets ls
  blueprint datasets inspect products
  blueprint datasets inspect orders -o json --database-url postgres://etl@db/warehouse`,
		Args: cobra.ArbitraryArgs,
		RunE: groupRunE,
	}
	cmd.AddCommand(a.datasetsLsCommand(), a.datasetsInspectCommand())
	cmd.PersistentFlags().StringVar(&a.databaseURL, "database-url", "",
		"the workers' warehouse (default: $"+envDatabaseURL+", else "+store.DefaultSQLitePath+")")
	return cmd
}

// Table states of a dataset, as datasetView.State says them.
const (
	stateMatches    = "matches"
	stateNotCreated = "table not created yet"
	stateDiffers    = "differs"
	stateRefused    = "refused"
	stateUndeclared = "not in the manifest"
)

// datasetView is one dataset in `datasets ls` and `datasets inspect`.
type datasetView struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Builtin     bool            `json:"builtin"`
	Key         []string        `json:"key"`
	Fields      []dataset.Field `json:"fields"`
	// Table is the warehouse table the dataset is loaded into.
	Table string `json:"table"`
	// Warehouse: a warehouse was found; Exists: the table exists in it,
	// with Rows rows.
	Warehouse bool  `json:"warehouse"`
	Exists    bool  `json:"exists"`
	Rows      int64 `json:"rows"`
	// Matches: the warehouse's catalog holds this very definition.
	Matches bool `json:"matches"`
	// State sums it up: matches, table not created yet, differs (Change
	// says how), refused (Refused says why), or not in the manifest (a
	// dataset only the warehouse's catalog has).
	State string `json:"state"`
	// Change is what the next load of the dataset would do to its table.
	Change *dataset.Change `json:"change,omitempty"`
	// Refused says why the table cannot hold the manifest's definition.
	Refused string `json:"refused,omitempty"`
}

// datasetViews describes defs, reading the warehouse st (nil: none yet).
func datasetViews(ctx context.Context, st *store.Store, defs []dataset.Definition) ([]datasetView, error) {
	views := make([]datasetView, 0, len(defs))
	for _, def := range defs {
		v := datasetView{Name: def.Name, Description: def.Description, Builtin: def.Builtin, Key: def.Key, Fields: def.Fields,
			Table: def.Name, State: stateNotCreated}
		if st != nil {
			info, err := st.DatasetInfo(ctx, def)
			if err != nil {
				return nil, err
			}
			v.Warehouse, v.Exists, v.Rows, v.Matches = true, info.Exists, info.Rows, info.Matches
			switch {
			case info.Refused != nil:
				v.State, v.Refused = stateRefused, info.Refused.Error()
			case info.Matches:
				v.State = stateMatches
			case !info.Exists:
				v.State = stateNotCreated
			default:
				v.State = stateDiffers
			}
			if info.Plan != nil && info.Refused == nil && info.Exists {
				v.Change = &info.Plan.Change
			}
		}
		views = append(views, v)
	}
	return views, nil
}

// undeclared lists the datasets the warehouse's catalog has and the
// manifest does not: tables a manifest once declared.
func undeclared(ctx context.Context, st *store.Store, m *deployments.Manifest) ([]datasetView, error) {
	if st == nil {
		return nil, nil
	}
	defs, err := st.Datasets(ctx)
	if err != nil {
		return nil, err
	}
	defs = slices.DeleteFunc(defs, func(d dataset.Definition) bool { _, ok := m.Datasets.Lookup(d.Name); return ok })
	views, err := datasetViews(ctx, st, defs)
	for i := range views {
		views[i].State, views[i].Matches, views[i].Change, views[i].Refused = stateUndeclared, false, nil, ""
	}
	return views, err
}

// openDatasets loads the manifest and opens the warehouse, if there is one.
func (a *app) openDatasets(ctx context.Context) (*deployments.Manifest, *store.Store, error) {
	m, err := a.loadManifest()
	if err != nil {
		return nil, nil, err
	}
	st, err := a.warehouseIfAny(ctx)
	return m, st, err
}

func (a *app) datasetsLsCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List every dataset: the built-in ones and the manifest's",
		Long: `List the built-in datasets (orders) and the manifest's datasets: with their
number of fields, key, table, the table's row count and whether it matches the
manifest's definition (matches, table not created yet, differs, refused).
Datasets the warehouse's catalog has that the manifest no longer declares are
listed too, as "not in the manifest": their tables and rows stay.`,
		Example: `  blueprint datasets ls
  blueprint datasets ls -f deployments.yaml -o json`,
		Args: cobra.NoArgs,
		RunE: a.run(func(ctx context.Context, _ []string) error {
			ctx, cancel := context.WithTimeout(ctx, rpcTimeout)
			defer cancel()
			m, st, err := a.openDatasets(ctx)
			if err != nil {
				return err
			}
			if st != nil {
				defer st.Close()
			}
			views, err := datasetViews(ctx, st, m.Datasets.All())
			if err != nil {
				return err
			}
			more, err := undeclared(ctx, st, m)
			if err != nil {
				return err
			}
			views = append(views, more...)
			if a.json() {
				return a.printJSON(views)
			}
			t := newTable(a.stdout, "DATASET", "FIELDS", "KEY", "TABLE", "ROWS", "STATE")
			for _, v := range views {
				rows := "-"
				if v.Exists {
					rows = fmt.Sprint(v.Rows)
				}
				name := v.Name
				if v.Builtin {
					name += " (built in)"
				}
				t.row(name, fmt.Sprint(len(v.Fields)), strings.Join(v.Key, ", "), v.Table, rows, v.State)
			}
			return t.flush()
		}),
	}
}

func (a *app) datasetsInspectCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "inspect NAME",
		Short: "Show a dataset's fields and rules, and how its table compares with them",
		Long: `Show a dataset (built in, or of the manifest's datasets:): its description,
key, and every field with its type, column and rules; then its table in the
warehouse: whether it exists, its row count, whether it matches the manifest's
definition, and when it does not, the change the next load would make (columns
added, decimals widened, fields removed, rules changed) or why the change is
refused (a column's type changed, a narrower decimal, another key). Nothing is
changed.`,
		Example: `  blueprint datasets inspect products
  blueprint datasets inspect orders -o json`,
		Args: cobra.ExactArgs(1),
		RunE: a.run(func(ctx context.Context, args []string) error {
			ctx, cancel := context.WithTimeout(ctx, rpcTimeout)
			defer cancel()
			m, err := a.loadManifest()
			if err != nil {
				return err
			}
			def, err := m.Datasets.Get(args[0])
			if err != nil {
				return err
			}
			st, err := a.warehouseIfAny(ctx)
			if err != nil {
				return err
			}
			if st != nil {
				defer st.Close()
			}
			views, err := datasetViews(ctx, st, []dataset.Definition{def})
			if err != nil {
				return err
			}
			if a.json() {
				return a.printJSON(views[0])
			}
			return a.printDataset(views[0])
		}),
	}
}

func (a *app) printDataset(v datasetView) error {
	fmt.Fprintf(a.stdout, "Dataset %s\n", v.Name)
	f := newFields(a.stdout, "  ")
	f.add("Description", "%s", orDash(v.Description))
	if v.Builtin {
		f.add("Built in", "yes: its table comes with the warehouse")
	}
	f.add("Key", "%s", strings.Join(v.Key, ", "))
	f.add("Table", "%s", v.Table)
	switch {
	case !v.Warehouse:
		f.add("Rows", "none: no warehouse yet, table not created yet")
	case !v.Exists:
		f.add("Rows", "none: table not created yet")
	default:
		f.add("Rows", "%d", v.Rows)
	}
	switch v.State {
	case stateMatches:
		f.add("Matches manifest", "yes")
	case stateNotCreated:
		f.add("Matches manifest", "no: table not created yet (the first load creates it)")
	case stateRefused:
		f.add("Matches manifest", "no, and refused: %s", v.Refused)
	default:
		f.add("Matches manifest", "no: %s", describeChange(v))
	}
	if err := f.flush(); err != nil {
		return err
	}
	fmt.Fprintln(a.stdout, "\nFields:")
	t := newTable(a.stdout, "  NAME", "TYPE", "REQUIRED", "COLUMN", "RULES")
	for _, fd := range v.Fields {
		req := "no"
		if fd.Required {
			req = "yes"
		}
		t.row("  "+fd.Name, fd.TypeName(), req, fd.ColumnName(), ruleText(fd))
	}
	return t.flush()
}

// describeChange says what the next load would do to a table that
// differs from the manifest's definition.
func describeChange(v datasetView) string {
	var parts []string
	names := func(fs []dataset.Field, typed bool) string {
		out := make([]string, len(fs))
		for i, f := range fs {
			out[i] = f.ColumnName()
			if typed {
				out[i] += " " + f.TypeName()
			}
		}
		return strings.Join(out, ", ")
	}
	if c := v.Change; c != nil {
		if len(c.Added) > 0 {
			parts = append(parts, "add "+names(c.Added, true))
		}
		if len(c.Widened) > 0 {
			parts = append(parts, "widen "+names(c.Widened, true))
		}
		if len(c.Removed) > 0 {
			parts = append(parts, "stop filling "+names(c.Removed, false)+" (the columns and their values stay)")
		}
		if c.RulesChanged {
			parts = append(parts, "check new records by the changed rules")
		}
	}
	if len(parts) == 0 {
		return "the catalog does not record this definition yet; the next load records it"
	}
	return "the next load would " + strings.Join(parts, "; ")
}

// ruleText writes a field's rules as the manifest spells them.
func ruleText(f dataset.Field) string {
	var rules []string
	if f.MaxLength > 0 {
		rules = append(rules, fmt.Sprintf("max_length %d", f.MaxLength))
	}
	if f.Min != "" {
		rules = append(rules, "min "+f.Min)
	}
	if f.Max != "" {
		rules = append(rules, "max "+f.Max)
	}
	if f.OneOf != nil {
		rules = append(rules, "one_of "+strings.Join(f.OneOf, "|"))
	}
	if f.Pattern != "" {
		rules = append(rules, "pattern "+f.Pattern)
	}
	return strings.Join(rules, ", ")
}

// checkDatasetTables refuses, before anything is deployed or started, a
// declared dataset whose table in the warehouse cannot hold the
// manifest's definition (store.DatasetTable: a changed type, a narrower
// decimal, another key): the runs would fail at Load, every one of them.
// A refused change is bad input (exit 2), in one line naming the column
// and both types. Without a warehouse there is nothing to check: the
// first run creates the table. A warehouse that cannot be read is noted
// on stderr and not checked: deploying schedules does not need it.
func (a *app) checkDatasetTables(ctx context.Context, what string, defs []dataset.Definition) error {
	if len(defs) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, rpcTimeout)
	defer cancel()
	st, err := a.warehouseIfAny(ctx)
	if err != nil {
		fmt.Fprintf(a.stderr, "note: the datasets' tables were not checked: %s\n", oneLine(err.Error()))
		return nil
	}
	if st == nil {
		return nil
	}
	defer st.Close()
	for _, def := range defs {
		_, err := st.DatasetTable(ctx, def)
		var ce *dataset.ChangeError
		switch {
		case errors.As(err, &ce):
			return usagef("%s: dataset %q: the warehouse's table cannot hold the manifest's definition: %v; nothing was %s", what, def.Name, ce, doneVerb(what))
		case err != nil:
			return fmt.Errorf("%s: dataset %q: %w", what, def.Name, err)
		}
	}
	return nil
}

// doneVerb is what checkDatasetTables's caller would have done.
func doneVerb(what string) string {
	if what == "deploy" {
		return "deployed"
	}
	return "started"
}
