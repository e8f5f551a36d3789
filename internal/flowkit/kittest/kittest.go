// Package kittest tests a flow written with internal/flowkit: its
// workflow and activities run in the SDK's test environment (timers cost
// nothing), against real warehouses, with the flow's own tables migrated.
//
// It must not import `flows`, `workflows`, `activities` or `cmd`: it tests
// any flow, and knows none.
package kittest

import (
	"context"
	"testing"

	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/testsuite"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/blueprint-etl/blueprint/internal/flowkit"
	"github.com/blueprint-etl/blueprint/internal/runlog"
	"github.com/blueprint-etl/blueprint/internal/store"
	"github.com/blueprint-etl/blueprint/internal/store/storetest"
	"github.com/blueprint-etl/blueprint/internal/worker"
)

// Warehouses returns a fresh, empty warehouse per database a test can
// reach, by driver name: SQLite always, PostgreSQL when
// BLUEPRINT_TEST_POSTGRES_URL is set. Each is closed when t ends.
func Warehouses(t testing.TB) map[string]*store.Store {
	t.Helper()
	out := map[string]*store.Store{}
	for _, driver := range storetest.Drivers(t) {
		out[driver] = storetest.Open(t, driver)
	}
	return out
}

// Env returns a test environment with f's workflow and activities
// registered, on deps built over st, and f's tables migrated in st. Its
// activities' run logs are written to st as a worker writes them
// ("<activity> started", flowkit.ActivityLog, the chunk lines of a
// dataset's Load).
func Env(t testing.TB, f flowkit.Flow, st *store.Store) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	reg, err := worker.NewRegistry(f)
	if err != nil {
		t.Fatalf("kittest: %v", err)
	}
	if err := reg.MigrateTables(context.Background(), st); err != nil {
		t.Fatalf("kittest: %v", err)
	}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	log := &runlog.Writer{Store: st}
	quiet := reg.Register(env, worker.Deps{Store: st, Log: log})
	env.SetWorkerOptions(sdkworker.Options{Interceptors: []interceptor.WorkerInterceptor{worker.Interceptor(log, quiet)}})
	return env
}
