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

// Fingerprint is a short stable digest of Location, small enough to
// travel in a worker's identity: workers of one task queue with different
// fingerprints write to different warehouses.
func (s *Store) Fingerprint() string { return Fingerprint(s.location) }

// Fingerprint is the first 8 hex digits of the SHA-256 of a location.
func Fingerprint(description string) string {
	sum := sha256.Sum256([]byte(description))
	return hex.EncodeToString(sum[:4])
}

// location names the database a target writes to, with no secret in it:
// "sqlite:/abs/path/warehouse.db", the path made absolute and cleaned
// (./data/warehouse.db from two directories is two warehouses), or
// "postgres://host:port/db", with ?search_path=... when one is set (user,
// password and connection options left out). Two stores with one
// location write to the same tables.
func (t target) location() string {
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

// Locate is the Location a store opened on dsn would have, without
// opening it (for messages about a warehouse that cannot be reached).
func Locate(dsn string) (string, error) {
	t, err := parseDSN(dsn)
	if err != nil {
		return "", err
	}
	return t.location(), nil
}
