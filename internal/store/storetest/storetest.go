// Package storetest gives tests throwaway warehouses: a SQLite file in a
// temporary directory, or a private schema of the PostgreSQL database named
// by BLUEPRINT_TEST_POSTGRES_URL. Every database is removed when the test
// ends.
//
// It must not import `activities` or `workflows`.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/blueprint-etl/blueprint/internal/store"
)

// PostgresEnv names the PostgreSQL server tests use, e.g.
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable. When it is set
// and the server cannot be reached, PostgreSQL tests fail: they never skip
// silently in CI.
const PostgresEnv = "BLUEPRINT_TEST_POSTGRES_URL"

// Drivers lists the databases to run a test against: SQLite always,
// PostgreSQL when PostgresEnv is set.
func Drivers(t testing.TB) []string {
	t.Helper()
	drivers := []string{store.DriverSQLite}
	if os.Getenv(PostgresEnv) != "" {
		drivers = append(drivers, store.DriverPostgres)
	}
	return drivers
}

// Open opens a fresh, migrated warehouse on driver (store.DriverSQLite or
// store.DriverPostgres) and closes and removes it when the test ends. For
// PostgreSQL it skips the test when PostgresEnv is unset and fails it when
// the server cannot be reached.
func Open(t testing.TB, driver string) *store.Store {
	t.Helper()
	dsn := DSN(t, driver)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("storetest: open %s: %v", store.RedactDSN(dsn), err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("storetest: close: %v", err)
		}
	})
	return s
}

// DSN creates an empty database on driver and returns its DSN, for tests
// that open it themselves (several times, or concurrently). The database
// is removed when the test ends; stores opened on it must be closed first
// (register their Close with t.Cleanup after calling DSN).
func DSN(t testing.TB, driver string) string {
	t.Helper()
	switch driver {
	case store.DriverSQLite:
		return "sqlite:" + filepath.Join(t.TempDir(), "warehouse.db")
	case store.DriverPostgres:
		return postgresSchema(t)
	default:
		t.Fatalf("storetest: unknown driver %q", driver)
		return ""
	}
}

// postgresSchema creates a schema with a random name and returns the
// server's URL with search_path set to it, so that parallel tests and test
// packages never see each other's tables.
func postgresSchema(t testing.TB) string {
	t.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		t.Skipf("storetest: %s is not set; skipping the PostgreSQL variant", PostgresEnv)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("storetest: %s is not a URL: %v", PostgresEnv, err)
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])

	exec := func(sql string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			return err
		}
		defer func() { _ = conn.Close(context.Background()) }()
		_, err = conn.Exec(ctx, sql)
		return err
	}
	// The schema name is generated above from hex digits only, so it can
	// be spelled into the DDL (identifiers cannot be bound parameters).
	if err := exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatalf("storetest: PostgreSQL at %s (from %s) is not usable: %v", store.RedactDSN(base), PostgresEnv, err)
	}
	t.Cleanup(func() {
		if err := exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			t.Errorf("storetest: drop schema %s: %v", schema, err)
		}
	})
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
