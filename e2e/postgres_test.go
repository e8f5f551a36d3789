//go:build e2e

package e2e

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/stretchr/testify/require"
)

// postgresWarehouse returns a warehouse in a schema of its own on the
// PostgreSQL server of BLUEPRINT_TEST_POSTGRES_URL, reached through a URL
// that carries password (the test server trusts local connections, so any
// password works). It returns nil when the variable is not set, and fails
// when it is set but the server cannot be used.
func postgresWarehouse(t *testing.T, password string) *warehouse {
	t.Helper()
	base := os.Getenv("BLUEPRINT_TEST_POSTGRES_URL")
	if base == "" {
		return nil
	}
	ctx := context.Background()
	admin, err := sql.Open("pgx", base)
	require.NoError(t, err)
	t.Cleanup(func() { _ = admin.Close() })
	require.NoError(t, admin.PingContext(ctx), "BLUEPRINT_TEST_POSTGRES_URL is set but PostgreSQL cannot be reached")

	b := make([]byte, 6)
	_, err = rand.Read(b)
	require.NoError(t, err)
	schema := "t_e2e_" + hex.EncodeToString(b)
	_, err = admin.ExecContext(ctx, "CREATE SCHEMA "+schema)
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE") })

	u, err := url.Parse(base)
	require.NoError(t, err)
	if password != "" {
		u.User = url.UserPassword(u.User.Username(), password)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return openWarehouse(t, u.String())
}
