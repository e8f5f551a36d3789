package store

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseDSN(t *testing.T) {
	tests := []struct {
		dsn     string
		want    target
		wantErr string
	}{
		{"", target{driver: DriverSQLite, path: DefaultSQLitePath}, ""},
		{"postgres://u:p@h/db?sslmode=disable", target{driver: DriverPostgres, dsn: "postgres://u:p@h/db?sslmode=disable"}, ""},
		{"PostgreSQL://h/db", target{driver: DriverPostgres, dsn: "PostgreSQL://h/db"}, ""},
		{"sqlite:rel/w.db", target{driver: DriverSQLite, path: "rel/w.db"}, ""},
		{"sqlite:///abs/w.db", target{driver: DriverSQLite, path: "/abs/w.db"}, ""},
		{"file:w.db?_pragma=cache_size(-100)", target{driver: DriverSQLite, path: "w.db", query: "_pragma=cache_size(-100)"}, ""},
		{"file:///abs/w.db", target{driver: DriverSQLite, path: "/abs/w.db"}, ""},
		{"./w.sqlite3", target{driver: DriverSQLite, path: "./w.sqlite3"}, ""},
		{"sqlite:w.db?mode=memory", target{}, "in-memory"},
		{"w.txt", target{}, "not a postgres:// URL"},
		{"host=h user=u password=secret", target{}, "password=xxxxx"},
	}
	for _, tt := range tests {
		got, err := parseDSN(tt.dsn)
		if tt.wantErr != "" {
			require.ErrorContains(t, err, tt.wantErr, tt.dsn)
			assert.NotContains(t, err.Error(), "secret")
			continue
		}
		require.NoError(t, err, tt.dsn)
		assert.Equal(t, tt.want, got, tt.dsn)
	}
}

func TestCheckAmount(t *testing.T) {
	tests := []struct {
		amount string
		ok     bool
	}{
		{"0", true},
		{"12.5", true},
		{"-3.25", true},
		{"0.000001", true},
		{"99999999999999.999999", true},
		{"0.0000001", false},
		{"999999999999999", false},
		{"", false},
		{"-", false},
		{".5", false},
		{"5.", false},
		{"1e3", false},
		{"1,5", false},
		{" 1", false},
	}
	for _, tt := range tests {
		err := checkAmount(tt.amount)
		assert.Equal(t, tt.ok, err == nil, "%q: %v", tt.amount, err)
	}
}

func TestCanonicalDecimal(t *testing.T) {
	for in, want := range map[string]string{
		"12.500000": "12.5",
		"3.000000":  "3",
		"0.000001":  "0.000001",
		"100":       "100",
		"-1.100000": "-1.1",
	} {
		assert.Equal(t, want, canonicalDecimal(in), in)
	}
}

func TestCleanText(t *testing.T) {
	for in, want := range map[string]string{
		"plain":         "plain",
		"ünïcödé":       "ünïcödé",
		"a\x00b":        "a\uFFFDb",
		"bad\xffbyte":   "bad\uFFFDbyte",
		"\x00\xfe\xff!": "\uFFFD\uFFFD!",
	} {
		assert.Equal(t, want, cleanText(in), "%q", in)
	}
}

func TestTimeLayoutSortsAsTime(t *testing.T) {
	base := time.Date(2024, 1, 1, 0, 0, 5, 0, time.UTC)
	a, b := base.Format(timeLayout), base.Add(500*time.Millisecond).Format(timeLayout)
	assert.Less(t, a, b, "text order is time order")
	var st scanTime
	require.NoError(t, st.Scan(b))
	assert.True(t, st.Time.Equal(base.Add(500*time.Millisecond)))
}
