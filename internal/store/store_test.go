package store_test

import (
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/internal/store"
	"github.com/blueprint-etl/blueprint/internal/store/storetest"
)

func TestOpenSQLiteDSNs(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		dsn     string
		file    string // created, relative to dir
		wantErr string
	}{
		{name: "sqlite: prefix", dsn: "sqlite:" + dir + "/a.db", file: "a.db"},
		{name: "sqlite:// prefix", dsn: "sqlite://" + dir + "/b.db", file: "b.db"},
		{name: "file: prefix", dsn: "file:" + dir + "/c.db", file: "c.db"},
		{name: "bare path, new directory", dsn: dir + "/sub/d.db", file: "sub/d.db"},
		{name: "driver parameters", dsn: dir + "/e.sqlite?_pragma=cache_size(-1000)", file: "e.sqlite"},
		{name: "unknown scheme", dsn: "mysql://user:secret@host/db", wantErr: "not supported"},
		{name: "not a database file", dsn: dir + "/notes.txt", wantErr: "not a postgres:// URL"},
		{name: "in memory", dsn: "sqlite::memory:", wantErr: "in-memory"},
		{name: "no path", dsn: "sqlite:", wantErr: "no SQLite file path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := store.Open(ctxT(t), tt.dsn)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				assert.NotContains(t, err.Error(), "secret")
				return
			}
			require.NoError(t, err)
			t.Cleanup(func() { assert.NoError(t, s.Close()) })
			assert.Equal(t, store.DriverSQLite, s.Driver())
			assert.FileExists(t, filepath.Join(dir, tt.file))
			assert.Equal(t, "sqlite:"+filepath.Join(dir, tt.file), s.Location())
		})
	}
}

func TestOpenDefaultDSN(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	s, err := store.Open(ctxT(t), "")
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, s.Close()) })
	assert.FileExists(t, store.DefaultSQLitePath)
	// The worker logs where the default file is, not an empty DSN.
	wd, err := os.Getwd()
	require.NoError(t, err)
	assert.Equal(t, "sqlite:"+filepath.Join(wd, store.DefaultSQLitePath), s.Location())
}

func TestLocationHidesThePassword(t *testing.T) {
	if os.Getenv(storetest.PostgresEnv) == "" {
		t.Skip("needs " + storetest.PostgresEnv)
	}
	u, err := url.Parse(storetest.DSN(t, store.DriverPostgres))
	require.NoError(t, err)
	// The test server trusts local connections and ignores the password;
	// the store keeps it out of its location all the same.
	u.User = url.UserPassword(u.User.Username(), "s3cret")
	s, err := store.Open(ctxT(t), u.String())
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, s.Close()) })
	assert.NotContains(t, s.Location(), "s3cret")
	assert.Contains(t, s.Location(), u.Host)
	assert.Contains(t, s.Location(), "postgres://")
}

func TestSQLiteSettings(t *testing.T) {
	s := storetest.Open(t, store.DriverSQLite)
	ctx := ctxT(t)
	// Every pooled connection gets the settings: hold several at once.
	conns := make([]interface{ Close() error }, 0, 3)
	for range 3 {
		c, err := s.DB().Conn(ctx)
		require.NoError(t, err)
		conns = append(conns, c)
		tests := []struct {
			pragma string
			want   string
		}{
			{"journal_mode", "wal"},
			{"busy_timeout", "30000"},
			{"synchronous", "1"},
			{"foreign_keys", "1"},
		}
		for _, tt := range tests {
			var got string
			// The pragma names are the test's own constants.
			require.NoError(t, c.QueryRowContext(ctx, "PRAGMA "+tt.pragma).Scan(&got))
			assert.Equal(t, tt.want, got, tt.pragma)
		}
	}
	for _, c := range conns {
		require.NoError(t, c.Close())
	}
}

func TestOpenPostgresUnreachable(t *testing.T) {
	// Port 1 refuses connections at once; the password must not leak.
	_, err := store.Open(ctxT(t), "postgres://blueprint:s3cr3t@127.0.0.1:1/db?sslmode=disable&connect_timeout=5")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "xxxxx")
	assert.NotContains(t, err.Error(), "s3cr3t")
}

func TestMigrate(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store) {
		ctx := ctxT(t)
		type applied struct {
			Version int
			At      string
		}
		read := func() []applied {
			rows, err := s.DB().QueryContext(ctx, `SELECT version, CAST(applied_at AS TEXT) FROM schema_migrations ORDER BY version`)
			require.NoError(t, err)
			defer rows.Close()
			var out []applied
			for rows.Next() {
				var a applied
				require.NoError(t, rows.Scan(&a.Version, &a.At))
				out = append(out, a)
			}
			require.NoError(t, rows.Err())
			return out
		}
		before := read()
		require.Len(t, before, store.SchemaVersion())
		require.NoError(t, s.Migrate(ctx))
		require.NoError(t, s.Migrate(ctx))
		assert.Equal(t, before, read(), "migrating again changes nothing")

		_, err := s.DB().ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', $1)`, before[0].At)
		require.NoError(t, err)
		assert.ErrorContains(t, s.Migrate(ctx), "newer than this program")
	})
}

func TestConcurrentOpenMigratesOnce(t *testing.T) {
	eachDriverName(t, func(t *testing.T, driver string) {
		ctx := ctxT(t)
		dsn := storetest.DSN(t, driver)
		const n = 6
		stores := make([]*store.Store, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { stores[i], errs[i] = store.Open(ctx, dsn) })
		}
		wg.Wait()
		for i := range n {
			require.NoError(t, errs[i])
			t.Cleanup(func() { assert.NoError(t, stores[i].Close()) })
		}
		var count, maxVersion int
		require.NoError(t, stores[0].DB().QueryRowContext(ctx, `SELECT count(*), max(version) FROM schema_migrations`).Scan(&count, &maxVersion))
		assert.Equal(t, store.SchemaVersion(), count)
		assert.Equal(t, store.SchemaVersion(), maxVersion)
	})
}

func TestRedactDSN(t *testing.T) {
	tests := []struct {
		dsn, want string
	}{
		{"postgres://etl:secret@db:5432/warehouse?sslmode=disable", "postgres://etl:xxxxx@db:5432/warehouse?sslmode=disable"},
		{"postgresql://db/warehouse?user=etl&password=secret", "postgresql://db/warehouse?user=etl&password=xxxxx"},
		{"postgres://etl:secret@db/warehouse?sslpassword=secret", "postgres://etl:xxxxx@db/warehouse?sslpassword=xxxxx"},
		{"host=db user=etl password=secret dbname=warehouse", "host=db user=etl password=xxxxx dbname=warehouse"},
		{"password='se cret' host=db", "password=xxxxx host=db"},
		{"sqlite:./data/warehouse.db", "sqlite:./data/warehouse.db"},
		{"", ""},
	}
	for _, tt := range tests {
		got := store.RedactDSN(tt.dsn)
		assert.Equal(t, tt.want, got, tt.dsn)
		assert.NotContains(t, got, "secret")
		assert.NotContains(t, got, "cret")
	}
}

func TestStoretestPostgres(t *testing.T) {
	tests := []struct {
		name        string
		url         string
		wantFail    bool
		wantSkipped bool
	}{
		{name: "unset: skip", url: "", wantSkipped: true},
		{name: "unreachable: fail", url: "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=5", wantFail: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(storetest.PostgresEnv, tt.url)
			ft := &fakeTB{TB: t}
			func() {
				defer func() {
					if r := recover(); r != nil && r != (stop{}) {
						panic(r)
					}
				}()
				storetest.Open(ft, store.DriverPostgres)
			}()
			assert.Equal(t, tt.wantFail, ft.failed, "failed")
			assert.Equal(t, tt.wantSkipped, ft.skipped, "skipped")
		})
	}
}

// fakeTB records Fatal and Skip instead of ending the real test; it
// unwinds with a stop panic, as the real ones unwind with Goexit.
type fakeTB struct {
	testing.TB
	failed, skipped bool
}

type stop struct{}

func (f *fakeTB) Fatalf(string, ...any) { f.failed = true; panic(stop{}) }
func (f *fakeTB) Fatal(...any)          { f.failed = true; panic(stop{}) }
func (f *fakeTB) FailNow()              { f.failed = true; panic(stop{}) }
func (f *fakeTB) Skipf(string, ...any)  { f.skipped = true; panic(stop{}) }
func (f *fakeTB) Skip(...any)           { f.skipped = true; panic(stop{}) }
func (f *fakeTB) SkipNow()              { f.skipped = true; panic(stop{}) }
func (f *fakeTB) Helper()               {}

// TestStagedChunksAreStoredUncompressed checks migration 2 on PostgreSQL:
// staged chunks are short-lived, and compressing them cost more than it saved.
func TestStagedChunksAreStoredUncompressed(t *testing.T) {
	s := storetest.Open(t, store.DriverPostgres)
	var storage string
	require.NoError(t, s.DB().QueryRowContext(ctxT(t), `
		SELECT a.attstorage FROM pg_attribute a
		WHERE a.attrelid = 'stage_chunks'::regclass AND a.attname = 'data'`).Scan(&storage))
	assert.Equal(t, "e", storage, "EXTERNAL: out of line, never compressed")
}
