package activities

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/store"
)

// requireRunHere checks that Extract recorded the run in this worker's
// warehouse before a later stage reads its staged data. A worker started
// with another BLUEPRINT_DATABASE_URL (or in another directory, with the
// default SQLite path) can join the task queue: without this check its
// stages fail with "sql: no rows in result set". The error is retryable,
// since the next attempt may run on a worker that shares the warehouse.
func (a *Activities) requireRunHere(ctx context.Context, run runinfo.RunRef, stage string) (store.RunRecord, error) {
	rec, err := a.Store.GetRun(ctx, run)
	if err == nil {
		return rec, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return rec, fmt.Errorf("read run: %w", err)
	}
	return rec, WrongWarehouseError(stage, activity.GetInfo(ctx).TaskQueue, a.Store.Location(), a.Store.Fingerprint())
}

// WrongWarehouseError says that a stage ran on a worker whose warehouse
// does not hold the run.
func WrongWarehouseError(stage, taskQueue, warehouse, fingerprint string) error {
	msg := fmt.Sprintf("%s found no record of this run in this worker's warehouse %s (wh=%s): "+
		"the run's Extract ran on a worker of task queue %s with another warehouse; "+
		"every worker of a task queue must use the same BLUEPRINT_DATABASE_URL (blueprint status lists their warehouses)",
		stage, warehouse, fingerprint, taskQueue)
	return temporal.NewApplicationError(msg, runinfo.ErrWrongWarehouse)
}
