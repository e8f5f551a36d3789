package store

import (
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/blueprint-etl/blueprint/internal/record"
)

// timeLayout is how SQLite stores instants: RFC 3339 in UTC with a fixed
// nine-digit fraction, so that text order is time order (RFC3339Nano drops
// trailing zeros, and "05Z" sorts after "05.5Z"). Any RFC 3339 parser
// reads it.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

// timeArg is the bind value of an instant: TEXT on SQLite, TIMESTAMPTZ
// (microsecond precision) on PostgreSQL.
func (s *Store) timeArg(t time.Time) any {
	if s.driver == DriverSQLite {
		return t.UTC().Format(timeLayout)
	}
	return t.UTC()
}

// scanTime reads an instant from either representation: time.Time from
// PostgreSQL, RFC 3339 text from SQLite. Valid is false for NULL.
type scanTime struct {
	Time  time.Time
	Valid bool
}

var _ sql.Scanner = (*scanTime)(nil)

// Scan implements sql.Scanner.
func (t *scanTime) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		*t = scanTime{}
		return nil
	case time.Time:
		*t = scanTime{Time: x.UTC(), Valid: true}
		return nil
	case string:
		return t.parse(x)
	case []byte:
		return t.parse(string(x))
	default:
		return fmt.Errorf("store: cannot read %T as a time", v)
	}
}

func (t *scanTime) parse(s string) error {
	p, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("store: read time: %w", err)
	}
	*t = scanTime{Time: p.UTC(), Valid: true}
	return nil
}

// ptr is the instant as a pointer, nil for NULL.
func (t scanTime) ptr() *time.Time {
	if !t.Valid {
		return nil
	}
	v := t.Time
	return &v
}

// nullJSON binds a JSON document, or NULL when it is empty.
func nullJSON(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}

// canonicalDecimal undoes PostgreSQL's NUMERIC padding ("12.500000" ->
// "12.5", "3.000000" -> "3"), the canonical form of record.Order.Amount.
func canonicalDecimal(s string) string {
	if !strings.Contains(s, ".") {
		return s
	}
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// checkAmount makes sure an amount is within record's limits, which
// orders.amount holds exactly on both databases: PostgreSQL would round a
// seventh decimal away silently, and refuse a fifteenth integer digit.
func checkAmount(a string) error {
	digits := strings.TrimPrefix(a, "-")
	whole, frac, dot := strings.Cut(digits, ".")
	ok := whole != "" && (!dot || frac != "") && len(whole) <= record.MaxAmountIntDigits && len(frac) <= record.MaxAmountFracDigits
	for _, c := range whole + frac {
		ok = ok && c >= '0' && c <= '9'
	}
	if !ok {
		return fmt.Errorf("amount %q is not a decimal with at most %d integer and %d fraction digits", a, record.MaxAmountIntDigits, record.MaxAmountFracDigits)
	}
	return nil
}

// now is the current instant in UTC.
func now() time.Time { return time.Now().UTC() }
