package activities_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/activities"
	"github.com/blueprint-etl/blueprint/internal/datapipeline"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/source"
	"github.com/blueprint-etl/blueprint/internal/store"
	"github.com/blueprint-etl/blueprint/internal/store/storetest"
)

// TestStageOnAnotherWarehouseSaysSo runs Extract on one worker's
// warehouse and Transform and Load on another's, as two workers of one
// task queue started with different BLUEPRINT_DATABASE_URLs would: the
// later stages fail with a retryable error that says so, not with
// "sql: no rows in result set".
func TestStageOnAnotherWarehouseSaysSo(t *testing.T) {
	a := newEnv(t)
	in := extractInput(t, 10, "demo://orders")
	res, err := a.extract(in)
	require.NoError(t, err)

	b := newEnv(t)
	other := &activities.Activities{Store: storetest.Open(t, store.DriverSQLite), Sources: source.Config{PageSize: chunk}, ChunkRecords: chunk}
	b.RegisterActivity(other)
	require.NotEqual(t, a.acts.Store.Fingerprint(), other.Store.Fingerprint())

	for _, stage := range []struct {
		name string
		run  func() error
	}{
		{datapipeline.TransformActivity, func() error {
			_, err := b.ExecuteActivity(other.Transform, datapipeline.TransformInput{Run: in.Run, Chunks: res.Chunks})
			return err
		}},
		{datapipeline.LoadActivity, func() error {
			_, err := b.ExecuteActivity(other.Load, datapipeline.LoadInput{Run: in.Run, Source: res.Source, Chunks: res.Chunks})
			return err
		}},
	} {
		t.Run(stage.name, func(t *testing.T) {
			appErr := applicationError(t, stage.run())
			assert.Equal(t, runinfo.ErrWrongWarehouse, appErr.Type())
			assert.False(t, appErr.NonRetryable(), "another attempt may land on a worker that shares the warehouse")
			assert.Contains(t, appErr.Message(), stage.name+" found no record of this run in this worker's warehouse "+other.Store.Location()+" (wh="+other.Store.Fingerprint()+")")
			assert.Contains(t, appErr.Message(), "every worker of a task queue must use the same BLUEPRINT_DATABASE_URL")
			assert.NotContains(t, appErr.Error(), "no rows")
		})
	}
}
