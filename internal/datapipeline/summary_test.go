package datapipeline

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestSummaryOneLineNamesADeclaredDataset: a run of a declared dataset
// says which one in its one-line summary (run log, flow_runs, current
// details); an orders run's line is what it always was.
func TestSummaryOneLineNamesADeclaredDataset(t *testing.T) {
	s := Summary{Extracted: 3, Valid: 2, Rejected: 1, Reasons: map[string]int64{"price.min": 1}, Loaded: LoadResult{Inserted: 2}}
	const line = "3 extracted, 2 valid, 1 rejected (price.min: 1), loaded 2 (2 inserted, 0 updated, 0 unchanged)"
	assert.Equal(t, line, s.OneLine())
	s.Dataset = "products"
	assert.Equal(t, "products: "+line, s.OneLine())
}
