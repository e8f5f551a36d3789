package store_test

import (
	"database/sql"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/internal/record"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/store"
)

// withAmount returns copies of orders with a new amount.
func withAmount(orders []record.Order, amount string) []record.Order {
	out := append([]record.Order(nil), orders...)
	for i := range out {
		out[i].Amount = amount
	}
	return out
}

func concat(parts ...[]record.Order) []record.Order {
	var out []record.Order
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestWriteOrdersCounts(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := ctxT(t)
		const source = "demo://orders"
		// Each step runs on the state the previous ones left. 600 rows
		// span several statement shapes on SQLite (512, 64, 16, 8).
		steps := []struct {
			name   string
			orders []record.Order
			want   store.Loaded
		}{
			{"insert new", makeOrders(0, 600), store.Loaded{Inserted: 600}},
			{"same again", makeOrders(0, 600), store.Loaded{Unchanged: 600}},
			{"changed amount", withAmount(makeOrders(0, 10), "1000.5"), store.Loaded{Updated: 10}},
			{"mixed batch", concat(
				withAmount(makeOrders(0, 5), "2000"), // changed again
				makeOrders(10, 5),                    // unchanged
				makeOrders(600, 5),                   // new
			), store.Loaded{Inserted: 5, Updated: 5, Unchanged: 5}},
			{"repeated id, changed", concat(makeOrders(700, 1), withAmount(makeOrders(700, 1), "7")),
				store.Loaded{Inserted: 1, Updated: 1}},
			{"repeated id, same", concat(makeOrders(701, 1), makeOrders(701, 1)),
				store.Loaded{Inserted: 1, Unchanged: 1}},
			// Rows in place with their hash are looked up rather than
			// upserted (skipUnchangedSQLite): an ID twice is upserted
			// twice, in order, even when its last row is the one in place.
			{"repeated id, changed and back", concat(withAmount(makeOrders(20, 1), "9"), makeOrders(20, 2)),
				store.Loaded{Updated: 2, Unchanged: 1}},
			{"nothing", nil, store.Loaded{}},
		}
		for _, step := range steps {
			got, err := s.WriteOrders(ctx, source, step.orders)
			require.NoError(t, err, step.name)
			assert.Equal(t, step.want, got, step.name)
		}

		n, err := s.CountOrders(ctx, source)
		require.NoError(t, err)
		assert.EqualValues(t, 607, n)

		o, err := s.Order(ctx, source, makeOrders(0, 1)[0].ID)
		require.NoError(t, err)
		assert.Equal(t, "2000", o.Amount)
		assert.EqualValues(t, 3, o.Version, "inserted, then changed twice")
		assert.Empty(t, o.FirstRun, "written outside a run")

		back := makeOrders(20, 1)[0]
		o, err = s.Order(ctx, source, back.ID)
		require.NoError(t, err)
		assert.NotEqual(t, "9", o.Amount, "the last row of the ID is the one in place")
		assert.EqualValues(t, 3, o.Version, "inserted, then changed and changed back")

		o, err = s.Order(ctx, source, makeOrders(10, 1)[0].ID)
		require.NoError(t, err)
		assert.EqualValues(t, 1, o.Version, "never changed")

		// The same IDs in another source are other rows.
		got, err := s.WriteOrders(ctx, "file:///other.json", makeOrders(0, 3))
		require.NoError(t, err)
		assert.Equal(t, store.Loaded{Inserted: 3}, got)
		all, err := s.CountOrders(ctx, "")
		require.NoError(t, err)
		assert.EqualValues(t, 610, all)
	})
}

func TestOrderRoundTrip(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := ctxT(t)
		ts := time.Date(2023, 12, 31, 23, 59, 58, 123456000, time.FixedZone("CET", 3600))
		tests := []struct {
			name string
			in   record.Order
			want record.Order // as read back
		}{
			{"plain", record.Order{ID: "a", CustomerEmail: "x@example.com", Category: "books", Amount: "12.5", Currency: "EUR", Timestamp: ts},
				record.Order{ID: "a", CustomerEmail: "x@example.com", Category: "books", Amount: "12.5", Currency: "EUR", Timestamp: ts.UTC()}},
			{"integer amount", record.Order{ID: "b", CustomerEmail: "y@example.com", Category: "toys", Amount: "3", Currency: "USD", Timestamp: ts},
				record.Order{ID: "b", CustomerEmail: "y@example.com", Category: "toys", Amount: "3", Currency: "USD", Timestamp: ts.UTC()}},
			{"widest amount", record.Order{ID: "c", CustomerEmail: "z@example.com", Category: "food", Amount: "99999999999999.999999", Currency: "GBP", Timestamp: ts},
				record.Order{ID: "c", CustomerEmail: "z@example.com", Category: "food", Amount: "99999999999999.999999", Currency: "GBP", Timestamp: ts.UTC()}},
			{"smallest amount", record.Order{ID: "d", CustomerEmail: "w@example.com", Category: "food", Amount: "0.000001", Currency: "GBP", Timestamp: ts},
				record.Order{ID: "d", CustomerEmail: "w@example.com", Category: "food", Amount: "0.000001", Currency: "GBP", Timestamp: ts.UTC()}},
			{"NUL and bad UTF-8 in text", record.Order{ID: "e", CustomerEmail: "v@example.com", Category: "to\x00ys\xff", Amount: "1", Currency: "EUR", Timestamp: ts},
				record.Order{ID: "e", CustomerEmail: "v@example.com", Category: "to\uFFFDys\uFFFD", Amount: "1", Currency: "EUR", Timestamp: ts.UTC()}},
		}
		for _, tt := range tests {
			_, err := s.WriteOrders(ctx, "src", []record.Order{tt.in})
			require.NoError(t, err, tt.name)
			got, err := s.Order(ctx, "src", tt.in.ID)
			require.NoError(t, err, tt.name)
			assert.Equal(t, tt.want, got.Order, tt.name)
			assert.Equal(t, "src", got.Source)
			assert.False(t, got.LoadedAt.IsZero())
		}

		_, err := s.Order(ctx, "src", "missing")
		assert.ErrorIs(t, err, sql.ErrNoRows)
	})
}

func TestWriteOrdersRefusesWhatDoesNotFit(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := ctxT(t)
		tests := []struct {
			name   string
			mutate func(*record.Order)
		}{
			{"seven decimals", func(o *record.Order) { o.Amount = "1.1234567" }},
			{"fifteen integer digits", func(o *record.Order) { o.Amount = "123456789012345" }},
			{"not a number", func(o *record.Order) { o.Amount = "12,5" }},
			{"empty amount", func(o *record.Order) { o.Amount = "" }},
			{"empty id", func(o *record.Order) { o.ID = "" }},
			{"NUL in id", func(o *record.Order) { o.ID = "a\x00b" }},
			{"id too long", func(o *record.Order) { o.ID = strings.Repeat("x", record.MaxIDLen+1) }},
			{"timestamp before the years", func(o *record.Order) { o.Timestamp = time.Date(record.MinYear-1, 12, 31, 0, 0, 0, 0, time.UTC) }},
			{"timestamp after the years", func(o *record.Order) { o.Timestamp = time.Date(record.MaxYear+1, 1, 1, 0, 0, 0, 0, time.UTC) }},
		}
		for _, tt := range tests {
			// The bad order comes after a full batch, so the transaction
			// has already written rows when it fails.
			orders := makeOrders(0, 300)
			tt.mutate(&orders[290])
			_, err := s.WriteOrders(ctx, tt.name, orders)
			require.Error(t, err, tt.name)
			var row *store.RowError
			require.ErrorAs(t, err, &row, "%s: a refused row is a RowError: %v", tt.name, err)
			if orders[290].ID != "" && utf8.ValidString(orders[290].ID) && !strings.Contains(orders[290].ID, "\x00") {
				assert.Equal(t, orders[290].ID, row.RecordID, tt.name)
			}
			n, err := s.CountOrders(ctx, tt.name)
			require.NoError(t, err)
			assert.Zero(t, n, "%s: nothing of a failed write is kept", tt.name)
		}
	})
}

// The limits of internal/record are what the orders table holds: on
// PostgreSQL orders.amount is NUMERIC(int+frac digits, frac digits).
// Raising a limit without a migration fails here.
func TestAmountColumnHoldsRecordLimits(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store) {
		if s.Driver() != store.DriverPostgres {
			t.Skip("SQLite stores the amount as exact TEXT; the store checks its digits")
		}
		var precision, scale int
		require.NoError(t, s.DB().QueryRowContext(ctxT(t), `
			SELECT numeric_precision, numeric_scale FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = 'orders' AND column_name = 'amount'`).Scan(&precision, &scale))
		assert.Equal(t, record.MaxAmountIntDigits+record.MaxAmountFracDigits, precision)
		assert.Equal(t, record.MaxAmountFracDigits, scale)
	})
}

// TestWriteAsRecordsTheRun: WriteOrdersAs and WriteDatasetAs write what a
// run's Load leaves in its bookkeeping columns (the benchmark's store-alone
// baseline writes with them), and a zero run leaves them empty.
func TestWriteAsRecordsTheRun(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := ctxT(t)
		first, second := runRef("first"), runRef("second")
		id := makeOrders(0, 1)[0].ID

		_, err := s.WriteOrdersAs(ctx, first, "src", makeOrders(0, 2))
		require.NoError(t, err)
		got, err := s.WriteOrdersAs(ctx, second, "src", withAmount(makeOrders(0, 1), "9"))
		require.NoError(t, err)
		assert.Equal(t, store.Loaded{Updated: 1}, got)
		o, err := s.Order(ctx, "src", id)
		require.NoError(t, err)
		assert.Equal(t, []string{first.Key(), second.Key()}, []string{o.FirstRun, o.LastRun})
		_, err = s.WriteOrdersAs(ctx, runinfo.RunRef{}, "src", makeOrders(5, 1))
		require.NoError(t, err)
		o, err = s.Order(ctx, "src", makeOrders(5, 1)[0].ID)
		require.NoError(t, err)
		assert.Equal(t, []string{"", ""}, []string{o.FirstRun, o.LastRun})

		def := productsDef()
		_, err = s.EnsureDataset(ctx, def)
		require.NoError(t, err)
		_, err = s.WriteDatasetAs(ctx, def, first, "src", productRows(2))
		require.NoError(t, err)
		var firstRun, lastRun sql.NullString
		require.NoError(t, s.DB().QueryRowContext(ctx, `SELECT _first_run, _last_run FROM products WHERE sku = 'sku-0001'`).Scan(&firstRun, &lastRun))
		assert.Equal(t, []string{first.Key(), first.Key()}, []string{firstRun.String, lastRun.String})
		_, err = s.WriteDataset(ctx, def, "src", productRows(3)[2:])
		require.NoError(t, err)
		require.NoError(t, s.DB().QueryRowContext(ctx, `SELECT _first_run, _last_run FROM products WHERE sku = 'sku-0002'`).Scan(&firstRun, &lastRun))
		assert.False(t, firstRun.Valid || lastRun.Valid, "written outside a run")
	})
}
