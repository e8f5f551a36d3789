package store

import (
	"context"
	"database/sql"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/blueprint-etl/blueprint/internal/record"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
)

// rowsQuerier is a *sql.DB or a *sql.Tx.
type rowsQuerier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// widenLoadedRange extends the run's loaded time range to cover orders,
// in the transaction that loads them.
func (s *Store) widenLoadedRange(ctx context.Context, tx *sql.Tx, ref runinfo.RunRef, orders []record.Order) error {
	if len(orders) == 0 {
		return nil
	}
	first, last := orders[0].Timestamp, orders[0].Timestamp
	for _, o := range orders[1:] {
		if o.Timestamp.Before(first) {
			first = o.Timestamp
		}
		if o.Timestamp.After(last) {
			last = o.Timestamp
		}
	}
	_, err := s.txExec(ctx, tx, `
		INSERT INTO run_loaded_range (run_key, first_ordered_at, last_ordered_at) VALUES ($1, $2, $3)
		ON CONFLICT (run_key) DO UPDATE SET
			first_ordered_at = CASE WHEN excluded.first_ordered_at < run_loaded_range.first_ordered_at
				THEN excluded.first_ordered_at ELSE run_loaded_range.first_ordered_at END,
			last_ordered_at = CASE WHEN excluded.last_ordered_at > run_loaded_range.last_ordered_at
				THEN excluded.last_ordered_at ELSE run_loaded_range.last_ordered_at END`,
		ref.Key(), s.timeArg(first), s.timeArg(last))
	if err != nil {
		return fmt.Errorf("record the loaded time range: %w", err)
	}
	return nil
}

// LoadedRange returns the first and last ordered_at of the orders a run
// loaded; ok is false when it loaded none.
func (s *Store) LoadedRange(ctx context.Context, ref runinfo.RunRef) (first, last time.Time, ok bool, err error) {
	var f, l scanTime
	err = s.read(ctx, func() error {
		return s.dbQueryRow(ctx, `SELECT first_ordered_at, last_ordered_at FROM run_loaded_range WHERE run_key = $1`, ref.Key()).Scan(&f, &l)
	})
	if isNoRows(err) {
		return time.Time{}, time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, time.Time{}, false, fmt.Errorf("store: loaded range of %s: %w", ref.Key(), err)
	}
	return f.Time, l.Time, true, nil
}

// DayLayout is how daily_revenue writes a day.
const DayLayout = "2006-01-02"

// RevenueRow is one row of daily_revenue: the orders of one day (in the
// report's time zone), category and currency, and their exact total.
type RevenueRow struct {
	Day      string `json:"day"`
	Category string `json:"category"`
	Currency string `json:"currency"`
	Orders   int64  `json:"orders"`
	// Revenue is an exact decimal in canonical form ("12.5", "3").
	Revenue string `json:"revenue"`
}

// RevenueResult says what a report did to daily_revenue.
type RevenueResult struct {
	Orders    int64 `json:"orders"` // orders counted
	Rows      int   `json:"rows"`   // (day, category, currency) totals
	Inserted  int   `json:"inserted"`
	Updated   int   `json:"updated"`
	Unchanged int   `json:"unchanged"`
	Deleted   int   `json:"deleted"`
}

// ReportDailyRevenue recomputes daily_revenue for the days from..to
// (inclusive) of loc from the orders table, in one transaction: totals
// that changed are updated, new ones inserted, and the rows of a
// (category, currency) that no longer has orders on that day deleted.
// Running it again changes nothing; after orders of a day changed, it
// brings that day up to date. Sums are exact: amounts are added as
// integers of millionths, never as floating point.
func (s *Store) ReportDailyRevenue(ctx context.Context, loc *time.Location, from, to time.Time) (RevenueResult, error) {
	tz := loc.String()
	firstDay, lastDay := from.Format(DayLayout), to.Format(DayLayout)
	start := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, loc)
	end := time.Date(to.Year(), to.Month(), to.Day()+1, 0, 0, 0, 0, loc)
	var res RevenueResult
	err := s.write(ctx, func(tx *sql.Tx) error {
		res = RevenueResult{} // a retried transaction counts from scratch
		rows, orders, err := s.totals(ctx, tx, loc, start, end)
		if err != nil {
			return err
		}
		res.Orders, res.Rows = orders, len(rows)
		old, err := s.revenueRows(ctx, tx, tz, firstDay, lastDay)
		if err != nil {
			return err
		}
		key := func(r RevenueRow) string { return r.Day + "\x00" + r.Category + "\x00" + r.Currency }
		existing := make(map[string]RevenueRow, len(old))
		for _, r := range old {
			existing[key(r)] = r
		}
		computed := now()
		for _, r := range rows {
			prev, had := existing[key(r)]
			delete(existing, key(r))
			switch {
			case had && prev.Orders == r.Orders && prev.Revenue == r.Revenue:
				res.Unchanged++
				continue
			case had:
				res.Updated++
			default:
				res.Inserted++
			}
			if _, err := s.txExec(ctx, tx, `
				INSERT INTO daily_revenue (timezone, day, category, currency, orders, revenue, computed_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7)
				ON CONFLICT (timezone, day, category, currency) DO UPDATE SET
					orders = excluded.orders, revenue = excluded.revenue, computed_at = excluded.computed_at`,
				tz, r.Day, r.Category, r.Currency, r.Orders, r.Revenue, s.timeArg(computed)); err != nil {
				return fmt.Errorf("write daily_revenue %s %s %s: %w", r.Day, r.Category, r.Currency, err)
			}
		}
		for _, r := range existing { // totals whose orders are gone
			if _, err := s.txExec(ctx, tx, `DELETE FROM daily_revenue WHERE timezone = $1 AND day = $2 AND category = $3 AND currency = $4`,
				tz, r.Day, r.Category, r.Currency); err != nil {
				return fmt.Errorf("delete daily_revenue %s %s %s: %w", r.Day, r.Category, r.Currency, err)
			}
			res.Deleted++
		}
		return nil
	})
	if err != nil {
		return RevenueResult{}, fmt.Errorf("store: daily revenue %s..%s (%s): %w", firstDay, lastDay, tz, err)
	}
	return res, nil
}

// totals reads the orders of [start, end) and adds them up per local day,
// category and currency, in that order.
func (s *Store) totals(ctx context.Context, q rowsQuerier, loc *time.Location, start, end time.Time) ([]RevenueRow, int64, error) {
	rs, err := q.QueryContext(ctx, `SELECT ordered_at, category, currency, CAST(amount AS TEXT) FROM orders
		WHERE ordered_at >= $1 AND ordered_at < $2`, s.timeArg(start), s.timeArg(end))
	if err != nil {
		return nil, 0, fmt.Errorf("read orders: %w", err)
	}
	defer rs.Close()
	type total struct {
		orders int64
		sum    *big.Int // millionths
	}
	sums := map[[3]string]*total{}
	var n int64
	for rs.Next() {
		var (
			at                       scanTime
			category, currency, amnt string
		)
		if err := rs.Scan(&at, &category, &currency, &amnt); err != nil {
			return nil, 0, fmt.Errorf("read orders: %w", err)
		}
		micros, err := millionths(amnt)
		if err != nil {
			return nil, 0, err
		}
		k := [3]string{at.Time.In(loc).Format(DayLayout), category, currency}
		t := sums[k]
		if t == nil {
			t = &total{sum: new(big.Int)}
			sums[k] = t
		}
		t.orders++
		t.sum.Add(t.sum, micros)
		n++
	}
	if err := rs.Err(); err != nil {
		return nil, 0, fmt.Errorf("read orders: %w", err)
	}
	out := make([]RevenueRow, 0, len(sums))
	for k, t := range sums {
		out = append(out, RevenueRow{Day: k[0], Category: k[1], Currency: k[2], Orders: t.orders, Revenue: formatMillionths(t.sum)})
	}
	slices.SortFunc(out, func(a, b RevenueRow) int {
		return strings.Compare(a.Day+"\x00"+a.Category+"\x00"+a.Currency, b.Day+"\x00"+b.Category+"\x00"+b.Currency)
	})
	return out, n, nil
}

// DailyRevenue reads daily_revenue for the days from..to (YYYY-MM-DD,
// inclusive) of time zone tz, ordered by day, category and currency.
func (s *Store) DailyRevenue(ctx context.Context, tz, from, to string) ([]RevenueRow, error) {
	var rows []RevenueRow
	err := s.read(ctx, func() (err error) {
		rows, err = s.revenueRows(ctx, s.db, tz, from, to)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: daily revenue: %w", err)
	}
	return rows, nil
}

func (s *Store) revenueRows(ctx context.Context, q rowsQuerier, tz, from, to string) ([]RevenueRow, error) {
	rs, err := q.QueryContext(ctx, `SELECT CAST(day AS TEXT), category, currency, orders, CAST(revenue AS TEXT) FROM daily_revenue
		WHERE timezone = $1 AND day >= $2 AND day <= $3 ORDER BY day, category, currency`, tz, from, to)
	if err != nil {
		return nil, fmt.Errorf("read daily_revenue: %w", err)
	}
	defer rs.Close()
	var out []RevenueRow
	for rs.Next() {
		var r RevenueRow
		if err := rs.Scan(&r.Day, &r.Category, &r.Currency, &r.Orders, &r.Revenue); err != nil {
			return nil, fmt.Errorf("read daily_revenue: %w", err)
		}
		r.Revenue = canonicalDecimal(r.Revenue)
		out = append(out, r)
	}
	return out, rs.Err()
}

// millionths reads a decimal amount as an integer of millionths.
func millionths(a string) (*big.Int, error) {
	neg := strings.HasPrefix(a, "-")
	whole, frac, _ := strings.Cut(strings.TrimPrefix(a, "-"), ".")
	if len(frac) > record.MaxAmountFracDigits {
		return nil, fmt.Errorf("amount %q has more than %d decimals", a, record.MaxAmountFracDigits)
	}
	v, ok := new(big.Int).SetString(whole+frac+strings.Repeat("0", record.MaxAmountFracDigits-len(frac)), 10)
	if !ok {
		return nil, fmt.Errorf("amount %q is not a decimal", a)
	}
	if neg {
		v.Neg(v)
	}
	return v, nil
}

// formatMillionths writes millionths as a canonical decimal.
func formatMillionths(v *big.Int) string {
	neg := v.Sign() < 0
	digits := new(big.Int).Abs(v).String()
	if len(digits) <= record.MaxAmountFracDigits {
		digits = strings.Repeat("0", record.MaxAmountFracDigits-len(digits)+1) + digits
	}
	s := canonicalDecimal(digits[:len(digits)-record.MaxAmountFracDigits] + "." + digits[len(digits)-record.MaxAmountFracDigits:])
	if neg && s != "0" {
		s = "-" + s
	}
	return s
}
