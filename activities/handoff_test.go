package activities

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/blueprint-etl/blueprint/internal/runinfo"
	"github.com/blueprint-etl/blueprint/internal/store"
)

// rowsOf is loader.Rows of n rows that are never loaded here.
type rowsOf int

func (r rowsOf) Len() int { return int(r) }
func (rowsOf) Load(context.Context, *store.Store, runinfo.RunRef, string, int, store.Turn, ...store.ChunkLog) (store.Loaded, error) {
	panic("not loaded")
}

// TestFirstChunksHoldABoundedNumberOfRows: firstChunks keeps each run's
// first chunk until its Load takes it, and drops the oldest runs' to stay
// within firstChunksMaxRows.
func TestFirstChunksHoldABoundedNumberOfRows(t *testing.T) {
	run := func(id string) runinfo.RunRef { return runinfo.RunRef{WorkflowID: id, RunID: "r"} }
	var f firstChunks
	quarter := firstChunksMaxRows / 4
	for _, id := range []string{"a", "b", "c", "d"} {
		f.put(run(id), rowsOf(quarter))
	}
	got, ok := f.take(run("b"))
	assert.True(t, ok)
	assert.Equal(t, quarter, got.Len())
	_, ok = f.take(run("b"))
	assert.False(t, ok, "taken once")

	f.put(run("e"), rowsOf(quarter))
	f.put(run("f"), rowsOf(quarter)) // one quarter too many: a, the oldest, goes
	_, ok = f.take(run("a"))
	assert.False(t, ok)
	for _, id := range []string{"c", "d", "e", "f"} {
		_, ok := f.take(run(id))
		assert.True(t, ok, id)
	}
	assert.Zero(t, f.held)

	f.put(run("big"), rowsOf(firstChunksMaxRows+1))
	_, ok = f.take(run("big"))
	assert.False(t, ok, "a chunk beyond the bound is not kept")
}
