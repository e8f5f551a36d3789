package storetest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/blueprint-etl/blueprint/internal/testutil"
)

// PostgresBinEnv names the directory of PostgreSQL's initdb and pg_ctl,
// for Cluster. By default it is the newest /usr/lib/postgresql/*/bin, else
// the directory of initdb on $PATH.
const PostgresBinEnv = "BLUEPRINT_POSTGRES_BIN"

// Cluster is a PostgreSQL server of a test's own, in a temporary data
// directory on a port from the OS: a test that stops, starts or drops the
// connections of its warehouse does it here, never on the shared server
// of PostgresEnv that parallel tests use. It is removed when the test
// ends. Run as root, the server runs as the postgres user (it refuses
// root).
type Cluster struct {
	t    testing.TB
	dir  string
	port int
	bin  string
	as   *user.User // nil: the current user
}

// NewCluster creates a cluster with initdb and starts it. It fails the
// test when PostgreSQL's programs are not installed.
func NewCluster(t testing.TB) *Cluster {
	t.Helper()
	c := &Cluster{t: t, bin: postgresBin(t), port: testutil.FreePort(t)}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("storetest: a PostgreSQL cluster run as root needs the postgres user: %v", err)
		}
		c.as = u
	}
	// Not t.TempDir: the server's user must reach it, and its socket
	// path must stay short.
	dir, err := os.MkdirTemp("", "bp-pg-")
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	c.dir = dir
	t.Cleanup(func() {
		if c.running() {
			_ = c.pgctl("stop", "-m", "immediate")
		}
		_ = os.RemoveAll(dir)
	})
	if c.as != nil {
		uid, _ := strconv.Atoi(c.as.Uid)
		gid, _ := strconv.Atoi(c.as.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatalf("storetest: %v", err)
		}
	}
	data := filepath.Join(dir, "data")
	if out, err := c.command(filepath.Join(c.bin, "initdb"), "-D", data, "-A", "trust", "-U", "postgres", "--no-sync").CombinedOutput(); err != nil {
		t.Fatalf("storetest: initdb: %v\n%s", err, out)
	}
	c.Start()
	return c
}

// postgresBin finds initdb and pg_ctl.
func postgresBin(t testing.TB) string {
	t.Helper()
	if dir := os.Getenv(PostgresBinEnv); dir != "" {
		return dir
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return vi > vj
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
			return d
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p)
	}
	t.Fatalf("storetest: PostgreSQL's initdb and pg_ctl are not installed (apt-get install postgresql), or set %s to their directory", PostgresBinEnv)
	return ""
}

func (c *Cluster) command(name string, args ...string) *exec.Cmd {
	if c.as != nil {
		return exec.Command("runuser", append([]string{"-u", c.as.Username, "--", name}, args...)...)
	}
	return exec.Command(name, args...)
}

func (c *Cluster) pgctl(args ...string) error {
	args = append([]string{"-D", filepath.Join(c.dir, "data"), "-w", "-t", "120"}, args...)
	out, err := c.command(filepath.Join(c.bin, "pg_ctl"), args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl %v: %w\n%s", args, err, out)
	}
	return nil
}

func (c *Cluster) running() bool {
	_, err := os.Stat(filepath.Join(c.dir, "data", "postmaster.pid"))
	return err == nil
}

// Start starts the server and waits until it accepts connections.
func (c *Cluster) Start() {
	c.t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c shared_buffers=16MB -c max_connections=50", c.port, c.dir)
	if err := c.pgctl("start", "-l", filepath.Join(c.dir, "server.log"), "-o", opts); err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "server.log"))
		c.t.Fatalf("storetest: start PostgreSQL on port %d: %v\n%s", c.port, err, log)
	}
}

// Stop stops the server as a restart or failover does: every session is
// ended (SQLSTATE 57P01) and new connections are refused until Start.
func (c *Cluster) Stop() {
	c.t.Helper()
	if err := c.pgctl("stop", "-m", "fast"); err != nil {
		c.t.Fatalf("storetest: stop PostgreSQL: %v", err)
	}
}

// URL is the cluster's database postgres, as user postgres.
func (c *Cluster) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
}

// TerminateAll drops every client connection to the server but the one
// it uses and those of the process IDs in keep (pg_terminate_backend, as
// an administrator would: SQLSTATE 57P01), and returns how many it
// dropped.
func (c *Cluster) TerminateAll(ctx context.Context, keep ...uint32) (int, error) {
	conn, err := pgx.Connect(ctx, c.URL())
	if err != nil {
		return 0, err
	}
	defer func() { _ = conn.Close(context.Background()) }()
	pids := make([]int64, len(keep))
	for i, p := range keep {
		pids[i] = int64(p)
	}
	var n int
	err = conn.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE pid <> pg_backend_pid() AND backend_type = 'client backend' AND NOT (pid = ANY($1::int8[]))`, pids).Scan(&n)
	return n, err
}
