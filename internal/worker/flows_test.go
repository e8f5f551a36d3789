package worker_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/blueprint-etl/blueprint/internal/conn"
	"github.com/blueprint-etl/blueprint/internal/flow"
	"github.com/blueprint-etl/blueprint/internal/store"
	"github.com/blueprint-etl/blueprint/internal/store/storetest"
	"github.com/blueprint-etl/blueprint/internal/worker"
)

type noParams struct{}

// callShared runs the activity both test flows declare.
func callShared(ctx workflow.Context, _ noParams) (int, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	var n int
	err := workflow.ExecuteActivity(ctx, "Shared", nil).Get(ctx, &n)
	return n, err
}

// shared declares the activity "Shared": it returns the chunk size of the
// dependencies it was built on.
func shared(d worker.Deps) []worker.Activity {
	return []worker.Activity{{Name: "Shared", Func: func(context.Context) (int, error) { return d.ChunkRecords, nil }}}
}

// TestRegistry: the flows' contracts keep the registration order and the
// name checks of flow.NewRegistry; Register builds each flow's activities
// on the worker's dependencies and registers an activity two flows share
// once.
func TestRegistry(t *testing.T) {
	a := worker.Flow{Flow: flow.New("Alpha", callShared, flow.Options{}), Activities: shared}
	b := worker.Flow{Flow: flow.New("Beta", callShared, flow.Options{}), Activities: shared}
	children := worker.Flow{Flow: flow.New("Gamma", callShared, flow.Options{})} // no activities of its own

	_, err := worker.NewRegistry(a, a)
	require.ErrorContains(t, err, "two flows are called Alpha")
	_, err = worker.NewRegistry(a, worker.Flow{})
	require.ErrorContains(t, err, "a flow without a name")

	r := worker.MustRegistry(a, b, children)
	assert.Equal(t, []string{"Alpha", "Beta", "Gamma"}, r.Flows().Names())

	for _, name := range r.Flows().Names() {
		t.Run(name, func(t *testing.T) {
			var s testsuite.WorkflowTestSuite
			env := s.NewTestWorkflowEnvironment()
			r.Register(env, worker.Deps{ChunkRecords: 7})
			env.ExecuteWorkflow(name, nil)
			require.True(t, env.IsWorkflowCompleted())
			require.NoError(t, env.GetWorkflowError())
			var n int
			require.NoError(t, env.GetWorkflowResult(&n))
			assert.Equal(t, 7, n, "the activity is built on the deps given to Register")
		})
	}

	// A real worker refuses an activity name registered twice; it is
	// never started here, so it needs no server.
	c, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1", Logger: conn.QuietLogger()})
	require.NoError(t, err)
	defer c.Close()
	assert.NotPanics(t, func() { r.Register(sdkworker.New(c, "q", sdkworker.Options{}), worker.Deps{}) })
}

// TestRegistryTables: NewRegistry refuses a flow's tables that no
// database would accept; MigrateTables applies every flow's, in
// registration order, and stops at the first flow it cannot migrate.
func TestRegistryTables(t *testing.T) {
	table := func(name string) []store.Migration {
		return []store.Migration{
			{Version: 1, SQL: []string{`CREATE TABLE ` + name + ` (id TEXT NOT NULL PRIMARY KEY)`}},
			{Version: 2, SQL: []string{`ALTER TABLE ` + name + ` ADD COLUMN n BIGINT NOT NULL DEFAULT 0`}},
		}
	}
	a := worker.Flow{Flow: flow.New("Alpha", callShared, flow.Options{}), Activities: shared, Tables: table("alpha_sales")}
	// Beta's first version writes to Alpha's table: it needs Alpha's
	// tables migrated first, as the registration order says.
	b := worker.Flow{Flow: flow.New("Beta", callShared, flow.Options{}), Activities: shared, Tables: table("beta_sales")}
	b.Tables[0].SQL = append(b.Tables[0].SQL, `INSERT INTO alpha_sales (id) VALUES ('seeded by Beta')`)
	children := worker.Flow{Flow: flow.New("Gamma", callShared, flow.Options{})}

	for _, tt := range []struct {
		name   string
		tables []store.Migration
		want   string
	}{
		{"a gap", []store.Migration{{Version: 2, SQL: []string{"CREATE TABLE x (id TEXT)"}}}, `flow "Gamma": the first migration is version 2`},
		{"a built-in table", []store.Migration{{Version: 1, SQL: []string{"DROP TABLE orders"}}}, `flow "Gamma": migration version 1 may not drop table orders: orders is a built-in table`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			bad := children
			bad.Tables = tt.tables
			_, err := worker.NewRegistry(a, bad)
			assert.ErrorContains(t, err, tt.want)
		})
	}

	for _, driver := range storetest.Drivers(t) {
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			st := storetest.Open(t, driver)
			r := worker.MustRegistry(a, b, children)
			require.NoError(t, r.MigrateTables(ctx, st))
			require.NoError(t, r.MigrateTables(ctx, st), "a second start finds them up to date")
			rows, err := st.Query(ctx, `SELECT owner, version FROM flow_migrations ORDER BY owner, version`)
			require.NoError(t, err)
			defer rows.Close()
			var got []string
			for rows.Next() {
				var owner string
				var v int
				require.NoError(t, rows.Scan(&owner, &v))
				got = append(got, fmt.Sprint(owner, " ", v))
			}
			require.NoError(t, rows.Err())
			assert.Equal(t, []string{"Alpha 1", "Alpha 2", "Beta 1", "Beta 2"}, got)
			for _, tbl := range []string{"alpha_sales", "beta_sales"} {
				var n int
				require.NoError(t, st.QueryRow(ctx, `SELECT count(n) FROM `+tbl).Scan(&n), tbl)
			}

			// In the other order, Beta's first version finds no table.
			err = worker.MustRegistry(b, a).MigrateTables(ctx, storetest.Open(t, driver))
			assert.ErrorContains(t, err, `flow "Beta": migration version 1 failed at "INSERT INTO alpha_sales (id) VALUES ('seeded by Beta')"`)

			// Beta's code went back to version 1: the worker stops there.
			old := b
			old.Tables = b.Tables[:1]
			err = worker.MustRegistry(a, old, children).MigrateTables(ctx, st)
			assert.EqualError(t, err, `flow "Beta": migration version 2 was applied to the warehouse but is no longer declared (the flow declares 1): the flow's code is older than its tables; run the code that declares it`)
		})
	}
}
