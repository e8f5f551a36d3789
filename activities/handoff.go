package activities

import (
	"sync"

	"github.com/blueprint-etl/blueprint/internal/loader"
	"github.com/blueprint-etl/blueprint/internal/runinfo"
)

// firstChunksMaxRows bounds the rows firstChunks holds, over every run:
// a few chunks' worth, a few MiB.
const firstChunksMaxRows = 4 * DefaultChunkRecords

// firstChunks hands a run's first chunk, as Transform committed it, to
// the run's Load when the same worker runs both, as it does for most
// small runs: Load then neither reads the chunk again nor normalises its
// records a second time (for a run of one chunk, a tenth of its time).
// It is a shortcut only: a Load on another worker, after a restart or
// after the rows were dropped to keep within firstChunksMaxRows reads the
// staged chunk as always. The rows are the ones Load would compute: the
// first chunk meets no earlier chunk's ids, so its rejections are Check's
// alone (loader.Records.Kept), and a worker's rules are the same for its
// two stages.
type firstChunks struct {
	mu    sync.Mutex
	rows  map[runinfo.RunRef]loader.Rows
	order []runinfo.RunRef // oldest first
	held  int
}

// put keeps run's first chunk, dropping the oldest runs' beyond the bound.
func (f *firstChunks) put(run runinfo.RunRef, rows loader.Rows) {
	if rows.Len() > firstChunksMaxRows {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.rows == nil {
		f.rows = map[runinfo.RunRef]loader.Rows{}
	}
	if old, ok := f.rows[run]; ok {
		f.held -= old.Len()
	} else {
		f.order = append(f.order, run)
	}
	f.rows[run] = rows
	f.held += rows.Len()
	for f.held > firstChunksMaxRows {
		oldest := f.order[0]
		f.order = f.order[1:]
		if r, ok := f.rows[oldest]; ok {
			f.held -= r.Len()
			delete(f.rows, oldest)
		}
	}
}

// take returns run's first chunk and forgets it.
func (f *firstChunks) take(run runinfo.RunRef) (loader.Rows, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	rows, ok := f.rows[run]
	if !ok {
		return nil, false
	}
	delete(f.rows, run)
	f.held -= rows.Len()
	for i, r := range f.order {
		if r == run {
			f.order = append(f.order[:i], f.order[i+1:]...)
			break
		}
	}
	return rows, true
}
