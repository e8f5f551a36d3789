//go:build e2e

package e2e

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/internal/pipeline"
)

// TestRunLogsSurviveAKilledWorker SIGKILLs the worker process in the
// middle of Load, on SQLite and (when BLUEPRINT_TEST_POSTGRES_URL is set)
// PostgreSQL, and reads the run's log with `blueprint runs logs`: the lines
// the killed attempt wrote are there, then the heartbeat timeout that ended
// it, the retry, and the outcome. `runs show` names every attempt's error.
func TestRunLogsSurviveAKilledWorker(t *testing.T) {
	t.Parallel()
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			wh := sqliteWarehouse(t)
			if db == "postgres" {
				if wh = postgresWarehouse(t, ""); wh == nil {
					t.Skip("BLUEPRINT_TEST_POSTGRES_URL is not set")
				}
			}
			srv := startServer(t, false)
			// 60,000 rows load in 12 chunks of a page each; the worker is
			// killed with Load held after one of them.
			g := newGates(t)
			w := startWorker(t, "runlogs-"+db, srv.addr, "BLUEPRINT_DATABASE_URL="+wh.DSN, g.env())
			c := srv.client()
			seed := e2eSeed(t)
			chunk := 1 + rand.New(rand.NewPCG(seed, 0x6c6f6773)).IntN(10)
			t.Logf("killed after Load chunk %d (from seed %d; replay with BLUEPRINT_E2E_SEED=%d)", chunk, seed, seed)
			runs := startRuns(t, c, "runlogs-"+db, 60_000, "demo://orders?seed=77")
			killAt(t, g, w, runs, pipeline.StageLoad, 1, chunk)
			finish(t, wh, runs)

			env := childEnv(t, "TEMPORAL_ADDRESS="+srv.addr, "BLUEPRINT_DATABASE_URL="+wh.DSN)
			id := runs[0].GetID()
			r := blueprint(t, env, "runs", "logs", id)
			require.Equal(t, 0, r.code, "%s", r)
			out := r.stdout
			t.Logf("runs logs %s:\n%s", id, out)
			line := func(re string) {
				t.Helper()
				require.Regexp(t, regexp.MustCompile(`(?m)^\S+ \S+\s+`+re+`$`), out)
			}
			line(`info\s+load\s+1\s+load started \(attempt 1 of 3\)`)
			// The chunk lines attempt 1 wrote before the kill stay.
			require.Len(t, regexp.MustCompile(`(?m)^\S+ \S+\s+info\s+load\s+1\s+chunk \d+ of 12 committed`).FindAllString(out, -1), chunk,
				"the lines of the killed attempt")
			line(fmt.Sprintf(`info\s+load\s+2\s+resuming after %d committed chunks \(\d+ rows\)`, chunk))
			line(`warn\s+load\s+2\s+attempt 1 failed: activity Load failed.*heartbeat timeout.*|warn\s+load\s+2\s+attempt 1 failed: heartbeat timeout`)
			line(`info\s+load\s+2\s+load started \(attempt 2 of 3\)`)
			line(`info\s+load\s+2\s+resuming after \d+ committed chunks \(\d+ rows\)`)
			line(`info\s+run\s+-\s+run completed: 60000 extracted, .*`)
			require.Less(t, strings.Index(out, "load started (attempt 1"), strings.Index(out, "load started (attempt 2"), "time order")

			r = blueprint(t, env, "runs", "show", id)
			require.Equal(t, 0, r.code, "%s", r)
			require.Regexp(t, `(?m)^  Load attempt 1 failed: .*heartbeat timeout`, r.stdout)
			require.Contains(t, r.stdout, fmt.Sprintf("Run %s", id))
		})
	}
}
