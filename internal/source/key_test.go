package source

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/internal/sourceurl"
)

func TestKeyOneSourceOneKey(t *testing.T) {
	root, err := filepath.EvalSymlinks(t.TempDir())
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Join(root, "data"), 0o750))
	file := filepath.Join(root, "data", "orders.csv")
	require.NoError(t, os.WriteFile(file, []byte("id\n"), 0o600))
	require.NoError(t, os.Symlink(file, filepath.Join(root, "alias.csv")))
	cfg := Config{FileRoot: root}

	key := func(t *testing.T, raw string) string {
		t.Helper()
		spec, err := sourceurl.Parse(raw)
		require.NoError(t, err)
		k, err := Key(spec, cfg)
		require.NoError(t, err)
		return k
	}
	want := "file://" + file
	for _, raw := range []string{
		"file:data/orders.csv",
		"file:./data//orders.csv",
		"file:data/../data/orders.csv",
		"file://" + file,
		"file://localhost" + file,
		"file:alias.csv",
	} {
		t.Run(raw, func(t *testing.T) { assert.Equal(t, want, key(t, raw)) })
	}

	for _, tc := range []struct{ a, b string }{
		{"demo://orders?seed=7&latency=1s&failure_rate=0.5", "demo://orders?seed=7"},
	} {
		assert.Equal(t, key(t, tc.b), key(t, tc.a), "%s and %s are one source", tc.a, tc.b)
	}
	// (A URL with user info never gets here: ParseSourceURL refuses it.)
	assert.NotEqual(t, key(t, "demo://orders?seed=1"), key(t, "demo://orders?seed=2"))
	assert.NotEqual(t, key(t, "https://api.example.com/a"), key(t, "https://api.example.com/b"))
}

func TestKeyRefusesWhatCannotBeRead(t *testing.T) {
	root := t.TempDir()
	for _, tc := range []struct{ raw, msg string }{
		{"file:missing.csv", "does not exist"},
		{"file:../outside.csv", "outside the file root"},
		{"file:orders.txt", "not supported"},
	} {
		spec, err := sourceurl.Parse(tc.raw)
		require.NoError(t, err)
		_, err = Key(spec, Config{FileRoot: root})
		require.ErrorContains(t, err, tc.msg, tc.raw)
	}
}
