package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/internal/record"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/store"
)

func revenueOrder(id, category, amount, currency string, at time.Time) record.Order {
	return record.Order{ID: id, CustomerEmail: "c@example.com", Category: category, Amount: amount, Currency: currency, Timestamp: at}
}

// TestReportDailyRevenue: totals per local day, category and currency are
// exact, a second report changes nothing, and a day whose orders changed
// is brought up to date (including a total whose orders are gone).
func TestReportDailyRevenue(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := ctxT(t)
		chicago, err := time.LoadLocation("America/Chicago")
		require.NoError(t, err)
		utc := func(s string) time.Time { v, err := time.Parse(time.RFC3339, s); require.NoError(t, err); return v }
		_, err = s.WriteOrders(ctx, "src", []record.Order{
			// 2025-01-31 in Chicago (UTC-6): 06:00Z to 06:00Z next day.
			revenueOrder("a", "books", "0.1", "USD", utc("2025-01-31T06:00:00Z")),
			revenueOrder("b", "books", "0.2", "USD", utc("2025-02-01T05:59:59Z")),
			revenueOrder("c", "books", "99999999999999.999999", "EUR", utc("2025-01-31T12:00:00Z")),
			revenueOrder("d", "books", "99999999999999.999999", "EUR", utc("2025-01-31T13:00:00Z")),
			revenueOrder("e", "toys", "-5", "USD", utc("2025-01-31T13:00:00Z")),
			// Outside the day in Chicago, inside it in UTC.
			revenueOrder("f", "books", "7", "USD", utc("2025-01-31T05:59:59Z")),
			revenueOrder("g", "books", "7", "USD", utc("2025-02-01T06:00:00Z")),
		})
		require.NoError(t, err)
		day := time.Date(2025, 1, 31, 0, 0, 0, 0, time.UTC)

		res, err := s.ReportDailyRevenue(ctx, chicago, day, day)
		require.NoError(t, err)
		assert.Equal(t, store.RevenueResult{Orders: 5, Rows: 3, Inserted: 3}, res)
		rows, err := s.DailyRevenue(ctx, "America/Chicago", "2025-01-31", "2025-01-31")
		require.NoError(t, err)
		assert.Equal(t, []store.RevenueRow{
			{Day: "2025-01-31", Category: "books", Currency: "EUR", Orders: 2, Revenue: "199999999999999.999998"},
			{Day: "2025-01-31", Category: "books", Currency: "USD", Orders: 2, Revenue: "0.3"},
			{Day: "2025-01-31", Category: "toys", Currency: "USD", Orders: 1, Revenue: "-5"},
		}, rows, "exact sums: 0.1+0.2 is 0.3, and 20 digits do not lose a millionth")

		res, err = s.ReportDailyRevenue(ctx, chicago, day, day)
		require.NoError(t, err)
		assert.Equal(t, store.RevenueResult{Orders: 5, Rows: 3, Unchanged: 3}, res, "idempotent")

		// An order changes category, another is corrected.
		_, err = s.WriteOrders(ctx, "src", []record.Order{
			revenueOrder("e", "garden", "-5", "USD", utc("2025-01-31T13:00:00Z")),
			revenueOrder("b", "books", "0.25", "USD", utc("2025-02-01T05:59:59Z")),
		})
		require.NoError(t, err)
		res, err = s.ReportDailyRevenue(ctx, chicago, day, day)
		require.NoError(t, err)
		assert.Equal(t, store.RevenueResult{Orders: 5, Rows: 3, Inserted: 1, Updated: 1, Unchanged: 1, Deleted: 1}, res)
		rows, err = s.DailyRevenue(ctx, "America/Chicago", "2025-01-01", "2025-12-31")
		require.NoError(t, err)
		require.Len(t, rows, 3)
		assert.Equal(t, "0.35", rows[1].Revenue)
		assert.Equal(t, "garden", rows[2].Category)

		// Other time zones keep their own rows; a day range spans days.
		res, err = s.ReportDailyRevenue(ctx, time.UTC, day, day.AddDate(0, 0, 1))
		require.NoError(t, err)
		assert.Equal(t, int64(7), res.Orders)
		utcRows, err := s.DailyRevenue(ctx, "UTC", "2025-01-31", "2025-02-01")
		require.NoError(t, err)
		assert.Equal(t, "2025-02-01", utcRows[len(utcRows)-1].Day)
		rows, err = s.DailyRevenue(ctx, "America/Chicago", "2025-01-01", "2025-12-31")
		require.NoError(t, err)
		assert.Len(t, rows, 3)
	})
}

func TestLoadedRange(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := ctxT(t)
		ref := runinfo.RunRef{WorkflowID: "w", RunID: "r"}
		require.NoError(t, s.BeginRun(ctx, store.RunRecord{WorkflowID: ref.WorkflowID, RunID: ref.RunID, Source: "src"}))
		_, _, ok, err := s.LoadedRange(ctx, ref)
		require.NoError(t, err)
		assert.False(t, ok)
		_, err = s.LoadChunk(ctx, ref, "src", 0, makeOrders(10, 5))
		require.NoError(t, err)
		_, err = s.LoadChunk(ctx, ref, "src", 1, makeOrders(0, 3))
		require.NoError(t, err)
		first, last, ok, err := s.LoadedRange(ctx, ref)
		require.NoError(t, err)
		require.True(t, ok)
		assert.True(t, first.Equal(baseTime), "%s", first)
		assert.True(t, last.Equal(baseTime.Add(14*time.Second)), "%s", last)
	})
}
