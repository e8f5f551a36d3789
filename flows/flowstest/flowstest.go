// Package flowstest starts a real in-process blueprint worker, with every
// flow of the flows package registered, for tests.
package flowstest

import (
	"context"
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/client"

	"github.com/blueprint-etl/blueprint/flows"
	"github.com/blueprint-etl/blueprint/internal/store"
	"github.com/blueprint-etl/blueprint/internal/worker"
)

// Start runs a worker on taskQueue backed by a fresh SQLite warehouse in a
// temporary directory, and stops it when the test ends.
func Start(t testing.TB, c client.Client, taskQueue string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "warehouse.db"))
	if err != nil {
		t.Fatalf("open warehouse: %v", err)
	}
	// Cleanups run last-in first-out: the worker stops before the store closes.
	t.Cleanup(func() { _ = st.Close() })
	StartWith(t, c, st, worker.Config{TaskQueue: taskQueue})
	return st
}

// StartWith runs a worker with the given store and configuration.
func StartWith(t testing.TB, c client.Client, st *store.Store, cfg worker.Config) {
	t.Helper()
	w := worker.New(c, st, cfg, flows.Registry)
	if err := w.Start(); err != nil {
		t.Fatalf("start worker: %v", err)
	}
	t.Cleanup(w.Stop)
}
