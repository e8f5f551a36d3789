package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/internal/record"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/store"
	"github.com/blueprint-etl/blueprint/internal/store/storetest"
)

// eachDriver runs test once per database, in parallel subtests, each on a
// fresh warehouse.
func eachDriver(t *testing.T, test func(t *testing.T, s *store.Store)) {
	t.Helper()
	for _, driver := range storetest.Drivers(t) {
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			test(t, storetest.Open(t, driver))
		})
	}
}

// eachDriverName is eachDriver for tests that open databases themselves.
func eachDriverName(t *testing.T, test func(t *testing.T, driver string)) {
	t.Helper()
	for _, driver := range storetest.Drivers(t) {
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			test(t, driver)
		})
	}
}

// ctxT is a context for one test, cancelled when it ends.
func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return ctx
}

var baseTime = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// makeOrders returns n distinct orders with IDs o-<first>...o-<first+n-1>.
func makeOrders(first, n int) []record.Order {
	orders := make([]record.Order, n)
	for i := range orders {
		k := first + i
		orders[i] = record.Order{
			ID:            fmt.Sprintf("o-%07d", k),
			CustomerEmail: fmt.Sprintf("customer%d@example.com", k%1000),
			Category:      []string{"books", "garden", "toys", "food"}[k%4],
			Amount:        fmt.Sprintf("%d.%02d", k%500, k%100),
			Currency:      []string{"EUR", "USD", "GBP"}[k%3],
			Timestamp:     baseTime.Add(time.Duration(k) * time.Second),
		}
	}
	return orders
}

func runRef(name string) runinfo.RunRef {
	return runinfo.RunRef{WorkflowID: "wf-" + name, RunID: "run-" + name}
}

// resumeKeys returns the Keys of a run of chunks chunks and records
// records whose first memoryChunks keep their ids in memory, released when
// the test ends.
func resumeKeys(t *testing.T, memoryChunks, chunks int, records int64) *store.Keys {
	t.Helper()
	k := store.ResumeKeys(memoryChunks, chunks, records)
	t.Cleanup(k.Release)
	return k
}

// countRows counts the rows of a table that belong to a run key.
// keptIDs counts the rows of a run in stage_ids.
func keptIDs(t *testing.T, s *store.Store, ref runinfo.RunRef) int {
	t.Helper()
	var n int
	err := s.DB().QueryRowContext(ctxT(t), `SELECT count(*) FROM stage_ids WHERE run = $1`, store.RunNumber(ref)).Scan(&n)
	require.NoError(t, err)
	return n
}

func countRows(t *testing.T, s *store.Store, table, runKey string) int {
	t.Helper()
	var n int
	// table is one of the test's own constants.
	err := s.DB().QueryRowContext(ctxT(t), `SELECT count(*) FROM `+table+` WHERE run_key = $1`, runKey).Scan(&n)
	require.NoError(t, err)
	return n
}

// logMessages returns the messages of run ref's log, in order.
func logMessages(t *testing.T, s *store.Store, ref runinfo.RunRef) []string {
	t.Helper()
	lines, err := s.RunLogs(ctxT(t), ref, store.LogQuery{})
	require.NoError(t, err)
	var out []string
	for _, l := range lines {
		out = append(out, l.Message)
	}
	return out
}
