package store

// Datasets' tables.
//
// A dataset (see internal/dataset) is a record type declared in the
// manifest; DataPipeline loads it into a table of its own, named after
// it, which EnsureDataset creates from its definition and later changes
// (dataset.Compare says how): new fields become nullable columns, wider
// decimals widen a NUMERIC column, nothing is ever dropped. The catalog
// (dataset_catalog) records, per dataset, the definition its table was
// last made for, so a new definition is compared with what the table
// really holds, whichever manifest deployed it.
//
// Columns, per type:
//
//	type       SQLite (STRICT)                  PostgreSQL
//	string     TEXT                             TEXT
//	integer    INTEGER                          BIGINT
//	decimal    TEXT (canonical decimal text)    NUMERIC(p,s)
//	boolean    INTEGER (0 or 1)                 BOOLEAN
//	timestamp  TEXT (timeLayout: RFC 3339 UTC)  TIMESTAMPTZ
//	date       TEXT (YYYY-MM-DD)                DATE
//	email      TEXT                             TEXT
//	json       TEXT (compact JSON)              JSONB
//
// The key's columns are the PRIMARY KEY (WITHOUT ROWID on SQLite, as
// orders); every other field's column is nullable, whether the field is
// required or not: `required` is the rules' to enforce (see
// dataset.Compare: a removed field's column stays, and new rows leave it
// NULL). Bookkeeping columns start with '_', which no field name may:
// _source (the source that last changed the row), _row_hash, _version
// (1 when inserted, +1 on every change), _first_run and _last_run (run
// keys, NULL outside a run) and _loaded_at.

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/blueprint-etl/blueprint/internal/dataset"
)

// CheckDatasetName refuses a name that cannot be a dataset's table: one
// that breaks identRule, a table of the warehouse's own (reservedTables,
// the one list of them) or a name the database keeps for itself
// (sqlite_..., pg_...). A built-in dataset's name is a built-in table's:
// check its definition with CheckDataset instead.
func CheckDatasetName(name string) error {
	if err := dataset.CheckName(name); err != nil {
		return fmt.Errorf("dataset name: %w", err)
	}
	if what, ok := reservedTables()[name]; ok {
		return fmt.Errorf("dataset name %q: %s is %s; name the dataset otherwise", name, name, what)
	}
	if strings.HasPrefix(name, "sqlite_") || strings.HasPrefix(name, "pg_") {
		return fmt.Errorf("dataset name %q: names starting with sqlite_ or pg_ belong to the database; name the dataset otherwise", name)
	}
	return nil
}

// CheckDataset checks a definition before the store spells it into SQL:
// its name (CheckDatasetName; a built-in dataset's must be a built-in
// table) and the rules of every definition (dataset.Validate: names,
// types, sizes, the key), so that no identifier the SQL holds is unchecked.
func CheckDataset(def dataset.Definition) error {
	if def.Builtin {
		if !slices.Contains(builtinTables(), def.Name) {
			return fmt.Errorf("built-in dataset %q: no built-in table has its name", def.Name)
		}
		return nil
	}
	if err := CheckDatasetName(def.Name); err != nil {
		return err
	}
	if problems := def.Validate(); len(problems) > 0 {
		return fmt.Errorf("dataset %q: %s", def.Name, problems[0])
	}
	return nil
}

// TablePlan is what EnsureDataset does, or did, to a dataset's table.
type TablePlan struct {
	Dataset string `json:"dataset"`
	// Builtin: the table comes from the warehouse's migrations; only the
	// catalog row is recorded.
	Builtin bool `json:"builtin,omitempty"`
	// Exists: the table exists. Cataloged: the catalog has a row for it.
	Exists    bool `json:"exists"`
	Cataloged bool `json:"cataloged"`
	// Create: the table is (to be) created from the definition.
	Create bool `json:"create,omitempty"`
	// Empty: the table has no row (or does not exist). Only read when a
	// new required field needs to know.
	Empty bool `json:"empty,omitempty"`
	// Change is what the table must do, from the catalog's definition
	// (with its retired fields: a field that comes back reuses its
	// column) to the new one. Removed lists only the fields this
	// definition removes.
	Change dataset.Change `json:"change"`
	// Catalog is the definition the catalog holds, nil when none.
	Catalog *dataset.Definition `json:"catalog,omitempty"`
	// UpToDate: the catalog holds this very definition and the table
	// exists: there is nothing to do.
	UpToDate bool `json:"up_to_date"`
}

// catalogRow is a dataset's row of dataset_catalog.
type catalogRow struct {
	def     dataset.Definition
	retired []dataset.Field
}

// readCatalog reads a dataset's catalog row; nil when it has none.
func readCatalog(ctx context.Context, q querier, name, lock string) (*catalogRow, error) {
	var defJSON, retiredJSON string
	err := q.QueryRowContext(ctx, `SELECT definition, retired FROM dataset_catalog WHERE name = $1`+lock, name).Scan(&defJSON, &retiredJSON)
	if isNoRows(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the catalog: %w", err)
	}
	var c catalogRow
	if err := json.Unmarshal([]byte(defJSON), &c.def); err != nil {
		return nil, fmt.Errorf("read the catalog: definition of %q: %w", name, err)
	}
	if err := json.Unmarshal([]byte(retiredJSON), &c.retired); err != nil {
		return nil, fmt.Errorf("read the catalog: retired fields of %q: %w", name, err)
	}
	return &c, nil
}

// tableExists reports whether the table exists, in the schema the store
// works in (PostgreSQL's search_path).
func (s *Store) tableExists(ctx context.Context, q querier, name string) (bool, error) {
	var n int
	var err error
	if s.driver == DriverPostgres {
		err = q.QueryRowContext(ctx, `SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1`, name).Scan(&n)
	} else {
		err = q.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = $1`, name).Scan(&n)
	}
	if err != nil {
		return false, fmt.Errorf("look for table %q: %w", name, err)
	}
	return n > 0, nil
}

// tableEmpty reports whether an existing table has no row.
func tableEmpty(ctx context.Context, q querier, name string) (bool, error) {
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM `+quoteIdent(name)+` LIMIT 1`).Scan(&one)
	if isNoRows(err) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("read table %q: %w", name, err)
	}
	return false, nil
}

// sameDefinition reports whether two definitions are the same in every
// respect the catalog keeps.
func sameDefinition(a, b dataset.Definition) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(ja) == string(jb)
}

// refusal marks an error of plan that is no failure to read: the
// warehouse cannot, or must not, make the table hold the definition.
type refusal struct{ err error }

func (r *refusal) Error() string { return r.err.Error() }
func (r *refusal) Unwrap() error { return r.err }

// plan works out what the table of def must do, reading with q (the pool,
// or the transaction that then does it). A refused change is a wrapped
// *dataset.ChangeError; a table of the dataset's name that the catalog
// does not know (a flow's, or made by hand) is refused too. Refusals are
// wrapped in a *refusal.
func (s *Store) plan(ctx context.Context, q querier, def dataset.Definition) (TablePlan, *catalogRow, error) {
	p, cat, err := s.planOnce(ctx, q, def)
	var r *refusal
	if err != nil && !errors.As(err, &r) {
		err = fmt.Errorf("dataset %q: %w", def.Name, err)
	}
	return p, cat, err
}

func (s *Store) planOnce(ctx context.Context, q querier, def dataset.Definition) (TablePlan, *catalogRow, error) {
	refuse := func(err error) (TablePlan, *catalogRow, error) { return TablePlan{}, nil, &refusal{err} }
	if err := CheckDataset(def); err != nil {
		return refuse(err)
	}
	p := TablePlan{Dataset: def.Name, Builtin: def.Builtin}
	var err error
	if p.Exists, err = s.tableExists(ctx, q, def.Name); err != nil {
		return TablePlan{}, nil, err
	}
	cat, err := readCatalog(ctx, q, def.Name, "")
	if err != nil {
		return TablePlan{}, nil, err
	}
	if cat != nil {
		p.Cataloged, p.Catalog = true, &cat.def
	}
	switch {
	case def.Builtin:
		if !p.Exists {
			return refuse(fmt.Errorf("built-in dataset %q: its table is missing: the warehouse's migrations make it", def.Name))
		}
		// Its table is the migrations' to make and change, whatever
		// the catalog says: there is nothing for a load to do.
		p.UpToDate = true
		return p, cat, nil
	case !p.Exists:
		// A catalog row without its table (dropped by hand) is
		// forgotten: the table is made again from def.
		p.Create, p.Empty = true, true
		p.Change = dataset.Change{Added: slices.Clone(def.Fields)}
		return p, cat, nil
	case cat == nil:
		return refuse(fmt.Errorf("dataset %q: a table of that name exists but is no dataset's (a flow's table, or one made by hand): name the dataset otherwise", def.Name))
	case cat.def.Builtin:
		return refuse(fmt.Errorf("dataset %q: the name is a built-in dataset's", def.Name))
	}
	// The table holds the catalog's fields and the retired ones.
	held := cat.def
	held.Fields = slices.Clone(cat.def.Fields)
	for _, f := range cat.retired {
		if !slices.ContainsFunc(held.Fields, func(h dataset.Field) bool { return h.Name == f.Name }) {
			held.Fields = append(held.Fields, f)
		}
	}
	ch, err := dataset.Compare(held, def)
	if err != nil {
		return refuse(fmt.Errorf("dataset %q: %w", def.Name, err))
	}
	ch.Removed = slices.DeleteFunc(ch.Removed, func(f dataset.Field) bool {
		return !slices.ContainsFunc(cat.def.Fields, func(c dataset.Field) bool { return c.Name == f.Name })
	})
	if len(ch.Removed) == 0 {
		ch.Removed = nil
	}
	p.Change = ch
	if len(ch.NewRequired) > 0 {
		if p.Empty, err = tableEmpty(ctx, q, def.Name); err != nil {
			return TablePlan{}, nil, err
		}
		if !p.Empty {
			f := ch.NewRequired[0]
			return refuse(fmt.Errorf("dataset %q: %w", def.Name, &dataset.ChangeError{
				Dataset: def.Name, Column: f.ColumnName(), Old: "(none)", New: f.TypeName() + " required", Reason: dataset.ReasonNewRequired,
			}))
		}
	}
	p.UpToDate = sameDefinition(cat.def, def)
	return p, cat, nil
}

// DatasetTable checks, without changing anything, whether the warehouse
// can hold def: whether its table exists, what the catalog says, what
// must change (dataset.Compare), and whether a new required field meets
// a non-empty table. A refused change is a wrapped *dataset.ChangeError:
// `deploy` and `run` call it first, and refuse the manifest.
func (s *Store) DatasetTable(ctx context.Context, def dataset.Definition) (TablePlan, error) {
	var p TablePlan
	err := s.read(ctx, func() (err error) {
		p, _, err = s.plan(ctx, s.db, def)
		return err
	})
	if err != nil {
		return TablePlan{}, fmt.Errorf("store: %w", err)
	}
	return p, nil
}

// EnsureDataset makes the table of def hold def's records: it creates the
// table, or adds columns for added fields and widens NUMERIC columns for
// widened decimals (PostgreSQL; SQLite's decimals are TEXT), and records
// def in the catalog, all in one transaction. A built-in dataset's table
// is the migrations': only its catalog row is recorded. A refused change
// (see DatasetTable) changes nothing.
//
// It is idempotent, and safe when several workers call it at once: the
// work runs under the migration lock (PostgreSQL's advisory lock, or
// SQLite's single writer), and each caller plans again under it, so the
// second finds the first's work done. It returns the plan it carried
// out; UpToDate when there was nothing to do.
func (s *Store) EnsureDataset(ctx context.Context, def dataset.Definition) (TablePlan, error) {
	// Fast path without the lock: a deployed dataset is up to date on
	// every run but the first.
	p, err := s.DatasetTable(ctx, def)
	if err != nil || p.UpToDate {
		return p, err
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		if err := s.lockMigrations(ctx, tx); err != nil {
			return err
		}
		var cat *catalogRow
		var err error
		if p, cat, err = s.plan(ctx, tx, def); err != nil || p.UpToDate {
			return err
		}
		var retired []dataset.Field
		switch {
		case p.Builtin:
		case p.Create:
			if _, err := tx.ExecContext(ctx, s.createTableSQL(def)); err != nil {
				return fmt.Errorf("dataset %q: create table: %w", def.Name, err)
			}
		default:
			if err := s.alterTable(ctx, tx, def, p.Change); err != nil {
				return err
			}
			retired = retiredFields(cat, def)
		}
		if err := s.saveCatalog(ctx, tx, def, retired); err != nil {
			return err
		}
		if p.Change.NeedsDDL() {
			s.dropDatasetStmts(def.Name)
		}
		return nil
	})
	if err != nil {
		return TablePlan{}, fmt.Errorf("store: %w", err)
	}
	return p, nil
}

// alterTable adds a nullable column for each added field and, on
// PostgreSQL, widens the NUMERIC column of each widened decimal.
func (s *Store) alterTable(ctx context.Context, tx *sql.Tx, def dataset.Definition, ch dataset.Change) error {
	table := quoteIdent(def.Name)
	for _, f := range ch.Added {
		if _, err := tx.ExecContext(ctx, `ALTER TABLE `+table+` ADD COLUMN `+quoteIdent(f.ColumnName())+` `+s.columnType(f)); err != nil {
			return fmt.Errorf("dataset %q: add column %q: %w", def.Name, f.ColumnName(), err)
		}
	}
	if s.driver != DriverPostgres {
		return nil
	}
	for _, f := range ch.Widened {
		if _, err := tx.ExecContext(ctx, `ALTER TABLE `+table+` ALTER COLUMN `+quoteIdent(f.ColumnName())+` TYPE `+s.columnType(f)); err != nil {
			return fmt.Errorf("dataset %q: widen column %q to %s: %w", def.Name, f.ColumnName(), f.TypeName(), err)
		}
	}
	return nil
}

// retiredFields are the fields whose columns the table keeps but def does
// not declare: those retired before and those def removes, each as last
// declared.
func retiredFields(cat *catalogRow, def dataset.Definition) []dataset.Field {
	declared := func(f dataset.Field) bool {
		return slices.ContainsFunc(def.Fields, func(d dataset.Field) bool { return d.Name == f.Name })
	}
	var out []dataset.Field
	for _, f := range slices.Concat(cat.def.Fields, cat.retired) {
		if !declared(f) && !slices.ContainsFunc(out, func(o dataset.Field) bool { return o.Name == f.Name }) {
			out = append(out, f)
		}
	}
	return out
}

func (s *Store) saveCatalog(ctx context.Context, tx *sql.Tx, def dataset.Definition, retired []dataset.Field) error {
	defJSON, err := json.Marshal(def)
	if err != nil {
		return fmt.Errorf("dataset %q: catalog: %w", def.Name, err)
	}
	if retired == nil {
		retired = []dataset.Field{}
	}
	retiredJSON, err := json.Marshal(retired)
	if err != nil {
		return fmt.Errorf("dataset %q: catalog: %w", def.Name, err)
	}
	at := s.timeArg(now())
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO dataset_catalog (name, definition, retired, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
		ON CONFLICT (name) DO UPDATE SET definition = excluded.definition, retired = excluded.retired, updated_at = excluded.updated_at`,
		def.Name, string(defJSON), string(retiredJSON), at); err != nil {
		return fmt.Errorf("dataset %q: record it in the catalog: %w", def.Name, err)
	}
	return nil
}

// columnType is the column type of a field on the store's database.
func (s *Store) columnType(f dataset.Field) string {
	if s.driver == DriverPostgres {
		switch f.Type {
		case dataset.Integer:
			return "BIGINT"
		case dataset.Decimal:
			if f.Precision == 0 {
				return "NUMERIC"
			}
			return fmt.Sprintf("NUMERIC(%d,%d)", f.Precision, f.Scale)
		case dataset.Boolean:
			return "BOOLEAN"
		case dataset.Timestamp:
			return "TIMESTAMPTZ"
		case dataset.Date:
			return "DATE"
		case dataset.JSON:
			return "JSONB"
		}
		return "TEXT"
	}
	switch f.Type {
	case dataset.Integer, dataset.Boolean:
		return "INTEGER"
	}
	return "TEXT"
}

// createTableSQL is the CREATE TABLE of a dataset: its fields (key
// columns NOT NULL, the others nullable, see the package comment of this
// file), the bookkeeping columns and the key.
func (s *Store) createTableSQL(def dataset.Definition) string {
	var b strings.Builder
	b.WriteString("CREATE TABLE " + quoteIdent(def.Name) + " (\n")
	for _, f := range def.Fields {
		b.WriteString("\t" + quoteIdent(f.ColumnName()) + " " + s.columnType(f))
		if slices.Contains(def.Key, f.Name) {
			b.WriteString(" NOT NULL")
		}
		b.WriteString(",\n")
	}
	big, at := "BIGINT", "TIMESTAMPTZ"
	if s.driver == DriverSQLite {
		big, at = "INTEGER", "TEXT"
	}
	b.WriteString("\t_source TEXT,\n")
	b.WriteString("\t_row_hash " + big + " NOT NULL,\n")
	b.WriteString("\t_version " + big + " NOT NULL DEFAULT 1,\n")
	b.WriteString("\t_first_run TEXT,\n\t_last_run TEXT,\n")
	b.WriteString("\t_loaded_at " + at + " NOT NULL,\n")
	b.WriteString("\tPRIMARY KEY (" + keyColumns(def) + ")\n)")
	if s.driver == DriverSQLite {
		// WITHOUT ROWID: each row lives in its key's B-tree alone, as
		// orders' do (half the writes of a table plus an index).
		b.WriteString(" WITHOUT ROWID, STRICT")
	}
	return b.String()
}

// keyColumns lists the key's columns, quoted, for PRIMARY KEY and ON
// CONFLICT.
func keyColumns(def dataset.Definition) string {
	cols := make([]string, len(def.Key))
	for i, k := range def.Key {
		cols[i] = quoteIdent(k)
		for _, f := range def.Fields {
			if f.Name == k {
				cols[i] = quoteIdent(f.ColumnName())
			}
		}
	}
	return strings.Join(cols, ", ")
}

// quoteIdent quotes a name as an SQL identifier, the same on both
// databases: a field may be called "order" or "select".
func quoteIdent(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// DatasetInfo is what the warehouse holds of a dataset.
type DatasetInfo struct {
	Name string `json:"name"`
	// Exists: the table exists; Rows counts its rows.
	Exists bool  `json:"exists"`
	Rows   int64 `json:"rows"`
	// Catalog is the definition the catalog holds, nil when none.
	Catalog *dataset.Definition `json:"catalog,omitempty"`
	// Matches: the catalog holds the definition asked about, and the
	// table exists.
	Matches bool `json:"matches"`
	// Plan is what EnsureDataset would do, when it does not match;
	// Refused says why it would refuse to (a *dataset.ChangeError, or a
	// table of the name that is no dataset's).
	Plan    *TablePlan `json:"plan,omitempty"`
	Refused error      `json:"-"`
}

// DatasetInfo describes the table of def: whether it exists, its rows,
// the catalog's definition, and whether it matches def (with the plan, or
// the refusal, when it does not). Only a failure to read is an error.
func (s *Store) DatasetInfo(ctx context.Context, def dataset.Definition) (DatasetInfo, error) {
	info := DatasetInfo{Name: def.Name}
	err := s.read(ctx, func() error {
		info = DatasetInfo{Name: def.Name}
		p, _, err := s.plan(ctx, s.db, def)
		var r *refusal
		switch {
		case errors.As(err, &r):
			// Not a failure to read: a table the warehouse cannot
			// make hold def; describe what is there.
			info.Refused = r.err
			if info.Exists, err = s.tableExists(ctx, s.db, def.Name); err != nil {
				return err
			}
			cat, err := readCatalog(ctx, s.db, def.Name, "")
			if err != nil {
				return err
			}
			if cat != nil {
				info.Catalog = &cat.def
			}
		case err != nil:
			return err
		default:
			info.Exists, info.Catalog, info.Matches = p.Exists, p.Catalog, p.UpToDate
			if !p.UpToDate {
				info.Plan = &p
			}
		}
		if info.Exists {
			if err := s.dbQueryRow(ctx, `SELECT count(*) FROM `+quoteIdent(def.Name)).Scan(&info.Rows); err != nil {
				return fmt.Errorf("count the rows of %q: %w", def.Name, err)
			}
		}
		return nil
	})
	if err != nil {
		return DatasetInfo{}, fmt.Errorf("store: dataset %q: %w", def.Name, err)
	}
	return info, nil
}

// Datasets lists the catalog's definitions, by name.
func (s *Store) Datasets(ctx context.Context) ([]dataset.Definition, error) {
	var out []dataset.Definition
	err := s.read(ctx, func() error {
		out = nil
		rows, err := s.dbQuery(ctx, `SELECT name, definition FROM dataset_catalog ORDER BY name`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var name, j string
			if err := rows.Scan(&name, &j); err != nil {
				return err
			}
			var d dataset.Definition
			if err := json.Unmarshal([]byte(j), &d); err != nil {
				return fmt.Errorf("definition of %q: %w", name, err)
			}
			out = append(out, d)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("store: list datasets: %w", err)
	}
	return out, nil
}
