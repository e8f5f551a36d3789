package store_test

import (
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/internal/dataset"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/store"
	"github.com/blueprint-etl/blueprint/internal/store/storetest"
)

// productsDef is a dataset with a field of every type.
func productsDef() dataset.Definition {
	return dataset.Definition{
		Name: "products",
		Key:  []string{"sku"},
		Fields: []dataset.Field{
			{Name: "sku", Type: dataset.String, Required: true},
			{Name: "name", Type: dataset.String},
			{Name: "price", Type: dataset.Decimal, Precision: 12, Scale: 2},
			{Name: "qty", Type: dataset.Integer},
			{Name: "active", Type: dataset.Boolean},
			{Name: "updated_at", Type: dataset.Timestamp},
			{Name: "launched", Type: dataset.Date},
			{Name: "contact", Type: dataset.Email},
			{Name: "attrs", Type: dataset.JSON},
		},
	}
}

// row builds a dataset row by hand (the normaliser is dataset's): the key
// is the first value, the hash any function of the values.
func row(values ...dataset.Value) dataset.Row {
	h := fnv.New64a()
	_, _ = fmt.Fprintf(h, "%#v", values)
	return dataset.Row{Key: values[0].(string), Values: values, Hash: int64(h.Sum64())}
}

var productsAt = time.Date(2024, 5, 6, 7, 8, 9, 123456000, time.UTC)

func productRows(n int) []dataset.Row {
	rows := make([]dataset.Row, n)
	for i := range rows {
		rows[i] = row(fmt.Sprintf("sku-%04d", i), fmt.Sprintf("Product %d", i), fmt.Sprintf("%d.5", i), int64(i), i%2 == 0,
			productsAt.Add(time.Duration(i)*time.Second), "2024-01-31", "shop@example.com", `{"color":"red","n":1}`)
	}
	return rows
}

func withField(def dataset.Definition, f dataset.Field) dataset.Definition {
	def.Fields = append(append([]dataset.Field{}, def.Fields...), f)
	return def
}

// withValue appends a value to each row (a field added to the definition).
func withValue(rows []dataset.Row, v dataset.Value) []dataset.Row {
	out := make([]dataset.Row, len(rows))
	for i, r := range rows {
		out[i] = row(append(append([]dataset.Value{}, r.Values...), v)...)
	}
	return out
}

func countTable(t *testing.T, s *store.Store, table string) int {
	t.Helper()
	var n int
	require.NoError(t, s.DB().QueryRowContext(ctxT(t), `SELECT count(*) FROM `+table).Scan(&n))
	return n
}

// TestDatasetLifecycle: a dataset's table is made, loaded (inserted, then
// unchanged, then updated), and follows its definition's allowed changes,
// keeping its rows.
func TestDatasetLifecycle(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := ctxT(t)
		def := productsDef()

		p, err := s.DatasetTable(ctx, def)
		require.NoError(t, err)
		assert.True(t, p.Create)
		assert.False(t, p.Exists)
		assert.False(t, tableExists(t, s, "products"), "DatasetTable changes nothing")

		p, err = s.EnsureDataset(ctx, def)
		require.NoError(t, err)
		assert.True(t, p.Create)
		assert.True(t, tableExists(t, s, "products"))
		p, err = s.EnsureDataset(ctx, def)
		require.NoError(t, err)
		assert.True(t, p.UpToDate, "a second call has nothing to do")

		rows := productRows(3)
		res, err := s.WriteDataset(ctx, def, "src", rows)
		require.NoError(t, err)
		assert.Equal(t, store.Loaded{Inserted: 3}, res)
		res, err = s.WriteDataset(ctx, def, "src", rows)
		require.NoError(t, err)
		assert.Equal(t, store.Loaded{Unchanged: 3}, res)

		changed := productRows(3)
		changed[1] = row("sku-0001", "Renamed", nil, nil, nil, nil, nil, nil, nil)
		res, err = s.WriteDataset(ctx, def, "src", changed)
		require.NoError(t, err)
		assert.Equal(t, store.Loaded{Updated: 1, Unchanged: 2}, res)
		var version int
		var name string
		var price *string
		require.NoError(t, s.DB().QueryRowContext(ctx, `SELECT _version, name, CAST(price AS TEXT) FROM products WHERE sku = 'sku-0001'`).Scan(&version, &name, &price))
		assert.Equal(t, 2, version)
		assert.Equal(t, "Renamed", name)
		assert.Nil(t, price, "an optional field without a value is NULL")

		// An added field: a nullable column; the rows stay.
		def2 := withField(def, dataset.Field{Name: "note", Type: dataset.String})
		p, err = s.EnsureDataset(ctx, def2)
		require.NoError(t, err)
		assert.Equal(t, []dataset.Field{{Name: "note", Type: dataset.String}}, p.Change.Added)
		assert.Equal(t, 3, countTable(t, s, "products"))
		res, err = s.WriteDataset(ctx, def2, "src", withValue(productRows(4), "hello"))
		require.NoError(t, err)
		assert.Equal(t, store.Loaded{Inserted: 1, Updated: 3}, res)

		// A widened decimal.
		def3 := withField(def, dataset.Field{Name: "note", Type: dataset.String})
		def3.Fields[2].Precision, def3.Fields[2].Scale = 16, 4
		p, err = s.EnsureDataset(ctx, def3)
		require.NoError(t, err)
		assert.Len(t, p.Change.Widened, 1)
		big := row("sku-big", nil, "123456789012.3456", nil, nil, nil, nil, nil, nil, nil)
		res, err = s.WriteDataset(ctx, def3, "src", []dataset.Row{big})
		require.NoError(t, err)
		assert.Equal(t, store.Loaded{Inserted: 1}, res)
		var got string
		require.NoError(t, s.DB().QueryRowContext(ctx, `SELECT CAST(price AS TEXT) FROM products WHERE sku = 'sku-big'`).Scan(&got))
		assert.Equal(t, "123456789012.3456", got)
		if s.Driver() == store.DriverPostgres {
			var prec, scale int
			require.NoError(t, s.DB().QueryRowContext(ctx, `SELECT numeric_precision, numeric_scale FROM information_schema.columns
				WHERE table_schema = current_schema() AND table_name = 'products' AND column_name = 'price'`).Scan(&prec, &scale))
			assert.Equal(t, []int{16, 4}, []int{prec, scale})
		}

		// A removed field: its column stays, new rows leave it NULL, and
		// it can come back.
		p, err = s.EnsureDataset(ctx, withoutField(def3, "note"))
		require.NoError(t, err)
		assert.Equal(t, []string{"note"}, fieldNames(p.Change.Removed))
		_, err = s.WriteDataset(ctx, withoutField(def3, "note"), "src", []dataset.Row{row("sku-new", nil, nil, nil, nil, nil, nil, nil, nil)})
		require.NoError(t, err)
		var notes int
		require.NoError(t, s.DB().QueryRowContext(ctx, `SELECT count(note) FROM products`).Scan(&notes))
		assert.Equal(t, 4, notes, "the removed field's values are kept")
		p, err = s.EnsureDataset(ctx, def3)
		require.NoError(t, err, "a field that comes back reuses its column")
		assert.Empty(t, p.Change.Added)
		back := def3
		back.Fields = append([]dataset.Field{}, def3.Fields...)
		back.Fields[len(back.Fields)-1] = dataset.Field{Name: "note", Type: dataset.Integer}
		_, err = s.DatasetTable(ctx, back)
		assert.ErrorContains(t, err, `column "note": string -> integer: a changed type would lose data`, "nor with another type")

		defs, err := s.Datasets(ctx)
		require.NoError(t, err)
		require.Len(t, defs, 1)
		assert.Equal(t, def3, defs[0])
		info, err := s.DatasetInfo(ctx, def3)
		require.NoError(t, err)
		assert.Equal(t, store.DatasetInfo{Name: "products", Exists: true, Rows: 6, Catalog: &def3, Matches: true}, info)
	})
}

func withoutField(def dataset.Definition, name string) dataset.Definition {
	out := def
	out.Fields = nil
	for _, f := range def.Fields {
		if f.Name != name {
			out.Fields = append(out.Fields, f)
		}
	}
	return out
}

func fieldNames(fs []dataset.Field) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Name)
	}
	return out
}

// TestDatasetRefusedChanges: a change the table cannot follow is refused
// by DatasetTable and EnsureDataset alike, as a *dataset.ChangeError, and
// changes nothing.
func TestDatasetRefusedChanges(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := ctxT(t)
		def := productsDef()
		_, err := s.EnsureDataset(ctx, def)
		require.NoError(t, err)
		_, err = s.WriteDataset(ctx, def, "src", productRows(2))
		require.NoError(t, err)

		mod := func(f func(d *dataset.Definition)) dataset.Definition {
			d := productsDef()
			f(&d)
			return d
		}
		tests := []struct {
			name string
			def  dataset.Definition
			want string
		}{
			{"changed type", mod(func(d *dataset.Definition) { d.Fields[2] = dataset.Field{Name: "price", Type: dataset.Integer} }),
				`dataset "products": column "price": decimal(12,2) -> integer: a changed type would lose data`},
			{"narrower decimal", mod(func(d *dataset.Definition) { d.Fields[2].Precision = 10 }),
				`column "price": decimal(12,2) -> decimal(10,2): a narrower decimal would lose data`},
			{"changed key", mod(func(d *dataset.Definition) { d.Key = []string{"sku", "name"}; d.Fields[1].Required = true }),
				`key: (sku) -> (sku, name): a changed key`},
			{"new required field on a non-empty table", withField(def, dataset.Field{Name: "stock", Type: dataset.Integer, Required: true}),
				`column "stock": (none) -> integer required: the table has rows`},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				for _, call := range []func() (store.TablePlan, error){
					func() (store.TablePlan, error) { return s.DatasetTable(ctx, tt.def) },
					func() (store.TablePlan, error) { return s.EnsureDataset(ctx, tt.def) },
				} {
					_, err := call()
					require.Error(t, err)
					assert.ErrorContains(t, err, tt.want)
					var ce *dataset.ChangeError
					assert.True(t, errors.As(err, &ce), "a *dataset.ChangeError: %v", err)
				}
				info, err := s.DatasetInfo(ctx, tt.def)
				require.NoError(t, err)
				assert.ErrorContains(t, info.Refused, tt.want)
				assert.Equal(t, &def, info.Catalog, "the catalog is unchanged")
				assert.Equal(t, int64(2), info.Rows)
			})
		}

		// On an empty table, a new required field is allowed.
		empty := productsDef()
		empty.Name = "empty_products"
		_, err = s.EnsureDataset(ctx, empty)
		require.NoError(t, err)
		p, err := s.EnsureDataset(ctx, withField(empty, dataset.Field{Name: "stock", Type: dataset.Integer, Required: true}))
		require.NoError(t, err)
		assert.True(t, p.Empty)
		assert.Equal(t, []string{"stock"}, fieldNames(p.Change.NewRequired))
	})
}

// TestDatasetNativeTypes: each type gets its native column, and a value
// reads back as it was written.
func TestDatasetNativeTypes(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := ctxT(t)
		def := productsDef()
		_, err := s.EnsureDataset(ctx, def)
		require.NoError(t, err)
		_, err = s.WriteDataset(ctx, def, "src", productRows(2))
		require.NoError(t, err)

		if s.Driver() == store.DriverPostgres {
			types := map[string]string{}
			rs, err := s.DB().QueryContext(ctx, `SELECT column_name, data_type, is_nullable FROM information_schema.columns
				WHERE table_schema = current_schema() AND table_name = 'products'`)
			require.NoError(t, err)
			for rs.Next() {
				var c, ty, nullable string
				require.NoError(t, rs.Scan(&c, &ty, &nullable))
				types[c] = ty + "/" + nullable
			}
			require.NoError(t, rs.Err())
			assert.Equal(t, map[string]string{
				"sku": "text/NO", "name": "text/YES", "price": "numeric/YES", "qty": "bigint/YES", "active": "boolean/YES",
				"updated_at": "timestamp with time zone/YES", "launched": "date/YES", "contact": "text/YES", "attrs": "jsonb/YES",
				"_source": "text/YES", "_row_hash": "bigint/NO", "_version": "bigint/NO", "_first_run": "text/YES",
				"_last_run": "text/YES", "_loaded_at": "timestamp with time zone/NO",
			}, types)

			var (
				price, launched, attrs string
				qty                    int64
				active                 bool
				at                     time.Time
			)
			require.NoError(t, s.DB().QueryRowContext(ctx, `SELECT price::text, qty, active, updated_at, launched::text, attrs->>'color'
				FROM products WHERE sku = 'sku-0001'`).Scan(&price, &qty, &active, &at, &launched, &attrs))
			assert.Equal(t, "1.50", price)
			assert.Equal(t, int64(1), qty)
			assert.False(t, active)
			assert.True(t, productsAt.Add(time.Second).Equal(at), "got %s", at)
			assert.Equal(t, "2024-01-31", launched)
			assert.Equal(t, "red", attrs)
			return
		}
		var (
			price, at, launched, attrs, tPrice, tActive string
			active                                      int64
		)
		require.NoError(t, s.DB().QueryRowContext(ctx, `SELECT price, typeof(price), active, typeof(active), updated_at, launched, attrs
			FROM products WHERE sku = 'sku-0000'`).Scan(&price, &tPrice, &active, &tActive, &at, &launched, &attrs))
		assert.Equal(t, []string{"0.5", "text", "integer"}, []string{price, tPrice, tActive})
		assert.Equal(t, int64(1), active)
		assert.Equal(t, "2024-05-06T07:08:09.123456000Z", at)
		assert.Equal(t, "2024-01-31", launched)
		assert.JSONEq(t, `{"color":"red","n":1}`, attrs)
	})
}

// TestLoadDatasetChunkExactlyOnce: a chunk of a run is written once,
// however often it is loaded, and the load checkpoint counts it once.
func TestLoadDatasetChunkExactlyOnce(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := ctxT(t)
		def := productsDef()
		_, err := s.EnsureDataset(ctx, def)
		require.NoError(t, err)
		ref := runRef("ds")
		rows := productRows(5)

		res, err := s.LoadDatasetChunk(ctx, ref, "src", 0, def, rows[:3])
		require.NoError(t, err)
		assert.Equal(t, store.Loaded{Inserted: 3}, res)
		res, err = s.LoadDatasetChunk(ctx, ref, "src", 0, def, rows[:3])
		require.NoError(t, err)
		assert.Equal(t, store.Loaded{}, res, "a committed chunk is not written again")
		_, err = s.LoadDatasetChunk(ctx, ref, "src", 2, def, rows[3:])
		assert.ErrorContains(t, err, "out of order")
		res, err = s.LoadDatasetChunk(ctx, ref, "src", 1, def, rows[2:])
		require.NoError(t, err)
		assert.Equal(t, store.Loaded{Inserted: 2, Unchanged: 1}, res)

		cp, err := s.Checkpoint(ctx, ref, runinfo.StageLoad)
		require.NoError(t, err)
		assert.Equal(t, store.Checkpoint{NextSeq: 2, Records: 6, Inserted: 5, Unchanged: 1}, cp)
		var first, last string
		var version int
		require.NoError(t, s.DB().QueryRowContext(ctx, `SELECT _first_run, _last_run, _version FROM products WHERE sku = 'sku-0002'`).Scan(&first, &last, &version))
		assert.Equal(t, []string{ref.Key(), ref.Key()}, []string{first, last})
		assert.Equal(t, 1, version)
		assert.Equal(t, 5, countTable(t, s, "products"))
	})
}

// TestDatasetRowErrors: a row that does not fit its definition, or that
// the database refuses, is a *store.RowError naming its key.
func TestDatasetRowErrors(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := ctxT(t)
		def := productsDef()
		_, err := s.EnsureDataset(ctx, def)
		require.NoError(t, err)
		good := productRows(3)
		tests := []struct {
			name string
			row  dataset.Row
			want string
		}{
			{"wrong Go type", row("bad", nil, nil, 7, nil, nil, nil, nil, nil), `dataset "products": record "bad": field "qty" of type integer holds a int, not its normal form`},
			{"missing key", dataset.Row{Key: "nokey", Values: make([]dataset.Value, 9)}, `record "nokey": key field "sku" has no value`},
			{"too few values", dataset.Row{Key: "short", Values: []dataset.Value{"short"}}, `record "short": 1 values for 9 fields`},
			{"NUL byte", row("nul", "a\x00b", nil, nil, nil, nil, nil, nil, nil), `field "name" is not valid UTF-8 text`},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := s.WriteDataset(ctx, def, "src", append(good[:3:3], tt.row))
				var re *store.RowError
				require.True(t, errors.As(err, &re), "a *store.RowError: %v", err)
				assert.ErrorContains(t, err, tt.want)
				assert.Equal(t, 0, countTable(t, s, "products"), "nothing written")
			})
		}
		if s.Driver() == store.DriverPostgres {
			// A value the rules should have refused: the database names
			// the row.
			over := row("sku-over", nil, "123456789012345.5", nil, nil, nil, nil, nil, nil)
			_, err := s.WriteDataset(ctx, def, "src", append(good[:3:3], over, good[0]))
			var re *store.RowError
			require.True(t, errors.As(err, &re), "a *store.RowError: %v", err)
			assert.Equal(t, "sku-over", re.RecordID)
			assert.Equal(t, 0, countTable(t, s, "products"))
		}
	})
}

// TestDatasetNames: a dataset may not take a table of the warehouse's,
// nor a flow's, nor a name the store cannot spell.
func TestDatasetNames(t *testing.T) {
	for name, want := range map[string]string{
		"orders":          "a built-in table of the warehouse",
		"dataset_catalog": "a built-in table of the warehouse",
		"Products":        "lower-case letters",
		"my-products":     "lower-case letters",
		"_products":       "lower-case letters",
		"sqlite_stat":     "belong to the database",
		"products":        "",
	} {
		err := store.CheckDatasetName(name)
		if want == "" {
			assert.NoError(t, err, name)
			continue
		}
		assert.ErrorContains(t, err, want, name)
	}
	bad := productsDef()
	bad.Fields = append(bad.Fields, dataset.Field{Name: "_source", Type: dataset.String})
	assert.ErrorContains(t, store.CheckDataset(bad), `"_source" is not a valid name`)
	bad = productsDef()
	bad.Key = []string{"nope"}
	assert.ErrorContains(t, store.CheckDataset(bad), `key[0]: `)

	eachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := ctxT(t)
		require.NoError(t, s.MigrateTables(ctx, "myflow", []store.Migration{{Version: 1, SQL: []string{`CREATE TABLE products (x TEXT)`}}}))
		_, err := s.EnsureDataset(ctx, productsDef())
		assert.ErrorContains(t, err, `dataset "products": a table of that name exists but is no dataset's`)
		orders := productsDef()
		orders.Name = "orders"
		_, err = s.EnsureDataset(ctx, orders)
		assert.ErrorContains(t, err, "a built-in table")
	})
}

// TestEnsureBuiltinDataset: a built-in dataset's table is the
// migrations'; EnsureDataset only records its catalog row.
func TestEnsureBuiltinDataset(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := ctxT(t)
		def := dataset.Definition{Name: "orders", Builtin: true, Key: []string{"id"}, Fields: []dataset.Field{
			{Name: "id", Type: dataset.String, Required: true, Column: "record_id"},
		}}
		p, err := s.EnsureDataset(ctx, def)
		require.NoError(t, err)
		assert.True(t, p.Builtin)
		assert.False(t, p.Create)
		assert.True(t, p.UpToDate, "a built-in table is the migrations': nothing for a load to do")
		info, err := s.DatasetInfo(ctx, def)
		require.NoError(t, err)
		assert.True(t, info.Matches)
		defs, err := s.Datasets(ctx)
		require.NoError(t, err)
		assert.Empty(t, defs, "the catalog holds the declared datasets' tables")
		_, err = s.WriteDataset(ctx, def, "src", nil)
		assert.ErrorContains(t, err, "built in")
	})
}

// TestEnsureDatasetConcurrent: workers that ensure the same dataset at
// once all succeed, and the table is made once.
func TestEnsureDatasetConcurrent(t *testing.T) {
	eachDriverName(t, func(t *testing.T, driver string) {
		dsn := storetest.DSN(t, driver)
		ctx := ctxT(t)
		const workers = 4
		stores := make([]*store.Store, workers)
		for i := range stores {
			s, err := store.Open(ctx, dsn)
			require.NoError(t, err)
			t.Cleanup(func() { _ = s.Close() })
			stores[i] = s
		}
		def := withField(productsDef(), dataset.Field{Name: "note", Type: dataset.String})
		var wg sync.WaitGroup
		plans := make([]store.TablePlan, workers)
		errs := make([]error, workers)
		for i, s := range stores {
			wg.Go(func() { plans[i], errs[i] = s.EnsureDataset(ctx, def) })
		}
		wg.Wait()
		created := 0
		for i := range stores {
			require.NoError(t, errs[i])
			if plans[i].Create {
				created++
			} else {
				assert.True(t, plans[i].UpToDate)
			}
		}
		assert.Equal(t, 1, created)
	})
}

// TestClaimLoad: a run's load belongs to one dataset, claimed once; a
// second dataset, or a claim after chunks were committed without one, is
// ErrLoadClaimed, and the load goes on as it was.
func TestClaimLoad(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := ctxT(t)
		def := productsDef()
		_, err := s.EnsureDataset(ctx, def)
		require.NoError(t, err)

		ref := runRef("claim")
		require.NoError(t, s.ClaimLoad(ctx, ref, "products"))
		require.NoError(t, s.ClaimLoad(ctx, ref, "products"), "the next attempt claims it again")
		_, err = s.LoadDatasetChunk(ctx, ref, "src", 0, def, productRows(2))
		require.NoError(t, err)
		err = s.ClaimLoad(ctx, ref, "gadgets")
		require.ErrorIs(t, err, store.ErrLoadClaimed)
		assert.Contains(t, err.Error(), "it loads dataset products, not gadgets")
		cp, err := s.Checkpoint(ctx, ref, runinfo.StageLoad)
		require.NoError(t, err)
		assert.Equal(t, 1, cp.NextSeq, "the claim keeps the load's checkpoint")

		unclaimed := runRef("unclaimed")
		_, err = s.LoadDatasetChunk(ctx, unclaimed, "src", 0, def, productRows(2))
		require.NoError(t, err)
		require.ErrorIs(t, s.ClaimLoad(ctx, unclaimed, "products"), store.ErrLoadClaimed)
	})
}

// TestWriteDatasetCounts: each row is counted inserted, updated or
// unchanged, on a composite key of two types, however the write is
// batched; rows in place with their hash are looked up rather than
// upserted (skipInPlace), and a key twice in a write is upserted twice,
// in order.
func TestWriteDatasetCounts(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := ctxT(t)
		def := dataset.Definition{Name: "readings", Key: []string{"region", "n"}, Fields: []dataset.Field{
			{Name: "region", Type: dataset.String, Required: true},
			{Name: "n", Type: dataset.Integer, Required: true},
			{Name: "value", Type: dataset.String},
		}}
		_, err := s.EnsureDataset(ctx, def)
		require.NoError(t, err)
		reading := func(n int, value string) dataset.Row {
			r := row(fmt.Sprintf("r%d", n%3), int64(n), value)
			r.Key = fmt.Sprintf("r%d|%d", n%3, n)
			return r
		}
		readings := func(first, count int, value string) []dataset.Row {
			out := make([]dataset.Row, count)
			for i := range out {
				out[i] = reading(first+i, value)
			}
			return out
		}
		cat := func(parts ...[]dataset.Row) []dataset.Row {
			var out []dataset.Row
			for _, p := range parts {
				out = append(out, p...)
			}
			return out
		}
		steps := []struct {
			name string
			rows []dataset.Row
			want store.Loaded
		}{
			{"insert new", readings(0, 600, "a"), store.Loaded{Inserted: 600}},
			{"same again", readings(0, 600, "a"), store.Loaded{Unchanged: 600}},
			{"mixed", cat(readings(0, 5, "b"), readings(10, 5, "a"), readings(600, 5, "a")), store.Loaded{Inserted: 5, Updated: 5, Unchanged: 5}},
			{"repeated key, changed and back", cat(readings(20, 1, "z"), readings(20, 2, "a")), store.Loaded{Updated: 2, Unchanged: 1}},
			{"mostly new", cat(readings(700, 40, "a"), readings(30, 2, "a")), store.Loaded{Inserted: 40, Unchanged: 2}},
		}
		for _, step := range steps {
			got, err := s.WriteDataset(ctx, def, "src", step.rows)
			require.NoError(t, err, step.name)
			assert.Equal(t, step.want, got, step.name)
		}
		assert.Equal(t, 645, countTable(t, s, "readings"))
		var value string
		var version int
		require.NoError(t, s.DB().QueryRowContext(ctx, `SELECT value, _version FROM readings WHERE region = 'r2' AND n = 20`).Scan(&value, &version))
		assert.Equal(t, "a", value, "the last row of the key is the one in place")
		assert.Equal(t, 3, version, "inserted, then changed and changed back")
		require.NoError(t, s.DB().QueryRowContext(ctx, `SELECT _version FROM readings WHERE region = 'r1' AND n = 10`).Scan(&version))
		assert.Equal(t, 1, version, "never changed")
	})
}
