package store

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Describe names the database a Store writes to, without credentials:
// "sqlite:/abs/path/warehouse.db" or "postgres://host:port/db" (with
// ?search_path=... when one is set). Two stores that describe themselves
// the same write to the same tables; workers log it at start-up, and the
// CLI compares the workers of a task queue by its fingerprint.
func (s *Store) Describe() string { return s.where }

// Fingerprint is a short stable digest of Describe, small enough to travel
// in a worker's identity.
func (s *Store) Fingerprint() string { return Fingerprint(s.where) }

// Fingerprint is the first 8 hex digits of the SHA-256 of a description.
func Fingerprint(description string) string {
	sum := sha256.Sum256([]byte(description))
	return hex.EncodeToString(sum[:4])
}

// describe resolves a parsed DSN to its Describe form: a SQLite path made
// absolute and cleaned (./data/warehouse.db from two directories is two
// warehouses), a PostgreSQL URL reduced to host, port, database and schema.
func describe(t target) string {
	if t.driver == DriverSQLite {
		p, err := filepath.Abs(t.path)
		if err != nil {
			p = filepath.Clean(t.path)
		}
		return "sqlite:" + p
	}
	cfg, err := pgx.ParseConfig(t.dsn)
	if err != nil {
		return RedactDSN(t.dsn)
	}
	u := url.URL{Scheme: "postgres", Host: fmt.Sprintf("%s:%d", cfg.Host, cfg.Port), Path: "/" + cfg.Database}
	if sp := strings.TrimSpace(cfg.RuntimeParams["search_path"]); sp != "" {
		u.RawQuery = url.Values{"search_path": {sp}}.Encode()
	}
	return u.String()
}
