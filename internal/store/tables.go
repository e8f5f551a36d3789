package store

// A flow's own tables.
//
// A flow declares its tables as a list of versioned migrations
// (worker.Flow.Tables); the worker applies those not yet applied when it
// starts (MigrateTables), and the flow's activities write them with Write
// and read them with Query and QueryRow. Flows never reach for DB: Write
// queues on SQLite's single writer with the store's own writes and waits
// out an outage as they do.
//
// Portable SQL, the same text on SQLite and PostgreSQL:
//
//   - placeholders $1, $2, ...: both databases bind them by number, in any
//     order, and a number may repeat (never ?, which PostgreSQL refuses);
//   - the upsert INSERT INTO t (k, c) VALUES ($1, $2) ON CONFLICT (k) DO
//     UPDATE SET c = excluded.c (or DO NOTHING), and RETURNING;
//   - CREATE TABLE / CREATE INDEX [IF NOT EXISTS], ALTER TABLE t ADD COLUMN
//     c TYPE (on SQLite a NOT NULL column needs a constant DEFAULT);
//   - the types TEXT, BIGINT and INTEGER (bind int64), DOUBLE PRECISION
//     (float64), BOOLEAN (bool; SQLite keeps 0 and 1) and PRIMARY KEY,
//     NOT NULL, DEFAULT, UNIQUE and CHECK constraints; not SQLite's STRICT,
//     which refuses BIGINT.
//
// Where the databases differ, write the statement once per dialect
// (Migration.SQLite and Migration.Postgres):
//
//   - instants: TEXT on SQLite and TIMESTAMPTZ on PostgreSQL, bound with
//     TimeArg (fixed-width RFC 3339 in UTC on SQLite, so that text order
//     is time order) and read into a Time;
//   - exact decimals: TEXT on SQLite (its NUMERIC turns 0.10 into a
//     float) and NUMERIC(p,s) on PostgreSQL;
//   - bytes: BLOB and BYTEA; JSON: TEXT and JSONB;
//   - generated ids: INTEGER PRIMARY KEY and BIGINT GENERATED ALWAYS AS
//     IDENTITY PRIMARY KEY.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Migration is one version of a flow's tables. A version that was
// released is never edited or removed: change the tables with a new one.
//
// Each field is a list of statements, one per element, run in order.
// SQL serves both databases; SQLite and Postgres, when not nil, replace
// it on their database, where the dialects differ (an empty, non-nil list
// does nothing there). Statements are not split on ';', so a trigger or
// function body keeps its own; an element holding several statements
// runs them all, but an error then names only the element's first line.
type Migration struct {
	// Version numbers the migrations of a flow 1, 2, 3...: the list is in
	// version order, with no gap and no repeat.
	Version  int
	SQL      []string
	SQLite   []string
	Postgres []string
}

// statements are m's statements on driver: its override, or SQL.
func (m Migration) statements(driver string) []string {
	switch {
	case driver == DriverSQLite && m.SQLite != nil:
		return m.SQLite
	case driver == DriverPostgres && m.Postgres != nil:
		return m.Postgres
	}
	return m.SQL
}

// CheckMigrations checks what can be checked of a flow's migrations
// without a database: versions 1..n in order, at least a statement for
// each database (or an explicitly empty list), and no statement that
// creates, alters or drops a reserved table (see reservedTables) or gives
// a table the name of one, on either database. owner is the flow's name.
// MigrateTables calls it first; worker.NewRegistry calls it so that a
// mistake in a flow's tables stops its program's first test.
func CheckMigrations(owner string, ms []Migration) error {
	if strings.TrimSpace(owner) == "" {
		return errors.New("tables without an owner: a flow's tables are named by the flow's name, which is empty")
	}
	for i, m := range ms {
		if err := checkVersion(owner, i, m.Version, ms); err != nil {
			return err
		}
		for _, driver := range []string{DriverSQLite, DriverPostgres} {
			stmts := m.statements(driver)
			if stmts == nil {
				field := "SQLite"
				if driver == DriverPostgres {
					field = "Postgres"
				}
				return fmt.Errorf("flow %q: migration version %d has no statement for %s: set SQL, or %s (an empty list to do nothing there)",
					owner, m.Version, driver, field)
			}
			for j, q := range stmts {
				if strings.TrimSpace(q) == "" {
					return fmt.Errorf("flow %q: migration version %d: statement %d for %s is empty", owner, m.Version, j+1, driver)
				}
				if err := checkReserved(q); err != nil {
					return fmt.Errorf("flow %q: migration version %d may not %w", owner, m.Version, err)
				}
			}
		}
	}
	return nil
}

// checkVersion checks that ms[i], of version v, is version i+1.
func checkVersion(owner string, i, v int, ms []Migration) error {
	switch {
	case v == i+1:
		return nil
	case i == 0:
		return fmt.Errorf("flow %q: the first migration is version %d: versions start at 1 and go up by one", owner, v)
	case v == ms[i-1].Version:
		return fmt.Errorf("flow %q: migration version %d is declared twice: each version is declared once", owner, v)
	case v < i+1:
		return fmt.Errorf("flow %q: migration version %d comes after version %d: list the migrations in version order", owner, v, ms[i-1].Version)
	default:
		return fmt.Errorf("flow %q: migration version %d comes after version %d: versions go up by one, with no gap (version %d is missing)", owner, v, ms[i-1].Version, i+1)
	}
}

// MigrateTables brings the tables of the flow owner up to date: it
// applies, in version order, each of ms not yet applied to the warehouse,
// each in its own transaction together with its row of flow_migrations,
// under the migration lock of the built-in tables (see lockMigrations):
// of several workers starting at once, exactly one applies each version.
// DDL is transactional on both databases, so a version that fails leaves
// nothing behind: the error names the flow, the version and the first
// line of the statement that failed. A version the warehouse has applied
// but ms no longer declares (the flow's code went back) is an error: the
// tables are newer than the code.
//
// (Statements that PostgreSQL cannot run in a transaction, such as CREATE
// INDEX CONCURRENTLY, cannot be part of a migration.)
func (s *Store) MigrateTables(ctx context.Context, owner string, ms []Migration) error {
	if err := CheckMigrations(owner, ms); err != nil {
		return err
	}
	// Fast path without the lock: an up-to-date flow (every start but
	// the first after a new version) never waits for it.
	var applied []int
	if err := s.read(ctx, func() (err error) {
		applied, err = appliedVersions(ctx, s.db, owner)
		return err
	}); err != nil {
		return fmt.Errorf("flow %q: read the applied versions of its tables: %w", owner, err)
	}
	if err := checkApplied(owner, applied, len(ms)); err != nil {
		return err
	}
	for _, m := range ms[len(applied):] {
		if err := s.write(ctx, func(tx *sql.Tx) error { return s.applyMigration(ctx, tx, owner, m, len(ms)) }); err != nil {
			return err
		}
	}
	return nil
}

// applyMigration applies m in tx unless another worker applied it first.
func (s *Store) applyMigration(ctx context.Context, tx *sql.Tx, owner string, m Migration, declared int) error {
	if err := s.lockMigrations(ctx, tx); err != nil {
		return fmt.Errorf("flow %q: migration version %d: %w", owner, m.Version, err)
	}
	applied, err := appliedVersions(ctx, tx, owner)
	if err != nil {
		return fmt.Errorf("flow %q: read the applied versions of its tables: %w", owner, err)
	}
	if err := checkApplied(owner, applied, declared); err != nil {
		return err
	}
	if slices.Contains(applied, m.Version) {
		return nil // another worker was first
	}
	for _, q := range m.statements(s.driver) {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("flow %q: migration version %d failed at %q, so none of it was applied: %w", owner, m.Version, firstLine(q), err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO flow_migrations (owner, version, applied_at) VALUES ($1, $2, $3)`,
		owner, m.Version, s.timeArg(now())); err != nil {
		return fmt.Errorf("flow %q: record migration version %d: %w", owner, m.Version, err)
	}
	return nil
}

// appliedVersions are the versions of owner's tables recorded applied, in
// order.
func appliedVersions(ctx context.Context, q rowsQuerier, owner string) ([]int, error) {
	rows, err := q.QueryContext(ctx, `SELECT version FROM flow_migrations WHERE owner = $1 ORDER BY version`, owner)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var vs []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		vs = append(vs, v)
	}
	return vs, rows.Err()
}

// checkApplied checks that the applied versions are 1..k with k at most
// the declared count.
func checkApplied(owner string, applied []int, declared int) error {
	for i, v := range applied {
		switch {
		case v > declared:
			return fmt.Errorf("flow %q: migration version %d was applied to the warehouse but is no longer declared (the flow declares %d): the flow's code is older than its tables; run the code that declares it", owner, v, declared)
		case v != i+1:
			return fmt.Errorf("flow %q: the warehouse records migration version %d applied but not version %d: repair flow_migrations by hand", owner, v, i+1)
		}
	}
	return nil
}

// firstLine is a statement's first non-blank line, for errors.
func firstLine(q string) string {
	for line := range strings.Lines(q) {
		if line = strings.TrimSpace(line); line != "" {
			if len(line) > 80 {
				line = line[:77] + "..."
			}
			return line
		}
	}
	return ""
}

// reservedTables names the tables no flow's migration may create, alter
// or drop, and whose names no flow's table may take, each with what it
// is. It is the one list of them: the built-in tables now; the datasets
// feature will add its datasets here ("a dataset").
func reservedTables() map[string]string {
	r := map[string]string{}
	for _, t := range BuiltinTables() {
		r[t] = "a built-in table of the warehouse"
	}
	return r
}

// BuiltinTables names the warehouse's own tables, in alphabetical order:
// those the built-in migrations create (read from their statements, so
// that a new one cannot be forgotten) and schema_migrations, which
// Migrate creates itself.
func BuiltinTables() []string { return slices.Clone(builtinTables()) }

var builtinTables = sync.OnceValue(func() []string {
	set := map[string]bool{"schema_migrations": true}
	for _, m := range migrations {
		for _, q := range slices.Concat(m.sqlite, m.postgres) {
			for _, st := range sqlStatements(q) {
				for _, a := range tableActions(st) {
					if a.verb == "create table" {
						set[a.table] = true
					}
				}
			}
		}
	}
	names := make([]string, 0, len(set))
	for n := range set {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
})

// checkReserved refuses a statement that creates, alters, drops or
// truncates a reserved table, builds an index or trigger on one, or
// renames a table to one's name. Its error completes "... may not".
func checkReserved(q string) error {
	reserved := reservedTables()
	for _, st := range sqlStatements(q) {
		for _, a := range tableActions(st) {
			if what, bad := reserved[a.table]; bad {
				return fmt.Errorf("%s %s: %s is %s, and a flow may not create, alter or drop one, nor give its own table that name", a.verb, a.table, a.table, what)
			}
		}
	}
	return nil
}

// action is what a DDL statement does to a table.
type action struct {
	verb  string // "create table", "drop table", "create an index on table", ...
	table string // lower-cased, without its schema
}

// tableActions reads what a statement does to tables: the table it
// creates, alters, drops or truncates, builds an index, trigger, rule or
// policy on, or renames a table to. It reads the statement's first words
// only, as both databases spell them; nothing for any other statement
// (DML, comments).
func tableActions(ts []sqlToken) []action {
	c := &tokens{ts: ts}
	switch {
	case c.keyword("create"):
		for c.keyword("or", "replace", "temp", "temporary", "unlogged", "global", "local", "unique", "materialized", "recursive", "virtual") {
		}
		switch {
		case c.keyword("table", "view"):
			verb := "create " + c.last()
			c.words("if", "not", "exists")
			return c.one(verb)
		case c.keyword("index", "trigger", "rule", "policy"):
			verb := "create a " + c.last() + " on table"
			if c.last() == "index" {
				verb = "create an index on table"
			}
			for !c.keyword("on") {
				if !c.next() {
					return nil
				}
			}
			c.keyword("only")
			return c.one(verb)
		}
	case c.keyword("alter"):
		if !c.keyword("table", "view") {
			return nil
		}
		verb := "alter " + c.last()
		c.words("if", "exists")
		c.keyword("only")
		as := c.one(verb)
		for len(as) > 0 && c.next() {
			if c.last() == "rename" && c.keyword("to") {
				as = append(as, c.one("rename a table to")...)
			}
		}
		return as
	case c.keyword("drop"):
		if !c.keyword("table", "view") {
			return nil
		}
		verb := "drop " + c.last()
		c.words("if", "exists")
		return c.list(verb)
	case c.keyword("truncate"):
		c.keyword("table")
		c.keyword("only")
		return c.list("truncate table")
	}
	return nil
}

// tokens is a cursor over a statement's tokens.
type tokens struct {
	ts []sqlToken
	i  int
	at string // the last word consumed
}

func (c *tokens) last() string { return c.at }

// keyword consumes the next token if it is one of the unquoted words.
func (c *tokens) keyword(words ...string) bool {
	if c.i < len(c.ts) && c.ts[c.i].word && slices.Contains(words, c.ts[c.i].text) {
		c.at = c.ts[c.i].text
		c.i++
		return true
	}
	return false
}

// words consumes a sequence of keywords if all of them come next.
func (c *tokens) words(seq ...string) {
	if c.i+len(seq) > len(c.ts) {
		return
	}
	for j, w := range seq {
		if t := c.ts[c.i+j]; !t.word || t.text != w {
			return
		}
	}
	c.i += len(seq)
}

// next consumes any token; false at the end.
func (c *tokens) next() bool {
	if c.i >= len(c.ts) {
		return false
	}
	c.at = ""
	if c.ts[c.i].word {
		c.at = c.ts[c.i].text
	}
	c.i++
	return true
}

// name consumes a possibly qualified name (schema.table) and returns its
// last part.
func (c *tokens) name() (string, bool) {
	if c.i >= len(c.ts) || !c.ts[c.i].ident() {
		return "", false
	}
	n := c.ts[c.i].text
	c.i++
	for c.i+1 < len(c.ts) && c.ts[c.i].text == "." && !c.ts[c.i].ident() && c.ts[c.i+1].ident() {
		n = c.ts[c.i+1].text
		c.i += 2
	}
	return n, true
}

// one reads a name into an action.
func (c *tokens) one(verb string) []action {
	if t, ok := c.name(); ok {
		return []action{{verb: verb, table: t}}
	}
	return nil
}

// list reads "a, b, c" into actions.
func (c *tokens) list(verb string) []action {
	as := c.one(verb)
	for len(as) > 0 && c.i < len(c.ts) && c.ts[c.i].text == "," && !c.ts[c.i].ident() {
		c.i++
		as = append(as, c.one(verb)...)
	}
	return as
}

// sqlToken is a token of a statement: a word (a keyword or an unquoted
// identifier, lower-cased), a quoted identifier (unquoted, lower-cased:
// refusing "Orders" beside orders errs on the safe side), or any other
// character. Literals, numbers, parameters and comments are dropped.
type sqlToken struct {
	text   string
	word   bool
	quoted bool
}

func (t sqlToken) ident() bool { return t.word || t.quoted }

// sqlStatements splits q into statements at the semicolons outside
// literals, quoted identifiers and comments, and tokenizes them.
func sqlStatements(q string) [][]sqlToken {
	var out [][]sqlToken
	var cur []sqlToken
	for i := 0; i < len(q); {
		ch := q[i]
		switch {
		case ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f':
			i++
		case strings.HasPrefix(q[i:], "--"):
			end := strings.IndexByte(q[i:], '\n')
			if end < 0 {
				end = len(q) - i
			}
			i += end
		case strings.HasPrefix(q[i:], "/*"):
			i = skipBlockComment(q, i)
		case ch == '\'':
			i = skipQuoted(q, i, '\'', false)
		case ch == '"' || ch == '`':
			end := skipQuoted(q, i, ch, false)
			cur = append(cur, sqlToken{text: strings.ToLower(unquote(q[i+1:max(i+1, end-1)], ch)), quoted: true})
			i = end
		case ch == '[':
			end := strings.IndexByte(q[i:], ']')
			if end < 0 {
				end = len(q) - i - 1
			}
			cur = append(cur, sqlToken{text: strings.ToLower(q[i+1 : i+end]), quoted: true})
			i += end + 1
		case ch == '$':
			i = skipDollar(q, i)
		case isWordStart(ch):
			j := i
			for j < len(q) && (isWordStart(q[j]) || q[j] >= '0' && q[j] <= '9' || q[j] == '$') {
				j++
			}
			w := strings.ToLower(q[i:j])
			if w == "e" && j < len(q) && q[j] == '\'' { // E'...' escape string (PostgreSQL)
				i = skipQuoted(q, j, '\'', true)
				continue
			}
			cur = append(cur, sqlToken{text: w, word: true})
			i = j
		case ch >= '0' && ch <= '9':
			for i < len(q) && (q[i] >= '0' && q[i] <= '9' || q[i] == '.' || isWordStart(q[i])) {
				i++
			}
		case ch == ';':
			if len(cur) > 0 {
				out = append(out, cur)
			}
			cur = nil
			i++
		default:
			cur = append(cur, sqlToken{text: string(ch)})
			i++
		}
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

func isWordStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c >= 0x80
}

// skipQuoted returns the index after the literal or quoted identifier
// that starts at q[i] (a doubled quote inside it is one quote; with
// backslash, a backslash escapes the next character).
func skipQuoted(q string, i int, quote byte, backslash bool) int {
	for j := i + 1; j < len(q); j++ {
		switch {
		case backslash && q[j] == '\\':
			j++
		case q[j] == quote && j+1 < len(q) && q[j+1] == quote:
			j++
		case q[j] == quote:
			return j + 1
		}
	}
	return len(q)
}

func unquote(s string, quote byte) string {
	return strings.ReplaceAll(s, string([]byte{quote, quote}), string(quote))
}

// skipBlockComment returns the index after the /* comment */ at q[i];
// PostgreSQL nests them.
func skipBlockComment(q string, i int) int {
	depth := 0
	for j := i; j < len(q)-1; j++ {
		switch {
		case q[j] == '/' && q[j+1] == '*':
			depth++
			j++
		case q[j] == '*' && q[j+1] == '/':
			depth--
			j++
			if depth == 0 {
				return j + 1
			}
		}
	}
	return len(q)
}

// skipDollar returns the index after a parameter ($1) or a PostgreSQL
// dollar-quoted literal ($$...$$, $tag$...$tag$) at q[i].
func skipDollar(q string, i int) int {
	j := i + 1
	if j < len(q) && q[j] >= '0' && q[j] <= '9' {
		for j < len(q) && q[j] >= '0' && q[j] <= '9' {
			j++
		}
		return j
	}
	for j < len(q) && (isWordStart(q[j]) || q[j] >= '0' && q[j] <= '9') {
		j++
	}
	if j >= len(q) || q[j] != '$' {
		return j // not a dollar quote: skip the $ and the word
	}
	tag := q[i : j+1]
	end := strings.Index(q[j+1:], tag)
	if end < 0 {
		return len(q)
	}
	return j + 1 + end + len(tag)
}

// Tx is a transaction of Write.
type Tx struct {
	tx *sql.Tx
}

// Exec runs a statement that returns no rows.
func (t *Tx) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return t.tx.ExecContext(ctx, query, args...)
}

// Query runs a query in the transaction; the caller closes the rows.
func (t *Tx) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return t.tx.QueryContext(ctx, query, args...)
}

// QueryRow runs a query that returns at most one row; Row.Scan reports
// its error, or sql.ErrNoRows.
func (t *Tx) QueryRow(ctx context.Context, query string, args ...any) *Row {
	return &Row{row: t.tx.QueryRowContext(ctx, query, args...)}
}

// Row is the result of QueryRow, as *sql.Row.
type Row struct {
	row  *sql.Row
	rows *sql.Rows
	err  error
}

// Scan copies the row's columns into dest; sql.ErrNoRows when there is no
// row.
func (r *Row) Scan(dest ...any) error {
	if r.row != nil {
		return r.row.Scan(dest...)
	}
	if r.err != nil {
		return r.err
	}
	defer func() { _ = r.rows.Close() }()
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return sql.ErrNoRows
	}
	if err := r.rows.Scan(dest...); err != nil {
		return err
	}
	return r.rows.Close()
}

// writingKey marks the context Write gives its function with the store
// it writes: write refuses it (see nestedWrite).
type writingKey struct{}

// nestedWrite is the error of a write, with the context of a Write's
// function, to the store that Write holds: on SQLite it would wait for
// its own turn forever, and on PostgreSQL it would commit apart from the
// transaction it seems to be part of.
func (s *Store) nestedWrite(ctx context.Context) error {
	if w, _ := ctx.Value(writingKey{}).(*Store); w == s {
		return errors.New("store: a write inside the function of Write: write through the transaction Write gave it")
	}
	return nil
}

// Write runs fn in a transaction and commits it if fn returns nil: a
// flow's write to its own tables. It goes the way of the store's own
// writes: on SQLite it waits for this process's write turn (one writer at
// a time), and while the warehouse cannot be reached, or drops the
// connection, the whole transaction runs again, for up to the store's
// wait (see SetWait). So fn must start from scratch each time it is
// called, and its writes should be idempotent (upserts, see the portable
// SQL above): a commit whose acknowledgement was lost runs again.
//
// fn must not write to the store other than through tx: on SQLite that
// would wait for fn's own turn; such a write with fn's ctx fails at once.
func (s *Store) Write(ctx context.Context, fn func(ctx context.Context, tx *Tx) error) error {
	inner := context.WithValue(ctx, writingKey{}, s)
	return s.write(ctx, func(tx *sql.Tx) error { return fn(inner, &Tx{tx: tx}) })
}

// Query runs a read of a flow's tables, waiting out an unreachable
// warehouse as Write does (but not a connection lost while the rows are
// read: read again). The caller closes the rows. Writes go through Write.
func (s *Store) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	var rows *sql.Rows
	err := s.read(ctx, func() (err error) {
		rows, err = s.db.QueryContext(ctx, query, args...)
		return err
	})
	return rows, err
}

// QueryRow is Query for at most one row; Row.Scan reports the error, or
// sql.ErrNoRows.
func (s *Store) QueryRow(ctx context.Context, query string, args ...any) *Row {
	rows, err := s.Query(ctx, query, args...)
	return &Row{rows: rows, err: err}
}

// TimeArg is the value to bind for an instant in a column declared TEXT
// on SQLite and TIMESTAMPTZ on PostgreSQL: fixed-width RFC 3339 text in
// UTC (text order is time order), or the time itself.
func (s *Store) TimeArg(t time.Time) any { return s.timeArg(t) }

// Time reads an instant written with TimeArg, on either database; Valid
// is false for NULL.
type Time struct {
	Time  time.Time
	Valid bool
}

// Scan implements sql.Scanner.
func (t *Time) Scan(v any) error {
	var st scanTime
	if err := st.Scan(v); err != nil {
		return err
	}
	*t = Time(st)
	return nil
}
