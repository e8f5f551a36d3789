package cli_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/flows"
	"github.com/blueprint-etl/blueprint/flows/flowstest"
	"github.com/blueprint-etl/blueprint/internal/store"
	"github.com/blueprint-etl/blueprint/internal/store/storetest"
	"github.com/blueprint-etl/blueprint/internal/testutil"
	"github.com/blueprint-etl/blueprint/internal/worker"
)

// TestRunsLogs runs the pipeline with a worker writing its run logs to a
// SQLite, then a PostgreSQL, warehouse, and reads them with `runs logs`
// and `runs show`.
func TestRunsLogs(t *testing.T) {
	for _, driver := range storetest.Drivers(t) {
		t.Run(driver, func(t *testing.T) {
			dsn := storetest.DSN(t, driver)
			st, err := store.Open(context.Background(), dsn)
			require.NoError(t, err)
			t.Cleanup(func() { _ = st.Close() })
			queue := "tq-cli-logs-" + driver
			flowstest.StartWith(t, srv.Client(), st, worker.Config{TaskQueue: queue}, flows.Registry)
			path := writeManifest(t, manifestOf(deployment("cli-logs", queue, `{batch_size: 200, source_url: "demo://orders"}`, "")))
			id := func(s string) string { return fmt.Sprintf("cli-logs-%s-%s", driver, s) }
			db := "--database-url=" + dsn

			// A failed run: every attempt's error is in its log and in runs show.
			r := blueprint(t, "-f", path, "run", "cli-logs", "--id", id("fail"), "--watch", "--param", "source_url=demo://orders?fail=always")
			require.Equal(t, 1, r.code, "%s", r)
			r = ok(t, "runs", "logs", id("fail"), db)
			assert.Regexp(t, `^TIME\s+LEVEL\s+STAGE\s+ATTEMPT\s+MESSAGE\n`, r.stdout)
			for n := 1; n <= 3; n++ {
				assert.Regexp(t, fmt.Sprintf(`(?m)^\S+ \S+\s+info\s+extract\s+%d\s+extract started \(attempt %d of 3\)$`, n, n), r.stdout)
			}
			assert.Regexp(t, `(?m)^\S+ \S+\s+warn\s+extract\s+2\s+attempt 1 failed: synthetic source unavailable \(fail=always\) \(Transient\)$`, r.stdout)
			assert.Regexp(t, `(?m)^\S+ \S+\s+warn\s+extract\s+3\s+attempt 2 failed: synthetic source unavailable`, r.stdout)
			assert.Regexp(t, `(?m)^\S+ \S+\s+error\s+extract\s+3\s+attempt 3 failed: synthetic source unavailable`, r.stdout)
			assert.Regexp(t, `(?m)^\S+ \S+\s+error\s+run\s+-\s+run failed in extract: synthetic source unavailable \(fail=always\) \(Transient\)\n$`, r.stdout,
				"the outcome is the last line")

			r = ok(t, "runs", "show", id("fail"), db)
			for n := 1; n <= 3; n++ {
				assert.Regexp(t, fmt.Sprintf(`(?m)^  Extract attempt %d failed: .*synthetic source unavailable`, n), r.stdout, "every attempt's error")
			}

			r = ok(t, "runs", "logs", id("fail"), db, "--level", "error")
			assert.Equal(t, 3, strings.Count(r.stdout, "\n"), "header and the two error lines:\n%s", r.stdout)

			r = ok(t, "runs", "logs", id("fail"), db, "-o", "json")
			var lines []store.LogLine
			require.NoError(t, json.Unmarshal([]byte(r.stdout), &lines))
			require.NotEmpty(t, lines)
			for i := 1; i < len(lines); i++ {
				assert.Less(t, lines[i-1].ID, lines[i].ID)
				assert.False(t, lines[i].Time.Before(lines[i-1].Time), "time order")
			}
			assert.Equal(t, "run", lines[len(lines)-1].Stage)

			// --follow streams a running run's lines and exits with its
			// outcome: the source holds the run's second page until the
			// first line has been shown.
			feed, url := testutil.HeldFeed(t, 200, testutil.RequestAt{Page: 1, Request: 1})
			r = ok(t, "-f", path, "run", "cli-logs", "--id", id("follow"), "--param", "source_url="+url)
			follow := start(t, "runs", "logs", id("follow"), db, "--follow")
			follow.waitFor(t, `\s+info\s+extract\s+1\s+extract started \(attempt 1 of 3\)$`)
			feed.Release()
			r = follow.wait(t)
			require.Equal(t, 0, r.code, "%s", r)
			assert.Regexp(t, `(?m)\s+info\s+extract\s+1\s+chunk 1 committed: \d+ rows so far$`, r.stdout)
			assert.Regexp(t, `(?m)\s+info\s+run\s+-\s+run completed: 200 extracted, \d+ valid, .*\n$`, r.stdout)
			r = blueprint(t, "runs", "logs", id("fail"), db, "--follow")
			assert.Equal(t, 1, r.code, "following an ended failed run exits 1:\n%s", r)
			assert.Contains(t, r.stderr, "blueprint: run "+id("fail")+" failed: ")

			// Bad input: exit 2, one line.
			for _, bad := range []struct {
				args []string
				msg  string
			}{
				{[]string{"runs", "logs", id("fail"), db, "--level", "debug"}, `--level "debug": must be one of info, warn, error`},
				{[]string{"runs", "logs", "no-such-run", db}, `no run with workflow ID "no-such-run"`},
				{[]string{"runs", "logs", id("fail"), "--database-url", "sqlite:" + filepath.Join(t.TempDir(), "none.db")}, "no warehouse at sqlite:"},
			} {
				r := blueprint(t, bad.args...)
				assert.Equal(t, 2, r.code, "%v: %s", bad.args, r)
				assert.Equal(t, 1, strings.Count(r.stderr, "\n"), "%s", r.stderr)
				assert.Contains(t, r.stderr, bad.msg)
			}
		})
	}
}
