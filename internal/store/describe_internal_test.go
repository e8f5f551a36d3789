package store

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDescribeNamesTheDatabaseWithoutSecrets(t *testing.T) {
	wd, err := filepath.Abs(".")
	require.NoError(t, err)
	for _, tc := range []struct{ dsn, want string }{
		{"", "sqlite:" + filepath.Join(wd, "data", "warehouse.db")},
		{"data/./warehouse.db", "sqlite:" + filepath.Join(wd, "data", "warehouse.db")},
		{"sqlite:/srv/wh.db?_pragma=x", "sqlite:/srv/wh.db"},
		{"postgres://etl:s3cret@db.example.com:6543/wh?sslmode=disable&search_path=etl", "postgres://db.example.com:6543/wh?search_path=etl"},
		{"postgresql://etl:s3cret@db.example.com/wh", "postgres://db.example.com:5432/wh"},
	} {
		tg, err := parseDSN(tc.dsn)
		require.NoError(t, err, tc.dsn)
		got := tg.location()
		assert.Equal(t, tc.want, got, tc.dsn)
		assert.NotContains(t, got, "s3cret")
	}
	// One database, two spellings: one fingerprint.
	a, err := parseDSN("")
	require.NoError(t, err)
	b, err := parseDSN("sqlite:" + filepath.Join(wd, "data", "warehouse.db"))
	require.NoError(t, err)
	assert.Equal(t, Fingerprint(a.location()), Fingerprint(b.location()))
	assert.Len(t, Fingerprint(a.location()), 8)
}
