package store_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/internal/record"
	"github.com/blueprint-etl/blueprint/internal/store"
	"github.com/blueprint-etl/blueprint/internal/store/storetest"
	"github.com/blueprint-etl/blueprint/internal/transform"
)

// order is a raw record with every field valid but the one given.
func order(id, field, value string) string {
	fields := map[string]string{
		"id": strconv.Quote(id), "customer_email": `"a@example.com"`, "category": `"books"`,
		"amount": `"1"`, "currency": `"EUR"`, "timestamp": `"2024-03-01T10:00:00Z"`,
	}
	fields[field] = value
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range []string{"id", "customer_email", "category", "amount", "currency", "timestamp"} {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Quote(k) + ":" + fields[k])
	}
	b.WriteByte('}')
	return b.String()
}

// FuzzTransformedIsStorable is the property that gives every data rule one
// owner: any record Transform accepts, the store writes and reads back as
// it was, on SQLite and (with BLUEPRINT_TEST_POSTGRES_URL) PostgreSQL. The
// seeds sit on the limits of internal/record; FuzzNormalize's corpus is
// added to them.
func FuzzTransformedIsStorable(f *testing.F) {
	maxAmount := strings.Repeat("9", record.MaxAmountIntDigits) + "." + strings.Repeat("9", record.MaxAmountFracDigits)
	for _, seed := range []string{
		order("a", "amount", `"`+maxAmount+`"`),
		order("b", "amount", maxAmount),
		order("c", "amount", `"1`+strings.Repeat("0", record.MaxAmountIntDigits)+`"`), // one digit too many: rejected
		order("d", "amount", `0.000001`),
		order("e", "timestamp", strconv.Quote(time.Date(record.MinYear, 1, 1, 0, 0, 0, 0, time.UTC).Format(time.RFC3339))),
		order("f", "timestamp", `"2100-12-31T23:59:59.999999999Z"`),
		order("g", "timestamp", `"1970-01-01T00:30:00+01:00"`),
		order(strings.Repeat("é", record.MaxIDLen/2), "category", `"toys"`),
		order("h", "customer_email", strconv.Quote(strings.Repeat("x", record.MaxEmailLocalLen)+"@"+strings.Repeat("d", record.MaxEmailLen-record.MaxEmailLocalLen-5)+".com")),
		order("i", "category", `"caf\u00e9 \ud83d\ude00 \ud800"`),
		order("j", "customer_email", `"Ünï@bücher.de"`),
		`{"id":12345678901234567890123,"customer_email":"a@b.co","category":"c","amount":5,"currency":"usd","timestamp":4102444799}`,
	} {
		f.Add([]byte(seed))
	}
	corpus, err := filepath.Glob(filepath.Join("..", "transform", "testdata", "fuzz", "FuzzNormalize", "*"))
	require.NoError(f, err)
	for _, path := range corpus {
		b, err := os.ReadFile(path)
		require.NoError(f, err)
		_, value, ok := strings.Cut(strings.TrimSpace(string(b)), "\n")
		value, ok2 := strings.CutPrefix(strings.TrimSpace(value), "[]byte(")
		value, ok3 := strings.CutSuffix(value, ")")
		raw, err := strconv.Unquote(value)
		require.True(f, ok && ok2 && ok3 && err == nil, "%s: not a []byte corpus entry", path)
		f.Add([]byte(raw))
	}

	var stores []*store.Store
	for _, driver := range storetest.Drivers(f) {
		stores = append(stores, storetest.Open(f, driver))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		o, reason, _ := transform.Normalize(raw)
		if reason != "" {
			return
		}
		for _, s := range stores {
			_, err := s.WriteOrders(ctxT(t), "fuzz", []record.Order{o})
			require.NoError(t, err, "%s refused what Transform accepted: %q", s.Driver(), raw)
			got, err := s.Order(ctxT(t), "fuzz", o.ID)
			require.NoError(t, err, s.Driver())
			want := o
			want.Timestamp = o.Timestamp.UTC()
			if s.Driver() == store.DriverPostgres {
				// TIMESTAMPTZ keeps microseconds, rounding the rest.
				assert.WithinDuration(t, want.Timestamp, got.Timestamp, time.Microsecond, s.Driver())
				got.Timestamp = want.Timestamp
			}
			assert.Equal(t, want, got.Order, "%s: read back as written", s.Driver())
		}
	})
}
